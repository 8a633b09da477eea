"""The signals tests' data set (signals_data.py) loaded in the test's transaction."""

from __future__ import annotations

import uuid

import pytest
import signals_data
from sqlalchemy.ext.asyncio import AsyncConnection


@pytest.fixture
async def other_tenant() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
async def warehouse(conn: AsyncConnection, tenant: uuid.UUID, other_tenant: uuid.UUID) -> None:
    await signals_data.load(conn, tenant, other_tenant)
