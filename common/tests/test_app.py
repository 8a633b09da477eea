from __future__ import annotations

import gc

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common.app import serve
from common.middleware import BodyLimit, BodySizeLimitMiddleware
from common_testing import ProbeSettings, probe_app


async def test_health_reports_the_database(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["service"], body["version"]) == ("ok", "probe", "9.9.9")
    assert body["database"]["status"] == "ok"
    assert body["database"]["server_version"].split(".")[0] == "18"


async def test_liveness_does_not_touch_the_database(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/livez")
    assert (response.status_code, response.json()) == (200, {"status": "alive"})


async def test_health_is_degraded_when_the_database_is_down() -> None:
    settings = ProbeSettings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        environment="test",
        log_to_files=False,
        db_role_mode="shared",
    )
    app = probe_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as client,
    ):
        response = await client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == (
        "degraded",
        {"status": "unavailable", "error": "ConnectionRefusedError"},
    )


@pytest.mark.parametrize("freeze_gc", [False, True])
async def test_only_a_process_app_freezes_what_start_up_built(
    probe_settings: ProbeSettings, freeze_gc: bool
) -> None:
    app = probe_app(probe_settings, freeze_gc=freeze_gc)
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert frozen is freeze_gc


def test_serve_runs_the_factory_in_as_many_processes_as_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append((app, options)))
    serve(ProbeSettings(workers=2), "probe_service.main:app_from_environment")
    [(app, options)] = runs
    assert (app, options["factory"], options["workers"]) == (
        "probe_service.main:app_from_environment",
        True,
        2,
    )


async def test_validation_errors_are_problem_responses(probe: httpx.AsyncClient) -> None:
    response = await probe.post("/items", json={"name": "", "count": -1})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://meridian.dev/problems/validation-error"
    assert [e["loc"] for e in body["errors"]] == [["body", "name"], ["body", "count"]]
    assert body["request_id"] == response.headers["x-request-id"]


async def test_domain_errors_carry_their_status_and_extras(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/conflict")
    assert response.status_code == 409
    body = response.json()
    assert (body["title"], body["detail"], body["name"]) == ("Conflict", "That name is taken.", "x")


async def test_unknown_route_is_a_problem_404(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["type"] == "https://meridian.dev/problems/not-found"


async def test_unexpected_error_hides_internals(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/boom", headers={"X-Request-Id": "req-500"})
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert (response.json()["request_id"], response.headers["x-request-id"]) == (
        "req-500",
        "req-500",
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()["detail"] == "An unexpected error occurred; quote the request id."


async def test_incoming_request_id_is_kept_and_bad_ones_replaced(probe: httpx.AsyncClient) -> None:
    kept = await probe.get("/health", headers={"X-Request-Id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await probe.get("/health", headers={"X-Request-Id": "bad id\twith spaces"})
    assert len(replaced.headers["x-request-id"]) == 32


async def test_security_headers_are_set(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    docs = await probe.get("/docs")
    assert "content-security-policy" not in docs.headers


async def test_oversized_body_is_refused_by_length(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        "/items", content=b"x" * 1_048_577, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["max_bytes"] == 1_048_576


async def test_oversized_streamed_body_is_refused(probe: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    response = await probe.post(
        "/items", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_cors_allows_configured_origins_only(probe: httpx.AsyncClient) -> None:
    allowed = await probe.options(
        "/items",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    refused = await probe.options(
        "/items",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("path", ["/whoami", "/admin-only"])
async def test_protected_routes_need_a_token(probe: httpx.AsyncClient, path: str) -> None:
    response = await probe.get(path)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("sqlstate", "status", "slug"),
    [
        ("23505", 409, "conflict"),
        ("22021", 400, "invalid-text"),
        ("22001", 400, "value-too-long"),
        ("40P01", 503, "retry-later"),
        ("42P01", 500, "internal-error"),
    ],
)
async def test_database_errors_caused_by_callers_are_problems(
    probe: httpx.AsyncClient, sqlstate: str, status: int, slug: str
) -> None:
    response = await probe.get(f"/db-error/{sqlstate}")
    assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (status, slug)


def _counting_app() -> Starlette:
    """Answers how many body bytes it read: what a streamed endpoint would see."""

    async def count(request: Request) -> JSONResponse:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return JSONResponse({"read": size})

    return Starlette(routes=[Route("/upload", count, methods=["POST"])])


async def test_a_streamed_limit_leaves_the_streamed_body_to_the_endpoint() -> None:
    app = BodySizeLimitMiddleware(
        _counting_app(), max_bytes=10, overrides={"/upload": BodyLimit(100, streamed=True)}
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://p") as client:

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(3):
                yield b"x" * 60

        streamed = await client.post("/upload", content=chunks())
        declared = await client.post("/upload", content=b"x" * 101)
    assert (streamed.status_code, streamed.json()) == (200, {"read": 180})
    assert (declared.status_code, declared.json()["max_bytes"]) == (413, 100)
