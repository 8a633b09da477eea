"""Refresh, logout and the signed-in user."""

from fastapi import APIRouter, status

from auth_service.deps import ClientIp, Keys, Settings
from auth_service.sessions import service
from auth_service.sessions.schemas import MeOut, RefreshIn, TokenPair
from common.db import DbSession
from common.security import CurrentUser

router = APIRouter(prefix="/auth", tags=["sessions"])


@router.post("/refresh", response_model=TokenPair)
async def refresh(
    body: RefreshIn, session: DbSession, keys: Keys, settings: Settings, ip: ClientIp
) -> TokenPair:
    """Trade a refresh token for a new access token and a new refresh token (rotation)."""
    return await service.refresh(session, keys, settings, body.refresh_token, ip)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshIn, session: DbSession) -> None:
    """End the session of this refresh token (its whole token family)."""
    await service.logout(session, body.refresh_token)


@router.get("/me", response_model=MeOut)
async def me(session: DbSession, caller: CurrentUser) -> MeOut:
    """The signed-in user, their role in the current tenant and all their memberships."""
    return await service.me(session, caller)
