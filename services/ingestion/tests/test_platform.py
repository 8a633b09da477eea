"""The ingestion schema as the platform provisions it: its own role, history, queue and jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.db import admin_url, service_url
from common.migrations import alembic_config, asyncpg_dsn, migrate
from ingestion_service.config import IngestionSettings
from ingestion_service.jobs import jobset
from ingestion_testing import Callers


async def test_everything_in_the_schema_belongs_to_the_service_role(
    settings: IngestionSettings, engine: AsyncEngine
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url(settings)))
    try:
        owners = await conn.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'ingestion'"
        )
    finally:
        await conn.close()
    assert [r["tableowner"] for r in owners] == ["meridian_ingestion"]


async def test_models_and_migrations_agree(
    settings: IngestionSettings, engine: AsyncEngine
) -> None:
    # alembic check raises when autogenerate would produce any operation (functions included)
    await asyncio.to_thread(command.check, alembic_config(settings))


async def test_migrating_again_changes_nothing(
    settings: IngestionSettings, engine: AsyncEngine
) -> None:
    await migrate(settings)
    await asyncio.to_thread(command.check, alembic_config(settings))


async def test_worker_schedules_are_visible_to_admins(
    settings: IngestionSettings, engine: AsyncEngine, client: httpx.AsyncClient, callers: Callers
) -> None:
    pool = await asyncpg.create_pool(asyncpg_dsn(service_url(settings)), min_size=1, max_size=4)
    pgq = jobset.build(pool)
    runner = asyncio.create_task(pgq.run(dequeue_timeout=timedelta(seconds=1)))
    await asyncio.sleep(1.5)  # the scheduler registers its schedules as it starts
    pgq.shutdown.set()
    await asyncio.wait_for(runner, timeout=30)
    await pool.close()
    tenant = uuid.uuid4()
    viewer = callers.user(tenant, "viewer")
    assert (await client.get("/ingestion/jobs", headers=viewer.headers)).status_code == 403
    response = await client.get("/ingestion/jobs", headers=callers.user(tenant, "admin").headers)
    assert response.status_code == 200
    schedules = [(s["name"], s["expression"]) for s in response.json()["schedules"]]
    assert schedules == [
        ("ingestion.clean_up", "40 2 * * *"),
        ("ingestion.ga4_daily", "15 5 * * *"),
        ("ingestion.interrupted_uploads", "*/10 * * * *"),
    ]


async def test_daily_clean_up_forgets_keys_past_24_hours(
    settings: IngestionSettings, engine: AsyncEngine
) -> None:
    from ingestion_service import jobs

    tenant = uuid.uuid4()
    jobs._resources = jobs.Resources(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO ingestion.idempotency_key"
                    " (tenant_id, caller, key, request_hash, status, created_at)"
                    " VALUES (:t, 'player:p', 'old', 'h', 'completed', now() - interval '25 h'),"
                    " (:t, 'player:p', 'young', 'h', 'completed', now() - interval '23 h')"
                ),
                {"t": tenant},
            )
        await jobs.clean_up()
        async with engine.begin() as conn:
            left = await conn.execute(
                text("DELETE FROM ingestion.idempotency_key WHERE tenant_id = :t RETURNING key"),
                {"t": tenant},
            )
            assert [row.key for row in left] == ["young"]
    finally:
        await jobs._resources.database.dispose()
        jobs._resources = None


async def test_openapi_names_the_contract_fields(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert list(schemas["EventIn"]["properties"]) == ["eventType", "meta", "timestampUtc"]
    assert list(schemas["EventCreated"]["properties"]) == ["ok", "eventId"]
    assert list(schemas["EventPage"]["properties"]) == [
        "events",
        "total",
        "limit",
        "offset",
        "hasMore",
    ]
    assert list(schemas["EventStat"]["properties"]) == ["eventType", "count"]
    event = document["paths"]["/event"]["post"]
    assert [p["name"] for p in event["parameters"]] == ["Idempotency-Key"]
    listing = document["paths"]["/events"]["get"]["parameters"]
    assert [p["name"] for p in listing] == [
        "limit",
        "offset",
        "event_type",
        "start_time",
        "end_time",
    ]


def test_settings_read_the_ingestion_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGESTION_PORT", "9102")
    monkeypatch.setenv("INGESTION_IDEMPOTENCY_HOURS", "48")
    found = IngestionSettings(_env_file=None)
    assert (found.port, found.idempotency_hours, found.db_role) == (9102, 48, "meridian_ingestion")
    monkeypatch.delenv("INGESTION_PORT")
    assert IngestionSettings(_env_file=None).port == 8002
