"""GET /analytics/sessions/{id}/events and /analytics/users/{id}/events
(analytics.event_timeline) over the sales data set (sales_data.py)."""

from __future__ import annotations

from typing import Any

from sales_data import Get, answer, customer


def event(kind: str, at: str, session: str, branch: str, user: str | None, **details: Any) -> Any:
    return {**customer(user), "event_type": kind, "event_time": f"{at}:00Z",
            "event_date": at[:10], "ga_session_id": session, "location_id": branch,
            "details": details}  # fmt: skip


def s2(kind: str, time: str, **details: Any) -> Any:
    return event(kind, f"2026-11-17T{time}", "s2", "B1", "u1", **details)


def page(path: str, views: int = 1) -> dict[str, Any]:
    return {"page_location": f"https://shop.test/{path}", "page_title": path.title(),
            "page_views": views}  # fmt: skip


S2_EVENTS = [
    s2("page_view", "10:00", **page("home")),
    s2("page_view", "10:05", **page("product-b")),
    s2("view_item", "10:06", item_id="B", item_name="Bracket", views=2),
    s2("view_search_results", "10:10", search_term="bolts", count=2),
    s2("page_view", "10:11", **page("search")),
    s2("view_search_results", "10:12", search_term="anchors", count=1),
    s2("view_item", "10:15", item_id="C", item_name="Cable", views=1),
    s2("add_to_cart", "10:20", add_to_carts=1, value=45),
    s2("add_to_cart_item", "10:20", item_id="C", item_name="Cable", quantity=3),
]


async def test_a_sessions_events_oldest_first(get: Get) -> None:
    assert await get("/analytics/sessions/s2/events", order="oldest") == answer(S2_EVENTS, 9)


async def test_a_sessions_events_newest_first_by_page(get: Get) -> None:
    newest = S2_EVENTS[::-1]
    # the same minute: by event type either way
    newest[0], newest[1] = newest[1], newest[0]
    path = "/analytics/sessions/s2/events"
    assert await get(path, limit=4) == answer(newest[:4], 9, 1, 4)
    assert await get(path, limit=4, page=3) == answer(newest[8:], 9, 3, 4)


async def test_a_session_id_of_the_other_tenant_shows_only_this_tenants_rows(get: Get) -> None:
    s1 = await get("/analytics/sessions/s1/events", order="oldest")
    assert [(e["event_type"], e["event_time"]) for e in s1["data"]] == [
        ("page_view", "2026-11-16T10:00:00Z"),
        ("page_view", "2026-11-16T10:01:00Z"),
        ("view_item", "2026-11-16T10:01:00Z"),
        ("view_search_results", "2026-11-16T10:02:00Z"),
        ("add_to_cart", "2026-11-16T10:03:00Z"),
        ("add_to_cart_item", "2026-11-16T10:03:00Z"),
        ("page_view", "2026-11-16T10:04:00Z"),
        ("purchase", "2026-11-16T10:05:00Z"),
        ("purchase_item", "2026-11-16T10:05:00Z"),
        ("purchase_item", "2026-11-16T10:05:00Z"),
    ]
    assert s1["total"] == 10
    assert await get("/analytics/sessions/nope/events") == answer([], 0)


def u2(kind: str, at: str, session: str, **details: Any) -> Any:
    return event(kind, at, session, "B2", "u2", **details)


async def test_a_customers_events_across_sessions_without_staged_rows(get: Get) -> None:
    path = "/analytics/users/u2/events"
    first = await get(path, limit=3)
    assert first == answer(
        [
            u2(
                "purchase",
                "2026-11-18T11:00",
                "s4",
                transaction_id="T2",
                page_location="https://shop.test/checkout",
                revenue=80,
            ),
            u2(
                "purchase_item",
                "2026-11-18T11:00",
                "s4",
                transaction_id="T2",
                item_id="C",
                item_name="Cable",
                quantity=1,
                revenue=80,
            ),
            u2("page_view", "2026-11-18T10:58", "s4", **page("checkout")),
        ],
        11,
        1,
        3,
    )
    last = await get(path, limit=3, page=4)
    assert last == answer(
        [
            u2("page_view", "2026-11-16T15:55", "s7", **page("product-b")),
            u2("page_view", "2026-11-16T15:50", "s7", **page("home")),
        ],
        11,
        4,
        3,
    )
    one_day = await get(path, start_date="2026-11-17", end_date="2026-11-17", order="oldest")
    assert one_day == answer(
        [
            u2("no_search_results", "2026-11-17T12:00", "s3", search_term="widgets", count=2),
            u2("page_view", "2026-11-17T12:00", "s3", **page("home", 2)),
            u2("no_search_results", "2026-11-17T12:05", "s3", search_term="gizmo", count=1),
        ],
        3,
    )
