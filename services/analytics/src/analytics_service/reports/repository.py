"""Mappings, SMTP settings, send jobs, deliveries, unsubscribes and schedules: every statement
of reports/."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.models import (
    email_delivery,
    email_job,
    email_mapping,
    email_schedule,
    email_unsubscribe,
    smtp_setting,
)

# --- a daily report's parts ---------------------------------------------------------------------


async def daily_report_parts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    day: date,
    branch_code: str,
    rows: int,
    task_functions: dict[str, str],
    trend_days: int,
) -> dict[str, Any]:
    """The first ``rows`` of each task list (kind -> SQL function), the dashboard of one
    branch's day and its chart of the ``trend_days`` days ending on it, from one statement (a
    report is a thousand of these in a job)."""
    task = ":tenant, 1, :rows, NULL, :branch, :day, :day"
    columns = [f"analytics.{fn}({task}) AS {kind}" for kind, fn in task_functions.items()]
    columns.append("analytics.dashboard(:tenant, :branch, :day, :day, 'day') AS dashboard")
    columns.append(
        "analytics.dashboard(:tenant, :branch, :since, :day, 'day') -> 'chartData' AS trend"
    )
    statement = text("SELECT " + ", ".join(columns))  # function names from code, not input
    values = {
        "tenant": tenant_id,
        "rows": rows,
        "branch": branch_code,
        "day": day,
        "since": day - timedelta(days=trend_days - 1),
    }
    row = (await session.execute(statement, values)).one()
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in row._mapping.items()}


# --- mappings ----------------------------------------------------------------------------------


async def list_mappings(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[Row[Any]]:
    query = select(email_mapping).where(email_mapping.c.tenant_id == tenant_id)
    return (await session.execute(query.order_by(email_mapping.c.branch_code))).all()


async def get_mapping(
    session: AsyncSession, tenant_id: uuid.UUID, mapping_id: uuid.UUID
) -> Row[Any] | None:
    query = select(email_mapping).where(
        email_mapping.c.tenant_id == tenant_id, email_mapping.c.mapping_id == mapping_id
    )
    return (await session.execute(query)).first()


async def add_mapping(
    session: AsyncSession, tenant_id: uuid.UUID, values: dict[str, Any]
) -> Row[Any] | None:
    """The new mapping, or None when the branch has one already."""
    statement = (
        insert(email_mapping)
        .values(tenant_id=tenant_id, mapping_id=uuid.uuid4(), **values)
        .on_conflict_do_nothing()
        .returning(email_mapping)
    )
    return (await session.execute(statement)).first()


async def update_mapping(
    session: AsyncSession, tenant_id: uuid.UUID, mapping_id: uuid.UUID, values: dict[str, Any]
) -> Row[Any] | None:
    statement = (
        update(email_mapping)
        .where(email_mapping.c.tenant_id == tenant_id, email_mapping.c.mapping_id == mapping_id)
        .values(**values, updated_at=func.now())
        .returning(email_mapping)
    )
    return (await session.execute(statement)).first()


async def delete_mapping(
    session: AsyncSession, tenant_id: uuid.UUID, mapping_id: uuid.UUID
) -> bool:
    statement = delete(email_mapping).where(
        email_mapping.c.tenant_id == tenant_id, email_mapping.c.mapping_id == mapping_id
    )
    return bool((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def count_mappings(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    query = select(func.count()).where(email_mapping.c.tenant_id == tenant_id)
    return await session.scalar(query) or 0


async def enabled_mappings(
    session: AsyncSession, tenant_id: uuid.UUID, branch_codes: list[str] | None
) -> Sequence[Row[Any]]:
    query = select(email_mapping).where(
        email_mapping.c.tenant_id == tenant_id, email_mapping.c.enabled
    )
    if branch_codes is not None:
        query = query.where(email_mapping.c.branch_code.in_(branch_codes))
    return (await session.execute(query.order_by(email_mapping.c.branch_code))).all()


# --- SMTP settings -----------------------------------------------------------------------------


async def get_smtp(session: AsyncSession, tenant_id: uuid.UUID) -> Row[Any] | None:
    query = select(smtp_setting).where(smtp_setting.c.tenant_id == tenant_id)
    return (await session.execute(query)).first()


async def put_smtp(session: AsyncSession, tenant_id: uuid.UUID, values: dict[str, Any]) -> Row[Any]:
    statement = (
        insert(smtp_setting)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(
            index_elements=[smtp_setting.c.tenant_id], set_={**values, "updated_at": func.now()}
        )
        .returning(smtp_setting)
    )
    return (await session.execute(statement)).one()


async def delete_smtp(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    statement = delete(smtp_setting).where(smtp_setting.c.tenant_id == tenant_id)
    return bool((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


# --- send jobs and deliveries ------------------------------------------------------------------


async def add_job(session: AsyncSession, tenant_id: uuid.UUID, values: dict[str, Any]) -> Row[Any]:
    """A queued job: kind, report_date, branch_codes, skip_when_empty, requested_by (and a
    scheduled one's schedule_id and scheduled_for)."""
    statement = (
        insert(email_job).values(tenant_id=tenant_id, job_id=uuid.uuid4(), **values)
    ).returning(email_job)
    return (await session.execute(statement)).one()


def _job(tenant_id: uuid.UUID, job_id: uuid.UUID) -> Any:
    return (email_job.c.tenant_id == tenant_id) & (email_job.c.job_id == job_id)


async def get_job(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> Row[Any] | None:
    return (await session.execute(select(email_job).where(_job(tenant_id, job_id)))).first()


async def list_jobs(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    mine = email_job.c.tenant_id == tenant_id
    total = await session.scalar(select(func.count()).select_from(email_job).where(mine))
    query = (
        select(email_job).where(mine).order_by(email_job.c.created_at.desc(), email_job.c.job_id)
    )
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return rows, total or 0


async def claim_job(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> Row[Any] | None:
    """The job, now processing with one more attempt; None once it is finished (or unknown)."""
    statement = (
        update(email_job)
        .where(_job(tenant_id, job_id), email_job.c.status.in_(("queued", "processing")))
        .values(
            status="processing",
            attempts=email_job.c.attempts + 1,
            started_at=func.coalesce(email_job.c.started_at, func.now()),
        )
        .returning(email_job)
    )
    return (await session.execute(statement)).first()


async def finish_job(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID, status: str, error: str | None
) -> None:
    sent, failed, skipped = await delivery_counts(session, tenant_id, job_id)
    await session.execute(
        update(email_job)
        .where(_job(tenant_id, job_id))
        .values(
            status=status,
            sent=sent,
            failed=failed,
            skipped=skipped,
            error=error,
            finished_at=func.now(),
        )
    )


async def delivery_counts(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> tuple[int, int, int]:
    """(sent, failed, skipped) deliveries of the job."""
    status = email_delivery.c.status
    query = select(
        func.count().filter(status == "sent"),
        func.count().filter(status == "failed"),
        func.count().filter(status == "skipped"),
    ).where(email_delivery.c.tenant_id == tenant_id, email_delivery.c.job_id == job_id)
    sent, failed, skipped = (await session.execute(query)).one()
    return sent, failed, skipped


async def add_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Deliveries not yet recorded (a retried job keeps the states it has)."""
    if rows:
        await session.execute(insert(email_delivery).values(rows).on_conflict_do_nothing())


async def unsent_deliveries(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> Sequence[Row[Any]]:
    query = select(email_delivery).where(
        email_delivery.c.tenant_id == tenant_id,
        email_delivery.c.job_id == job_id,
        email_delivery.c.status == "pending",
    )
    order = (email_delivery.c.branch_code, email_delivery.c.recipient)
    return (await session.execute(query.order_by(*order))).all()


async def mark_delivery(
    session: AsyncSession,
    row: Row[Any],
    status: str,
    error: str | None = None,
    *,
    attempted: bool = True,
) -> None:
    await session.execute(
        update(email_delivery)
        .where(
            email_delivery.c.tenant_id == row.tenant_id,
            email_delivery.c.job_id == row.job_id,
            email_delivery.c.branch_code == row.branch_code,
            email_delivery.c.recipient == row.recipient,
        )
        .values(
            status=status,
            error=error,
            attempts=email_delivery.c.attempts + int(attempted),
            sent_at=func.now() if status == "sent" else None,
            updated_at=func.now(),
        )
    )


async def list_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Row[Any]], int]:
    where = [email_delivery.c.tenant_id == tenant_id]
    if job_id is not None:
        where.append(email_delivery.c.job_id == job_id)
    total = await session.scalar(select(func.count()).select_from(email_delivery).where(*where))
    order = (
        email_delivery.c.updated_at.desc(),
        email_delivery.c.branch_code,
        email_delivery.c.recipient,
    )
    query = select(email_delivery).where(*where).order_by(*order).limit(limit).offset(offset)
    return (await session.execute(query)).all(), total or 0


# --- unsubscribes ------------------------------------------------------------------------------


async def unsubscribe(session: AsyncSession, tenant_id: uuid.UUID, email: str) -> None:
    statement = insert(email_unsubscribe).values(tenant_id=tenant_id, email=email)
    await session.execute(statement.on_conflict_do_nothing())


async def unsubscribed(session: AsyncSession, tenant_id: uuid.UUID) -> set[str]:
    query = select(email_unsubscribe.c.email).where(email_unsubscribe.c.tenant_id == tenant_id)
    return set((await session.scalars(query)).all())


# --- schedules ---------------------------------------------------------------------------------


def _schedule(tenant_id: uuid.UUID, schedule_id: uuid.UUID) -> Any:
    return (email_schedule.c.tenant_id == tenant_id) & (email_schedule.c.schedule_id == schedule_id)


async def list_schedules(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[Row[Any]]:
    query = select(email_schedule).where(email_schedule.c.tenant_id == tenant_id)
    order = (email_schedule.c.created_at, email_schedule.c.schedule_id)
    return (await session.execute(query.order_by(*order))).all()


async def count_schedules(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    query = select(func.count()).where(email_schedule.c.tenant_id == tenant_id)
    return await session.scalar(query) or 0


async def get_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_id: uuid.UUID, *, lock: bool = False
) -> Row[Any] | None:
    query = select(email_schedule).where(_schedule(tenant_id, schedule_id))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def add_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, values: dict[str, Any]
) -> Row[Any]:
    statement = (
        insert(email_schedule)
        .values(tenant_id=tenant_id, schedule_id=uuid.uuid4(), **values)
        .returning(email_schedule)
    )
    return (await session.execute(statement)).one()


async def update_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_id: uuid.UUID, values: dict[str, Any]
) -> Row[Any] | None:
    statement = (
        update(email_schedule)
        .where(_schedule(tenant_id, schedule_id))
        .values(**values, updated_at=func.now())
        .returning(email_schedule)
    )
    return (await session.execute(statement)).first()


async def delete_schedule(
    session: AsyncSession, tenant_id: uuid.UUID, schedule_id: uuid.UUID
) -> bool:
    statement = delete(email_schedule).where(_schedule(tenant_id, schedule_id))
    return bool((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def lock_tenant_schedules(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Until the transaction ends, another one adding the tenant's default schedule waits."""
    key = func.hashtextextended(f"analytics.email_schedule:{tenant_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def claim_due_schedules(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[Row[Any]]:
    """Enabled schedules due by ``now``, locked for this transaction; rows another worker holds
    are skipped (it is queuing them), so a due time is queued once however many workers run."""
    query = (
        select(email_schedule)
        .where(email_schedule.c.enabled, email_schedule.c.next_run_at <= now)
        .order_by(email_schedule.c.next_run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).all()


async def mark_schedule_run(
    session: AsyncSession,
    schedule: Row[Any],
    next_run_at: datetime,
    ran_for: datetime,
    job_id: uuid.UUID | None,
) -> None:
    """A due time queued: when the schedule is next due, and what it last queued."""
    statement = (
        update(email_schedule)
        .where(_schedule(schedule.tenant_id, schedule.schedule_id))
        .values(next_run_at=next_run_at, last_run_at=ran_for, last_job_id=job_id)
    )
    await session.execute(statement)
