"""Signals benchmark: a tenant's momentum, spike detection and value scores (the SQL functions
each schedule's job calls, one per series kind), beside a baseline measured in the same run on
the same rows: the plain daily sums each kind's series is made of (one GROUP BY per kind over
the same 30 days, nothing else), so the figures say what the scoring costs beyond reading.

The warehouse is made in SQL on a throw-away database (embedded server, migrated, dropped
afterwards): one tenant, 35 days to yesterday; GA4 item views of 5,000 items (4 rows per item
a day) with purchase items, GA4 purchases and page views at 50 branches, AppsFlyer purchases of
200 campaigns (a new appsflyer_id every 3 rows) with a cost per campaign a day; about 2.5
million rows in all (a tenth with --quick).

Usage: ``uv run python scripts/bench/signals_bench.py [--quick] [--rounds R]`` —
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

NAME = "signals"
DAYS = 35
KINDS = ["campaign_revenue", "campaign_installs", "branch_revenue", "item_views"]
# (data type, table, rows a day at full size, its columns beyond the keys, their SQL); n is the
# row's number in its day, k the day's number
GA4 = [
    ("item_views", "ga4_view_item", 20_000, "item_id, item_name, items_viewed",
     "'I' || (n % 5000), 'Item', 1 + (n * 7 + k) % 5"),
    ("purchase_items", "ga4_purchase_item", 2_000,
     "transaction_id, item_id, item_name, item_revenue, items_purchased",
     "'T' || k || '-' || n, 'I' || (n * 3 % 5000), 'Item', 10, 1 + n % 2"),
    ("purchases", "ga4_purchase", 10_000,
     "transaction_id, page_location, purchase_revenue, ecommerce_purchases",
     "'T' || k || '-' || n, 'https://shop.example/checkout', 10 + (n * 13 + k) % 90, 1"),
    ("page_views", "ga4_page_view", 20_000, "page_location, page_title, screen_page_views",
     "'https://shop.example/p/' || (n % 500), 'Product', 1"),
]  # fmt: skip
MARKETING_ROWS_A_DAY = 20_000
CAMPAIGNS = 200
MARKETING_SUMS = """
    SELECT count(*) FROM (
        SELECT upper(btrim(campaign)), (event_time_utc AT TIME ZONE 'UTC')::date, {}
          FROM analytics.purchase_raw
         WHERE tenant_id = $1 AND event_time_utc >= $2::date::timestamp AT TIME ZONE 'UTC'
           AND event_time_utc < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'
         GROUP BY 1, 2) s"""
GA4_SUMS = """
    SELECT count(*) FROM (
        SELECT {}, day, sum({}) FROM analytics.{}
         WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 GROUP BY 1, 2) s"""
# The series' plain daily sums over [$2, $3]: what every kind's scoring reads at the least.
BASELINE = {
    "campaign_revenue": MARKETING_SUMS.format("sum(revenue_usd)"),
    "campaign_installs": MARKETING_SUMS.format("count(DISTINCT appsflyer_id)"),
    "branch_revenue": GA4_SUMS.format("branch_id", "purchase_revenue", "ga4_purchase"),
    "item_views": GA4_SUMS.format("item_id", "items_viewed", "ga4_view_item"),
}
TASKS = {
    "momentum": "SELECT stored FROM analytics.signal_store_momentum($1, $2, $3)",
    "spikes": "SELECT analytics.signal_detect_spikes($1, $2, $3)",
    "scores": "SELECT analytics.signal_store_scores($1, $2, $3)",
}


async def fill(conn: asyncpg.Connection, tenant: uuid.UUID, first: date, scale: float) -> int:
    await conn.execute(
        "INSERT INTO analytics.ga4_current_day"
        " (tenant_id, connection_id, data_type, day, pull_id, pulled_at)"
        " SELECT $1, $2, t, $3::date + k, gen_random_uuid(), now()"
        "   FROM unnest($4::text[]) AS t, generate_series(0, $5 - 1) AS k",
        tenant, uuid.uuid4(), first, [kind[0] for kind in GA4], DAYS,
    )  # fmt: skip
    total = 0
    for data_type, table, per_day, columns, values in GA4:
        rows = max(1, int(per_day * scale))
        # Each day's pull gets its rows: sessions of 4 rows, 20,000 users, 50 branches.
        await conn.execute(
            f"""
            INSERT INTO analytics.{table}
                   (tenant_id, day, pull_id, part, row_number,
                    event_time, session_id, web_user_id, branch_id, {columns})
            SELECT $1, c.day, c.pull_id, 1 + n / 1000, n, c.day + make_interval(mins => n % 1440),
                   c.day || '-' || (n / 4), 'user-' || n % 20000, 'D' || n % 50, {values}
              FROM analytics.ga4_current_day c
             CROSS JOIN LATERAL (SELECT c.day - $3::date AS k) AS day_number
             CROSS JOIN generate_series(0, $4 - 1) AS n
             WHERE c.tenant_id = $1 AND c.data_type = $2
            """,  # noqa: S608 - names from code
            tenant, data_type, first, rows,
        )  # fmt: skip
        total += rows * DAYS
    rows = max(1, int(MARKETING_ROWS_A_DAY * scale))
    await conn.execute(
        """
        INSERT INTO analytics.purchase_raw
               (tenant_id, event_time_utc, fact_id, upload_id, line, appsflyer_id, event_name,
                revenue_usd, campaign, receipt_id, status)
        SELECT $1, ($2::date + k) + make_interval(secs => n * 86400.0 / $4), gen_random_uuid(),
               $5, n, 'af-' || (k * $4 + n) / 3, 'purchase', 1 + (n * 7 + k) % 20,
               'C' || n % $6, 'r-' || k || '-' || n, 'success'
          FROM generate_series(0, $3 - 1) AS k, generate_series(0, $4 - 1) AS n
        """,
        tenant, first, DAYS, rows, uuid.uuid4(), CAMPAIGNS,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO analytics.cost_daily (tenant_id, cost_date, fact_id, upload_id, line,"
        " campaign, ad_cost_usd) SELECT $1, $2::date + k, gen_random_uuid(), $4, c, 'C' || c,"
        " 100 + c FROM generate_series(0, $3 - 1) AS k, generate_series(0, $5 - 1) AS c",
        tenant, first, DAYS, uuid.uuid4(), CAMPAIGNS,
    )  # fmt: skip
    await conn.execute("ANALYZE")
    return total + rows * DAYS + CAMPAIGNS * DAYS


async def seconds(conn: asyncpg.Connection, sql: str, *args: Any) -> float:
    began = time.perf_counter()
    await conn.fetchval(sql, *args)
    return time.perf_counter() - began


async def measure(
    conn: asyncpg.Connection, tenant: uuid.UUID, as_of: date, rounds: int
) -> dict[str, dict[str, float]]:
    """Per scenario (baseline, then each task) and kind: the median of the rounds, interleaved
    so that a busy moment of the machine falls on all of them alike."""
    found: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds + 1):  # the first round warms the caches and is left out
        for kind in KINDS:
            scenarios = {"baseline": (BASELINE[kind], as_of - timedelta(days=29), as_of)}
            scenarios |= {task: (sql, kind, as_of) for task, sql in TASKS.items()}
            for scenario, (sql, *args) in scenarios.items():
                took = await seconds(conn, sql, tenant, *args)
                found.setdefault(scenario, {}).setdefault(kind, []).append(took)
    return {
        scenario: {kind: statistics.median(times[1:]) for kind, times in kinds.items()}
        for scenario, kinds in found.items()
    }


async def run(options: Options) -> dict[str, Any]:
    scale = 0.1 if options.quick else 1.0
    rounds = options.rounds or (1 if options.quick else 3)
    url = await create_throwaway_database(options.server_url or server_url())
    try:
        await migrate(AnalyticsSettings(database_url=url, environment="development"))
        conn = await asyncpg.connect(asyncpg_dsn(make_url(url)))
        try:
            tenant, as_of = uuid.uuid4(), datetime.now(UTC).date() - timedelta(days=1)
            began = time.perf_counter()
            rows = await fill(conn, tenant, as_of - timedelta(days=DAYS - 1), scale)
            print(f"\nsignals bench: {rows:,} rows over {DAYS} days, made in "
                  f"{time.perf_counter() - began:.0f} s; {rounds} rounds")  # fmt: skip
            count = "SELECT count(*) FROM analytics.signal_daily_series($1, $2, $3, $3)"
            series = {kind: await conn.fetchval(count, tenant, kind, as_of) for kind in KINDS}
            figures = await measure(conn, tenant, as_of, rounds)
        finally:
            await conn.close()
    finally:
        await drop_database(url)
    return report(rows, series, figures)


def report(
    rows: int, series: dict[str, int], figures: dict[str, dict[str, float]]
) -> dict[str, Any]:
    baseline = sum(figures["baseline"].values())
    print(f"  {'scenario':<10} {'total ms':>9} {'ratio':>7}   per kind (ms)")
    out: dict[str, Any] = {"machine": machine(), "rows": rows, "series": series}
    for scenario, kinds in figures.items():
        total = sum(kinds.values())
        each = ", ".join(f"{kind} {ms * 1000:.0f}" for kind, ms in kinds.items())
        print(f"  {scenario:<10} {total * 1000:>9.0f} {total / baseline:>7.2f}   {each}")
        out[scenario] = {
            "ms": round(total * 1000, 1),
            "ratio_to_baseline": round(total / baseline, 2),
            "per_kind_ms": {kind: round(ms * 1000, 1) for kind, ms in kinds.items()},
        }
    print(f"  series: {series}")
    return out


def main() -> None:
    options = parse_options(None, description=__doc__.split("\n\n")[0].replace("\n", " "))
    report_ = asyncio.run(run(options))
    print(f"wrote {write_report(NAME, report_)}")


if __name__ == "__main__":
    main()
