"""Provider grants (Google Analytics access) for tenants, and fresh access tokens for services."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from auth_service.deps import Settings, TenantAdmin
from auth_service.grants import service
from auth_service.grants.schemas import AccessTokenOut, ConnectIn, GrantOut
from auth_service.oauth.endpoints import Directory
from auth_service.oauth.schemas import AuthorizationOut, CallbackIn
from common.db import DbSession
from common.security import Principal, ServiceScope

router = APIRouter(prefix="/auth/grants", tags=["provider grants"])
internal = APIRouter(prefix="/internal/grants", tags=["internal"])
ProviderName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]


@router.get("", response_model=list[GrantOut])
async def list_grants(session: DbSession, caller: TenantAdmin) -> list[GrantOut]:
    """The tenant's connections to outside data providers and their state."""
    return await service.list_grants(session, caller)


@router.post("/{provider}/connect", response_model=AuthorizationOut)
async def connect(
    provider: ProviderName,
    body: ConnectIn,
    session: DbSession,
    caller: TenantAdmin,
    directory: Directory,
    settings: Settings,
) -> AuthorizationOut:
    """Start connecting a provider (read-only Analytics scope, offline access)."""
    return await service.begin_connect(
        session, directory, settings, caller, provider, body.redirect_uri
    )


@router.post("/callback", response_model=GrantOut)
async def connect_callback(
    body: CallbackIn,
    session: DbSession,
    caller: TenantAdmin,
    directory: Directory,
    settings: Settings,
) -> GrantOut:
    """Finish connecting with the code and state the provider returned."""
    return await service.complete_connect(
        session, directory, settings, caller, body.code, body.state
    )


@router.delete("/{provider}", status_code=status.HTTP_204_NO_CONTENT)
async def disconnect(
    provider: ProviderName,
    session: DbSession,
    caller: TenantAdmin,
    directory: Directory,
    settings: Settings,
) -> None:
    """Disconnect: the grant is revoked at the provider and its tokens forgotten."""
    await service.disconnect(session, directory, settings, caller, provider)


@internal.post("/{tenant_id}/{provider}/access-token", response_model=AccessTokenOut)
async def grant_access_token(
    tenant_id: uuid.UUID,
    provider: ProviderName,
    session: DbSession,
    directory: Directory,
    settings: Settings,
    _: Annotated[Principal, ServiceScope("grants:read")],
    refresh: Annotated[
        bool,
        Query(description="Refresh first even if the token looks fresh (the provider refused it)."),
    ] = False,
) -> AccessTokenOut:
    """For Meridian services: a fresh access token of the tenant's grant."""
    return await service.access_token(
        session, directory, settings, tenant_id, provider, force_refresh=refresh
    )
