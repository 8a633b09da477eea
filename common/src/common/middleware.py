"""Pure ASGI middleware: request ids, security headers, request body size limit."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.context import request_id_var, tenant_id_var
from common.errors import problem_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]
# The docs pages load Swagger UI from a CDN and inline scripts; API responses get the strict one.
_STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOC_PATHS = ("/docs", "/redoc")


class RequestContextMiddleware:
    """Assigns a request id (or keeps a sane incoming X-Request-Id), adds security headers, and
    writes one access line per request (method, path, status, milliseconds)."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode(
            "latin-1"
        )
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        rid_token = request_id_var.set(request_id)
        tenant_token = tenant_id_var.set(None)
        is_docs = scope["path"].startswith(_DOC_PATHS)
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                if not is_docs:
                    headers.append(_STRICT_CSP)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if self.access_log:
                elapsed = (time.perf_counter() - started) * 1000
                logger.info("{} {} {} {:.1f}ms", scope["method"], scope["path"], status, elapsed)
            request_id_var.reset(rid_token)
            tenant_id_var.reset(tenant_token)


@dataclass(frozen=True)
class BodyLimit:
    """A path's own body limit, and what else its 413 states (e.g. its other limits).

    ``streamed``: the endpoint reads its body as a stream and enforces the limit itself (so it
    can say what became of the part it took in); here only a declared Content-Length is checked.
    """

    max_bytes: int
    details: dict[str, Any] = field(default_factory=dict)
    streamed: bool = False


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413, by Content-Length or while streaming.

    When a streamed body passes the limit, the 413 is sent at once, the app is told the client
    went away, and whatever the app tries to answer afterwards is dropped.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int | BodyLimit] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = {
            prefix: limit if isinstance(limit, BodyLimit) else BodyLimit(limit)
            for prefix, limit in (overrides or {}).items()
        }

    def _limit_for(self, path: str) -> BodyLimit:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return BodyLimit(self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_limit = self._limit_for(scope["path"])
        limit = body_limit.max_bytes
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, body_limit)
            return
        if body_limit.streamed:
            await self.app(scope, receive, send)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not started:
                    refused = True
                    await self._refuse(scope, receive, send, body_limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: BodyLimit) -> None:
        response = problem_response(
            413,
            f"The request body is larger than {limit.max_bytes} bytes.",
            type_slug="payload-too-large",
            **{**limit.details, "max_bytes": limit.max_bytes},
        )
        await response(scope, receive, send)
