"""Player tokens: only for callers holding the tenant's game key or a server key."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.players import repository
from auth_service.players.schemas import PlayerLoginOut
from common.errors import Forbidden
from common.security import Principal

LOGIN_SCOPES = {"players:login", "players:issue", "admin"}


async def login(
    session: AsyncSession, keyring: KeyRing, settings: AuthSettings, caller: Principal, user_id: str
) -> PlayerLoginOut:
    if caller.kind != "machine" or not (caller.scopes & LOGIN_SCOPES):
        raise Forbidden("Player tokens are issued to callers holding the game key or a server key.")
    tenant_id = caller.require_tenant()
    player_id = await repository.touch(session, tenant_id, user_id)
    token, expires_in = await keyring.sign(
        {
            "sub": str(player_id),
            "tid": str(tenant_id),
            "uid": user_id,
            "typ": "player",
            "scope": "player",
        },
        timedelta(minutes=settings.jwt_ttl_min),
    )
    return PlayerLoginOut(token=token, user_id=user_id, expires_in=expires_in)
