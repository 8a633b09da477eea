"""Rules of reports by email: branch mappings and SMTP settings of the caller's tenant."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import aiosmtplib
from loguru import logger
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.config import AnalyticsSettings
from analytics_service.reports import mailer, repository, schedules_service
from analytics_service.reports.destinations import DestinationDenied, resolve
from analytics_service.reports.kinds import KINDS
from analytics_service.reports.schemas import (
    MappingIn,
    MappingList,
    MappingOut,
    MappingPatch,
    SmtpIn,
    SmtpOut,
    SmtpTestOut,
)
from common.errors import Conflict, NotFound, Unprocessable, Upstream

RESOLVE_SECONDS = 5.0  # a host name's lookup when settings are saved


def _mapping_out(row: Row[Any]) -> MappingOut:
    return MappingOut(
        id=row.mapping_id,
        branch_code=row.branch_code,
        recipients=row.recipients,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_mappings(session: AsyncSession, tenant_id: uuid.UUID) -> MappingList:
    rows = await repository.list_mappings(session, tenant_id)
    return MappingList(data=[_mapping_out(row) for row in rows])


async def get_mapping(
    session: AsyncSession, tenant_id: uuid.UUID, mapping_id: uuid.UUID
) -> MappingOut:
    row = await repository.get_mapping(session, tenant_id, mapping_id)
    if row is None:
        raise NotFound("No such email mapping.")
    return _mapping_out(row)


async def add_mapping(session: AsyncSession, tenant_id: uuid.UUID, body: MappingIn) -> MappingOut:
    """A new mapping; a tenant's first one brings the default weekly summary schedule."""
    row = await repository.add_mapping(session, tenant_id, body.model_dump())
    if row is None:
        raise Conflict(
            f"Branch {body.branch_code} has a mapping already; change that one.",
            type_slug="mapping-exists",
        )
    await schedules_service.add_default(session, tenant_id)
    return _mapping_out(row)


async def update_mapping(
    session: AsyncSession, tenant_id: uuid.UUID, mapping_id: uuid.UUID, body: MappingPatch
) -> MappingOut:
    values = body.model_dump(exclude_none=True)
    if not values:
        return await get_mapping(session, tenant_id, mapping_id)
    row = await repository.update_mapping(session, tenant_id, mapping_id, values)
    if row is None:
        raise NotFound("No such email mapping.")
    return _mapping_out(row)


async def delete_mapping(
    session: AsyncSession, tenant_id: uuid.UUID, mapping_id: uuid.UUID
) -> None:
    if not await repository.delete_mapping(session, tenant_id, mapping_id):
        raise NotFound("No such email mapping.")


def _smtp_out(row: Row[Any]) -> SmtpOut:
    return SmtpOut(
        host=row.host,
        port=row.port,
        username=row.username,
        has_password=row.password_cipher is not None,
        from_address=row.from_address,
        tls_mode=row.tls_mode,
        updated_at=row.updated_at,
    )


async def get_smtp(session: AsyncSession, tenant_id: uuid.UUID) -> SmtpOut:
    row = await repository.get_smtp(session, tenant_id)
    if row is None:
        raise NotFound("The tenant has no SMTP settings.", type_slug="no-smtp-settings")
    return _smtp_out(row)


async def put_smtp(
    session: AsyncSession, settings: AnalyticsSettings, tenant_id: uuid.UUID, body: SmtpIn
) -> SmtpOut:
    """Replace the settings; the password is sealed, and kept when none is given. A host that
    does not resolve, or resolves to an address the service may not connect to, is a 422."""
    await check_destination(settings, body.host, body.port)
    values = body.model_dump(exclude={"password"})
    if body.password is not None:
        box = mailer.secret_box(settings.email_secret.get_secret_value())
        values["password_cipher"] = mailer.seal_password(box, tenant_id, body.password)
    elif body.username is None:
        values["password_cipher"] = None
    return _smtp_out(await repository.put_smtp(session, tenant_id, values))


async def check_destination(settings: AnalyticsSettings, host: str, port: int) -> None:
    try:
        await resolve(settings.smtp_policy, host, port, RESOLVE_SECONDS)
    except DestinationDenied as exc:
        raise Unprocessable.at(
            ["body", "host"], str(exc), type_slug="smtp-destination-denied"
        ) from exc
    except OSError as exc:  # socket.gaierror, TimeoutError
        raise Unprocessable.at(
            ["body", "host"], f"{host} does not resolve ({exc}).", type_slug="smtp-host-unknown"
        ) from exc


async def delete_smtp(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    if not await repository.delete_smtp(session, tenant_id):
        raise NotFound("The tenant has no SMTP settings.", type_slug="no-smtp-settings")


async def smtp_server(
    session: AsyncSession, settings: AnalyticsSettings, tenant_id: uuid.UUID
) -> mailer.SmtpServer | None:
    row = await repository.get_smtp(session, tenant_id)
    if row is None:
        return None
    return mailer.SmtpServer.from_row(
        row, mailer.secret_box(settings.email_secret.get_secret_value())
    )


async def send_test(
    session: AsyncSession, settings: AnalyticsSettings, tenant_id: uuid.UUID, to: str
) -> SmtpTestOut:
    """A short message through the tenant's server, now; its refusal is a 502 saying why."""
    server = await smtp_server(session, settings, tenant_id)
    if server is None:
        raise NotFound("The tenant has no SMTP settings.", type_slug="no-smtp-settings")
    mail = mailer.Mail(
        to=to,
        subject="Meridian SMTP test",
        text="This test message shows that Meridian can send reports through this server.\n",
    )
    try:
        async with mailer.connected(
            server, settings.smtp_timeout_seconds, settings.smtp_policy
        ) as client:
            await client.send_message(mailer.build_message(server.from_address, mail))
    except DestinationDenied as exc:
        raise Unprocessable(str(exc), type_slug="smtp-destination-denied") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        logger.warning("SMTP test of tenant {} failed: {}", tenant_id, mailer.describe(exc))
        raise Upstream(
            f"The SMTP server did not take the message: {mailer.describe(exc)}",
            type_slug="smtp-failed",
        ) from exc
    return SmtpTestOut(sent_to=to)


async def preview(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, report_date: date, branch_code: str
) -> str:
    """The report's HTML as it would be sent (without a recipient's unsubscribe link)."""
    chosen = KINDS[kind]
    built = await chosen.build(session, tenant_id, report_date, branch_code)
    return chosen.render(built, None)[0]
