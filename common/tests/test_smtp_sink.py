"""The development SMTP sink keeps each message it receives as a file."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from common.testing.servers import free_port
from common.testing.smtp_sink import sink


async def test_a_sent_message_lands_as_an_eml_file(tmp_path: Path) -> None:
    port = free_port()
    controller = sink(tmp_path / "mail", port)
    controller.start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.test", "b@y.test", "Hello"
        message.set_content("report body")
        await aiosmtplib.send(
            message, hostname="127.0.0.1", port=port, username="u", password="p", start_tls=False
        )
    finally:
        controller.stop()
    [kept] = list((tmp_path / "mail").glob("*.eml"))
    text = kept.read_text()
    assert "Subject: Hello" in text
    assert "report body" in text
