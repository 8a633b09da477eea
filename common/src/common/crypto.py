"""Secrets at rest: AES-256-GCM for what must be read back, SHA-256 for high-entropy tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"


class SecretBox:
    """Encrypts small secrets (provider refresh tokens, private keys, SMTP passwords)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("SecretBox needs a 32-byte key")
        self._aead = AESGCM(key)

    @classmethod
    def from_secret(cls, secret: str, *, purpose: str) -> SecretBox:
        """Derive a key for one purpose from a configured secret (HKDF-SHA256)."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return cls(hkdf.derive(secret.encode()))

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> bytes:
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], context)
        except InvalidTag as exc:
            raise ValueError("ciphertext does not decrypt with this key") from exc


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random token, optionally with a readable prefix (``mk_``, ``rt_``)."""
    return prefix + secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Hash of a high-entropy token for lookup at rest (no salt needed: tokens are random)."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
