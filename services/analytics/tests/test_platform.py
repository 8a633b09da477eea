"""The analytics schema as the platform provisions it: its own role, history, queue, jobs and
partitions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from analytics_service.config import AnalyticsSettings
from analytics_service.jobs import jobset
from analytics_service.models import GA4_ROW_TABLES
from analytics_testing import Callers
from common.db import admin_url, service_url
from common.migrations import alembic_config, asyncpg_dsn, migrate

PARTITIONED = sorted(
    [
        "cost_daily",
        "ga4_row",
        "game_event",
        "purchase_confirmed",
        "purchase_raw",
        "session_event",
        *(table.name for table in GA4_ROW_TABLES.values()),
    ]
)


def _month(offset: int) -> str:
    today = datetime.now(UTC).date().replace(day=1)
    year, month = divmod(today.month - 1 + offset, 12)
    return f"{today.year + year}_{month + 1:02d}"


async def test_everything_in_the_schema_belongs_to_the_service_role(
    settings: AnalyticsSettings, engine: AsyncEngine
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url(settings)))
    try:
        owners = await conn.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'analytics'"
        )
    finally:
        await conn.close()
    assert [r["tableowner"] for r in owners] == ["meridian_analytics"]


async def test_models_and_migrations_agree(
    settings: AnalyticsSettings, engine: AsyncEngine
) -> None:
    # alembic check raises when autogenerate would produce any operation (functions included)
    await asyncio.to_thread(command.check, alembic_config(settings))


async def test_migrating_again_changes_nothing(
    settings: AnalyticsSettings, engine: AsyncEngine
) -> None:
    await migrate(settings)
    await asyncio.to_thread(command.check, alembic_config(settings))


async def test_every_fact_table_has_a_default_and_four_months(conn: AsyncConnection) -> None:
    rows = await conn.execute(
        text(
            "SELECT parent.relname, child.relname FROM pg_inherits i"
            " JOIN pg_class parent ON parent.oid = i.inhparent"
            " JOIN pg_class child ON child.oid = i.inhrelid"
            " JOIN pg_namespace n ON n.oid = parent.relnamespace"
            " WHERE n.nspname = 'analytics' AND parent.relkind = 'p'"
        )
    )
    found: dict[str, set[str]] = {}
    for parent, child in rows:
        found.setdefault(parent, set()).add(child)
    assert sorted(found) == PARTITIONED
    months = {_month(n) for n in range(4)}
    for parent, children in found.items():
        assert children >= {f"{parent}_default", *(f"{parent}_{m}" for m in months)}, parent


async def test_a_new_month_takes_its_rows_out_of_the_default_partition(
    conn: AsyncConnection,
) -> None:
    tenant = uuid.uuid4()
    far = datetime(2031, 5, 17, 12, tzinfo=UTC)
    await conn.execute(
        text(
            "INSERT INTO analytics.game_event (tenant_id, occurred_at, fact_id, event_type)"
            " VALUES (:t, :at, :f, 'level_up'), (:t, :later, :g, 'level_up')"
        ),
        {
            "t": tenant,
            "at": far,
            "f": uuid.uuid4(),
            "later": far + timedelta(days=31),
            "g": uuid.uuid4(),
        },
    )
    made = await conn.scalar(
        text("SELECT analytics.add_month_partitions(DATE '2031-05-01', DATE '2031-05-31')")
    )
    assert made == len(PARTITIONED)  # May 2031 of each table; the defaults exist already
    placed = await conn.execute(
        text(
            "SELECT tableoid::regclass::text, occurred_at FROM analytics.game_event"
            " WHERE tenant_id = :t ORDER BY occurred_at"
        ),
        {"t": tenant},
    )
    assert [tuple(r) for r in placed] == [
        ("game_event_2031_05", far),  # search_path is the schema
        ("game_event_default", far + timedelta(days=31)),
    ]
    again = await conn.scalar(
        text("SELECT analytics.add_month_partitions(DATE '2031-05-01', DATE '2031-05-31')")
    )
    assert again == 0


async def test_worker_schedules_are_visible_to_admins(
    settings: AnalyticsSettings, engine: AsyncEngine, client: httpx.AsyncClient, callers: Callers
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
    assert (await client.get("/analytics/jobs", headers=viewer.headers)).status_code == 403
    response = await client.get("/analytics/jobs", headers=callers.user(tenant, "admin").headers)
    assert response.status_code == 200
    schedules = [(s["name"], s["expression"]) for s in response.json()["schedules"]]
    assert schedules == [
        ("analytics.email_schedules", "* * * * *"),
        ("analytics.partitions", "20 1 * * *"),
        ("analytics.pipeline_daily", "30 3 * * *"),
        ("analytics.signals_alert_cleanup", "0 2 * * *"),
        ("analytics.signals_momentum", "0 */6 * * *"),
        ("analytics.signals_scores", "0 3 * * *"),
        ("analytics.signals_spikes", "0 */3 * * *"),
    ]


async def test_the_daily_job_adds_the_coming_months(
    settings: AnalyticsSettings, engine: AsyncEngine
) -> None:
    from analytics_service import jobs

    ahead = 5
    jobs._resources = jobs.Resources(settings.model_copy(update={"partition_months_ahead": ahead}))
    try:
        await jobs.partitions()
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT to_regclass(:name) IS NOT NULL"),
                {"name": f"analytics.game_event_{_month(ahead)}"},
            )
            missing = await conn.scalar(
                text("SELECT to_regclass(:name) IS NULL"),
                {"name": f"analytics.game_event_{_month(ahead + 1)}"},
            )
        assert (exists, missing) == (True, True)
    finally:
        await jobs._resources.database.dispose()
        jobs._resources = None


def test_settings_read_the_analytics_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_PORT", "9101")
    monkeypatch.setenv("ANALYTICS_PARTITION_MONTHS_AHEAD", "6")
    found = AnalyticsSettings(_env_file=None)
    assert (found.port, found.partition_months_ahead, found.db_role) == (
        9101,
        6,
        "meridian_analytics",
    )
    monkeypatch.delenv("ANALYTICS_PORT")
    assert AnalyticsSettings(_env_file=None).port == 8001
