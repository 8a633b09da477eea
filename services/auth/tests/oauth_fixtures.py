"""Fixtures and helpers of the sign-in and grant tests: the app configured against a fake OIDC
provider on loopback. Test modules take them with ``from oauth_fixtures import *``, which also
overrides ``app_settings`` for that module only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_service.config import AuthSettings, OAuthProvider
from auth_testing import Member, make_settings
from common.config import DEV_PLACEHOLDER
from common.testing.oidc_provider import Approval, FakeOIDCProvider, OIDCUser

__all__ = ["app_settings", "oidc"]

CLIENT_ID = "meridian-test-client"
CLIENT_SECRET = "fake-provider-client-secret"
REDIRECT_URI = "http://localhost:3000/oauth/callback"
ROW_COUNTS = text(
    "SELECT (SELECT count(*) FROM auth.user_account) AS user_account,"
    " (SELECT count(*) FROM auth.tenant) AS tenant,"
    " (SELECT count(*) FROM auth.oauth_identity) AS oauth_identity,"
    " (SELECT count(*) FROM auth.membership) AS membership,"
    " (SELECT count(*) FROM auth.provider_grant) AS provider_grant"
)


@pytest.fixture
async def oidc() -> AsyncIterator[FakeOIDCProvider]:
    """The fake provider, served on loopback for one test."""
    provider = FakeOIDCProvider(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT_URI])
    async with provider.serve():
        yield provider


@pytest.fixture
async def app_settings(settings: AuthSettings, oidc: FakeOIDCProvider) -> AuthSettings:
    """Sign-in provider "dev" and grant provider "google" (discovery), and "plain", a bare
    OAuth 2.0 provider read through userinfo, all at the fake."""
    assert settings.database_url is not None
    oidc_config = OAuthProvider(
        kind="oidc",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        discovery_url=oidc.discovery_url,
    )
    plain = OAuthProvider(
        kind="oauth2",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{oidc.issuer}/authorize",
        token_url=f"{oidc.issuer}/token",
        userinfo_url=f"{oidc.issuer}/userinfo",
        scopes=["email", "profile"],
        trust_email=True,
    )
    providers = {"dev": oidc_config, "google": oidc_config, "plain": plain}
    return make_settings(
        settings.database_url, oauth_providers=providers, oauth_redirect_uris=[REDIRECT_URI]
    )


# The flow secret each started sign-in handed to "the browser", by state.
FLOW_SECRETS: dict[str, str] = {}


async def begin_login(client: httpx.AsyncClient, provider: str = "dev") -> str:
    """The authorization URL of a new sign-in (its flow secret kept as a browser would)."""
    response = await client.get("/auth/login", params={"provider": provider})
    assert response.status_code == 200, response.text
    body = response.json()
    FLOW_SECRETS[body["state"]] = body["flow_secret"]
    url: str = body["authorization_url"]
    return url


def callback_body(code: str, state: str) -> dict[str, str]:
    """What the browser that started the sign-in sends back."""
    return {"code": code, "state": state, "flow_secret": FLOW_SECRETS.get(state, "n" * 32)}


async def callback(client: httpx.AsyncClient, approval: Approval) -> httpx.Response:
    return await client.post("/auth/callback", json=callback_body(approval.code, approval.state))


async def sign_in(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, user: OIDCUser, provider: str = "dev"
) -> httpx.Response:
    """The whole browserless code flow: login, consent at the fake, callback."""
    return await callback(client, oidc.approve(await begin_login(client, provider), user))


async def connect_grant(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, owner: Member, user: OIDCUser
) -> httpx.Response:
    """Connect the tenant of ``owner`` to "google" as ``user`` at the provider."""
    started = await client.post("/auth/grants/google/connect", json={}, headers=owner.headers)
    assert started.status_code == 200, started.text
    approval = oidc.approve(started.json()["authorization_url"], user)
    return await client.post(
        "/auth/grants/callback",
        json={"code": approval.code, "state": approval.state},
        headers=owner.headers,
    )


async def service_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """A bearer token of the ingestion service (client credentials, development secret)."""
    response = await client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ingestion",
            "client_secret": DEV_PLACEHOLDER,
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def row_counts(conn: AsyncConnection) -> dict[str, int]:
    """Rows of the tables a sign-in or a grant writes; equal before and after = nothing written."""
    return dict((await conn.execute(ROW_COUNTS)).one()._mapping)


def problem_type(response: httpx.Response) -> str:
    """The slug of a problem response's ``type``."""
    assert response.headers["content-type"] == "application/problem+json", response.text
    slug: str = response.json()["type"].rsplit("/", 1)[-1]
    return slug
