"""``ingestion.uuid3``, called directly: the fact ids of uploaded rows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # RFC 9562's URL namespace


@pytest.mark.parametrize(
    "name",
    [
        "",
        "https://meridian.dev/",
        "0b1f6c52-9d3e-4f7a-8c21-5e4d3a2b1c90/purchases_raw/ab01/1",
        "Zürich, 東京 🎮",
    ],
)
async def test_uuid3_is_pythons_uuid3(conn: AsyncConnection, name: str) -> None:
    found = await conn.scalar(
        text("SELECT ingestion.uuid3(:ns, :name)"), {"ns": NAMESPACE, "name": name}
    )
    assert found == uuid.uuid3(NAMESPACE, name)


async def test_uuid3_of_the_rfcs_example(conn: AsyncConnection) -> None:
    """RFC 9562, appendix A.2: the DNS namespace and www.example.com."""
    dns = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    found = await conn.scalar(text("SELECT ingestion.uuid3(:ns, 'www.example.com')"), {"ns": dns})
    assert found == uuid.UUID("5df41881-3aed-3515-88a7-2f4a814cf09e")
