from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_testing import People


async def test_jwks_publishes_the_signing_key(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    [key] = jwks["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key
    header = owner.access_token.split(".")[0]
    assert key["kid"] in __import__("base64").urlsafe_b64decode(header + "==").decode()


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    keyring = client.app.state.keyring  # type: ignore[attr-defined]
    async with client.app.state.database.sessionmaker() as session, session.begin():  # type: ignore[attr-defined]
        new_kid = await keyring.rotate(session)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert len(jwks["keys"]) == 2
    assert (await client.get("/auth/me", headers=owner.headers)).status_code == 200
    fresh = await people.member(owner.tenant_id, "viewer")
    assert (
        new_kid
        in __import__("base64").urlsafe_b64decode(fresh.access_token.split(".")[0] + "==").decode()
    )
    # Once the old key's tokens have all expired, it leaves the JWKS and its tokens stop working.
    await conn.execute(
        text("UPDATE auth.signing_key SET publish_until = now() WHERE retired_at IS NOT NULL")
    )
    keyring._loaded_at = 0.0
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
