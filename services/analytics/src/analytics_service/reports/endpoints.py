"""/analytics/email: branch mappings and SMTP settings (admins write, viewers read), report
previews, send jobs and their history, and the signed unsubscribe link."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse

from analytics_service.config import AnalyticsSettings
from analytics_service.reports import service
from analytics_service.reports.schemas import (
    MappingIn,
    MappingList,
    MappingOut,
    MappingPatch,
    PreviewQuery,
    SmtpIn,
    SmtpOut,
    SmtpTestIn,
    SmtpTestOut,
)
from common.db import DbSession
from common.security import Principal, TenantRole

router = APIRouter(prefix="/analytics/email", tags=["reports by email"])
Admin = Annotated[Principal, TenantRole("admin")]
Viewer = Annotated[Principal, TenantRole("viewer")]


def _settings(request: Request) -> AnalyticsSettings:
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
    """A branch's daily report for a day, as the HTML its recipients get."""
    html = await service.preview(
        session, caller.require_tenant(), query.report_date, query.branch_code
    )
    return HTMLResponse(html)
