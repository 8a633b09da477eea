from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common.errors import Unavailable
from common.http import HttpClients
from common.testing.servers import free_port, serve_asgi
from common_testing import ProbeSettings


def flaky_app(failures: int, seen: list[str]) -> Starlette:
    async def endpoint(request: Request) -> JSONResponse:
        seen.append(request.headers.get("x-request-id", ""))
        if len(seen) <= failures:
            return JSONResponse({"busy": True}, status_code=503)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/thing", endpoint)])


async def test_transient_503_is_retried() -> None:
    seen: list[str] = []
    clients = HttpClients(ProbeSettings())
    async with serve_asgi(flaky_app(2, seen)) as base:
        response = await clients.request("GET", f"{base}/thing", retries=2)
    await clients.aclose()
    assert (response.status_code, response.json(), len(seen)) == (200, {"ok": True}, 3)


async def test_retries_are_bounded() -> None:
    seen: list[str] = []
    clients = HttpClients(ProbeSettings())
    async with serve_asgi(flaky_app(10, seen)) as base:
        response = await clients.request("GET", f"{base}/thing", retries=1)
    await clients.aclose()
    assert (response.status_code, len(seen)) == (503, 2)


async def test_unreachable_peer_is_unavailable() -> None:
    clients = HttpClients(ProbeSettings())
    with pytest.raises(Unavailable, match="is unreachable"):
        await clients.request("GET", f"http://127.0.0.1:{free_port()}/thing", retries=1)
    await clients.aclose()
