"""The dashboard from its rollups, which ga4_complete_pull keeps as pulls become current: a day
pulled again changes it exactly, a stale pull leaves it, another tenant's rows never count, and
what the daily rollups cannot add up (sessions and transactions over several days, several
connections) comes out as the rows give it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import httpx
import sales_data
from ga4_testing import Pull, send
from sales_data import Row, cart, page, purchase, searched
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service import models
from analytics_testing import Callers

BRANCHES = {"B1": ("North", "Lyon", "ARA", True), "B2": ("South", "Nice", "PACA", True)}
FIRST, LATER = "2026-11-19T05:15:00Z", "2026-11-20T05:15:00Z"
SECOND_CONNECTION = uuid.UUID("0c0c0c0c-1111-4222-8333-666666666666")


def pulls(
    tenant: uuid.UUID, rows: list[Row], pulled_at: str = FIRST, connection: Any = None
) -> list[dict[str, Any]]:
    """The facts of one pull per (data type, day) of the rows."""
    by_day: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for kind, fields in rows:
        by_day[(kind, fields["event_time"].date().isoformat())].append(fields)
    extra = {"connection": connection} if connection else {}
    return [
        fact
        for (kind, day), fields in by_day.items()
        for fact in Pull(tenant, fields, pulled_at=pulled_at, data_type=models.GA4_KINDS[kind][0],
                         fact_kind=kind, day=day, **extra).facts
    ]  # fmt: skip


async def stats(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, **params: Any
) -> Any:
    response = await client.get(
        "/analytics/stats", params=params, headers=callers.user(tenant, "viewer").headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def metrics(revenue: float, purchases: int, visitors: int, users: int, **rest: Any) -> Any:
    numbers = {"abandoned_carts": 0, "searches": 0, "failed_searches": 0, "repeat_visits": 0,
               "conversion_rate": 0.0, **rest}  # fmt: skip
    return {"total_revenue": revenue, "purchases": purchases, "visitors": visitors,
            "unique_users": users, **numbers}  # fmt: skip


def point(day: str, revenue: float, purchases: int, visitors: int) -> dict[str, Any]:
    return {"date": day, "revenue": revenue, "purchases": purchases, "visitors": visitors}


def location(branch_id: str, numbers: tuple[float, int, int, int, float]) -> dict[str, Any]:
    name, city, state, _ = BRANCHES[branch_id]
    revenue, purchases, visitors, users, rate = numbers
    return {"location_id": branch_id, "location_name": name, "city": city, "state": state,
            "revenue": revenue, "purchases": purchases, "visitors": visitors,
            "unique_users": users, "conversion_rate": rate}  # fmt: skip


# A day pulled twice: s2 is gone from the second pull, s4 and the purchase T2 are new.
PULLED: list[Row] = [
    *(page(f"2026-11-18T10:0{n}", "s1", "u1", "B1", path) for n, path in enumerate("hab")),
    *(page(f"2026-11-18T11:0{n}", "s2", "u1", "B1", path) for n, path in enumerate("hac")),
    page("2026-11-18T12:00", "s3", "u2", "B2", "home"),
    purchase("2026-11-18T10:30", "s1", "u1", "B1", "T1", "100", "checkout"),
    searched("2026-11-18T10:01", "s1", "u1", "B1", "bolts", 2),
]
PULLED_AGAIN: list[Row] = [
    *(row for row in PULLED if row[1]["session_id"] != "s2"),
    page("2026-11-18T13:00", "s4", "u3", "B2", "home"),
    purchase("2026-11-18T12:05", "s3", "u2", "B2", "T2", "20.50", "checkout"),
    searched("2026-11-18T13:01", "s4", "u3", "B2", "nails", 1, failed=True),
]
FIRST_ANSWER = {
    "metrics": metrics(100.0, 1, 3, 2, searches=2, repeat_visits=2, conversion_rate=33.33),
    "chartData": [point("2026-11-18", 100.0, 1, 3)],
    "locationStats": [location("B1", (100.0, 1, 2, 1, 50.0)), location("B2", (0.0, 0, 1, 1, 0.0))],
}
SECOND_ANSWER = {
    "metrics": metrics(120.5, 2, 3, 3, searches=3, failed_searches=1, conversion_rate=66.67),
    "chartData": [point("2026-11-18", 120.5, 2, 3)],
    "locationStats": [location("B1", (100.0, 1, 1, 1, 100.0)),
                      location("B2", (20.5, 1, 2, 2, 50.0))],
}  # fmt: skip


async def test_a_day_pulled_again_changes_the_dashboard_exactly(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    await sales_data.add_records(conn, tenant, {}, BRANCHES)
    await send(client, callers, pulls(tenant, PULLED))
    assert await stats(client, callers, tenant) == FIRST_ANSWER
    await send(client, callers, pulls(tenant, PULLED_AGAIN, LATER))
    assert await stats(client, callers, tenant) == SECOND_ANSWER


async def test_a_stale_pull_leaves_the_dashboard(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    await sales_data.add_records(conn, tenant, {}, BRANCHES)
    await send(client, callers, pulls(tenant, PULLED_AGAIN, LATER))
    await send(client, callers, pulls(tenant, PULLED))  # pulled earlier, whole later: stale
    assert await stats(client, callers, tenant) == SECOND_ANSWER


async def test_another_tenants_rows_never_count(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    other = uuid.uuid4()
    await sales_data.add_records(conn, tenant, {}, BRANCHES)
    await send(client, callers, pulls(tenant, PULLED_AGAIN, LATER))
    await send(client, callers, pulls(other, PULLED))  # the same days, sessions, users, branches
    assert await stats(client, callers, tenant) == SECOND_ANSWER
    assert await stats(client, callers, other) == {**FIRST_ANSWER, "locationStats": []}


# s1 runs over midnight: two pages on the 17th, a third on the 18th.
OVER_MIDNIGHT: list[Row] = [
    page("2026-11-17T23:50", "s1", "u1", "B1", "home"),
    page("2026-11-17T23:55", "s1", "u1", "B1", "a"),
    page("2026-11-18T00:05", "s1", "u1", "B1", "b"),
    *(page(f"2026-11-18T10:0{n}", "s2", "u1", "B1", path) for n, path in enumerate("hab")),
]


async def test_a_session_over_midnight_is_one_visitor_and_one_visit(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    await sales_data.add_records(conn, tenant, {}, BRANCHES)
    await send(client, callers, pulls(tenant, OVER_MIDNIGHT))
    answer = await stats(client, callers, tenant)
    assert answer["metrics"] == metrics(0.0, 0, 2, 1, repeat_visits=2)
    assert answer["chartData"] == [point("2026-11-17", 0.0, 0, 1), point("2026-11-18", 0.0, 0, 2)]
    assert answer["locationStats"] == [location("B1", (0.0, 0, 2, 1, 0.0)),
                                       location("B2", (0.0, 0, 0, 0, 0.0))]  # fmt: skip
    weekly = await stats(client, callers, tenant, granularity="week", location_id="B1")
    assert weekly["chartData"] == [point("2026-11-16", 0.0, 0, 2)]
    assert weekly["metrics"] == metrics(0.0, 0, 2, 1, repeat_visits=2)
    # on the 18th alone s1 saw one page: no visit, and u1 has one visit left
    late = await stats(client, callers, tenant, start_date="2026-11-18", end_date="2026-11-18")
    assert late["metrics"] == metrics(0.0, 0, 2, 1)


# T1 has a row on the 17th in B1 and one on the 18th in B2; s1 also buys T2 on the 18th.
OVER_DAYS: list[Row] = [
    page("2026-11-17T09:00", "s1", "u1", "B1", "home"),
    page("2026-11-18T09:00", "s1", "u1", "B2", "home"),
    purchase("2026-11-17T10:00", "s1", "u1", "B1", "T1", "30", "checkout"),
    purchase("2026-11-18T09:30", "s1", "u1", "B2", "T1", "20", "checkout"),
    purchase("2026-11-18T10:00", "s1", "u1", "B2", "T2", "5", "checkout"),
    cart("2026-11-18T09:10", "s1", "u1", "B2", "5"),
    cart("2026-11-18T09:20", "s9", None, "B2", "8"),
]


async def test_a_transaction_over_two_days_counts_once_on_its_first(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    await sales_data.add_records(conn, tenant, {}, BRANCHES)
    await send(client, callers, pulls(tenant, OVER_DAYS))
    assert await stats(client, callers, tenant) == {
        "metrics": metrics(55.0, 2, 1, 1, abandoned_carts=1, conversion_rate=100.0),
        "chartData": [point("2026-11-17", 50.0, 1, 1), point("2026-11-18", 5.0, 1, 1)],
        # T1 is B1's (its first row), with all its revenue
        "locationStats": [location("B1", (50.0, 1, 1, 1, 100.0)),
                          location("B2", (5.0, 1, 1, 1, 100.0))],
    }  # fmt: skip
    south = await stats(client, callers, tenant, location_id="B2")
    assert south == {
        "metrics": metrics(25.0, 2, 1, 1, abandoned_carts=1, conversion_rate=100.0),
        "chartData": [point("2026-11-18", 25.0, 2, 1)],
        "locationStats": [location("B2", (25.0, 2, 1, 1, 100.0))],
    }
    late = await stats(client, callers, tenant, start_date="2026-11-18")
    assert late["metrics"] == metrics(25.0, 2, 1, 1, abandoned_carts=1, conversion_rate=100.0)
    assert late["locationStats"] == [location("B1", (0.0, 0, 0, 0, 0.0)),
                                     location("B2", (25.0, 2, 1, 1, 100.0))]  # fmt: skip


async def test_two_connections_of_a_day_count_a_session_once(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    await send(client, callers, pulls(tenant, [page("2026-11-18T09:00", "s1", "u1", "B1", "a")]))
    second = [page("2026-11-18T09:05", "s1", "u1", "B1", "b"),
              page("2026-11-18T09:10", "s2", "u2", "B1", "a")]  # fmt: skip
    await send(client, callers, pulls(tenant, second, connection=SECOND_CONNECTION))
    assert (await stats(client, callers, tenant))["metrics"] == metrics(0.0, 0, 2, 2)
    again = [page("2026-11-18T09:05", "s1", "u1", "B1", "c")]
    await send(client, callers, pulls(tenant, again, LATER, connection=SECOND_CONNECTION))
    assert (await stats(client, callers, tenant))["metrics"] == metrics(0.0, 0, 1, 1)
