"""Provider grants: connecting Google Analytics through the fake provider, tokens for services."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_service.config import AuthSettings
from auth_testing import People
from common.testing.oidc_provider import FakeOIDCProvider, OIDCUser
from oauth_fixtures import *  # noqa: F403
from oauth_fixtures import (
    connect_grant,
    problem_type,
    row_counts,
    service_headers,
    sign_in,
)

ANALYTICS = OIDCUser("analytics@acme.example", "Acme Analytics")
ANALYTICS_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"


def _access_token_url(tenant_id: object) -> str:
    return f"/internal/grants/{tenant_id}/google/access-token"


async def test_connect_asks_for_offline_access_to_analytics(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    owner = await people.tenant_owner()
    response = await client.post("/auth/grants/google/connect", json={}, headers=owner.headers)
    assert response.status_code == 200, response.text
    params = parse_qs(urlsplit(response.json()["authorization_url"]).query)
    assert params["access_type"] == ["offline"]
    assert params["prompt"] == ["consent"]
    assert params["scope"] == [f"openid email {ANALYTICS_SCOPE}"]
    assert params["code_challenge_method"] == ["S256"]


async def test_callback_stores_an_active_grant(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    owner = await people.tenant_owner()
    response = await connect_grant(client, oidc, owner, ANALYTICS)
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["provider"] == "google"
    assert grant["status"] == "active"
    assert grant["account_email"] == "analytics@acme.example"
    assert grant["scopes"] == ["openid", "email", ANALYTICS_SCOPE]
    assert grant["last_error"] is None


async def test_grant_list_shows_the_grant_without_token_material(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    owner = await people.tenant_owner()
    connected = (await connect_grant(client, oidc, owner, ANALYTICS)).json()
    response = await client.get("/auth/grants", headers=owner.headers)
    assert response.status_code == 200
    assert response.json() == [connected]
    assert set(connected) == {
        "id",
        "provider",
        "status",
        "scopes",
        "account_email",
        "connected_at",
        "access_expires_at",
        "last_refreshed_at",
        "last_error",
    }
    issued = oidc.token_responses[-1]
    assert issued["access_token"] not in response.text
    assert issued["refresh_token"] not in response.text


async def test_stored_tokens_are_encrypted(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    await connect_grant(client, oidc, owner, ANALYTICS)
    issued = oidc.token_responses[-1]
    row = (
        await conn.execute(
            text("SELECT refresh_token_enc, access_token_enc FROM auth.provider_grant")
        )
    ).one()
    assert issued["refresh_token"].encode() not in row.refresh_token_enc
    assert issued["access_token"].encode() not in row.access_token_enc


async def test_provider_giving_no_refresh_token_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    oidc.omit_refresh_token = True
    before = await row_counts(conn)
    response = await connect_grant(client, oidc, owner, ANALYTICS)
    assert response.status_code == 400
    assert problem_type(response) == "grant-not-offline"
    assert await row_counts(conn) == before


async def test_viewer_cannot_connect(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    viewer = await people.member(owner.tenant_id, "viewer")
    before = await row_counts(conn)
    response = await client.post("/auth/grants/google/connect", json={}, headers=viewer.headers)
    assert response.status_code == 403
    assert problem_type(response) == "forbidden"
    assert await row_counts(conn) == before


async def test_callback_by_another_tenant_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    stranger = await people.tenant_owner(tenant_name="Rival")
    started = await client.post("/auth/grants/google/connect", json={}, headers=owner.headers)
    approval = oidc.approve(started.json()["authorization_url"], ANALYTICS)
    before = await row_counts(conn)
    response = await client.post(
        "/auth/grants/callback",
        json={"code": approval.code, "state": approval.state},
        headers=stranger.headers,
    )
    assert response.status_code == 400
    assert problem_type(response) == "bad-request"
    assert await row_counts(conn) == before


async def test_another_tenants_owner_does_not_see_the_grant(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    owner = await people.tenant_owner()
    await connect_grant(client, oidc, owner, ANALYTICS)
    stranger = await people.tenant_owner(tenant_name="Rival")
    response = await client.get("/auth/grants", headers=stranger.headers)
    assert response.status_code == 200
    assert response.json() == []
    aimed = await client.get(
        "/auth/grants", headers={**stranger.headers, "X-Tenant-Id": str(owner.tenant_id)}
    )
    assert aimed.status_code == 403
    assert problem_type(aimed) == "tenant-mismatch"


async def test_user_token_cannot_get_a_grants_access_token(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    owner = await people.tenant_owner()
    await connect_grant(client, oidc, owner, ANALYTICS)
    stranger = await people.tenant_owner(tenant_name="Rival")
    for caller in (stranger, owner):
        response = await client.post(_access_token_url(owner.tenant_id), headers=caller.headers)
        assert response.status_code == 403
        assert problem_type(response) == "forbidden"


async def test_service_gets_the_stored_access_token_while_it_is_fresh(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    owner = await people.tenant_owner()
    await connect_grant(client, oidc, owner, ANALYTICS)
    issued = oidc.token_responses[-1]
    response = await client.post(
        _access_token_url(owner.tenant_id), headers=await service_headers(client)
    )
    assert response.status_code == 200, response.text
    assert response.json()["access_token"] == issued["access_token"]
    assert response.json()["scopes"] == ["openid", "email", ANALYTICS_SCOPE]
    assert oidc.calls["refresh_token"] == 0


async def test_service_gets_a_refreshed_token_when_it_expires_within_the_margin(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    owner = await people.tenant_owner()
    oidc.access_token_seconds = 20 * 60  # inside the 30-minute margin
    await connect_grant(client, oidc, owner, ANALYTICS)
    first = oidc.token_responses[-1]["access_token"]
    oidc.access_token_seconds = 3600
    headers = await service_headers(client)
    response = await client.post(_access_token_url(owner.tenant_id), headers=headers)
    assert response.status_code == 200, response.text
    assert oidc.calls["refresh_token"] == 1
    refreshed = oidc.token_responses[-1]["access_token"]
    assert response.json()["access_token"] == refreshed != first
    again = await client.post(_access_token_url(owner.tenant_id), headers=headers)
    assert again.json()["access_token"] == refreshed
    assert oidc.calls["refresh_token"] == 1
    grants = (await client.get("/auth/grants", headers=owner.headers)).json()
    assert grants[0]["last_refreshed_at"] is not None


async def test_service_may_ask_for_a_refresh_when_the_provider_refused_the_token(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    await connect_grant(client, oidc, owner, ANALYTICS)
    first = oidc.token_responses[-1]["access_token"]
    headers = await service_headers(client)
    url = _access_token_url(owner.tenant_id)
    refreshed = await client.post(url, params={"refresh": "true"}, headers=headers)
    assert refreshed.status_code == 200, refreshed.text
    assert oidc.calls["refresh_token"] == 1
    assert refreshed.json()["access_token"] == oidc.token_responses[-1]["access_token"] != first
    # Consent withdrawn at Google: the stored token still looks fresh, but a forced refresh
    # finds out and marks the grant.
    oidc.revoke_refresh_token(oidc.token_responses[0]["refresh_token"])
    fresh_looking = await client.post(url, headers=headers)
    assert fresh_looking.status_code == 200
    refused = await client.post(url, params={"refresh": "true"}, headers=headers)
    assert refused.status_code == 409
    assert problem_type(refused) == "grant-needs-reconsent"
    stored = await conn.execute(text("SELECT status FROM auth.provider_grant"))
    assert stored.scalar_one() == "needs_reconsent"


async def test_revoked_consent_marks_the_grant_as_needing_reconsent(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    oidc.access_token_seconds = 60
    await connect_grant(client, oidc, owner, ANALYTICS)
    oidc.revoke_refresh_token(oidc.token_responses[-1]["refresh_token"])
    headers = await service_headers(client)
    response = await client.post(_access_token_url(owner.tenant_id), headers=headers)
    assert response.status_code == 409
    assert problem_type(response) == "grant-needs-reconsent"
    stored = await conn.execute(text("SELECT status, last_error FROM auth.provider_grant"))
    assert stored.one() == ("needs_reconsent", "invalid_grant: Token has been expired or revoked.")
    again = await client.post(_access_token_url(owner.tenant_id), headers=headers)
    assert again.status_code == 409
    assert oidc.calls["refresh_token"] == 1


async def test_connecting_again_restores_a_grant_that_needs_reconsent(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    oidc.access_token_seconds = 60
    first = (await connect_grant(client, oidc, owner, ANALYTICS)).json()
    oidc.revoke_refresh_token(oidc.token_responses[-1]["refresh_token"])
    headers = await service_headers(client)
    assert (
        await client.post(_access_token_url(owner.tenant_id), headers=headers)
    ).status_code == 409
    oidc.access_token_seconds = 3600
    again = await connect_grant(client, oidc, owner, ANALYTICS)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]
    assert again.json()["status"] == "active"
    assert again.json()["last_error"] is None
    token = await client.post(_access_token_url(owner.tenant_id), headers=headers)
    assert token.status_code == 200
    assert token.json()["access_token"] == oidc.token_responses[-1]["access_token"]
    count = await conn.execute(text("SELECT count(*) FROM auth.provider_grant"))
    assert count.scalar_one() == 1


async def test_disconnect_revokes_at_the_provider_and_forgets_the_grant(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    await connect_grant(client, oidc, owner, ANALYTICS)
    refresh_token = oidc.token_responses[-1]["refresh_token"]
    response = await client.delete("/auth/grants/google", headers=owner.headers)
    assert response.status_code == 204
    assert oidc.revocations == [refresh_token]
    assert (await client.get("/auth/grants", headers=owner.headers)).json() == []
    stored = await conn.execute(
        text("SELECT status, refresh_token_enc, access_token_enc FROM auth.provider_grant")
    )
    assert stored.one() == ("revoked", None, None)
    token = await client.post(
        _access_token_url(owner.tenant_id), headers=await service_headers(client)
    )
    assert token.status_code == 404
    assert problem_type(token) == "grant-missing"


async def test_audit_log_shows_sign_in_and_grant_connection(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People
) -> None:
    signed_in = (await sign_in(client, oidc, OIDCUser("ada@example.com", "Ada"))).json()
    assert signed_in["role"] == "owner"
    headers = {"Authorization": f"Bearer {signed_in['access_token']}"}
    started = await client.post("/auth/grants/google/connect", json={}, headers=headers)
    approval = oidc.approve(started.json()["authorization_url"], ANALYTICS)
    connected = await client.post(
        "/auth/grants/callback",
        json={"code": approval.code, "state": approval.state},
        headers=headers,
    )
    assert connected.status_code == 200, connected.text
    response = await client.get("/auth/audit", headers=headers)
    assert response.status_code == 200
    events = response.json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("grant.connected", f"user:{signed_in['user_id']}"),
        ("user.signed_in", f"user:{signed_in['user_id']}"),
        ("tenant.created", f"user:{signed_in['user_id']}"),
    ]
    assert events[0]["target"] == "google"
    assert events[0]["details"]["account"] == "analytics@acme.example"
    assert events[1]["details"] == {"new_user": True}


async def test_provider_outage_while_refreshing_is_a_bad_gateway(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    oidc.access_token_seconds = 60
    await connect_grant(client, oidc, owner, ANALYTICS)
    oidc.outage.add("token")
    response = await client.post(
        _access_token_url(owner.tenant_id), headers=await service_headers(client)
    )
    assert response.status_code == 502
    assert problem_type(response) == "upstream-error"
    stored = await conn.execute(text("SELECT status FROM auth.provider_grant"))
    assert stored.scalar_one() == "active"


async def test_disconnect_during_a_provider_outage_still_forgets_the_grant(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    await connect_grant(client, oidc, owner, ANALYTICS)
    oidc.outage.add("revoke")
    response = await client.delete("/auth/grants/google", headers=owner.headers)
    assert response.status_code == 204
    assert oidc.calls["revoke"] == 1
    assert (await client.get("/auth/grants", headers=owner.headers)).json() == []
    audit = await client.get(
        "/auth/audit", params={"action": "grant.disconnected"}, headers=owner.headers
    )
    assert audit.json()["events"][0]["details"] == {"revoked_at_provider": False}


async def test_a_consent_without_the_analytics_scope_is_refused(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    oidc.withheld = {ANALYTICS_SCOPE}
    before = await row_counts(conn)
    response = await connect_grant(client, oidc, owner, ANALYTICS)
    assert response.status_code == 400
    assert problem_type(response) == "grant-scope-missing"
    assert await row_counts(conn) == before


async def test_disconnect_works_when_the_provider_is_gone_from_settings(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, app_settings: AuthSettings
) -> None:
    owner = await people.tenant_owner()
    assert (await connect_grant(client, oidc, owner, ANALYTICS)).status_code == 200
    client.app.state.providers._providers.pop("google")  # type: ignore[attr-defined]
    client.app.state.providers._endpoints.clear()  # type: ignore[attr-defined]
    response = await client.delete("/auth/grants/google", headers=owner.headers)
    assert response.status_code == 204
    assert (await client.get("/auth/grants", headers=owner.headers)).json() == []


async def test_only_configured_data_sources_can_be_connected(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    response = await client.post("/auth/grants/dev/connect", json={}, headers=owner.headers)
    assert response.status_code == 404
    assert response.json()["available"] == ["google"]
