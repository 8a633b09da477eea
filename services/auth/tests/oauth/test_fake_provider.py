"""The fake OIDC provider itself, driven by authlib as the service drives it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from common.testing.oidc_provider import FakeOIDCProvider, OIDCUser

REDIRECT_URI = "http://localhost:3000/oauth/callback"
GRACE = OIDCUser("grace@example.com", "Grace Hopper")


@pytest.fixture
async def provider() -> AsyncIterator[FakeOIDCProvider]:
    fake = FakeOIDCProvider("fake-client", "fake-secret", [REDIRECT_URI])
    async with fake.serve():
        yield fake


def _client(provider: FakeOIDCProvider, secret: str, auth_method: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=secret,
        scope="openid email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )


async def test_client_secret_post_exchange_and_userinfo(provider: FakeOIDCProvider) -> None:
    async with _client(provider, "fake-secret", "client_secret_post") as client:
        url, _ = client.create_authorization_url(
            f"{provider.issuer}/authorize", state="s" * 20, code_verifier="v" * 50
        )
        code, state = provider.approve(url, GRACE)
        token = await client.fetch_token(
            f"{provider.issuer}/token", code=code, code_verifier="v" * 50
        )
        info = await client.get(f"{provider.issuer}/userinfo")
    assert state == "s" * 20
    assert token["token_type"] == "Bearer"
    assert "refresh_token" not in token  # neither access_type=offline nor offline_access
    assert info.json() == {
        "sub": GRACE.sub,
        "email": "grace@example.com",
        "email_verified": True,
        "name": "Grace Hopper",
    }


async def test_wrong_client_secret_is_invalid_client(provider: FakeOIDCProvider) -> None:
    async with _client(provider, "wrong-secret", "client_secret_basic") as client:
        url, _ = client.create_authorization_url(
            f"{provider.issuer}/authorize", code_verifier="v" * 50
        )
        code, _ = provider.approve(url, GRACE)
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(f"{provider.issuer}/token", code=code, code_verifier="v" * 50)
    assert refused.value.error == "invalid_client"
    assert provider.calls["authorization_code"] == 0
