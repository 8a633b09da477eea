"""The analytics service app."""

from __future__ import annotations

from fastapi import FastAPI

from analytics_service import __version__
from analytics_service.config import AnalyticsSettings, get_settings
from analytics_service.facts import endpoints as facts
from analytics_service.facts.schemas import LIMITS, MAX_BYTES
from analytics_service.jobs import router as jobs_router
from analytics_service.pipeline import endpoints as pipeline
from analytics_service.reports import endpoints as reports
from analytics_service.sales import endpoints as sales
from analytics_service.signals import endpoints as signals
from common.app import VerifierFactory
from common.app import create_app as build_app
from common.db import Database
from common.logging import setup_logging
from common.middleware import BodyLimit

DESCRIPTION = """The warehouse of each tenant, fed by the other services' facts
(POST /internal/facts, service callers only): game events, uploaded purchases, costs and sessions,
customer records and GA4 pulls, in typed tables partitioned by month."""


def create_app(
    settings: AnalyticsSettings | None = None,
    database: Database | None = None,
    verifier_factory: VerifierFactory | None = None,
    *,
    freeze_gc: bool = False,
) -> FastAPI:
    """Without a verifier factory, callers are verified with auth's JWKS and API key
    introspection over HTTP (common's default)."""
    settings = settings or get_settings()
    return build_app(
        settings,
        title="Meridian analytics",
        version=__version__,
        description=DESCRIPTION,
        routers=[
            facts.router,
            jobs_router,
            pipeline.router,
            sales.router,
            reports.router,
            signals.router,
        ],
        body_limits={"/internal/facts": BodyLimit(MAX_BYTES, LIMITS)},
        database=database,
        verifier_factory=verifier_factory,
        freeze_gc=freeze_gc,
    )


def app_from_environment() -> FastAPI:
    settings = get_settings()
    setup_logging(settings)
    return create_app(settings, freeze_gc=True)
