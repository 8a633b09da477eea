"""Dashboard benchmark: the complete dashboard (``analytics.dashboard``, what
``GET /analytics/stats`` answers) for a 30-day range over a warehouse of 10,000,000 GA4 events,
beside a baseline measured in the same run on the same rows: a plain
``count(*), count(DISTINCT session_id)`` of the same 30 days of page views. The issue's goal:
under 1 s.

The events are made in SQL on a throw-away database (embedded server, migrated, dropped
afterwards): one tenant, 60 days from the first of this month, per day a current pull of each
data type; 90 % page views, the rest purchases, add-to-carts, search result views and failed
searches, sessions of about ten events, ten branches.

Usage: ``uv run python scripts/bench/dashboard_bench.py [--quick]`` (1,000,000 events) —
``run_all.py`` runs it too.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
from loadgen import Options, machine, parse_options, write_report
from sqlalchemy.engine import make_url

from analytics_service.config import AnalyticsSettings
from common.migrations import asyncpg_dsn, migrate
from common.testing.database import create_throwaway_database, drop_database, server_url

NAME = "dashboard"
DAYS = 60
RANGE_DAYS = 30
GOAL_SECONDS = 1.0
# data type, table, share of the events, the columns beyond the keys and their SQL
KINDS = [
    ("page_views", "ga4_page_view", 0.90,
     "page_location, page_title, screen_page_views",
     "'https://shop.example/p/' || (n % 5000), 'Product ' || (n % 5000), 1"),
    ("purchases", "ga4_purchase", 0.02,
     "transaction_id, page_location, purchase_revenue, ecommerce_purchases",
     "'T' || n, 'https://shop.example/checkout', 10 + (n % 90), 1"),
    ("add_to_cart", "ga4_add_to_cart", 0.04,
     "add_to_carts, event_value", "1, 5 + (n % 50)"),
    ("search_results", "ga4_view_search_results", 0.03,
     "search_term, event_count", "'term ' || (n % 300), 1"),
    ("failed_searches", "ga4_no_search_results", 0.01,
     "search_term, event_count", "'missing ' || (n % 200), 1"),
]  # fmt: skip


async def fill(conn: asyncpg.Connection, tenant: uuid.UUID, first: date, events: int) -> None:
    connection = uuid.uuid4()
    for data_type, table, share, columns, values in KINDS:
        per_day = max(1, int(events * share / DAYS))
        began = time.perf_counter()
        await conn.execute(
            f"""
            WITH days AS (
                SELECT d::date AS day, gen_random_uuid() AS pull_id
                  FROM generate_series($2::date, $2::date + ($3 - 1), interval '1 day') AS d
            ), pulled AS (
                INSERT INTO analytics.ga4_current_day
                       (tenant_id, connection_id, data_type, day, pull_id, pulled_at)
                SELECT $1, $4, $5, day, pull_id, now() FROM days
                RETURNING day, pull_id
            )
            INSERT INTO analytics.{table}
                   (tenant_id, day, pull_id, part, row_number,
                    event_time, session_id, web_user_id, branch_id, {columns})
            SELECT $1, p.day, p.pull_id, 1 + n / 1000, n,
                   p.day + make_interval(mins => n % 1440),
                   p.day || '-' || (n / 10), 'user-' || (n / 40) % 20000, 'D' || (n % 10),
                   {values}
              FROM pulled p, generate_series(0, $6 - 1) AS n
            """,  # noqa: S608 - names from code
            tenant,
            first,
            DAYS,
            connection,
            data_type,
            per_day,
        )
        print(f"  {table}: {per_day * DAYS:,} rows in {time.perf_counter() - began:.1f} s")
    await conn.execute(
        "INSERT INTO analytics.branch (tenant_id, branch_id, name, city, state, active,"
        " created_at, updated_at, fact_id, occurred_at)"
        " SELECT $1, 'D' || b, 'Branch ' || b, 'City', 'ST', true, now(), now(),"
        " gen_random_uuid(), now() FROM generate_series(0, 9) AS b",
        tenant,
    )
    await conn.execute("ANALYZE")


async def timed(conn: asyncpg.Connection, sql: str, *args: Any, rounds: int) -> float:
    await conn.fetchval(sql, *args)  # warm
    seconds = []
    for _ in range(rounds):
        began = time.perf_counter()
        await conn.fetchval(sql, *args)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


async def run(options: Options) -> dict[str, Any]:
    events = 1_000_000 if options.quick else 10_000_000
    rounds = 3 if options.quick else 5
    url = await create_throwaway_database(options.server_url or server_url())
    try:
        await migrate(AnalyticsSettings(database_url=url, environment="development"))
        conn = await asyncpg.connect(asyncpg_dsn(make_url(url)))
        try:
            tenant = uuid.uuid4()
            today = datetime.now(UTC).date()
            first = today.replace(day=1)
            print(f"\ndashboard bench: {events:,} GA4 events over {DAYS} days")
            await fill(conn, tenant, first, events)
            start, end = first + timedelta(days=15), first + timedelta(days=15 + RANGE_DAYS - 1)
            baseline = await timed(
                conn,
                "SELECT count(*) + count(DISTINCT session_id) FROM analytics.ga4_page_view"
                " WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",
                tenant,
                start,
                end,
                rounds=rounds,
            )
            dashboard = await timed(
                conn,
                "SELECT analytics.dashboard($1, NULL, $2, $3, 'day')::text",
                tenant,
                start,
                end,
                rounds=rounds,
            )
        finally:
            await conn.close()
    finally:
        await drop_database(url)
    print(f"  baseline (count of the range's page views and sessions): {baseline * 1000:.0f} ms")
    print(f"  dashboard, {RANGE_DAYS} days, by day: {dashboard * 1000:.0f} ms")
    print(f"  ratio dashboard / baseline: {dashboard / baseline:.2f}")
    met = "met" if dashboard < GOAL_SECONDS else "NOT met"
    print(f"  goal under {GOAL_SECONDS:.0f} s: {met}")
    return {
        "machine": machine(),
        "events": events,
        "range_days": RANGE_DAYS,
        "baseline_ms": round(baseline * 1000, 1),
        "dashboard_ms": round(dashboard * 1000, 1),
        "ratio": round(dashboard / baseline, 2),
    }


def main() -> None:
    options = parse_options(None, description=__doc__.split("\n\n")[0].replace("\n", " "))
    report = asyncio.run(run(options))
    print(f"wrote {write_report(NAME, report)}")


if __name__ == "__main__":
    main()
