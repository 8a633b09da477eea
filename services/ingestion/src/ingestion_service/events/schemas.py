"""The gaming backend's event contracts (field names as its clients send and read them)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

MAX_PAGE = 1000
MAX_OFFSET = 2_147_483_647
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _iso_only(value: Any) -> Any:
    # pydantic would also take a number of seconds; the contract says ISO-8601.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError("expected an ISO-8601 date and time, e.g. 2025-10-25T10:30:00Z")
    return value


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def within_calendar(value: datetime) -> datetime:
    """A UTC time between 1900 and 2200 (the database's extreme values read back as infinity)."""
    if not EARLIEST <= value < LATEST:
        raise ValueError("the time must lie between 1900 and 2200")
    return value


def _as_utc(value: datetime) -> datetime:
    """A time without an offset is taken as UTC; one with an offset is converted to UTC."""
    if value.tzinfo is None:
        return within_calendar(value.replace(tzinfo=UTC))
    try:
        return within_calendar(value.astimezone(UTC))
    except OverflowError as exc:
        raise ValueError("the time is out of range") from exc


UtcDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_as_utc)]


def _no_nan(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _json_text(value: str | None) -> str | None:
    if value is not None:
        try:
            json.loads(value, parse_constant=_no_nan)
        # RecursionError: nested deeper than the parser goes (a few thousand brackets).
        except (ValueError, RecursionError) as exc:
            raise ValueError("meta must be JSON text, e.g. '{\"level\": 42}'") from exc
    return value


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("eventType may not contain control characters")
    return value


class EventIn(BaseModel):
    event_type: Annotated[str, AfterValidator(_printable)] = Field(
        alias="eventType", min_length=1, max_length=100
    )
    meta: Annotated[str | None, AfterValidator(_json_text)] = Field(
        default=None,
        max_length=5000,
        description="JSON text (a string holding JSON), at most 5000 characters.",
    )
    timestamp_utc: UtcDateTime | None = Field(
        default=None,
        alias="timestampUtc",
        description="ISO-8601; without an offset it is taken as UTC. Default: when received.",
    )


class EventCreated(BaseModel):
    ok: Literal[True] = True
    event_id: uuid.UUID = Field(serialization_alias="eventId")


class EventOut(BaseModel):
    id: uuid.UUID
    type: str
    ts: datetime
    meta: str | None


class EventQuery(BaseModel):
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    event_type: str | None = Field(None, min_length=1, max_length=100)
    start_time: UtcDateTime | None = Field(
        None, description="Inclusive; ISO-8601, UTC if no offset."
    )
    end_time: UtcDateTime | None = Field(None, description="Inclusive; ISO-8601, UTC if no offset.")

    @model_validator(mode="after")
    def _ordered(self) -> EventQuery:
        if self.start_time and self.end_time and self.start_time > self.end_time:
            raise ValueError("start_time is after end_time")
        return self


class EventPage(BaseModel):
    events: list[EventOut]
    total: int
    limit: int
    offset: int
    has_more: bool = Field(serialization_alias="hasMore")


class PageQuery(BaseModel):
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class EventStat(BaseModel):
    event_type: str = Field(serialization_alias="eventType")
    count: int


class StatsPage(BaseModel):
    stats: list[EventStat]
    total: int
    limit: int
    offset: int
    has_more: bool = Field(serialization_alias="hasMore")
