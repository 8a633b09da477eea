"""Provider grants: a tenant admin lets Meridian read Google Analytics; the refresh token is kept
encrypted and turned into fresh access tokens for the services that pull data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import OAuthError
from loguru import logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_service.audit import repository as audit
from auth_service.config import AuthSettings
from auth_service.grants import repository
from auth_service.grants.schemas import AccessTokenOut, GrantOut
from auth_service.models import ProviderGrant
from auth_service.oauth import flow
from auth_service.oauth.providers import ProviderDirectory
from auth_service.oauth.schemas import AuthorizationOut
from common.crypto import SecretBox
from common.errors import BadRequest, Conflict, MeridianError, NotFound, Upstream
from common.security import Principal

# httpx errors are not OSErrors: a provider that is down or answers 5xx raises HTTPError, and
# authlib raises ValueError for a token response that is not a JSON object.
PROVIDER_FAILURES = (AuthlibBaseError, httpx.HTTPError, OSError, ValueError)
OFFLINE_PARAMS = {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}


def _box(settings: AuthSettings) -> SecretBox:
    return SecretBox.from_secret(
        settings.encryption_key.get_secret_value(), purpose="provider-grant"
    )


def _seal(settings: AuthSettings, grant_tenant: uuid.UUID, value: str) -> bytes:
    return _box(settings).encrypt(value.encode(), context=grant_tenant.bytes)


def _open(settings: AuthSettings, grant_tenant: uuid.UUID, blob: bytes) -> str:
    return _box(settings).decrypt(blob, context=grant_tenant.bytes).decode()


def _expiry(token: dict[str, Any]) -> datetime:
    if "expires_at" in token:
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    return datetime.now(UTC) + timedelta(seconds=int(token.get("expires_in", 3600)))


async def begin_connect(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    caller: Principal,
    provider: str,
    redirect_uri: str | None,
) -> AuthorizationOut:
    if provider not in settings.grant_providers:
        raise NotFound(
            f"{provider!r} is not a data source here.", available=settings.grant_providers
        )
    return await flow.begin(
        session,
        directory,
        settings,
        provider_name=provider,
        purpose="grant",
        redirect_uri=redirect_uri,
        scopes=settings.grant_scopes,
        extra_params=OFFLINE_PARAMS,
        tenant_id=caller.require_tenant(),
        user_id=caller.user_id,
    )


async def complete_connect(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    caller: Principal,
    code: str,
    state: str,
) -> GrantOut:
    done = await flow.complete(
        session,
        directory,
        settings,
        code=code,
        state=state,
        purpose="grant",
        scopes=[],
        started_by=(caller.tenant_id, caller.user_id),
    )
    granted = str(done.token.get("scope", " ".join(settings.grant_scopes))).split()
    missing = sorted(set(settings.grant_scopes) - set(granted) - {"openid", "email"})
    if missing:
        # Granular consent lets a person untick a scope; without it the data cannot be read.
        raise BadRequest(
            f"The provider did not grant {' '.join(missing)}; connect again and allow it.",
            type_slug="grant-scope-missing",
        )
    refresh_token = done.token.get("refresh_token")
    if not refresh_token:
        raise BadRequest(
            "The provider gave no refresh token; connect again and grant offline access.",
            type_slug="grant-not-offline",
        )
    tenant_id = caller.require_tenant()
    provider = done.provider.name
    values = {
        "status": "active",
        "scopes": granted,
        "account_email": done.claims.get("email"),
        "refresh_token_enc": _seal(settings, tenant_id, refresh_token),
        "access_token_enc": _seal(settings, tenant_id, done.token["access_token"]),
        "access_expires_at": _expiry(done.token),
        "connected_by": caller.user_id,
        "last_error": None,
    }
    existing = await repository.live(session, tenant_id, provider, lock=True)
    if existing is None:
        grant = await repository.insert(
            session, ProviderGrant(tenant_id=tenant_id, provider=provider, **values)
        )
    else:
        await repository.update_grant(session, existing.id, connected_at=repository.now(), **values)
        await session.refresh(existing)
        grant = existing
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{caller.subject}",
        action="grant.connected",
        target=provider,
        details={"scopes": values["scopes"], "account": values["account_email"]},
    )
    return GrantOut.model_validate(grant)


async def list_grants(session: AsyncSession, caller: Principal) -> list[GrantOut]:
    return [
        GrantOut.model_validate(g)
        for g in await repository.list_for_tenant(session, caller.require_tenant())
    ]


async def disconnect(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    caller: Principal,
    provider: str,
) -> None:
    """Revoke at the provider (best effort) and forget the tokens."""
    tenant_id = caller.require_tenant()
    grant = await repository.live(session, tenant_id, provider, lock=True)
    if grant is None:
        raise NotFound(f"No {provider} connection in this tenant.")
    revoked_upstream = await _revoke_upstream(directory, settings, grant)
    await repository.update_grant(
        session,
        grant.id,
        status="revoked",
        revoked_at=repository.now(),
        refresh_token_enc=None,
        access_token_enc=None,
    )
    await audit.record(
        session,
        tenant_id=tenant_id,
        actor=f"user:{caller.subject}",
        action="grant.disconnected",
        target=provider,
        details={"revoked_at_provider": revoked_upstream},
    )


async def _revoke_upstream(
    directory: ProviderDirectory, settings: AuthSettings, grant: ProviderGrant
) -> bool:
    try:
        endpoints = await directory.get(grant.provider)
    except MeridianError as exc:  # provider gone from settings or its discovery down
        logger.warning("revocation at {} skipped: {}", grant.provider, exc.detail)
        return False
    if not endpoints.revocation_url or grant.refresh_token_enc is None:
        return False
    token = _open(settings, grant.tenant_id, grant.refresh_token_enc)
    async with directory.client(endpoints, "", []) as client:
        try:
            response = await client.revoke_token(
                endpoints.revocation_url, token=token, token_type_hint="refresh_token"
            )
        except PROVIDER_FAILURES as exc:
            logger.warning("revocation at {} failed: {}", grant.provider, type(exc).__name__)
            return False
    return bool(response.status_code == 200)


async def access_token(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    tenant_id: uuid.UUID,
    provider: str,
    *,
    force_refresh: bool = False,
) -> AccessTokenOut:
    """A usable access token for the tenant, refreshed first when it expires within the margin
    (or when the caller says the provider refused the current one)."""
    grant = await repository.live(session, tenant_id, provider, lock=True)
    if grant is None:
        raise NotFound(f"The tenant has not connected {provider}.", type_slug="grant-missing")
    if grant.status == "needs_reconsent":
        raise Conflict(
            f"The {provider} connection needs consent again: {grant.last_error}",
            type_slug="grant-needs-reconsent",
        )
    margin = datetime.now(UTC) + timedelta(minutes=settings.grant_refresh_margin_minutes)
    if (
        force_refresh
        or grant.access_expires_at is None
        or grant.access_expires_at < margin
        or grant.access_token_enc is None
    ):
        await refresh_grant(session, directory, settings, grant)
        await session.refresh(grant)
        if grant.status != "active":
            raise Conflict(
                f"The {provider} connection needs consent again: {grant.last_error}",
                type_slug="grant-needs-reconsent",
                keep_changes=True,
            )
    assert grant.access_token_enc is not None and grant.access_expires_at is not None
    return AccessTokenOut(
        access_token=_open(settings, tenant_id, grant.access_token_enc),
        expires_at=grant.access_expires_at,
        scopes=list(grant.scopes),
    )


async def refresh_grant(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    grant: ProviderGrant,
) -> None:
    """Use the refresh token; ``invalid_grant`` marks the connection as needing re-consent."""
    assert grant.refresh_token_enc is not None
    endpoints = await directory.get(grant.provider)
    refresh_token = _open(settings, grant.tenant_id, grant.refresh_token_enc)
    async with directory.client(endpoints, "", []) as client:
        try:
            token = dict(
                await client.refresh_token(endpoints.token_url, refresh_token=refresh_token)
            )
        except OAuthError as exc:
            if exc.error != "invalid_grant":
                raise Upstream(f"{grant.provider} refused to refresh: {exc.error}") from exc
            await repository.update_grant(
                session,
                grant.id,
                status="needs_reconsent",
                last_error=f"invalid_grant: {exc.description or ''}".strip(),
            )
            await audit.record(
                session,
                tenant_id=grant.tenant_id,
                actor="system",
                action="grant.needs_reconsent",
                target=grant.provider,
            )
            return
        except PROVIDER_FAILURES as exc:
            raise Upstream(f"{grant.provider} could not be reached to refresh the token.") from exc
    values: dict[str, Any] = {
        "access_token_enc": _seal(settings, grant.tenant_id, token["access_token"]),
        "access_expires_at": _expiry(token),
        "last_refreshed_at": repository.now(),
        "last_error": None,
    }
    if token.get("refresh_token"):
        values["refresh_token_enc"] = _seal(settings, grant.tenant_id, token["refresh_token"])
    await repository.update_grant(session, grant.id, **values)


async def refresh_expiring(
    sessionmaker: async_sessionmaker[AsyncSession],
    directory: ProviderDirectory,
    settings: AuthSettings,
) -> dict[str, int]:
    """The hourly job: refresh every active grant expiring within the margin, each in its own
    transaction so one provider's failure does not hold back the others."""
    before = datetime.now(UTC) + timedelta(minutes=settings.grant_refresh_margin_minutes)
    async with sessionmaker() as session:
        ids = await repository.expiring(session, before)
    counts = {"refreshed": 0, "needs_reconsent": 0, "failed": 0}
    for grant_id in ids:
        async with sessionmaker() as session, session.begin():
            grant = await repository.by_id_locked(session, grant_id)
            if grant is None or grant.status != "active":
                continue
            try:
                async with session.begin_nested():
                    await refresh_grant(session, directory, settings, grant)
            except Exception as exc:  # one grant's trouble must not hold back the others
                detail = exc.detail if isinstance(exc, MeridianError) else type(exc).__name__
                logger.warning("grant {} not refreshed: {}", grant_id, detail)
                await repository.update_grant(session, grant_id, last_error=detail)
                counts["failed"] += 1
                continue
            await session.refresh(grant)
            counts["refreshed" if grant.status == "active" else "needs_reconsent"] += 1
    return counts
