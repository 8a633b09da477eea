"""API keys for tenants' machines."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from auth_service.apikeys import service
from auth_service.apikeys.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    IntrospectIn,
    IntrospectOut,
)
from auth_service.deps import TenantAdmin
from common.db import DbSession
from common.security import Principal, ServiceScope

router = APIRouter(prefix="/auth/api-keys", tags=["api keys"])
internal = APIRouter(prefix="/internal/api-keys", tags=["internal"])


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyIn, session: DbSession, caller: TenantAdmin) -> ApiKeyCreated:
    """Create an API key; the secret is in this answer only."""
    return await service.create(session, caller, body)


@router.get("", response_model=list[ApiKeyOut])
async def list_api_keys(
    session: DbSession, caller: TenantAdmin, include_revoked: Annotated[bool, Query()] = False
) -> list[ApiKeyOut]:
    """The tenant's API keys: prefix, scopes, last use (never the secret)."""
    return await service.list_keys(session, caller, include_revoked)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: uuid.UUID, session: DbSession, caller: TenantAdmin) -> None:
    """Revoke a key; other services stop accepting it within their cache bound."""
    await service.revoke(session, caller, key_id)


@internal.post("/introspect", response_model=IntrospectOut)
async def introspect_api_key(
    body: IntrospectIn,
    session: DbSession,
    _: Annotated[Principal, ServiceScope("api-keys:introspect")],
) -> IntrospectOut:
    """For Meridian services: is this API key live, for which tenant, with which scopes."""
    return await service.introspect(session, body.api_key)
