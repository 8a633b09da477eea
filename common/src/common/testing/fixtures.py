"""Pytest fixtures every service's tests share. Import them in the service's conftest:

from common.testing.fixtures import *  # noqa: F403
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from common.testing.database import create_throwaway_database, drop_database, server_url


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """Admin URL of a database made for this test session and dropped after it."""
    url = await create_throwaway_database(server_url())
    yield url
    await drop_database(url)
