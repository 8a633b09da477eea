"""Dependencies of the ingestion service's endpoints: who may send and read events."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.errors import Forbidden
from common.security import AnyCaller, Principal, TenantRole
from ingestion_service.config import IngestionSettings
from ingestion_service.ga4.client import GA4Api
from ingestion_service.ga4.tokens import GrantTokens

EVENTS_WRITE = "events:write"
EVENTS_READ = "events:read"
# A tenant's admin key may do everything its tenant's machines may.
ADMIN_SCOPE = "admin"


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


async def _ga4(request: Request) -> GA4Api:
    api: GA4Api = request.app.state.ga4
    return api


async def _grant_tokens(request: Request) -> GrantTokens:
    tokens: GrantTokens = request.app.state.grant_tokens
    return tokens


Settings = Annotated[IngestionSettings, Depends(_settings)]
GA4 = Annotated[GA4Api, Depends(_ga4)]
Tokens = Annotated[GrantTokens, Depends(_grant_tokens)]
# GA4: tenant admins manage connections (provider grants are theirs); analysts run pulls; any
# tenant user reads.
DataAdmin = Annotated[Principal, TenantRole("admin")]
DataAnalyst = Annotated[Principal, TenantRole("analyst")]
DataReader = Annotated[Principal, TenantRole("viewer")]
EventWriter = Annotated[Principal, Depends(_event_writer)]
EventReader = Annotated[Principal, Depends(_event_reader)]
