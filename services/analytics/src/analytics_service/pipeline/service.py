"""Pipeline runs: started by a tenant's analyst (or the daily schedule), run by the worker,
read by any of the tenant's users."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.pipeline import repository
from analytics_service.pipeline.schemas import (
    REPORT_FILES,
    ReportOut,
    RunIn,
    RunOut,
    RunPage,
)
from common.errors import Conflict, NotFound
from common.jobs import enqueue

PIPELINE_JOB = "analytics.pipeline"
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
        has_more=offset + len(runs) < total,
    )


async def report(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, name: str) -> str:
    """A completed run's report as JSON text."""
    run = await _run(session, tenant_id, run_id)
    if run.status != "completed":
        raise Conflict(
            f"The run is {run.status}; its reports are there once it has completed.",
            type_slug="run-not-completed",
        )
    body = await repository.report_body(session, tenant_id, run_id, name)
    if body is None:
        raise NotFound("The run has no such report.")
    return body


async def report_file(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, file: str
) -> str:
    """A report as the seed's file: its JSON, or CSV for the curated purchases."""
    name = next(name for name, known in REPORT_FILES.items() if known == file)
    body = await report(session, tenant_id, run_id, name)
    return curated_csv(body) if file.endswith(".csv") else body


def curated_csv(body: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CURATED_COLUMNS)
    for row in json.loads(body, parse_float=Decimal):
        writer.writerow(["" if row[c] is None else _csv_value(row[c]) for c in CURATED_COLUMNS])
    return out.getvalue()


def _csv_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
