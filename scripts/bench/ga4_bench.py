"""GA4 benchmark: rows per second an ingest job pulls from the local fake of the GA4 Data API
(Google's client over REST, pages of 10,000, at most 10 requests in flight, facts written to the
outbox a day per transaction), beside the fake's raw serving rate measured in the same run: the
same pages fetched with plain httpx and parsed, nothing stored.

The fake runs as its own process (``python -m common.testing.ga4``) with ``--days`` days of
``--rows-per-day`` distinct page views; the pull runs in this process as the worker would run
it, on a throw-away database (embedded server, migrated, dropped afterwards). Auth is left out:
the token is a fixed one the fake accepts.

Usage: ``uv run python scripts/bench/ga4_bench.py [--quick]`` (``run_all.py`` runs it too).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from loadgen import Options, machine, parse_options, write_report

from common.db import Database
from common.migrations import migrate
from common.testing.database import create_throwaway_database, drop_database, server_url
from common.testing.servers import free_port
from ingestion_service.config import IngestionSettings
from ingestion_service.connections import repository as connections
from ingestion_service.ga4.client import GA4Api
from ingestion_service.pulls import service as pulls
from ingestion_service.pulls.runner import Puller
from ingestion_service.pulls.schemas import IngestStartIn

NAME = "ga4"
PROPERTY = "1001"
FIRST_DAY = date(2026, 11, 1)
PAGE = 10_000
DIMENSIONS = [
    "dateHourMinute",
    "customEvent:ga_session_id",
    "customUser:web_user_id",
    "customEvent:branch_id",
    "pageLocation",
    "pageTitle",
]


class FixedToken:
    """Stands in for auth's grant endpoint: the fake accepts any bearer token."""

    async def get(self, tenant_id: uuid.UUID, *, refused: bool = False) -> str:
        return "bench-token"


async def _wait_for(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the fake GA4 did not start")


async def raw_rate(base: str, days: int, rows_per_day: int) -> tuple[int, float]:
    """Every page of every day with plain httpx, 10 at a time, JSON parsed: rows and seconds."""
    gate = asyncio.Semaphore(10)
    rows = 0

    async def page(client: httpx.AsyncClient, day: date, offset: int) -> None:
        nonlocal rows
        body = {
            "dimensions": [{"name": d} for d in DIMENSIONS],
            "metrics": [{"name": "screenPageViews"}],
            "dateRanges": [{"startDate": day.isoformat(), "endDate": day.isoformat()}],
            "dimensionFilter": {
                "filter": {"fieldName": "eventName", "stringFilter": {"value": "page_view"}}
            },
            "offset": str(offset),
            "limit": str(PAGE),
            "returnPropertyQuota": True,
        }
        async with gate:
            response = await client.post(
                f"{base}/v1beta/properties/{PROPERTY}:runReport",
                json=body,
                headers={"Authorization": "Bearer raw"},
            )
        rows += len(response.json().get("rows", []))

    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(
            *(
                page(client, FIRST_DAY + timedelta(days=n), offset)
                for n in range(days)
                for offset in range(0, rows_per_day, PAGE)
            )
        )
    return rows, time.perf_counter() - began


async def pull_rate(url: str, base: str, days: int) -> tuple[int, float]:
    settings = IngestionSettings(
        database_url=url, environment="development", log_to_files=False, ga4_api_url=base
    )
    await migrate(settings)
    database = Database.from_settings(settings)
    tenant_id = uuid.uuid4()
    async with database.sessionmaker() as session, session.begin():
        await connections.add(
            session,
            tenant_id,
            property_id=PROPERTY,
            time_zone="UTC",
            session_id_dimension=DIMENSIONS[1],
            web_user_id_dimension=DIMENSIONS[2],
            branch_id_dimension=DIMENSIONS[3],
            created_by="bench",
        )
        job = await pulls.start(
            session,
            settings,
            tenant_id,
            IngestStartIn(
                start_date=FIRST_DAY,
                end_date=FIRST_DAY + timedelta(days=days - 1),
                data_types=["page_views"],
            ),
            requested_by="bench",
        )
    api = GA4Api(settings)
    puller = Puller(settings, database.sessionmaker, api, FixedToken())  # type: ignore[arg-type]
    began = time.perf_counter()
    await puller.run(job.id)
    elapsed = time.perf_counter() - began
    async with database.sessionmaker() as session:
        done = await pulls.describe(
            session,
            [await pulls.repository.job_by_id(session, job.id)],  # type: ignore[list-item]
        )
    api.close()
    await database.dispose()
    if done[0].status != "completed":
        raise RuntimeError(f"the pull ended {done[0].status}: {done[0].detail}")
    return done[0].rows_done, elapsed


async def run(options: Options) -> dict[str, Any]:
    days, rows_per_day = (2, 20_000) if options.quick else (5, 40_000)
    port = free_port()
    fake = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "common.testing.ga4",
        "--port",
        str(port),
        "--property",
        PROPERTY,
        "--first-day",
        FIRST_DAY.isoformat(),
        "--days",
        str(days),
        "--rows-per-day",
        str(rows_per_day),
    )
    base = f"http://127.0.0.1:{port}"
    url = await create_throwaway_database(options.server_url or server_url())
    try:
        await _wait_for(base)
        await raw_rate(base, days, rows_per_day)  # warms the fake's report cache
        raw_rows, raw_s = await raw_rate(base, days, rows_per_day)
        pulled_rows, pull_s = await pull_rate(url, base, days)
    finally:
        fake.terminate()
        await fake.wait()
        await drop_database(url)
    raw = raw_rows / raw_s
    pulled = pulled_rows / pull_s
    print(f"\nGA4 pull: {days} days x {rows_per_day} rows, pages of {PAGE}")
    print(f"  fake, raw (httpx + JSON): {raw_rows} rows in {raw_s:.2f} s = {raw:,.0f} rows/s")
    print(f"  ingest job (client + outbox): {pulled_rows} rows in {pull_s:.2f} s = {pulled:,.0f}")
    print(f"  ratio pull / raw: {pulled / raw:.3f}")
    return {
        "machine": machine(),
        "days": days,
        "rows_per_day": rows_per_day,
        "raw_rows_per_s": round(raw),
        "pull_rows_per_s": round(pulled),
        "ratio": round(pulled / raw, 3),
    }


def main() -> None:
    options = parse_options(None, description=__doc__.split("\n\n")[0].replace("\n", " "))
    report = asyncio.run(run(options))
    print(f"wrote {write_report(NAME, report)}")


if __name__ == "__main__":
    main()
