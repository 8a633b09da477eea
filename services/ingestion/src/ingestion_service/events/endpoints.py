"""The gaming backend's event endpoints: POST /event, GET /events, GET /stats."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from common.db import DbSession
from common.errors import PROBLEM_JSON
from ingestion_service.deps import EventReader, EventWriter, Settings
from ingestion_service.events import service
from ingestion_service.events.schemas import (
    EventCreated,
    EventIn,
    EventPage,
    EventQuery,
    PageQuery,
    StatsPage,
)

router = APIRouter(tags=["events"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="Send the same key to retry safely: the first answer is replayed for 24 h.",
    ),
]
_PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


@router.post(
    "/event",
    response_model=EventCreated,
    responses={409: {"description": "The same key is still in flight.", **_PROBLEM}},
)
async def post_event(
    body: EventIn,
    session: DbSession,
    caller: EventWriter,
    settings: Settings,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record one event (``{ok, eventId}``); a timestampUtc without an offset is taken as UTC."""
    answer = await service.record(session, settings, caller, body, idempotency_key)
    return answer.response()


@router.get("/events", response_model=EventPage)
async def list_events(
    query: Annotated[EventQuery, Query()], session: DbSession, caller: EventReader
) -> EventPage:
    """Events newest first, by type and time (bounds inclusive); a player sees their own."""
    return await service.list_events(session, caller, query)


@router.get("/stats", response_model=StatsPage)
async def event_stats(
    query: Annotated[PageQuery, Query()], session: DbSession, caller: EventReader
) -> StatsPage:
    """Counts of the tenant's events per type, most frequent first (ties by type)."""
    return await service.stats(session, caller, query)
