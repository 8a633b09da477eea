from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from common.db import Database, admin_url
from common.jobs import JobSet, enqueue, install_queue
from common.migrations import asyncpg_dsn, provision
from common_testing import ProbeSettings


@pytest.fixture
async def queue_dsn(probe_settings: ProbeSettings) -> str:
    await provision(probe_settings)
    dsn = asyncpg_dsn(admin_url(probe_settings))
    conn = await asyncpg.connect(dsn)
    try:
        await install_queue(conn, "probe")
        await install_queue(conn, "probe")  # a second install upgrades in place: idempotent
        await conn.execute("TRUNCATE probe.pgqueuer, probe.pgqueuer_log")
    finally:
        await conn.close()
    return dsn


async def test_failed_job_is_retried_with_backoff_then_succeeds(
    probe_settings: ProbeSettings, queue_dsn: str
) -> None:
    attempts: list[dict[str, Any]] = []
    done = asyncio.Event()
    jobset = JobSet(service="probe")

    @jobset.job("probe.flaky")
    async def flaky(payload: dict[str, Any]) -> None:
        attempts.append(payload)
        if len(attempts) == 1:
            raise RuntimeError("the outside system hiccuped")
        done.set()

    database = Database.from_settings(probe_settings)
    async with database.sessionmaker() as session, session.begin():
        await enqueue(session, "probe", "probe.flaky", {"n": 7}, dedupe_key="flaky-7")
    await database.dispose()

    pool = await asyncpg.create_pool(queue_dsn, min_size=1, max_size=4)
    pgq = jobset.build(pool)
    runner = asyncio.create_task(pgq.run(dequeue_timeout=timedelta(seconds=1)))
    try:
        await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        pgq.shutdown.set()
        await asyncio.wait_for(runner, timeout=30)
        await pool.close()
    assert attempts == [{"n": 7}, {"n": 7}]


async def test_enqueue_inside_a_rolled_back_transaction_leaves_no_job(
    probe_settings: ProbeSettings, queue_dsn: str
) -> None:
    database = Database.from_settings(probe_settings)
    async with database.sessionmaker() as session:
        await enqueue(session, "probe", "probe.any", {"x": 1})
        await session.rollback()
    await database.dispose()
    conn = await asyncpg.connect(queue_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM probe.pgqueuer") == 0
    finally:
        await conn.close()


async def test_a_loop_runs_until_stopped_and_survives_a_failure() -> None:
    from common.jobs import Loop, run_loop

    calls: list[int] = []
    stop = asyncio.Event()

    async def work() -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("a bad moment")
        if len(calls) == 4:
            stop.set()

    await asyncio.wait_for(run_loop(Loop("probe.loop", 0.01, work), stop), timeout=5)
    assert calls == [0, 1, 2, 3]
