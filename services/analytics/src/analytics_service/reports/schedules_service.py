"""Report schedules of the caller's tenant (a kind of report, a cron expression read in an IANA
time zone), the weekly summary a tenant gets by default, and the worker's queuing of the
schedules come due as send jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics_service.config import AnalyticsSettings
from analytics_service.reports import cron, jobs_service, repository
from analytics_service.reports.schemas import ScheduleIn, ScheduleList, ScheduleOut, SchedulePatch
from common.errors import Conflict, NotFound

MAX_SCHEDULES = 20  # per tenant
BATCH = 100  # schedules claimed per transaction
# FanPulse's weekly email, Monday 08:00 UTC (SEEDS.md): what a tenant mapping its first branch
# gets until it changes it.
DEFAULT_WEEKLY = {"kind": "weekly_summary", "cron": "0 8 * * 1", "time_zone": "UTC"}


def _out(row: Row[Any]) -> ScheduleOut:
    return ScheduleOut(
        id=row.schedule_id,
        kind=row.kind,
        cron=row.cron,
        time_zone=row.time_zone,
        enabled=row.enabled,
        branch_codes=row.branch_codes,
        skip_when_empty=row.skip_when_empty,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_job_id=row.last_job_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _next_run(values: dict[str, Any]) -> datetime | None:
    """The next due time after now, and after the last one queued (``last_run_at``): a clock a
    little behind the worker's must not make a due time already sent due again."""
    if not values["enabled"]:
        return None
    after = max(datetime.now(UTC), values.get("last_run_at") or datetime.min.replace(tzinfo=UTC))
    return cron.next_run(values["cron"], values["time_zone"], after)


def _branches(codes: list[str] | None) -> list[str] | None:
    return sorted(set(codes)) if codes else None


async def list_schedules(session: AsyncSession, tenant_id: uuid.UUID) -> ScheduleList:
    return ScheduleList(data=[_out(r) for r in await repository.list_schedules(session, tenant_id)])


async def get_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_id: uuid.UUID
) -> ScheduleOut:
    row = await repository.get_schedule(session, tenant_id, schedule_id)
    if row is None:
        raise NotFound("No such report schedule.")
    return _out(row)


async def add_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, body: ScheduleIn
) -> ScheduleOut:
    await repository.lock_tenant_schedules(session, tenant_id)  # the count holds until commit
    if await repository.count_schedules(session, tenant_id) >= MAX_SCHEDULES:
        raise Conflict(
            f"A tenant has at most {MAX_SCHEDULES} report schedules; change or delete one.",
            type_slug="too-many-schedules",
        )
    values = {**body.model_dump(), "branch_codes": _branches(body.branch_codes)}
    row = await repository.add_schedule(
        session, tenant_id, {**values, "next_run_at": _next_run(values)}
    )
    return _out(row)


async def update_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_id: uuid.UUID, body: SchedulePatch
) -> ScheduleOut:
    """Change what is given; a changed time, zone or switch counts the next run from now."""
    # Locked: the worker queuing it now waits, or is waited for (and its last_run_at seen).
    current = await repository.get_schedule(session, tenant_id, schedule_id, lock=True)
    if current is None:
        raise NotFound("No such report schedule.")
    changes = body.model_dump(exclude_unset=True)
    if "branch_codes" in changes:
        changes["branch_codes"] = _branches(changes["branch_codes"])
    if changes.keys() & {"cron", "time_zone", "enabled"}:
        changes["next_run_at"] = _next_run({**current._asdict(), **changes})
    if not changes:
        return _out(current)
    row = await repository.update_schedule(session, tenant_id, schedule_id, changes)
    assert row is not None  # read above in this transaction
    return _out(row)


async def delete_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_id: uuid.UUID
) -> None:
    if not await repository.delete_schedule(session, tenant_id, schedule_id):
        raise NotFound("No such report schedule.")


async def add_default(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """The weekly summary, Monday 08:00 UTC, for a tenant mapping its first branch that has no
    schedule (one that deleted its schedules while keeping mappings is left as it chose)."""
    await repository.lock_tenant_schedules(session, tenant_id)
    if await repository.count_mappings(session, tenant_id) != 1:
        return
    if await repository.count_schedules(session, tenant_id):
        return
    values = {**DEFAULT_WEEKLY, "enabled": True}
    await repository.add_schedule(session, tenant_id, {**values, "next_run_at": _next_run(values)})


# --- the worker ----------------------------------------------------------------------------------


async def queue_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: AnalyticsSettings,
    now: datetime,
    *,
    batch: int = BATCH,
) -> int:
    """Queue a send job for every enabled schedule due by ``now``, ``batch`` schedules a
    transaction; returns how many. Workers running it at once share the work."""
    queued = 0
    while True:
        async with sessionmaker() as session, session.begin():
            due = await repository.claim_due_schedules(session, now, batch)
            for schedule in due:
                queued += await _queue(session, settings, schedule, now)
        if len(due) < batch:
            return queued


async def _queue(
    session: AsyncSession, settings: AnalyticsSettings, schedule: Row[Any], now: datetime
) -> bool:
    """One job (True) for the schedule's latest due time, unless that time was queued already
    (False), its report that time's (yesterday, or the
    last whole week, in the schedule's zone), started after the tenant's stagger; the schedule
    then waits for its next due time after ``now``."""
    expression, zone = schedule.cron, schedule.time_zone
    due = cron.latest_due(expression, zone, schedule.next_run_at, now)
    start = due + cron.stagger(schedule.tenant_id, settings.email_schedule_stagger_seconds)
    values = {
        "kind": schedule.kind,
        "report_date": cron.report_date(schedule.kind, zone, due),
        "branch_codes": schedule.branch_codes,
        "skip_when_empty": schedule.skip_when_empty,
        "requested_by": "schedule",
        "schedule_id": schedule.schedule_id,
        "scheduled_for": due,
    }
    job_id = schedule.last_job_id
    try:
        async with session.begin_nested():
            job = await jobs_service.queue(
                session, schedule.tenant_id, values, delay=max(start - now, timedelta(0))
            )
            job_id = job.job_id
    except IntegrityError:  # this due time was queued already: never twice, and the others go on
        logger.warning("schedule {}: {} was queued already", schedule.schedule_id, due)
    await repository.mark_schedule_run(
        session, schedule, cron.next_run(expression, zone, now), due, job_id
    )
    if due != schedule.next_run_at:
        logger.warning("schedule {}: due since {}, sent once for {}", schedule.schedule_id,
                       schedule.next_run_at, due)  # fmt: skip
    return job_id != schedule.last_job_id
