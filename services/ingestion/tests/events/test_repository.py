"""``ingestion.event_stats``, called directly."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def add_events(conn: AsyncConnection, tenant: uuid.UUID, counts: dict[str, int]) -> None:
    for event_type, count in counts.items():
        await conn.execute(
            text(
                "INSERT INTO ingestion.event (tenant_id, sent_by, event_type, ts)"
                " SELECT :t, 'test', :e, now() FROM generate_series(1, :n)"
            ),
            {"t": tenant, "e": event_type, "n": count},
        )


async def event_stats(
    conn: AsyncConnection, tenant: uuid.UUID, limit: int, offset: int
) -> list[tuple[str | None, int | None, int]]:
    rows = await conn.execute(
        text("SELECT * FROM ingestion.event_stats(:t, :l, :o)"),
        {"t": tenant, "l": limit, "o": offset},
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def test_event_stats_pages_counts_with_the_total_on_every_row(
    conn: AsyncConnection,
) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    await add_events(conn, tenant, {"spin": 4, "win": 2, "bet": 2, "Zap": 1, "quit": 1})
    await add_events(conn, other, {"spin": 7, "other": 1})
    assert await event_stats(conn, tenant, 100, 0) == [
        ("spin", 4, 5),
        ("bet", 2, 5),
        ("win", 2, 5),
        ("Zap", 1, 5),
        ("quit", 1, 5),
    ]
    assert await event_stats(conn, tenant, 2, 1) == [("bet", 2, 5), ("win", 2, 5)]
    assert await event_stats(conn, tenant, 2, 4) == [("quit", 1, 5)]


async def test_event_stats_past_the_end_is_one_row_holding_the_total(
    conn: AsyncConnection,
) -> None:
    tenant = uuid.uuid4()
    await add_events(conn, tenant, {"spin": 3})
    assert await event_stats(conn, tenant, 10, 1) == [(None, None, 1)]
    assert await event_stats(conn, uuid.uuid4(), 10, 0) == [(None, None, 0)]


async def test_event_stats_runs_with_the_callers_rights(conn: AsyncConnection) -> None:
    security = await conn.scalar(
        text(
            "SELECT p.prosecdef FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'ingestion' AND p.proname = 'event_stats'"
        )
    )
    assert security is False  # SECURITY INVOKER
