"""The weekly summary of a branch, worked by hand from the sales data set (sales_data.py: the
week of Monday 2026-11-16) and a week before it added here: ``analytics.weekly_summary``, the
email's plain text whole, its sending to a real SMTP server, and its preview."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from sales_data import Row, add_pulls, bought, page, purchase, searched
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_testing import Caller, Callers
from reports_testing import MailServer, SendJob

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
BASE = "/analytics/email"
NORTH, BOSS, SOUTH, QUIET = (f"{n}@shop.example.com" for n in ("north", "boss", "south", "quiet"))


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


B2_TEXT = """Weekly Branch Sales Summary
2026-11-16 to 2026-11-22 - Branch B2 (South)

Against the week before:
- Revenue: 95.25 | week before: 50.00 | change: +45.25 (+90.5%)
- Purchases: 2 | week before: 1 | change: +1 (+100.0%)
- Visitors: 4 | week before: 1 | change: +3 (+300.0%)
- Unique users: 2 | week before: 1 | change: +1 (+100.0%)
- Conversion: 50.00% | week before: 100.00% | change: -50.00 points
- Abandoned carts: 1 | week before: 0 | change: +1 (none the week before)
- Searches: 5 | week before: 1 | change: +4 (+400.0%)
- Failed searches: 3 | week before: 1 | change: +2 (+200.0%)
- Repeat visits: 0 | week before: 0 | change: no change

By day:
- Mon 2026-11-16: revenue 0.00, purchases 0, visitors 1
- Tue 2026-11-17: revenue 0.00, purchases 0, visitors 1
- Wed 2026-11-18: revenue 95.25, purchases 2, visitors 2
- Thu 2026-11-19: revenue 0.00, purchases 0, visitors 0
- Fri 2026-11-20: revenue 0.00, purchases 0, visitors 0
- Sat 2026-11-21: revenue 0.00, purchases 0, visitors 0
- Sun 2026-11-22: revenue 0.00, purchases 0, visitors 0

Top items bought:
- Cable (C) x1: 80.00
- Drill bits (D) x5: 15.25

Top failed searches:
- widgets: 2
- gizmo: 1

Top bounced pages:
- https://shop.test/checkout: 1
- https://shop.test/home: 1

Unsubscribe from these reports: {link}
"""


@pytest.fixture
async def mappings(client: httpx.AsyncClient, admin: Caller) -> None:
    for branch, recipients in [("B1", [NORTH, BOSS]), ("B2", [SOUTH]), ("B4", [QUIET])]:
        body = {"branch_code": branch, "recipients": recipients}
        response = await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text


@pytest.mark.usefixtures("smtp_set", "mappings")
async def test_the_weekly_summary_reaches_each_recipient_and_a_quiet_branch_is_skipped(
    client: httpx.AsyncClient, admin: Caller, send_job: SendJob, mail_server: MailServer
) -> None:
    body = {"kind": "weekly_summary", "report_date": "2026-11-16"}
    response = await client.post(f"{BASE}/send-reports", json=body, headers=admin.headers)
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["kind"], job["report_date"], job["skip_when_empty"]) == (
        "weekly_summary", "2026-11-16", True
    )  # fmt: skip
    assert await send_job(job) == "completed"

    subject = "Weekly Branch Sales Summary - 2026-11-16 to 2026-11-22 - {}"
    assert sorted((r.recipients, r.message["Subject"]) for r in mail_server.received) == [
        ([BOSS], subject.format("B1")), ([NORTH], subject.format("B1")),
        ([SOUTH], subject.format("B2")),
    ]  # fmt: skip
    (south,) = mail_server.to(SOUTH)
    link = south["List-Unsubscribe"].strip("<>")
    plain_part, html_part = south.get_body(("plain",)), south.get_body(("html",))
    assert plain_part is not None and html_part is not None
    assert plain_part.get_content().replace("\r\n", "\n") == B2_TEXT.format(link=link)
    html = html_part.get_content()
    assert f"<title>{subject.format('B2')}</title>" in html
    assert ">Drill bits (D)</td>" in html and ">+45.25 (+90.5%)</td>" in html

    job = (await client.get(f"{BASE}/jobs/{job['id']}", headers=admin.headers)).json()
    assert (job["status"], job["sent"], job["failed"], job["skipped"]) == ("completed", 3, 0, 1)
    rows = (await client.get(f"{BASE}/history", headers=admin.headers)).json()["data"]
    assert sorted((r["recipient"], r["status"], r["subject"], r["error"]) for r in rows) == [
        (BOSS, "sent", subject.format("B1"), None), (NORTH, "sent", subject.format("B1"), None),
        (QUIET, "skipped", subject.format("B4"),
         "no activity at branch B4 from 2026-11-16 to 2026-11-22"),
        (SOUTH, "sent", subject.format("B2"), None),
    ]  # fmt: skip


async def test_the_weekly_preview_is_the_summarys_html(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    params = {"kind": "weekly_summary", "report_date": "2026-11-16", "branch_code": "B1"}
    mine = await client.get(
        f"{BASE}/preview", params=params, headers=callers.user(tenant, "viewer").headers
    )
    assert (mine.status_code, mine.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert ">Anchor bolt (A)</td>" in mine.text and "Unsubscribe" not in mine.text
    assert "2026-11-16 to 2026-11-22 &middot; Branch B1 (North)" in mine.text
    theirs = await client.get(
        f"{BASE}/preview", params=params, headers=callers.user(other_tenant, "viewer").headers
    )
    assert "Branch B1 (Elsewhere)" in theirs.text and "Bracket" not in theirs.text


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "weekly_summary", "report_date": "2026-11-17", "branch_code": "B1"},
        {"kind": "monthly", "report_date": "2026-11-16", "branch_code": "B1"},
        {"kind": "", "report_date": "2026-11-16", "branch_code": "B1"},
    ],
)
async def test_bad_weekly_previews_are_422_problems(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, params: dict[str, str]
) -> None:
    viewer = callers.user(tenant, "viewer")
    response = await client.get(f"{BASE}/preview", params=params, headers=viewer.headers)
    assert (response.status_code, response.headers["content-type"]) == (
        422, "application/problem+json"
    )  # fmt: skip
