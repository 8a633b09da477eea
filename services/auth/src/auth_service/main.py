"""The auth service app."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from auth_service import __version__
from auth_service.apikeys import endpoints as apikeys
from auth_service.apikeys.service import LocalApiKeyResolver
from auth_service.audit import endpoints as audit
from auth_service.config import AuthSettings, get_settings
from auth_service.grants import endpoints as grants
from auth_service.jobs import router as jobs_router
from auth_service.keys import endpoints as keys
from auth_service.keys.service import KeyRing
from auth_service.oauth import endpoints as oauth
from auth_service.oauth.providers import ProviderDirectory
from auth_service.players import endpoints as players
from auth_service.sessions import endpoints as sessions
from auth_service.tenants import endpoints as tenants
from auth_service.tokens import endpoints as tokens
from auth_service.tokens.service import register_service_clients
from common.app import create_app as build_app
from common.db import Database
from common.logging import setup_logging
from common.security import TokenVerifier

DESCRIPTION = """Sign-in (OAuth 2.0 / OIDC), Meridian tokens and their JWKS, tenants and members,
API keys, player logins, service credentials and provider grants."""


async def _start(app: FastAPI) -> None:
    settings: AuthSettings = app.state.settings
    database: Database = app.state.database
    app.state.keyring = keyring = KeyRing(settings, database.sessionmaker)
    app.state.providers = ProviderDirectory(settings, app.state.http.client)
    async with database.sessionmaker() as session, session.begin():
        await register_service_clients(session, settings)
    await keyring.refresh()
    # A database bound to one test connection cannot be shared with a background task.
    app.state.key_refresher = (
        None if database.is_bound else asyncio.create_task(keyring.keep_fresh())
    )


async def _stop(app: FastAPI) -> None:
    if app.state.key_refresher is not None:
        app.state.key_refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.state.key_refresher


def _verifier(app: FastAPI) -> TokenVerifier:
    # Auth checks its own tokens and keys directly, never over HTTP.
    database: Database = app.state.database
    return TokenVerifier(
        app.state.settings, app.state.keyring, LocalApiKeyResolver(database.sessionmaker)
    )


def create_app(settings: AuthSettings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    return build_app(
        settings,
        title="Meridian auth",
        version=__version__,
        description=DESCRIPTION,
        routers=[
            keys.router,
            oauth.router,
            sessions.router,
            tenants.router,
            apikeys.router,
            apikeys.internal,
            players.router,
            tokens.router,
            grants.router,
            grants.internal,
            audit.router,
            jobs_router,
        ],
        on_startup=[_start],
        on_shutdown=[_stop],
        database=database,
        verifier_factory=_verifier,
    )


def app_from_environment() -> FastAPI:
    settings = get_settings()
    setup_logging(settings)
    return create_app(settings)
