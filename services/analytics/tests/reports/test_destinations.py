"""SMTP destinations (SSRF): by default loopback, private, link-local and metadata addresses are
refused, checked on the addresses a host resolves to; a 422 when settings are saved or tested,
a failed delivery with the reason when a job sends; an allow list opens chosen ones."""

from __future__ import annotations

import ipaddress
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import ValidationError

from analytics_service.config import AnalyticsSettings
from analytics_service.main import create_app
from analytics_service.reports.destinations import Destination, SmtpPolicy, resolve
from analytics_service.reports.sender import run_send_job
from analytics_testing import Caller, Callers, auth_free_verifier
from common.db import Database
from reports_testing import MailServer, smtp_body

BASE = "/analytics/email"
DEFAULTS = AnalyticsSettings(_env_file=None, environment="production", database_url="x",
                             email_secret="s" * 32, db_role_secret="s" * 32,
                             service_client_secret="s" * 32)  # fmt: skip
REFUSED = "is not an allowed SMTP destination (loopback, private, link-local and metadata " \
          "addresses are refused unless the service allows them)"  # fmt: skip


@pytest.fixture
def strict(app_settings: AnalyticsSettings) -> AnalyticsSettings:
    """The test settings with the production default: nothing allowed beyond the deny list."""
    return app_settings.model_copy(update={"smtp_allowed_destinations": []})


@asynccontextmanager
async def app_client(
    settings: AnalyticsSettings, database: Database, callers: Callers
) -> AsyncIterator[httpx.AsyncClient]:
    """The app under these settings, as conftest's client serves the test settings."""
    verifier = auth_free_verifier(settings, callers.api_keys)
    app = create_app(settings, database=database, verifier_factory=lambda _: verifier)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics.test") as http:
            yield http


@pytest.fixture
async def strict_client(
    strict: AnalyticsSettings, database: Database, callers: Callers
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(strict, database, callers) as http:
        yield http


@pytest.mark.parametrize(
    ("address", "permitted"),
    [
        ("127.0.0.1", False), ("127.8.9.10", False), ("10.1.2.3", False), ("172.31.0.1", False),
        ("192.168.1.1", False), ("169.254.169.254", False), ("100.100.100.200", False),
        ("168.63.129.16", False), ("0.1.2.3", False), ("::1", False), ("fd00:ec2::254", False),
        ("fe80::1", False), ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False),
        ("64:ff9b::a9fe:a9fe", False), ("64:ff9b::5db8:d822", True), ("93.184.216.34", True),
        ("172.32.0.1", True), ("2606:2800:220:1::1", True),
    ],
)  # fmt: skip
def test_the_default_policy_refuses_internal_addresses(address: str, permitted: bool) -> None:
    assert DEFAULTS.smtp_allowed_destinations == []
    assert DEFAULTS.smtp_policy.permits(ipaddress.ip_address(address), 25) is permitted


def test_an_allowed_destination_opens_its_port_only() -> None:
    policy = SmtpPolicy.from_lists(["127.0.0.1:8025", "[::1]:2525", "10.9.0.0/16"], ["10.0.0.0/8"])
    loopback, v6 = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    assert [policy.permits(loopback, 8025), policy.permits(loopback, 25)] == [True, True]
    assert [policy.permits(v6, 2525), policy.permits(v6, 25)] == [True, True]
    defaults = SmtpPolicy.from_lists(
        ["127.0.0.1:8025", "[::1]:2525"], DEFAULTS.smtp_denied_destinations
    )
    assert [defaults.permits(loopback, 8025), defaults.permits(loopback, 25)] == [True, False]
    assert [defaults.permits(v6, 2525), defaults.permits(v6, 25)] == [True, False]
    assert policy.permits(ipaddress.ip_address("10.9.3.4"), 25) is True
    assert policy.permits(ipaddress.ip_address("10.8.3.4"), 25) is False


def test_development_allows_the_smtp_sink_and_tests_allow_loopback() -> None:
    dev = AnalyticsSettings(_env_file=None, environment="development")
    test = AnalyticsSettings(_env_file=None, environment="test")
    given = AnalyticsSettings(_env_file=None, smtp_allowed_destinations=["203.0.113.7:587"])
    assert (dev.smtp_allowed_destinations, test.smtp_allowed_destinations) == (
        ["127.0.0.1:8025"], ["127.0.0.0/8", "::1"]
    )  # fmt: skip
    assert given.smtp_allowed_destinations == ["203.0.113.7:587"]
    assert Destination.parse("[::1]:25") == Destination(ipaddress.ip_network("::1/128"), 25)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("localhost", " is no network[:port]"),
        ("10.0.0.0/33", " is no network[:port]"),
        ("1.2.3.4:x", " is no network[:port]"),
        ("10.0.0.0/8:0", ": the port must be 1 to 65535"),
        ("[::1]25", ": expected [network]:port"),
    ],
)
def test_a_bad_destination_entry_stops_the_settings(entry: str, why: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"{entry!r}{why}")):
        AnalyticsSettings(_env_file=None, smtp_denied_destinations=[entry])


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "127.0.0.1 port 2525"),
        ("localhost", "localhost port 2525"),  # resolves to loopback, which is not said
        ("169.254.169.254", "169.254.169.254 port 2525"),
        ("10.20.30.40", "10.20.30.40 port 2525"),
    ],
)
async def test_saving_a_denied_host_is_a_422_and_stores_nothing(
    strict_client: httpx.AsyncClient, admin: Caller, host: str, shown: str
) -> None:
    body = smtp_body(2525, host=host)
    response = await strict_client.put(f"{BASE}/smtp", json=body, headers=admin.headers)
    assert (response.status_code, response.headers["content-type"]) == (
        422, "application/problem+json"
    )  # fmt: skip
    problem = response.json()
    assert (problem["detail"], problem["type"].rsplit("/", 1)[-1]) == (
        f"{shown} {REFUSED}", "smtp-destination-denied"
    )  # fmt: skip
    assert problem["errors"][0]["loc"] == ["body", "host"]
    assert (await strict_client.get(f"{BASE}/smtp", headers=admin.headers)).status_code == 404


async def test_a_host_that_does_not_resolve_is_a_422(
    strict_client: httpx.AsyncClient, admin: Caller
) -> None:
    body = smtp_body(25, host="no-such-host.invalid")
    response = await strict_client.put(f"{BASE}/smtp", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["type"].rsplit("/", 1)[-1] == "smtp-host-unknown"
    assert response.json()["detail"].startswith("no-such-host.invalid does not resolve (")


@pytest.mark.parametrize(
    "host",
    ["a" * 64, f"{'a' * 64}.example", "-mail.example", "mail-.example", "a..b", "mail.example."],
)
async def test_a_host_that_is_not_a_host_name_is_a_422(
    strict_client: httpx.AsyncClient, admin: Caller, host: str
) -> None:
    """A label over 63 characters made the resolver raise UnicodeError: a 500 (the fuzzer)."""
    body = smtp_body(25, host=host)
    response = await strict_client.put(f"{BASE}/smtp", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "host"]
    assert response.json()["errors"][0]["type"] == "string_pattern_mismatch"


async def test_a_too_long_label_does_not_resolve() -> None:
    """Past the schema (deliveries use stored hosts), the resolver says so as a gaierror."""
    policy = SmtpPolicy.from_lists([], [])
    with pytest.raises(socket.gaierror, match="not a host name"):
        await resolve(policy, "a" * 64, 25, 5)


async def test_an_allowed_port_of_loopback_saves_and_sends(
    app_settings: AnalyticsSettings,
    database: Database,
    callers: Callers,
    admin: Caller,
    mail_server: MailServer,
) -> None:
    opened = app_settings.model_copy(
        update={"smtp_allowed_destinations": [f"127.0.0.1:{mail_server.port}"]}
    )
    async with app_client(opened, database, callers) as http:
        other_port = smtp_body(mail_server.port + 1)
        denied = await http.put(f"{BASE}/smtp", json=other_port, headers=admin.headers)
        saved = await http.put(
            f"{BASE}/smtp", json=smtp_body(mail_server.port), headers=admin.headers
        )
        sent = await http.post(
            f"{BASE}/smtp/test", json={"to": "me@shop.example.com"}, headers=admin.headers
        )
    assert (denied.status_code, saved.status_code, sent.status_code) == (422, 200, 200)
    assert [r.recipients for r in mail_server.received] == [["me@shop.example.com"]]


async def test_settings_saved_before_the_policy_are_checked_again_when_used(
    client: httpx.AsyncClient,
    strict_client: httpx.AsyncClient,
    admin: Caller,
    strict: AnalyticsSettings,
    database: Database,
    tenant: uuid.UUID,
    mail_server: MailServer,
) -> None:
    # saved while loopback was allowed (the test settings), by name
    body = smtp_body(mail_server.port, host="localhost")
    assert (await client.put(f"{BASE}/smtp", json=body, headers=admin.headers)).status_code == 200
    mapping = {"branch_code": "B1", "recipients": ["north@shop.example.com"]}
    assert (await client.post(f"{BASE}/mappings", json=mapping, headers=admin.headers)).is_success

    test = await strict_client.post(
        f"{BASE}/smtp/test", json={"to": "me@shop.example.com"}, headers=admin.headers
    )
    reason = f"localhost port {mail_server.port} {REFUSED}"
    assert (test.status_code, test.json()["detail"]) == (422, reason)

    send = {"report_date": "2026-11-18", "skip_when_empty": False}  # no warehouse here
    job = (await client.post(f"{BASE}/send-reports", json=send, headers=admin.headers)).json()
    outcome = await run_send_job(database.sessionmaker, strict, tenant, uuid.UUID(job["id"]))
    assert outcome == "failed"  # at once: a retry would be refused the same way
    rows = (await client.get(f"{BASE}/history", headers=admin.headers)).json()["data"]
    assert [(r["recipient"], r["status"], r["error"]) for r in rows] == [
        ("north@shop.example.com", "failed", reason)
    ]
    assert mail_server.received == []
