"""Helpers of the reports' tests: a real SMTP server's handler (aiosmtpd) that keeps what it
receives, refuses chosen recipients and checks the login."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

# Runs a send job (as the API answered it) as the worker would, once: its outcome. Keyword
# arguments change the settings it runs with.
SendJob = Callable[..., Awaitable[str]]
SMTP_USER, SMTP_PASSWORD = "reports@shop.example.com", "pa55-W0rd-never-shown"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class MailServer:
    """What the server received, and the recipients it refuses (address -> SMTP reply)."""

    port: int
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(), SMTP_PASSWORD.encode()
        )  # fmt: skip
        self.logins.append(f"{mechanism}:{'ok' if ok else 'refused'}")
        return AuthResult(success=ok, handled=ok)  # not handled: aiosmtpd answers 535

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.recipients]


def smtp_body(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from_address": "reports@shop.example.com",
        "tls_mode": "none",
        **overrides,
    }
