from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_testing import People


async def _game_key(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post(
        "/auth/api-keys", json={"name": "game", "kind": "game"}, headers=headers
    )
    key: str = created.json()["api_key"]
    return key


async def test_player_logs_in_with_the_game_key(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    owner = await people.tenant_owner()
    key = await _game_key(client, owner.headers)
    response = await client.post(
        "/auth/players/login", json={"userId": "player_001"}, headers={"X-Game-Key": key}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["userId"] == "player_001"
    assert body["expires_in"] == 120 * 60
    second = await client.post(
        "/auth/players/login", json={"userId": "player_001"}, headers={"X-Game-Key": key}
    )
    assert second.status_code == 200
    players = await conn.scalar(
        text("SELECT count(*) FROM auth.player WHERE tenant_id = :t"), {"t": owner.tenant_id}
    )
    assert players == 1


async def test_player_token_is_a_player_principal(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    key = await _game_key(client, owner.headers)
    token = (
        await client.post(
            "/auth/players/login", json={"userId": "p-7"}, headers={"X-Game-Key": key}
        )
    ).json()["token"]
    principal = await client.app.state.verifier.verify(token)  # type: ignore[attr-defined]
    assert (principal.kind, principal.tenant_id, principal.claims["uid"], principal.scopes) == (
        "player",
        owner.tenant_id,
        "p-7",
        frozenset({"player"}),
    )


async def test_naming_a_user_id_without_a_key_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/players/login", json={"userId": "player_001"})
    assert response.status_code == 401


async def test_a_tenant_user_token_cannot_mint_player_tokens(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    response = await client.post("/auth/players/login", json={"userId": "p"}, headers=owner.headers)
    assert response.status_code == 403


async def test_a_key_without_player_scope_is_refused(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys", json={"name": "x", "scopes": ["events:write"]}, headers=owner.headers
        )
    ).json()
    response = await client.post(
        "/auth/players/login", json={"userId": "p"}, headers={"X-Game-Key": key["api_key"]}
    )
    assert response.status_code == 403


async def test_server_key_may_issue_player_tokens(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    key = (
        await client.post(
            "/auth/api-keys", json={"name": "s", "scopes": ["players:issue"]}, headers=owner.headers
        )
    ).json()
    response = await client.post(
        "/auth/players/login",
        json={"userId": "p"},
        headers={"Authorization": f"Bearer {key['api_key']}"},
    )
    assert response.status_code == 200


async def test_revoked_game_key_is_refused(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    created = (
        await client.post(
            "/auth/api-keys", json={"name": "g", "kind": "game"}, headers=owner.headers
        )
    ).json()
    await client.delete(f"/auth/api-keys/{created['id']}", headers=owner.headers)
    response = await client.post(
        "/auth/players/login", json={"userId": "p"}, headers={"X-Game-Key": created["api_key"]}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is unknown or revoked."


async def test_bad_user_ids_are_refused(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    key = await _game_key(client, owner.headers)
    bad = [{"userId": ""}, {"userId": "x" * 129}, {"userId": "has space"}, {}, {"userId": 5}]
    codes = [
        (
            await client.post("/auth/players/login", json=body, headers={"X-Game-Key": key})
        ).status_code
        for body in bad
    ]
    assert codes == [422, 422, 422, 422, 422]


async def test_players_are_per_tenant(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    first = await people.tenant_owner()
    second = await people.tenant_owner()
    for owner in (first, second):
        key = await _game_key(client, owner.headers)
        await client.post(
            "/auth/players/login", json={"userId": "same"}, headers={"X-Game-Key": key}
        )
    rows = await conn.execute(
        text("SELECT tenant_id FROM auth.player WHERE external_id = 'same' ORDER BY created_at")
    )
    assert [r.tenant_id for r in rows] == [first.tenant_id, second.tenant_id]
