"""Each kind of ingestion's facts lands in its table with exact values (the data shapes are the
producers': ingestion's events, uploads and customer records)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.models import metadata
from analytics_testing import Callers, fact

UPLOAD = uuid.UUID("6f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f")
PLAYER = uuid.UUID("11111111-2222-4333-8444-555555555555")


async def _send(client: httpx.AsyncClient, callers: Callers, *facts: dict[str, Any]) -> None:
    body = {"source": "ingestion", "facts": list(facts)}
    response = await client.post(
        "/internal/facts", json=body, headers=callers.service("ingestion").headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": len(facts), "duplicates": 0}


async def _rows(conn: AsyncConnection, table: str, columns: str, tenant: uuid.UUID) -> list[Any]:
    sql = f"SELECT {columns} FROM analytics.{table} WHERE tenant_id = :t ORDER BY 1"  # noqa: S608
    return [tuple(row) for row in await conn.execute(text(sql), {"t": tenant})]


async def test_a_game_event(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    event = fact(
        "ingestion.game_event.v1",
        tenant,
        {"event_type": "level_up", "meta": '{"level": 3}', "player_id": str(PLAYER),
         "user_id": "player_001"},
        occurred_at="2026-11-20T10:15:30.25+02:00",
    )  # fmt: skip
    await _send(client, callers, event)
    assert await _rows(
        conn, "game_event", "occurred_at, fact_id, event_type, meta, player_id, user_id", tenant
    ) == [
        (
            datetime(2026, 11, 20, 8, 15, 30, 250000, tzinfo=UTC),
            uuid.UUID(event["id"]),
            "level_up",
            '{"level": 3}',
            PLAYER,
            "player_001",
        )
    ]


def _purchase(line: int, **extra: Any) -> dict[str, Any]:
    return {
        "upload_id": str(UPLOAD),
        "line": line,
        "appsflyer_id": "af-1",
        "event_name": "purchase",
        "event_time_utc": "2026-11-19T23:59:59Z",
        "revenue_usd": 12.5,
        "revenue_raw": None,
        "campaign": "Summer",
        "receipt_id": "r-1",
        **extra,
    }


async def test_raw_and_confirmed_purchases(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    raw = fact("ingestion.purchase_raw.v1", tenant, _purchase(2, status="success"))
    unparsed = _purchase(3, status="chargeback", revenue_usd=None, revenue_raw="abc")
    bad_number = fact("ingestion.purchase_raw.v1", tenant, unparsed)
    confirmed = fact("ingestion.purchase_confirmed.v1", tenant, _purchase(2))
    await _send(client, callers, raw, bad_number, confirmed)
    columns = (
        "line, event_time_utc, fact_id, upload_id, appsflyer_id, event_name, revenue_usd,"
        " revenue_raw, campaign, receipt_id"
    )
    moment = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
    common = (UPLOAD, "af-1", "purchase")
    assert await _rows(conn, "purchase_raw", f"{columns}, status", tenant) == [
        (2, moment, uuid.UUID(raw["id"]), *common, Decimal("12.5"), None, "Summer", "r-1",
         "success"),
        (3, moment, uuid.UUID(bad_number["id"]), *common, None, "abc", "Summer", "r-1",
         "chargeback"),
    ]  # fmt: skip
    assert await _rows(conn, "purchase_confirmed", columns, tenant) == [
        (2, moment, uuid.UUID(confirmed["id"]), *common, Decimal("12.5"), None, "Summer", "r-1")
    ]


async def test_a_daily_cost_and_a_session_event(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    cost = fact(
        "ingestion.cost_daily.v1",
        tenant,
        {"upload_id": str(UPLOAD), "line": 2, "cost_date": "2026-11-19", "campaign": "Summer",
         "ad_cost_usd": 40.25},
        occurred_at="2026-11-19T00:00:00Z",
    )  # fmt: skip
    session = fact(
        "ingestion.session_event.v1",
        tenant,
        {"upload_id": str(UPLOAD), "line": 7, "event_timestamp_utc": "2026-11-19T08:00:00Z",
         "user_id": "player_001", "event_name": "session_start"},
    )  # fmt: skip
    await _send(client, callers, cost, session)
    assert await _rows(
        conn, "cost_daily", "cost_date, fact_id, upload_id, line, campaign, ad_cost_usd", tenant
    ) == [(date(2026, 11, 19), uuid.UUID(cost["id"]), UPLOAD, 2, "Summer", Decimal("40.25"))]
    assert await _rows(
        conn, "session_event", "event_timestamp_utc, line, user_id, event_name", tenant
    ) == [(datetime(2026, 11, 19, 8, tzinfo=UTC), 7, "player_001", "session_start")]


def _user(email: str, updated_at: str) -> dict[str, Any]:
    return {
        "user_id": "cust-1",
        "buying_company_name": "Acme",
        "email": email,
        "cell_phone": None,
        "office_phone": "555-0100",
        "created_at": "2026-11-01T09:00:00Z",
        "updated_at": updated_at,
    }


async def test_a_newer_customer_record_wins_and_an_older_one_changes_nothing(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    kind = "ingestion.user.v1"
    first = fact(kind, tenant, _user("a@x.test", "2026-11-02T09:00:00Z"),
                 occurred_at="2026-11-02T09:00:00Z")  # fmt: skip
    newer = fact(kind, tenant, _user("b@x.test", "2026-11-03T09:00:00Z"),
                 occurred_at="2026-11-03T09:00:00Z")  # fmt: skip
    older = fact(kind, tenant, _user("old@x.test", "2026-11-01T12:00:00Z"),
                 occurred_at="2026-11-01T12:00:00Z")  # fmt: skip
    await _send(client, callers, first)
    await _send(client, callers, newer, older)  # the older one comes last, in the same batch
    late = fact(kind, tenant, _user("late@x.test", "2026-11-02T10:00:00Z"),
                occurred_at="2026-11-02T10:00:00Z")  # fmt: skip
    await _send(client, callers, late)  # and alone, after
    columns = (
        "user_id, buying_company_name, email, cell_phone, office_phone, created_at, updated_at,"
        " fact_id, occurred_at"
    )
    assert await _rows(conn, "customer_user", columns, tenant) == [
        ("cust-1", "Acme", "b@x.test", None, "555-0100", datetime(2026, 11, 1, 9, tzinfo=UTC),
         datetime(2026, 11, 3, 9, tzinfo=UTC), uuid.UUID(newer["id"]),
         datetime(2026, 11, 3, 9, tzinfo=UTC)),
    ]  # fmt: skip


async def test_branches_are_kept_per_tenant(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    other = uuid.uuid4()
    data = {"branch_id": "B-7", "name": "North", "city": "Austin", "state": "TX",
            "active": True, "created_at": "2026-11-01T09:00:00Z",
            "updated_at": "2026-11-01T09:00:00Z"}  # fmt: skip
    closed = {**data, "active": False, "updated_at": "2026-11-05T09:00:00Z"}
    await _send(
        client,
        callers,
        fact("ingestion.branch.v1", tenant, data, occurred_at="2026-11-01T09:00:00Z"),
        fact("ingestion.branch.v1", tenant, closed, occurred_at="2026-11-05T09:00:00Z"),
        fact("ingestion.branch.v1", other, data, occurred_at="2026-11-01T09:00:00Z"),
    )
    columns = "branch_id, name, city, state, active, updated_at"
    assert await _rows(conn, "branch", columns, tenant) == [
        ("B-7", "North", "Austin", "TX", False, datetime(2026, 11, 5, 9, tzinfo=UTC))
    ]
    assert await _rows(conn, "branch", columns, other) == [
        ("B-7", "North", "Austin", "TX", True, datetime(2026, 11, 1, 9, tzinfo=UTC))
    ]


async def test_every_table_keys_its_rows_by_tenant_first(conn: AsyncConnection) -> None:
    keys = await conn.execute(
        text(
            "SELECT c.relname, a.attname, a.attnotnull FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]"
            " WHERE n.nspname = 'analytics' AND i.indisprimary AND c.relkind IN ('r', 'p')"
            " AND NOT c.relispartition AND c.relname NOT LIKE 'pgqueuer%'"
            " AND c.relname <> 'alembic_version'"
        )
    )
    found = {f"analytics.{table}": (column, not_null) for table, column, not_null in keys}
    assert found.pop("analytics.fact_receipt") == (
        "source",
        True,
    )  # (source, fact_id): the receipts
    assert sorted(found) == sorted(t for t in metadata.tables if t != "analytics.fact_receipt")
    assert set(found.values()) == {("tenant_id", True)}
