"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, can refuse chosen
recipients (with a temporary 451 or a permanent 550) and checks the login, plus the sales data
set and callers of the reports' tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sales_data
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.config import AnalyticsSettings
from analytics_service.reports.sender import run_send_job
from analytics_testing import Caller, Callers
from common.db import Database
from common.testing.servers import free_port
from reports_testing import MailServer, SendJob, smtp_body


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer(port=free_port())
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        authenticator=server.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
async def other_tenant() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
async def warehouse(conn: AsyncConnection, tenant: uuid.UUID, other_tenant: uuid.UUID) -> None:
    await sales_data.load(conn, tenant, other_tenant)


@pytest.fixture
def admin(callers: Callers, tenant: uuid.UUID) -> Caller:
    return callers.user(tenant, "admin")


@pytest.fixture
def viewer(callers: Callers, tenant: uuid.UUID) -> Caller:
    return callers.user(tenant, "viewer")


@pytest.fixture
def send_job(database: Database, app_settings: AnalyticsSettings, tenant: uuid.UUID) -> SendJob:
    """Runs a job of the tenant (as the API answered it) as the worker would, once; keyword
    arguments change the settings it runs with."""

    async def run(job: dict[str, Any], **settings: Any) -> str:
        job_id = uuid.UUID(job["id"])
        changed = app_settings.model_copy(update=settings)
        return await run_send_job(database.sessionmaker, changed, tenant, job_id)

    return run


@pytest.fixture
async def smtp_set(client: httpx.AsyncClient, admin: Caller, mail_server: MailServer) -> None:
    response = await client.put(
        "/analytics/email/smtp", json=smtp_body(mail_server.port), headers=admin.headers
    )
    assert response.status_code == 200, response.text
