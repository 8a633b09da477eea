"""Every benchmark (``make bench``): each prints its figures as ratios to a baseline measured in the
same run (auth: a bare FastAPI endpoint; ingestion and uploads: a plain COPY of the same rows;
GA4: the fake Data API's raw serving rate; the pipeline: pandas on the same data; the dashboard: a
plain count; signals: the plain daily sums of the same rows; email: bare aiosmtplib sending to the
same SMTP server) and writes ``var/bench/<name>.json``.

Usage: ``uv run python scripts/bench/run_all.py [--quick] [--duration S] [--concurrency N]
[--batch-concurrency N] [--rounds R] [--warmup S] [--server-url URL]``. ``--quick`` is a ~3 s
per scenario smoke run.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import auth_bench
import dashboard_bench
import email_bench
import ga4_bench
import ingestion_bench
import pipeline_bench
import signals_bench
import upload_bench
from loadgen import parse_options, write_report

BENCHMARKS = [
    auth_bench,
    ingestion_bench,
    upload_bench,
    ga4_bench,
    pipeline_bench,
    dashboard_bench,
    signals_bench,
    email_bench,
]


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv, description=__doc__.split("\n\n")[0].replace("\n", " "))
    began = time.monotonic()
    for bench in BENCHMARKS:
        report = asyncio.run(bench.run(options))
        print(f"\nwrote {write_report(bench.NAME, report)}")
    print(f"benchmarks done in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
