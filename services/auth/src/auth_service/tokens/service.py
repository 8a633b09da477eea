"""The token endpoint: client credentials for services, API key exchange for tenant machines."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.apikeys import service as apikeys
from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.tokens import repository
from common.config import DEV_PLACEHOLDER
from common.crypto import constant_time_equal, token_hash
from common.errors import BadRequest, Unauthorized

API_KEY_TOKEN_TYPE = "urn:meridian:params:oauth:token-type:api-key"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


async def register_service_clients(session: AsyncSession, settings: AuthSettings) -> None:
    """Store every known service's client (secret hashed); outside development a service with no
    configured secret gets no client."""
    registered = []
    for client_id, scopes in settings.service_clients.items():
        secret = settings.service_client_secrets.get(client_id)
        if secret is None:
            if not settings.is_development:
                logger.warning("service client {} has no secret configured; skipped", client_id)
                continue
            value = DEV_PLACEHOLDER
        else:
            value = secret.get_secret_value()
        await repository.upsert(session, client_id, token_hash(value), scopes)
        registered.append(client_id)
    await repository.delete_others(session, registered)


class TokenRequest(Protocol):
    grant_type: str
    client_id: str | None
    client_secret: str | None
    scope: str | None
    subject_token: str | None
    subject_token_type: str | None


async def issue(
    session: AsyncSession, keyring: KeyRing, settings: AuthSettings, form: TokenRequest
) -> dict[str, object]:
    """One token request, by its grant type."""
    if form.grant_type == "client_credentials":
        return await client_credentials(
            session, keyring, settings, form.client_id or "", form.client_secret or "", form.scope
        )
    if form.grant_type == TOKEN_EXCHANGE:
        return await exchange_api_key(
            session, keyring, settings, form.subject_token or "", form.subject_token_type or ""
        )
    raise BadRequest(
        f"grant_type {form.grant_type!r} is not supported.",
        type_slug="oauth-unsupported-grant-type",
        error="unsupported_grant_type",
    )


def _oauth_error(status: int, error: str, description: str) -> Exception:
    kind = Unauthorized if status == 401 else BadRequest
    return kind(
        description,
        type_slug=f"oauth-{error.replace('_', '-')}",
        error=error,
        error_description=description,
    )


async def client_credentials(
    session: AsyncSession,
    keyring: KeyRing,
    settings: AuthSettings,
    client_id: str,
    secret: str,
    scope: str | None,
) -> dict[str, object]:
    client = await repository.get(session, client_id)
    if client is None or not constant_time_equal(client.secret_hash, token_hash(secret)):
        raise _oauth_error(401, "invalid_client", "Unknown client or wrong secret.")
    granted = set(client.scopes)
    if scope:
        asked = set(scope.split())
        if not asked <= granted:
            raise _oauth_error(
                400, "invalid_scope", f"Not granted: {' '.join(sorted(asked - granted))}."
            )
        granted = asked
    token, expires_in = await keyring.sign(
        {"sub": f"service:{client_id}", "typ": "service", "scope": " ".join(sorted(granted))},
        timedelta(minutes=settings.service_token_minutes),
    )
    return _token_response(token, expires_in, granted)


async def exchange_api_key(
    session: AsyncSession,
    keyring: KeyRing,
    settings: AuthSettings,
    subject_token: str,
    token_type: str,
) -> dict[str, object]:
    if token_type != API_KEY_TOKEN_TYPE:
        raise _oauth_error(
            400, "invalid_request", f"subject_token_type must be {API_KEY_TOKEN_TYPE}."
        )
    found = await apikeys.introspect(session, subject_token)
    if not found.active:
        raise _oauth_error(400, "invalid_grant", "The API key is unknown, expired or revoked.")
    token, expires_in = await keyring.sign(
        {
            "sub": f"apikey:{found.key_id}",
            "tid": str(found.tenant_id),
            "typ": "machine",
            "scope": " ".join(found.scopes),
        },
        timedelta(minutes=settings.machine_token_minutes),
    )
    body = _token_response(token, expires_in, set(found.scopes))
    body["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
    return body


def _token_response(token: str, expires_in: int, scopes: set[str]) -> dict[str, object]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": " ".join(sorted(scopes)),
    }
