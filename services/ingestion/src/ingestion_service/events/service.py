"""Events from games and game servers: recorded per tenant, read back newest first, counted."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.outbox import Fact, record_facts
from common.security import Principal
from ingestion_service.config import IngestionSettings
from ingestion_service.events import repository
from ingestion_service.events.repository import EventFilter
from ingestion_service.events.schemas import (
    EventCreated,
    EventIn,
    EventOut,
    EventPage,
    EventQuery,
    EventStat,
    PageQuery,
    StatsPage,
)
from ingestion_service.idempotency import service as idempotency
from ingestion_service.idempotency.schemas import Replayable
from ingestion_service.models import outbox

POST_EVENT = "POST /event"


GAME_EVENT_FACT = "ingestion.game_event.v1"


def game_event_fact(
    *,
    event_id: uuid.UUID,
    tenant_id: uuid.UUID,
    ts: datetime,
    event_type: str,
    meta: str | None,
    player_id: uuid.UUID | None,
    user_id: str | None,
) -> Fact:
    """The fact a stored event of POST /event leaves as; its id is the event's own, so
    re-recording it can never make a second fact. POST /data/events builds the same fact in
    SQL (events.repository.insert_events)."""
    return Fact(
        id=event_id,
        kind=GAME_EVENT_FACT,
        tenant_id=tenant_id,
        occurred_at=ts,
        data={
            "event_type": event_type,
            "meta": meta,
            "player_id": str(player_id) if player_id is not None else None,
            "user_id": user_id,
        },
    )


async def record(
    session: AsyncSession,
    settings: IngestionSettings,
    caller: Principal,
    body: EventIn,
    idempotency_key: str | None,
) -> Replayable:
    """Store the event; with an Idempotency-Key, only the first time (the same answer after)."""

    async def work() -> Replayable:
        return await _record(session, caller, body)

    if idempotency_key is None:
        return await work()
    fingerprint = idempotency.request_hash(POST_EVENT, body)
    return await idempotency.once(session, settings, caller, idempotency_key, fingerprint, work)


async def _record(session: AsyncSession, caller: Principal, body: EventIn) -> Replayable:
    # A player's event is theirs: Meridian's player id and the game's own user id (uid claim).
    is_player = caller.kind == "player"
    player_id = caller.user_id if is_player else None
    user_id = caller.claims.get("uid") if is_player else None
    event_id, ts = await repository.insert_event(
        session,
        tenant_id=caller.require_tenant(),
        player_id=player_id,
        user_id=user_id,
        sent_by=caller.label,
        event_type=body.event_type,
        meta=body.meta,
        ts=body.timestamp_utc,
    )
    fact = game_event_fact(
        event_id=event_id,
        tenant_id=caller.require_tenant(),
        ts=ts,
        event_type=body.event_type,
        meta=body.meta,
        player_id=player_id,
        user_id=user_id,
    )
    await record_facts(session, outbox, [fact])
    return Replayable(200, EventCreated(event_id=event_id).model_dump_json(by_alias=True))


async def list_events(session: AsyncSession, caller: Principal, query: EventQuery) -> EventPage:
    """The tenant's events newest first; a player sees only their own."""
    where = EventFilter(
        tenant_id=caller.require_tenant(),
        player_id=caller.user_id if caller.kind == "player" else None,
        event_type=query.event_type,
        start_time=query.start_time,
        end_time=query.end_time,
    )
    rows, total = await repository.list_events(session, where, query.limit, query.offset)
    return EventPage(
        events=[EventOut(id=r.id, type=r.event_type, ts=r.ts, meta=r.meta) for r in rows],
        total=total,
        limit=query.limit,
        offset=query.offset,
        has_more=query.offset + len(rows) < total,
    )


async def stats(session: AsyncSession, caller: Principal, query: PageQuery) -> StatsPage:
    """The tenant's event counts per type, most frequent first."""
    rows, total = await repository.event_stats(
        session, caller.require_tenant(), query.limit, query.offset
    )
    return StatsPage(
        stats=[EventStat(event_type=event_type, count=count) for event_type, count in rows],
        total=total,
        limit=query.limit,
        offset=query.offset,
        has_more=query.offset + len(rows) < total,
    )
