"""The pipeline job: a queued run's reports computed by the SQL functions and kept, or the run
marked failed with the reason."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics_service.pipeline import repository, service
from analytics_service.pipeline.schemas import REPORT_FILES, RunIn

Sessions = async_sessionmaker[AsyncSession]


async def run_pipeline(
    sessionmaker: Sessions,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    work_mem: str = "256MB",
    statement_timeout: str = "15min",
) -> str:
    """Run a queued run (again if a stopped worker left it running); returns its status. Every
    report is stored with the completion, in one transaction: a failed run keeps none."""
    async with sessionmaker() as session, session.begin():
        run = await repository.claim_run(session, tenant_id, run_id)
    if run is None:
        return "done"
    try:
        async with sessionmaker() as session, session.begin():
            await repository.prepare(session, work_mem, statement_timeout)
            timings: dict[str, int] = {}
            for name in REPORT_FILES:
                began = time.perf_counter()
                await repository.store_report(session, name, run)
                timings[name] = round((time.perf_counter() - began) * 1000)
            await repository.finish_run(session, tenant_id, run_id, "completed", timings=timings)
    except Exception as exc:  # recorded on the run: a retry would fail the same way
        logger.exception("pipeline run {} of tenant {} failed", run_id, tenant_id)
        async with sessionmaker() as session, session.begin():
            detail = f"{type(exc).__name__}: {exc}"[:2000]
            await repository.finish_run(session, tenant_id, run_id, "failed", error=detail)
        return "failed"
    logger.info("pipeline run {} of tenant {}: {}", run_id, tenant_id, timings)
    return "completed"


async def schedule_daily_runs(sessionmaker: Sessions, today: date) -> int:
    """A run as of today for every tenant with data that has no scheduled one yet."""
    async with sessionmaker() as session:
        tenants = await repository.tenants_with_data(session)
    started = 0
    for tenant_id in tenants:
        async with sessionmaker() as session, session.begin():
            if await repository.has_scheduled_run(session, tenant_id, today):
                continue
            body = RunIn(as_of=today)
            await service.start(
                session, tenant_id, body, requested_by="schedule", trigger="schedule"
            )
            started += 1
    return started


def payload_ids(payload: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.UUID(str(payload["tenant_id"])), uuid.UUID(str(payload["run_id"]))
