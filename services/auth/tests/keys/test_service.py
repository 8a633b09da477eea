from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_testing import People


async def test_jwks_publishes_the_signing_key(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    [key] = [k for k in keys if k["kid"] == _kid(owner.access_token)]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert [k for k in keys if "d" in k] == []


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    keyring = client.app.state.keyring  # type: ignore[attr-defined]
    async with client.app.state.database.sessionmaker() as session, session.begin():  # type: ignore[attr-defined]
        new_kid = await keyring.rotate(session, prepublish=timedelta(0))
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert new_kid in [k["kid"] for k in jwks["keys"]]
    assert (await client.get("/auth/me", headers=owner.headers)).status_code == 200
    fresh = await people.member(owner.tenant_id, "viewer")
    assert _kid(fresh.access_token) == new_kid
    # Once the old key's tokens have all expired, it leaves the JWKS and its tokens stop working.
    await conn.execute(
        text("UPDATE auth.signing_key SET publish_until = now() WHERE retired_at IS NOT NULL")
    )
    await keyring.refresh()  # as its background task would within REFRESH_SECONDS
    assert [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]] == [
        new_kid
    ]
    assert (await client.get("/auth/me", headers=owner.headers)).status_code == 401


async def test_private_keys_are_encrypted_at_rest(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    await people.tenant_owner()
    blob = await conn.scalar(text("SELECT private_key_enc FROM auth.signing_key"))
    assert blob[:1] == b"\x01"
    assert b"PRIVATE KEY" not in blob


def _kid(token: str) -> str:
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    return str(header["kid"])


async def test_a_rotated_key_is_published_before_it_signs(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    old_kid = _kid(owner.access_token)
    keyring = client.app.state.keyring  # type: ignore[attr-defined]
    async with client.app.state.database.sessionmaker() as session, session.begin():  # type: ignore[attr-defined]
        new_kid = await keyring.rotate(session)
    published = [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]
    assert {old_kid, new_kid} <= set(published)
    later = await people.member(owner.tenant_id, "viewer")
    assert _kid(later.access_token) == old_kid
