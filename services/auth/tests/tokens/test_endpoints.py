from __future__ import annotations

import base64

import httpx

from auth_testing import People

DEV_SECRET = "dev-insecure-change-me"


async def test_service_gets_a_token_with_its_scopes(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ingestion",
            "client_secret": DEV_SECRET,
        },
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        3600,
        "api-keys:introspect facts:write grants:read",
    )
    principal = await client.app.state.verifier.verify(body["access_token"])  # type: ignore[attr-defined]
    assert (principal.kind, principal.subject, principal.tenant_id) == (
        "service",
        "service:ingestion",
        None,
    )


async def test_basic_client_authentication_works(client: httpx.AsyncClient) -> None:
    basic = base64.b64encode(f"router:{DEV_SECRET}".encode()).decode()
    response = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "api-keys:introspect facts:write"


async def test_wrong_client_secret_is_invalid_client(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ingestion",
            "client_secret": "nope",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_scope_beyond_the_grant_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "router",
            "client_secret": DEV_SECRET,
            "scope": "grants:read",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_unsupported_grant_type(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/token", data={"grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_api_key_is_exchanged_for_a_short_lived_machine_token(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys", json={"name": "s", "scopes": ["events:write"]}, headers=owner.headers
        )
    ).json()
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": key["api_key"],
            "subject_token_type": "urn:meridian:params:oauth:token-type:api-key",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["expires_in"], body["scope"]) == (900, "events:write")
    principal = await client.app.state.verifier.verify(body["access_token"])  # type: ignore[attr-defined]
    assert (principal.kind, principal.tenant_id, principal.subject) == (
        "machine",
        owner.tenant_id,
        f"apikey:{key['id']}",
    )


async def test_revoked_api_key_cannot_be_exchanged(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys", json={"name": "s", "scopes": ["admin"]}, headers=owner.headers
        )
    ).json()
    await client.delete(f"/auth/api-keys/{key['id']}", headers=owner.headers)
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": key["api_key"],
            "subject_token_type": "urn:meridian:params:oauth:token-type:api-key",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_malformed_basic_credentials_are_a_bad_request(client: httpx.AsyncClient) -> None:
    values = [
        b"Basic \xc3\xa9\xc3\xa9",
        b"Basic not base64!",
        b"Basic " + base64.b64encode(b"\xff\xfe"),
    ]
    for value in values:
        response = await client.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": value},
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
