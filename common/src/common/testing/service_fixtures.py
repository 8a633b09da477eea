"""The database fixtures every service's tests share, made anew for each service's conftest.

pytest caches a session fixture per definition, so one definition shared by two conftests would
serve the first service's settings (and engine) to the second; each conftest therefore calls
``database_fixtures`` and binds what it returns to the usual names::

    settings, engine, conn, database, app_settings = database_fixtures(make_settings)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.config import ServiceSettings
from common.db import Database, create_engine
from common.migrations import migrate


def database_fixtures(make_settings: Callable[[str], ServiceSettings]) -> tuple[Any, ...]:
    """``settings`` (session), ``engine`` (session: the service's schema migrated), ``conn`` (a
    connection whose transaction is rolled back after each test), ``database`` (sessions inside
    it) and ``app_settings`` (what the app under test uses; override it to change them)."""

    @pytest.fixture(scope="session")
    async def settings(database_url: str) -> ServiceSettings:
        return make_settings(database_url)

    @pytest.fixture(scope="session")
    async def engine(settings: ServiceSettings) -> AsyncIterator[AsyncEngine]:
        await migrate(settings)
        engine = create_engine(settings)
        yield engine
        await engine.dispose()

    @pytest.fixture
    async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        """Rolled back after the test: nothing leaks between tests."""
        async with engine.connect() as connection:
            transaction = await connection.begin()
            yield connection
            await transaction.rollback()

    @pytest.fixture
    async def database(conn: AsyncConnection) -> Database:
        return Database.bound_to(conn)

    @pytest.fixture
    async def app_settings(settings: ServiceSettings) -> ServiceSettings:
        return settings

    return settings, engine, conn, database, app_settings
