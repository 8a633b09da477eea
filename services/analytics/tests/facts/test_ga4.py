"""GA4 pulls: rows staged by pull, a pull swapped in once its day fact and all its parts are
there (analytics.ga4_complete_pull), in whichever order they come. The facts are shaped as
ingestion's pull runner writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from ga4_testing import Pull, send
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_testing import Callers


def page_view(minute: int, page: str, views: int = 1) -> dict[str, Any]:
    return {
        "event_time": f"2026-11-18T10:{minute:02d}:00+01:00",
        "session_id": f"s{minute}",
        "web_user_id": "w1",
        "branch_id": "B-7",
        "page_location": f"https://shop.test/{page}",
        "page_title": page.title(),
        "screen_page_views": views,
    }


async def _pages(conn: AsyncConnection, tenant: uuid.UUID) -> list[tuple[Any, ...]]:
    rows = await conn.execute(
        text(
            "SELECT pull_id, part, row_number, page_location FROM analytics.ga4_page_view"
            " WHERE tenant_id = :t ORDER BY page_location"
        ),
        {"t": tenant},
    )
    return [tuple(row) for row in rows]


async def _state(conn: AsyncConnection, tenant: uuid.UUID) -> tuple[Any, dict[uuid.UUID, str]]:
    current = await conn.scalar(
        text("SELECT pull_id FROM analytics.ga4_current_day WHERE tenant_id = :t"), {"t": tenant}
    )
    statuses = await conn.execute(
        text("SELECT pull_id, status FROM analytics.ga4_pull WHERE tenant_id = :t"), {"t": tenant}
    )
    return current, {row.pull_id: row.status for row in statuses}


async def test_a_whole_pull_becomes_the_day_with_typed_rows(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    pull = Pull(tenant, [page_view(1, "home", 2), page_view(2, "cart"), page_view(3, "shoes")])
    response = await send(client, callers, pull.facts)
    assert response.json() == {"accepted": 3, "duplicates": 0}
    assert await _state(conn, tenant) == (pull.id, {pull.id: "current"})
    first = await conn.execute(
        text(
            "SELECT day, event_time, session_id, web_user_id, branch_id, page_location,"
            " page_title, screen_page_views FROM analytics.ga4_page_view"
            " WHERE tenant_id = :t AND part = 1 AND row_number = 1"
        ),
        {"t": tenant},
    )
    assert [tuple(r) for r in first] == [
        (date(2026, 11, 18), datetime(2026, 11, 18, 9, 1, tzinfo=UTC), "s1", "w1", "B-7",
         "https://shop.test/home", "Home", Decimal("2")),
    ]  # fmt: skip
    assert await _pages(conn, tenant) == [
        (pull.id, 1, 2, "https://shop.test/cart"),
        (pull.id, 1, 1, "https://shop.test/home"),
        (pull.id, 2, 1, "https://shop.test/shoes"),
    ]
    pulled = await conn.execute(
        text(
            "SELECT rows, parts, row_table, pulled_at, property_id, time_zone"
            " FROM analytics.ga4_pull WHERE tenant_id = :t"
        ),
        {"t": tenant},
    )
    assert [tuple(r) for r in pulled] == [
        (3, 2, "ga4_page_view", datetime(2026, 11, 19, 5, 15, tzinfo=UTC), "1001", "Europe/Paris")
    ]


async def test_a_re_pull_replaces_the_day(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    old = Pull(tenant, [page_view(1, "home"), page_view(2, "cart")])
    new = Pull(tenant, [page_view(1, "home"), page_view(5, "sale")], replaces=old,
               pulled_at="2026-11-20T05:15:00Z")  # fmt: skip
    await send(client, callers, old.facts)
    await send(client, callers, new.facts)
    assert await _state(conn, tenant) == (new.id, {old.id: "replaced", new.id: "current"})
    assert await _pages(conn, tenant) == [
        (new.id, 1, 1, "https://shop.test/home"),
        (new.id, 1, 2, "https://shop.test/sale"),
    ]


async def test_parts_before_and_after_the_day_fact(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    old = Pull(tenant, [page_view(1, "home")])
    await send(client, callers, old.facts)
    new = Pull(tenant, [page_view(1, "a"), page_view(2, "b"), page_view(3, "c")], per_part=1,
               replaces=old, pulled_at="2026-11-20T05:15:00Z")  # fmt: skip
    await send(client, callers, [new.part_facts[1]])
    await send(client, callers, [new.day_fact])
    # still the old pull's day: the new one lacks a part (its rows wait, staged)
    assert await _state(conn, tenant) == (old.id, {old.id: "current", new.id: "staged"})
    assert len(await _pages(conn, tenant)) == 2
    await send(client, callers, [new.part_facts[2], new.part_facts[0]])
    assert await _state(conn, tenant) == (new.id, {old.id: "replaced", new.id: "current"})
    assert [row[3] for row in await _pages(conn, tenant)] == [
        "https://shop.test/a",
        "https://shop.test/b",
        "https://shop.test/c",
    ]


async def test_a_day_fact_arriving_twice_changes_nothing(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    old = Pull(tenant, [page_view(1, "home")])
    new = Pull(tenant, [page_view(2, "cart")], replaces=old, pulled_at="2026-11-20T05:15:00Z")
    await send(client, callers, [*old.facts, *new.facts])
    again = await send(client, callers, [old.day_fact])
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert await _state(conn, tenant) == (new.id, {old.id: "replaced", new.id: "current"})
    assert await _pages(conn, tenant) == [(new.id, 1, 1, "https://shop.test/cart")]


async def test_a_pull_whole_after_a_newer_one_is_stale(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    old = Pull(tenant, [page_view(1, "home")])
    new = Pull(tenant, [page_view(2, "cart")], replaces=old, pulled_at="2026-11-20T05:15:00Z")
    await send(client, callers, new.facts)
    await send(client, callers, old.facts)
    assert await _state(conn, tenant) == (new.id, {old.id: "stale", new.id: "current"})
    assert await _pages(conn, tenant) == [(new.id, 1, 1, "https://shop.test/cart")]


async def test_an_empty_pull_still_replaces_the_day(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    old = Pull(tenant, [page_view(1, "home")])
    empty = Pull(tenant, [], replaces=old, pulled_at="2026-11-20T05:15:00Z")
    assert empty.facts == [empty.day_fact]
    await send(client, callers, [*old.facts, *empty.facts])
    assert await _state(conn, tenant) == (empty.id, {old.id: "replaced", empty.id: "current"})
    assert await _pages(conn, tenant) == []


async def test_a_tenants_own_data_type_lands_as_json(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    rows = [{"coupon": "XMAS", "event_count": 4}]
    pull = Pull(tenant, rows, data_type="coupons", fact_kind="coupon_use")
    await send(client, callers, pull.facts)
    stored = await conn.execute(
        text("SELECT day, fact_kind, data FROM analytics.ga4_row WHERE tenant_id = :t"),
        {"t": tenant},
    )
    assert [tuple(r) for r in stored] == [(date(2026, 11, 18), "coupon_use", rows[0])]
    assert await _state(conn, tenant) == (pull.id, {pull.id: "current"})


async def test_a_built_in_row_with_a_field_missing_is_refused_at_its_place(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    broken = page_view(2, "cart")
    del broken["page_title"]
    pull = Pull(tenant, [page_view(1, "home"), broken, page_view(3, "shoes")], per_part=3)
    response = await send(client, callers, pull.facts)
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [
        (["body", "facts", "0", "data", "rows", "1", "page_title"], "missing")
    ]
    assert await _state(conn, tenant) == (None, {})


async def test_the_other_row_has_no_moment(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, tenant: uuid.UUID
) -> None:
    other = {**page_view(1, "x"), "event_time": "(other)", "page_location": "(other)"}
    await send(client, callers, Pull(tenant, [other]).facts)
    moment = await conn.scalar(
        text("SELECT event_time FROM analytics.ga4_page_view WHERE tenant_id = :t"),
        {"t": tenant},
    )
    assert moment is None


async def test_completing_an_unknown_pull_says_so(conn: AsyncConnection) -> None:
    status = await conn.scalar(
        text("SELECT analytics.ga4_complete_pull(:t, :p)"), {"t": uuid.uuid4(), "p": uuid.uuid4()}
    )
    assert status is None
