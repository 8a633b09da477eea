"""Player login (the gaming backend's POST /login, behind the tenant's game key)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from auth_service.deps import Keys, Settings
from auth_service.players import service
from auth_service.players.schemas import PlayerLoginIn, PlayerLoginOut
from common.db import DbSession
from common.errors import Unauthorized
from common.security import Principal, bearer_token

router = APIRouter(tags=["players"])


async def game_caller(request: Request) -> Principal:
    """The game key from ``X-Game-Key``, or a server key / machine token as bearer."""
    secret = request.headers.get("x-game-key") or bearer_token(request)
    if not secret:
        raise Unauthorized("Send the tenant's game key in X-Game-Key (or a server key as bearer).")
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
