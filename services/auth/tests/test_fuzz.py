"""The auth API under schemathesis: every operation of its OpenAPI document, fed valid and invalid
input, against auth running as a real process on loopback. Bad input must get a clear 4xx
problem response, nothing may answer 500, and every answer must match the document.

Each operation is a test of its own (``test_auth_api[POST /auth/tenants]``). Its cases come from
a fixed seed, derandomized, so a run sends the same requests every time; a failure prints the
request to replay with curl. ``FUZZ_MAX_EXAMPLES=1000`` hunts deeper (see fuzz_support)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.config import AuthSettings
from auth_service.main import create_app
from auth_testing import make_settings, process_env
from common.errors import PROBLEM_JSON
from common.testing.fuzz import CHECKS, assert_serves_document, fuzzed_service
from fuzz_support import (
    TENANT_ID,
    FuzzWorld,
    auth_fuzz_config,
    remove_world,
    seed_world,
    service_token,
)

# Schemathesis makes one test per operation only from a document it has at collection, so the
# document is built here from the app; the first test checks that auth serves this very one.
DOCUMENT = create_app(make_settings("postgresql://unused.invalid/none")).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=auth_fuzz_config())


@pytest.fixture(scope="module")
async def fuzz_world(settings: AuthSettings, engine: AsyncEngine) -> AsyncIterator[FuzzWorld]:
    world = await seed_world(settings, engine)
    yield world
    await remove_world(engine)


@pytest.fixture(scope="module")
async def auth_url(
    settings: AuthSettings, fuzz_world: FuzzWorld, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    folder = tmp_path_factory.mktemp("auth-fuzz")
    async with fuzzed_service("auth_service", partial(process_env, settings), folder) as url:
        fuzz_world.service_token = await service_token(url)
        yield url


async def test_the_fuzzed_document_is_the_one_auth_serves(auth_url: str) -> None:
    await assert_serves_document(auth_url, DOCUMENT)


@schema.parametrize()
def test_auth_api(case: Case, auth_url: str, fuzz_world: FuzzWorld) -> None:
    case.call_and_validate(
        base_url=auth_url, headers=fuzz_world.headers_for(case.path), checks=CHECKS, timeout=10
    )


# Inputs the fuzzer found answering 500, kept as explicit cases: (method, path, request, status).
FOUND: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "/auth/tenants", {"json": {"name": "a\u0000b"}}, 400),
    ("PATCH", f"/auth/tenants/{TENANT_ID}", {"json": {"name": "\u0000"}}, 400),
    ("POST", "/auth/api-keys", {"json": {"name": "k\u0000", "scopes": ["admin"]}}, 400),
    ("GET", "/auth/audit", {"params": {"action": "\u0000"}}, 400),
    (
        "POST",
        "/auth/token",
        {"data": {"grant_type": "client_credentials", "client_id": "\u0000", "client_secret": "s"}},
        400,
    ),
    ("GET", "/auth/audit", {"params": {"before_id": 2**63}}, 422),
    (
        "POST",
        "/auth/api-keys",
        {"json": {"name": "k", "scopes": ["admin"], "expires_at": "9999-12-31T23:59:59-23:59"}},
        422,
    ),
]


@pytest.mark.parametrize(("method", "path", "request_", "status"), FOUND)
async def test_inputs_the_fuzzer_found_get_a_problem_4xx(
    auth_url: str,
    fuzz_world: FuzzWorld,
    method: str,
    path: str,
    request_: dict[str, Any],
    status: int,
) -> None:
    async with httpx.AsyncClient(base_url=auth_url, headers=fuzz_world.headers_for(path)) as http:
        response = await http.request(method, path, **request_)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == status
