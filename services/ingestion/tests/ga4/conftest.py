"""GA4 pulls against the outside edge, for real: a fake Google (OIDC provider and GA4 Data API on
loopback), auth serving on loopback and holding the tenant's grant, ingestion asking auth for
access tokens and Google's own client asking the fake for reports. Everything commits, so each
test works in a tenant of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.config import OAuthProvider
from auth_service.main import create_app as create_auth_app
from auth_testing import Member, People
from auth_testing import make_settings as make_auth_settings
from common.db import Database
from common.http import HttpClients
from common.migrations import migrate
from common.testing.ga4 import FakeGA4, GA4Property
from common.testing.oidc_provider import FakeOIDCProvider, OIDCUser
from common.testing.servers import serve_asgi
from ingestion_service.config import IngestionSettings
from ingestion_service.ga4.client import GA4Api
from ingestion_service.ga4.tokens import GrantTokens
from ingestion_service.main import create_app
from ingestion_service.pulls.runner import Puller
from ingestion_testing import Caller, Callers, auth_free_verifier, make_settings
from oauth_fixtures import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, connect_grant

PAGE_SIZE = 50
KEY_DIMENSIONS = ["customEvent:ga_session_id", "customUser:web_user_id", "customEvent:branch_id"]


@pytest.fixture(scope="module")
async def google() -> AsyncIterator[FakeOIDCProvider]:
    provider = FakeOIDCProvider(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT_URI])
    async with provider.serve():
        yield provider


@pytest.fixture(scope="module")
async def ga4(google: FakeOIDCProvider) -> AsyncIterator[tuple[FakeGA4, str]]:
    fake = FakeGA4(token_valid=google.access_token_valid)
    async with fake.serve() as base:
        yield fake, base


@dataclass
class AuthSide:
    url: str
    client: httpx.AsyncClient
    people: People
    # Tenants (and their owners) these tests commit, removed from both services afterwards.
    made: list[Member] = field(default_factory=list)


# What the tests commit, by tenant: removed at the end so no other test sees it.
INGESTION_CLEAN_UP = [
    "DELETE FROM ingestion.ingest_job_day WHERE job_id IN"
    " (SELECT id FROM ingestion.ingest_job WHERE tenant_id = ANY(:t))",
    "DELETE FROM ingestion.pgqueuer WHERE entrypoint = 'ingestion.ga4_pull'"
    " AND convert_from(payload, 'UTF8')::jsonb ->> 'job_id' IN"
    " (SELECT id::text FROM ingestion.ingest_job WHERE tenant_id = ANY(:t))",
    *(
        f"DELETE FROM ingestion.{table} WHERE tenant_id = ANY(:t)"  # noqa: S608 - names from code
        for table in (
            "ingest_job",
            "ga4_pulled_day",
            "ga4_report_definition",
            "ga4_connection",
            "outbox",
        )
    ),
]
AUTH_CLEAN_UP = [
    "DELETE FROM auth.audit_event WHERE tenant_id = ANY(:t)",
    "DELETE FROM auth.oauth_state WHERE tenant_id = ANY(:t)",
    "DELETE FROM auth.tenant WHERE id = ANY(:t)",  # memberships, grants, tokens cascade
    "DELETE FROM auth.user_account WHERE id = ANY(:u)",
]


@pytest.fixture(scope="module")
async def auth(
    database_url: str, google: FakeOIDCProvider, engine: AsyncEngine
) -> AsyncIterator[AuthSide]:
    provider = OAuthProvider(
        kind="oidc",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        discovery_url=google.discovery_url,
    )
    settings = make_auth_settings(
        database_url, oauth_providers={"google": provider}, oauth_redirect_uris=[REDIRECT_URI]
    )
    await migrate(settings)
    app = create_auth_app(settings)
    async with serve_asgi(app) as url, httpx.AsyncClient(base_url=url) as client:
        client.app = app  # type: ignore[attr-defined]  # People signs with its keyring
        side = AuthSide(url, client, People(client, app.state.database, settings))
        yield side
        made = {"t": [m.tenant_id for m in side.made], "u": [m.user_id for m in side.made]}
        for each, statements in (
            (engine, INGESTION_CLEAN_UP),
            (app.state.database.engine, AUTH_CLEAN_UP),  # each service's role, its own schema
        ):
            async with each.begin() as conn:
                for statement in statements:
                    await conn.execute(text(statement), made)


@pytest.fixture(scope="module")
async def pull_settings(
    database_url: str, auth: AuthSide, ga4: tuple[FakeGA4, str]
) -> IngestionSettings:
    return make_settings(
        database_url,
        auth_url=auth.url,
        ga4_api_url=ga4[1],
        ga4_page_size=PAGE_SIZE,
        ga4_retry_base_seconds=0.01,
    )


@pytest.fixture(scope="module")
async def puller(pull_settings: IngestionSettings, engine: AsyncEngine) -> AsyncIterator[Puller]:
    http = HttpClients(pull_settings)
    api = GA4Api(pull_settings)
    yield Puller(pull_settings, Database(engine).sessionmaker, api, GrantTokens(http))
    api.close()
    await http.aclose()


@pytest.fixture(scope="module")
async def api(
    pull_settings: IngestionSettings, engine: AsyncEngine
) -> AsyncIterator[tuple[httpx.AsyncClient, Callers]]:
    """Ingestion's API over the committed database (the worker's pulls must see its jobs)."""
    callers = Callers(pull_settings)
    app = create_app(
        pull_settings,
        database=Database(engine),
        verifier_factory=lambda _: auth_free_verifier(pull_settings, callers.api_keys),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingestion.test") as c:
            yield c, callers


@dataclass
class Tenant:
    """A tenant with its Google grant connected in auth and a GA4 connection in ingestion."""

    owner: Member
    admin: Caller
    property: GA4Property
    connection: dict[str, Any]
    refresh_token: str

    @property
    def id(self) -> uuid.UUID:
        return self.owner.tenant_id


@pytest.fixture
async def shop(
    auth: AuthSide,
    google: FakeOIDCProvider,
    ga4: tuple[FakeGA4, str],
    api: tuple[httpx.AsyncClient, Callers],
) -> Tenant:
    owner = await auth.people.tenant_owner()
    auth.made.append(owner)
    connected = await connect_grant(auth.client, google, owner, OIDCUser("ga@example.com", "GA"))
    assert connected.status_code == 200, connected.text
    refresh_token = google.token_responses[-1]["refresh_token"]
    property_id = str(uuid.uuid4().int % 10**9)
    prop = ga4[0].property(property_id, time_zone="Europe/Berlin", custom_dimensions=KEY_DIMENSIONS)
    client, callers = api
    admin = callers.user(owner.tenant_id, role="admin")
    response = await client.post(
        "/data/ga4/connections",
        json={"property_id": property_id, "display_name": "Shop", "time_zone": "Europe/Berlin"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return Tenant(owner, admin, prop, response.json(), refresh_token)


def page_views(day: str, count: int, *, branch: str = "D01") -> list[dict[str, Any]]:
    """``count`` page views on ``day`` (YYYYMMDD), one per minute from 08:00, two per session."""
    return [
        {
            "dateHourMinute": f"{day}{8 + n // 60:02d}{n % 60:02d}",
            "eventName": "page_view",
            "customEvent:ga_session_id": f"s{n // 2}",
            "customUser:web_user_id": f"u{n // 4}",
            "customEvent:branch_id": branch,
            "pageLocation": f"https://shop.example/p/{n}",
            "pageTitle": f"Product {n}",
            "screenPageViews": 1,
            "eventCount": 1,
        }
        for n in range(count)
    ]


async def facts(engine: AsyncEngine, tenant_id: uuid.UUID, kind: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT data FROM ingestion.outbox WHERE tenant_id = :t AND kind = :k"
                " ORDER BY created_at, id"
            ),
            {"t": tenant_id, "k": kind},
        )
        return [row[0] for row in rows]
