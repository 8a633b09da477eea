"""Each event of a batch checked on its own: the full check (size, BatchEvent, clock correction,
properties) and, in front of it, a lean one by hand that takes the common event at a fraction of
the cost. The lean check accepts only what the full one would accept, with the same values; any
other event, and every error, is left to the full check, so the answers do not change."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from pydantic import ValidationError

from ingestion_service.batches.repository import NewEvent
from ingestion_service.batches.schemas import MAX_EVENT_BYTES, BatchError, BatchEvent
from ingestion_service.events.schemas import EARLIEST, LATEST, within_calendar

# An event's size is that of its compact JSON, non-ASCII as UTF-8; meta is ASCII JSON text.
_SIZE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_META = json.JSONEncoder(separators=(",", ":"), allow_nan=False)

_FIELDS = frozenset(BatchEvent.model_fields)
# The usual RFC 3339 form, every part in range, which datetime.fromisoformat reads as pydantic
# does; other forms (lowercase t or z, more than 6 digits of fraction) go to the full check.
_PLAIN_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
# Without other keys, everything but the properties is at most 1.5 KB as JSON (328 characters
# of at most 4 bytes, a timestamp, the keys); the properties' ASCII JSON is at least as long
# as their UTF-8 JSON. Properties this short cannot make the event too large.
_PLAIN_META_CHARS = MAX_EVENT_BYTES - 2048


def check_event(index: int, raw: dict[str, Any], skew: timedelta | None) -> NewEvent | BatchError:
    """The event ready to store, or why it is refused (its time corrected by ``skew``)."""
    return plain_event(raw, skew) or full_check(index, raw, skew)


def _plain_text(value: Any, max_length: int) -> TypeGuard[str]:
    # isprintable() is False for control characters and lone surrogates (and a few more).
    return type(value) is str and 0 < len(value) <= max_length and value.isprintable()


def plain_event(raw: dict[str, Any], skew: timedelta | None) -> NewEvent | None:
    """The common event checked by hand; None leaves the event to :func:`full_check`."""
    message_id, event_type = raw.get("message_id"), raw.get("event_type")
    user_id, properties = raw.get("user_id"), raw.get("properties")
    stamp = raw.get("timestamp")
    if not (
        raw.keys() <= _FIELDS
        and _plain_text(message_id, 100)
        and _plain_text(event_type, 100)
        and (user_id is None or _plain_text(user_id, 128))
        and (properties is None or type(properties) is dict)
        and type(stamp) is str
        and _PLAIN_TIME.fullmatch(stamp)
    ):
        return None
    try:
        sent = datetime.fromisoformat(stamp).astimezone(UTC)
        ts = sent if skew is None else sent + skew
        meta = None if properties is None else _META.encode(properties)
    except (ValueError, OverflowError, RecursionError):
        return None
    if not (EARLIEST <= sent < LATEST and EARLIEST <= ts < LATEST):
        return None
    if meta is not None and len(meta) > _PLAIN_META_CHARS:
        return None
    return NewEvent(message_id, user_id, event_type, meta, ts)


def full_check(index: int, raw: dict[str, Any], skew: timedelta | None) -> NewEvent | BatchError:
    """The event's size, then BatchEvent, then its corrected time and its properties as text."""
    size = len(_SIZE.encode(raw).encode("utf-8", "surrogatepass"))
    if size > MAX_EVENT_BYTES:
        reason = f"the event is {size} bytes; at most {MAX_EVENT_BYTES} are taken"
        return BatchError(index=index, message_id=_message_id(raw), reason=reason)
    try:
        event = BatchEvent.model_validate(raw)
        ts = _corrected(event, skew)
        meta = _properties_text(event)
    except ValidationError as exc:
        return BatchError(index=index, message_id=_message_id(raw), reason=_reason(exc))
    except OverflowError:
        reason = "timestamp: out of range once corrected for the device's clock"
        return BatchError(index=index, message_id=event.message_id, reason=reason)
    except ValueError:
        reason = "properties: NaN and Infinity are not JSON"
        return BatchError(index=index, message_id=event.message_id, reason=reason)
    return NewEvent(event.message_id, event.user_id, event.event_type, meta, ts)


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
    return _META.encode(event.properties)
