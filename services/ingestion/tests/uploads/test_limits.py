"""The upload's own size limit (here 300 bytes): the app's default body limit does not apply."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from ingestion_service.config import IngestionSettings
from ingestion_testing import Callers
from uploads_testing import CSV, counts, csv_file, upload

LIMIT = 300
ROW = "2025-10-25T09:00:00Z,p-1,session_start"


@pytest.fixture
async def app_settings(settings: IngestionSettings) -> IngestionSettings:
    return settings.model_copy(update={"max_upload_bytes": LIMIT, "max_body_bytes": 100})


async def test_a_file_within_the_limit_passes_the_apps_body_limit(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    body = csv_file("event_timestamp_utc,user_id,event_name", *[ROW] * 6)
    assert 100 < len(body) <= LIMIT
    response = await upload(client, callers.user(tenant, "analyst"), "sessions", body)
    assert (response.status_code, counts(response.json())) == (201, (6, 6, 0, 0, 0, 0))


async def test_a_declared_length_over_the_limit_is_refused_at_once(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    body = csv_file("event_timestamp_utc,user_id,event_name", *[ROW] * 8)
    response = await upload(client, analyst, "sessions", body)
    assert (response.status_code, response.json()["max_bytes"]) == (413, LIMIT)
    assert (await client.get("/data/uploads", headers=analyst.headers)).json()["total"] == 0


async def test_a_streamed_file_over_the_limit_is_refused_and_recorded_failed(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"event_timestamp_utc,user_id,event_name\n"
        for _ in range(8):
            yield f"{ROW}\n".encode()

    response = await client.post(
        "/data/uploads/sessions", content=chunks(), headers={**analyst.headers, **CSV}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"A file is at most {LIMIT} bytes; nothing of this one was taken in."
    )
    [failed] = (await client.get("/data/uploads", headers=analyst.headers)).json()["uploads"]
    assert (failed["status"], failed["failure"], failed["rows_inserted"]) == (
        "failed",
        f"the file is larger than {LIMIT} bytes",
        0,
    )
