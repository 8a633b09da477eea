"""Fixtures of the analytics tests (the same as ingestion's): a migrated throw-away database, the
app on a rolled-back transaction per test, and callers signed with a test key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from analytics_service.config import AnalyticsSettings
from analytics_service.main import create_app
from analytics_testing import Callers, auth_free_verifier, make_settings
from common.db import Database, create_engine
from common.migrations import migrate


@pytest.fixture(scope="session")
async def settings(database_url: str) -> AnalyticsSettings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: AnalyticsSettings) -> AsyncIterator[AsyncEngine]:
    await migrate(settings)
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose transaction is rolled back after the test: nothing leaks between tests."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
async def database(conn: AsyncConnection) -> Database:
    return Database.bound_to(conn)


@pytest.fixture
async def app_settings(settings: AnalyticsSettings) -> AnalyticsSettings:
    """The settings the app under test uses; override this fixture to change them."""
    return settings


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
