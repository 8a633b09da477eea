"""The daily branch report from the sales data set (sales_data.py), worked by hand: its plain
text whole, its HTML's content and safety, and GET /analytics/email/preview."""

from __future__ import annotations

import re
import uuid
from datetime import date

import httpx
import pytest

from analytics_service.reports import report
from analytics_testing import Caller, Callers
from common.db import Database

pytestmark = pytest.mark.usefixtures("warehouse")

# 2026-11-18 at B2: s4 (u2, checkout only: a bounce, buys T2) and s6 (u1, 4 pages, searches
# "drill" twice and buys T5: no search task); no cart left, no repeat visit within the day.
B2_TEXT = """Daily Branch Sales Report
2026-11-18 - Branch B2 (South)

Revenue: 95.25
Purchases: 2
Visitors: 2
Unique users: 2
Conversion: 100.00%
Abandoned carts: 0
Searches: 2 (0 failed)
Repeat visits: 0

Last 14 days (revenue, purchases, visitors):
- 2026-11-05: 0.00, 0, 0
- 2026-11-06: 0.00, 0, 0
- 2026-11-07: 0.00, 0, 0
- 2026-11-08: 0.00, 0, 0
- 2026-11-09: 0.00, 0, 0
- 2026-11-10: 0.00, 0, 0
- 2026-11-11: 0.00, 0, 0
- 2026-11-12: 0.00, 0, 0
- 2026-11-13: 0.00, 0, 0
- 2026-11-14: 0.00, 0, 0
- 2026-11-15: 0.00, 0, 0
- 2026-11-16: 0.00, 0, 1
- 2026-11-17: 0.00, 0, 1
- 2026-11-18: 95.25, 2, 2

Top failed searches:
- none

Top bounced pages:
- https://shop.test/checkout: 1

Purchases to follow up (2):
- Customer: Bolt & Co | Contact: orders@bolt.test / +1 555 0200 | Transaction: T2 | Order value: 80.00 | Products: Cable x1
- Customer: Acme Supply | Contact: buyer@acme.test / +1 555 0101 | Transaction: T5 | Order value: 15.25 | Products: Drill bits x5

Abandoned carts (0):
- none

Searches without results or purchase (0):
- none

Repeat visits (0):
- none

Bounced visits (1):
- Customer: Bolt & Co | Contact: orders@bolt.test / +1 555 0200 | Page: https://shop.test/checkout | Views: 1

Unsubscribe from these reports: https://reports.example.com/u?s=1
"""  # noqa: E501


async def build(database: Database, tenant: uuid.UUID, day: str, branch: str) -> report.Report:
    async with database.sessionmaker() as session:
        return await report.build(session, tenant, date.fromisoformat(day), branch)


async def test_the_plain_text_part_is_the_days_report_of_the_branch(
    database: Database, tenant: uuid.UUID
) -> None:
    built = await build(database, tenant, "2026-11-18", "B2")
    assert built.subject == "Daily Branch Sales Report - 2026-11-18 - B2"
    assert report.render(built, "https://reports.example.com/u?s=1")[1] == B2_TEXT
    assert built.is_empty is False


async def test_failed_searches_rank_by_count_and_searches_without_purchase_are_listed(
    database: Database, tenant: uuid.UUID
) -> None:
    b2 = await build(database, tenant, "2026-11-17", "B2")
    assert b2.top_searches == [("widgets", 2), ("gizmo", 1)]
    b1 = await build(database, tenant, "2026-11-17", "B1")
    assert b1.top_searches == []
    text = report.render(b1)[1]
    assert (
        "Searches without results or purchase (1):\n- Customer: Acme Supply | Contact: "
        "buyer@acme.test / +1 555 0101 | Type: no conversion | Terms: anchors, bolts | "
        "Searches: 3\n" in text
    )
    assert "Unsubscribe" not in text


async def test_the_chart_is_the_branchs_revenue_of_the_last_two_weeks(
    database: Database, tenant: uuid.UUID
) -> None:
    """B1 over 11-05..11-18: T1 120.50 on the 16th, nothing bought on the 17th and 18th (the
    other tenant's T9 at its B1 on the 17th never counts)."""
    built = await build(database, tenant, "2026-11-18", "B1")
    assert [(p["date"], p["revenue"], p["purchases"], p["visitors"]) for p in built.trend][-3:] == [
        ("2026-11-16", 120.5, 1, 1),
        ("2026-11-17", 0, 0, 1),
        ("2026-11-18", 0, 0, 2),
    ]
    assert report.bars(built.trend) == [
        *[(f"{d:02d}", 1, "0.00") for d in range(5, 16)],
        ("16", 60, "120.50"),
        ("17", 1, "0.00"),
        ("18", 1, "0.00"),
    ]
    assert report.bars(
        [{"date": "2026-11-01", "revenue": 30}, {"date": "2026-11-02", "revenue": 12}]
    ) == [
        ("01", 60, "30.00"),
        ("02", 24, "12.00"),
    ]
    html = report.render(built)[0]
    assert html.count('height="1"') == 13 and html.count('height="60"') == 1
    assert (
        '<h2 style="margin:0 0 6px;font-size:16px;color:#1f2933;">Revenue, last 14 days</h2>'
        in html
    )


async def test_a_day_without_activity_is_empty(database: Database, tenant: uuid.UUID) -> None:
    built = await build(database, tenant, "2026-11-18", "B4")
    assert (built.is_empty, built.branch_name, built.metrics["visitors"]) == (True, "Quiet", 0)


async def test_the_html_part_escapes_and_sets_its_own_light_colours(
    database: Database, tenant: uuid.UUID
) -> None:
    built = await build(database, tenant, "2026-11-18", "B2")
    html = report.render(built, "https://reports.example.com/u?s=1&t=2")[0]
    assert "<td" in html and "<div" not in html.split("<body")[0]
    assert "Bolt &amp; Co" in html and "Bolt & Co" not in html
    assert 'href="https://reports.example.com/u?s=1&amp;t=2"' in html
    assert '<meta name="color-scheme" content="light">' in html
    # every cell paints its own background and text colour (dark mode keeps them readable)
    cells = re.findall(r"<t[dh] [^>]*>", html)
    # layout 11, metrics 8, chart 1 + 14 days x 2, one top page 2, purchases 5 + 2 x 5, one
    # bounce 4 + 4
    assert len(cells) == 11 + 8 + 29 + 2 + 15 + 8
    for cell in cells:
        assert re.search(r'bgcolor="#[0-9a-f]{6}"', cell), cell
        assert re.search(r"background-color:#[0-9a-f]{6};color:#[0-9a-f]{6}", cell), cell


async def test_preview_is_the_reports_html_for_viewers_of_the_tenant_only(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    viewer = callers.user(tenant, "viewer")
    params = {"report_date": "2026-11-17", "branch_code": "B1"}
    mine = await client.get("/analytics/email/preview", params=params, headers=viewer.headers)
    assert (mine.status_code, mine.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert "<title>Daily Branch Sales Report - 2026-11-17 - B1</title>" in mine.text
    assert "Acme Supply" in mine.text and "Other Co" not in mine.text

    theirs = callers.user(other_tenant, "viewer")
    other = await client.get("/analytics/email/preview", params=params, headers=theirs.headers)
    assert "Other Co" in other.text and "Acme Supply" not in other.text
    assert "T9" in other.text and "T9" not in mine.text


@pytest.mark.parametrize(
    "params",
    [
        {"branch_code": "B1"},
        {"report_date": "2026-11-17"},
        {"report_date": "2026-13-01", "branch_code": "B1"},
        {"report_date": "1999-12-31", "branch_code": "B1"},
        {"report_date": "2026-11-17", "branch_code": ""},
        {"report_date": "2026-11-17", "branch_code": "B1", "extra": "1"},
    ],
)
async def test_bad_preview_parameters_are_422_problems(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, params: dict[str, str]
) -> None:
    viewer: Caller = callers.user(tenant, "viewer")
    response = await client.get("/analytics/email/preview", params=params, headers=viewer.headers)
    assert (response.status_code, response.headers["content-type"]) == (
        422, "application/problem+json"
    )  # fmt: skip
