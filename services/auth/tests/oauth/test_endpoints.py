"""Sign-in through a real code flow against the fake OIDC provider on loopback."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_service.config import AuthSettings
from auth_testing import People
from common.testing.oidc_provider import FakeOIDCProvider, OIDCUser
from oauth_fixtures import *  # noqa: F403
from oauth_fixtures import (
    CLIENT_ID,
    REDIRECT_URI,
    begin_login,
    callback,
    callback_body,
    problem_type,
    row_counts,
    sign_in,
)

ADA = OIDCUser("ada@example.com", "Ada Lovelace")


async def test_login_url_carries_state_nonce_and_pkce(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider
) -> None:
    response = await client.get("/auth/login", params={"provider": "dev"})
    assert response.status_code == 200
    body = response.json()
    url = urlsplit(body["authorization_url"])
    params = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{oidc.issuer}/authorize"
    assert body["provider"] == "dev"
    assert params["state"] == body["state"]
    assert params["client_id"] == CLIENT_ID
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == "openid email profile"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["nonce"]) == 32


async def test_first_sign_in_creates_the_user_and_their_workspace(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    before = await row_counts(conn)
    response = await sign_in(client, oidc, ADA)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["new_user"] is True
    assert body["email"] == "ada@example.com"
    assert body["role"] == "owner"
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == body["user_id"]
    assert me.json()["name"] == "Ada Lovelace"
    assert me.json()["memberships"] == [
        {"tenant_id": body["tenant_id"], "tenant_name": "Ada Lovelace's workspace", "role": "owner"}
    ]
    after = await row_counts(conn)
    assert {table: after[table] - before[table] for table in after} == {
        "user_account": 1,
        "tenant": 1,
        "oauth_identity": 1,
        "membership": 1,
        "provider_grant": 0,
    }


async def test_sign_in_through_the_providers_real_redirect(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider
) -> None:
    oidc.user = ADA
    async with httpx.AsyncClient() as browser:
        redirect = await browser.get(await begin_login(client))
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    returned = {name: values[0] for name, values in parse_qs(location.query).items()}
    response = await client.post("/auth/callback", json=callback_body(**returned))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ada@example.com"


async def test_second_sign_in_finds_the_same_user_and_workspace(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    first = (await sign_in(client, oidc, ADA)).json()
    before = await row_counts(conn)
    response = await sign_in(client, oidc, ADA)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["new_user"] is False
    assert body["user_id"] == first["user_id"]
    assert body["tenant_id"] == first["tenant_id"]
    assert body["role"] == "owner"
    assert await row_counts(conn) == before


async def test_invited_person_joins_the_inviting_tenant_with_the_invited_role(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner("owner@acme.example", "Acme")
    invited = await client.post(
        f"/auth/tenants/{owner.tenant_id}/invitations",
        json={"email": "grace@example.com", "role": "analyst"},
        headers=owner.headers,
    )
    assert invited.status_code == 201, invited.text
    before = await row_counts(conn)
    response = await sign_in(client, oidc, OIDCUser("grace@example.com", "Grace Hopper"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["new_user"] is True
    assert body["tenant_id"] == str(owner.tenant_id)
    assert body["role"] == "analyst"
    after = await row_counts(conn)
    assert after["tenant"] == before["tenant"]
    assert after["membership"] == before["membership"] + 1
    open_invitations = await client.get(
        f"/auth/tenants/{owner.tenant_id}/invitations", headers=owner.headers
    )
    assert open_invitations.json() == []


async def test_unverified_email_neither_signs_in_nor_takes_an_invitation(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner("owner@acme.example", "Acme")
    await client.post(
        f"/auth/tenants/{owner.tenant_id}/invitations",
        json={"email": "grace@example.com", "role": "admin"},
        headers=owner.headers,
    )
    before = await row_counts(conn)
    claimed = OIDCUser("grace@example.com", "Grace", email_verified=False)
    response = await sign_in(client, oidc, claimed)
    assert response.status_code == 400
    assert problem_type(response) == "email-unverified"
    assert await row_counts(conn) == before
    still_open = await client.get(
        f"/auth/tenants/{owner.tenant_id}/invitations", headers=owner.headers
    )
    assert [invitation["email"] for invitation in still_open.json()] == ["grace@example.com"]


async def test_an_untrusted_plain_provider_cannot_create_accounts(
    client: httpx.AsyncClient,
    oidc: FakeOIDCProvider,
    app_settings: AuthSettings,
    conn: AsyncConnection,
) -> None:
    app_settings.oauth_providers["plain"].trust_email = False
    before = await row_counts(conn)
    response = await sign_in(client, oidc, ADA, provider="plain")
    assert response.status_code == 400
    assert problem_type(response) == "email-unverified"
    assert await row_counts(conn) == before


async def test_plain_oauth2_provider_signs_in_through_userinfo(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider
) -> None:
    response = await sign_in(client, oidc, ADA, provider="plain")
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ada@example.com"
    assert response.json()["new_user"] is True
    assert oidc.calls["userinfo"] == 1
    assert "id_token" not in oidc.token_responses[-1]


async def test_existing_email_unverified_by_the_provider_is_not_linked(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    await people.tenant_owner("ada@example.com")
    before = await row_counts(conn)
    response = await sign_in(
        client, oidc, OIDCUser("ada@example.com", "Impostor", email_verified=False)
    )
    assert response.status_code == 400
    assert problem_type(response) == "email-unverified"
    assert await row_counts(conn) == before


# ---- refused callbacks: a problem response, and nothing written ------------------------------


async def test_callback_from_another_browser_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    # Login CSRF: an attacker's own code and state, fed to a victim's browser, lack the secret
    # that only the attacker's browser holds.
    attackers = oidc.approve(await begin_login(client), OIDCUser("mallory@example.com"))
    before = await row_counts(conn)
    body = {"code": attackers.code, "state": attackers.state, "flow_secret": "v" * 32}
    response = await client.post("/auth/callback", json=body)
    assert response.status_code == 400
    assert problem_type(response) == "oauth-state-invalid"
    assert oidc.calls["token"] == 0
    assert await row_counts(conn) == before
    assert (await callback(client, attackers)).status_code == 200  # its own browser still can


async def test_unknown_state_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    approval = oidc.approve(await begin_login(client), ADA)
    before = await row_counts(conn)
    response = await client.post("/auth/callback", json=callback_body(approval.code, "x" * 43))
    assert response.status_code == 400
    assert problem_type(response) == "oauth-state-invalid"
    assert oidc.calls["token"] == 0
    assert await row_counts(conn) == before


async def test_reused_state_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    approval = oidc.approve(await begin_login(client), ADA)
    assert (await callback(client, approval)).status_code == 200
    before = await row_counts(conn)
    response = await callback(client, approval)
    assert response.status_code == 400
    assert problem_type(response) == "oauth-state-invalid"
    assert oidc.calls["token"] == 1
    assert await row_counts(conn) == before


async def test_expired_state_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    approval = oidc.approve(await begin_login(client), ADA)
    await conn.execute(text("UPDATE auth.oauth_state SET expires_at = now() - interval '1 second'"))
    before = await row_counts(conn)
    response = await callback(client, approval)
    assert response.status_code == 400
    assert problem_type(response) == "oauth-state-invalid"
    assert oidc.calls["token"] == 0
    assert await row_counts(conn) == before


async def test_replayed_code_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    used = oidc.approve(await begin_login(client), ADA)
    assert (await callback(client, used)).status_code == 200
    fresh = oidc.approve(await begin_login(client), ADA)
    before = await row_counts(conn)
    response = await client.post("/auth/callback", json=callback_body(used.code, fresh.state))
    assert response.status_code == 400
    assert problem_type(response) == "authorization-code-refused"
    assert "invalid_grant" in response.json()["detail"]
    assert oidc.calls["authorization_code"] == 2
    assert await row_counts(conn) == before


async def test_code_from_another_authorization_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    attackers = oidc.approve(await begin_login(client), OIDCUser("mallory@example.com"))
    victims = oidc.approve(await begin_login(client), ADA)
    before = await row_counts(conn)
    response = await client.post(
        "/auth/callback", json=callback_body(attackers.code, victims.state)
    )
    assert response.status_code == 400
    assert problem_type(response) == "authorization-code-refused"
    assert "code_verifier" in response.json()["detail"]
    assert await row_counts(conn) == before


AN_HOUR_AGO = int(time.time()) - 3600
BAD_ID_TOKENS = {
    "wrong nonce": ({"nonce": "not-the-nonce-we-sent"}, "nonce"),
    "no nonce": ({"nonce": None}, "nonce"),
    "expired": ({"iat": AN_HOUR_AGO - 3600, "exp": AN_HOUR_AGO}, "has expired"),
    "another audience": ({"aud": "some-other-client"}, "aud"),
    "another issuer": ({"iss": "https://accounts.evil.example"}, "iss"),
}


@pytest.mark.parametrize("case", sorted(BAD_ID_TOKENS))
async def test_a_bad_id_token_is_refused_and_nothing_written(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection, case: str
) -> None:
    claims, named_in_detail = BAD_ID_TOKENS[case]
    approval = oidc.approve(await begin_login(client), ADA)
    oidc.override_next_id_token(**claims)
    before = await row_counts(conn)
    response = await callback(client, approval)
    assert response.status_code == 401
    assert problem_type(response) == "id-token-invalid"
    assert named_in_detail in response.json()["detail"]
    assert await row_counts(conn) == before


async def test_id_token_signed_by_an_unknown_key_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    approval = oidc.approve(await begin_login(client), ADA)
    oidc.override_next_id_token(unknown_key=True)
    before = await row_counts(conn)
    response = await callback(client, approval)
    assert response.status_code == 401
    assert problem_type(response) == "id-token-invalid"
    assert oidc.calls["jwks"] == 2  # the cached JWKS, then a fresh one in case of rotation
    assert await row_counts(conn) == before


async def test_unknown_provider_is_not_found(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    before = await row_counts(conn)
    response = await client.get("/auth/login", params={"provider": "nowhere"})
    assert response.status_code == 404
    assert problem_type(response) == "not-found"
    assert response.json()["available"] == ["dev", "google", "plain"]
    assert await row_counts(conn) == before


async def test_unregistered_redirect_uri_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    before = await row_counts(conn)
    response = await client.get(
        "/auth/login", params={"provider": "dev", "redirect_uri": "https://evil.example/callback"}
    )
    assert response.status_code == 400
    assert problem_type(response) == "bad-request"
    assert oidc.calls["discovery"] == 0
    assert await row_counts(conn) == before


async def test_provider_outage_at_the_code_exchange_is_a_bad_gateway(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, conn: AsyncConnection
) -> None:
    approval = oidc.approve(await begin_login(client), ADA)
    oidc.outage.add("token")
    before = await row_counts(conn)
    response = await callback(client, approval)
    assert response.status_code == 502
    assert problem_type(response) == "upstream-error"
    assert await row_counts(conn) == before
