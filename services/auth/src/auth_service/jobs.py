"""Auth's background work: hourly grant refresh, key rotation, clean-up of spent state."""

from __future__ import annotations

from datetime import timedelta

import httpx
from loguru import logger

from auth_service.config import AuthSettings, get_settings
from auth_service.grants.service import refresh_expiring
from auth_service.keys import repository as keys_repository
from auth_service.keys.service import KeyRing
from auth_service.oauth import repository as oauth_repository
from auth_service.oauth.providers import ProviderDirectory
from auth_service.sessions import repository as sessions_repository
from common.db import Database
from common.jobs import JobSet, jobs_router, worker_main

jobset = JobSet(service="auth")
router = jobs_router("auth", prefix="/auth/jobs")


class Resources:
    """What the jobs share in one worker process."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self.database = Database.from_settings(settings)
        self.http = httpx.AsyncClient(timeout=10.0)
        self.directory = ProviderDirectory(settings, self.http)
        self.keyring = KeyRing(settings, self.database.sessionmaker)


_resources: Resources | None = None


def resources() -> Resources:
    global _resources
    if _resources is None:
        _resources = Resources(get_settings())
    return _resources


@jobset.cron("auth.refresh_grants", "0 * * * *")
async def refresh_grants() -> None:
    """Hourly: refresh provider access tokens that expire within the margin."""
    res = resources()
    counts = await refresh_expiring(res.database.sessionmaker, res.directory, res.settings)
    logger.info("grant refresh: {}", counts)


@jobset.cron("auth.rotate_signing_key", "15 3 * * *")
async def rotate_signing_key() -> None:
    """Daily check: rotate the signing key once it is older than the rotation period."""
    res = resources()
    async with res.database.sessionmaker() as session, session.begin():
        age = await keys_repository.newest_key_age(session)
        if age is None or age >= timedelta(days=res.settings.signing_key_rotation_days):
            kid = await res.keyring.rotate(session)
            logger.info("signing key rotated; signing with {} after its pre-publication", kid)


@jobset.cron("auth.clean_up", "30 2 * * *")
async def clean_up() -> None:
    """Daily 02:30: forget spent sign-in states and long-dead refresh tokens."""
    res = resources()
    async with res.database.sessionmaker() as session, session.begin():
        states = await oauth_repository.delete_expired_states(session)
        tokens = await sessions_repository.delete_dead(session)
    logger.info("clean-up: {} sign-in states, {} refresh tokens", states, tokens)


def main() -> None:
    worker_main(jobset, get_settings())


if __name__ == "__main__":
    main()
