"""End to end: facts made by ingestion's real endpoints leave its outbox through the real relay
(common.outbox.OutboxRelay) and land in analytics served on loopback, once each even when
delivered twice. Both services commit here, so the test removes its tenant's rows after."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from analytics_service.config import AnalyticsSettings
from analytics_service.main import create_app as analytics_app
from analytics_testing import Callers, auth_free_verifier
from common.db import Database
from common.migrations import migrate
from common.outbox import OutboxRelay
from common.testing.servers import serve_asgi
from ingestion_service.config import IngestionSettings
from ingestion_service.main import create_app as ingestion_app
from ingestion_service.models import outbox
from ingestion_testing import Callers as IngestionCallers
from ingestion_testing import auth_free_verifier as ingestion_verifier

ANALYTICS_TABLES = {
    "game_event": 1,
    "customer_user": 1,
    "branch": 1,
    "cost_daily": 1,
    "session_event": 1,
    "purchase_raw": 1,
    "purchase_confirmed": 1,
}
INGESTION_TABLES = (
    "event",
    "outbox",
    "customer_user",
    "branch",
    "upload",
    "purchase_raw",
    "purchase_confirmed",
    "cost_daily",
    "session_event",
)
PURCHASE = "appsflyer_id,event_name,event_time_utc,revenue_usd,campaign,receipt_id"
CSV_FILES = {
    "costs_daily": 'date,campaign,ad_cost_usd\n2026-11-19,Summer,"40,25"\n',
    "sessions": "event_timestamp_utc,user_id,event_name\n"
    "2026-11-19T08:00:00Z,player_001,session_start\n",
    "purchases_raw": f"{PURCHASE},status\n"
    "af-1,purchase,2026-11-19T10:00:00Z,12.5,Summer,r-1,success\n",
    "confirmed_purchases": f"{PURCHASE}\naf-1,purchase,2026-11-19T10:00:05Z,12.5,Summer,r-1\n",
}


@pytest.fixture
async def ingestion(database_url: str) -> AsyncIterator[Database]:
    settings = IngestionSettings(database_url=database_url, environment="test", log_to_files=False)
    await migrate(settings)
    database = Database.from_settings(settings)
    yield database
    await database.dispose()


async def _make_facts(database: Database, tenant: uuid.UUID) -> None:
    """An event, a customer, a branch and a file of each kind, through ingestion's API."""
    settings = IngestionSettings(environment="test", log_to_files=False, _env_file=None)
    callers = IngestionCallers(settings)
    app = ingestion_app(
        settings,
        database=database,
        verifier_factory=lambda _: ingestion_verifier(settings, callers.api_keys),
    )
    writer = callers.machine(tenant, "uploads:write")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as http:
            sent = await http.post(
                "/event",
                json={"eventType": "level_up", "timestampUtc": "2026-11-19T09:00:00Z"},
                headers=callers.player(tenant).headers,
            )
            assert sent.status_code == 200, sent.text
            users = {"users": [{"user_id": "cust-1", "email": "a@x.test"}]}
            assert (await http.put("/data/users", json=users, headers=writer.headers)).is_success
            branches = {"branches": [{"branch_id": "B-7", "name": "North"}]}
            put = await http.put("/data/branches", json=branches, headers=writer.headers)
            assert put.is_success, put.text
            for kind, body in CSV_FILES.items():
                headers = {**writer.headers, "Content-Type": "text/csv"}
                uploaded = await http.post(f"/data/uploads/{kind}", content=body, headers=headers)
                assert uploaded.status_code == 201, uploaded.text
                assert uploaded.json()["rows_inserted"] == 1, uploaded.text


async def _counts(engine: AsyncEngine, tenant: uuid.UUID) -> dict[str, int]:
    found = {}
    async with engine.connect() as conn:
        for table in [*ANALYTICS_TABLES, "fact_receipt"]:
            sql = f"SELECT count(*) FROM analytics.{table} WHERE tenant_id = :t"  # noqa: S608
            found[table] = int(await conn.scalar(text(sql), {"t": tenant}) or 0)
    return found


async def _remove(engine: AsyncEngine, ingestion: Database, tenant: uuid.UUID) -> None:
    async with engine.begin() as conn:
        for table in [*ANALYTICS_TABLES, "fact_receipt"]:
            sql = f"DELETE FROM analytics.{table} WHERE tenant_id = :t"  # noqa: S608
            await conn.execute(text(sql), {"t": tenant})
    async with ingestion.engine.begin() as conn:
        for table in INGESTION_TABLES:
            sql = f"DELETE FROM ingestion.{table} WHERE tenant_id = :t"  # noqa: S608
            await conn.execute(text(sql), {"t": tenant})


async def test_ingestions_facts_reach_the_warehouse_once(
    settings: AnalyticsSettings, engine: AsyncEngine, ingestion: Database
) -> None:
    tenant = uuid.uuid4()
    callers = Callers(settings)

    async def token() -> str:
        return callers.service("ingestion").token

    app = analytics_app(
        settings, verifier_factory=lambda _: auth_free_verifier(settings, callers.api_keys)
    )
    try:
        await _make_facts(ingestion, tenant)
        async with serve_asgi(app) as base, httpx.AsyncClient() as client:
            assert base.startswith("http://127.0.0.1:")
            relay = OutboxRelay(
                source="ingestion",
                table=outbox,
                sessionmaker=ingestion.sessionmaker,
                client=client,
                url=f"{base}/internal/facts",
                token=token,
                batch_size=4,
            )
            first = await relay.drain()
            async with ingestion.engine.connect() as conn:
                undelivered = await conn.scalar(
                    text(
                        "SELECT count(*) FILTER (WHERE delivered_at IS NULL) FROM ingestion.outbox"
                        " WHERE tenant_id = :t"
                    ),
                    {"t": tenant},
                )
            assert undelivered == 0
            async with ingestion.engine.begin() as conn:  # as if the answer had been lost
                await conn.execute(
                    text("UPDATE ingestion.outbox SET delivered_at = NULL WHERE tenant_id = :t"),
                    {"t": tenant},
                )
            second = await relay.drain()
        # the first drain also takes what other tests committed to the outbox: only ours count
        assert (first.retried, first.parked) == (0, 0)
        assert (second.delivered, second.retried, second.parked) == (7, 0, 0)
        assert await _counts(engine, tenant) == {**ANALYTICS_TABLES, "fact_receipt": 7}
        async with engine.connect() as conn:
            cost = await conn.execute(
                text(
                    "SELECT cost_date, campaign, ad_cost_usd FROM analytics.cost_daily"
                    " WHERE tenant_id = :t"
                ),
                {"t": tenant},
            )
            event = await conn.execute(
                text(
                    "SELECT occurred_at, event_type, user_id FROM analytics.game_event"
                    " WHERE tenant_id = :t"
                ),
                {"t": tenant},
            )
            email = await conn.scalar(
                text("SELECT email FROM analytics.customer_user WHERE tenant_id = :t"),
                {"t": tenant},
            )
        assert [tuple(r) for r in cost] == [
            (datetime(2026, 11, 19).date(), "Summer", Decimal("40.25"))
        ]
        assert [tuple(r) for r in event] == [
            (datetime(2026, 11, 19, 9, tzinfo=UTC), "level_up", "player_001")
        ]
        assert email == "a@x.test"
    finally:
        await _remove(engine, ingestion, tenant)
