"""Report schedules' times: a five-field cron expression read on the wall clock of an IANA time
zone, the next due time it gives, the report a due time sends, and the tenant's stagger.

Daylight saving time, as Vixie cron has it: a wall time the clock skips (02:30 on the morning
it springs forward) runs as if the clock had not moved, an hour later by the new clock (03:30);
a wall time the clock repeats (02:30 on the morning it falls back) runs once, the first time.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, croniter

FIELDS = "minute hour day-of-month month day-of-week"
# Due times tried when catching up with a schedule the worker could not serve for a while.
_CATCH_UP_LIMIT = 10_000


def check_cron(expression: str) -> str:
    """The expression with its fields separated by single spaces; ValueError says what is
    wrong. Reports go out at most hourly, so the minute is one number."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has five fields ({FIELDS}), not {len(fields)}")
    minute = fields[0]
    if not (minute.isdigit() and 0 <= int(minute) <= 59):
        raise ValueError(
            "the minute must be one number from 0 to 59: reports go out hourly at most"
        )
    normal = " ".join(fields)
    if not croniter.is_valid(normal):
        raise ValueError(f"{normal!r} is not a valid cron expression ({FIELDS})")
    try:
        croniter(normal, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise ValueError(f"{normal!r} never comes due") from exc
    return normal


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone (such as Europe/Paris or UTC)")
    return name


def next_run(expression: str, time_zone: str, after: datetime) -> datetime:
    """The first due time strictly after ``after`` (UTC)."""
    zone = ZoneInfo(time_zone)
    walls = croniter(expression, after.astimezone(zone).replace(tzinfo=None))
    while True:
        wall: datetime = walls.get_next(datetime)
        # fold=0: a repeated wall time is its first instant; a skipped one is read with the
        # offset before the change, which puts it as far after the change as it was meant
        # after the hour the clock skipped.
        due = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if due > after:
            return due


def latest_due(expression: str, time_zone: str, due: datetime, now: datetime) -> datetime:
    """Of the due times from ``due`` up to ``now``, the latest: a schedule the worker could not
    serve for a while sends once, for its latest due time, not once for every one it missed."""
    for _ in range(_CATCH_UP_LIMIT):
        following = next_run(expression, time_zone, due)
        if following > now:
            break
        due = following
    return due


def report_date(kind: str, time_zone: str, due: datetime) -> date:
    """What a due time sends: yesterday's daily report in the schedule's zone, or the weekly
    summary of the last whole week (Monday to Sunday) before that day."""
    today = due.astimezone(ZoneInfo(time_zone)).date()
    if kind == "weekly_summary":
        return today - timedelta(days=today.weekday() + 7)
    return today - timedelta(days=1)


def stagger(tenant_id: uuid.UUID, seconds: int) -> timedelta:
    """How long after a due time the tenant's jobs start: 0 to ``seconds``, the same for a
    tenant every time, spread evenly over tenants (SHA-256 of the tenant id), so tenants due
    at the same minute do not all reach the workers and SMTP servers at once."""
    if seconds <= 0:
        return timedelta(0)
    digest = hashlib.sha256(tenant_id.bytes).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % (seconds + 1))
