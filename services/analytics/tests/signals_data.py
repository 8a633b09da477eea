"""A small warehouse of daily series worked by hand, for the momentum, score and spike tests.

Tenant A's item views, one value per day from 2026-10-21 to 2026-11-19 (a Thursday; the
28-day window of 11-19 starts 10-23), oldest first:

  FLAT     10 every day                                   stable, no spike
  VIRAL    10 every day, 60 on 11-19 (and 70 on 11-20)    stable on 11-18, viral on 11-19
  FALLING  20 to 11-05, 16 a day to 11-12, 13 to 11-18, 12 declining
  GROWING  9, 11 alternating to 11-05, then 10, 12 to 11-12, then 11 12 11 13 12 12 13
  RISING   8, 12 alternating to 11-05, then 11, 13 to 11-12, then 14 16 15 13 17 15 18
  NEW      5 a day from 11-12                              insufficient_data
  units bought (purchase items): GROWING 2 on 11-15 and 3 on 11-19, VIRAL 12 on 11-19,
  ORPHAN 4 on 11-19 (never viewed: no item-view series)

Tenant A's marketing rows (purchase_raw, cost_daily), for campaign revenue and installs:
  af-1 11-18 10:00 purchase 12.5 " summer "   af-1 11-19 09:00 purchase 5 Summer
  af-2 11-19 11:00 purchase 20 Summer r-2, charged back at 15:00 (revenue 0, not paying)
  af-3 11-19 12:00 level_up Winter, then 12:30 purchase 9 Winter (installed by the event)
  af-4 11-17 08:00 purchase 7, no campaign     af-5 10-01 purchase 3 Summer, 11-19 4 Summer
  costs: SUMMER 11-18 10, 11-19 50; AUTUMN 11-19 10 (no revenue at all)
Tenant A's GA4 purchases and page views, for branch revenue:
  11-18 B1: s1 views and buys 100, s2 views;  11-19 B1: s3 buys 50 (no view);
  11-19 B2: s4 views; a purchase of 30 without a branch; a staged (not current) 999 at B1

Tenant B has item views FLAT 100 a day and VIRAL 10 a day with 500 on 11-19, under the same
item ids as A's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sales_data import Row, add_pulls
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service import models

FIRST, AS_OF = date(2026, 10, 21), date(2026, 11, 19)
UPLOAD = uuid.UUID("5e0b0c1d-2a3b-4c5d-8e9f-0a1b2c3d4e5f")


def _days(*runs: tuple[list[int], int]) -> list[int]:
    return [value for values, times in runs for value in values * times]


ITEM_VIEWS: dict[str, list[int]] = {
    "FLAT": [10] * 30,
    "VIRAL": [10] * 29 + [60],
    "FALLING": _days(([20], 16), ([16], 7), ([13], 6), ([12], 1)),
    "GROWING": _days(([9, 11], 8), ([10, 12], 3), ([10], 1), ([11, 12, 11, 13, 12, 12, 13], 1)),
    "RISING": _days(([8, 12], 8), ([11, 13], 3), ([11], 1), ([14, 16, 15, 13, 17, 15, 18], 1)),
    "NEW": [0] * 22 + [5] * 8,
}
UNITS_BOUGHT = [("GROWING", "2026-11-15", 2), ("GROWING", "2026-11-19", 3),
                ("VIRAL", "2026-11-19", 12), ("ORPHAN", "2026-11-19", 4)]  # fmt: skip
OTHER_ITEM_VIEWS = {"FLAT": [100] * 30, "VIRAL": [10] * 29 + [500]}


def _keys(at: str, session: str | None, branch: str | None) -> dict[str, Any]:
    return {
        "event_time": datetime.fromisoformat(f"{at}+00:00"),
        "session_id": session,
        "web_user_id": "u1",
        "branch_id": branch,
    }


def viewed(day: str, item: str, n: int) -> Row:
    return "view_item", {**_keys(f"{day}T10:00", f"s-{item}", "B1"), "item_id": item,
                         "item_name": item.title(), "items_viewed": n}  # fmt: skip


def bought(day: str, item: str, n: int) -> Row:
    return "purchase_item", {**_keys(f"{day}T11:00", f"s-{item}", "B1"), "transaction_id":
                             f"T-{item}-{day}", "item_id": item, "item_name": item.title(),
                             "item_revenue": "1", "items_purchased": n}  # fmt: skip


def page(at: str, session: str, branch: str) -> Row:
    return "page_view", {**_keys(at, session, branch), "page_location": "https://shop.test/",
                         "page_title": "Home", "screen_page_views": 1}  # fmt: skip


def purchase(at: str, session: str, branch: str | None, revenue: str) -> Row:
    return "purchase", {**_keys(at, session, branch), "transaction_id": f"T-{session}",
                        "page_location": "https://shop.test/checkout",
                        "purchase_revenue": revenue, "ecommerce_purchases": 1}  # fmt: skip


def item_rows(views: dict[str, list[int]]) -> list[Row]:
    return [
        viewed((FIRST + timedelta(days=n)).isoformat(), item, value)
        for item, values in views.items()
        for n, value in enumerate(values)
        if value
    ]


BRANCH_ROWS: list[Row] = [
    page("2026-11-18T09:00", "s1", "B1"),
    purchase("2026-11-18T09:05", "s1", "B1", "100"),
    page("2026-11-18T09:30", "s2", "B1"),
    purchase("2026-11-19T10:00", "s3", "B1", "50"),
    page("2026-11-19T10:30", "s4", "B2"),
    purchase("2026-11-19T11:00", "s5", None, "30"),
]
STAGED_ROWS: list[Row] = [purchase("2026-11-19T12:00", "s6", "B1", "999")]


def _raw(
    tenant: uuid.UUID, line: int, af: str, at: str, name: str, revenue: str, campaign: str | None,
    receipt: str | None = None, status: str = "success",
) -> dict[str, Any]:  # fmt: skip
    return {
        "tenant_id": tenant, "event_time_utc": datetime.fromisoformat(f"{at}+00:00"),
        "fact_id": uuid.uuid4(), "upload_id": UPLOAD, "line": line, "appsflyer_id": af,
        "event_name": name, "revenue_usd": Decimal(revenue), "campaign": campaign,
        "receipt_id": receipt, "status": status,
    }  # fmt: skip


def marketing_rows(tenant: uuid.UUID) -> list[dict[str, Any]]:
    rows = [
        ("af-1", "2026-11-18T10:00", "purchase", "12.5", " summer "),
        ("af-1", "2026-11-19T09:00", "purchase", "5", "Summer"),
        ("af-2", "2026-11-19T11:00", "purchase", "20", "Summer", "r-2"),
        ("af-2", "2026-11-19T15:00", "purchase", "20", "Summer", "r-2", "chargeback"),
        ("af-3", "2026-11-19T12:00", "level_up", "0", "Winter"),
        ("af-3", "2026-11-19T12:30", "purchase", "9", "Winter"),
        ("af-4", "2026-11-17T08:00", "purchase", "7", ""),
        ("af-5", "2026-10-01T08:00", "purchase", "3", "Summer"),
        ("af-5", "2026-11-19T08:00", "purchase", "4", "Summer"),
    ]
    return [_raw(tenant, line, *row) for line, row in enumerate(rows, start=2)]


COSTS = [("2026-11-18", "Summer", "10"), ("2026-11-19", "SUMMER ", "50"),
         ("2026-11-19", "Autumn", "10")]  # fmt: skip


async def load(conn: AsyncConnection, tenant: uuid.UUID, other: uuid.UUID) -> None:
    """Both tenants' rows, in the test's transaction."""
    units = [bought(day, item, n) for item, day, n in UNITS_BOUGHT]
    await add_pulls(conn, tenant, [*item_rows(ITEM_VIEWS), *units, *BRANCH_ROWS])
    await add_pulls(conn, tenant, STAGED_ROWS, current=False)
    await add_pulls(conn, other, item_rows(OTHER_ITEM_VIEWS))
    await conn.execute(insert(models.purchase_raw).values(marketing_rows(tenant)))
    costs = [
        {"tenant_id": tenant, "cost_date": date.fromisoformat(day), "fact_id": uuid.uuid4(),
         "upload_id": UPLOAD, "line": line, "campaign": campaign, "ad_cost_usd": Decimal(cost)}
        for line, (day, campaign, cost) in enumerate(COSTS, start=2)
    ]  # fmt: skip
    await conn.execute(insert(models.cost_daily).values(costs))


async def add_day(
    conn: AsyncConnection, tenant: uuid.UUID, day: str, views: dict[str, int]
) -> None:
    """One more day of item views (a pull of its own)."""
    await add_pulls(conn, tenant, [viewed(day, item, n) for item, n in views.items()])


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment of November 2026 (UTC)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)
