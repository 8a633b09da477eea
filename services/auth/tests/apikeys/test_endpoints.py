from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_testing import People


async def _service_headers(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ingestion",
            "client_secret": "dev-insecure-change-me",
        },
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_created_key_is_shown_once_and_hashed_at_rest(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    created = await client.post(
        "/auth/api-keys",
        json={"name": "game server", "scopes": ["events:write", "players:issue"]},
        headers=owner.headers,
    )
    assert created.status_code == 201
    body = created.json()
    secret = body["api_key"]
    assert secret.startswith(body["prefix"] + "_")
    assert body["scopes"] == ["events:write", "players:issue"]
    stored = (
        await conn.execute(
            text("SELECT prefix, secret_hash FROM auth.api_key WHERE id = :i"), {"i": body["id"]}
        )
    ).one()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = await client.get("/auth/api-keys", headers=owner.headers)
    assert [k["prefix"] for k in listed.json()] == [body["prefix"]]
    assert "api_key" not in listed.json()[0]
    assert secret not in listed.text


async def test_game_key_gets_only_the_login_scope(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    created = await client.post(
        "/auth/api-keys", json={"name": "ios", "kind": "game"}, headers=owner.headers
    )
    assert created.json()["scopes"] == ["players:login"]
    refused = await client.post(
        "/auth/api-keys",
        json={"name": "ios", "kind": "game", "scopes": ["admin"]},
        headers=owner.headers,
    )
    assert refused.status_code == 422


async def test_unknown_scope_and_missing_scope_are_refused(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    unknown = await client.post(
        "/auth/api-keys", json={"name": "x", "scopes": ["root"]}, headers=owner.headers
    )
    empty = await client.post("/auth/api-keys", json={"name": "x"}, headers=owner.headers)
    assert (unknown.status_code, empty.status_code) == (422, 422)


async def test_analyst_cannot_manage_keys(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    analyst = await people.member(owner.tenant_id, "analyst")
    response = await client.post(
        "/auth/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=analyst.headers
    )
    assert response.status_code == 403
    assert (await client.get("/auth/api-keys", headers=analyst.headers)).status_code == 403


async def test_revoked_key_stops_working_and_is_audited(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=owner.headers
        )
    ).json()
    service = await _service_headers(client)
    live = await client.post(
        "/internal/api-keys/introspect", json={"api_key": key["api_key"]}, headers=service
    )
    assert live.json() == {
        "active": True,
        "key_id": key["id"],
        "tenant_id": str(owner.tenant_id),
        "kind": "server",
        "scopes": ["admin"],
    }
    assert (
        await client.delete(f"/auth/api-keys/{key['id']}", headers=owner.headers)
    ).status_code == 204
    dead = await client.post(
        "/internal/api-keys/introspect", json={"api_key": key["api_key"]}, headers=service
    )
    assert dead.json() == {
        "active": False,
        "key_id": None,
        "tenant_id": None,
        "kind": None,
        "scopes": [],
    }
    again = await client.delete(f"/auth/api-keys/{key['id']}", headers=owner.headers)
    assert again.status_code == 404
    audit = await client.get("/auth/audit", headers=owner.headers)
    assert [e["action"] for e in audit.json()["events"]] == ["api_key.revoked", "api_key.created"]
    listed = await client.get("/auth/api-keys?include_revoked=true", headers=owner.headers)
    assert listed.json()[0]["revoked_at"] is not None


async def test_another_tenant_cannot_see_or_revoke_a_key(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    stranger = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=owner.headers
        )
    ).json()
    assert (await client.get("/auth/api-keys", headers=stranger.headers)).json() == []
    assert (
        await client.delete(f"/auth/api-keys/{key['id']}", headers=stranger.headers)
    ).status_code == 404
    assert [
        k["id"] for k in (await client.get("/auth/api-keys", headers=owner.headers)).json()
    ] == [key["id"]]


async def test_introspection_is_for_services_only(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    response = await client.post(
        "/internal/api-keys/introspect", json={"api_key": "mk_x"}, headers=owner.headers
    )
    assert response.status_code == 403


async def test_an_api_key_acts_as_its_tenant_machine(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=owner.headers
        )
    ).json()
    # Machines are not users: user-only endpoints refuse them clearly.
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {key['api_key']}"})
    assert response.status_code == 403
    assert response.json()["detail"] == "This endpoint is for user callers."


async def test_expiry_must_be_a_future_moment_with_a_zone(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    bodies = [
        {"name": "x", "scopes": ["admin"], "expires_at": "2020-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["admin"], "expires_at": "2999-01-01T00:00:00"},
    ]
    codes = [
        (await client.post("/auth/api-keys", json=b, headers=owner.headers)).status_code
        for b in bodies
    ]
    assert codes == [422, 422]


async def test_expired_key_is_not_accepted(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys",
            json={"name": "x", "scopes": ["players:issue"], "expires_at": "2999-01-01T00:00:00Z"},
            headers=owner.headers,
        )
    ).json()
    await conn.execute(
        text("UPDATE auth.api_key SET expires_at = now() - interval '1 second' WHERE id = :i"),
        {"i": key["id"]},
    )
    response = await client.post(
        "/auth/players/login", json={"userId": "p"}, headers={"X-Game-Key": key["api_key"]}
    )
    assert response.status_code == 401
