from __future__ import annotations

import base64
import json

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_testing import People


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def test_me_names_the_user_and_their_role(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner("ada@example.com", "Lovelace Games")
    response = await client.get("/auth/me", headers=owner.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["role"] == "owner"
    assert body["tenant_id"] == str(owner.tenant_id)
    assert body["memberships"] == [
        {"tenant_id": str(owner.tenant_id), "tenant_name": "Lovelace Games", "role": "owner"}
    ]


async def test_refresh_rotates_the_token(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    response = await _refresh(client, owner.refresh_token)
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] != owner.refresh_token
    assert body["refresh_token"].startswith("rt_")
    assert body["role"] == "owner"
    assert body["tenant_id"] == str(owner.tenant_id)
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


async def test_reused_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    first = (await _refresh(client, owner.refresh_token)).json()["refresh_token"]
    second = (await _refresh(client, first)).json()["refresh_token"]
    # The original token is two generations old: outside any grace, it is a theft signal.
    reuse = await _refresh(client, owner.refresh_token)
    assert reuse.status_code == 401
    assert reuse.json()["type"].endswith("/refresh-token-reused")
    after = await _refresh(client, second)
    assert after.status_code == 401
    assert after.json()["detail"] == "The refresh token is revoked."
    live = await conn.scalar(
        text("SELECT count(*) FROM auth.refresh_token WHERE user_id = :u AND revoked_at IS NULL"),
        {"u": owner.user_id},
    )
    assert live == 0


async def test_previous_token_within_grace_gets_a_sibling(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    first = (await _refresh(client, owner.refresh_token)).json()["refresh_token"]
    # Two tabs refreshed at once: the second presents the token the first just spent.
    again = await _refresh(client, owner.refresh_token)
    assert again.status_code == 200
    twin = again.json()["refresh_token"]
    assert twin != first
    # Whichever twin is used first lives on; the other ends (a family has one live leaf).
    assert (await _refresh(client, twin)).status_code == 200
    late = await _refresh(client, first)
    assert (late.status_code, late.json()["detail"]) == (401, "The refresh token is revoked.")


async def test_grace_ends_once_a_child_was_used(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    child = (await _refresh(client, owner.refresh_token)).json()["refresh_token"]
    grandchild = (await _refresh(client, child)).json()["refresh_token"]
    # Within seconds, but the original is no longer the previous token of the live one.
    reuse = await _refresh(client, owner.refresh_token)
    assert reuse.status_code == 401
    assert reuse.json()["type"].endswith("/refresh-token-reused")
    assert (await _refresh(client, grandchild)).status_code == 401


async def test_previous_token_after_grace_is_reuse(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    child = (await _refresh(client, owner.refresh_token)).json()["refresh_token"]
    await conn.execute(
        text(
            "UPDATE auth.refresh_token SET used_at = now() - interval '1 minute' WHERE user_id = :u"
        ),
        {"u": owner.user_id},
    )
    assert (await _refresh(client, owner.refresh_token)).status_code == 401
    assert (await _refresh(client, child)).status_code == 401


async def test_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await _refresh(client, "rt_" + "x" * 40)
    assert response.status_code == 401
    assert response.json()["detail"] == "The refresh token is unknown."
    assert response.headers["content-type"] == "application/problem+json"


async def test_refresh_after_removal_from_tenant_is_refused(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    analyst = await people.member(owner.tenant_id, "analyst")
    removed = await client.delete(
        f"/auth/tenants/{owner.tenant_id}/members/{analyst.user_id}", headers=owner.headers
    )
    assert removed.status_code == 204
    assert (await _refresh(client, analyst.refresh_token)).status_code == 401


async def test_logout_ends_the_session(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    assert (
        await client.post("/auth/logout", json={"refresh_token": owner.refresh_token})
    ).status_code == 204
    response = await _refresh(client, owner.refresh_token)
    assert response.status_code == 401
    assert response.json()["detail"] == "The refresh token is revoked."


async def test_tampered_access_token_is_refused(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    header, payload, signature = owner.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "owner"
    claims["tid"] = "00000000-0000-0000-0000-000000000001"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = await client.get(
        "/auth/me", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is invalid."


async def test_expired_access_token_is_refused(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    keyring = client.app.state.keyring  # type: ignore[attr-defined]
    from datetime import timedelta

    token, _ = await keyring.sign(
        {"sub": str(owner.user_id), "tid": str(owner.tenant_id), "role": "owner", "typ": "user"},
        timedelta(seconds=-60),
    )
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/token-expired")


async def test_missing_token_is_refused_with_www_authenticate(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_tenant_header_must_match_the_token(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    other = await people.tenant_owner()
    same = await client.get(
        "/auth/me", headers={**owner.headers, "X-Tenant-Id": str(owner.tenant_id)}
    )
    assert same.status_code == 200
    response = await client.get(
        "/auth/me", headers={**owner.headers, "X-Tenant-Id": str(other.tenant_id)}
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("/tenant-mismatch")


async def test_malformed_tenant_header_is_a_bad_request(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    response = await client.get("/auth/me", headers={**owner.headers, "X-Tenant-Id": "branch-7"})
    assert response.status_code == 400
