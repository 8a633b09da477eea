"""Fixtures of the auth tests: a migrated throw-away database, the app on a rolled-back
transaction per test, and helpers that make signed-in users."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from auth_service.config import AuthSettings
from auth_service.main import create_app
from auth_testing import People, make_settings
from common.db import Database
from common.testing.service_fixtures import database_fixtures

settings, engine, conn, database, app_settings = database_fixtures(make_settings)


@pytest.fixture
async def client(
    app_settings: AuthSettings, database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_settings, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


@pytest.fixture
async def people(
    client: httpx.AsyncClient, database: Database, app_settings: AuthSettings
) -> People:
    return People(client, database, app_settings)
