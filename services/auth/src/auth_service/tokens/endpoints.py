"""OAuth 2.0 token endpoint (RFC 6749 client credentials, RFC 8693 token exchange)."""

import base64
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from auth_service.deps import Keys, Settings
from auth_service.tokens import service
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


class TokenForm(BaseModel):
    """The form fields of the token endpoint (both grants)."""

    grant_type: str = Field(max_length=100)
    client_id: str | None = Field(default=None, max_length=64)
    client_secret: str | None = Field(default=None, max_length=200)
    scope: str | None = Field(default=None, max_length=500)
    subject_token: str | None = Field(default=None, max_length=200)
    subject_token_type: str | None = Field(default=None, max_length=200)


@router.post("/auth/token")
async def token(
    request: Request,
    form: Annotated[TokenForm, Form()],
    session: DbSession,
    keys: Keys,
    settings: Settings,
) -> JSONResponse:
    """Tokens for Meridian services (client_credentials) and tenant machines (API key exchange)."""
    if basic := _basic_credentials(request):
        form.client_id, form.client_secret = basic
    body = await service.issue(session, keys, settings, form)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
