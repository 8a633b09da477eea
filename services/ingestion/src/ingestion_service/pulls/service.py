"""Ingest jobs, report definitions and availability."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.errors import Conflict, NotFound, Unprocessable
from common.jobs import enqueue
from common.security import Principal
from ingestion_service.config import IngestionSettings
from ingestion_service.connections import repository as connections
from ingestion_service.ga4.definitions import ALIASES, BUILTIN, Definition
from ingestion_service.models import IngestJob, ReportDefinition
from ingestion_service.pulls import repository
from ingestion_service.pulls.schemas import (
    AvailabilityOut,
    ConnectionAvailability,
    DataTypeAvailability,
    DayErrorOut,
    DayOut,
    DefinitionIn,
    DefinitionOut,
    IngestStartIn,
    JobOut,
    JobPage,
)

PULL_JOB = "ingestion.ga4_pull"
# GA4 launched in 2020; Google keeps no data older than its properties.
EARLIEST = date(2015, 8, 14)


# ---- report definitions -----------------------------------------------------------------


async def definitions_for(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, Definition]:
    found = dict(BUILTIN)
    for row in await repository.definitions(session, tenant_id):
        found[row.name] = Definition(
            name=row.name,
            fact_kind=row.fact_kind,
            dimensions=list(row.dimensions),
            metrics=list(row.metrics),
            dimension_filter=row.dimension_filter,
            description=row.description,
        )
    return found


def _definition_out(definition: Definition) -> DefinitionOut:
    return DefinitionOut(
        name=definition.name,
        description=definition.description,
        fact_kind=definition.fact_kind,
        dimensions=definition.dimensions,
        metrics=definition.metrics,
        dimension_filter=definition.dimension_filter,
        builtin=definition.builtin,
    )


async def list_definitions(session: AsyncSession, caller: Principal) -> list[DefinitionOut]:
    found = await definitions_for(session, caller.require_tenant())
    return [_definition_out(d) for d in found.values()]


async def add_definition(
    session: AsyncSession, caller: Principal, body: DefinitionIn
) -> DefinitionOut:
    tenant_id = caller.require_tenant()
    if body.name in BUILTIN or body.name in ALIASES:
        raise Conflict(f"{body.name} is a built-in data type.", type_slug="definition-exists")
    row = ReportDefinition(tenant_id=tenant_id, **body.model_dump())
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"The data type {body.name} is already defined.", type_slug="definition-exists"
        ) from exc
    return _definition_out(Definition(**body.model_dump()))


async def remove_definition(session: AsyncSession, caller: Principal, name: str) -> None:
    tenant_id = caller.require_tenant()
    if name in BUILTIN:
        raise Conflict(f"{name} is a built-in data type.", type_slug="definition-builtin")
    result = await session.execute(
        delete(ReportDefinition).where(
            ReportDefinition.tenant_id == tenant_id, ReportDefinition.name == name
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"No data type {name} is defined in this tenant.")


# ---- jobs --------------------------------------------------------------------------------


def expand(names: list[str], known: dict[str, Definition]) -> list[str]:
    wanted: list[str] = []
    for name in names:
        for each in ALIASES.get(name, [name]):
            if each not in wanted:
                wanted.append(each)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise Unprocessable.at(
            ["body", "data_types"],
            f"Unknown data types: {', '.join(unknown)}.",
            type_slug="unknown-data-type",
            known=sorted([*known, *ALIASES]),
        )
    return wanted


async def start(
    session: AsyncSession,
    settings: IngestionSettings,
    tenant_id: uuid.UUID,
    body: IngestStartIn,
    *,
    requested_by: str,
    trigger: str = "api",
) -> JobOut:
    if body.start_date > body.end_date:
        raise Unprocessable.at(
            ["body", "end_date"], "start_date is after end_date.", type_slug="bad-date-range"
        )
    if body.start_date < EARLIEST:
        raise Unprocessable.at(
            ["body", "start_date"],
            f"GA4 holds no data before {EARLIEST}.",
            type_slug="bad-date-range",
        )
    if body.end_date > datetime.now(UTC).date() + timedelta(days=1):
        raise Unprocessable.at(
            ["body", "end_date"], "end_date is in the future.", type_slug="bad-date-range"
        )
    span = (body.end_date - body.start_date).days + 1
    if span > settings.ga4_max_job_days:
        raise Unprocessable.at(
            ["body", "end_date"],
            f"A job covers at most {settings.ga4_max_job_days} days; this range has {span}.",
            type_slug="bad-date-range",
        )
    data_types = expand(body.data_types, await definitions_for(session, tenant_id))
    chosen = await connections.list_for(session, tenant_id, body.connection_ids, share=True)
    if body.connection_ids is not None:
        missing = sorted({str(i) for i in body.connection_ids} - {str(c.id) for c in chosen})
        if missing:
            raise Unprocessable.at(
                ["body", "connection_ids"],
                f"Not GA4 connections of this tenant: {', '.join(missing)}.",
                type_slug="unknown-connection",
            )
    chosen = [c for c in chosen if c.status != "disabled"]
    if not chosen:
        raise Conflict(
            "No GA4 connection to pull from: register one with POST /data/ga4/connections.",
            type_slug="no-connection",
        )
    job = await repository.add_job(
        session,
        tenant_id=tenant_id,
        trigger=trigger,
        requested_by=requested_by,
        start_date=body.start_date,
        end_date=body.end_date,
        data_types=data_types,
        connection_ids=[c.id for c in chosen],
    )
    await repository.add_days(session, job)
    await enqueue(session, "ingestion", PULL_JOB, {"job_id": str(job.id)})
    return (await describe(session, [job]))[0]


async def describe(session: AsyncSession, jobs: list[IngestJob]) -> list[JobOut]:
    ids = [job.id for job in jobs]
    progress = await repository.progress(session, ids)
    errors = await repository.day_errors(session, ids)
    reconsent = await repository.tenant_needs_reconsent(session, {job.tenant_id for job in jobs})
    out = []
    for job in jobs:
        counts = progress.get(job.id, repository.Progress())
        out.append(
            JobOut(
                id=job.id,
                status=job.status,
                trigger=job.trigger,
                requested_by=job.requested_by,
                start_date=job.start_date,
                end_date=job.end_date,
                data_types=list(job.data_types),
                connection_ids=list(job.connection_ids),
                **vars(counts),
                waiting_until=job.waiting_until,
                detail=job.detail,
                needs_reconsent=job.tenant_id in reconsent,
                cancel_requested=job.cancel_requested,
                created_at=job.created_at,
                started_at=job.started_at,
                finished_at=job.finished_at,
                errors=[
                    DayErrorOut(
                        connection_id=d.connection_id,
                        data_type=d.data_type,
                        day=d.day,
                        error=d.error or "",
                    )
                    for d in errors.get(job.id, [])
                ],
            )
        )
    return out


async def list_jobs(
    session: AsyncSession, caller: Principal, status: str | None, limit: int, offset: int
) -> JobPage:
    jobs, total = await repository.list_jobs(
        session, caller.require_tenant(), status, limit, offset
    )
    return JobPage(
        jobs=await describe(session, jobs) if jobs else [],
        total=total,
        limit=limit,
        offset=offset,
        has_more=offset + len(jobs) < total,
    )


async def get_job(session: AsyncSession, caller: Principal, job_id: uuid.UUID) -> JobOut:
    job = await repository.get_job(session, caller.require_tenant(), job_id)
    if job is None:
        raise NotFound("No such ingest job in this tenant.")
    return (await describe(session, [job]))[0]


async def cancel(session: AsyncSession, caller: Principal, job_id: uuid.UUID) -> JobOut:
    """A queued job stops at once; a running one after the requests in flight."""
    job = await repository.get_job(session, caller.require_tenant(), job_id, lock=True)
    if job is None:
        raise NotFound("No such ingest job in this tenant.")
    if job.status not in repository.ACTIVE:
        raise Conflict(f"The job is already {job.status}.", type_slug="job-finished")
    if job.status == "queued":
        await repository.close_pending(session, job.id, "cancelled")
        await repository.set_job(
            session,
            job.id,
            status="cancelled",
            cancel_requested=True,
            waiting_until=None,
            detail=f"cancelled by {caller.label}",
            finished_at=datetime.now(UTC),
        )
    else:
        await repository.set_job(session, job.id, cancel_requested=True)
    await session.refresh(job)
    return (await describe(session, [job]))[0]


# ---- availability -------------------------------------------------------------------------


async def availability(
    session: AsyncSession,
    settings: IngestionSettings,
    caller: Principal,
    connection_id: uuid.UUID | None,
    data_type: str | None,
    start: date | None,
    end: date | None,
) -> AvailabilityOut:
    tenant_id = caller.require_tenant()
    chosen = await connections.list_for(
        session, tenant_id, [connection_id] if connection_id else None
    )
    if connection_id and not chosen:
        raise NotFound("No such GA4 connection in this tenant.")
    days = await repository.pulled_days(
        session, tenant_id, [c.id for c in chosen], data_type, start, end
    )
    by_key: dict[tuple[uuid.UUID, str], list[DayOut]] = {}
    out = []
    for connection in chosen:
        today = datetime.now(ZoneInfo(connection.time_zone)).date()
        window_start = today - timedelta(days=settings.ga4_processing_days)
        for pulled in (d for d in days if d.connection_id == connection.id):
            by_key.setdefault((connection.id, pulled.data_type), []).append(
                DayOut(
                    day=pulled.day,
                    rows=pulled.rows,
                    pulled_at=pulled.pulled_at,
                    thresholded=pulled.thresholded,
                    other_row=pulled.other_row,
                    in_processing_window=pulled.day >= window_start,
                )
            )
        types = sorted({t for (c, t) in by_key if c == connection.id})
        out.append(
            ConnectionAvailability(
                connection_id=connection.id,
                property_id=connection.property_id,
                display_name=connection.display_name,
                status=connection.status,
                time_zone=connection.time_zone,
                data_types=[_summary(t, by_key[(connection.id, t)]) for t in types],
            )
        )
    return AvailabilityOut(connections=out)


def _summary(data_type: str, days: list[DayOut]) -> DataTypeAvailability:
    first, last = days[0].day, days[-1].day
    have = {d.day for d in days}
    missing = [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if first + timedelta(days=n) not in have
    ]
    return DataTypeAvailability(
        data_type=data_type,
        first_day=first,
        last_day=last,
        days_pulled=len(days),
        rows=sum(d.rows for d in days),
        missing_days=missing,
        last_successful_pull=max(d.pulled_at for d in days),
        processing_days=[d.day for d in days if d.in_processing_window],
        days=days,
    )
