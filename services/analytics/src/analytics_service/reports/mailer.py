"""Mail out through a tenant's SMTP server (aiosmtplib): the server's settings with the password
decrypted, messages of an HTML and a plain-text part, and one connection per batch, made to an
address the SMTP destination policy allows (destinations.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib
from sqlalchemy import Row

from analytics_service.reports.destinations import SmtpPolicy, open_socket, resolve
from common.crypto import SecretBox


def secret_box(secret: str) -> SecretBox:
    return SecretBox.from_secret(secret, purpose="analytics-smtp-password")


def seal_password(box: SecretBox, tenant_id: uuid.UUID, password: str) -> bytes:
    """The tenant id is the context: a ciphertext copied to another tenant does not decrypt."""
    return box.encrypt(password.encode(), context=tenant_id.bytes)


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    from_address: str
    tls_mode: str
    password: str | None = field(default=None, repr=False)  # never in a log line

    @classmethod
    def from_row(cls, row: Row[Any], box: SecretBox) -> SmtpServer:
        password = None
        if row.password_cipher is not None:
            password = box.decrypt(row.password_cipher, context=row.tenant_id.bytes).decode()
        return cls(row.host, row.port, row.username, row.from_address, row.tls_mode, password)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def build_message(sender: str, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


@asynccontextmanager
async def connected(
    server: SmtpServer, seconds: float, policy: SmtpPolicy
) -> AsyncIterator[aiosmtplib.SMTP]:
    """A logged-in connection (TLS as the settings say), closed afterwards. The host is resolved
    now and each address checked (DestinationDenied); the socket goes to a checked address, and
    TLS still verifies the certificate against the host's name."""
    addresses = await resolve(policy, server.host, server.port, seconds)
    sock = await open_socket(addresses, server.port, seconds)
    client = aiosmtplib.SMTP(
        hostname=server.host,
        sock=sock,
        use_tls=server.tls_mode == "tls",
        start_tls=server.tls_mode == "starttls",
        timeout=seconds,  # each SMTP command's
    )
    try:
        await client.connect()
    except BaseException:
        sock.close()
        raise
    try:
        if server.username and server.password is not None:
            await client.login(server.username, server.password)
        yield client
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer (unknown mailbox, refused) will not change on a retry; the rest may."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return all(500 <= r.code < 600 for r in exc.recipients)
    code = getattr(exc, "code", None)
    return isinstance(code, int) and 500 <= code < 600


def describe(exc: Exception) -> str:
    """What the server said (never the credentials: aiosmtplib's errors hold none)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients)[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]
