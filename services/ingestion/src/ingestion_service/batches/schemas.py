"""The batch contract of POST /data/events (Segment-like: message_id, timestamp, sent_at)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictBool

from ingestion_service.events.schemas import within_calendar

MAX_EVENTS = 1000
MAX_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 32 * 1024
LIMITS = {"max_events": MAX_EVENTS, "max_bytes": MAX_BYTES, "max_event_bytes": MAX_EVENT_BYTES}

# RFC 3339: a date, a time and an offset (Z or ±hh:mm), fractions of a second allowed.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 time with an offset, e.g. 2025-10-25T10:30:00Z")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return within_calendar(value.astimezone(UTC))
    except OverflowError as exc:
        raise ValueError("the time is out of range") from exc


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("may not contain control characters")
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise ValueError("is not valid Unicode text") from exc
    return value


Text = Annotated[str, AfterValidator(_printable)]


Rfc3339 = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_utc)]


class BatchEvent(BaseModel):
    """One event of a batch; each is validated on its own, so a bad one does not sink the rest."""

    message_id: Text = Field(min_length=1, max_length=100)
    event_type: Text = Field(min_length=1, max_length=100)
    timestamp: Rfc3339
    properties: dict[str, Any] | None = None
    user_id: Text | None = Field(default=None, min_length=1, max_length=128)


class BatchIn(BaseModel):
    batch: list[dict[str, Any]] = Field(
        description=(
            f"Up to {MAX_EVENTS} events, each at most {MAX_EVENT_BYTES} bytes as JSON:"
            " message_id (1-100 chars, deduplicates within the tenant), event_type (1-100"
            " chars), timestamp (RFC 3339, the device's clock), properties (object, optional),"
            " user_id (optional). An event that fails is listed in errors; the others are kept."
        )
    )
    sent_at: Rfc3339 = Field(
        description="RFC 3339: the device's clock when sending (corrects its skew)."
    )
    historical: StrictBool = Field(
        default=False, description="An import of past events: timestamps are kept as sent."
    )


class BatchError(BaseModel):
    index: int
    message_id: str | None
    reason: str


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    errors: list[BatchError]
