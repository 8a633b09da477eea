"""Reads and writes of ingest jobs, their days, pulled days and report definitions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion_service.models import (
    GA4Connection,
    IngestJob,
    IngestJobDay,
    PulledDay,
    ReportDefinition,
)

ACTIVE = ("queued", "running")


@dataclass
class Progress:
    days_total: int = 0
    days_done: int = 0
    days_failed: int = 0
    rows_done: int = 0
    rows_total: int = 0
    quota_tokens: int = 0
    thresholded_days: int = 0


async def add_job(session: AsyncSession, **values: Any) -> IngestJob:
    job = IngestJob(**values)
    session.add(job)
    await session.flush()
    await session.refresh(job)
    return job


async def add_days(session: AsyncSession, job: IngestJob) -> int:
    """One row per day, data type and connection of the job."""
    result = await session.execute(
        text(
            "INSERT INTO ingestion.ingest_job_day (job_id, connection_id, data_type, day)"
            " SELECT :job_id, c, t, d::date"
            " FROM unnest(CAST(:connections AS uuid[])) AS c,"
            " unnest(CAST(:types AS text[])) AS t,"
            " generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d"
        ),
        {
            "job_id": job.id,
            "connections": job.connection_ids,
            "types": job.data_types,
            "start": job.start_date,
            "end": job.end_date,
        },
    )
    return int(getattr(result, "rowcount", 0))


async def get_job(
    session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID, *, lock: bool = False
) -> IngestJob | None:
    query = select(IngestJob).where(IngestJob.tenant_id == tenant_id, IngestJob.id == job_id)
    if lock:
        query = query.with_for_update()
    job: IngestJob | None = await session.scalar(query)
    return job


async def job_by_id(
    session: AsyncSession, job_id: uuid.UUID, *, lock: bool = False
) -> IngestJob | None:
    job: IngestJob | None = await session.get(
        IngestJob, job_id, populate_existing=True, with_for_update=lock
    )
    return job


async def list_jobs(
    session: AsyncSession, tenant_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> tuple[list[IngestJob], int]:
    where = [IngestJob.tenant_id == tenant_id]
    if status:
        where.append(IngestJob.status == status)
    total = await session.scalar(select(func.count()).select_from(IngestJob).where(*where))
    jobs = await session.scalars(
        select(IngestJob)
        .where(*where)
        .order_by(IngestJob.created_at.desc(), IngestJob.id)
        .limit(limit)
        .offset(offset)
    )
    return list(jobs), int(total or 0)


async def progress(
    session: AsyncSession, job_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Progress]:
    rows = await session.execute(
        select(
            IngestJobDay.job_id,
            func.count(),
            func.count().filter(IngestJobDay.status == "done"),
            func.count().filter(IngestJobDay.status == "failed"),
            func.coalesce(func.sum(IngestJobDay.rows), 0),
            func.coalesce(func.sum(IngestJobDay.row_count), 0),
            func.coalesce(func.sum(IngestJobDay.quota_tokens), 0),
            func.count().filter(IngestJobDay.thresholded),
        )
        .where(IngestJobDay.job_id.in_(job_ids))
        .group_by(IngestJobDay.job_id)
    )
    return {row[0]: Progress(*(int(v or 0) for v in row[1:])) for row in rows}


async def day_errors(
    session: AsyncSession, job_ids: Sequence[uuid.UUID], per_job: int = 100
) -> dict[uuid.UUID, list[IngestJobDay]]:
    numbered = (
        select(
            IngestJobDay,
            func.row_number()
            .over(
                partition_by=IngestJobDay.job_id,
                order_by=(IngestJobDay.day, IngestJobDay.data_type),
            )
            .label("n"),
        )
        .where(IngestJobDay.job_id.in_(job_ids), IngestJobDay.error.is_not(None))
        .subquery()
    )
    days = await session.execute(
        select(IngestJobDay).from_statement(
            select(numbered).where(numbered.c.n <= per_job).order_by(numbered.c.day)
        )
    )
    found: dict[uuid.UUID, list[IngestJobDay]] = {}
    for (day,) in days:
        found.setdefault(day.job_id, []).append(day)
    return found


async def tenant_needs_reconsent(
    session: AsyncSession, tenant_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(GA4Connection.tenant_id)
        .where(GA4Connection.tenant_id.in_(tenant_ids), GA4Connection.status == "needs_reconsent")
        .distinct()
    )
    return set(rows)


async def set_job(session: AsyncSession, job_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(IngestJob).where(IngestJob.id == job_id).values(**values))


async def close_pending(session: AsyncSession, job_id: uuid.UUID, status: str) -> None:
    await session.execute(
        update(IngestJobDay)
        .where(IngestJobDay.job_id == job_id, IngestJobDay.status == "pending")
        .values(status=status, finished_at=func.now())
    )


async def pending_days(session: AsyncSession, job_id: uuid.UUID) -> list[IngestJobDay]:
    return list(
        await session.scalars(
            select(IngestJobDay)
            .where(IngestJobDay.job_id == job_id, IngestJobDay.status == "pending")
            .order_by(IngestJobDay.day, IngestJobDay.connection_id, IngestJobDay.data_type)
        )
    )


async def set_day(session: AsyncSession, unit: IngestJobDay, **values: Any) -> None:
    await session.execute(
        update(IngestJobDay)
        .where(
            IngestJobDay.job_id == unit.job_id,
            IngestJobDay.connection_id == unit.connection_id,
            IngestJobDay.data_type == unit.data_type,
            IngestJobDay.day == unit.day,
        )
        .values(**values)
    )


async def replace_pulled_day(
    session: AsyncSession, tenant_id: uuid.UUID, unit: IngestJobDay, **values: Any
) -> uuid.UUID | None:
    """Record the day's new pull; returns the pull it replaces (None the first time)."""
    previous = await session.scalar(
        select(PulledDay.pull_id)
        .where(
            PulledDay.tenant_id == tenant_id,
            PulledDay.connection_id == unit.connection_id,
            PulledDay.data_type == unit.data_type,
            PulledDay.day == unit.day,
        )
        .with_for_update()
    )
    statement = insert(PulledDay).values(
        tenant_id=tenant_id,
        connection_id=unit.connection_id,
        data_type=unit.data_type,
        day=unit.day,
        **values,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "connection_id", "data_type", "day"],
            set_={**values, "pulled_at": func.now()},
        )
    )
    return previous


async def pulled_days(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    connection_ids: Sequence[uuid.UUID],
    data_type: str | None,
    start: date | None,
    end: date | None,
) -> list[PulledDay]:
    query = select(PulledDay).where(
        PulledDay.tenant_id == tenant_id, PulledDay.connection_id.in_(connection_ids)
    )
    if data_type:
        query = query.where(PulledDay.data_type == data_type)
    if start:
        query = query.where(PulledDay.day >= start)
    if end:
        query = query.where(PulledDay.day <= end)
    return list(
        await session.scalars(
            query.order_by(PulledDay.connection_id, PulledDay.data_type, PulledDay.day)
        )
    )


async def definitions(session: AsyncSession, tenant_id: uuid.UUID) -> list[ReportDefinition]:
    return list(
        await session.scalars(
            select(ReportDefinition)
            .where(ReportDefinition.tenant_id == tenant_id)
            .order_by(ReportDefinition.name)
        )
    )


async def tenants_with_connections(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(GA4Connection.tenant_id).where(GA4Connection.status != "disabled").distinct()
    )
    return list(rows)
