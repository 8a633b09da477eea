"""Batches of events: validated one by one, deduplicated by message_id within the tenant,
corrected for the device's clock skew, stored with one fact each in one statement."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from common.errors import PayloadTooLarge, RateLimited
from common.security import Principal
from ingestion_service.batches import repository
from ingestion_service.batches.repository import NewEvent
from ingestion_service.batches.schemas import (
    LIMITS,
    MAX_EVENT_BYTES,
    MAX_EVENTS,
    BatchError,
    BatchEvent,
    BatchIn,
    BatchResult,
)
from ingestion_service.events.schemas import within_calendar
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


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _message_id(raw: dict[str, Any]) -> str | None:
    """The event's message_id to quote in an error, when it is fit to send back."""
    value = raw.get("message_id")
    if not isinstance(value, str) or len(value) > 100 or not value.isprintable():
        return None
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate cannot be written out as JSON
        return None
    return value


def _corrected(event: BatchEvent, skew: timedelta | None) -> datetime:
    """timestamp + (received_at - sent_at); raises OverflowError out of the calendar."""
    if skew is None:
        return event.timestamp
    try:
        return within_calendar(event.timestamp + skew)
    except ValueError as exc:
        raise OverflowError(str(exc)) from exc


def _properties_text(event: BatchEvent) -> str | None:
    """The properties as JSON text (the events table's meta); ValueError on NaN/Infinity."""
    if event.properties is None:
        return None
    return json.dumps(event.properties, separators=(",", ":"), allow_nan=False)


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
        serialized = json.dumps(raw, separators=(",", ":"), ensure_ascii=False)
        size = len(serialized.encode("utf-8", "surrogatepass"))
        if size > MAX_EVENT_BYTES:
            errors.append(
                BatchError(
                    index=index,
                    message_id=_message_id(raw),
                    reason=f"the event is {size} bytes; at most {MAX_EVENT_BYTES} are taken",
                )
            )
            continue
        try:
            event = BatchEvent.model_validate(raw)
            ts = _corrected(event, skew)
            meta = _properties_text(event)
        except ValidationError as exc:
            errors.append(BatchError(index=index, message_id=_message_id(raw), reason=_reason(exc)))
            continue
        except OverflowError:
            reason = "timestamp: out of range once corrected for the device's clock"
            errors.append(BatchError(index=index, message_id=event.message_id, reason=reason))
            continue
        except ValueError:
            reason = "properties: NaN and Infinity are not JSON"
            errors.append(BatchError(index=index, message_id=event.message_id, reason=reason))
            continue
        if event.message_id in seen:
            duplicates += 1
            continue
        seen.add(event.message_id)
        valid.append(
            NewEvent(
                message_id=event.message_id,
                # A player's events are theirs: the game's user id from their token.
                user_id=caller.claims.get("uid") if is_player else event.user_id,
                event_type=event.event_type,
                meta=meta,
                ts=ts,
            )
        )

    stored = await repository.insert_events(
        session,
        tenant_id=tenant_id,
        player_id=player_id,
        sent_by=f"{caller.kind}:{caller.subject}",
        fact_kind=GAME_EVENT_FACT,
        events=valid,
    )
    return BatchResult(
        accepted=stored,
        duplicates=duplicates + len(valid) - stored,
        errors=errors,
    )
