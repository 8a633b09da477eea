"""Dependencies of the auth service's endpoints."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import Depends, Request

from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.tenants import repository as tenants
from common.db import DbSession
from common.errors import Forbidden, Unauthorized
from common.security import CurrentUser, Principal


async def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


async def _settings(request: Request) -> AuthSettings:
    settings: AuthSettings = request.app.state.settings
    return settings


async def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _member(caller: CurrentUser, session: DbSession) -> Principal:
    """The signed-in user with their role as it is now, not as their token says: auth's own
    writes must not trust a role that may have changed since the token was issued."""
    role = await tenants.role_of(session, caller.require_tenant(), caller.user_id)
    if role is None:
        raise Unauthorized("You are no longer a member of this tenant.")
    return dataclasses.replace(caller, role=role)


def MemberRole(minimum: str) -> Any:
    """A current member holding at least ``minimum`` right now."""

    async def dependency(member: Annotated[Principal, Depends(_member)]) -> Principal:
        if not member.has_role(minimum):
            raise Forbidden(f"This needs the {minimum} role or higher in the tenant.")
        return member

    return Depends(dependency)


Keys = Annotated[KeyRing, Depends(_keyring)]
Settings = Annotated[AuthSettings, Depends(_settings)]
ClientIp = Annotated[str | None, Depends(_client_ip)]
CurrentMember = Annotated[Principal, Depends(_member)]
TenantAdmin = Annotated[Principal, MemberRole("admin")]
