"""OAuth 2.0 token endpoint (RFC 6749 client credentials, RFC 8693 token exchange)."""

import base64
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from auth_service.clients import service
from auth_service.deps import Keys, Settings
from common.db import DbSession
from common.errors import BadRequest

router = APIRouter(tags=["tokens"])


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """HTTP Basic client authentication: id and secret form-urlencoded, then base64 (RFC 6749
    2.3.1)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError and non-ASCII input
        raise BadRequest(
            "Malformed Basic credentials.",
            type_slug="oauth-invalid-request",
            error="invalid_request",
        ) from exc
    return unquote_plus(client_id), unquote_plus(secret)


@router.post("/auth/token")
async def token(
    request: Request,
    session: DbSession,
    keys: Keys,
    settings: Settings,
    grant_type: Annotated[str, Form(max_length=100)],
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
    scope: Annotated[str | None, Form(max_length=500)] = None,
    subject_token: Annotated[str | None, Form(max_length=200)] = None,
    subject_token_type: Annotated[str | None, Form(max_length=200)] = None,
) -> JSONResponse:
    """Tokens for Meridian services (client_credentials) and tenant machines (API key exchange)."""
    body: dict[str, Any]
    if grant_type == "client_credentials":
        basic = _basic_credentials(request)
        cid, secret = basic or (client_id or "", client_secret or "")
        body = await service.client_credentials(session, keys, settings, cid, secret, scope)
    elif grant_type == service.TOKEN_EXCHANGE:
        body = await service.exchange_api_key(
            session, keys, settings, subject_token or "", subject_token_type or ""
        )
    else:
        raise BadRequest(
            f"grant_type {grant_type!r} is not supported.",
            type_slug="oauth-unsupported-grant-type",
            error="unsupported_grant_type",
        )
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
