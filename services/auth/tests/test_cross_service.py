"""Another service verifying Meridian callers with common's verifier against auth running as a
real process: JWKS fetched once and again only for an unknown kid, API keys asked of auth and
cached within the stated bound."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.apikeys import service as apikeys
from auth_service.apikeys.schemas import ApiKeyIn
from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.tenants import repository as tenants
from auth_testing import process_env
from common.app import create_app
from common.config import ServiceSettings
from common.db import Database
from common.security import AnyCaller, Principal
from common.testing.servers import free_port, service_process


class RouterLikeSettings(ServiceSettings):
    """A consumer service; named router so auth knows its client credentials."""

    service_name = "router"
    default_port = 8006
    model_config = SettingsConfigDict(env_prefix="ROUTERTEST_", extra="ignore")


consumer = APIRouter()


@consumer.get("/whoami")
async def whoami(caller: AnyCaller) -> dict[str, object]:
    return {
        "kind": caller.kind,
        "tenant_id": str(caller.tenant_id),
        "scopes": sorted(caller.scopes),
    }


@pytest.fixture(scope="module")
async def auth_url(
    settings: AuthSettings, engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    port = free_port()
    env = process_env(settings, port)
    log = Path(tmp_path_factory.mktemp("auth")) / "auth.log"
    async with service_process("auth_service", env, port=port, log=log) as url:
        yield url


@pytest.fixture
async def consumer_client(
    database_url: str, auth_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    settings = RouterLikeSettings(
        database_url=database_url,
        environment="test",
        log_to_files=False,
        db_role_mode="shared",
        auth_url=auth_url,
        api_key_cache_seconds=1,
    )
    app = create_app(settings, title="consumer", version="0", routers=[consumer])
    calls: list[str] = []
    async with app.router.lifespan_context(app):

        async def record(request: httpx.Request) -> None:
            calls.append(request.url.path)

        app.state.http.client.event_hooks["request"].append(record)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://consumer") as client:
            yield client, calls


@pytest.fixture
async def tenant_with_keys(settings: AuthSettings, engine: AsyncEngine) -> dict[str, str]:
    """A committed tenant (the auth process must see it) with a game key and a server key."""
    database = Database(engine)
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenants.create_tenant(session, f"cross-{uuid.uuid4().hex[:6]}")
        owner = await tenants.create_user(session, f"{uuid.uuid4().hex[:8]}@example.com", "o")
        await tenants.add_membership(session, tenant.id, owner.id, "owner")
        caller = Principal(kind="user", subject=str(owner.id), tenant_id=tenant.id, role="owner")
        game = await apikeys.create(session, caller, ApiKeyIn(name="g", kind="game"))
        server = await apikeys.create(session, caller, ApiKeyIn(name="s", scopes=["events:write"]))
    return {
        "tenant_id": str(tenant.id),
        "game": game.api_key,
        "server": server.api_key,
        "server_id": str(server.id),
    }


async def test_player_token_verified_locally_with_one_jwks_fetch(
    auth_url: str,
    consumer_client: tuple[httpx.AsyncClient, list[str]],
    tenant_with_keys: dict[str, str],
) -> None:
    client, calls = consumer_client
    async with httpx.AsyncClient() as http:
        login = await http.post(
            f"{auth_url}/auth/players/login",
            json={"userId": "p1"},
            headers={"X-Game-Key": tenant_with_keys["game"]},
        )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    answers = [await client.get("/whoami", headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert answers[0].json() == {
        "kind": "player",
        "tenant_id": tenant_with_keys["tenant_id"],
        "scopes": ["player"],
    }
    assert calls == ["/.well-known/jwks.json"]


async def test_unknown_kid_refetches_the_jwks(
    settings: AuthSettings,
    engine: AsyncEngine,
    consumer_client: tuple[httpx.AsyncClient, list[str]],
    tenant_with_keys: dict[str, str],
    auth_url: str,
) -> None:
    client, calls = consumer_client
    async with httpx.AsyncClient() as http:
        login = await http.post(
            f"{auth_url}/auth/players/login",
            json={"userId": "p2"},
            headers={"X-Game-Key": tenant_with_keys["game"]},
        )
    assert (
        await client.get("/whoami", headers={"Authorization": f"Bearer {login.json()['token']}"})
    ).status_code == 200
    database = Database(engine)
    keyring = KeyRing(settings, database.sessionmaker)
    async with database.sessionmaker() as session, session.begin():
        await keyring.rotate(session, prepublish=timedelta(0))
    token, _ = await keyring.sign(
        {"sub": "p", "tid": tenant_with_keys["tenant_id"], "typ": "player", "scope": "player"},
        timedelta(minutes=5),
    )
    # The consumer only refetches for an unknown kid once 10 s have passed since its last fetch.
    client_app_verifier = client._transport.app.state.verifier  # type: ignore[attr-defined]
    client_app_verifier.keys._fetched_at -= 11
    response = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert calls == ["/.well-known/jwks.json", "/.well-known/jwks.json"]


async def test_api_key_is_introspected_once_and_revocation_bites_within_the_bound(
    engine: AsyncEngine,
    consumer_client: tuple[httpx.AsyncClient, list[str]],
    tenant_with_keys: dict[str, str],
) -> None:
    client, calls = consumer_client
    headers = {"Authorization": f"Bearer {tenant_with_keys['server']}"}
    first = await client.get("/whoami", headers=headers)
    assert first.json() == {
        "kind": "machine",
        "tenant_id": tenant_with_keys["tenant_id"],
        "scopes": ["events:write"],
    }
    assert (await client.get("/whoami", headers=headers)).status_code == 200
    assert calls == ["/auth/token", "/internal/api-keys/introspect"]
    database = Database(engine)
    async with database.sessionmaker() as session, session.begin():
        await apikeys.revoke(
            session,
            Principal(
                kind="user",
                subject=str(uuid.uuid4()),
                tenant_id=uuid.UUID(tenant_with_keys["tenant_id"]),
                role="owner",
            ),
            uuid.UUID(tenant_with_keys["server_id"]),
        )
    await asyncio.sleep(1.1)  # the consumer's api_key_cache_seconds
    refused = await client.get("/whoami", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The API key is unknown or revoked."
