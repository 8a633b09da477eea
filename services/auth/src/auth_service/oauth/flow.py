"""The browserless authorization code flow shared by sign-in and provider grants:
state, nonce and PKCE kept server-side; the code exchanged through authlib."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.config import AuthSettings
from auth_service.models import OAuthState
from auth_service.oauth import repository
from auth_service.oauth.providers import ProviderDirectory, ProviderEndpoints, provider_error
from auth_service.oauth.schemas import AuthorizationOut
from common.crypto import SecretBox, token_hash
from common.errors import BadRequest, Upstream


@dataclass
class CompletedFlow:
    provider: ProviderEndpoints
    state: OAuthState
    token: dict[str, Any]
    claims: dict[str, Any]


def _box(settings: AuthSettings) -> SecretBox:
    return SecretBox.from_secret(settings.encryption_key.get_secret_value(), purpose="oauth-state")


async def begin(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    *,
    provider_name: str,
    purpose: str,
    redirect_uri: str | None,
    scopes: list[str],
    extra_params: dict[str, str] | None = None,
    tenant_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> AuthorizationOut:
    redirect = redirect_uri or settings.oauth_redirect_uris[0]
    if redirect not in settings.oauth_redirect_uris:
        raise BadRequest("redirect_uri is not one of the registered redirect URIs.")
    provider = await directory.get(provider_name)
    state, nonce, verifier = (
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(24),
        secrets.token_urlsafe(48),
    )
    flow_secret = secrets.token_urlsafe(24) if purpose == "login" else None
    expires_at = datetime.now(UTC) + timedelta(minutes=settings.oauth_state_minutes)
    await repository.insert_state(
        session,
        OAuthState(
            state_hash=token_hash(state),
            provider=provider_name,
            purpose=purpose,
            nonce=nonce,
            binding_hash=token_hash(flow_secret) if flow_secret else None,
            code_verifier_enc=_box(settings).encrypt(verifier.encode(), context=state.encode()),
            redirect_uri=redirect,
            tenant_id=tenant_id,
            user_id=user_id,
            expires_at=expires_at,
        ),
    )
    client = directory.client(provider, redirect, scopes)
    url, _ = client.create_authorization_url(
        provider.authorize_url,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
        **(extra_params or {}),
    )
    return AuthorizationOut(
        authorization_url=url,
        state=state,
        expires_at=expires_at,
        provider=provider_name,
        flow_secret=flow_secret,
    )


async def complete(
    session: AsyncSession,
    directory: ProviderDirectory,
    settings: AuthSettings,
    *,
    code: str,
    state: str,
    purpose: str,
    scopes: list[str],
    started_by: tuple[uuid.UUID | None, uuid.UUID | None] = (None, None),
    flow_secret: str | None = None,
) -> CompletedFlow:
    """Consume the state, exchange the code, and validate the ID token (or read userinfo).

    ``started_by`` (tenant, user) must match who began the flow, checked before the code is spent.
    """
    binding = token_hash(flow_secret) if flow_secret else None
    pending = await repository.consume_state(session, token_hash(state), purpose, binding)
    if pending is None:
        raise BadRequest(
            "The state is unknown, expired, already used or was started in another browser;"
            " start the sign-in again.",
            type_slug="oauth-state-invalid",
        )
    if (pending.tenant_id, pending.user_id) != started_by:
        raise BadRequest("This authorization was started by another user or tenant.")
    provider = await directory.get(pending.provider)
    verifier = _box(settings).decrypt(pending.code_verifier_enc, context=state.encode()).decode()
    async with directory.client(provider, pending.redirect_uri, scopes) as client:
        try:
            token = dict(
                await client.fetch_token(provider.token_url, code=code, code_verifier=verifier)
            )
        except AuthlibBaseError as exc:
            raise provider_error(exc) from exc
        except (httpx.HTTPError, ValueError) as exc:  # down, 5xx or not JSON: not the code's fault
            raise Upstream(
                f"The provider could not exchange the code: {type(exc).__name__}."
            ) from exc
    if provider.config.kind == "oidc":
        if "id_token" not in token:
            raise BadRequest("The provider sent no ID token.", type_slug="id-token-invalid")
        claims = await directory.validate_id_token(provider, token["id_token"], pending.nonce)
    else:
        info = await directory.userinfo(provider, token["access_token"])
        cfg = provider.config
        claims = {
            "sub": str(info.get(cfg.subject_field, "")),
            "email": info.get(cfg.email_field),
            "name": info.get(cfg.name_field),
            # Plain OAuth 2.0 says nothing of verification: trusted only when configured so.
            "email_verified": cfg.trust_email,
        }
        if not claims["sub"]:
            raise BadRequest(
                "The provider's userinfo has no subject.", type_slug="userinfo-invalid"
            )
    return CompletedFlow(provider=provider, state=pending, token=token, claims=claims)
