"""Dashboard benchmark: the complete dashboard (``analytics.dashboard``, what
``GET /analytics/stats`` answers) for a 30-day range over a warehouse of 10,000,000 GA4 events,
beside a baseline measured in the same run on the same rows: a plain
``count(*), count(DISTINCT session_id)`` of the same 30 days of page views. The issue's goal:
under 1 s.

The events are made in SQL on a throw-away database (embedded server, dropped afterwards):
one tenant, 60 days from the first of this month, per day a current pull of each data type;
90 % page views, the rest purchases, add-to-carts, search result views and failed searches,
sessions of about ten events, ten branches. They are made at the revision before the rollups,
whose dashboard and ga4_complete_pull are kept as ``*_before``; the upgrade to head then fills
the rollups (timed). In the same run: the dashboard from the rollups and from the rows (the
answers compared), and ga4_complete_pull of a 40,000-row day of page views (a second tenant with
two weeks of such days) with the rollups and without, first pull and re-pull of a day.

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
from alembic import command
from loadgen import Options, machine, parse_options, write_report
from sqlalchemy.engine import make_url

from analytics_service.config import AnalyticsSettings
from common.migrations import alembic_config, asyncpg_dsn, provision
from common.testing.database import create_throwaway_database, drop_database, server_url

NAME = "dashboard"
DAYS = 60
RANGE_DAYS = 30
GOAL_SECONDS = 1.0
BEFORE = "dc80004884ab"  # the last revision whose dashboard read the GA4 rows
SWAP_DAY_ROWS = 40_000
SWAP_DAYS = 14
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


def rows_sql(table: str, columns: str, values: str) -> str:
    """The rows n = $2 .. $3 - 1 of the tenant $1 for each (day, pull_id) of ``pulled``: sessions
    of ten rows, users of forty, ten branches."""
    return f"""
        INSERT INTO analytics.{table}
               (tenant_id, day, pull_id, part, row_number,
                event_time, session_id, web_user_id, branch_id, {columns})
        SELECT $1, p.day, p.pull_id, 1 + n / 1000, n,
               p.day + make_interval(mins => n % 1440),
               p.day || '-' || (n / 10), 'user-' || (n / 40) % 20000, 'D' || (n % 10),
               {values}
          FROM pulled p, generate_series($2::int, $3::int - 1) AS n
    """  # noqa: S608 - names from code


async def fill(conn: asyncpg.Connection, tenant: uuid.UUID, first: date, events: int,
               days: int = DAYS) -> None:  # fmt: skip
    """``events`` events over ``days`` days, a current pull a day of each data type."""
    connection = uuid.uuid4()
    for data_type, table, share, columns, values in KINDS:
        per_day = max(1, int(events * share / days))
        began = time.perf_counter()
        await conn.execute(
            f"""
            WITH days AS (
                SELECT d::date AS day, gen_random_uuid() AS pull_id
                  FROM generate_series($4::date, $4::date + ($5 - 1), interval '1 day') AS d
            ), pulled AS (
                INSERT INTO analytics.ga4_current_day
                       (tenant_id, connection_id, data_type, day, pull_id, pulled_at)
                SELECT $1, $6, $7, day, pull_id, now() FROM days
                RETURNING day, pull_id
            ), recorded AS (
                INSERT INTO analytics.ga4_pull
                       (tenant_id, pull_id, connection_id, property_id, data_type, fact_kind, day,
                        time_zone, row_table, parts, pulled_at, status, swapped_at)
                SELECT $1, pull_id, $6, '1001', $7, $8, day, 'UTC', $9, 1, now(), 'current', now()
                  FROM pulled
            )
            {rows_sql(table, columns, values)}
            """,  # noqa: S608 - names from code
            tenant, 0, per_day, first, days, connection, data_type, table.removeprefix("ga4_"),
            table,
        )  # fmt: skip
        print(f"  {table}: {per_day * days:,} rows in {time.perf_counter() - began:.1f} s")
    await conn.execute(
        "INSERT INTO analytics.branch (tenant_id, branch_id, name, city, state, active,"
        " created_at, updated_at, fact_id, occurred_at)"
        " SELECT $1, 'D' || b, 'Branch ' || b, 'City', 'ST', true, now(), now(),"
        " gen_random_uuid(), now() FROM generate_series(0, 9) AS b",
        tenant,
    )


async def stage(conn: asyncpg.Connection, tenant: uuid.UUID, day: date, offset: int) -> uuid.UUID:
    """A whole, not yet current, pull of a 40,000-row day of page views (its rows n = offset ..):
    what ga4_complete_pull swaps in."""
    pull_id, connection = (
        uuid.uuid4(),
        await conn.fetchval(
            "SELECT connection_id FROM analytics.ga4_current_day WHERE tenant_id = $1 LIMIT 1",
            tenant,
        ),
    )
    await conn.execute(
        "INSERT INTO analytics.ga4_pull (tenant_id, pull_id, connection_id, property_id, data_type,"
        " fact_kind, day, time_zone, row_table, parts, rows, pulled_at)"
        " VALUES ($1, $2, $3, '1001', 'page_views', 'page_view', $4, 'UTC', 'ga4_page_view', 1,"
        " $5, now() + interval '1 day')",
        tenant, pull_id, connection, day, SWAP_DAY_ROWS,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO analytics.ga4_pull_part (tenant_id, pull_id, part, rows)"
        " VALUES ($1, $2, 1, $3)",
        tenant, pull_id, SWAP_DAY_ROWS,
    )  # fmt: skip
    _, table, _, columns, values = KINDS[0]
    pulled = "WITH pulled AS (SELECT $4::date AS day, $5::uuid AS pull_id)"
    await conn.execute(
        f"{pulled} {rows_sql(table, columns, values)}",
        tenant, offset, offset + SWAP_DAY_ROWS, day, pull_id,
    )  # fmt: skip
    return pull_id


async def keep_before(conn: asyncpg.Connection, name: str) -> None:
    """analytics.<name>_before: the function as this revision has it."""
    definition = await conn.fetchval(
        "SELECT pg_get_functiondef(to_regproc($1))", f"analytics.{name}"
    )
    await conn.execute(
        definition.replace(f"FUNCTION analytics.{name}(", f"FUNCTION analytics.{name}_before(", 1)
    )


async def timed(conn: asyncpg.Connection, sql: str, *args: Any, rounds: int) -> float:
    await conn.fetchval(sql, *args)  # warm
    seconds = []
    for _ in range(rounds):
        began = time.perf_counter()
        await conn.fetchval(sql, *args)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


async def swap_seconds(
    conn: asyncpg.Connection, function: str, tenant: uuid.UUID, pull_id: uuid.UUID, rounds: int
) -> float:
    """Median time of making the pull current, each round rolled back."""
    seconds = []
    for _ in range(rounds):
        transaction = conn.transaction()
        await transaction.start()
        began = time.perf_counter()
        status = await conn.fetchval(f"SELECT analytics.{function}($1, $2)", tenant, pull_id)
        seconds.append(time.perf_counter() - began)
        await transaction.rollback()
        assert status == "current", status
    return statistics.median(seconds)


async def run(options: Options) -> dict[str, Any]:
    events = 1_000_000 if options.quick else 10_000_000
    rounds = 3 if options.quick else 5
    url = await create_throwaway_database(options.server_url or server_url())
    try:
        settings = AnalyticsSettings(database_url=url, environment="development")
        await provision(settings)
        cfg = alembic_config(settings)
        await asyncio.to_thread(command.upgrade, cfg, BEFORE)
        conn = await asyncpg.connect(asyncpg_dsn(make_url(url)))
        try:
            tenant, swapper = uuid.uuid4(), uuid.uuid4()
            first = datetime.now(UTC).date().replace(day=1)
            print(f"\ndashboard bench: {events:,} GA4 events over {DAYS} days")
            await fill(conn, tenant, first, events)
            print(f" and {SWAP_DAYS} days of {SWAP_DAY_ROWS:,} page views for the swaps")
            await fill(conn, swapper, first, int(SWAP_DAY_ROWS * SWAP_DAYS / 0.9), SWAP_DAYS)
            await conn.execute("ANALYZE")
            for name in ("dashboard", "ga4_complete_pull"):
                await keep_before(conn, name)
            began = time.perf_counter()
            await asyncio.to_thread(command.upgrade, cfg, "head")
            backfill = time.perf_counter() - began
            print(f"  upgrade to head, the rollups filled: {backfill:.1f} s")
            result = await measure(conn, tenant, swapper, first, rounds)
        finally:
            await conn.close()
    finally:
        await drop_database(url)
    return {"machine": machine(), "events": events, "range_days": RANGE_DAYS,
            "backfill_s": round(backfill, 1), **result}  # fmt: skip


async def measure(
    conn: asyncpg.Connection, tenant: uuid.UUID, swapper: uuid.UUID, first: date, rounds: int
) -> dict[str, Any]:
    start, end = first + timedelta(days=15), first + timedelta(days=15 + RANGE_DAYS - 1)
    asked = [(None, start, end, "day"), ("D3", start, end, "week"), (None, None, end, "month")]
    sql = "SELECT analytics.{}($1, $2, $3, $4, $5)::text"
    compare = (
        f"SELECT ({sql.format('dashboard')})::jsonb = ({sql.format('dashboard_before')})::jsonb"
    )
    same = [await conn.fetchval(compare, tenant, *each) for each in asked]
    baseline = await timed(
        conn,
        "SELECT count(*) + count(DISTINCT session_id) FROM analytics.ga4_page_view"
        " WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",
        tenant, start, end, rounds=rounds,
    )  # fmt: skip
    # more calls than PostgreSQL's five before it may switch a function to a generic plan
    after = await timed(conn, sql.format("dashboard"), tenant, *asked[0], rounds=rounds + 4)
    before = await timed(conn, sql.format("dashboard_before"), tenant, *asked[0], rounds=2)
    day = first + timedelta(days=SWAP_DAYS // 2)
    again = await stage(conn, swapper, day, SWAP_DAY_ROWS // 10)  # a tenth of the sessions new
    new_day = await stage(conn, swapper, first + timedelta(days=SWAP_DAYS), 0)
    swaps = {
        f"{case}_{function}": await swap_seconds(conn, f"ga4_complete_pull{suffix}", swapper,
                                                 pull_id, rounds)
        for case, pull_id in (("repull", again), ("first", new_day))
        for function, suffix in (("before", "_before"), ("after", ""))
    }  # fmt: skip
    report(baseline, after, before, same, swaps)
    return {"baseline_ms": round(baseline * 1000, 1), "dashboard_ms": round(after * 1000, 1),
            "dashboard_before_ms": round(before * 1000, 1), "ratio": round(after / baseline, 3),
            "ratio_before": round(before / baseline, 2), "same_answers": all(same),
            **{f"swap_{k}_ms": round(v * 1000, 1) for k, v in swaps.items()}}  # fmt: skip


def report(
    baseline: float, after: float, before: float, same: list[bool], swaps: dict[str, float]
) -> None:
    print(f"  baseline (count of the range's page views and sessions): {baseline * 1000:.0f} ms")
    print(f"  dashboard, {RANGE_DAYS} days, by day, from the rollups: {after * 1000:.0f} ms"
          f" (ratio to baseline {after / baseline:.3f})")  # fmt: skip
    print(f"  the same from the rows (before the rollups): {before * 1000:.0f} ms"
          f" (ratio {before / baseline:.2f})")  # fmt: skip
    print(f"  answers the same as from the rows: {sum(same)} of {len(same)} asked")
    met = "met" if after < GOAL_SECONDS and all(same) else "NOT met"
    print(f"  goal under {GOAL_SECONDS:.0f} s: {met}")
    for case, name in (("repull", "pulled again"), ("first", "pulled first")):
        old, new = swaps[f"{case}_before"], swaps[f"{case}_after"]
        print(f"  ga4_complete_pull, a {SWAP_DAY_ROWS:,}-row day of page views {name}:"
              f" {old * 1000:.0f} ms without rollups, {new * 1000:.0f} ms with"
              f" (+{(new - old) * 1000:.0f} ms, ratio {new / old:.1f})")  # fmt: skip


def main() -> None:
    options = parse_options(None, description=__doc__.split("\n\n")[0].replace("\n", " "))
    result = asyncio.run(run(options))
    print(f"wrote {write_report(NAME, result)}")


if __name__ == "__main__":
    main()
