"""GA4 connections: register, change, remove, and test one against Google."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.errors import Conflict, NotFound
from common.security import Principal
from ingestion_service.connections import repository
from ingestion_service.connections.schemas import (
    CheckOut,
    ConnectionIn,
    ConnectionOut,
    ConnectionPatch,
    ConnectionTestOut,
)
from ingestion_service.ga4.client import GA4Api, GA4Failure
from ingestion_service.ga4.definitions import Definition, resolve
from ingestion_service.ga4.tokens import GrantProblem, GrantTokens
from ingestion_service.models import GA4Connection, IngestJob

PROBE = Definition(name="probe", fact_kind="probe", dimensions=[], metrics=["eventCount"])


async def create(session: AsyncSession, caller: Principal, body: ConnectionIn) -> ConnectionOut:
    tenant_id = caller.require_tenant()
    try:
        async with session.begin_nested():
            connection = await repository.add(
                session, tenant_id, **body.model_dump(), created_by=caller.label
            )
    except IntegrityError as exc:
        raise Conflict(
            f"Property {body.property_id} is already connected.", type_slug="connection-exists"
        ) from exc
    return ConnectionOut.model_validate(connection)


async def find(
    session: AsyncSession, caller: Principal, connection_id: uuid.UUID, *, lock: bool = False
) -> GA4Connection:
    connection = await repository.get(session, caller.require_tenant(), connection_id, lock=lock)
    if connection is None:
        raise NotFound("No such GA4 connection in this tenant.")
    return connection


async def list_connections(session: AsyncSession, caller: Principal) -> list[ConnectionOut]:
    rows = await repository.list_for(session, caller.require_tenant())
    return [ConnectionOut.model_validate(row) for row in rows]


async def change(
    session: AsyncSession, caller: Principal, connection_id: uuid.UUID, body: ConnectionPatch
) -> ConnectionOut:
    connection = await find(session, caller, connection_id)
    values = body.model_dump(exclude_unset=True)
    if values.get("status") == "active" and connection.status != "disabled":
        values.pop("status")  # re-enabling; other states are Google's to clear
    if values:
        await repository.change(session, connection.tenant_id, connection.id, **values)
        await session.refresh(connection)
    return ConnectionOut.model_validate(connection)


async def remove(session: AsyncSession, caller: Principal, connection_id: uuid.UUID) -> None:
    # Locked: a job starting meanwhile holds it shared, so it is either seen busy or waited for.
    connection = await find(session, caller, connection_id, lock=True)
    busy = await session.scalar(
        select(IngestJob.id)
        .where(
            IngestJob.tenant_id == connection.tenant_id,
            IngestJob.status.in_(["queued", "running"]),
            IngestJob.connection_ids.contains([connection.id]),
        )
        .limit(1)
    )
    if busy:
        raise Conflict(
            "A queued or running ingest job uses this connection: cancel it first.",
            type_slug="connection-busy",
        )
    await repository.remove(session, connection.tenant_id, connection.id)


async def test(
    session: AsyncSession,
    caller: Principal,
    connection_id: uuid.UUID,
    api: GA4Api,
    tokens: GrantTokens,
) -> ConnectionTestOut:
    """Ask auth for a token, read the property's metadata (are the key dimensions defined?) and
    run a one-row report of yesterday. The outcome is kept on the connection."""
    connection = await find(session, caller, connection_id)
    checks: list[CheckOut] = []
    status, error = connection.status, connection.last_error
    quota = connection.quota
    try:
        token = await tokens.get(connection.tenant_id)
    except GrantProblem as exc:
        checks.append(CheckOut(name="grant", ok=False, detail=exc.message))
        if exc.state == "needs_reconsent":
            status, error = "needs_reconsent", exc.message
    else:
        checks.append(CheckOut(name="grant", ok=True, detail="auth gave an access token"))
        try:
            known = await api.custom_dimensions(token, connection.property_id)
            wanted = [
                connection.session_id_dimension,
                connection.web_user_id_dimension,
                connection.branch_id_dimension,
            ]
            missing = [name for name in wanted if name not in known]
            checks.append(
                CheckOut(
                    name="dimensions",
                    ok=not missing,
                    detail=(
                        "the property defines " + ", ".join(wanted)
                        if not missing
                        else "the property does not define " + ", ".join(missing)
                    ),
                )
            )
            yesterday = datetime.now(ZoneInfo(connection.time_zone)).date() - timedelta(days=1)
            page = await api.page(
                token,
                connection.property_id,
                resolve(PROBE, connection),
                yesterday.isoformat(),
                0,
                1,
            )
            quota = page.quota
            checks.append(
                CheckOut(
                    name="report",
                    ok=True,
                    detail=f"a report of {yesterday} answered ({page.tokens} quota tokens)",
                )
            )
        except GA4Failure as exc:
            checks.append(CheckOut(name="report", ok=False, detail=exc.message))
    ok = all(check.ok for check in checks)
    if ok:
        status = "active" if connection.status != "disabled" else "disabled"
        error = None
    elif status == "active":
        status, error = "failing", next(c.detail for c in checks if not c.ok)
    await repository.change(
        session,
        connection.tenant_id,
        connection.id,
        status=status,
        last_error=error,
        quota=quota,
        last_tested_at=datetime.now(UTC),
    )
    await session.refresh(connection)
    return ConnectionTestOut(
        ok=ok, checks=checks, connection=ConnectionOut.model_validate(connection)
    )
