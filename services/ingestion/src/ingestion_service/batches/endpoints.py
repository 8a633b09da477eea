"""POST /data/events: a batch of events from a device or a server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from common.db import DbSession
from common.errors import PROBLEM_JSON
from ingestion_service.batches import service
from ingestion_service.batches.schemas import (
    MAX_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENTS,
    BatchIn,
    BatchResult,
)
from ingestion_service.deps import EventWriter

router = APIRouter(tags=["events"])

_PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


async def _slots(request: Request) -> service.BatchSlots:
    slots: service.BatchSlots = request.app.state.batch_slots
    return slots


BatchSlots = Annotated[service.BatchSlots, Depends(_slots)]


@router.post(
    "/data/events",
    response_model=BatchResult,
    responses={
        413: {
            "description": (
                f"Over the limits ({MAX_EVENTS} events, {MAX_BYTES} bytes, {MAX_EVENT_BYTES}"
                " bytes per event): the problem states them (max_events, max_bytes,"
                " max_event_bytes)."
            ),
            **_PROBLEM,
        },
        429: {
            "description": "Too many batches at once: send again after Retry-After seconds.",
            "headers": {"Retry-After": {"schema": {"type": "string"}}},
            **_PROBLEM,
        },
    },
)
async def post_batch(
    body: BatchIn, session: DbSession, caller: EventWriter, slots: BatchSlots
) -> BatchResult:
    """Take in a batch: each valid event is stored once per message_id (a repeat counts as a
    duplicate), its time corrected by received_at - sent_at unless historical; each invalid one
    is listed in errors with its index and reason. Always 200 when the batch itself is well
    formed, however many of its events fail."""
    async with slots.take():
        return await service.take_in(session, caller, body)
