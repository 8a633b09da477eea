"""An upload cut off by a stopped process does not stay ``processing`` for ever."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from ingestion_service.uploads.repository import INTERRUPTED, fail_interrupted


async def _upload(conn: AsyncConnection, tenant: uuid.UUID, kind: str, minutes_ago: int) -> str:
    made = await conn.execute(
        text(
            "INSERT INTO ingestion.upload (tenant_id, kind, mode, status, uploaded_by, created_at)"
            " VALUES (:t, :k, 'accept_valid', 'processing', 'user:x',"
            " clock_timestamp() - make_interval(mins => :m)) RETURNING id::text"
        ),
        {"t": tenant, "k": kind, "m": minutes_ago},
    )
    return str(made.scalar_one())


async def test_only_old_uploads_nobody_is_working_on_are_marked_failed(
    conn: AsyncConnection, engine: AsyncEngine, tenant: uuid.UUID
) -> None:
    orphan = await _upload(conn, tenant, "purchases_raw", minutes_ago=30)
    recent = await _upload(conn, tenant, "costs_daily", minutes_ago=1)
    working = await _upload(conn, tenant, "sessions", minutes_ago=30)
    async with engine.connect() as other:  # a live upload holds its tenant-and-kind lock
        await other.begin()
        await other.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"ingestion.upload/{tenant}/sessions"},
        )
        failed = await fail_interrupted(AsyncSession(bind=conn), older_than_minutes=5)
        await other.rollback()
    assert failed >= 1  # others' committed orphans, if any, are marked too
    states = await conn.execute(
        text("SELECT id::text, status, failure FROM ingestion.upload WHERE tenant_id = :t"),
        {"t": tenant},
    )
    assert sorted(states.all()) == sorted(
        [
            (orphan, "failed", INTERRUPTED),
            (recent, "processing", None),
            (working, "processing", None),
        ]
    )
