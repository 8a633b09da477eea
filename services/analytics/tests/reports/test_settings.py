"""/analytics/email/mappings and /analytics/email/smtp: CRUD by admins, reads by viewers, the
password sealed and never shown, a test mail through a real SMTP server, tenants apart."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_testing import Caller, Callers
from reports_testing import SMTP_PASSWORD, SMTP_USER, MailServer, smtp_body

BASE = "/analytics/email"


async def add(client: httpx.AsyncClient, admin: Caller, branch: str, *recipients: str) -> dict:
    body = {"branch_code": branch, "recipients": list(recipients)}
    response = await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    mapping: dict = response.json()
    return mapping


async def test_mappings_are_created_listed_changed_and_deleted(
    client: httpx.AsyncClient, admin: Caller, viewer: Caller
) -> None:
    b2 = await add(client, admin, "B2", "South@Shop.example.com")
    b1 = await add(client, admin, "B1", "north@shop.example.com", "boss@shop.example.com")
    assert (b2["branch_code"], b2["recipients"], b2["enabled"]) == (
        "B2",
        ["south@shop.example.com"],
        True,
    )

    listed = (await client.get(f"{BASE}/mappings", headers=viewer.headers)).json()["data"]
    assert [(m["id"], m["branch_code"]) for m in listed] == [(b1["id"], "B1"), (b2["id"], "B2")]

    patch = {"enabled": False, "recipients": ["rep@shop.example.com"]}
    changed = await client.patch(f"{BASE}/mappings/{b1['id']}", json=patch, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["recipients"], changed.json()["enabled"]) == (
        ["rep@shop.example.com"],
        False,
    )
    one = await client.get(f"{BASE}/mappings/{b1['id']}", headers=viewer.headers)
    assert (one.json()["recipients"], one.json()["enabled"]) == (["rep@shop.example.com"], False)

    gone = await client.delete(f"{BASE}/mappings/{b2['id']}", headers=admin.headers)
    assert gone.status_code == 204
    again = await client.delete(f"{BASE}/mappings/{b2['id']}", headers=admin.headers)
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[-1]) == (404, "not-found")
    listed = (await client.get(f"{BASE}/mappings", headers=viewer.headers)).json()["data"]
    assert [m["branch_code"] for m in listed] == ["B1"]


async def test_a_second_mapping_of_a_branch_is_a_conflict(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    await add(client, admin, "B1", "north@shop.example.com")
    body = {"branch_code": "B1", "recipients": ["other@shop.example.com"]}
    response = await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"branch_code": "B1", "recipients": []},
        {"branch_code": "B1", "recipients": ["not-an-address"]},
        {"branch_code": "B1", "recipients": ["a@shop.example.com", "A@shop.example.com"]},
        {"branch_code": "", "recipients": ["a@shop.example.com"]},
        {"branch_code": "B\n1", "recipients": ["a@shop.example.com"]},
        {"branch_code": "B1", "recipients": ["a@shop.example.com"], "rep": "x"},
    ],
)
async def test_bad_mappings_are_422_problems(
    client: httpx.AsyncClient, admin: Caller, body: dict
) -> None:
    response = await client.post(f"{BASE}/mappings", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_viewers_read_but_do_not_write(
    client: httpx.AsyncClient, viewer: Caller, mail_server: MailServer
) -> None:
    body = {"branch_code": "B1", "recipients": ["a@shop.example.com"]}
    assert (
        await client.post(f"{BASE}/mappings", json=body, headers=viewer.headers)
    ).status_code == 403
    put = await client.put(f"{BASE}/smtp", json=smtp_body(mail_server.port), headers=viewer.headers)
    assert put.status_code == 403
    test = await client.post(
        f"{BASE}/smtp/test", json={"to": "a@shop.example.com"}, headers=viewer.headers
    )
    assert test.status_code == 403


async def test_smtp_password_is_sealed_and_never_returned(
    client: httpx.AsyncClient,
    admin: Caller,
    viewer: Caller,
    conn: AsyncConnection,
    tenant: uuid.UUID,
    mail_server: MailServer,
    capfd: pytest.CaptureFixture[str],
) -> None:
    put = await client.put(f"{BASE}/smtp", json=smtp_body(mail_server.port), headers=admin.headers)
    got = await client.get(f"{BASE}/smtp", headers=viewer.headers)
    assert put.json() == got.json()
    assert {k: v for k, v in got.json().items() if k != "updated_at"} == {
        "host": "127.0.0.1", "port": mail_server.port, "username": SMTP_USER,
        "has_password": True, "from_address": "reports@shop.example.com", "tls_mode": "none",
    }  # fmt: skip
    stored = await conn.scalar(
        text("SELECT password_cipher FROM analytics.smtp_setting WHERE tenant_id = :t"),
        {"t": tenant},
    )
    assert SMTP_PASSWORD.encode() not in stored and len(stored) == 1 + 12 + len(SMTP_PASSWORD) + 16

    # a change without a password keeps the stored one: the test mail still logs in
    body = smtp_body(mail_server.port, password=None, from_address="sales@shop.example.com")
    await client.put(f"{BASE}/smtp", json=body, headers=admin.headers)
    sent = await client.post(
        f"{BASE}/smtp/test", json={"to": "me@shop.example.com"}, headers=admin.headers
    )
    assert (sent.status_code, sent.json()) == (200, {"sent_to": "me@shop.example.com"})
    assert mail_server.logins == ["PLAIN:ok"]
    (message,) = mail_server.to("me@shop.example.com")
    assert (message["From"], message["Subject"]) == ("sales@shop.example.com", "Meridian SMTP test")
    out, err = capfd.readouterr()
    assert SMTP_PASSWORD not in out + err + put.text + got.text + sent.text


async def test_a_refused_test_mail_is_a_502_with_the_servers_answer(
    client: httpx.AsyncClient, admin: Caller, smtp_set: None, mail_server: MailServer
) -> None:
    mail_server.refuse["me@shop.example.com"] = "550 5.1.1 No such mailbox"
    response = await client.post(
        f"{BASE}/smtp/test", json={"to": "me@shop.example.com"}, headers=admin.headers
    )
    assert response.status_code == 502
    assert response.json()["detail"] == (
        "The SMTP server did not take the message: 550 5.1.1 No such mailbox"
    )
    assert SMTP_PASSWORD not in response.text
    assert mail_server.received == []


async def test_a_wrong_password_is_a_502(
    client: httpx.AsyncClient, admin: Caller, mail_server: MailServer
) -> None:
    body = smtp_body(mail_server.port, password="wrong")
    await client.put(f"{BASE}/smtp", json=body, headers=admin.headers)
    response = await client.post(
        f"{BASE}/smtp/test", json={"to": "me@shop.example.com"}, headers=admin.headers
    )
    assert response.status_code == 502
    assert "wrong" not in response.text
    assert (mail_server.received, mail_server.logins) == ([], ["PLAIN:refused", "LOGIN:refused"])


@pytest.mark.parametrize(
    "override",
    [{"port": 0}, {"port": 70000}, {"tls_mode": "ssl"}, {"from_address": "x"}, {"host": "a b"}],
)
async def test_bad_smtp_settings_are_422_problems(
    client: httpx.AsyncClient, admin: Caller, override: dict
) -> None:
    response = await client.put(
        f"{BASE}/smtp", json={**smtp_body(25), **override}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_tenants_see_only_their_mappings_and_smtp_settings(
    client: httpx.AsyncClient, admin: Caller, callers: Callers, smtp_set: None
) -> None:
    mapping = await add(client, admin, "B1", "north@shop.example.com")
    other = callers.user(uuid.uuid4(), "admin")
    assert (await client.get(f"{BASE}/mappings", headers=other.headers)).json() == {"data": []}
    for method in ("GET", "DELETE"):
        response = await client.request(
            method, f"{BASE}/mappings/{mapping['id']}", headers=other.headers
        )
        assert response.status_code == 404
    patch = await client.patch(
        f"{BASE}/mappings/{mapping['id']}", json={"enabled": False}, headers=other.headers
    )
    assert patch.status_code == 404
    assert (await client.get(f"{BASE}/smtp", headers=other.headers)).status_code == 404
    test = await client.post(
        f"{BASE}/smtp/test", json={"to": "a@shop.example.com"}, headers=other.headers
    )
    assert test.status_code == 404
    # the other tenant's own mapping of B1 is no conflict
    await add(client, other, "B1", "them@other.example.com")
