"""The daily series the signals read (signal_series_<kind> and signal_daily_series), on the
hand-built warehouse of signals_data.py: exact rows, the other tenant's never among them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

pytestmark = pytest.mark.usefixtures("warehouse")
D17, D18, D19 = date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19)


async def series(
    conn: AsyncConnection, function: str, tenant: uuid.UUID, first: date, last: date, *kind: str
) -> list[tuple[Any, ...]]:
    args = ":t, :k, :a, :b" if kind else ":t, :a, :b"
    found = await conn.execute(
        text(f"SELECT * FROM analytics.{function}({args}) ORDER BY series_key, day"),  # noqa: S608
        {"t": tenant, "k": kind[0] if kind else None, "a": first, "b": last},
    )
    return [tuple(row) for row in found]


async def test_campaign_revenue_is_curated_revenue_against_the_day_s_cost(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await series(conn, "signal_series_campaign_revenue", tenant, D17, D19) == [
        ("AUTUMN", D19, D(0), D(0), D(10)),  # a cost and no revenue
        # af-1 12.5 ("summer" trimmed, upper-cased)
        ("SUMMER", D18, D("12.5"), D("12.5"), D(10)),
        # af-1 5 + af-5 4, af-2's 20 charged back to 0
        ("SUMMER", D19, D(9), D(9), D(50)),
        ("WINTER", D19, D(9), D(9), D(0)),  # no cost row
    ]


async def test_an_install_is_an_appsflyer_id_s_first_row_and_converts_when_it_pays(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await series(conn, "signal_series_campaign_installs", tenant, D17, D19) == [
        ("SUMMER", D18, D(1), D(1), D(1)),  # af-1, which bought
        ("SUMMER", D19, D(1), D(0), D(1)),  # af-2, charged back: not paying
        ("WINTER", D19, D(1), D(1), D(1)),  # af-3, first seen by its level_up event
    ]  # af-4 has no campaign; af-5 came on 10-01
    # af-1 came the day before: no install on 11-19
    assert await series(conn, "signal_series_campaign_installs", tenant, D19, D19) == [
        ("SUMMER", D19, D(1), D(0), D(1)),
        ("WINTER", D19, D(1), D(1), D(1)),
    ]


async def test_branch_revenue_reads_the_current_pulls_by_branch(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    assert await series(conn, "signal_series_branch_revenue", tenant, D17, D19) == [
        ("B1", D18, D(100), D(1), D(2)),  # s1 bought; s1 and s2 viewed
        ("B1", D19, D(50), D(1), D(0)),  # the staged 999 is no current pull's
        ("B2", D19, D(0), D(0), D(1)),
    ]  # the 30 without a branch counts nowhere


async def test_item_views_with_the_units_bought(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    assert await series(conn, "signal_series_item_views", tenant, D19, D19) == [
        ("FALLING", D19, D(12), D(0), D(12)),
        ("FLAT", D19, D(10), D(0), D(10)),
        ("GROWING", D19, D(13), D(3), D(13)),
        ("NEW", D19, D(5), D(0), D(5)),
        ("ORPHAN", D19, D(0), D(4), D(0)),
        ("RISING", D19, D(18), D(0), D(18)),
        ("VIRAL", D19, D(60), D(12), D(60)),
    ]


async def test_daily_series_fill_every_day_and_leave_out_series_without_a_value(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    found = await series(conn, "signal_daily_series", tenant, D17, D19, "campaign_revenue")
    assert found == [
        ("SUMMER", D17, D(0), D(0), D(0)),
        ("SUMMER", D18, D("12.5"), D("12.5"), D(10)),
        ("SUMMER", D19, D(9), D(9), D(50)),
        ("WINTER", D17, D(0), D(0), D(0)),
        ("WINTER", D18, D(0), D(0), D(0)),
        ("WINTER", D19, D(9), D(9), D(0)),
    ]  # AUTUMN's value is 0 every day
    items = await series(conn, "signal_daily_series", tenant, D19, D19, "item_views")
    assert [row[0] for row in items] == ["FALLING", "FLAT", "GROWING", "NEW", "RISING", "VIRAL"]


async def test_without_conversion_the_series_carry_their_values_only(
    conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    found = {}
    for kind in ("campaign_revenue", "campaign_installs", "branch_revenue", "item_views"):
        rows = await conn.execute(
            text(
                "SELECT series_key, day, value, converted, base"
                " FROM analytics.signal_daily_series(:t, :k, :a, :b, false)"
                " WHERE value <> 0 OR converted <> 0 OR base <> 0 ORDER BY series_key, day"
            ),
            {"t": tenant, "k": kind, "a": D18, "b": D19},
        )
        found[kind] = [tuple(row) for row in rows]
    assert found == {
        "campaign_revenue": [("SUMMER", D18, D("12.5"), D(0), D(0)),
                             ("SUMMER", D19, D(9), D(0), D(0)), ("WINTER", D19, D(9), D(0), D(0))],
        "campaign_installs": [("SUMMER", D18, D(1), D(0), D(0)), ("SUMMER", D19, D(1), D(0), D(0)),
                              ("WINTER", D19, D(1), D(0), D(0))],
        "branch_revenue": [("B1", D18, D(100), D(0), D(0)), ("B1", D19, D(50), D(0), D(0))],
        "item_views": [(item, day, D(n), D(0), D(0)) for item, day, n in [
            ("FALLING", D18, 13), ("FALLING", D19, 12), ("FLAT", D18, 10), ("FLAT", D19, 10),
            ("GROWING", D18, 12), ("GROWING", D19, 13), ("NEW", D18, 5), ("NEW", D19, 5),
            ("RISING", D18, 15), ("RISING", D19, 18), ("VIRAL", D18, 10), ("VIRAL", D19, 60)]],
    }  # fmt: skip


async def test_the_other_tenant_s_series_are_its_own(
    conn: AsyncConnection, other_tenant: uuid.UUID
) -> None:
    assert await series(conn, "signal_daily_series", other_tenant, D19, D19, "item_views") == [
        ("FLAT", D19, D(100), D(0), D(100)),
        ("VIRAL", D19, D(500), D(0), D(500)),
    ]
    for kind in ("campaign_revenue", "campaign_installs", "branch_revenue"):
        assert await series(conn, "signal_daily_series", other_tenant, D17, D19, kind) == []


@pytest.mark.parametrize(
    ("kind", "first", "last", "message"),
    [
        ("offer_ev", D17, D19, "unknown series kind: offer_ev"),
        ("item_views", D19, D17, "a series spans 1 to 401 days"),
        ("item_views", date(2025, 1, 1), D19, "a series spans 1 to 401 days"),
    ],
)
async def test_an_unknown_kind_or_bad_bounds_are_refused(
    conn: AsyncConnection, tenant: uuid.UUID, kind: str, first: date, last: date, message: str
) -> None:
    nested = await conn.begin_nested()
    with pytest.raises(DBAPIError, match=message):
        await series(conn, "signal_daily_series", tenant, first, last, kind)
    await nested.rollback()
