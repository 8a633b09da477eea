"""Access tokens from auth: whatever auth (or a proxy before it) answers is a GrantProblem the
runner sorts, never an exception it does not expect."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.http import HttpClients
from common.testing.servers import serve_asgi
from ingestion_service.ga4.tokens import GrantProblem, GrantTokens
from ingestion_testing import make_settings

# What auth's internal endpoint answers next: (status, body, media type).
ANSWER: list[tuple[int, str, str]] = []


async def _service_token(_: Request) -> Response:
    return JSONResponse({"access_token": "service", "expires_in": 3600})


async def _access_token(_: Request) -> Response:
    status, body, media_type = ANSWER[0]
    return Response(body, status_code=status, media_type=media_type)


@pytest.fixture
async def tokens() -> AsyncIterator[GrantTokens]:
    app = Starlette(
        routes=[
            Route("/auth/token", _service_token, methods=["POST"]),
            Route("/internal/grants/{tenant}/google/access-token", _access_token, methods=["POST"]),
        ]
    )
    async with serve_asgi(app) as url:
        http = HttpClients(make_settings("postgresql://unused.invalid/none", auth_url=url))
        yield GrantTokens(http)
        await http.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        (500, "<html>Internal Server Error</html>", "text/html"),
        (200, "<html>a portal</html>", "text/html"),
        (200, '{"expires_at": "2030-01-01T00:00:00Z"}', "application/json"),
        (200, '["token"]', "application/json"),
    ],
)
async def test_an_answer_without_a_token_is_auth_unavailable(
    tokens: GrantTokens, answer: tuple[int, str, str]
) -> None:
    """Such answers raised JSONDecodeError or KeyError: the job they came to stayed running."""
    ANSWER[:] = [answer]
    with pytest.raises(GrantProblem) as raised:
        await tokens.get(uuid.uuid4())
    assert (raised.value.state, raised.value.message) == (
        "unavailable",
        f"auth answered {answer[0]}: {answer[1]}",
    )
