"""The weekly summary of a branch, worked by hand from the sales data set (sales_data.py: the
week of Monday 2026-11-16) and a week before it added here: ``analytics.weekly_summary``."""

from __future__ import annotations

import json
import uuid

import pytest
from sales_data import Row, add_pulls, bought, page, purchase, searched
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

pytestmark = pytest.mark.usefixtures("warehouse", "week_before")

# The week before (2026-11-09 to 15) at B2: one visit that buys P1 (Cable x2, 50), a failed
# search; at B1: a visit of three pages.
WEEK_BEFORE: list[Row] = [
    page("2026-11-10T09:00", "p1", "u2", "B2", "home"),
    searched("2026-11-10T09:01", "p1", "u2", "B2", "widgets", 1, failed=True),
    purchase("2026-11-10T09:05", "p1", "u2", "B2", "P1", "50", "checkout"),
    bought("2026-11-10T09:05", "p1", "u2", "B2", "P1", "C", 2, "50"),
    page("2026-11-15T18:00", "p2", "u1", "B1", "home"),
    page("2026-11-15T18:01", "p2", "u1", "B1", "product-a"),
    page("2026-11-15T18:02", "p2", "u1", "B1", "cart"),
]
QUIET_DAY = {"revenue": 0, "purchases": 0, "visitors": 0}


@pytest.fixture
async def week_before(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    await add_pulls(conn, tenant, WEEK_BEFORE)


async def summary(conn: AsyncConnection, tenant: uuid.UUID, branch: str | None) -> dict:
    answer = await conn.scalar(
        text("SELECT analytics.weekly_summary(:t, :b, DATE '2026-11-16')"),
        {"t": tenant, "b": branch},
    )
    decoded: dict = json.loads(answer) if isinstance(answer, str) else answer
    return decoded


async def test_the_weekly_summary_of_a_branch(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    # B2 this week: s7 (11-16, 3 pages, a cart left), s3 (11-17, one page, failed searches
    # widgets x2 and gizmo), s4 (11-18, checkout only, buys T2: Cable 80) and s6 (11-18, 4
    # pages, searches drill x2, buys T5: Drill bits x5 15.25); T3 of s7 is only staged.
    assert await summary(conn, tenant, "B2") == {
        "week_start": "2026-11-16",
        "week_end": "2026-11-22",
        "metrics": {
            "total_revenue": 95.25, "purchases": 2, "visitors": 4, "unique_users": 2,
            "abandoned_carts": 1, "searches": 5, "failed_searches": 3, "repeat_visits": 0,
            "conversion_rate": 50.00,
        },
        "days": [
            {"date": "2026-11-16", "revenue": 0, "purchases": 0, "visitors": 1},
            {"date": "2026-11-17", "revenue": 0, "purchases": 0, "visitors": 1},
            {"date": "2026-11-18", "revenue": 95.25, "purchases": 2, "visitors": 2},
            *({"date": f"2026-11-{d}", **QUIET_DAY} for d in range(19, 23)),
        ],
        "location": {
            "location_id": "B2", "location_name": "South", "city": "Nice", "state": "PACA",
            "revenue": 95.25, "purchases": 2, "visitors": 4, "unique_users": 2,
            "conversion_rate": 50.00,
        },
        "previous_metrics": {
            "total_revenue": 50, "purchases": 1, "visitors": 1, "unique_users": 1,
            "abandoned_carts": 0, "searches": 1, "failed_searches": 1, "repeat_visits": 0,
            "conversion_rate": 100.00,
        },
        "top_items": [
            {"item_id": "C", "item_name": "Cable", "quantity": 1, "revenue": 80},
            {"item_id": "D", "item_name": "Drill bits", "quantity": 5, "revenue": 15.25},
        ],
        "top_searches": [
            {"search_term": "widgets", "searches": 2}, {"search_term": "gizmo", "searches": 1},
        ],
        "top_pages": [
            {"page_location": "https://shop.test/checkout", "bounces": 1},
            {"page_location": "https://shop.test/home", "bounces": 1},
        ],
    }  # fmt: skip


async def test_a_week_of_one_branch_counts_nothing_of_the_others(
    conn: AsyncConnection, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    b1 = await summary(conn, tenant, "B1")
    # s1 (11-16, buys T1 120.50: Anchor bolt x2 100.50, Bracket 20), s2 (11-17, cart left),
    # s5 (11-18, cart left, no user), s8 (11-18, one page, no user); u1's s1 and s2 are two
    # visits of three pages: two repeat visits.
    assert b1["metrics"] == {
        "total_revenue": 120.50, "purchases": 1, "visitors": 4, "unique_users": 2,
        "abandoned_carts": 2, "searches": 6, "failed_searches": 0, "repeat_visits": 2,
        "conversion_rate": 25.00,
    }  # fmt: skip
    assert b1["previous_metrics"]["visitors"] == 1
    assert b1["top_items"] == [
        {"item_id": "A", "item_name": "Anchor bolt", "quantity": 2, "revenue": 100.50},
        {"item_id": "B", "item_name": "Bracket", "quantity": 1, "revenue": 20},
    ]
    assert (b1["top_searches"], b1["location"]["location_name"]) == ([], "North")
    quiet = await summary(conn, tenant, "B4")
    assert (quiet["metrics"]["visitors"], quiet["top_items"], quiet["location"]["city"]) == (
        0, [], "Metz"
    )  # fmt: skip
    theirs = await summary(conn, other_tenant, "B1")
    assert (theirs["metrics"]["total_revenue"], theirs["top_items"]) == (
        50, [{"item_id": "A", "item_name": "Anchor bolt", "quantity": 1, "revenue": 50}]
    )  # fmt: skip
