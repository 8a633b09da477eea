"""Durable jobs and cron on Postgres (pgqueuer), one queue per service in its own schema."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter
from loguru import logger
from pgqueuer import PgQueuer
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver, AsyncpgPoolDriver
from pgqueuer.adapters.persistence.qb import (
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.core.executors import DatabaseRetryEntrypointExecutor, EntrypointExecutorParameters
from pgqueuer.domain.models import Job
from pgqueuer.domain.settings import DBSettings
from pydantic import BaseModel
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from common.config import ServiceSettings
from common.db import DbSession
from common.security import Principal, TenantRole

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]
CronHandler = Callable[[], Awaitable[None]]


def queue_settings(service: str) -> DBSettings:
    return DBSettings(db_schema=service, channel=f"meridian_{service}_jobs")


def queries_for(driver: Any, service: str) -> Queries:
    settings = queue_settings(service)
    return Queries(
        driver,
        qbe=QueryBuilderEnvironment(settings=settings),
        qbq=QueryQueueBuilder(settings=settings),
        qbs=QuerySchedulerBuilder(settings=settings),
    )


async def install_queue(conn: asyncpg.Connection, service: str) -> None:
    """Install pgqueuer's tables in the service schema, or upgrade them (idempotent)."""
    queries = queries_for(AsyncpgDriver(conn), service)
    if await queries.schema_is_installed():
        await queries.apply_upgrade()
    else:
        await queries.install(create_schema=False)


async def enqueue(
    session: AsyncSession,
    service: str,
    entrypoint: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
) -> None:
    """Queue a job inside the caller's transaction: it exists only if the transaction commits."""
    connection = await session.connection()
    # SQLAlchemy opens the database transaction lazily, at its first statement: make sure it is
    # open before pgqueuer writes on the raw connection, or the job would commit on its own.
    await connection.exec_driver_sql("SELECT 1")
    raw = await connection.get_raw_connection()
    queries = queries_for(AsyncpgDriver(raw.driver_connection), service)
    await queries.enqueue(
        entrypoint,
        json.dumps(payload).encode(),
        execute_after=delay,
        dedupe_key=dedupe_key,
        on_conflict="skip",
    )


@dataclass
class Schedule:
    name: str
    cron: str
    handler: CronHandler


@dataclass
class Loop:
    name: str
    every: float | Callable[[], float]  # seconds, or read from settings when the loop starts
    handler: CronHandler

    @property
    def every_seconds(self) -> float:
        return self.every() if callable(self.every) else self.every


@dataclass
class JobSet:
    """What a service's worker runs: job entrypoints (retried with backoff) and cron schedules.

    A schedule does not do its work itself: when it fires it queues a job of the same name, so
    scheduled work is retried with backoff too and every outcome is in the job log.
    """

    service: str
    jobs: dict[str, JobHandler] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    max_attempts: int = 5

    def job(self, name: str) -> Callable[[JobHandler], JobHandler]:
        def register(func: JobHandler) -> JobHandler:
            self.jobs[name] = func
            return func

        return register

    def cron(self, name: str, expression: str) -> Callable[[CronHandler], CronHandler]:
        def register(func: CronHandler) -> CronHandler:
            self.schedules.append(Schedule(name, expression, func))
            return func

        return register

    def loop(
        self, name: str, every: float | Callable[[], float]
    ) -> Callable[[CronHandler], CronHandler]:
        """Work that runs continuously beside the queue (the outbox relay): called again
        ``every`` seconds after it returns, until the worker stops."""

        def register(func: CronHandler) -> CronHandler:
            self.loops.append(Loop(name, every, func))
            return func

        return register

    def build(self, pool: asyncpg.Pool) -> PgQueuer:
        driver = AsyncpgPoolDriver(pool)
        settings = queue_settings(self.service)
        queries = queries_for(driver, self.service)
        pgq = PgQueuer(driver, channel=settings.channel, queries=queries)
        for name, handler in self.jobs.items():
            pgq.entrypoint(name, executor_factory=self._retrying)(_decode(name, handler))
        for schedule in self.schedules:
            job = _decode(schedule.name, _ignoring_payload(schedule.handler))
            pgq.entrypoint(schedule.name, executor_factory=self._retrying)(job)
            pgq.schedule(schedule.name, schedule.cron, clean_old=True)(_queuer(queries, schedule))
        return pgq

    def _retrying(self, params: EntrypointExecutorParameters) -> DatabaseRetryEntrypointExecutor:
        return DatabaseRetryEntrypointExecutor(
            parameters=params,
            max_attempts=self.max_attempts,
            initial_delay=timedelta(seconds=2),
            max_delay=timedelta(minutes=10),
        )


def _decode(name: str, handler: JobHandler) -> Callable[[Job], Awaitable[None]]:
    async def run(job: Job) -> None:
        payload = json.loads(job.payload or b"{}")
        logger.info("job {} #{} attempt {}", name, job.id, job.attempts + 1)
        await handler(payload)

    return run


def _ignoring_payload(handler: CronHandler) -> JobHandler:
    async def run(_: dict[str, Any]) -> None:
        await handler()

    return run


def _queuer(queries: Queries, schedule: Schedule) -> Callable[[Any], Awaitable[None]]:
    async def fire(_: Any) -> None:
        # One pending run at most: a run still queued (or retrying) absorbs the next firing.
        await queries.enqueue(schedule.name, b"{}", dedupe_key=schedule.name, on_conflict="skip")
        logger.info("schedule {} ({}) queued its job", schedule.name, schedule.cron)

    return fire


async def run_worker(jobset: JobSet, dsn: str) -> None:
    """Run the service's queue, schedules and loops until SIGINT or SIGTERM."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    pgq = jobset.build(pool)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pgq.shutdown.set)
    logger.info(
        "{} worker: jobs {}, schedules {}, loops {}",
        jobset.service,
        sorted(jobset.jobs),
        [f"{s.name} '{s.cron}'" for s in jobset.schedules],
        [f"{x.name} every {x.every_seconds}s" for x in jobset.loops],
    )
    loops = [asyncio.create_task(run_loop(x, pgq.shutdown)) for x in jobset.loops]
    try:
        await pgq.run(dequeue_timeout=timedelta(seconds=5))
    finally:
        pgq.shutdown.set()
        await asyncio.gather(*loops, return_exceptions=True)
        await pool.close()


def worker_main(jobset: JobSet, settings: ServiceSettings) -> None:
    """``python -m <service>.worker``: logging to the worker's own files, then the worker."""
    from common.db import service_url
    from common.logging import setup_logging
    from common.migrations import asyncpg_dsn

    setup_logging(settings, process="worker")
    asyncio.run(run_worker(jobset, asyncpg_dsn(service_url(settings))))


async def run_loop(work: Loop, stop: asyncio.Event) -> None:
    """Call ``work`` until ``stop`` is set; a failure is logged and the loop goes on."""
    while not stop.is_set():
        try:
            await work.handler()
        except Exception:
            logger.exception("loop {} failed; it runs again in {}s", work.name, work.every_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=work.every_seconds)


class ScheduleOut(BaseModel):
    name: str
    expression: str
    next_run: datetime
    last_run: datetime | None
    status: str | None


class QueueCountOut(BaseModel):
    entrypoint: str
    status: str
    count: int


class JobLogOut(BaseModel):
    job_id: int
    entrypoint: str
    status: str
    at: datetime


class JobsOut(BaseModel):
    schedules: list[ScheduleOut]
    queue: list[QueueCountOut]
    recent: list[JobLogOut]


def jobs_router(service: str, *, prefix: str) -> APIRouter:
    """``GET <prefix>``: the service's schedules, queue and recent job outcomes (no tenant data)."""
    router = APIRouter(prefix=prefix, tags=["jobs"])

    @router.get("", response_model=JobsOut)
    async def job_state(
        session: DbSession, _: Annotated[Principal, TenantRole("admin")]
    ) -> JobsOut:
        """State of this service's background work: schedules, queued jobs, recent outcomes."""
        schedules = await session.execute(
            sql_text(
                f"SELECT entrypoint, expression, next_run, last_run, status::text"  # noqa: S608 - identifiers from code, not input
                f" FROM {service}.pgqueuer_schedules ORDER BY entrypoint"
            )
        )
        queue = await session.execute(
            sql_text(
                f"SELECT entrypoint, status::text, count(*) FROM {service}.pgqueuer"  # noqa: S608 - identifiers from code, not input
                " GROUP BY 1, 2 ORDER BY 1, 2"
            )
        )
        recent = await session.execute(
            sql_text(
                f"SELECT job_id, entrypoint, status::text, created FROM {service}.pgqueuer_log"  # noqa: S608 - identifiers from code, not input
                " ORDER BY id DESC LIMIT 50"
            )
        )
        return JobsOut(
            schedules=[
                ScheduleOut(name=r[0], expression=r[1], next_run=r[2], last_run=r[3], status=r[4])
                for r in schedules
            ],
            queue=[QueueCountOut(entrypoint=r[0], status=r[1], count=r[2]) for r in queue],
            recent=[JobLogOut(job_id=r[0], entrypoint=r[1], status=r[2], at=r[3]) for r in recent],
        )

    return router
