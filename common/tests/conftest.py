"""Fixtures of the common package's tests: a probe service built with the app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common_testing import ProbeSettings, probe_app


@pytest.fixture
async def probe_settings(database_url: str) -> ProbeSettings:
    return ProbeSettings(
        database_url=database_url, environment="test", log_to_files=False, db_role_mode="shared"
    )


@pytest.fixture
async def probe(probe_settings: ProbeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = probe_app(probe_settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://probe",
        ) as client,
    ):
        yield client
