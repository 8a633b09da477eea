"""Fixtures of the analytics tests: a migrated throw-away database, the
app on a rolled-back transaction per test, and callers signed with a test key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from analytics_service.config import AnalyticsSettings
from analytics_service.main import create_app
from analytics_testing import Callers, auth_free_verifier, make_settings
from common.db import Database
from common.testing.service_fixtures import database_fixtures

settings, engine, conn, database, app_settings = database_fixtures(make_settings)


@pytest.fixture
def callers(app_settings: AnalyticsSettings) -> Callers:
    return Callers(app_settings)


@pytest.fixture
async def client(
    app_settings: AnalyticsSettings, database: Database, callers: Callers
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        app_settings,
        database=database,
        verifier_factory=lambda _: auth_free_verifier(app_settings, callers.api_keys),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics.test") as http:
            yield http


@pytest.fixture
def tenant() -> uuid.UUID:
    return uuid.uuid4()
