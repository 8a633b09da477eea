"""Upload benchmark: a 1,000,000-row ``purchases_raw.csv`` through ``POST /data/uploads/
purchases_raw`` (rows per second, and the ingestion process's peak memory), beside the baseline
measured in the same run on the same database: a plain ``COPY`` of the same file into a table of
the file's shape.

On a throw-away database (migrated for auth and ingestion, seeded, dropped afterwards) it serves
``python -m auth_service`` (the JWKS, and the token exchange of a server API key holding
``uploads:write``) and ``python -m ingestion_service`` as separate processes, as the ingestion
benchmark does. The file is generated once, deterministically, under ``var/bench/`` (about 80 MB;
every row distinct, one in five with a ``,`` decimal), and streamed with httpx in 1 MiB chunks
(its length declared: uvicorn takes a chunked body in at half the speed).

- ``upload``: the file's rows / the seconds from the first byte sent to the answer; the answer
  must count every row inserted and none refused. Peak memory is the server's ``VmHWM`` (Linux).
- ``copy``: ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` of the same file (asyncpg
  ``copy_to_table``) into ``bench_scratch.purchases_raw``, the file's seven columns (the time as
  timestamptz, the rest text: ``12,50`` is no number to COPY).

Usage: ``uv run python scripts/bench/upload_bench.py [--quick]`` (``--quick``: 100,000 rows);
``scripts/bench/run_all.py`` runs it with every other benchmark.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import httpx
from ingestion_bench import machine_token, seed, start_services
from loadgen import Options, child_pid, machine, parse_options, process_cpu_seconds, write_report
from sqlalchemy.engine import make_url

from auth_service.config import AuthSettings
from common.config import PROJECT_ROOT
from common.migrations import asyncpg_dsn, migrate
from common.testing.database import create_throwaway_database, drop_database, server_url
from ingestion_service.config import IngestionSettings

NAME = "upload"
OUT_DIR = PROJECT_ROOT / "var" / "bench"
ROWS, QUICK_ROWS = 1_000_000, 100_000
HEADER = "appsflyer_id,event_name,event_time_utc,revenue_usd,campaign,receipt_id,status"
CAMPAIGNS = ("Summer_Sale", "Winter_Push", "UA_Broad", "Retarget_D7", "Brand")
CHUNK = 1 << 20


def make_file(rows: int) -> Path:
    """``purchases_raw.csv`` of ``rows`` distinct rows, the same bytes every time."""
    path = OUT_DIR / f"purchases_raw-{rows}.csv"
    if path.exists():
        return path
    rng = random.Random(20261122)
    start = datetime(2025, 10, 1, tzinfo=UTC)
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            at = start + timedelta(seconds=i * 2 + rng.randrange(2))
            cents = rng.randrange(99, 10_000)
            revenue = f'"{cents // 100},{cents % 100:02d}"' if i % 5 == 0 else f"{cents / 100:.2f}"
            status = "chargeback" if i % 50 == 0 else "success"
            out.write(
                f"af-{rng.randrange(10**9):09d},purchase,{at:%Y-%m-%d %H:%M:%S},{revenue},"
                f"{CAMPAIGNS[i % len(CAMPAIGNS)]},r-{i:08d},{status}\n"
            )
    partial.rename(path)
    return path


def peak_rss_mib(pid: int | None) -> float | None:
    """The process's peak resident memory so far (VmHWM, Linux), in MiB."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


async def upload(port: int, token: str, path: Path, size: int) -> tuple[dict[str, Any], float]:
    """POST the file, streamed; the answer and the seconds it took."""
    # With its length: a chunked body of the same bytes is taken in at half the speed.
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "text/csv",
        "Content-Length": str(size),
    }
    url = f"http://127.0.0.1:{port}/data/uploads/purchases_raw?filename={path.name}"
    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0)) as client:
        began = time.perf_counter()
        answer = await client.post(url, content=file_chunks(path), headers=headers)
        elapsed = time.perf_counter() - began
    if answer.status_code != 201:
        raise RuntimeError(f"upload: HTTP {answer.status_code}: {answer.text[:500]}")
    body: dict[str, Any] = answer.json()
    return body, elapsed


async def copy_baseline(dsn: str, path: Path) -> float:
    """Seconds of a plain COPY of the file into a table of its shape."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "CREATE SCHEMA IF NOT EXISTS bench_scratch;"
            " CREATE TABLE bench_scratch.purchases_raw (appsflyer_id text, event_name text,"
            " event_time_utc timestamptz, revenue_usd text, campaign text, receipt_id text,"
            " status text)"
        )
        began = time.perf_counter()
        await connection.copy_to_table(
            "purchases_raw", schema_name="bench_scratch", source=path, format="csv", header=True
        )
        return time.perf_counter() - began
    finally:
        await connection.close()


async def run(options: Options) -> dict[str, Any]:
    """Set up, measure, tear down; print the figures and return the report."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    began, host = time.monotonic(), machine()
    rows = QUICK_ROWS if options.quick else ROWS
    path = make_file(rows)
    url = await create_throwaway_database(options.server_url or server_url())
    try:
        auth_settings = AuthSettings(
            database_url=url, environment="development", log_to_files=False
        )
        await migrate(auth_settings)
        await migrate(
            IngestionSettings(database_url=url, environment="development", log_to_files=False)
        )
        _, api_key = await seed(auth_settings, scope="uploads:write")
        async with AsyncExitStack() as stack:
            auth_base, ingestion_port = await start_services(
                stack, url, "ingestion-upload-service.log"
            )
            token = await machine_token(auth_base, api_key)
            pid = child_pid("ingestion_service")
            rss_before = peak_rss_mib(pid)
            cpu_before = process_cpu_seconds(pid)
            print(f"upload bench: {rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB", flush=True)
            answer, upload_s = await upload(ingestion_port, token, path, path.stat().st_size)
            cpu_after = process_cpu_seconds(pid)
            rss_peak = peak_rss_mib(pid)
            copy_s = await copy_baseline(asyncpg_dsn(make_url(url)), path)
    finally:
        await drop_database(url)

    if (answer["rows_inserted"], answer["rows_error"]) != (rows, 0):
        raise RuntimeError(f"the upload did not take every row in: {answer}")
    upload_rate, copy_rate = rows / upload_s, rows / copy_s
    server_cpu = (
        None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / upload_s
    )
    print(
        f"upload  {upload_rate:9.0f} rows/s ({upload_s:.1f} s)"
        f"  server peak RSS {rss_peak:.0f} MiB (at start {rss_before:.0f} MiB)"
        f"  server cpu {server_cpu:.2f}"
    )
    print(f"copy    {copy_rate:9.0f} rows/s ({copy_s:.1f} s; the baseline: COPY of the same file)")
    print(f"ratio   {upload_rate / copy_rate:.3f} upload / COPY")
    return {
        "benchmark": NAME,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": host,
        "options": {**options.as_dict(), "rows": rows},
        "wall_s": round(time.monotonic() - began, 1),
        "file": {"rows": rows, "bytes": path.stat().st_size},
        "upload": {
            "seconds": round(upload_s, 2),
            "rows_per_s": round(upload_rate, 1),
            "server_peak_rss_mib": None if rss_peak is None else round(rss_peak, 1),
            "server_rss_at_start_mib": None if rss_before is None else round(rss_before, 1),
            "server_cpu": None if server_cpu is None else round(server_cpu, 2),
            "answer": {k: v for k, v in answer.items() if k.startswith("rows_")},
        },
        "copy": {"seconds": round(copy_s, 2), "rows_per_s": round(copy_rate, 1)},
        "ratio_to_copy": round(upload_rate / copy_rate, 4),
    }


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv, description=__doc__.split("\n\n")[0].replace("\n", " "))
    report = asyncio.run(run(options))
    print(f"\nwrote {write_report(NAME, report)}")


if __name__ == "__main__":
    main()
