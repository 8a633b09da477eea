"""Email benchmark: a send job of 1,000 daily branch reports (one recipient each), built from the
warehouse, rendered and delivered to a local SMTP server (aiosmtpd, its own process) as the
worker runs it, beside a baseline measured in the same run against the same server: 1,000
copies of one pre-rendered report sent with bare aiosmtplib over one connection. The issue's
goal: the 1,000 reports in under 30 s.

The warehouse is made in SQL on a throw-away database (embedded server, migrated, dropped
afterwards): one tenant, 1,000 branches, each with eight sessions on the report's day (three
pages or one, two purchases, two abandoned carts, a failed search, searches without purchase),
500 customers.

Usage: ``uv run python scripts/bench/email_bench.py [--quick] [--rounds R]`` (``--quick``: 200
reports, one round) — ``run_all.py`` runs it too.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiosmtplib
import asyncpg
from loadgen import Options, machine, parse_options, write_report
from sqlalchemy.engine import make_url

from analytics_service.config import AnalyticsSettings
from analytics_service.reports import mailer, report, repository
from analytics_service.reports.sender import run_send_job
from common.db import Database
from common.migrations import asyncpg_dsn, migrate
from common.testing.database import create_throwaway_database, drop_database, server_url

NAME = "email"
GOAL_SECONDS = 30.0
DAY = date(2026, 11, 18)
SESSIONS = 8  # per branch
# table, columns beyond the keys, their SQL (b: branch, s: session, p: page), which rows
ROWS = [
    ("ga4_page_view", "page_location, page_title, screen_page_views",
     "'https://shop.example/p/' || (s * 3 + p), 'Page ' || (s * 3 + p), 1", "s < 4 OR p = 0"),
    ("ga4_purchase", "transaction_id, page_location, purchase_revenue, ecommerce_purchases",
     "'T-' || b || '-' || s, 'https://shop.example/checkout', 10 + s, 1", "s < 2 AND p = 0"),
    ("ga4_purchase_item", "transaction_id, item_id, item_name, item_revenue, items_purchased",
     "'T-' || b || '-' || s, 'I' || (b % 20), 'Item ' || (b % 20), 10 + s, 2", "s < 2 AND p = 0"),
    ("ga4_add_to_cart", "add_to_carts, event_value", "1, 25", "s IN (2, 3) AND p = 0"),
    ("ga4_add_to_cart_item", "item_id, item_name, items_added_to_cart",
     "'I' || (s + b % 7), 'Item ' || (s + b % 7), 1", "s IN (2, 3) AND p = 0"),
    ("ga4_no_search_results", "search_term, event_count",
     "'missing ' || (b % 30), 2", "s = 4 AND p = 0"),
    ("ga4_view_search_results", "search_term, event_count", "'term ' || (b % 9), 3",
     "s = 5 AND p = 0"),
]  # fmt: skip
DATA_TYPES = {
    "ga4_page_view": "page_views", "ga4_purchase": "purchases",
    "ga4_purchase_item": "purchase_items", "ga4_add_to_cart": "add_to_cart",
    "ga4_add_to_cart_item": "add_to_cart_items", "ga4_no_search_results": "failed_searches",
    "ga4_view_search_results": "search_results",
}  # fmt: skip


# --- the SMTP server, a process of its own ---------------------------------------------------


def sink(port: int) -> None:
    """``email_bench.py --sink PORT``: accept every message, keep nothing, until killed."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    args = [sys.executable, __file__, "--sink", str(port)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE)  # noqa: S603 - this very script
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError("the SMTP sink did not start")
    return process, port


# --- the warehouse ---------------------------------------------------------------------------


async def fill(conn: asyncpg.Connection, tenant: uuid.UUID, branches: int, port: int) -> None:
    connection = uuid.uuid4()
    for table, columns, values, which in ROWS:
        await conn.execute(
            f"""
            WITH pull AS (
                INSERT INTO analytics.ga4_current_day
                       (tenant_id, connection_id, data_type, day, pull_id, pulled_at)
                VALUES ($1, $2, $3, $4, gen_random_uuid(), now())
                RETURNING pull_id
            )
            INSERT INTO analytics.{table}
                   (tenant_id, day, pull_id, part, row_number,
                    event_time, session_id, web_user_id, branch_id, {columns})
            SELECT $1, $4, pull.pull_id, 1, row_number() OVER (),
                   $4 + make_interval(hours => 8 + s, mins => p),
                   'S-' || b || '-' || s, 'u' || ((b * {SESSIONS} + s) % 500),
                   'E' || lpad(b::text, 4, '0'), {values}
              FROM pull, generate_series(0, $5 - 1) AS b,
                   generate_series(0, {SESSIONS} - 1) AS s, generate_series(0, 2) AS p
             WHERE {which}
            """,  # noqa: S608 - names from code
            tenant,
            connection,
            DATA_TYPES[table],
            DAY,
            branches,
        )
    # The pulls are made current by hand: their dashboard rollups as ga4_complete_pull keeps them.
    await conn.execute("SELECT analytics.ga4_rollup_rebuild($1)", tenant)
    await conn.execute(
        "INSERT INTO analytics.branch (tenant_id, branch_id, name, city, state, active,"
        " created_at, updated_at, fact_id, occurred_at) SELECT $1, 'E' || lpad(b::text, 4, '0'),"
        " 'Branch ' || b, 'City', 'ST', true, now(), now(), gen_random_uuid(), now()"
        " FROM generate_series(0, $2 - 1) AS b",
        tenant,
        branches,
    )
    await conn.execute(
        "INSERT INTO analytics.customer_user (tenant_id, user_id, buying_company_name, email,"
        " cell_phone, office_phone, created_at, updated_at, fact_id, occurred_at)"
        " SELECT $1, 'u' || n, 'Customer ' || n, 'c' || n || '@shop.example', '+1 555 ' || n,"
        " NULL, now(), now(), gen_random_uuid(), now() FROM generate_series(0, 499) AS n",
        tenant,
    )
    await conn.execute(
        "INSERT INTO analytics.email_mapping (tenant_id, mapping_id, branch_code, recipients)"
        " SELECT $1, gen_random_uuid(), 'E' || lpad(b::text, 4, '0'),"
        " ARRAY['rep' || b || '@branches.example'] FROM generate_series(0, $2 - 1) AS b",
        tenant,
        branches,
    )
    await conn.execute(
        "INSERT INTO analytics.smtp_setting (tenant_id, host, port, from_address, tls_mode)"
        " VALUES ($1, '127.0.0.1', $2, 'reports@bench.example', 'none')",
        tenant,
        port,
    )
    await conn.execute("ANALYZE")


# --- the two measurements ---------------------------------------------------------------------


async def send_job(
    database: Database, settings: AnalyticsSettings, tenant: uuid.UUID
) -> tuple[float, float]:
    """A job of every branch's report, run as the worker runs it; seconds, and this process's
    CPU seconds (PostgreSQL and the SMTP server work in their own processes)."""
    async with database.sessionmaker() as session, session.begin():
        values = {"report_date": DAY, "requested_by": "bench", "skip_when_empty": False}
        job = await repository.add_job(session, tenant, values)
    began, cpu = time.perf_counter(), time.process_time()
    outcome = await run_send_job(database.sessionmaker, settings, tenant, job.job_id)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    async with database.sessionmaker() as session:
        sent, failed, skipped = await repository.delivery_counts(session, tenant, job.job_id)
    if (outcome, failed, skipped) != ("completed", 0, 0):
        raise RuntimeError(f"the job ended {outcome}: {sent} sent, {failed} failed")
    return seconds, cpu


async def bare_sends(port: int, message: Any, count: int) -> float:
    """The same pre-rendered message ``count`` times over one connection; seconds."""
    began = time.perf_counter()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench.local")
    async with client:
        for n in range(count):
            await client.send_message(message, recipients=[f"rep{n}@branches.example"])
    return time.perf_counter() - began


async def one_message(database: Database, tenant: uuid.UUID) -> Any:
    async with database.sessionmaker() as session:
        built = await report.build(session, tenant, DAY, "E0000")
    html, text = report.render(built, "https://analytics.example/analytics/email/unsubscribe")
    mail = mailer.Mail("rep0@branches.example", built.subject, text, html)
    return mailer.build_message("reports@bench.example", mail)


async def run(options: Options) -> dict[str, Any]:
    branches = 200 if options.quick else 1000
    rounds = 1 if options.quick else max(1, options.rounds)
    url = await create_throwaway_database(options.server_url or server_url())
    process, port = start_sink()
    database: Database | None = None
    try:
        settings = AnalyticsSettings(
            database_url=url, environment="development", log_to_files=False,
            smtp_allowed_destinations=[f"127.0.0.1:{port}"],
        )  # fmt: skip
        await migrate(settings)
        tenant = uuid.uuid4()
        conn = await asyncpg.connect(asyncpg_dsn(make_url(url)))
        try:
            print(f"\nemail bench: {branches:,} branch reports, {rounds} round(s)")
            began = time.perf_counter()
            await fill(conn, tenant, branches, port)
            print(f"  warehouse of {branches:,} branches in {time.perf_counter() - began:.1f} s")
        finally:
            await conn.close()
        database = Database.from_settings(settings)
        message = await one_message(database, tenant)
        baseline, job, cpu = [], [], []
        for n in range(rounds):
            baseline.append(await bare_sends(port, message, branches))
            seconds, used = await send_job(database, settings, tenant)
            job.append(seconds)
            cpu.append(used)
            print(f"  round {n + 1}: bare {baseline[-1]:.2f} s, send job {seconds:.2f} s"
                  f" (this process's CPU {used:.1f} s)")  # fmt: skip
    finally:
        if database is not None:
            await database.dispose()
        process.terminate()
        process.wait(timeout=10)
        await drop_database(url)
    base, sent = statistics.median(baseline), statistics.median(job)
    print(f"  baseline (bare aiosmtplib, {branches:,} identical messages): {base:.2f} s, "
          f"{branches / base:,.0f} messages/s")  # fmt: skip
    print(f"  send job ({branches:,} reports built, rendered, sent, recorded): {sent:.2f} s, "
          f"{branches / sent:,.0f} reports/s")  # fmt: skip
    print(f"  ratio send job / baseline: {sent / base:.1f}")
    goal = GOAL_SECONDS * branches / 1000
    print(f"  goal under {goal:.0f} s for {branches:,}: {'met' if sent < goal else 'NOT met'}")
    return {
        "machine": machine(),
        "reports": branches,
        "rounds": rounds,
        "baseline_s": [round(s, 3) for s in baseline],
        "send_job_s": [round(s, 3) for s in job],
        "send_job_cpu_s": [round(s, 3) for s in cpu],
        "connections": settings.email_send_connections,
        "ratio": round(sent / base, 2),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--sink":
        sink(int(sys.argv[2]))
        return
    options = parse_options(None, description=__doc__.split("\n\n")[0].replace("\n", " "))
    result = asyncio.run(run(options))
    print(f"wrote {write_report(NAME, result)}")


if __name__ == "__main__":
    main()
