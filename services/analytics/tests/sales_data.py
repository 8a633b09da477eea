"""A small warehouse of GA4 rows and customer records for the sales tasks' tests.

Two tenants, three days (2026-11-16 to 18, a Monday to a Wednesday, property time zone UTC).
Each (data type, day) is one current pull, as ``analytics.ga4_complete_pull`` leaves it; rows of
a pull not (yet) current sit beside them and must never count. The other tenant holds the same
ids (sessions, users, branches) with other values.

Sessions of the tenant (user, branch):
  s1 u1 B1 11-16: 3 pages, views item A, searches "cable" x3, adds to cart, buys T1 (A x2, B)
  s2 u1 B1 11-17: 3 pages, views items B (x2) and C, searches "bolts" x2 "anchors" x1,
                  adds C x3 to cart, no purchase
  s3 u2 B2 11-17: 1 page (home, 2 views), failed searches "widgets" x2, "gizmo" x1
  s4 u2 B2 11-18: 1 page (checkout), buys T2 (C); a staged pull adds a second page
  s5 u3 B1 11-18: 1 page, adds A to cart, no purchase (u3 has no customer record)
  s6 u1 B2 11-18: 4 pages, searches "drill" x2, buys T5 (D x5)
  s7 u2 B2 11-16: 3 pages, adds B x2 to cart; its purchase T3 is only in a staged pull
  s8 -  B1 11-18: 1 page (home), no user
  s9 -  B3 11-16: 1 page (home) at an inactive branch
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service import models

CONNECTION = uuid.UUID("0c0c0c0c-1111-4222-8333-555555555555")
Row = tuple[str, dict[str, Any]]  # (fact kind, fields)


def _keys(at: str, session: str | None, user: str | None, branch: str) -> dict[str, Any]:
    return {
        "event_time": datetime.fromisoformat(f"{at}+00:00"),
        "session_id": session,
        "web_user_id": user,
        "branch_id": branch,
    }


def page(at: str, s: str | None, u: str | None, b: str, path: str, views: int = 1) -> Row:
    return "page_view", {**_keys(at, s, u, b), "page_location": f"https://shop.test/{path}",
                         "page_title": path.title(), "screen_page_views": views}  # fmt: skip


def purchase(at: str, s: str, u: str, b: str, txn: str, revenue: str, path: str) -> Row:
    return "purchase", {**_keys(at, s, u, b), "transaction_id": txn, "purchase_revenue": revenue,
                        "page_location": f"https://shop.test/{path}",
                        "ecommerce_purchases": 1}  # fmt: skip


ITEMS = {"A": "Anchor bolt", "B": "Bracket", "C": "Cable", "D": "Drill bits"}


def bought(at: str, s: str, u: str, b: str, txn: str, item: str, n: int, revenue: str) -> Row:
    return "purchase_item", {**_keys(at, s, u, b), "transaction_id": txn, "item_id": item,
                             "item_name": ITEMS[item], "item_revenue": revenue,
                             "items_purchased": n}  # fmt: skip


def cart(at: str, s: str, u: str | None, b: str, value: str) -> Row:
    return "add_to_cart", {**_keys(at, s, u, b), "add_to_carts": 1, "event_value": value}


def carted(at: str, s: str, u: str | None, b: str, item: str, n: int) -> Row:
    return "add_to_cart_item", {**_keys(at, s, u, b), "item_id": item, "item_name": ITEMS[item],
                                "items_added_to_cart": n}  # fmt: skip


def viewed(at: str, s: str, u: str, b: str, item: str, n: int = 1) -> Row:
    return "view_item", {**_keys(at, s, u, b), "item_id": item, "item_name": ITEMS[item],
                         "items_viewed": n}  # fmt: skip


def searched(at: str, s: str, u: str, b: str, term: str, n: int, *, failed: bool = False) -> Row:
    kind = "no_search_results" if failed else "view_search_results"
    return kind, {**_keys(at, s, u, b), "search_term": term, "event_count": n}


TENANT_ROWS: list[Row] = [
    page("2026-11-16T10:00", "s1", "u1", "B1", "home"),
    page("2026-11-16T10:01", "s1", "u1", "B1", "product-a"),
    viewed("2026-11-16T10:01", "s1", "u1", "B1", "A"),
    searched("2026-11-16T10:02", "s1", "u1", "B1", "cable", 3),
    cart("2026-11-16T10:03", "s1", "u1", "B1", "120.50"),
    carted("2026-11-16T10:03", "s1", "u1", "B1", "A", 2),
    page("2026-11-16T10:04", "s1", "u1", "B1", "cart"),
    purchase("2026-11-16T10:05", "s1", "u1", "B1", "T1", "120.50", "checkout"),
    bought("2026-11-16T10:05", "s1", "u1", "B1", "T1", "A", 2, "100.50"),
    bought("2026-11-16T10:05", "s1", "u1", "B1", "T1", "B", 1, "20"),
    page("2026-11-17T10:00", "s2", "u1", "B1", "home"),
    page("2026-11-17T10:05", "s2", "u1", "B1", "product-b"),
    viewed("2026-11-17T10:06", "s2", "u1", "B1", "B", 2),
    searched("2026-11-17T10:10", "s2", "u1", "B1", "bolts", 2),
    page("2026-11-17T10:11", "s2", "u1", "B1", "search"),
    searched("2026-11-17T10:12", "s2", "u1", "B1", "anchors", 1),
    viewed("2026-11-17T10:15", "s2", "u1", "B1", "C"),
    cart("2026-11-17T10:20", "s2", "u1", "B1", "45"),
    carted("2026-11-17T10:20", "s2", "u1", "B1", "C", 3),
    page("2026-11-17T12:00", "s3", "u2", "B2", "home", 2),
    searched("2026-11-17T12:00", "s3", "u2", "B2", "widgets", 2, failed=True),
    searched("2026-11-17T12:05", "s3", "u2", "B2", "gizmo", 1, failed=True),
    page("2026-11-18T10:58", "s4", "u2", "B2", "checkout"),
    purchase("2026-11-18T11:00", "s4", "u2", "B2", "T2", "80", "checkout"),
    bought("2026-11-18T11:00", "s4", "u2", "B2", "T2", "C", 1, "80"),
    page("2026-11-18T13:55", "s5", "u3", "B1", "product-a"),
    cart("2026-11-18T14:00", "s5", "u3", "B1", "10"),
    carted("2026-11-18T14:00", "s5", "u3", "B1", "A", 1),
    page("2026-11-18T08:30", "s6", "u1", "B2", "a"),
    page("2026-11-18T08:35", "s6", "u1", "B2", "b"),
    searched("2026-11-18T08:36", "s6", "u1", "B2", "drill", 2),
    page("2026-11-18T08:40", "s6", "u1", "B2", "c", 3),
    page("2026-11-18T08:50", "s6", "u1", "B2", "d"),
    purchase("2026-11-18T09:00", "s6", "u1", "B2", "T5", "15.25", "checkout"),
    bought("2026-11-18T09:00", "s6", "u1", "B2", "T5", "D", 5, "15.25"),
    page("2026-11-16T15:50", "s7", "u2", "B2", "home"),
    page("2026-11-16T15:55", "s7", "u2", "B2", "product-b"),
    page("2026-11-16T15:58", "s7", "u2", "B2", "cart"),
    cart("2026-11-16T16:00", "s7", "u2", "B2", "30"),
    carted("2026-11-16T16:00", "s7", "u2", "B2", "B", 2),
    page("2026-11-18T08:00", "s8", None, "B1", "home"),
    page("2026-11-16T07:00", "s9", None, "B3", "home"),
]
# Rows of pulls that are not current (staged: a part is still missing): never counted.
STAGED_ROWS: list[Row] = [
    purchase("2026-11-16T16:05", "s7", "u2", "B2", "T3", "999", "checkout"),
    bought("2026-11-16T16:05", "s7", "u2", "B2", "T3", "B", 2, "999"),
    page("2026-11-18T11:01", "s4", "u2", "B2", "thanks"),
]
OTHER_ROWS: list[Row] = [
    page("2026-11-17T09:00", "s1", "u1", "B1", "home"),
    purchase("2026-11-17T09:05", "s1", "u1", "B1", "T9", "50", "checkout"),
    bought("2026-11-17T09:05", "s1", "u1", "B1", "T9", "A", 1, "50"),
    cart("2026-11-17T09:06", "s9", "u1", "B1", "5"),
    carted("2026-11-17T09:06", "s9", "u1", "B1", "A", 1),
    searched("2026-11-17T09:07", "s9", "u1", "B1", "widgets", 4, failed=True),
]

CUSTOMERS = {
    "u1": ("Acme Supply", "buyer@acme.test", "+1 555 0101", "+1 555 0100"),
    "u2": ("Bolt & Co", "orders@bolt.test", None, "+1 555 0200"),
}
BRANCHES = {
    "B1": ("North", "Lyon", "ARA", True),
    "B2": ("South", "Nice", "PACA", True),
    "B3": ("Closed", "Pau", "NAQ", False),
    "B4": ("Quiet", "Metz", "GES", True),
}
_STAMP = {
    "created_at": datetime(2026, 11, 1, tzinfo=UTC),
    "updated_at": datetime(2026, 11, 1, tzinfo=UTC),
    "occurred_at": datetime(2026, 11, 1, tzinfo=UTC),
}


def _data_type(kind: str) -> str:
    return models.GA4_KINDS[kind][0]


async def add_pulls(
    conn: AsyncConnection, tenant: uuid.UUID, rows: list[Row], *, current: bool = True
) -> None:
    """The rows as one pull per (data type, day), current ones recorded in ga4_current_day and
    the tenant's dashboard rollups rebuilt (as ga4_complete_pull would have kept them)."""
    pulls: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    for kind, fields in rows:
        pulls[(kind, fields["event_time"].date())].append(fields)
    for (kind, day), fields_list in pulls.items():
        pull_id = uuid.uuid4()
        if current:
            await conn.execute(
                insert(models.ga4_current_day).values(
                    tenant_id=tenant,
                    connection_id=CONNECTION,
                    data_type=_data_type(kind),
                    day=day,
                    pull_id=pull_id,
                    pulled_at=datetime(2026, 11, 19, tzinfo=UTC),
                )
            )
        at = {"tenant_id": tenant, "day": day, "pull_id": pull_id, "part": 1}
        values = [{**at, "row_number": n, **f} for n, f in enumerate(fields_list, start=1)]
        await conn.execute(insert(models.GA4_ROW_TABLES[kind]).values(values))
    if current:
        await rebuild_rollups(conn, tenant)


async def add_records(
    conn: AsyncConnection,
    tenant: uuid.UUID,
    customers: dict[str, tuple[str | None, ...]],
    branches: dict[str, tuple[Any, ...]],
) -> None:
    for user_id, (name, email, cell, office) in customers.items():
        await conn.execute(
            insert(models.customer_user).values(
                tenant_id=tenant,
                user_id=user_id,
                buying_company_name=name,
                email=email,
                cell_phone=cell,
                office_phone=office,
                fact_id=uuid.uuid4(),
                **_STAMP,
            )
        )
    for branch_id, (name, city, state, active) in branches.items():
        await conn.execute(
            insert(models.branch).values(
                tenant_id=tenant,
                branch_id=branch_id,
                name=name,
                city=city,
                state=state,
                active=active,
                fact_id=uuid.uuid4(),
                **_STAMP,
            )
        )


async def rebuild_rollups(conn: AsyncConnection, tenant: uuid.UUID) -> None:
    """The dashboard's rollups of the tenant's current pulls, as ga4_complete_pull keeps them
    (the pulls here are made current without it)."""
    await conn.execute(text("SELECT analytics.ga4_rollup_rebuild(:t)"), {"t": tenant})


async def load(conn: AsyncConnection, tenant: uuid.UUID, other: uuid.UUID) -> None:
    """The whole data set: the tenant's rows and records, its staged rows, the other tenant's."""
    await add_pulls(conn, tenant, TENANT_ROWS)
    await add_pulls(conn, tenant, STAGED_ROWS, current=False)
    await add_records(conn, tenant, CUSTOMERS, BRANCHES)
    await add_pulls(conn, other, OTHER_ROWS)
    await add_records(
        conn,
        other,
        {"u1": ("Other Co", "x@other.test", None, None)},
        {"B1": ("Elsewhere", None, None, True)},
    )


def customer(user_id: str | None) -> dict[str, Any]:
    """The user fields an item of that user carries."""
    name, email, phone, office = CUSTOMERS.get(user_id or "", (None, None, None, None))
    return {"user_id": user_id, "customer_name": name, "email": email, "phone": phone,
            "office_phone": office}  # fmt: skip


def answer(data: list[dict[str, Any]], total: int, page: int = 1, limit: int = 50) -> Any:
    """A task page as the GA system answers it."""
    return {"data": data, "total": total, "page": page, "limit": limit,
            "has_more": page * limit < total}  # fmt: skip


Get = Callable[..., Awaitable[Any]]
