"""SQL of events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion_service.models import Event


@dataclass(frozen=True)
class EventFilter:
    tenant_id: uuid.UUID
    player_id: uuid.UUID | None = None
    event_type: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found = [Event.tenant_id == self.tenant_id]
        if self.player_id is not None:
            found.append(Event.player_id == self.player_id)
        if self.event_type is not None:
            found.append(Event.event_type == self.event_type)
        if self.start_time is not None:
            found.append(Event.ts >= self.start_time)
        if self.end_time is not None:
            found.append(Event.ts <= self.end_time)
        return found


@dataclass(frozen=True)
class EventRow:
    id: uuid.UUID
    event_type: str
    ts: datetime
    meta: str | None


async def insert_event(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    player_id: uuid.UUID | None,
    user_id: str | None,
    sent_by: str,
    event_type: str,
    meta: str | None,
    ts: datetime | None,
) -> tuple[uuid.UUID, datetime]:
    """Store one event (its id and time); without a time it happened when the transaction
    began."""
    row = await session.execute(
        text(
            "INSERT INTO ingestion.event"
            " (tenant_id, player_id, user_id, sent_by, event_type, meta, ts)"
            " VALUES (:t, :p, :u, :s, :e, :m, coalesce(CAST(:ts AS timestamptz), now()))"
            " RETURNING id, ts"
        ),
        {
            "t": tenant_id,
            "p": player_id,
            "u": user_id,
            "s": sent_by,
            "e": event_type,
            "m": meta,
            "ts": ts,
        },
    )
    event_id, stored_ts = row.one()
    return event_id, stored_ts


class NewEvent(NamedTuple):
    """One event of a batch, ready to store (its time already corrected); a tuple, as a batch
    makes hundreds."""

    message_id: str
    user_id: str | None
    event_type: str
    meta: str | None
    ts: datetime


# One round trip: the events, then a fact for each one stored, its data built by PostgreSQL
# with the same fields as game_event_fact (the fact's id is the event's own).
_INSERT_EVENTS_WITH_FACTS = text(
    "WITH stored AS ("
    " INSERT INTO ingestion.event"
    " (tenant_id, player_id, user_id, sent_by, event_type, meta, ts, message_id)"
    " SELECT :t, :p, e.user_id, :s, e.event_type, e.meta, e.ts, e.message_id"
    " FROM unnest(CAST(:u AS text[]), CAST(:e AS text[]), CAST(:m AS text[]),"
    " CAST(:ts AS timestamptz[]), CAST(:mid AS text[]))"
    " WITH ORDINALITY AS e(user_id, event_type, meta, ts, message_id, n)"
    # message_id order: two batches sharing ids then wait, never deadlock
    " ORDER BY e.message_id, e.n"
    " ON CONFLICT (tenant_id, message_id) WHERE message_id IS NOT NULL DO NOTHING"
    " RETURNING id, tenant_id, player_id, user_id, event_type, meta, ts"
    "), facts AS ("
    " INSERT INTO ingestion.outbox (id, kind, tenant_id, occurred_at, data)"
    " SELECT id, :kind, tenant_id, ts, jsonb_build_object('event_type', event_type,"
    " 'meta', meta, 'player_id', CAST(player_id AS text), 'user_id', user_id)"
    " FROM stored"
    " ON CONFLICT (id) DO NOTHING"
    ") SELECT count(*) FROM stored"
)


async def insert_events(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    player_id: uuid.UUID | None,
    sent_by: str,
    fact_kind: str,
    events: list[NewEvent],
) -> int:
    """Store many events and a fact of ``fact_kind`` for each, in one statement; one whose
    message_id the tenant already has (or an earlier one of the same list has) is skipped.
    Returns how many were stored."""
    if not events:
        return 0
    message_ids, user_ids, event_types, metas, times = (
        list(column) for column in zip(*events, strict=True)
    )
    stored = await session.scalar(
        _INSERT_EVENTS_WITH_FACTS,
        {
            "t": tenant_id,
            "p": player_id,
            "s": sent_by,
            "kind": fact_kind,
            "mid": message_ids,
            "u": user_ids,
            "e": event_types,
            "m": metas,
            "ts": times,
        },
    )
    return int(stored or 0)


async def list_events(
    session: AsyncSession, where: EventFilter, limit: int, offset: int
) -> tuple[list[EventRow], int]:
    """One page of events, newest first, and how many match in all."""
    conditions = where.conditions()
    page = await session.execute(
        select(Event.id, Event.event_type, Event.ts, Event.meta)
        .where(*conditions)
        .order_by(Event.ts.desc(), Event.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Event).where(*conditions))
    return [EventRow(*row) for row in page], int(total or 0)


async def event_stats(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[tuple[str, int]], int]:
    """One page of event counts per type (``ingestion.event_stats``) and the number of types."""
    rows = (
        await session.execute(
            text("SELECT event_type, event_count, total FROM ingestion.event_stats(:t, :l, :o)"),
            {"t": tenant_id, "l": limit, "o": offset},
        )
    ).all()
    stats = [(row.event_type, int(row.event_count)) for row in rows if row.event_type is not None]
    return stats, int(rows[0].total)
