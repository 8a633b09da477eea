"""The ingestion API under schemathesis: every operation of its OpenAPI document, fed valid and
invalid input, against ingestion running as a real process on loopback. Bad input must get a
clear 4xx problem response, nothing may answer 500, and every answer must match the document.

Ingestion verifies tokens with auth's JWKS over HTTP. Auth is the outside edge here: a small app
on loopback publishes the public half of the test signing key (ingestion_testing's) at
``/.well-known/jwks.json``, and the callers are tokens signed with it (a player, a tenant machine,
a tenant admin), so no API key needs introspecting. The fuzzer makes its own events, in a tenant
of its own whose rows are deleted afterwards.

Each operation is a test of its own (``test_ingestion_api[POST /event]``). Its cases come from a
fixed seed, derandomized, so a run sends the same requests every time; a failure prints the
request to replay with curl. ``FUZZ_MAX_EXAMPLES=1000`` hunts deeper.

Everything lives in this one file: a ``fuzz_support`` module here would be shadowed by auth's
(both test folders are on pytest's path).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.errors import PROBLEM_JSON
from common.testing.fuzz import CHECKS, assert_serves_document, fuzz_config, fuzzed_service
from common.testing.servers import serve_in_thread
from ingestion_service.config import IngestionSettings
from ingestion_service.main import create_app
from ingestion_testing import Callers, jwks_app, make_settings, process_env

# Same inputs, same run: every operation draws its cases from this seed, derandomized.
SEED = 20_261_123

_NAMESPACE = uuid.UUID("0b1f6c52-9d3e-4f7a-8c21-5e4d3a2b1c90")


def _fixed(name: str) -> uuid.UUID:
    """Ids fixed in advance, so that a run is the same every time."""
    return uuid.uuid5(_NAMESPACE, name)


TENANT_ID = _fixed("tenant")
PLAYER_ID = _fixed("player")
ADMIN_ID = _fixed("admin")
MACHINE_KEY_ID = _fixed("machine key")
# What the fuzzer commits, all of it under TENANT_ID: removed before and after the run.
FUZZ_TABLES = (
    "ingestion.event",
    "ingestion.idempotency_key",
    "ingestion.outbox",
    "ingestion.ga4_pulled_day",
    "ingestion.ga4_report_definition",
    "ingestion.ga4_connection",
    "ingestion.customer_user",
    "ingestion.branch",
    "ingestion.upload",
    "ingestion.purchase_raw",
    "ingestion.purchase_confirmed",
    "ingestion.cost_daily",
    "ingestion.session_event",
)
# Paths a tenant admin calls (GA4 is run by tenant users).
ADMIN_PATHS = ("/ingestion/", "/data/ga4/", "/data/ingest/", "/data/report-definitions")
# Customer records and uploads are written and read by a machine holding uploads:write.
DATA_PATHS = ("/data/users", "/data/branches", "/data/uploads")

# Schemathesis makes one test per operation only from a document it has at collection, so the
# document is built here from the app; the first test checks that ingestion serves this very one.
DOCUMENT = create_app(make_settings("postgresql://unused.invalid/none")).openapi()


# --- the callers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzCallers:
    """Tokens of the fuzz tenant: a player sends events, a machine holding events:read reads
    them (all of the tenant's, the player's included), an admin reads the jobs and runs GA4, a
    machine holding uploads:write writes and reads customer records and uploads."""

    player: str
    machine: str
    admin: str
    writer: str

    @classmethod
    def signed(cls, settings: IngestionSettings) -> FuzzCallers:
        callers = Callers(settings)
        ttl = 3600  # outlives any run
        tid = str(TENANT_ID)
        player = {"sub": str(PLAYER_ID), "tid": tid, "uid": "fuzz_player", "typ": "player"}
        admin = {"sub": str(ADMIN_ID), "tid": tid, "role": "admin", "typ": "user"}
        machine = {
            "sub": f"apikey:{MACHINE_KEY_ID}",
            "tid": tid,
            "typ": "machine",
            "scope": "events:read",
        }
        writer = {**machine, "scope": "uploads:write"}
        return cls(
            player=callers.sign({**player, "scope": "player"}, ttl=ttl),
            machine=callers.sign(machine, ttl=ttl),
            admin=callers.sign(admin, ttl=ttl),
            writer=callers.sign(writer, ttl=ttl),
        )

    def headers_for(self, method: str, path: str) -> dict[str, str]:
        if method.upper() == "POST" and path in ("/event", "/data/events"):
            token = self.player
        elif path.startswith(ADMIN_PATHS) or path == "/data/availability":
            token = self.admin
        elif path.startswith(DATA_PATHS):
            token = self.writer
        else:
            token = self.machine
        return {"Authorization": f"Bearer {token}"}


# --- what the fuzzer checks ----------------------------------------------------------------


schema = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(SEED))


# --- fixtures ------------------------------------------------------------------------------


async def _remove_fuzz_rows(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        # The fuzzer's ingest jobs: their days, their queued pulls, then the jobs.
        jobs = "SELECT id FROM ingestion.ingest_job WHERE tenant_id = :t"
        await conn.execute(
            text(f"DELETE FROM ingestion.ingest_job_day WHERE job_id IN ({jobs})"),  # noqa: S608
            {"t": TENANT_ID},
        )
        await conn.execute(
            text(
                "DELETE FROM ingestion.pgqueuer WHERE entrypoint = 'ingestion.ga4_pull'"
                " AND convert_from(payload, 'UTF8')::jsonb ->> 'job_id' IN"
                " (SELECT id::text FROM ingestion.ingest_job WHERE tenant_id = :t)"
            ),
            {"t": TENANT_ID},
        )
        await conn.execute(
            text("DELETE FROM ingestion.ingest_job WHERE tenant_id = :t"), {"t": TENANT_ID}
        )
        for table in FUZZ_TABLES:
            await conn.execute(
                text(f"DELETE FROM {table} WHERE tenant_id = :t"),  # noqa: S608 - names from code
                {"t": TENANT_ID},
            )


@pytest.fixture(scope="module")
async def fuzz_tenant(engine: AsyncEngine) -> AsyncIterator[uuid.UUID]:
    """The tenant the fuzzer writes in, empty at the start and removed at the end."""
    await _remove_fuzz_rows(engine)
    yield TENANT_ID
    await _remove_fuzz_rows(engine)


@pytest.fixture(scope="module")
def fuzz_callers(settings: IngestionSettings) -> FuzzCallers:
    return FuzzCallers.signed(settings)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    with serve_in_thread(jwks_app(), name="fake-auth-jwks") as url:
        yield url


@pytest.fixture(scope="module")
async def ingestion_url(
    settings: IngestionSettings,
    fuzz_tenant: uuid.UUID,
    jwks_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    env = partial(process_env, settings, jwks_url=jwks_url)
    folder = tmp_path_factory.mktemp("ingestion-fuzz")
    async with fuzzed_service("ingestion_service", env, folder) as url:
        yield url


# --- tests ---------------------------------------------------------------------------------


async def test_the_fuzzed_document_is_the_one_ingestion_serves(ingestion_url: str) -> None:
    await assert_serves_document(ingestion_url, DOCUMENT)


async def test_the_callers_get_in_through_the_fake_jwks(
    ingestion_url: str, fuzz_callers: FuzzCallers
) -> None:
    """Without this, every fuzz case could be a 401 and still pass."""
    async with httpx.AsyncClient(base_url=ingestion_url) as http:
        sent = await http.post(
            "/event",
            json={"eventType": "fuzz_ready"},
            headers=fuzz_callers.headers_for("POST", "/event"),
        )
        assert sent.status_code == 200, sent.text
        for path in ("/events", "/stats", "/ingestion/jobs", *DATA_PATHS):
            read = await http.get(path, headers=fuzz_callers.headers_for("GET", path))
            assert read.status_code == 200, (path, read.text)


@schema.parametrize()
def test_ingestion_api(case: Case, ingestion_url: str, fuzz_callers: FuzzCallers) -> None:
    case.call_and_validate(
        base_url=ingestion_url,
        headers=fuzz_callers.headers_for(case.method, case.path),
        checks=CHECKS,
        timeout=10,
    )


# Inputs found answering 500, kept as explicit cases: (method, path, request, status).
FOUND: list[tuple[str, str, dict[str, Any], int]] = [
    # meta nested deeper than json.loads goes: its RecursionError escaped the validator.
    ("POST", "/event", {"json": {"eventType": "deep", "meta": "[" * 4000 + "]" * 1000}}, 422),
    # A NUL in a report definition's dimension_filter: JSONB refused it.
    (
        "POST",
        "/data/report-definitions",
        {
            "json": {
                "name": "nul",
                "fact_kind": "nul",
                "dimensions": ["date"],
                "metrics": ["eventCount"],
                "dimension_filter": {"a\x00": []},
            }
        },
        422,
    ),
]


@pytest.mark.parametrize(("method", "path", "request_", "status"), FOUND)
async def test_inputs_the_fuzzer_found_get_a_problem_4xx(
    ingestion_url: str,
    fuzz_callers: FuzzCallers,
    method: str,
    path: str,
    request_: dict[str, Any],
    status: int,
) -> None:
    headers = fuzz_callers.headers_for(method, path)
    async with httpx.AsyncClient(base_url=ingestion_url, headers=headers) as http:
        response = await http.request(method, path, **request_)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == status


async def test_a_reused_idempotency_key_is_a_validation_problem(
    ingestion_url: str, fuzz_callers: FuzzCallers
) -> None:
    """The fuzzer sent one key with two bodies: the 422 lacked the errors its document promises
    (a 422 is a ValidationProblem)."""
    headers = {**fuzz_callers.headers_for("POST", "/event"), "Idempotency-Key": "fuzz-reused"}
    async with httpx.AsyncClient(base_url=ingestion_url, headers=headers) as http:
        first = await http.post("/event", json={"eventType": "first"})
        again = await http.post("/event", json={"eventType": "second"})
    assert first.status_code == 200, first.text
    assert again.status_code == 422, again.text
    assert again.headers["content-type"] == PROBLEM_JSON
    problem = again.json()
    assert problem["type"] == "https://meridian.dev/problems/idempotency-key-reused"
    assert problem["status"] == 422
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        (["header", "Idempotency-Key"], "idempotency_key_reused")
    ]
