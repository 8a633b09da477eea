"""Signing keys (ES256, rotated, old public keys published until their tokens expire) and
the tokens Meridian issues with them."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from loguru import logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_service.config import AuthSettings
from auth_service.keys import repository
from auth_service.models import SigningKey
from common.crypto import SecretBox

ALG = "ES256"
REFRESH_SECONDS = 30
# A new key is published this long before it signs, so every replica (which rereads its keys
# every REFRESH_SECONDS) and every verifier (which refetches JWKS for an unknown kid) has it first.
PREPUBLISH = timedelta(seconds=2 * REFRESH_SECONDS)


class KeyRing:
    """The active private key and the published public keys, held in memory.

    Loaded at start and reread every ``REFRESH_SECONDS`` by a background task, never on a
    request's path: a request that holds a pooled connection must not need a second one (under
    load that would exhaust the pool). Only right after this process rotated does the next use
    reload.
    """

    def __init__(
        self, settings: AuthSettings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        self.settings = settings
        self._sessionmaker = sessionmaker
        self._box = SecretBox.from_secret(
            settings.encryption_key.get_secret_value(), purpose="signing-key"
        )
        self._signing: tuple[str, ECKey] | None = None
        self._key_set = KeySet([])
        self._kids: set[str] = set()
        self._stale = True
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Reread the keys (creating the first one if there is none)."""
        async with self._lock:
            await self._reload()

    async def keep_fresh(self) -> None:
        """The background task: reread the keys every REFRESH_SECONDS until cancelled."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except Exception:  # a database hiccup: keep the keys we have, try again later
                logger.exception("signing keys not reread; keeping the current ones")

    async def _load(self) -> None:
        if self._stale:
            await self.refresh()

    async def _reload(self) -> None:
        async with self._sessionmaker() as session, session.begin():
            row = await repository.active_key(session)
            if row is None:
                await repository.lock_for_rotation(session)
                row = await repository.active_key(session) or await self._create(session)
            published = await repository.published_keys(session)
        private = self._box.decrypt(row.private_key_enc, context=row.kid.encode())
        self._signing = (row.kid, ECKey.import_key(private.decode()))
        self._key_set = KeySet.import_key_set({"keys": published})
        self._kids = {str(key.get("kid")) for key in published}
        self._stale = False

    async def _create(
        self, session: AsyncSession, activates_at: datetime | None = None
    ) -> SigningKey:
        kid = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": ALG, "use": "sig"})
        pem = key.as_pem(private=True)
        row = SigningKey(
            kid=kid,
            alg=ALG,
            public_jwk=key.as_dict(private=False),
            private_key_enc=self._box.encrypt(pem, context=kid.encode()),
            activates_at=activates_at or datetime.now(UTC),
        )
        await repository.insert_key(session, row)
        return row

    async def rotate(self, session: AsyncSession, *, prepublish: timedelta = PREPUBLISH) -> str:
        """Publish a new key now and sign with it after ``prepublish``; the old key signs until
        then and stays published until every token it signed has expired."""
        await repository.lock_for_rotation(session)
        longest = max(
            self.settings.access_token_minutes,
            self.settings.jwt_ttl_min,
            self.settings.service_token_minutes,
            self.settings.machine_token_minutes,
        )
        switch_at = datetime.now(UTC) + prepublish
        await repository.retire_current(
            session,
            retired_at=switch_at,
            publish_until=switch_at + timedelta(minutes=longest + 5),
        )
        row = await self._create(session, activates_at=switch_at)
        self._stale = True
        return row.kid

    async def jwks(self) -> dict[str, Any]:
        """Read fresh from the database: consumers cache it, and a rotation shows at once."""
        async with self._sessionmaker() as session, session.begin():
            return {"keys": await repository.published_keys(session)}

    async def key_set(self, kid: str) -> KeySet | None:
        """The verifier's view (auth verifies its own tokens without HTTP)."""
        await self._load()
        return self._key_set if kid in self._kids else None

    async def sign(self, claims: dict[str, Any], ttl: timedelta) -> tuple[str, int]:
        """A signed JWT with standard claims added; returns it and its lifetime in seconds."""
        await self._load()
        assert self._signing is not None
        kid, key = self._signing
        now = int(time.time())
        seconds = int(ttl.total_seconds())
        body = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode({"alg": ALG, "kid": kid, "typ": "JWT"}, body, key), seconds
