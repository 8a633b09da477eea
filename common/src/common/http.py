"""HTTP between services: one pooled httpx client per process, timeouts, bounded retries."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
from loguru import logger

from common.config import ServiceSettings
from common.context import request_id_var
from common.errors import Unavailable, Upstream

RETRYABLE_STATUS = {502, 503, 504}


class HttpClients:
    """The process's outbound HTTP client and its service token (client credentials at auth)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=3.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"User-Agent": f"meridian-{settings.service_name}"},
        )
        self._service_token: str | None = None
        self._service_token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        retries: int = 2,
        auth_as_service: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with bounded retries on connection errors and 502/503/504 (exponential backoff)."""
        headers = dict(kwargs.pop("headers", None) or {})
        if rid := request_id_var.get():
            headers.setdefault("X-Request-Id", rid)
        for attempt in range(retries + 1):
            if auth_as_service:
                headers["Authorization"] = f"Bearer {await self.service_token()}"
            try:
                response = await self.client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt == retries:
                    raise Unavailable(f"{url} is unreachable: {type(exc).__name__}") from exc
            else:
                if response.status_code not in RETRYABLE_STATUS or attempt == retries:
                    return response
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))  # noqa: S311
        raise AssertionError("unreachable")

    async def service_token(self) -> str:
        """A client-credentials token for this service, renewed a minute before it expires."""
        if self._service_token and time.monotonic() < self._service_token_expires - 60:
            return self._service_token
        async with self._token_lock:
            if self._service_token and time.monotonic() < self._service_token_expires - 60:
                return self._service_token
            response = await self.request(
                "POST",
                f"{self.settings.auth_url}/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.settings.service_name,
                    "client_secret": self.settings.service_client_secret.get_secret_value(),
                },
            )
            if response.status_code != 200:
                logger.error("service token refused by auth: {}", response.status_code)
                raise Upstream("auth refused this service's client credentials")
            body = response.json()
            self._service_token = str(body["access_token"])
            self._service_token_expires = time.monotonic() + float(body["expires_in"])
            return self._service_token
