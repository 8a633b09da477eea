"""PUT/GET /data/users and /data/branches: bulk upserts counted exactly, facts per change,
validation naming index and field, pages, roles and tenants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestion_testing import Caller, Callers

ACME = {
    "user_id": "u-1",
    "buying_company_name": "Acme Tools",
    "email": "buyer@acme.example",
    "cell_phone": "+1 555 0100",
    "office_phone": "+1 555 0199",
}
GLOBEX = {"user_id": "u-2", "buying_company_name": "Globex", "email": "orders@globex.example"}


async def put_users(
    client: httpx.AsyncClient, caller: Caller, users: list[dict[str, Any]]
) -> httpx.Response:
    return await client.put("/data/users", json={"users": users}, headers=caller.headers)


async def put_branches(
    client: httpx.AsyncClient, caller: Caller, branches: list[dict[str, Any]]
) -> httpx.Response:
    return await client.put("/data/branches", json={"branches": branches}, headers=caller.headers)


async def facts(conn: AsyncConnection, tenant: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text(
            "SELECT kind, occurred_at, data FROM ingestion.outbox WHERE tenant_id = :t"
            " ORDER BY occurred_at, data->>'user_id', data->>'branch_id'"
        ),
        {"t": tenant},
    )
    return [dict(row) for row in rows.mappings()]


async def test_users_are_created_then_updated_or_left_unchanged(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    first = await put_users(client, analyst, [ACME, GLOBEX])
    assert (first.status_code, first.json()) == (
        200,
        {"created": 2, "updated": 0, "unchanged": 0},
    )
    moved = {**GLOBEX, "email": "buying@globex.example"}
    again = await put_users(client, analyst, [ACME, moved, {"user_id": "u-3"}])
    assert again.json() == {"created": 1, "updated": 1, "unchanged": 1}

    found = await client.get("/data/users/u-2", headers=analyst.headers)
    assert found.status_code == 200
    body = found.json()
    assert {k: v for k, v in body.items() if not k.endswith("_at")} == {
        "user_id": "u-2",
        "buying_company_name": "Globex",
        "email": "buying@globex.example",
        "cell_phone": None,
        "office_phone": None,
    }
    assert body["updated_at"] > body["created_at"]


async def test_each_change_is_one_fact_of_the_whole_record(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.machine(tenant, "uploads:write")
    await put_users(client, machine, [ACME])
    await put_users(client, machine, [ACME])  # unchanged: no fact
    await put_users(client, machine, [{**ACME, "cell_phone": None}])
    stored = (await client.get("/data/users/u-1", headers=machine.headers)).json()
    found = await facts(conn, tenant)
    assert [f["kind"] for f in found] == ["ingestion.user.v1", "ingestion.user.v1"]
    assert found[1]["data"] == {
        "user_id": "u-1",
        "buying_company_name": "Acme Tools",
        "email": "buyer@acme.example",
        "cell_phone": None,
        "office_phone": "+1 555 0199",
        "created_at": stored["created_at"],
        "updated_at": stored["updated_at"],
    }
    assert found[1]["occurred_at"] == datetime.fromisoformat(stored["updated_at"])
    assert found[0]["data"]["cell_phone"] == "+1 555 0100"


async def test_an_invalid_record_names_its_index_and_field_and_nothing_is_written(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    analyst = callers.user(tenant, "analyst")
    response = await put_users(client, analyst, [ACME, {**GLOBEX, "email": "x" * 321}])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [
        (["body", "users", "1", "email"], "too_long")
    ]
    listing = await client.get("/data/users", headers=analyst.headers)
    assert listing.json()["total"] == 0
    assert await facts(conn, tenant) == []


async def test_a_user_id_given_twice_is_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    response = await put_users(client, analyst, [ACME, GLOBEX, {**ACME, "email": None}])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", "users", "2", "user_id"],
            "msg": "the same user_id as at index 0",
            "type": "duplicate_key",
        }
    ]
    assert (await client.get("/data/users", headers=analyst.headers)).json()["total"] == 0


async def test_more_than_a_thousand_records_are_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    users = [{"user_id": f"u-{i}"} for i in range(1001)]
    response = await put_users(client, callers.user(tenant, "admin"), users)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "users"]]


async def test_an_unknown_user_is_a_problem_404(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    response = await client.get("/data/users/nobody", headers=callers.user(tenant).headers)
    assert response.status_code == 404
    assert response.json()["detail"] == "This tenant has no customer with that user_id."


async def test_users_are_read_a_page_at_a_time(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    await put_users(client, callers.user(tenant, "owner"), [GLOBEX, {"user_id": "u-3"}, ACME])
    viewer = callers.user(tenant, "viewer")
    first = (await client.get("/data/users?limit=2", headers=viewer.headers)).json()
    assert [u["user_id"] for u in first["users"]] == ["u-1", "u-2"]
    assert (first["total"], first["limit"], first["offset"], first["has_more"]) == (3, 2, 0, True)
    last = (await client.get("/data/users?limit=2&offset=2", headers=viewer.headers)).json()
    assert [u["user_id"] for u in last["users"]] == ["u-3"]
    assert (last["total"], last["has_more"]) == (3, False)


async def test_branches_are_upserted_listed_and_published(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    admin = callers.user(tenant, "admin")
    d01 = {"branch_id": "D01", "name": "Dallas", "city": "Dallas", "state": "TX"}
    d02 = {"branch_id": "D02", "name": "Austin", "city": "Austin", "state": "TX"}
    first = await put_branches(client, admin, [d01, d02])
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0}
    again = await put_branches(client, admin, [d01, {**d02, "active": False}])
    assert again.json() == {"created": 0, "updated": 1, "unchanged": 1}

    active = (await client.get("/data/branches?active=true", headers=admin.headers)).json()
    assert [(b["branch_id"], b["active"]) for b in active["branches"]] == [("D01", True)]
    assert (active["total"], active["has_more"]) == (1, False)
    every = (await client.get("/data/branches", headers=admin.headers)).json()
    assert [(b["branch_id"], b["active"]) for b in every["branches"]] == [
        ("D01", True),
        ("D02", False),
    ]
    d02_now = (await client.get("/data/branches/D02", headers=admin.headers)).json()
    found = await facts(conn, tenant)
    assert [(f["kind"], f["data"]["branch_id"]) for f in found] == [
        ("ingestion.branch.v1", "D01"),
        ("ingestion.branch.v1", "D02"),
        ("ingestion.branch.v1", "D02"),
    ]
    assert found[2]["data"] == {
        "branch_id": "D02",
        "name": "Austin",
        "city": "Austin",
        "state": "TX",
        "active": False,
        "created_at": d02_now["created_at"],
        "updated_at": d02_now["updated_at"],
    }


@pytest.mark.parametrize(
    ("who", "write", "read"),
    [
        ("viewer", 403, 200),
        ("analyst", 200, 200),
        ("uploads-machine", 200, 200),
        ("events-machine", 403, 403),
        ("player", 403, 403),
    ],
)
async def test_who_may_write_and_read_customer_records(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, who: str, write: int, read: int
) -> None:
    caller = {
        "viewer": lambda: callers.user(tenant, "viewer"),
        "analyst": lambda: callers.user(tenant, "analyst"),
        "uploads-machine": lambda: callers.api_key(tenant, "uploads:write"),
        "events-machine": lambda: callers.machine(tenant, "events:write", "events:read"),
        "player": lambda: callers.player(tenant),
    }[who]()
    assert (await put_users(client, caller, [ACME])).status_code == write
    assert (await put_branches(client, caller, [])).status_code == write
    assert (await client.get("/data/users", headers=caller.headers)).status_code == read
    assert (await client.get("/data/branches", headers=caller.headers)).status_code == read


async def test_a_tenant_never_sees_or_touches_another_tenants_records(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    mine, theirs = callers.user(tenant, "admin"), callers.user(uuid.uuid4(), "admin")
    await put_users(client, mine, [ACME])
    await put_branches(client, mine, [{"branch_id": "D01", "name": "Dallas"}])

    assert (await client.get("/data/users/u-1", headers=theirs.headers)).status_code == 404
    assert (await client.get("/data/branches/D01", headers=theirs.headers)).status_code == 404
    assert (await client.get("/data/users", headers=theirs.headers)).json()["total"] == 0
    assert (await client.get("/data/branches", headers=theirs.headers)).json()["total"] == 0
    # The same ids are theirs to create, and leave mine as they were.
    same = await put_users(client, theirs, [{"user_id": "u-1", "email": "other@x.example"}])
    assert same.json() == {"created": 1, "updated": 0, "unchanged": 0}
    kept = (await client.get("/data/users/u-1", headers=mine.headers)).json()
    assert kept["email"] == "buyer@acme.example"
