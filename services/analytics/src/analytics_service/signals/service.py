"""Momentum, value scores and alerts of the caller's tenant: read by any of its users,
acknowledged and recomputed by its analysts (the SQL functions hold the rules)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics_service.signals import repository, runner
from analytics_service.signals.schemas import (
    AlertOut,
    AlertPage,
    AlertQuery,
    HistoryQuery,
    Momentum,
    RunIn,
    RunOut,
    SignalOut,
    SignalPage,
    SignalQuery,
    ValueScore,
)
from common.errors import NotFound
from common.jobs import enqueue

RUN_JOB = "analytics.signals_run"


async def list_signals(
    session: AsyncSession, tenant_id: uuid.UUID, query: SignalQuery
) -> SignalPage:
    equal = {"series_kind": query.series_kind, "momentum_status": query.status}
    rows, total = await repository.list_signals(
        session,
        tenant_id,
        {column: value for column, value in equal.items() if value is not None},
        query.as_of,
        query.sort,
        query.limit,
        query.offset,
    )
    return SignalPage.of([signal_out(row) for row in rows], total, query.limit, query.offset)


async def history(session: AsyncSession, tenant_id: uuid.UUID, query: HistoryQuery) -> SignalPage:
    found = await repository.history(
        session,
        tenant_id,
        query.series_kind,
        query.series_key,
        query.start_date,
        query.end_date,
        query.limit,
        query.offset,
    )
    if found is None:
        raise NotFound("The tenant has no such series (none computed yet).")
    rows, total = found
    return SignalPage.of([signal_out(row) for row in rows], total, query.limit, query.offset)


async def list_alerts(session: AsyncSession, tenant_id: uuid.UUID, query: AlertQuery) -> AlertPage:
    rows, total = await repository.list_alerts(
        session,
        tenant_id,
        unacknowledged=query.unacknowledged,
        series_kind=query.series_kind,
        kind=query.kind,
        since=query.since,
        limit=query.limit,
        offset=query.offset,
    )
    return AlertPage.of([alert_out(row) for row in rows], total, query.limit, query.offset)


async def acknowledge(
    session: AsyncSession, tenant_id: uuid.UUID, alert_id: uuid.UUID, by: str
) -> AlertOut:
    row = await repository.acknowledge(session, tenant_id, alert_id, by)
    if row is None:
        raise NotFound("No such alert.")
    return alert_out(row)


async def _queue_run(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tasks: Sequence[str],
    as_of: date | None,
    requested_by: str,
) -> None:
    """A run job of one tenant's tasks; the same work already queued or running is that job,
    not another."""
    payload = {
        "tenant_id": str(tenant_id),
        "tasks": list(tasks),
        "as_of": as_of.isoformat() if as_of else None,
        "requested_by": requested_by,
    }
    same = f"{tenant_id}:{','.join(sorted(tasks))}:{payload['as_of']}"
    await enqueue(session, "analytics", RUN_JOB, payload, dedupe_key=f"signals:{same}")


async def start_run(
    session: AsyncSession, tenant_id: uuid.UUID, body: RunIn, *, requested_by: str
) -> RunOut:
    """Queue the tenant's signal work now (a job of the worker, in the request's transaction)."""
    await _queue_run(session, tenant_id, body.tasks, body.as_of, requested_by)
    return RunOut(
        tenant_id=tenant_id, tasks=body.tasks, as_of=body.as_of, queued_at=datetime.now(UTC)
    )


async def queue_scheduled(
    sessions: async_sessionmaker[AsyncSession], task: str, now: datetime
) -> int:
    """A schedule's work: a run job of ``task`` for each tenant with source rows in its window,
    so that one tenant's failure retries that tenant's job only; returns how many."""
    as_of = runner.default_as_of(task, now.date())
    since = as_of - timedelta(days=runner.LOOK_BACK[task])
    async with sessions() as session, session.begin():
        pairs = await repository.tenants_with_series(session, since)
        tenants = sorted({tenant_id for tenant_id, _ in pairs})
        for tenant_id in tenants:
            await _queue_run(session, tenant_id, [task], as_of, "schedule")
    return len(tenants)


def signal_out(row: Row[Any]) -> SignalOut:
    """A series' day: its momentum and value score, each once computed."""
    values = row._mapping
    momentum = score = None
    if row.momentum_status is not None:
        momentum = Momentum.model_validate(
            {**values, "index": row.momentum_index, "status": row.momentum_status,
             "computed_at": row.momentum_at}
        )  # fmt: skip
    if row.value_score is not None:
        score = ValueScore.model_validate(
            {**values, "score": row.value_score, "computed_at": row.scored_at}
        )
    return SignalOut.model_validate({**values, "momentum": momentum, "value_score": score})


def alert_out(row: Row[Any]) -> AlertOut:
    return AlertOut.model_validate({**row._mapping, "id": row.alert_id})
