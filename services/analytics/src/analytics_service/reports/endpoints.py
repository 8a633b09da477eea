"""/analytics/email: branch mappings, SMTP settings and report schedules (admins write, viewers
read), report previews, send jobs and their history, and the signed unsubscribe link."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse

from analytics_service.config import AnalyticsSettings
from analytics_service.reports import jobs_service, schedules_service, service
from analytics_service.reports.schemas import (
    DeliveryPage,
    JobOut,
    JobPage,
    MappingIn,
    MappingList,
    MappingOut,
    MappingPatch,
    PreviewQuery,
    ScheduleIn,
    ScheduleList,
    ScheduleOut,
    SchedulePatch,
    SendIn,
    SmtpIn,
    SmtpOut,
    SmtpTestIn,
    SmtpTestOut,
    UnsubscribeQuery,
)
from common.db import DbSession
from common.security import Principal, TenantRole

router = APIRouter(prefix="/analytics/email", tags=["reports by email"])
Admin = Annotated[Principal, TenantRole("admin")]
Viewer = Annotated[Principal, TenantRole("viewer")]


async def _settings(request: Request) -> AnalyticsSettings:
    settings: AnalyticsSettings = request.app.state.settings
    return settings


Settings = Annotated[AnalyticsSettings, Depends(_settings)]


@router.get("/mappings", response_model=MappingList)
async def list_mappings(session: DbSession, caller: Viewer) -> MappingList:
    """The tenant's branch mappings, by branch code."""
    return await service.list_mappings(session, caller.require_tenant())


@router.post("/mappings", response_model=MappingOut, status_code=status.HTTP_201_CREATED)
async def add_mapping(body: MappingIn, session: DbSession, caller: Admin) -> MappingOut:
    """Map a branch to the recipients of its daily report (409 if it has a mapping)."""
    return await service.add_mapping(session, caller.require_tenant(), body)


@router.get("/mappings/{mapping_id}", response_model=MappingOut)
async def get_mapping(mapping_id: uuid.UUID, session: DbSession, caller: Viewer) -> MappingOut:
    """One branch mapping."""
    return await service.get_mapping(session, caller.require_tenant(), mapping_id)


@router.patch("/mappings/{mapping_id}", response_model=MappingOut)
async def update_mapping(
    mapping_id: uuid.UUID, body: MappingPatch, session: DbSession, caller: Admin
) -> MappingOut:
    """Change a mapping's recipients or whether it is enabled."""
    return await service.update_mapping(session, caller.require_tenant(), mapping_id, body)


@router.delete("/mappings/{mapping_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_mapping(mapping_id: uuid.UUID, session: DbSession, caller: Admin) -> None:
    """Remove a branch mapping."""
    await service.delete_mapping(session, caller.require_tenant(), mapping_id)


@router.get("/smtp", response_model=SmtpOut)
async def get_smtp(session: DbSession, caller: Viewer) -> SmtpOut:
    """The tenant's SMTP settings (whether a password is set, never the password)."""
    return await service.get_smtp(session, caller.require_tenant())


@router.put("/smtp", response_model=SmtpOut)
async def put_smtp(body: SmtpIn, session: DbSession, settings: Settings, caller: Admin) -> SmtpOut:
    """Set the SMTP settings; the password is stored encrypted (omitted: the stored one stays)."""
    return await service.put_smtp(session, settings, caller.require_tenant(), body)


@router.delete("/smtp", status_code=status.HTTP_204_NO_CONTENT)
async def delete_smtp(session: DbSession, caller: Admin) -> None:
    """Forget the SMTP settings (reports cannot be sent until new ones are set)."""
    await service.delete_smtp(session, caller.require_tenant())


@router.post("/smtp/test", response_model=SmtpTestOut)
async def test_smtp(
    body: SmtpTestIn, session: DbSession, settings: Settings, caller: Admin
) -> SmtpTestOut:
    """Send a test message through the tenant's SMTP server now (502 with its answer if refused)."""
    return await service.send_test(session, settings, caller.require_tenant(), body.to)


@router.get("/preview", response_class=HTMLResponse)
async def preview(
    query: Annotated[PreviewQuery, Query()], session: DbSession, caller: Viewer
) -> HTMLResponse:
    """A branch's report (daily, or the weekly summary of the week from a Monday), as the HTML
    its recipients get."""
    html = await service.preview(
        session, caller.require_tenant(), query.kind, query.report_date, query.branch_code
    )
    return HTMLResponse(html)


@router.post("/send-reports", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
async def send_reports(body: SendIn, session: DbSession, caller: Admin) -> JobOut:
    """Queue a job sending the day's report (or the week's summary) of each branch (default:
    every enabled mapping's) to its recipients; follow it at /analytics/email/jobs/{id}."""
    return await jobs_service.start(session, caller.require_tenant(), body, caller.label)


@router.get("/jobs", response_model=JobPage)
async def list_jobs(
    session: DbSession,
    caller: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobPage:
    """The tenant's send jobs, newest first."""
    return await jobs_service.list_jobs(session, caller.require_tenant(), limit, offset)


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: uuid.UUID, session: DbSession, caller: Viewer) -> JobOut:
    """A send job: its status and counts."""
    return await jobs_service.get_job(session, caller.require_tenant(), job_id)


@router.get("/history", response_model=DeliveryPage)
async def history(
    session: DbSession,
    caller: Viewer,
    job_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryPage:
    """Each recipient's delivery (pending, sent, failed, unsubscribed), latest change first."""
    return await jobs_service.history(session, caller.require_tenant(), job_id, limit, offset)


@router.get("/schedules", response_model=ScheduleList)
async def list_schedules(session: DbSession, caller: Viewer) -> ScheduleList:
    """The tenant's report schedules, oldest first, with their next and last due times."""
    return await schedules_service.list_schedules(session, caller.require_tenant())


@router.post("/schedules", response_model=ScheduleOut, status_code=status.HTTP_201_CREATED)
async def add_schedule(body: ScheduleIn, session: DbSession, caller: Admin) -> ScheduleOut:
    """Send a kind of report by itself: a cron expression read in an IANA time zone."""
    return await schedules_service.add_schedule(session, caller.require_tenant(), body)


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
async def get_schedule(schedule_id: uuid.UUID, session: DbSession, caller: Viewer) -> ScheduleOut:
    """One report schedule."""
    return await schedules_service.get_schedule(session, caller.require_tenant(), schedule_id)


@router.patch("/schedules/{schedule_id}", response_model=ScheduleOut)
async def update_schedule(
    schedule_id: uuid.UUID, body: SchedulePatch, session: DbSession, caller: Admin
) -> ScheduleOut:
    """Change a schedule; a new time, zone or switch counts its next run from now."""
    tenant_id = caller.require_tenant()
    return await schedules_service.update_schedule(session, tenant_id, schedule_id, body)


@router.delete("/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule_id: uuid.UUID, session: DbSession, caller: Admin) -> None:
    """Remove a report schedule (jobs it queued stay)."""
    await schedules_service.delete_schedule(session, caller.require_tenant(), schedule_id)


_DONE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title>
</head><body style="font-family:Arial,sans-serif;background:#ffffff;color:#1f2933;">
<p>You will no longer receive Meridian's branch reports.</p></body></html>"""
_CONFIRM = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title>
</head><body style="font-family:Arial,sans-serif;background:#ffffff;color:#1f2933;">
<form method="post"><p>Stop receiving Meridian's branch reports?</p>
<button type="submit">Unsubscribe</button></form></body></html>"""


@router.get("/unsubscribe", response_class=HTMLResponse)
async def confirm_unsubscribe(
    query: Annotated[UnsubscribeQuery, Query()], settings: Settings
) -> HTMLResponse:
    """A report's unsubscribe link: a page asking to confirm (link scanners only GET)."""
    jobs_service.check_signature(settings, query.tenant_id, query.email, query.signature)
    return HTMLResponse(_CONFIRM)


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(
    query: Annotated[UnsubscribeQuery, Query()], session: DbSession, settings: Settings
) -> HTMLResponse:
    """Stop sending reports to the link's address (also RFC 8058 one-click); 403 if the
    signature does not match."""
    await jobs_service.unsubscribe_recipient(
        session, settings, query.tenant_id, query.email, query.signature
    )
    return HTMLResponse(_DONE)
