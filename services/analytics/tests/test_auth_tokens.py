"""Producers' facts with the service token auth really issues (client credentials), verified
against auth's real JWKS: the contract between the two services, not the test signing key's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.main import create_app
from analytics_testing import make_settings
from auth_service.main import create_app as create_auth_app
from auth_testing import make_settings as make_auth_settings
from common.config import DEV_PLACEHOLDER
from common.db import Database
from common.migrations import migrate
from common.testing.servers import serve_asgi


@pytest.fixture(scope="module")
async def auth_url(database_url: str) -> AsyncIterator[str]:
    settings = make_auth_settings(database_url)
    await migrate(settings)
    async with serve_asgi(create_auth_app(settings)) as url:
        yield url


async def service_token(auth_url: str, client_id: str) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{auth_url}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": DEV_PLACEHOLDER,
            },
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
async def analytics(
    database_url: str, auth_url: str, conn: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        make_settings(database_url, auth_url=auth_url), database=Database.bound_to(conn)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics.test") as c:
            yield c


def game_event(tenant: uuid.UUID) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "kind": "ingestion.game_event.v1",
        "tenant_id": str(tenant),
        "occurred_at": datetime(2026, 11, 20, 10, tzinfo=UTC).isoformat(),
        "data": {"event_type": "level_complete", "meta": None, "player_id": None, "user_id": None},
    }


async def test_ingestion_sends_its_facts_with_the_token_auth_issues_it(
    analytics: httpx.AsyncClient, auth_url: str
) -> None:
    token = await service_token(auth_url, "ingestion")
    headers = {"Authorization": f"Bearer {token}"}
    fact = game_event(uuid.uuid4())
    sent = await analytics.post(
        "/internal/facts", json={"source": "ingestion", "facts": [fact]}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"accepted": 1, "duplicates": 0}
    posing = await analytics.post(
        "/internal/facts", json={"source": "economy", "facts": [game_event(uuid.uuid4())]},
        headers=headers,
    )  # fmt: skip
    assert posing.status_code == 403
    assert posing.json()["detail"] == "A service sends its own facts: source must be 'ingestion'."
