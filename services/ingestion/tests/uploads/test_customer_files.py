"""users.csv and locations.csv: upserted into the customer records, as PUT /data/users and
/data/branches do, and read back through them."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestion_testing import Callers
from uploads_testing import USERS_HEADER, counts, csv_file, facts, upload

USERS = csv_file(
    USERS_HEADER,
    "u-1,Acme Tools,buyer@acme.example,+1 555 0100,+1 555 0199",
    "u-2,Globex,,,",
)


async def test_a_users_file_creates_then_updates_or_leaves_customers(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    analyst = callers.user(tenant, "analyst")
    first = (await upload(client, analyst, "users", USERS)).json()
    assert counts(first) == (2, 2, 0, 0, 0, 0)
    again = (await upload(client, analyst, "users", USERS)).json()
    assert counts(again) == (2, 0, 0, 2, 0, 0)
    changed = USERS.replace("u-2,Globex,,,", "u-2,Globex,orders@globex.example,,")
    assert counts((await upload(client, analyst, "users", changed)).json()) == (2, 0, 1, 1, 0, 0)

    found = (await client.get("/data/users/u-2", headers=analyst.headers)).json()
    assert {k: v for k, v in found.items() if not k.endswith("_at")} == {
        "user_id": "u-2",
        "buying_company_name": "Globex",
        "email": "orders@globex.example",
        "cell_phone": None,
        "office_phone": None,
    }
    assert [f["kind"] for f in await facts(conn, tenant)] == ["ingestion.user.v1"] * 3


async def test_a_user_repeated_in_a_file_is_applied_in_file_order(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    body = csv_file(USERS_HEADER, "u-1,Old Name,,,", "u-2,Globex,,,", "u-1,New Name,,,", ",x,,,")
    answer = (await upload(client, analyst, "users", body)).json()
    assert counts(answer) == (4, 2, 1, 0, 1, 0)
    assert answer["errors"] == [{"line": 5, "reason": "user_id is empty"}]
    found = (await client.get("/data/users/u-1", headers=analyst.headers)).json()
    assert found["buying_company_name"] == "New Name"


async def test_a_locations_file_upserts_branches_active_unless_said_otherwise(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    analyst = callers.user(tenant, "analyst")
    plain = csv_file("location_id,location_name,city,state", "D01,Dallas,Dallas,TX")
    with_flags = csv_file(
        "state,city,location_name,location_id,active",
        "TX,Dallas,Dallas,D01,yes",
        "TX,Austin,Austin,D02,no",
        "TX,Houston,Houston,D03,maybe",
    )
    assert counts((await upload(client, analyst, "locations", plain)).json()) == (1, 1, 0, 0, 0, 0)
    answer = (await upload(client, analyst, "locations", with_flags)).json()
    assert counts(answer) == (3, 1, 0, 1, 1, 0)
    assert answer["errors"] == [{"line": 4, "reason": "active must be true or false, not 'maybe'"}]
    branches = (await client.get("/data/branches", headers=analyst.headers)).json()["branches"]
    assert [(b["branch_id"], b["name"], b["active"]) for b in branches] == [
        ("D01", "Dallas", True),
        ("D02", "Austin", False),
    ]
    assert [f["data"]["branch_id"] for f in await facts(conn, tenant)] == ["D01", "D02"]
