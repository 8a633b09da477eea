"""Sign-in with an outside provider (browserless authorization code flow with PKCE)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from auth_service.deps import ClientIp, Keys, Settings
from auth_service.oauth import service
from auth_service.oauth.providers import ProviderDirectory
from auth_service.oauth.schemas import AuthorizationOut, LoginCallbackIn, LoginOut, ProvidersOut
from common.db import DbSession

router = APIRouter(prefix="/auth", tags=["sign-in"])


async def _directory(request: Request) -> ProviderDirectory:
    directory: ProviderDirectory = request.app.state.providers
    return directory


Directory = Annotated[ProviderDirectory, Depends(_directory)]


@router.get("/providers", response_model=ProvidersOut)
async def list_providers(directory: Directory) -> ProvidersOut:
    """The sign-in providers this deployment offers."""
    return ProvidersOut(providers=directory.names())


@router.get("/login", response_model=AuthorizationOut)
async def login(
    session: DbSession,
    directory: Directory,
    settings: Settings,
    provider: Annotated[str, Query(min_length=1, max_length=64)] = "google",
    redirect_uri: Annotated[str | None, Query(max_length=2048)] = None,
) -> AuthorizationOut:
    """The provider's authorization URL; state, nonce and PKCE verifier are kept server-side."""
    return await service.begin_login(session, directory, settings, provider, redirect_uri)


@router.post("/callback", response_model=LoginOut)
async def callback(
    body: LoginCallbackIn,
    session: DbSession,
    directory: Directory,
    keys: Keys,
    settings: Settings,
    ip: ClientIp,
) -> LoginOut:
    """Finish sign-in with the code and state the provider returned; answers with tokens."""
    return await service.complete_login(
        session,
        directory,
        keys,
        settings,
        code=body.code,
        state=body.state,
        flow_secret=body.flow_secret,
        ip=ip,
    )
