"""GET /analytics/stats (analytics.dashboard) and GET /analytics/locations
(analytics.locations_with_activity) over the sales data set (sales_data.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sales_data import Get

from analytics_testing import Callers

METRICS = {
    "total_revenue": 215.75,  # T1 + T2 + T5; not the staged T3
    "purchases": 3,
    "visitors": 9,  # s1 to s9
    "unique_users": 3,
    "abandoned_carts": 3,
    "searches": 11,  # 8 result views, 3 failed
    "failed_searches": 3,
    "repeat_visits": 3,
    "conversion_rate": 33.33,  # s1, s4, s6 of 9
}


def point(day: str, revenue: float, purchases: int, visitors: int) -> dict[str, Any]:
    return {"date": day, "revenue": revenue, "purchases": purchases, "visitors": visitors}


def branch(name: tuple[str, str, str, str], numbers: tuple[float, int, int, int, float]) -> Any:
    location_id, location_name, city, state = name
    revenue, purchases, visitors, users, rate = numbers
    return {"location_id": location_id, "location_name": location_name, "city": city,
            "state": state, "revenue": revenue, "purchases": purchases, "visitors": visitors,
            "unique_users": users, "conversion_rate": rate}  # fmt: skip


B1 = branch(("B1", "North", "Lyon", "ARA"), (120.5, 1, 4, 2, 25.0))
B2 = branch(("B2", "South", "Nice", "PACA"), (95.25, 2, 4, 2, 50.0))
B4 = branch(("B4", "Quiet", "Metz", "GES"), (0.0, 0, 0, 0, 0.0))


async def test_the_dashboard_of_every_day(get: Get) -> None:
    assert await get("/analytics/stats") == {
        "metrics": METRICS,
        "chartData": [
            point("2026-11-16", 120.5, 1, 3),
            point("2026-11-17", 0.0, 0, 2),
            point("2026-11-18", 95.25, 2, 4),
        ],
        "locationStats": [B1, B2, B4],  # B3 is inactive
    }


async def test_the_chart_spans_the_bounds_by_week_or_month(get: Get) -> None:
    weekly = await get("/analytics/stats", granularity="week", end_date="2026-11-30")
    assert weekly["chartData"] == [
        point("2026-11-16", 215.75, 3, 9),
        point("2026-11-23", 0.0, 0, 0),
        point("2026-11-30", 0.0, 0, 0),
    ]
    monthly = await get("/analytics/stats", granularity="month", start_date="2026-10-31")
    assert monthly["chartData"] == [
        point("2026-10-01", 0.0, 0, 0),
        point("2026-11-01", 215.75, 3, 9),
    ]


async def test_the_dashboard_of_one_branch_and_days(get: Get) -> None:
    answer = await get(
        "/analytics/stats", location_id="B1", start_date="2026-11-17", end_date="2026-11-18"
    )
    assert answer == {
        "metrics": {
            "total_revenue": 0.0,
            "purchases": 0,
            "visitors": 3,
            "unique_users": 2,
            "abandoned_carts": 2,
            "searches": 3,
            "failed_searches": 0,
            "repeat_visits": 0,
            "conversion_rate": 0.0,
        },
        "chartData": [point("2026-11-17", 0.0, 0, 1), point("2026-11-18", 0.0, 0, 2)],
        "locationStats": [branch(("B1", "North", "Lyon", "ARA"), (0.0, 0, 3, 2, 0.0))],
    }


async def test_a_tenant_without_data_has_an_empty_dashboard(
    client: httpx.AsyncClient, callers: Callers, get: Get
) -> None:
    viewer = callers.user(uuid.uuid4(), "viewer")
    response = await client.get("/analytics/stats", headers=viewer.headers)
    zero = dict.fromkeys(METRICS, 0)
    assert response.json() == {"metrics": zero, "chartData": [], "locationStats": []}


async def test_the_other_tenant_has_its_own_dashboard(
    client: httpx.AsyncClient, callers: Callers, other_tenant: uuid.UUID, get: Get
) -> None:
    viewer = callers.user(other_tenant, "viewer")
    response = await client.get("/analytics/stats", headers=viewer.headers)
    assert response.json()["metrics"] == {
        "total_revenue": 50.0, "purchases": 1, "visitors": 1, "unique_users": 1,
        "abandoned_carts": 1, "searches": 4, "failed_searches": 4, "repeat_visits": 0,
        "conversion_rate": 100.0,
    }  # fmt: skip
    located = await client.get("/analytics/locations", headers=viewer.headers)
    assert located.json() == {
        "data": [{"location_id": "B1", "location_name": "Elsewhere", "city": None,
                  "state": None, "page_views": 1}]
    }  # fmt: skip


def location(name: tuple[str, str, str, str], page_views: int) -> dict[str, Any]:
    location_id, location_name, city, state = name
    return {"location_id": location_id, "location_name": location_name, "city": city,
            "state": state, "page_views": page_views}  # fmt: skip


async def test_active_locations_with_page_views(get: Get) -> None:
    # B3 has a page view but is inactive; B4 is active without any
    north, south = (
        location(("B1", "North", "Lyon", "ARA"), 8),
        location(("B2", "South", "Nice", "PACA"), 12),
    )
    assert await get("/analytics/locations") == {"data": [north, south]}
    late = await get("/analytics/locations", start_date="2026-11-18", end_date="2026-11-18")
    assert late == {
        "data": [
            location(("B1", "North", "Lyon", "ARA"), 2),
            location(("B2", "South", "Nice", "PACA"), 7),
        ]
    }
