"""Batches of events: validated one by one, deduplicated by message_id within the tenant,
corrected for the device's clock skew, stored with one fact each in one statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from common.errors import PayloadTooLarge, RateLimited
from common.security import Principal
from ingestion_service.batches import repository
from ingestion_service.batches.checks import check_event
from ingestion_service.batches.repository import NewEvent
from ingestion_service.batches.schemas import LIMITS, MAX_EVENTS, BatchError, BatchIn, BatchResult
from ingestion_service.events.service import GAME_EVENT_FACT

RETRY_AFTER_SECONDS = 1


class BatchSlots:
    """A per-process bound on batches worked on at once: one more is refused at once (429)."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)

    @asynccontextmanager
    async def take(self) -> AsyncIterator[None]:
        if self._slots.locked():  # no await between this check and the acquire: non-blocking
            raise RateLimited(
                "Too many batches are being taken in; send this one again shortly.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        async with self._slots:
            yield


async def take_in(session: AsyncSession, caller: Principal, body: BatchIn) -> BatchResult:
    """Store the batch's valid events (each message_id once per tenant) and list the others."""
    if len(body.batch) > MAX_EVENTS:
        raise PayloadTooLarge(
            f"A batch holds at most {MAX_EVENTS} events; this one has {len(body.batch)}.",
            max_events=LIMITS["max_events"],
            max_bytes=LIMITS["max_bytes"],
            max_event_bytes=LIMITS["max_event_bytes"],
        )
    tenant_id = caller.require_tenant()
    is_player = caller.kind == "player"
    player_id = caller.user_id if is_player else None
    received_at = await repository.received_at(session)
    skew = None if body.historical else received_at - body.sent_at

    errors: list[BatchError] = []
    valid: list[NewEvent] = []
    seen: set[str] = set()
    duplicates = 0
    for index, raw in enumerate(body.batch):
        event = check_event(index, raw, skew)
        if isinstance(event, BatchError):
            errors.append(event)
        elif event.message_id in seen:
            duplicates += 1
        else:
            seen.add(event.message_id)
            valid.append(event)
    if is_player:  # a player's events are theirs: the game's user id from their token
        uid = caller.claims.get("uid")
        valid = [event._replace(user_id=uid) for event in valid]

    stored = await repository.insert_events(
        session,
        tenant_id=tenant_id,
        player_id=player_id,
        sent_by=caller.label,
        fact_kind=GAME_EVENT_FACT,
        events=valid,
    )
    return BatchResult(
        accepted=stored,
        duplicates=duplicates + len(valid) - stored,
        errors=errors,
    )
