"""The analytics API under schemathesis: every operation of its OpenAPI document, fed valid and
invalid input, against analytics running as a real process on loopback. Bad input must get a
clear 4xx problem response, nothing may answer 500, and every answer must match the document.

Auth is the outside edge: a small app on loopback publishes the public half of the test signing
key (analytics_testing's) as auth's JWKS, and the callers are tokens signed with it: a tenant
admin of the fuzz tenant for the tenant's API, and ingestion's service token for
``/internal/facts``. The fuzzer's facts name tenants of its own choosing, so everything it
committed (its tenant's rows, and those of every tenant a fact of this run named) is deleted
before and after the run.

One operation is left out: ``POST /analytics/email/smtp/test`` connects to the SMTP server the
tenant saved, wherever the fuzzer pointed it, and answers 502 with that server's refusal by design;
its own tests cover it against a real SMTP server.

Each operation is a test of its own (``test_analytics_api[GET /analytics/stats]``), its cases
drawn from a fixed seed, derandomized; ``FUZZ_MAX_EXAMPLES=1000`` hunts deeper.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from analytics_service.config import AnalyticsSettings
from analytics_service.main import create_app
from analytics_testing import Callers, fact, jwks_app, make_settings, process_env
from common.errors import PROBLEM_JSON
from common.testing.fuzz import CHECKS, assert_serves_document, fuzz_config, fuzzed_service
from common.testing.servers import serve_in_thread

SEED = 20_261_122
TENANT_ID = uuid.uuid5(uuid.UUID("5f0c8e3a-61b2-4d3f-9a0e-2c7d4b1e8f60"), "tenant")
SCHEMA = "analytics"

DOCUMENT = create_app(make_settings("postgresql://unused.invalid/none")).openapi()

schema = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(SEED)).exclude(
    method="POST", path="/analytics/email/smtp/test"
)


@dataclass(frozen=True)
class FuzzCallers:
    admin: str
    ingestion: str

    @classmethod
    def signed(cls, settings: AnalyticsSettings) -> FuzzCallers:
        callers = Callers(settings)
        admin = {"sub": str(uuid.uuid4()), "tid": str(TENANT_ID), "role": "admin", "typ": "user"}
        service = {"sub": "service:ingestion", "typ": "service", "scope": "facts:write"}
        return cls(admin=callers.sign(admin, ttl=3600), ingestion=callers.sign(service, ttl=3600))

    def headers_for(self, path: str) -> dict[str, str]:
        token = self.ingestion if path.startswith("/internal/") else self.admin
        return {"Authorization": f"Bearer {token}"}


# --- what the fuzzer committed -----------------------------------------------------------


async def _tenant_tables(conn: AsyncConnection) -> list[str]:
    """The schema's tables with a tenant_id column (partitioned parents, not their partitions)."""
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
            " WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " ORDER BY c.relname"
        ),
        {"schema": SCHEMA},
    )
    return list(rows.scalars())


async def _remove_fuzz_rows(engine: AsyncEngine, since: datetime | None) -> None:
    """Delete the rows of the fuzz tenant and of the tenants the fuzzer's facts named since
    ``since``, from every table that has a tenant, children before parents (a delete that a
    foreign key refuses is tried again after the others), and the jobs the fuzzer queued."""
    async with engine.begin() as conn:
        tenants = [TENANT_ID]
        if since is not None:
            named = await conn.execute(
                text(
                    f"SELECT DISTINCT tenant_id FROM {SCHEMA}.fact_receipt"  # noqa: S608 - constant
                    " WHERE received_at >= :since"
                ),
                {"since": since},
            )
            tenants += list(named.scalars())
        await conn.execute(
            text(
                f"DELETE FROM {SCHEMA}.pgqueuer"  # noqa: S608 - constant
                " WHERE convert_from(payload, 'UTF8')::jsonb ->> 'tenant_id' = ANY(:t)"
            ),
            {"t": [str(t) for t in tenants]},
        )
        pending = await _tenant_tables(conn)
        for _ in range(len(pending) + 1):
            refused = []
            for table in pending:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            text(f"DELETE FROM {SCHEMA}.{table} WHERE tenant_id = ANY(:t)"),  # noqa: S608 - names from the catalog
                            {"t": tenants},
                        )
                except IntegrityError:  # a foreign key: tried again after the rest
                    refused.append(table)
            if not refused:
                return
            pending = refused
        raise AssertionError(f"fuzz rows left behind in {pending}")


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def fuzz_run(engine: AsyncEngine) -> AsyncIterator[None]:
    await _remove_fuzz_rows(engine, None)
    async with engine.connect() as conn:
        started = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
    yield
    await _remove_fuzz_rows(engine, started)


@pytest.fixture(scope="module")
def fuzz_callers(settings: AnalyticsSettings) -> FuzzCallers:
    return FuzzCallers.signed(settings)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    with serve_in_thread(jwks_app(), name="fake-auth-jwks") as url:
        yield url


@pytest.fixture(scope="module")
async def analytics_url(
    settings: AnalyticsSettings,
    fuzz_run: None,
    jwks_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    env = partial(process_env, settings, jwks_url=jwks_url)
    folder = tmp_path_factory.mktemp("analytics-fuzz")
    async with fuzzed_service("analytics_service", env, folder) as url:
        yield url


# --- tests ---------------------------------------------------------------------------------


async def test_the_fuzzed_document_is_the_one_analytics_serves(analytics_url: str) -> None:
    await assert_serves_document(analytics_url, DOCUMENT)


async def test_the_callers_get_in_through_the_fake_jwks(
    analytics_url: str, fuzz_callers: FuzzCallers
) -> None:
    """Without this, every fuzz case could be a 401 and still pass."""
    branch = {
        "branch_id": "FZ1",
        "name": "Fuzz",
        "city": None,
        "state": None,
        "active": True,
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
    }
    async with httpx.AsyncClient(base_url=analytics_url) as http:
        stored = await http.post(
            "/internal/facts",
            json={"source": "ingestion", "facts": [fact("ingestion.branch.v1", TENANT_ID, branch)]},
            headers=fuzz_callers.headers_for("/internal/facts"),
        )
        assert stored.status_code == 200, stored.text
        for path in ("/analytics/stats", "/analytics/email/mappings", "/analytics/pipeline/runs"):
            read = await http.get(path, headers=fuzz_callers.headers_for(path))
            assert read.status_code == 200, (path, read.text)


@schema.parametrize()
def test_analytics_api(case: Case, analytics_url: str, fuzz_callers: FuzzCallers) -> None:
    case.call_and_validate(
        base_url=analytics_url,
        headers=fuzz_callers.headers_for(case.path),
        checks=CHECKS,
        timeout=20,
    )


# Inputs the fuzzer found accepted or answered 500, kept as explicit cases: each a 422 problem
# naming the field. (method, path, body, loc)
FOUND: list[tuple[str, str, dict[str, Any], list[str]]] = [
    # A JSON boolean was taken as a number (false as 0 minutes).
    ("POST", "/run-pipeline", {"match_minutes": False}, ["body", "match_minutes"]),
    (
        "POST",
        "/analytics/email/mappings",
        {"branch_code": "F", "recipients": ["a@b.co"], "enabled": 0},
        ["body", "enabled"],
    ),
    # A 64-character label made the resolver raise UnicodeError: a 500.
    (
        "PUT",
        "/analytics/email/smtp",
        {"host": "a" * 64, "port": 25, "tls_mode": "none", "from_address": "r@shop.example"},
        ["body", "host"],
    ),
    (
        "PUT",
        "/analytics/email/smtp",
        {
            "host": "mail.example",
            "port": True,
            "tls_mode": "none",
            "from_address": "r@shop.example",
        },
        ["body", "port"],
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "loc"), FOUND)
async def test_inputs_the_fuzzer_found_get_a_422_problem(
    analytics_url: str,
    fuzz_callers: FuzzCallers,
    method: str,
    path: str,
    body: dict[str, Any],
    loc: list[str],
) -> None:
    async with httpx.AsyncClient(base_url=analytics_url) as http:
        response = await http.request(
            method, path, json=body, headers=fuzz_callers.headers_for(path)
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [e["loc"] for e in response.json()["errors"]] == [loc]
