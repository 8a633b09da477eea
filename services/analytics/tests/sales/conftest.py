"""The sales tests' data set (sales_data.py) loaded in the test's transaction, and a viewer."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import sales_data
from sales_data import Get
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_testing import Callers


@pytest.fixture
async def other_tenant() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
async def warehouse(conn: AsyncConnection, tenant: uuid.UUID, other_tenant: uuid.UUID) -> None:
    await sales_data.load(conn, tenant, other_tenant)


@pytest.fixture
def get(client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, warehouse: None) -> Get:
    """GET as a viewer of the tenant; the JSON answer of a 200 (anything else fails)."""
    viewer = callers.user(tenant, "viewer")

    async def get(path: str, **params: Any) -> Any:
        response = await client.get(path, params=params, headers=viewer.headers)
        assert response.status_code == 200, response.text
        return response.json()

    return get
