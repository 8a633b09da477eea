"""/data/ingest (GA4 jobs), /data/report-definitions, /data/availability."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from common.db import DbSession
from ingestion_service.deps import GA4Admin, GA4Analyst, GA4Reader, Settings
from ingestion_service.pulls import service
from ingestion_service.pulls.schemas import (
    AvailabilityOut,
    DefinitionIn,
    DefinitionOut,
    IngestStartIn,
    IsoDate,
    JobOut,
    JobPage,
)

router = APIRouter(tags=["GA4"])
JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


@router.post("/data/ingest/start", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
async def start_ingest(
    body: IngestStartIn, session: DbSession, caller: GA4Analyst, settings: Settings
) -> JobOut:
    """Pull the data types over the dates (inclusive) from the tenant's GA4 connections. The job
    runs in the worker; follow it at /data/ingest/jobs/{id}. Re-pulled days replace the earlier
    pull."""
    return await service.start(
        session, settings, caller.require_tenant(), body, requested_by=caller.label
    )


@router.get("/data/ingest/jobs", response_model=JobPage)
async def list_ingest_jobs(
    session: DbSession,
    caller: GA4Reader,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobPage:
    """The tenant's ingest jobs, newest first."""
    return await service.list_jobs(session, caller, status, limit, offset)


@router.get("/data/ingest/jobs/{job_id}", response_model=JobOut)
async def get_ingest_job(job_id: uuid.UUID, session: DbSession, caller: GA4Reader) -> JobOut:
    return await service.get_job(session, caller, job_id)


@router.post("/data/ingest/jobs/{job_id}/cancel", response_model=JobOut)
async def cancel_ingest_job(job_id: uuid.UUID, session: DbSession, caller: GA4Analyst) -> JobOut:
    """A queued job is cancelled at once; a running one once its requests in flight return
    (days already pulled stay)."""
    return await service.cancel(session, caller, job_id)


@router.get("/data/report-definitions", response_model=list[DefinitionOut])
async def list_report_definitions(session: DbSession, caller: GA4Reader) -> list[DefinitionOut]:
    """The data types a job may pull: the built-in ones and the tenant's own."""
    return await service.list_definitions(session, caller)


@router.post(
    "/data/report-definitions", response_model=DefinitionOut, status_code=status.HTTP_201_CREATED
)
async def add_report_definition(
    body: DefinitionIn, session: DbSession, caller: GA4Admin
) -> DefinitionOut:
    """Add a data type: a GA4 report whose rows become facts of ``fact_kind``."""
    return await service.add_definition(session, caller, body)


@router.delete("/data/report-definitions/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_report_definition(
    name: Annotated[str, Path(max_length=64)], session: DbSession, caller: GA4Admin
) -> None:
    await service.remove_definition(session, caller, name)


@router.get("/data/availability", response_model=AvailabilityOut)
async def data_availability(
    session: DbSession,
    caller: GA4Reader,
    settings: Settings,
    connection_id: uuid.UUID | None = None,
    data_type: Annotated[str | None, Query(max_length=64)] = None,
    start_date: IsoDate | None = None,
    end_date: IsoDate | None = None,
) -> AvailabilityOut:
    """Per connection and data type: first and last day, rows per day, missing days, the last
    successful pull, and the days Google may still correct."""
    return await service.availability(
        session, settings, caller, connection_id, data_type, start_date, end_date
    )
