"""Google access tokens of a tenant's grant, from auth's internal endpoint (auth keeps the refresh
token and refreshes ahead of expiry); cached here until a minute before they expire."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from common.http import HttpClients

PROVIDER = "google"


class GrantProblem(Exception):
    """The tenant's Google grant cannot give a token: ``needs_reconsent`` or ``missing``, or
    auth could not be asked (``unavailable``)."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


@dataclass
class GrantTokens:
    http: HttpClients
    _cache: dict[uuid.UUID, tuple[str, float]] = field(default_factory=dict)

    async def get(self, tenant_id: uuid.UUID, *, refused: bool = False) -> str:
        """The tenant's access token; ``refused``: Google refused the last one, so auth must
        refresh (which is how a withdrawn consent comes to light)."""
        cached = self._cache.get(tenant_id)
        if cached and not refused and time.time() < cached[1] - 60:
            return cached[0]
        self._cache.pop(tenant_id, None)
        url = f"{self.http.settings.auth_url}/internal/grants/{tenant_id}/{PROVIDER}/access-token"
        params = {"refresh": "true"} if refused else None
        try:
            response = await self.http.request("POST", url, auth_as_service=True, params=params)
        except Exception as exc:
            raise GrantProblem(
                "unavailable", f"auth could not be asked for a token: {exc}"
            ) from exc
        body = _json_object(response)
        token = body.get("access_token")
        if response.status_code == 200 and isinstance(token, str) and token:
            self._cache[tenant_id] = (token, _timestamp(body.get("expires_at")))
            return token
        detail = str(body.get("detail") or response.text)[:500]
        if response.status_code == 409:
            raise GrantProblem("needs_reconsent", detail)
        if response.status_code == 404:
            raise GrantProblem(
                "missing",
                "Google Analytics is not connected: an admin connects it with"
                " POST /auth/grants/google/connect.",
            )
        raise GrantProblem("unavailable", f"auth answered {response.status_code}: {detail}")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; {} for anything else (a proxy's HTML page, say)."""
    try:
        body = response.json() if response.content else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _timestamp(value: object) -> float:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return time.time() + 300
