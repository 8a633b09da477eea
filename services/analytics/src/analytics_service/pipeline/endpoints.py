"""/analytics/pipeline: start runs of the marketing pipeline, follow them, read their reports
(and the seed's POST /run-pipeline)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from analytics_service.pipeline import service
from analytics_service.pipeline.schemas import (
    FileName,
    ReportName,
    RunIn,
    RunOut,
    RunPage,
    RunStatus,
)
from common.db import Database, DbSession
from common.security import Principal, TenantRole

router = APIRouter(tags=["pipeline"])
Runner = Annotated[Principal, TenantRole("analyst")]
Reader = Annotated[Principal, TenantRole("viewer")]
_JSON = {"content": {"application/json": {}}, "description": "The report."}


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


# Reports are read a page at a time, each page in a short transaction of its own (instead of the
# request's one, DbSession): a download of a million rows holds no connection while it is sent.
Db = Annotated[Database, Depends(_database)]


@router.post("/analytics/pipeline/run", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
async def run_pipeline(session: DbSession, caller: Runner, body: RunIn | None = None) -> RunOut:
    """Queue a run of the pipeline on the tenant's warehouse; follow it at
    /analytics/pipeline/runs/{id}."""
    return await service.start(
        session, caller.require_tenant(), body or RunIn(), requested_by=caller.label
    )


@router.post("/run-pipeline", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
async def run_pipeline_seed(
    session: DbSession, caller: Runner, body: RunIn | None = None
) -> RunOut:
    """The gaming backend's name for POST /analytics/pipeline/run."""
    return await service.start(
        session, caller.require_tenant(), body or RunIn(), requested_by=caller.label
    )


@router.get("/analytics/pipeline/runs", response_model=RunPage)
async def list_pipeline_runs(
    session: DbSession,
    caller: Reader,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RunPage:
    """The tenant's runs, newest first."""
    return await service.list_runs(session, caller.require_tenant(), status, limit, offset)


@router.get("/analytics/pipeline/runs/{run_id}", response_model=RunOut)
async def get_pipeline_run(run_id: uuid.UUID, session: DbSession, caller: Reader) -> RunOut:
    """A run: its status, timings and reports."""
    return await service.get_run(session, caller.require_tenant(), run_id)


@router.get("/analytics/pipeline/runs/{run_id}/reports/{name}", responses={200: _JSON})
async def get_pipeline_report(
    run_id: uuid.UUID, name: ReportName, database: Db, caller: Reader
) -> StreamingResponse:
    """A completed run's report as JSON (409 before it has completed), streamed."""
    body = await service.report(database, caller.require_tenant(), run_id, name)
    return StreamingResponse(body, media_type="application/json")


@router.get("/analytics/pipeline/runs/{run_id}/files/{file}", responses={200: _JSON})
async def download_pipeline_file(
    run_id: uuid.UUID, file: FileName, database: Db, caller: Reader
) -> StreamingResponse:
    """A completed run's report as the gaming backend's file (purchases_curated.csv and the
    four .json files), streamed."""
    body = await service.report_file(database, caller.require_tenant(), run_id, file)
    media = "text/csv; charset=utf-8" if file.endswith(".csv") else "application/json"
    headers = {"Content-Disposition": f'attachment; filename="{file}"'}
    return StreamingResponse(body, media_type=media, headers=headers)
