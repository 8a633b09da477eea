"""The dashboard from its rollups is the dashboard from the rows: the function as it was before
the rollups (its text in the migration history) answers the same on seeded random pulls full of
what daily rollups cannot simply add up (sessions and transactions over several days and
branches, rows without a session, user or branch, a branch called '', a second connection),
pulled again, pulled stale, emptied; and rollups kept swap after swap are those rebuilt anew."""

from __future__ import annotations

import ast
import json
import random
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
import sales_data
from ga4_testing import Pull, send
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service import models
from analytics_testing import Callers
from common.config import PROJECT_ROOT

# The dashboard as the rows gave it, until the rollups came (revision 76c6b4aaeb74).
ROWS_DASHBOARD = PROJECT_ROOT / "database/analytics/versions/2026-11-22-1214_dashboard_function.py"
DAYS = ["2026-11-15", "2026-11-16", "2026-11-17", "2026-11-18"]  # a Sunday, then Monday on
KINDS = ["page_view", "purchase", "add_to_cart", "view_search_results", "no_search_results"]
SECOND_CONNECTION = uuid.UUID("0c0c0c0c-1111-4222-8333-777777777777")
PULLED_AT = [f"2026-11-{day}T05:00:00Z" for day in (18, 19, 20, 21)]
# (location, start, end, granularity)
ASKED = [
    (None, None, None, "day"),
    (None, "2026-11-16", "2026-11-17", "week"),
    ("B1", None, "2026-11-17", "day"),
    ("", "2026-11-15", None, "month"),
    ("B2", "2026-11-16", "2026-11-18", "week"),
    (None, "2026-11-17", "2026-11-17", "day"),
]
ROLLUPS = ["ga4_day_total", "ga4_visit_day", "ga4_visitor_days", "ga4_purchase_piece",
           "ga4_sale_day", "ga4_cart_day"]  # fmt: skip


def _rows_dashboard() -> str:
    """CREATE FUNCTION pg_temp.dashboard_from_rows, from the history's text of the dashboard."""
    for node in ast.walk(ast.parse(ROWS_DASHBOARD.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PGFunction":
            given = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            signature = given["signature"].replace("dashboard(", "pg_temp.dashboard_from_rows(")
            return f"CREATE FUNCTION {signature} {given['definition']}"
    raise AssertionError("no dashboard in the history")


def _row(rng: random.Random, kind: str, day: str) -> dict[str, Any]:
    hour, minute = rng.randrange(24), rng.randrange(60)
    moment = None if rng.random() < 0.1 else f"{day}T{hour:02d}:{minute:02d}:00+00:00"
    keys = {"event_time": moment, "session_id": rng.choice(["s1", "s2", "s3", "s4", "s5", None]),
            "web_user_id": rng.choice(["u1", "u2", "u3", None]),
            "branch_id": rng.choice(["B1", "B2", "", None])}  # fmt: skip
    if kind == "page_view":
        where = f"https://shop.test/{rng.choice('abcd')}"
        return {**keys, "page_location": where, "page_title": "P", "screen_page_views": 1}
    if kind == "purchase":
        return {**keys, "transaction_id": rng.choice(["T1", "T2", "T3", None]),
                "page_location": "https://shop.test/checkout",
                "purchase_revenue": rng.choice(["10", "2.50", "0.125", "7"]),
                "ecommerce_purchases": 1}  # fmt: skip
    if kind == "add_to_cart":
        return {**keys, "add_to_carts": 1, "event_value": "5"}
    return {**keys, "search_term": "x", "event_count": rng.choice([1, 2, 3])}


def _pull(rng: random.Random, tenant: uuid.UUID, kind: str, day: str, **how: Any) -> Pull:
    rows = [_row(rng, kind, day) for _ in range(rng.randrange(9))]
    return Pull(tenant, rows, data_type=models.GA4_KINDS[kind][0], fact_kind=kind, day=day, **how)


def _rounds(rng: random.Random, tenant: uuid.UUID) -> list[list[Pull]]:
    """Every day of every kind; then some pulled again, by a second connection, stale; then the
    second connection's again and some days emptied."""
    every = [(kind, day) for kind in KINDS for day in DAYS]
    again, seconds, stale, emptied = (rng.sample(every, n) for n in (5, 4, 3, 3))
    first = [_pull(rng, tenant, k, d, pulled_at=PULLED_AT[1]) for k, d in every]
    second = [
        *(_pull(rng, tenant, k, d, pulled_at=PULLED_AT[2]) for k, d in again),
        *(_pull(rng, tenant, k, d, pulled_at=PULLED_AT[2], connection=SECOND_CONNECTION)
          for k, d in seconds),
        *(_pull(rng, tenant, k, d, pulled_at=PULLED_AT[0]) for k, d in stale),
    ]  # fmt: skip
    third = [
        *(_pull(rng, tenant, k, d, pulled_at=PULLED_AT[3], connection=SECOND_CONNECTION)
          for k, d in seconds),
        *(Pull(tenant, [], data_type=models.GA4_KINDS[k][0], fact_kind=k, day=d,
               pulled_at=PULLED_AT[3]) for k, d in emptied),
    ]  # fmt: skip
    return [first, second, third]


async def _answers(conn: AsyncConnection, tenant: uuid.UUID, asked: tuple[Any, ...]) -> Any:
    location, start, end, granularity = asked
    start, end = (date.fromisoformat(bound) if bound else None for bound in (start, end))
    params = {"t": tenant, "l": location, "s": start, "e": end, "g": granularity}
    args = "CAST(:t AS uuid), CAST(:l AS text), CAST(:s AS date), CAST(:e AS date), :g"
    row = (
        await conn.execute(
            text(f"SELECT analytics.dashboard({args}), pg_temp.dashboard_from_rows({args})"),
            params,
        )
    ).one()
    return [json.loads(answer) if isinstance(answer, str) else answer for answer in row]


async def _rollups(conn: AsyncConnection, tenant: uuid.UUID) -> dict[str, list[Any]]:
    kept = {}
    for table in ROLLUPS:
        rows = await conn.execute(
            text(f"SELECT * FROM analytics.{table} WHERE tenant_id = :t"),  # noqa: S608 - names from code
            {"t": tenant},
        )
        kept[table] = sorted((tuple(map(str, row)) for row in rows), key=repr)
    return kept


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_rollups_give_what_the_rows_give(
    client: httpx.AsyncClient, callers: Callers, conn: AsyncConnection, seed: int
) -> None:
    await conn.exec_driver_sql(_rows_dashboard())
    rng = random.Random(seed)
    tenants = [uuid.uuid4(), uuid.uuid4()]
    branches = {"B1": ("North", None, None, True), "B2": ("South", None, None, True),
                "": ("Unnamed", None, None, True), "B3": ("Closed", None, None, False)}  # fmt: skip
    for tenant in tenants:
        await sales_data.add_records(conn, tenant, {}, branches)
    rounds = {tenant: _rounds(rng, tenant) for tenant in tenants}
    for n in range(3):
        for tenant in tenants:
            for pull in rounds[tenant][n]:
                response = await send(client, callers, pull.facts)
                assert response.status_code == 200, response.text
        for tenant in tenants:
            for asked in ASKED:
                from_rollups, from_rows = await _answers(conn, tenant, asked)
                assert from_rollups == from_rows, (n, asked)
            kept = await _rollups(conn, tenant)
            await sales_data.rebuild_rollups(conn, tenant)
            assert await _rollups(conn, tenant) == kept
