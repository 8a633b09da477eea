"""Fixtures of the auth tests: a migrated throw-away database, the app on a rolled-back
transaction per test, and helpers that make signed-in users."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth_service.config import AuthSettings
from auth_service.main import create_app
from auth_testing import People, make_settings
from common.db import Database, create_engine
from common.migrations import migrate


@pytest.fixture(scope="session")
async def settings(database_url: str) -> AuthSettings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: AuthSettings) -> AsyncIterator[AsyncEngine]:
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
async def app_settings(settings: AuthSettings) -> AuthSettings:
    """The settings the app under test uses; override this fixture to change them."""
    return settings


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
