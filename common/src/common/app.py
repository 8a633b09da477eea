"""The app factory every service uses: middleware, problem responses, lifespan, /health."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from loguru import logger
from starlette.types import ASGIApp

from common.auth_client import http_verifier
from common.config import ServiceSettings
from common.db import Database
from common.errors import install_error_handlers
from common.http import HttpClients
from common.middleware import BodyLimit, BodySizeLimitMiddleware, RequestContextMiddleware
from common.security import TokenVerifier

LifespanHook = Callable[[FastAPI], Awaitable[None]]
VerifierFactory = Callable[[FastAPI], TokenVerifier]


def _outermost(app: FastAPI, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
    """Wrap even Starlette's ServerErrorMiddleware, so a 500 also gets the request id (in its
    body, its headers and the error's log line) and the security headers."""
    build = app.build_middleware_stack

    def build_with_context() -> ASGIApp:
        return middleware(build())

    app.build_middleware_stack = build_with_context  # type: ignore[method-assign]


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    version: str,
    routers: Sequence[APIRouter],
    description: str = "",
    on_startup: Sequence[LifespanHook] = (),
    on_shutdown: Sequence[LifespanHook] = (),
    database: Database | None = None,
    body_limits: dict[str, int | BodyLimit] | None = None,
    verifier_factory: VerifierFactory | None = None,
    freeze_gc: bool = False,
) -> FastAPI:
    """Build a service app. ``database`` may be given by tests; otherwise it is created at start.
    ``freeze_gc`` is for a process's own app (not tests, which build many): once started, what
    start-up built (modules, routes, models, some 150,000 objects) is moved out of the cyclic
    collector's sight, so that a full collection no longer walks it (a pause of ~0.1 s)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_database = database is None
        app.state.database = database or Database.from_settings(settings)
        app.state.http = HttpClients(settings)
        for hook in on_startup:
            await hook(app)
        app.state.verifier = (
            verifier_factory(app) if verifier_factory else http_verifier(settings, app.state.http)
        )
        if freeze_gc:
            gc.collect()
            gc.freeze()
        logger.info("{} listening on {}", settings.service_name, settings.public_url)
        try:
            yield
        finally:
            for hook in on_shutdown:
                await hook(app)
            await app.state.http.aclose()
            if owns_database:
                await app.state.database.dispose()

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, overrides=body_limits
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-Tenant-Id",
            "Idempotency-Key",
            "X-Request-Id",
        ],
        expose_headers=["X-Request-Id", "Retry-After"],
        max_age=600,
    )
    _outermost(app, lambda inner: RequestContextMiddleware(inner, access_log=settings.log_access))

    @app.get(
        "/health",
        tags=["health"],
        response_model=None,
        responses={
            503: {
                "description": "Degraded: the same body, the database unreachable.",
                "content": {"application/json": {"schema": {}}},
            }
        },
    )
    async def health() -> JSONResponse:
        """Service liveness and database status."""
        body: dict[str, Any] = {"service": settings.service_name, "version": version}
        try:
            body["database"] = {"status": "ok", "server_version": await app.state.database.ping()}
            body["status"] = "ok"
            return JSONResponse(body)
        except Exception as exc:  # the health check reports, it does not raise
            logger.warning("health check: database unreachable: {}", type(exc).__name__)
            body["database"] = {"status": "unavailable", "error": type(exc).__name__}
            body["status"] = "degraded"
            return JSONResponse(body, status_code=503)

    @app.get("/livez", tags=["health"])
    async def livez() -> dict[str, str]:
        """Liveness: the process answers (no database check, so a database outage does not
        restart every pod)."""
        return {"status": "alive"}

    for router in routers:
        app.include_router(router)
    return app


def serve(settings: ServiceSettings, factory: str) -> None:
    """Serve a service's app with uvicorn on its HOST and PORT (``python -m <service>``), in
    WORKERS processes; ``factory`` names the function that builds the app from the environment
    (each process builds its own)."""
    import uvicorn

    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
