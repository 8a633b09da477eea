"""Pipeline runs: started by a tenant's analyst (or the daily schedule), run by the worker,
read by any of the tenant's users."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.models import PIPELINE_BLOCK_ROWS
from analytics_service.pipeline import repository
from analytics_service.pipeline.schemas import (
    REPORT_FILES,
    ReportOut,
    RunIn,
    RunOut,
    RunPage,
)
from common.db import Database
from common.errors import Conflict, NotFound
from common.jobs import enqueue
from common.paging import has_more

PIPELINE_JOB = "analytics.pipeline"
# Blocks of a report read together: a piece of a download (about 5,000 rows, a megabyte of JSON).
PAGE_BLOCKS = 5
# The columns of purchases_curated.csv: the seed's input columns, then what curation adds.
CURATED_COLUMNS = (
    "appsflyer_id", "event_name", "event_time_utc", "revenue_usd", "campaign", "receipt_id",
    "status", "chargeback", "original_revenue_usd",
)  # fmt: skip


async def start(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    body: RunIn,
    *,
    requested_by: str,
    trigger: str = "api",
) -> RunOut:
    """Record a queued run and queue its job (both or neither)."""
    run = await repository.add_run(
        session,
        tenant_id,
        trigger=trigger,
        requested_by=requested_by,
        as_of=body.as_of or datetime.now(UTC).date(),
        match_minutes=body.match_minutes,
        amount_tolerance=body.amount_tolerance,
    )
    payload = {"tenant_id": str(tenant_id), "run_id": str(run.run_id)}
    await enqueue(session, "analytics", PIPELINE_JOB, payload)
    return _run_out(run, {})


def _run_out(run: Row[Any], reports: dict[str, int]) -> RunOut:
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = int((run.finished_at - run.started_at).total_seconds() * 1000)
    return RunOut(
        id=run.run_id,
        status=run.status,
        trigger=run.trigger,
        requested_by=run.requested_by,
        as_of=run.as_of,
        report_date=run.as_of.fromordinal(run.as_of.toordinal() - 1),
        match_minutes=run.match_minutes,
        amount_tolerance=run.amount_tolerance,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=duration,
        timings=run.timings,
        error=run.error,
        reports=[
            ReportOut(name=name, file=file, rows=reports[name])
            for name, file in REPORT_FILES.items()
            if name in reports
        ],
    )


async def get_run(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID) -> RunOut:
    run = await _run(session, tenant_id, run_id)
    reports = await repository.reports_of(session, tenant_id, [run_id])
    return _run_out(run, reports[run_id])


async def _run(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID) -> Row[Any]:
    run = await repository.get_run(session, tenant_id, run_id)
    if run is None:
        raise NotFound("No such pipeline run.")
    return run


async def list_runs(
    session: AsyncSession, tenant_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> RunPage:
    runs, total = await repository.list_runs(session, tenant_id, status, limit, offset)
    reports = await repository.reports_of(session, tenant_id, [run.run_id for run in runs])
    return RunPage(
        runs=[_run_out(run, reports[run.run_id]) for run in runs],
        total=total,
        limit=limit,
        offset=offset,
        has_more=has_more(offset, len(runs), total),
    )


async def report(
    database: Database, tenant_id: uuid.UUID, run_id: uuid.UUID, name: str
) -> AsyncIterator[str]:
    """A completed run's report as JSON text, in pieces: a page of rows per piece for the two
    reports with a row per purchase, so neither is ever whole in memory."""
    rows, body = await _completed_report(database, tenant_id, run_id, name)
    if name == "purchases_curated":
        return _json_array(_pages(database, tenant_id, run_id, (name, "json"), rows))
    if name == "reconciliation":
        details = _json_array(_pages(database, tenant_id, run_id, (name, "json"), rows))
        return _concat(f'{{"summary": {body}, "details": ', details, "}")
    return _concat(body or "")


async def report_file(
    database: Database, tenant_id: uuid.UUID, run_id: uuid.UUID, file: str
) -> AsyncIterator[str]:
    """A report as the seed's file: its JSON, or CSV for the curated purchases."""
    name = next(name for name, known in REPORT_FILES.items() if known == file)
    if not file.endswith(".csv"):
        return await report(database, tenant_id, run_id, name)
    rows, _ = await _completed_report(database, tenant_id, run_id, name)
    lines = _pages(database, tenant_id, run_id, (name, "csv"), rows)
    return _concat(",".join(CURATED_COLUMNS) + "\n", lines)


async def _completed_report(
    database: Database, tenant_id: uuid.UUID, run_id: uuid.UUID, name: str
) -> tuple[int, str | None]:
    async with database.sessionmaker() as session:
        run = await _run(session, tenant_id, run_id)
        if run.status != "completed":
            raise Conflict(
                f"The run is {run.status}; its reports are there once it has completed.",
                type_slug="run-not-completed",
            )
        kept = await repository.report_row(session, tenant_id, run_id, name)
    if kept is None:  # a run kept before its reports were rows lost its two big ones
        raise NotFound(
            f"The run has no {name} report any more: it was made before reports were kept as "
            "rows. Run the pipeline again for it."
        )
    return kept


async def _pages(
    database: Database,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    report: tuple[str, str],
    rows: int,
) -> AsyncIterator[str]:
    """A block report's rows, PAGE_BLOCKS blocks at a time, each page read in a short
    transaction of its own: no connection is held while the client takes its time."""
    blocks = -(-rows // PIPELINE_BLOCK_ROWS)
    for first in range(0, blocks, PAGE_BLOCKS):
        blocks_of_page = range(first, min(first + PAGE_BLOCKS, blocks))
        async with database.sessionmaker() as session:
            page = await repository.report_page(session, tenant_id, run_id, report, blocks_of_page)
        yield page  # the connection is back in the pool while the client reads


async def _json_array(pages: AsyncIterator[str]) -> AsyncIterator[str]:
    yield "["
    separator = ""
    async for page in pages:
        if page:
            yield separator + page
            separator = ","
    yield "]"


async def _concat(*parts: str | AsyncIterator[str]) -> AsyncIterator[str]:
    for part in parts:
        if isinstance(part, str):
            yield part
        else:
            async for piece in part:
                yield piece
