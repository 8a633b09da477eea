"""GET /analytics/tasks/cart-abandonment, search-analysis, repeat-visits and performance over
the sales data set (sales_data.py)."""

from __future__ import annotations

from typing import Any

from sales_data import Get, answer, customer


def _at(day: str, time: str) -> dict[str, str]:
    return {"event_date": day, "last_activity": f"{day}T{time}:00Z"}


def cart(session: str, user: str, day: str, time: str, value: float, item: tuple[Any, ...]) -> Any:
    item_id, name, quantity = item
    products = [{"item_id": item_id, "item_name": name, "quantity": quantity}]
    return {**customer(user), "ga_session_id": session, **_at(day, time), "total_value": value,
            "items_count": quantity, "products": products}  # fmt: skip


S5_CART = cart("s5", "u3", "2026-11-18", "14:00", 10.0, ("A", "Anchor bolt", 1))
S2_CART = cart("s2", "u1", "2026-11-17", "10:20", 45.0, ("C", "Cable", 3))
S7_CART = cart("s7", "u2", "2026-11-16", "16:00", 30.0, ("B", "Bracket", 2))


async def test_abandoned_carts_are_sessions_without_a_current_purchase(get: Get) -> None:
    # s1 bought; s7's purchase is only in a staged pull, so s7 still counts
    everything = answer([S5_CART, S2_CART, S7_CART], 3)
    assert await get("/analytics/tasks/cart-abandonment") == everything


async def test_abandoned_carts_filtered_and_paged(get: Get) -> None:
    path = "/analytics/tasks/cart-abandonment"
    assert await get(path, location_id="B1") == answer([S5_CART, S2_CART], 2)
    assert await get(path, end_date="2026-11-17") == answer([S2_CART, S7_CART], 2)
    assert await get(path, start_date="2026-11-17", end_date="2026-11-17") == answer([S2_CART], 1)
    assert await get(path, query="CAB") == answer([S2_CART], 1)
    assert await get(path, limit=2, page=2) == answer([S7_CART], 3, 2, 2)


def search(kind: str, session: str, user: str, term: str, count: int, time: str) -> Any:
    return {**customer(user), "search_type": kind, "search_term": term, "search_count": count,
            "ga_session_id": session, **_at("2026-11-17", time)}  # fmt: skip


GIZMO = search("no_results", "s3", "u2", "gizmo", 1, "12:05")
WIDGETS = search("no_results", "s3", "u2", "widgets", 2, "12:00")
S2_SEARCH = search("no_conversion", "s2", "u1", "anchors, bolts", 3, "10:12")


async def test_failed_searches_and_searching_sessions_that_did_not_buy(get: Get) -> None:
    # s1 searched three times but bought; s6 searched only twice
    assert await get("/analytics/tasks/search-analysis") == answer([GIZMO, WIDGETS, S2_SEARCH], 3)


async def test_search_analysis_filtered_and_paged(get: Get) -> None:
    path = "/analytics/tasks/search-analysis"
    assert await get(path, query="bolt") == answer([S2_SEARCH], 1)
    assert await get(path, query="WID") == answer([WIDGETS], 1)
    assert await get(path, location_id="B2") == answer([GIZMO, WIDGETS], 2)
    assert await get(path, start_date="2026-11-18") == answer([], 0)
    assert await get(path, limit=1, page=2) == answer([WIDGETS], 3, 2, 1)


def visit(session: str, day: str, time: str, views: int, items: list[tuple[Any, ...]]) -> Any:
    details = [{"item_id": i, "item_name": n, "views": v} for i, n, v in items]
    return {**customer("u1"), "ga_session_id": session, **_at(day, time),
            "page_views_count": views, "products_viewed": len(items),
            "products_details": details}  # fmt: skip


S6_VISIT = visit("s6", "2026-11-18", "08:50", 6, [])
S2_VISIT = visit("s2", "2026-11-17", "10:11", 3, [("B", "Bracket", 2), ("C", "Cable", 1)])
S1_VISIT = visit("s1", "2026-11-16", "10:04", 3, [("A", "Anchor bolt", 1)])


async def test_repeat_visits_of_customers_with_more_than_one_long_session(get: Get) -> None:
    # u2's s7 has three pages too, but it is u2's only such session
    assert await get("/analytics/tasks/repeat-visits") == answer([S6_VISIT, S2_VISIT, S1_VISIT], 3)


async def test_repeat_visits_are_judged_within_the_filters(get: Get) -> None:
    path = "/analytics/tasks/repeat-visits"
    assert await get(path, location_id="B1") == answer([S2_VISIT, S1_VISIT], 2)
    assert await get(path, location_id="B2") == answer([], 0)  # one long session each
    assert await get(path, start_date="2026-11-17") == answer([S6_VISIT, S2_VISIT], 2)
    assert await get(path, end_date="2026-11-16") == answer([], 0)
    assert await get(path, query="bracket") == answer([S2_VISIT], 1)
    assert await get(path, limit=2) == answer([S6_VISIT, S2_VISIT], 3, 1, 2)


def bounce(session: str, user: str | None, day: str, time: str, page: str, views: int = 1) -> Any:
    return {**customer(user), "ga_session_id": session, **_at(day, time),
            "page_location": f"https://shop.test/{page}", "page_title": page.title(),
            "page_views_count": views}  # fmt: skip


S5_BOUNCE = bounce("s5", "u3", "2026-11-18", "13:55", "product-a")
S4_BOUNCE = bounce("s4", "u2", "2026-11-18", "10:58", "checkout")
S8_BOUNCE = bounce("s8", None, "2026-11-18", "08:00", "home")
S3_BOUNCE = bounce("s3", "u2", "2026-11-17", "12:00", "home", 2)
S9_BOUNCE = bounce("s9", None, "2026-11-16", "07:00", "home")


def top(*pages: tuple[str, int]) -> dict[str, Any]:
    return {"top_pages": [{"page_location": f"https://shop.test/{p}", "bounces": n}
                          for p, n in pages]}  # fmt: skip


async def test_bounced_sessions_and_the_top_bounced_pages(get: Get) -> None:
    # s4's second page is only in a staged pull: s4 bounced
    bounces = [S5_BOUNCE, S4_BOUNCE, S8_BOUNCE, S3_BOUNCE, S9_BOUNCE]
    expected = {**answer(bounces, 5), **top(("home", 3), ("checkout", 1), ("product-a", 1))}
    assert await get("/analytics/tasks/performance") == expected


async def test_bounces_filtered_and_paged(get: Get) -> None:
    path = "/analytics/tasks/performance"
    by_branch = {**answer([S5_BOUNCE, S8_BOUNCE], 2), **top(("home", 1), ("product-a", 1))}
    assert await get(path, location_id="B1") == by_branch
    by_text = {**answer([S8_BOUNCE, S3_BOUNCE, S9_BOUNCE], 3), **top(("home", 3))}
    assert await get(path, query="HOME") == by_text
    last = {**answer([S9_BOUNCE], 5, 3, 2), **top(("home", 3), ("checkout", 1), ("product-a", 1))}
    assert await get(path, limit=2, page=3) == last
    assert await get(path, start_date="2026-11-19") == {**answer([], 0), "top_pages": []}
