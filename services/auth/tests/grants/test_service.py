"""The hourly job that refreshes grants before their access tokens expire."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_service.config import AuthSettings
from auth_service.grants.service import refresh_expiring
from auth_testing import People
from common.db import Database
from common.testing.oidc_provider import FakeOIDCProvider, OIDCUser
from oauth_fixtures import *  # noqa: F403
from oauth_fixtures import connect_grant


async def _connect(
    client: httpx.AsyncClient, oidc: FakeOIDCProvider, people: People, name: str, seconds: int
) -> str:
    """A tenant named ``name`` whose grant's access token lasts ``seconds``; its refresh token."""
    owner = await people.tenant_owner(tenant_name=name)
    oidc.access_token_seconds = seconds
    response = await connect_grant(client, oidc, owner, OIDCUser(f"ga@{name.lower()}.example"))
    assert response.status_code == 200, response.text
    refresh_token: str = oidc.token_responses[-1]["refresh_token"]
    return refresh_token


async def _statuses(conn: AsyncConnection) -> dict[str, tuple[str, bool]]:
    """Per tenant name: the grant's status and whether it was refreshed."""
    rows = await conn.execute(
        text(
            "SELECT t.name, g.status, g.last_refreshed_at IS NOT NULL FROM auth.provider_grant g"
            " JOIN auth.tenant t ON t.id = g.tenant_id"
        )
    )
    return {name: (status, refreshed) for name, status, refreshed in rows}


async def test_job_refreshes_expiring_grants_and_flags_revoked_ones(
    client: httpx.AsyncClient,
    oidc: FakeOIDCProvider,
    people: People,
    database: Database,
    app_settings: AuthSettings,
    conn: AsyncConnection,
) -> None:
    await _connect(client, oidc, people, "Expiring", seconds=10 * 60)
    revoked = await _connect(client, oidc, people, "Revoked", seconds=10 * 60)
    await _connect(client, oidc, people, "Fresh", seconds=3600)
    oidc.revoke_refresh_token(revoked)
    directory = client.app.state.providers  # type: ignore[attr-defined]
    counts = await refresh_expiring(database.sessionmaker, directory, app_settings)
    assert counts == {"refreshed": 1, "needs_reconsent": 1, "failed": 0}
    assert oidc.calls["refresh_token"] == 2
    assert await _statuses(conn) == {
        "Expiring": ("active", True),
        "Revoked": ("needs_reconsent", False),
        "Fresh": ("active", False),
    }


async def test_job_with_nothing_expiring_does_nothing(
    client: httpx.AsyncClient,
    oidc: FakeOIDCProvider,
    people: People,
    database: Database,
    app_settings: AuthSettings,
) -> None:
    await _connect(client, oidc, people, "Fresh", seconds=3600)
    directory = client.app.state.providers  # type: ignore[attr-defined]
    counts = await refresh_expiring(database.sessionmaker, directory, app_settings)
    assert counts == {"refreshed": 0, "needs_reconsent": 0, "failed": 0}
    assert oidc.calls["refresh_token"] == 0


async def test_job_counts_a_provider_outage_as_failed_and_keeps_the_grants(
    client: httpx.AsyncClient,
    oidc: FakeOIDCProvider,
    people: People,
    database: Database,
    app_settings: AuthSettings,
    conn: AsyncConnection,
) -> None:
    await _connect(client, oidc, people, "First", seconds=10 * 60)
    await _connect(client, oidc, people, "Second", seconds=10 * 60)
    oidc.outage.add("token")
    directory = client.app.state.providers  # type: ignore[attr-defined]
    counts = await refresh_expiring(database.sessionmaker, directory, app_settings)
    assert counts == {"refreshed": 0, "needs_reconsent": 0, "failed": 2}
    assert oidc.calls["token"] == 2 + 2  # two connects, then one attempt per grant
    errors = await conn.execute(text("SELECT status, last_error FROM auth.provider_grant"))
    assert errors.all() == [
        ("active", "google could not be reached to refresh the token."),
        ("active", "google could not be reached to refresh the token."),
    ]


async def test_job_counts_any_grant_error_as_failed_and_goes_on(
    client: httpx.AsyncClient,
    oidc: FakeOIDCProvider,
    people: People,
    database: Database,
    app_settings: AuthSettings,
    conn: AsyncConnection,
) -> None:
    await _connect(client, oidc, people, "Garbled", seconds=10 * 60)
    await _connect(client, oidc, people, "Fine", seconds=10 * 60)
    # One grant's refresh token no longer decrypts (say, a key mix-up): not an Upstream error.
    await conn.execute(
        text(
            "UPDATE auth.provider_grant g"
            " SET refresh_token_enc = decode('01' || repeat('00', 40), 'hex')"
            " FROM auth.tenant t WHERE t.id = g.tenant_id AND t.name = 'Garbled'"
        )
    )
    directory = client.app.state.providers  # type: ignore[attr-defined]
    counts = await refresh_expiring(database.sessionmaker, directory, app_settings)
    assert counts == {"refreshed": 1, "needs_reconsent": 0, "failed": 1}
    errors = await conn.execute(
        text(
            "SELECT t.name, g.last_error FROM auth.provider_grant g"
            " JOIN auth.tenant t ON t.id = g.tenant_id ORDER BY t.name"
        )
    )
    assert [tuple(row) for row in errors] == [("Fine", None), ("Garbled", "ValueError")]
