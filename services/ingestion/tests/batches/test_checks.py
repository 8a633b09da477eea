"""The lean check of a batch event: it takes the common event, and whatever it takes, the full
check (BatchEvent) takes with the very same values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingestion_service.batches.checks import full_check, plain_event
from ingestion_service.batches.repository import NewEvent
from ingestion_service.batches.schemas import BatchError

SKEWS = [None, timedelta(0), timedelta(hours=-1, microseconds=7), timedelta(days=365 * 150)]

TEXTS = [
    "m1",
    "x" * 100,
    "x" * 101,
    "",
    "tab\there",
    "del\x7f",
    "nbsp\u00a0",
    "café",
    "emoji 🎮",
    "lone \ud800",
    'quote " and \\',
    "line\u2028sep",
    7,
    None,
    ["m1"],
]
TIMES = [
    "2025-10-25T10:30:00Z",
    "2025-10-25T10:30:00.1Z",
    "2025-10-25T10:30:00.123456+05:30",
    "2025-10-25T10:30:00.1234567Z",
    "2025-10-25T10:30:00-00:00",
    "2025-10-25T10:30:00+23:59",
    "2025-10-25t10:30:00z",
    "2025-10-25T10:30:00",
    "2025-10-25 10:30:00Z",
    "2025-02-30T10:30:00Z",
    "2025-10-25T24:00:00Z",
    "2025-10-25T10:30:60Z",
    "1899-12-31T23:59:59Z",
    "1900-01-01T00:30:00+01:00",
    "2199-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "yesterday",
    1_761_388_200,
    None,
]
PROPERTIES = [
    None,
    {},
    {"level": 42, "score": 1.5, "mode": "ranked", "ok": True, "none": None},
    {"nested": {"list": [1, 2.5e-7, 1e16, "é"], "deep": {"a": {"b": []}}}},
    {"nan": float("nan")},
    {"inf": [float("-inf")]},
    {"big": 10**40},
    {"blob": "x" * 30_000},
    {"blob": "x" * 32_700},
    {"blob": "x" * 32_800},
    {"blob": "é" * 11_000},
    {"blob": "🎮" * 9_000},
    [1, 2],
    "text",
]
USER_IDS = [None, "player_007", "u" * 128, "u" * 129, "", "ctl\n", 42]


def random_event(rng: random.Random) -> dict[str, Any]:
    """Most fields are of the common kind (the first few of each list), some odd."""
    event: dict[str, Any] = {}
    for key, values, common in (
        ("message_id", TEXTS, 3),
        ("event_type", TEXTS, 3),
        ("timestamp", TIMES, 6),
        ("properties", PROPERTIES, 4),
        ("user_id", USER_IDS, 3),
    ):
        if rng.random() < 0.97:
            event[key] = rng.choice(values[:common] if rng.random() < 0.8 else values)
    if rng.random() < 0.05:
        event["extra"] = rng.choice(TEXTS + PROPERTIES)
    return event


def plain(**fields: Any) -> dict[str, Any]:
    event = {"message_id": "m1", "event_type": "level_complete", "timestamp": TIMES[0]}
    return {**event, **fields}


@pytest.mark.parametrize(("seed", "expected"), [(0, 554), (1, 532), (2, 492), (3, 530)])
def test_whatever_the_lean_check_takes_the_full_check_takes_alike(seed: int, expected: int) -> None:
    rng = random.Random(seed)
    taken = 0
    for _ in range(3000):
        raw, skew = random_event(rng), rng.choice(SKEWS)
        lean = plain_event(raw, skew)
        if lean is not None:
            taken += 1
            assert (raw, skew, lean) == (raw, skew, full_check(0, raw, skew))
    assert taken == expected  # of 3000 (about 750 are valid): the lean check did its part


@pytest.mark.parametrize(
    "raw",
    [
        plain(),
        plain(properties={"level": 42, "mode": "ranked"}, user_id="player_007"),
        plain(timestamp="2025-10-25T12:30:00.5+02:00", event_type="café 🎮", properties=None),
        plain(properties={"blob": "x" * 30_000}),
    ],
)
def test_the_common_event_is_taken_by_the_lean_check(raw: dict[str, Any]) -> None:
    skew = timedelta(minutes=-3)
    assert plain_event(raw, skew) == full_check(0, raw, skew)
    assert isinstance(plain_event(raw, skew), NewEvent)


def test_properties_near_the_limit_are_left_to_the_full_check() -> None:
    """Their JSON is under 32768 bytes; with the event's other fields it is over."""
    raw = plain(properties={"blob": "x" * 32_690})
    assert plain_event(raw, None) is None
    refused = full_check(3, raw, None)
    assert refused == BatchError(
        index=3, message_id="m1", reason="the event is 32799 bytes; at most 32768 are taken"
    )


def test_the_lean_check_corrects_the_clock_as_the_full_one() -> None:
    raw = plain(timestamp="2025-10-25T12:30:00.250+02:00")
    event = plain_event(raw, timedelta(hours=1))
    assert event is not None
    assert event.ts == datetime(2025, 10, 25, 11, 30, 0, 250_000, tzinfo=UTC)
    assert event.ts.tzinfo is UTC
