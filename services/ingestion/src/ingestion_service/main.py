"""The ingestion service app."""

from __future__ import annotations

from fastapi import FastAPI

from common.app import VerifierFactory
from common.app import create_app as build_app
from common.db import Database
from common.logging import setup_logging
from common.middleware import BodyLimit
from ingestion_service import __version__
from ingestion_service.batches import endpoints as batches
from ingestion_service.batches.schemas import LIMITS, MAX_BYTES
from ingestion_service.batches.service import BatchSlots
from ingestion_service.config import IngestionSettings, get_settings
from ingestion_service.events import endpoints as events
from ingestion_service.jobs import router as jobs_router

DESCRIPTION = """Data taken in for each tenant: events from games and game servers (the gaming
backend's POST /event, GET /events, GET /stats) and batches of them (POST /data/events)."""


def create_app(
    settings: IngestionSettings | None = None,
    database: Database | None = None,
    verifier_factory: VerifierFactory | None = None,
    *,
    freeze_gc: bool = False,
) -> FastAPI:
    """Without a verifier factory, callers are verified with auth's JWKS and API key
    introspection over HTTP (common's default)."""
    settings = settings or get_settings()

    async def open_batch_slots(app: FastAPI) -> None:
        app.state.batch_slots = BatchSlots(settings.max_concurrent_batches)

    return build_app(
        settings,
        title="Meridian ingestion",
        version=__version__,
        description=DESCRIPTION,
        routers=[events.router, batches.router, jobs_router],
        on_startup=[open_batch_slots],
        body_limits={"/data/events": BodyLimit(MAX_BYTES, LIMITS)},
        database=database,
        verifier_factory=verifier_factory,
        freeze_gc=freeze_gc,
    )


def app_from_environment() -> FastAPI:
    settings = get_settings()
    setup_logging(settings)
    return create_app(settings, freeze_gc=True)
