from __future__ import annotations

import httpx

from auth_testing import People


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
