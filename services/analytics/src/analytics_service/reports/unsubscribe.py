"""Signed unsubscribe links: the tenant and address with an HMAC only Meridian can make, so a
link works without a login and cannot be forged for another address or tenant."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import urlencode

PATH = "/analytics/email/unsubscribe"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"analytics-unsubscribe", hashlib.sha256).digest()


def signature(secret: str, tenant_id: uuid.UUID, email: str) -> str:
    message = f"{tenant_id}\n{email.lower()}".encode()
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def is_valid(secret: str, tenant_id: uuid.UUID, email: str, given: str) -> bool:
    return hmac.compare_digest(signature(secret, tenant_id, email), given)


def url(public_url: str, secret: str, tenant_id: uuid.UUID, email: str) -> str:
    query = {"tenant_id": str(tenant_id), "email": email.lower()}
    query["signature"] = signature(secret, tenant_id, email)
    return f"{public_url.rstrip('/')}{PATH}?{urlencode(query)}"
