"""A local SMTP server that keeps every message it receives as a ``.eml`` file, for development
(``make run`` starts it on :8025 so sent reports can be read under ``var/mail``) and tests.

``python -m common.testing.smtp_sink --port 8025 --dir var/mail``. It accepts any sender,
recipient and login; never for anything but a developer's machine.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, Session


class MailDir:
    """aiosmtpd handler: each message becomes ``<time>-<id>.eml`` in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        (self.folder / name).write_bytes(content)
        return "250 Message accepted for delivery"


def accept_any_login(*_: Any) -> AuthResult:
    return AuthResult(success=True)


def sink(folder: Path, port: int) -> Controller:
    """A started-on-demand controller (``.start()`` / ``.stop()``) on 127.0.0.1."""
    return Controller(
        MailDir(folder),
        hostname="127.0.0.1",
        port=port,
        authenticator=accept_any_login,
        auth_require_tls=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = sink(args.dir, args.port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
