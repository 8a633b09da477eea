"""What the auth API fuzz test runs against: committed data a real auth process can see, the
schemathesis configuration and the checks that state the bar (a clear 4xx for bad input, never
a 500, answers as the OpenAPI document says)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import schemathesis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.apikeys import service as apikeys
from auth_service.apikeys.schemas import ApiKeyIn
from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.models import ApiKey, AuditEvent, Invitation, Membership, Tenant, UserAccount
from auth_service.sessions import service as sessions
from common.config import DEV_PLACEHOLDER
from common.crypto import token_hash
from common.db import Database
from common.security import Principal
from common.testing.fuzz import fuzz_config

# Same inputs, same run: every operation draws its cases from this seed, derandomized.
SEED = 20_261_122


_NAMESPACE = uuid.UUID("6f0c3d0e-5a7e-4c1b-9a55-2f3e8d1c4b70")


def _fixed(name: str) -> uuid.UUID:
    """Ids fixed in advance, so that the generated requests are the same on every run."""
    return uuid.uuid5(_NAMESPACE, name)


TENANT_ID = _fixed("tenant")
OWNER_ID = _fixed("owner")
MEMBER_ID = _fixed("viewer")
INVITATION_ID = _fixed("invitation")
SPARE_KEY_ID = _fixed("spare key")
USER_IDS = (OWNER_ID, MEMBER_ID)


@dataclass
class FuzzWorld:
    """Credentials in the committed tenant: the owner's token (sent to the tenant routes), its
    game key (player logins) and the ingestion service's token (the internal routes)."""

    owner_token: str
    game_key: str
    service_token: str = ""

    def headers_for(self, path: str) -> dict[str, str]:
        if path == "/auth/players/login":
            return {"X-Game-Key": self.game_key}
        if path.startswith("/internal/"):
            return {"Authorization": f"Bearer {self.service_token}"}
        return {"Authorization": f"Bearer {self.owner_token}"}


async def seed_world(settings: AuthSettings, engine: AsyncEngine) -> FuzzWorld:
    """Commit a tenant with its owner, a viewer, an open invitation, a game key and a spare
    server key, under the fixed ids the fuzzer may pick, so that routes get past "no such ..."
    into their rules."""
    database = Database(engine)
    keyring = KeyRing(settings, database.sessionmaker)
    async with database.sessionmaker() as session, session.begin():
        session.add(Tenant(id=TENANT_ID, name="fuzz"))
        session.add(UserAccount(id=OWNER_ID, email="fuzz-owner@example.com", name="owner"))
        session.add(UserAccount(id=MEMBER_ID, email="fuzz-viewer@example.com", name="viewer"))
        await session.flush()
        session.add(Membership(tenant_id=TENANT_ID, user_id=OWNER_ID, role="owner"))
        session.add(Membership(tenant_id=TENANT_ID, user_id=MEMBER_ID, role="viewer"))
        session.add(
            Invitation(
                id=INVITATION_ID,
                tenant_id=TENANT_ID,
                email="fuzz-invited@example.com",
                role="analyst",
                invited_by=OWNER_ID,
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
        session.add(
            ApiKey(
                id=SPARE_KEY_ID,
                tenant_id=TENANT_ID,
                name="fuzz spare",
                kind="server",
                prefix="mk_fuzzspare",
                secret_hash=token_hash("mk_fuzzspare_never-handed-out"),
                scopes=["events:read"],
            )
        )
        await session.flush()
        caller = Principal(kind="user", subject=str(OWNER_ID), tenant_id=TENANT_ID, role="owner")
        game = await apikeys.create(session, caller, ApiKeyIn(name="fuzz game", kind="game"))
        pair = await sessions.open_session(
            session, keyring, settings, user_id=OWNER_ID, tenant_id=TENANT_ID, role="owner"
        )
    return FuzzWorld(owner_token=pair.access_token, game_key=game.api_key)


async def service_token(auth_url: str) -> str:
    """A client-credentials token of the ingestion service, for the /internal operations."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{auth_url}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ingestion",
                "client_secret": DEV_PLACEHOLDER,
            },
        )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def remove_world(engine: AsyncEngine) -> None:
    """Drop the tenants the fuzz users belong to (the fuzzer creates some), their audit trail
    and the users, so that nothing the fuzzer invited or created is seen by later tests."""
    database = Database(engine)
    async with database.sessionmaker() as session, session.begin():
        owned = select(Membership.tenant_id).where(Membership.user_id.in_(USER_IDS))
        tenant_ids = {TENANT_ID, *(await session.scalars(owned))}
        await session.execute(delete(AuditEvent).where(AuditEvent.tenant_id.in_(tenant_ids)))
        await session.execute(delete(Tenant).where(Tenant.id.in_(tenant_ids)))
        await session.execute(delete(UserAccount).where(UserAccount.id.in_(USER_IDS)))


def auth_fuzz_config() -> schemathesis.Config:
    """Seeded and derandomized, no example database on disk; path ids sometimes name the
    committed tenant, member, invitation and key. The owner's own id is not among them: the
    fuzzer may change or remove the viewer, revoke the spare key and withdraw the invitation
    (later cases then meet a 404), but never demotes or removes the caller."""
    known = {
        "tenants": TENANT_ID,
        "members": MEMBER_ID,
        "invitations": INVITATION_ID,
        "keys": SPARE_KEY_ID,
    }
    return fuzz_config(
        SEED,
        dictionaries={name: {"values": [str(value)]} for name, value in known.items()},
        parameters={
            "path.tenant_id": {"dictionary": "tenants", "probability": 0.8},
            "path.user_id": {"dictionary": "members", "probability": 0.5},
            "path.invitation_id": {"dictionary": "invitations", "probability": 0.5},
            "path.key_id": {"dictionary": "keys", "probability": 0.5},
        },
    )
