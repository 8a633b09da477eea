"""Helpers of the auth tests (importable by name: the tests folder is on pytest's path)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from auth_service.config import AuthSettings
from auth_service.sessions import service as sessions
from auth_service.tenants import repository as tenants
from common.db import Database

TEST_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef"


def make_settings(database_url: str, **overrides: object) -> AuthSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "log_to_files": False,
        "encryption_key": TEST_ENCRYPTION_KEY,
        "oauth_redirect_uris": ["http://localhost:3000/oauth/callback"],
        **overrides,
    }
    return AuthSettings(**values)  # type: ignore[arg-type]


def process_env(settings: AuthSettings, port: int) -> dict[str, str]:
    """Environment of an auth process on loopback over the test database, with no outside
    sign-in provider whatever a developer's .env says."""
    return {
        "AUTH_DATABASE_URL": settings.database_url or "",
        "AUTH_PORT": str(port),
        "AUTH_ENVIRONMENT": "test",
        "AUTH_LOG_TO_FILES": "false",
        "AUTH_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "AUTH_OAUTH_PROVIDERS": "{}",
        "AUTH_GOOGLE_CLIENT_ID": "",
        "AUTH_GOOGLE_CLIENT_SECRET": "",
    }


@dataclass
class Member:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class People:
    """Makes users and tenants directly through the repositories, signed in through the keyring."""

    client: httpx.AsyncClient
    database: Database
    settings: AuthSettings

    async def tenant_owner(self, email: str | None = None, tenant_name: str = "Acme") -> Member:
        async with self.database.sessionmaker() as session, session.begin():
            tenant = await tenants.create_tenant(session, tenant_name)
        return await self.member(tenant.id, "owner", email)

    async def member(self, tenant_id: uuid.UUID, role: str, email: str | None = None) -> Member:
        email = email or f"{uuid.uuid4().hex[:10]}@example.com"
        keyring = self.client.app.state.keyring  # type: ignore[attr-defined]
        async with self.database.sessionmaker() as session, session.begin():
            user = await tenants.user_by_email(session, email) or await tenants.create_user(
                session, email, email.split("@")[0]
            )
            await tenants.add_membership(session, tenant_id, user.id, role)
            pair = await sessions.open_session(
                session, keyring, self.settings, user_id=user.id, tenant_id=tenant_id, role=role
            )
        return Member(user.id, tenant_id, email, role, pair.access_token, pair.refresh_token)
