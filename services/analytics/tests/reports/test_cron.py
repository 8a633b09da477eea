"""Schedule times: cron expressions on a zone's wall clock across daylight saving changes (Paris
springs forward on 2026-03-29 at 01:00 UTC and falls back on 2026-10-25 at 01:00 UTC; New York
falls back on 2026-11-01), the report a due time sends, and the tenant's stagger."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics_service.reports.cron import (
    check_cron,
    check_time_zone,
    latest_due,
    next_run,
    report_date,
    stagger,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def runs(expression: str, zone: str, after: str, count: int) -> list[str]:
    found, moment = [], at(after)
    for _ in range(count):
        moment = next_run(expression, zone, moment)
        found.append(moment.strftime("%Y-%m-%d %H:%M"))
    return found


def test_a_daily_time_keeps_its_wall_clock_hour_across_both_changes() -> None:
    # 07:00 in Paris is 06:00 UTC in winter, 05:00 UTC in summer
    assert runs("0 7 * * *", "Europe/Paris", "2026-03-27T12:00", 4) == [
        "2026-03-28 06:00", "2026-03-29 05:00", "2026-03-30 05:00", "2026-03-31 05:00",
    ]  # fmt: skip
    assert runs("0 7 * * *", "Europe/Paris", "2026-10-23T12:00", 3) == [
        "2026-10-24 05:00", "2026-10-25 06:00", "2026-10-26 06:00",
    ]  # fmt: skip


def test_a_time_the_clock_skips_runs_an_hour_later_and_a_repeated_one_once() -> None:
    # 02:30 does not exist on 2026-03-29 in Paris: it runs at 03:30 CEST (01:30 UTC)
    assert runs("30 2 * * *", "Europe/Paris", "2026-03-27T12:00", 3) == [
        "2026-03-28 01:30", "2026-03-29 01:30", "2026-03-30 00:30",
    ]  # fmt: skip
    # 02:30 happens twice on 2026-10-25: once, at the first (00:30 UTC, still CEST)
    assert runs("30 2 * * *", "Europe/Paris", "2026-10-23T12:00", 3) == [
        "2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30",
    ]  # fmt: skip


def test_an_hourly_schedule_neither_doubles_nor_repeats_an_hour() -> None:
    assert runs("0 * * * *", "Europe/Paris", "2026-03-28T23:30", 4) == [
        "2026-03-29 00:00", "2026-03-29 01:00", "2026-03-29 02:00", "2026-03-29 03:00",
    ]  # fmt: skip
    assert runs("30 * * * *", "Europe/Paris", "2026-10-24T23:45", 4) == [
        "2026-10-25 00:30", "2026-10-25 02:30", "2026-10-25 03:30", "2026-10-25 04:30",
    ]  # fmt: skip


def test_a_weekly_monday_morning_follows_its_zone() -> None:
    assert runs("0 8 * * 1", "America/New_York", "2026-10-20T00:00", 3) == [
        "2026-10-26 12:00", "2026-11-02 13:00", "2026-11-09 13:00",
    ]  # fmt: skip
    assert runs("0 8 * * 1", "UTC", "2026-11-16T08:00", 2) == [
        "2026-11-23 08:00",
        "2026-11-30 08:00",
    ]


def test_the_report_of_a_due_time_is_yesterday_or_the_last_whole_week_in_the_zone() -> None:
    # 2026-11-16 23:30 UTC is already Tuesday 17 at 12:30 in Auckland
    assert report_date("daily_branch_report", "Pacific/Auckland", at("2026-11-16T23:30")) == date(
        2026, 11, 16
    )
    assert report_date("daily_branch_report", "UTC", at("2026-11-16T23:30")) == date(2026, 11, 15)
    assert report_date("daily_branch_report", "Europe/Paris", at("2026-03-29T05:00")) == date(
        2026, 3, 28
    )
    for due in ("2026-11-16T08:00", "2026-11-18T08:00", "2026-11-22T22:00"):
        assert report_date("weekly_summary", "UTC", at(due)) == date(2026, 11, 9), due
    # Monday 00:30 in Paris is still Sunday in UTC
    assert report_date("weekly_summary", "Europe/Paris", at("2026-11-15T23:30")) == date(
        2026, 11, 9
    )
    assert report_date("weekly_summary", "UTC", at("2026-11-15T23:30")) == date(2026, 11, 2)


def test_a_schedule_missed_for_days_catches_up_with_its_latest_due_time() -> None:
    latest = latest_due("0 7 * * *", "Europe/Paris", at("2026-03-26T06:00"), at("2026-03-29T12:00"))
    assert latest == at("2026-03-29T05:00")
    assert latest_due("0 7 * * *", "UTC", at("2026-03-29T07:00"), at("2026-03-29T07:00")) == at(
        "2026-03-29T07:00"
    )


def test_a_tenants_stagger_is_fixed_and_within_the_bound() -> None:
    tenant = uuid.UUID("6f1c2e4a-93b1-4d47-8a1e-0f5a1d2c3b4e")
    digest = int.from_bytes(hashlib.sha256(tenant.bytes).digest()[:8], "big")
    assert stagger(tenant, 300) == timedelta(seconds=digest % 301)
    assert stagger(tenant, 0) == timedelta(0)
    offsets = {stagger(uuid.UUID(int=n), 300).total_seconds() for n in range(200)}
    assert min(offsets) >= 0 and max(offsets) <= 300 and len(offsets) > 100


FIELDS = "minute hour day-of-month month day-of-week"
FIVE = f"a cron expression has five fields ({FIELDS}), not "
HOURLY = "the minute must be one number from 0 to 59: reports go out hourly at most"


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("0 8 * *", FIVE + "4"),
        ("0 8 * * 1 2026", FIVE + "6"),
        ("*/5 * * * *", HOURLY),
        ("60 8 * * *", HOURLY),
        ("0 24 * * *", "'0 24 * * *' is not a valid cron expression (" + FIELDS + ")"),
        ("0 8 30 2 *", "'0 8 30 2 *' never comes due"),
    ],
)  # fmt: skip
def test_bad_cron_expressions_say_why(expression: str, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_cron(expression)
    assert str(caught.value) == why


def test_cron_fields_are_normalised_and_zones_are_iana_names() -> None:
    assert check_cron("  0   8 * *\t1-5 ") == "0 8 * * 1-5"
    assert check_time_zone("Europe/Paris") == "Europe/Paris"
    for bad in ("Mars/Olympus", "utc+2", "../etc/passwd", "Europe/"):
        with pytest.raises(ValueError, match="is not an IANA time zone"):
            check_time_zone(bad)
