"""The ingestion service app."""

from __future__ import annotations

from fastapi import FastAPI

from common.app import VerifierFactory
from common.app import create_app as build_app
from common.db import Database
from common.logging import setup_logging
from ingestion_service import __version__
from ingestion_service.config import IngestionSettings, get_settings
from ingestion_service.events import endpoints as events
from ingestion_service.jobs import router as jobs_router

DESCRIPTION = """Data taken in for each tenant: events from games and game servers (the gaming
backend's POST /event, GET /events, GET /stats)."""


def create_app(
    settings: IngestionSettings | None = None,
    database: Database | None = None,
    verifier_factory: VerifierFactory | None = None,
) -> FastAPI:
    """Without a verifier factory, callers are verified with auth's JWKS and API key
    introspection over HTTP (common's default)."""
    settings = settings or get_settings()
    return build_app(
        settings,
        title="Meridian ingestion",
        version=__version__,
        description=DESCRIPTION,
        routers=[events.router, jobs_router],
        database=database,
        verifier_factory=verifier_factory,
    )


def app_from_environment() -> FastAPI:
    settings = get_settings()
    setup_logging(settings)
    return create_app(settings)
