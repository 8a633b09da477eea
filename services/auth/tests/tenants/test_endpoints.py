from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_testing import People


async def test_create_tenant_makes_the_caller_owner(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner(tenant_name="First")
    created = await client.post("/auth/tenants", json={"name": "  Second  "}, headers=owner.headers)
    assert created.status_code == 201
    assert created.json()["role"] == "owner"
    mine = await client.get("/auth/tenants", headers=owner.headers)
    assert [(t["name"], t["role"]) for t in mine.json()] == [
        ("First", "owner"),
        ("Second", "owner"),
    ]


async def test_blank_tenant_name_is_refused(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    response = await client.post("/auth/tenants", json={"name": "   "}, headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]


async def test_switch_issues_a_token_for_the_other_tenant(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner(tenant_name="First")
    second = (
        await client.post("/auth/tenants", json={"name": "Second"}, headers=owner.headers)
    ).json()
    switched = await client.post(
        f"/auth/tenants/{second['tenant_id']}/switch", headers=owner.headers
    )
    assert switched.status_code == 200
    token = switched.json()["access_token"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["tenant_id"] == second["tenant_id"]


async def test_switch_to_a_tenant_one_is_not_in_is_not_found(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    stranger = await people.tenant_owner()
    response = await client.post(
        f"/auth/tenants/{stranger.tenant_id}/switch", headers=owner.headers
    )
    assert response.status_code == 404


async def test_rename_needs_admin(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner(tenant_name="Old")
    analyst = await people.member(owner.tenant_id, "analyst")
    url = f"/auth/tenants/{owner.tenant_id}"
    refused = await client.patch(url, json={"name": "New"}, headers=analyst.headers)
    assert refused.status_code == 403
    renamed = await client.patch(url, json={"name": "New"}, headers=owner.headers)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "New"


async def test_members_are_listed_with_roles(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner("o@example.com")
    await people.member(owner.tenant_id, "viewer", "v@example.com")
    response = await client.get(f"/auth/tenants/{owner.tenant_id}/members", headers=owner.headers)
    assert [(m["email"], m["role"]) for m in response.json()] == [
        ("o@example.com", "owner"),
        ("v@example.com", "viewer"),
    ]


async def test_viewer_cannot_change_roles(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    viewer = await people.member(owner.tenant_id, "viewer")
    analyst = await people.member(owner.tenant_id, "analyst")
    response = await client.patch(
        f"/auth/tenants/{owner.tenant_id}/members/{analyst.user_id}",
        json={"role": "admin"},
        headers=viewer.headers,
    )
    assert response.status_code == 403
    members = await client.get(f"/auth/tenants/{owner.tenant_id}/members", headers=owner.headers)
    assert {m["email"]: m["role"] for m in members.json()}[analyst.email] == "analyst"


async def test_admin_changes_a_role_and_it_is_audited(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    admin = await people.member(owner.tenant_id, "admin")
    viewer = await people.member(owner.tenant_id, "viewer")
    url = f"/auth/tenants/{owner.tenant_id}/members/{viewer.user_id}"
    response = await client.patch(url, json={"role": "analyst"}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["role"] == "analyst"
    audit = await client.get("/auth/audit?action=member.role_changed", headers=owner.headers)
    [event] = audit.json()["events"]
    assert event["details"] == {"from": "viewer", "to": "analyst"}
    assert event["actor"] == f"user:{admin.user_id}"


async def test_admin_cannot_make_an_owner_or_touch_one(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    admin = await people.member(owner.tenant_id, "admin")
    viewer = await people.member(owner.tenant_id, "viewer")
    base = f"/auth/tenants/{owner.tenant_id}/members"
    promote = await client.patch(
        f"{base}/{viewer.user_id}", json={"role": "owner"}, headers=admin.headers
    )
    assert promote.status_code == 403
    demote = await client.patch(
        f"{base}/{owner.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    assert demote.status_code == 403
    remove = await client.delete(f"{base}/{owner.user_id}", headers=admin.headers)
    assert remove.status_code == 403


async def test_last_owner_cannot_step_down(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    url = f"/auth/tenants/{owner.tenant_id}/members/{owner.user_id}"
    response = await client.patch(url, json={"role": "admin"}, headers=owner.headers)
    assert response.status_code == 409
    leave = await client.delete(url, headers=owner.headers)
    assert leave.status_code == 409


async def test_a_member_can_leave(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    viewer = await people.member(owner.tenant_id, "viewer")
    response = await client.delete(
        f"/auth/tenants/{owner.tenant_id}/members/{viewer.user_id}", headers=viewer.headers
    )
    assert response.status_code == 204
    members = await client.get(f"/auth/tenants/{owner.tenant_id}/members", headers=owner.headers)
    assert [m["email"] for m in members.json()] == [owner.email]


async def test_invitation_lifecycle(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    base = f"/auth/tenants/{owner.tenant_id}/invitations"
    created = await client.post(
        base, json={"email": "New@Example.com", "role": "analyst"}, headers=owner.headers
    )
    assert created.status_code == 201
    assert created.json()["role"] == "analyst"
    again = await client.post(
        base, json={"email": "new@example.com", "role": "viewer"}, headers=owner.headers
    )
    assert again.status_code == 409
    listed = await client.get(base, headers=owner.headers)
    assert [i["email"] for i in listed.json()] == ["New@example.com"]  # domain normalised
    revoked = await client.delete(f"{base}/{created.json()['id']}", headers=owner.headers)
    assert revoked.status_code == 204
    assert (await client.get(base, headers=owner.headers)).json() == []


async def test_inviting_a_member_is_a_conflict(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner("boss@example.com")
    response = await client.post(
        f"/auth/tenants/{owner.tenant_id}/invitations",
        json={"email": "BOSS@example.com", "role": "viewer"},
        headers=owner.headers,
    )
    assert response.status_code == 409


async def test_bad_invitation_email_is_refused(client: httpx.AsyncClient, people: People) -> None:
    owner = await people.tenant_owner()
    response = await client.post(
        f"/auth/tenants/{owner.tenant_id}/invitations",
        json={"email": "not-an-email", "role": "viewer"},
        headers=owner.headers,
    )
    assert response.status_code == 422


async def test_another_tenant_cannot_be_read_or_changed(
    client: httpx.AsyncClient, people: People, conn: AsyncConnection
) -> None:
    mine = await people.tenant_owner(tenant_name="Mine")
    theirs = await people.tenant_owner(tenant_name="Theirs")
    victim = await people.member(theirs.tenant_id, "viewer")
    base = f"/auth/tenants/{theirs.tenant_id}"
    attempts = [
        await client.get(f"{base}/members", headers=mine.headers),
        await client.patch(base, json={"name": "Pwned"}, headers=mine.headers),
        await client.patch(
            f"{base}/members/{victim.user_id}", json={"role": "owner"}, headers=mine.headers
        ),
        await client.delete(f"{base}/members/{victim.user_id}", headers=mine.headers),
        await client.post(
            f"{base}/invitations", json={"email": "x@example.com"}, headers=mine.headers
        ),
        await client.get(f"{base}/invitations", headers=mine.headers),
    ]
    assert [a.status_code for a in attempts] == [404, 404, 404, 404, 404, 404]
    name = await conn.scalar(
        text("SELECT name FROM auth.tenant WHERE id = :t"), {"t": theirs.tenant_id}
    )
    role = await conn.scalar(
        text("SELECT role FROM auth.membership WHERE user_id = :u"), {"u": victim.user_id}
    )
    assert (name, role) == ("Theirs", "viewer")


async def test_a_removed_admin_cannot_act_on_a_token_still_valid(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    admin = await people.member(owner.tenant_id, "admin")
    removed = await client.delete(
        f"/auth/tenants/{owner.tenant_id}/members/{admin.user_id}", headers=owner.headers
    )
    assert removed.status_code == 204
    # The admin's access token has not expired, but the membership is gone.
    key = await client.post(
        "/auth/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=admin.headers
    )
    invite = await client.post(
        f"/auth/tenants/{owner.tenant_id}/invitations",
        json={"email": "y@example.com"},
        headers=admin.headers,
    )
    assert (key.status_code, invite.status_code) == (401, 401)


async def test_a_demoted_owner_cannot_promote_themselves_back(
    client: httpx.AsyncClient, people: People
) -> None:
    owner = await people.tenant_owner()
    second = await people.member(owner.tenant_id, "owner")
    base = f"/auth/tenants/{owner.tenant_id}/members"
    demoted = await client.patch(
        f"{base}/{second.user_id}", json={"role": "viewer"}, headers=owner.headers
    )
    assert demoted.status_code == 200
    back = await client.patch(
        f"{base}/{second.user_id}", json={"role": "owner"}, headers=second.headers
    )
    assert back.status_code == 403
