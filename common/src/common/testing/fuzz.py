"""What every service's API fuzz test checks with schemathesis: the bar (a clear 4xx problem for
bad input, never a 500, answers as the OpenAPI document says) and a repeatable configuration.
Needs the services' test dependencies (schemathesis)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis.checks import CheckContext, CheckFunction
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from common.errors import PROBLEM_JSON
from common.testing.servers import free_port, service_process

# Cases per operation in the fuzzing phase (the coverage phase adds its boundary cases). A deeper
# hunt: FUZZ_MAX_EXAMPLES=1000 uv run pytest <service>/tests/test_fuzz.py
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))


def fuzz_config(seed: int, **extra: Any) -> schemathesis.Config:
    """Seeded and derandomized, no example database on disk; ``extra`` adds schemathesis
    settings (dictionaries, parameters)."""
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            **extra,
        }
    )


def problem_details(ctx: CheckContext, response: schemathesis.Response, case: Any) -> bool | None:
    """Every 4xx and 5xx is an RFC 9457 problem: its media type and its own status in the body."""
    if response.status_code < 400:
        return None
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    if media_type != PROBLEM_JSON:
        raise AssertionError(
            f"{response.status_code} answered as {media_type!r}, not as a problem document"
        )
    body = response.json()
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        raise AssertionError(f"problem body does not carry status {response.status_code}: {body}")
    if not isinstance(body.get("detail"), str) or not body["detail"]:
        raise AssertionError(f"problem body has no detail: {body}")
    return None


CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    problem_details,
]


@asynccontextmanager
async def fuzzed_service(
    module: str, env_for_port: Callable[[int], dict[str, str]], log_folder: Path
) -> AsyncIterator[str]:
    """The service ``module`` as a process of its own on a free loopback port (its environment
    from ``env_for_port``), logging to ``log_folder``; yields its base URL."""
    port = free_port()
    log = log_folder / f"{module}.log"
    async with service_process(module, env_for_port(port), port=port, log=log) as url:
        assert url.startswith("http://127.0.0.1:")  # the fuzzer talks to loopback only
        yield url


async def assert_serves_document(url: str, document: dict[str, Any]) -> None:
    """The service at ``url`` serves ``document``, the one the fuzz tests were made from."""
    async with httpx.AsyncClient() as http:
        served = await http.get(f"{url}/openapi.json")
    assert served.status_code == 200
    assert served.json() == document
