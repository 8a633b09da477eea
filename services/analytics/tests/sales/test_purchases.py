"""GET /analytics/tasks/purchases (analytics.purchase_tasks) over the sales data set."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sales_data
from sales_data import Get, answer, customer

from analytics_testing import Callers, fact

T2 = {
    **customer("u2"),
    "transaction_id": "T2",
    "event_date": "2026-11-18",
    "order_value": 80.0,
    "page_location": "https://shop.test/checkout",
    "ga_session_id": "s4",
    "products": [{"item_id": "C", "item_name": "Cable", "quantity": 1, "revenue": 80.0}],
}
T5 = {
    **customer("u1"),
    "transaction_id": "T5",
    "event_date": "2026-11-18",
    "order_value": 15.25,
    "page_location": "https://shop.test/checkout",
    "ga_session_id": "s6",
    "products": [{"item_id": "D", "item_name": "Drill bits", "quantity": 5, "revenue": 15.25}],
}
T1 = {
    **customer("u1"),
    "transaction_id": "T1",
    "event_date": "2026-11-16",
    "order_value": 120.5,
    "page_location": "https://shop.test/checkout",
    "ga_session_id": "s1",
    "products": [
        {"item_id": "A", "item_name": "Anchor bolt", "quantity": 2, "revenue": 100.5},
        {"item_id": "B", "item_name": "Bracket", "quantity": 1, "revenue": 20.0},
    ],
}


async def test_purchases_newest_first_with_products_and_customers(get: Get) -> None:
    # T3 of a staged pull and the other tenant's T9 are not there
    assert await get("/analytics/tasks/purchases") == answer([T2, T5, T1], 3)


async def test_purchases_page_by_page(get: Get) -> None:
    assert await get("/analytics/tasks/purchases", limit=2) == answer([T2, T5], 3, 1, 2)
    assert await get("/analytics/tasks/purchases", limit=2, page=2) == answer([T1], 3, 2, 2)
    assert await get("/analytics/tasks/purchases", limit=1, page=4) == answer([], 3, 4, 1)
    assert await get("/analytics/tasks/purchases", limit=3) == answer([T2, T5, T1], 3, 1, 3)


async def test_purchase_dates_are_inclusive_either_bound_optional(get: Get) -> None:
    path = "/analytics/tasks/purchases"
    assert await get(path, end_date="2026-11-16") == answer([T1], 1)
    assert await get(path, start_date="2026-11-18") == answer([T2, T5], 2)
    assert await get(path, start_date="2026-11-17", end_date="2026-11-17") == answer([], 0)
    both = await get(path, start_date="2026-11-16", end_date="2026-11-18")
    assert both == answer([T2, T5, T1], 3)


async def test_purchases_of_one_branch(get: Get) -> None:
    assert await get("/analytics/tasks/purchases", location_id="B1") == answer([T1], 1)
    assert await get("/analytics/tasks/purchases", location_id="B2") == answer([T2, T5], 2)
    assert await get("/analytics/tasks/purchases", location_id="B9") == answer([], 0)


async def test_the_query_searches_the_items_by_name_or_id(get: Get) -> None:
    assert await get("/analytics/tasks/purchases", query="BRACK") == answer([T1], 1)
    assert await get("/analytics/tasks/purchases", query="d") == answer([T5], 1)
    assert await get("/analytics/tasks/purchases", query="bl") == answer([T2], 1)
    # the wildcards of LIKE are plain text here
    assert await get("/analytics/tasks/purchases", query="%") == answer([], 0)


async def test_the_other_tenant_sees_only_its_own_purchase(
    client: httpx.AsyncClient, callers: Callers, other_tenant: uuid.UUID, get: Get
) -> None:
    viewer = callers.user(other_tenant, "viewer")
    response = await client.get("/analytics/tasks/purchases", headers=viewer.headers)
    t9 = {
        "user_id": "u1", "customer_name": "Other Co", "email": "x@other.test", "phone": None,
        "office_phone": None, "transaction_id": "T9", "event_date": "2026-11-17",
        "order_value": 50.0, "page_location": "https://shop.test/checkout",
        "ga_session_id": "s1",
        "products": [{"item_id": "A", "item_name": "Anchor bolt", "quantity": 1, "revenue": 50.0}],
    }  # fmt: skip
    assert response.json() == answer([t9], 1)


def _day_facts(
    tenant: uuid.UUID, rows: list[dict[str, Any]], pulled_at: str, replaces: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """A whole pull of 2026-11-19's purchases, as ingestion's runner sends it."""
    pull_id = str(uuid.uuid4())
    common = {"connection_id": str(sales_data.CONNECTION), "property_id": "1001",
              "data_type": "purchases", "fact_kind": "purchase", "day": "2026-11-19",
              "time_zone": "UTC", "pull_id": pull_id}  # fmt: skip
    part = fact("ingestion.ga4_rows.v1", tenant, {**common, "part": 1, "parts": 1, "rows": rows},
                occurred_at=pulled_at)  # fmt: skip
    day = {**common, "rows": len(rows), "parts": 1, "replaces_pull_id": replaces,
           "thresholded": False, "other_row": False}  # fmt: skip
    return pull_id, [part, fact("ingestion.ga4_day.v1", tenant, day, occurred_at=pulled_at)]


async def test_a_pull_taken_in_counts_until_a_re_pull_replaces_it(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, get: Get
) -> None:
    def row(txn: str) -> dict[str, Any]:
        return {"event_time": "2026-11-19T09:00:00Z", "session_id": "s10", "web_user_id": "u2",
                "branch_id": "B2", "transaction_id": txn, "page_location": "https://shop.test/x",
                "purchase_revenue": 7, "ecommerce_purchases": 1}  # fmt: skip

    service = callers.service("ingestion").headers
    first, facts = _day_facts(tenant, [row("T10")], "2026-11-20T05:15:00Z", None)
    await client.post("/internal/facts", json={"source": "ingestion", "facts": facts},
                      headers=service)  # fmt: skip
    t10 = {**customer("u2"), "transaction_id": "T10", "event_date": "2026-11-19",
           "order_value": 7.0, "page_location": "https://shop.test/x", "ga_session_id": "s10",
           "products": []}  # fmt: skip
    assert await get("/analytics/tasks/purchases", limit=1) == answer([t10], 4, 1, 1)
    _, facts = _day_facts(tenant, [row("T11")], "2026-11-21T05:15:00Z", first)
    await client.post("/internal/facts", json={"source": "ingestion", "facts": facts},
                      headers=service)  # fmt: skip
    t11 = {**t10, "transaction_id": "T11"}
    assert await get("/analytics/tasks/purchases", start_date="2026-11-19") == answer([t11], 1)
