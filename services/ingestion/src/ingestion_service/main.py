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
from ingestion_service.connections import endpoints as connections
from ingestion_service.customers import endpoints as customers
from ingestion_service.events import endpoints as events
from ingestion_service.ga4.client import GA4Api
from ingestion_service.ga4.tokens import GrantTokens
from ingestion_service.jobs import router as jobs_router
from ingestion_service.pulls import endpoints as pulls
from ingestion_service.uploads import endpoints as uploads

DESCRIPTION = """Data taken in for each tenant: events from games and game servers (the gaming
backend's POST /event, GET /events, GET /stats) and batches of them (POST /data/events); GA4
properties pulled day by day through the tenant's Google grant (/data/ga4/connections,
/data/ingest, /data/availability); the tenant's customer records (the GA system's users and
branches); CSV files of the gaming backend's data/ folder (POST /data/uploads/{kind}).
Everything taken in leaves for analytics as facts."""


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

    async def open_ga4(app: FastAPI) -> None:
        app.state.ga4 = GA4Api(settings)
        app.state.grant_tokens = GrantTokens(app.state.http)

    async def close_ga4(app: FastAPI) -> None:
        app.state.ga4.close()

    return build_app(
        settings,
        title="Meridian ingestion",
        version=__version__,
        description=DESCRIPTION,
        routers=[
            events.router,
            batches.router,
            customers.router,
            uploads.router,
            connections.router,
            pulls.router,
            jobs_router,
        ],
        on_startup=[open_batch_slots, open_ga4],
        on_shutdown=[close_ga4],
        body_limits={
            "/data/events": BodyLimit(MAX_BYTES, LIMITS),
            # A file is streamed: the upload itself enforces its own, larger limit.
            "/data/uploads/": BodyLimit(settings.max_upload_bytes, streamed=True),
        },
        database=database,
        verifier_factory=verifier_factory,
        freeze_gc=freeze_gc,
    )


def app_from_environment() -> FastAPI:
    settings = get_settings()
    setup_logging(settings)
    return create_app(settings, freeze_gc=True)
