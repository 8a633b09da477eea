"""Momentum, value scores, spikes and the alerts they raise (the signal SQL functions), worked
by hand on signals_data.py's item views. Window of 11-19: 10-23 to 11-19; W0 = 11-13..11-19,
W1 = 11-06..11-12, W2 = 10-30..11-05; viral's baseline 10-23..11-12."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
import signals_data
from signals_data import at
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

pytestmark = pytest.mark.usefixtures("warehouse")
D18, D19, D20 = date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)


async def rows(conn: AsyncConnection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await conn.execute(text(sql), params)]


async def momentum(conn: AsyncConnection, tenant: uuid.UUID, as_of: date) -> list[tuple[Any, ...]]:
    return await rows(
        conn,
        "SELECT * FROM analytics.signal_momentum(:t, 'item_views', :d) ORDER BY series_key",
        t=tenant,
        d=as_of,
    )


async def test_momentum_components_index_and_status(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await momentum(conn, tenant, D19) == [
        # W 90/112/140: g0 = -0.1964, g1 = -0.2 -> velocity 3.04, acceleration 5.04; every
        # day below the week before -> consistency 0; 12 below the mean -> viral 0
        ("FALLING", D(90), D(112), D(140), D("3.04"), D("5.04"), D("0.00"), D("0.00"),
         D("2.58"), "declining"),
        # flat: growths 0, every day ties the week before (14 halves of 14 -> 5), sd 0
        ("FLAT", D(70), D(70), D(70), D("5.00"), D("5.00"), D("5.00"), D("0.00"), D("4.25"),
         "stable"),
        # W 84/76/71: velocity 6.05, acceleration 5.35; last week 5 days up and 2 ties, the
        # week before 3 up -> 9/14 -> 6.43; 13 is 2.52 sd above the baseline -> viral 7.62
        ("GROWING", D(84), D(76), D(71), D("6.05"), D("5.35"), D("6.43"), D("7.62"), D("6.15"),
         "growing"),
        # W2 = 0 (it began 11-12): nothing to measure
        ("NEW", D(35), D(5), D(0), None, None, None, None, None, "insufficient_data"),
        ("RISING", D(108), D(83), D(72), D("8.01"), D("6.48"), D("6.79"), D("10.00"),
         D("7.61"), "rapid_growth"),
        # W0 120 against 70 and 70: velocity and acceleration 10 (held there); 11-19 above
        # 11-12, 13 ties -> 7.5 / 14 -> 5.36; 60 above a flat 10 (sd 0) -> viral 10
        ("VIRAL", D(120), D(70), D(70), D("10.00"), D("10.00"), D("5.36"), D("10.00"),
         D("9.07"), "viral"),
    ]  # fmt: skip


async def test_momentum_of_the_day_before_and_of_the_other_tenant(
    conn: AsyncConnection, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    before = {row[0]: (row[8], row[9]) for row in await momentum(conn, tenant, D18)}
    assert before == {
        "FALLING": (D("2.60"), "declining"),
        "FLAT": (D("4.25"), "stable"),
        "GROWING": (D("5.62"), "growing"),
        "NEW": (None, "insufficient_data"),
        "RISING": (D("6.72"), "growing"),
        "VIRAL": (D("4.25"), "stable"),  # its 60 is not in the window yet
    }
    assert await momentum(conn, other_tenant, D19) == [
        ("FLAT", D(700), D(700), D(700), D("5.00"), D("5.00"), D("5.00"), D("0.00"), D("4.25"),
         "stable"),
        # W0 = 6 x 10 + 500 = 560: growths 7 -> held at 10; 11-19 up, 13 ties -> 5.36
        ("VIRAL", D(560), D(70), D(70), D("10.00"), D("10.00"), D("5.36"), D("10.00"),
         D("9.07"), "viral"),
    ]  # fmt: skip


async def test_value_score_parts_and_score(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    found = await rows(
        conn,
        "SELECT * FROM analytics.signal_value_score(:t, 'item_views', :d) ORDER BY series_key",
        t=tenant,
        d=D19,
    )
    # reach: the share of the 6 totals (40 280 300 330 331 482) at most this one's
    assert found == [
        # the last 14 days 202 against 280 before: 50 + 50 x (202/280 - 1) = 36.07
        ("FALLING", D(482), 28, D("100.00"), D("36.07"), D("100.00"), D("0.00"), D("70.82")),
        ("FLAT", D(280), 28, D("100.00"), D("50.00"), D("33.33"), D("0.00"), D("61.67")),
        # 5 units bought / 300 views -> 1.67
        ("GROWING", D(300), 28, D("100.00"), D("57.14"), D("50.00"), D("1.67"), D("67.31")),
        # 8 days of 28; nothing the 14 days before -> growth 100
        ("NEW", D(40), 8, D("28.57"), D("100.00"), D("16.67"), D("0.00"), D("44.76")),
        ("RISING", D(331), 28, D("100.00"), D("68.21"), D("83.33"), D("0.00"), D("77.13")),
        # 12 units / 330 views -> 3.64
        ("VIRAL", D(330), 28, D("100.00"), D("67.86"), D("66.67"), D("3.64"), D("74.06")),
    ]  # fmt: skip


async def test_spikes_of_the_day_and_the_day_before(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    found = await rows(
        conn,
        "SELECT * FROM analytics.signal_spikes(:t, 'item_views', :d) ORDER BY series_key, day",
        t=tenant,
        d=D19,
    )
    assert found == [
        ("FALLING", D18, D(13), D("17.75"), D("2.772634"), D("23.295268"), 28, False),
        ("FALLING", D19, D(12), D("17.5"), D("2.872281"), D("23.244563"), 28, False),
        # sd 0: the threshold is the mean, and 10 is not above it
        ("FLAT", D18, D(10), D(10), D(0), D(10), 28, False),
        ("FLAT", D19, D(10), D(10), D(0), D(10), 28, False),
        ("GROWING", D18, D(12), D("10.535714"), D("1.179653"), D("12.895021"), 28, False),
        ("GROWING", D19, D(13), D("10.642857"), D("1.171516"), D("12.985888"), 28, True),
        # 6 days of history before 11-18: not judged; 7 before 11-19, and 5 is below
        ("NEW", D18, D(5), D("1.071429"), D("2.05163"), D("5.174688"), 6, False),
        ("NEW", D19, D(5), D("1.25"), D("2.165064"), D("5.580127"), 7, False),
        ("RISING", D18, D(15), D("11.357143"), D("2.524371"), D("16.405885"), 28, False),
        ("RISING", D19, D(18), D("11.607143"), D("2.526139"), D("16.659421"), 28, True),
        ("VIRAL", D18, D(10), D(10), D(0), D(10), 28, False),
        ("VIRAL", D19, D(60), D(10), D(0), D(10), 28, True),
    ]


async def store_momentum(
    conn: AsyncConnection, tenant: uuid.UUID, as_of: date, now: datetime
) -> tuple[int, int]:
    found = await conn.execute(
        text("SELECT * FROM analytics.signal_store_momentum(:t, 'item_views', :d, :now)"),
        {"t": tenant, "d": as_of, "now": now},
    )
    stored, alerts = found.one()
    return stored, alerts


ALERTS = """
    SELECT series_key, kind, series_day, value, threshold, detail, detected_at,
           acknowledged_at
      FROM analytics.signal_alert WHERE tenant_id = :t ORDER BY detected_at, kind, series_key"""


async def test_stored_momentum_alerts_a_change_of_status_once(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await store_momentum(conn, tenant, D18, at(18)) == (6, 0)  # nothing stored before
    assert await store_momentum(conn, tenant, D19, at(19)) == (6, 2)
    up = {"direction": "up", "previous_as_of": "2026-11-18"}
    assert await rows(conn, ALERTS, t=tenant) == [
        ("RISING", "status_change", D19, D("7.61"), D(7),
         {**up, "from": "growing", "to": "rapid_growth", "previous_index": 6.72}, at(19), None),
        ("VIRAL", "status_change", D19, D("9.07"), D(9),
         {**up, "from": "stable", "to": "viral", "previous_index": 4.25}, at(19), None),
    ]  # fmt: skip
    # computed again later the same day, and a day on: the day's change is alerted once
    assert await store_momentum(conn, tenant, D19, at(19, 18)) == (6, 0)
    assert await store_momentum(conn, tenant, D19, at(21)) == (6, 0)
    stored = await rows(
        conn,
        "SELECT series_key, as_of, momentum_index, momentum_status, momentum_at, value_score"
        " FROM analytics.series_signal WHERE tenant_id = :t AND series_key IN ('NEW', 'VIRAL')"
        " ORDER BY series_key, as_of",
        t=tenant,
    )
    assert stored == [
        ("NEW", D18, None, "insufficient_data", at(18), None),
        ("NEW", D19, None, "insufficient_data", at(21), None),
        ("VIRAL", D18, D("4.25"), "stable", at(18), None),
        ("VIRAL", D19, D("9.07"), "viral", at(21), None),
    ]


async def test_a_fall_is_alerted_at_the_bound_left_and_insufficient_data_is_no_change(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    await conn.execute(
        text(
            "INSERT INTO analytics.series_signal (tenant_id, series_kind, series_key, as_of,"
            " momentum_index, momentum_status, momentum_at) VALUES"
            " (:t, 'item_views', 'FALLING', '2026-11-16', 5.5, 'growing', :now),"
            " (:t, 'item_views', 'FLAT', '2026-11-17', NULL, 'insufficient_data', :now)"
        ),
        {"t": tenant, "now": at(17)},
    )
    assert await store_momentum(conn, tenant, D19, at(19)) == (6, 1)
    assert await rows(conn, ALERTS, t=tenant) == [
        ("FALLING", "status_change", D19, D("2.58"), D(5),
         {"direction": "down", "from": "growing", "to": "declining",
          "previous_as_of": "2026-11-16", "previous_index": 5.5}, at(19), None),
    ]  # fmt: skip


async def detect(conn: AsyncConnection, tenant: uuid.UUID, as_of: date, now: datetime) -> int:
    found = await conn.scalar(
        text("SELECT analytics.signal_detect_spikes(:t, 'item_views', :d, :now)"),
        {"t": tenant, "d": as_of, "now": now},
    )
    return int(found)


async def test_a_spike_is_not_alerted_again_within_24_hours(
    conn: AsyncConnection, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    await signals_data.add_day(conn, tenant, "2026-11-20", {"VIRAL": 70})
    t0 = at(19)
    assert await detect(conn, tenant, D19, t0) == 3
    history = {"history_days": 28}
    assert await rows(conn, ALERTS, t=tenant) == [
        ("GROWING", "spike", D19, D(13), D("12.985888"),
         {**history, "mean": 10.642857, "sd": 1.171516}, t0, None),
        ("RISING", "spike", D19, D(18), D("16.659421"),
         {**history, "mean": 11.607143, "sd": 2.526139}, t0, None),
        ("VIRAL", "spike", D19, D(60), D(10), {**history, "mean": 10, "sd": 0}, t0, None),
    ]  # fmt: skip
    assert await detect(conn, tenant, D19, t0 + timedelta(hours=3)) == 0
    # VIRAL's 70 on 11-20 is a new spike, but VIRAL had an alert 23 h ago
    assert await detect(conn, tenant, D20, t0 + timedelta(hours=23)) == 0
    assert await detect(conn, tenant, D20, t0 + timedelta(hours=25)) == 1
    # the 11-19 spikes are each alerted once, however late they are looked at again
    assert await detect(conn, tenant, D20, t0 + timedelta(hours=50)) == 0
    latest = (await rows(conn, ALERTS, t=tenant))[-1]
    # baseline 10-23..11-19: 27 days of 10 and the 60, mean 11.785714, sd 9.278844
    assert latest == (
        "VIRAL", "spike", D20, D(70), D("30.343402"),
        {**history, "mean": 11.785714, "sd": 9.278844}, t0 + timedelta(hours=25), None,
    )  # fmt: skip
    assert await rows(conn, ALERTS, t=other_tenant) == []
    assert await detect(conn, other_tenant, D19, t0) == 1  # its own VIRAL, however A's went


async def test_stored_scores_keep_the_day_s_momentum_and_replace_an_earlier_score(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    score = "SELECT analytics.signal_store_scores(:t, 'item_views', :d, :now)"
    await store_momentum(conn, tenant, D19, at(19))
    assert await conn.scalar(text(score), {"t": tenant, "d": D19, "now": at(19, 3)}) == 6
    assert await conn.scalar(text(score), {"t": tenant, "d": D19, "now": at(20, 3)}) == 6
    stored = await rows(
        conn,
        "SELECT series_key, momentum_index, momentum_at, window_total, active_days, engagement,"
        " growth, reach, conversion, value_score, scored_at FROM analytics.series_signal"
        " WHERE tenant_id = :t AND series_key IN ('NEW', 'VIRAL') ORDER BY series_key",
        t=tenant,
    )
    assert stored == [
        ("NEW", None, at(19), D(40), 8, D("28.57"), D("100.00"), D("16.67"), D("0.00"),
         D("44.76"), at(20, 3)),
        ("VIRAL", D("9.07"), at(19), D(330), 28, D("100.00"), D("67.86"), D("66.67"),
         D("3.64"), D("74.06"), at(20, 3)),
    ]  # fmt: skip
