"""Fixtures of the ingestion tests: a migrated throw-away database, the app on a rolled-back
transaction per test, and callers signed with a test key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from common.db import Database
from common.testing.service_fixtures import database_fixtures
from ingestion_service.config import IngestionSettings
from ingestion_service.main import create_app
from ingestion_testing import Callers, auth_free_verifier, make_settings

settings, engine, conn, database, app_settings = database_fixtures(make_settings)


@pytest.fixture
def callers(app_settings: IngestionSettings) -> Callers:
    return Callers(app_settings)


@pytest.fixture
async def client(
    app_settings: IngestionSettings, database: Database, callers: Callers
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        app_settings,
        database=database,
        verifier_factory=lambda _: auth_free_verifier(app_settings, callers.api_keys),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingestion.test") as http:
            yield http


@pytest.fixture
def tenant() -> uuid.UUID:
    return uuid.uuid4()
