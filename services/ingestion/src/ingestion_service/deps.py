"""Dependencies of the ingestion service's endpoints: who may send and read events, and who
may write and read a tenant's customer records and uploaded files."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.db import Database
from common.errors import Forbidden
from common.security import AnyCaller, Principal, TenantRole
from ingestion_service.config import IngestionSettings
from ingestion_service.ga4.client import GA4Api
from ingestion_service.ga4.tokens import GrantTokens

EVENTS_WRITE = "events:write"
EVENTS_READ = "events:read"
UPLOADS_WRITE = "uploads:write"
# Tenant users of this rank or above write customer records and upload files (they run the
# pipelines those feed); every tenant user reads them.
DATA_WRITER_ROLE = "analyst"
# A tenant's admin key may do everything its tenant's machines may.
ADMIN_SCOPE = "admin"


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _settings(request: Request) -> IngestionSettings:
    settings: IngestionSettings = request.app.state.settings
    return settings


def _machine_holds(caller: Principal, scope: str) -> bool:
    return caller.kind == "machine" and bool(caller.scopes & {scope, ADMIN_SCOPE})


async def _event_writer(caller: AnyCaller) -> Principal:
    """A player (the event is theirs) or a tenant machine holding events:write."""
    if caller.kind != "player" and not _machine_holds(caller, EVENTS_WRITE):
        raise Forbidden(
            f"Events are sent by players or by tenant machines holding the {EVENTS_WRITE} scope."
        )
    caller.require_tenant()
    return caller


async def _event_reader(caller: AnyCaller) -> Principal:
    """A player, a tenant user of any role, or a tenant machine holding events:read."""
    if caller.kind not in ("player", "user") and not _machine_holds(caller, EVENTS_READ):
        raise Forbidden(
            f"Events are read by players, tenant users or machines holding {EVENTS_READ}."
        )
    caller.require_tenant()
    return caller


async def _data_writer(caller: AnyCaller) -> Principal:
    """A tenant user of the analyst role or above, or a tenant machine holding uploads:write."""
    is_writer = caller.kind == "user" and caller.has_role(DATA_WRITER_ROLE)
    if not is_writer and not _machine_holds(caller, UPLOADS_WRITE):
        raise Forbidden(
            f"Customer records and files are written by tenant users of the {DATA_WRITER_ROLE}"
            f" role or above, or by machines holding the {UPLOADS_WRITE} scope."
        )
    caller.require_tenant()
    return caller


async def _data_reader(caller: AnyCaller) -> Principal:
    """A tenant user of any role, or a tenant machine holding uploads:write."""
    if caller.kind != "user" and not _machine_holds(caller, UPLOADS_WRITE):
        raise Forbidden(
            "Customer records and uploads are read by tenant users, or by machines holding"
            f" the {UPLOADS_WRITE} scope."
        )
    caller.require_tenant()
    return caller


Settings = Annotated[IngestionSettings, Depends(_settings)]
# For work that runs its own transactions (uploads), instead of the request's one (DbSession).
Db = Annotated[Database, Depends(_database)]


async def _ga4(request: Request) -> GA4Api:
    api: GA4Api = request.app.state.ga4
    return api


async def _grant_tokens(request: Request) -> GrantTokens:
    tokens: GrantTokens = request.app.state.grant_tokens
    return tokens


GA4 = Annotated[GA4Api, Depends(_ga4)]
Tokens = Annotated[GrantTokens, Depends(_grant_tokens)]
# GA4: tenant admins manage connections (provider grants are theirs); analysts run pulls; any
# tenant user reads.
GA4Admin = Annotated[Principal, TenantRole("admin")]
GA4Analyst = Annotated[Principal, TenantRole("analyst")]
GA4Reader = Annotated[Principal, TenantRole("viewer")]
EventWriter = Annotated[Principal, Depends(_event_writer)]
EventReader = Annotated[Principal, Depends(_event_reader)]
DataWriter = Annotated[Principal, Depends(_data_writer)]
DataReader = Annotated[Principal, Depends(_data_reader)]
