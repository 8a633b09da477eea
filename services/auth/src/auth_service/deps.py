"""Dependencies of the auth service's endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing


async def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


async def _settings(request: Request) -> AuthSettings:
    settings: AuthSettings = request.app.state.settings
    return settings


async def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


Keys = Annotated[KeyRing, Depends(_keyring)]
Settings = Annotated[AuthSettings, Depends(_settings)]
ClientIp = Annotated[str | None, Depends(_client_ip)]
