"""Player login (the gaming backend's POST /login, behind the tenant's game key)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from auth_service.apikeys.service import machine_principal
from auth_service.deps import Keys, Settings
from auth_service.players import service
from auth_service.players.schemas import PlayerLoginIn, PlayerLoginOut
from common.db import DbSession
from common.errors import Unauthorized
from common.security import API_KEY_PREFIX, Principal, bearer_token

router = APIRouter(tags=["players"])


async def game_caller(request: Request, session: DbSession) -> Principal:
    """The game key from ``X-Game-Key``, or a server key / machine token as bearer. A key is
    looked up in the request's own transaction (the hot path of every game start)."""
    secret = request.headers.get("x-game-key") or bearer_token(request)
    if not secret:
        raise Unauthorized("Send the tenant's game key in X-Game-Key (or a server key as bearer).")
    if secret.startswith(API_KEY_PREFIX):
        key = await machine_principal(session, secret)
        if key is None:
            raise Unauthorized("The API key is unknown or revoked.")
        return key
    principal: Principal = await request.app.state.verifier.verify(secret)
    return principal


@router.post("/auth/players/login", response_model=PlayerLoginOut, response_model_by_alias=True)
async def player_login(
    body: PlayerLoginIn,
    session: DbSession,
    caller: Annotated[Principal, Depends(game_caller)],
    keys: Keys,
    settings: Settings,
) -> PlayerLoginOut:
    """Log a player in by their game user id; answers ``{token, userId}``."""
    return await service.login(session, keys, settings, caller, body.user_id)
