"""``python -m ingestion_service.upload_folder``, run as a command against ingestion running as a
process of its own on loopback (tokens checked with a JWKS served by the test)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing.servers import free_port, serve_asgi, service_process
from ingestion_service.config import IngestionSettings
from ingestion_testing import Callers, jwks_app, process_env
from uploads_testing import PURCHASES_HEADER, USERS_HEADER, csv_file

PURCHASES = csv_file(
    PURCHASES_HEADER,
    'af-1,purchase,2025-10-25 10:30:00,"12,50",Summer,r-1,success',
    "af-2,purchase,2025-10-25 11:00:00,oops,Summer,r-2,success",
    "af-3,purchase,2025-10-25 12:00:00,1,Summer,r-3,refund",
)
USERS = csv_file(USERS_HEADER, "u-1,Acme,buyer@acme.example,,", "u-2,Globex,,,")


@pytest.fixture(scope="module")
async def ingestion_url(
    settings: IngestionSettings, engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Ingestion as a process on the test database (``engine`` has migrated it)."""
    async with serve_asgi(jwks_app()) as jwks_url:
        port = free_port()
        env = process_env(settings, port, jwks_url)
        log = Path(tmp_path_factory.mktemp("upload-folder")) / "ingestion.log"
        async with service_process("ingestion_service", env, port=port, log=log) as url:
            yield url


async def run_command(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ingestion_service.upload_folder",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "MERIDIAN_TOKEN": ""},
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_a_data_folder_is_uploaded_file_by_file(
    ingestion_url: str, settings: IngestionSettings, tmp_path: Path
) -> None:
    (tmp_path / "purchases_raw.csv").write_text(PURCHASES)
    (tmp_path / "users.csv").write_text(USERS)
    (tmp_path / "notes.txt").write_text("not data")
    analyst = Callers(settings).user(uuid.uuid4(), "analyst")
    common = (str(tmp_path), "--url", ingestion_url, "--token", analyst.token)

    status, out = await run_command(*common)
    assert (status, out.splitlines()) == (
        1,
        [
            "notes.txt: skipped (not one of purchases_raw.csv, confirmed_purchases.csv,"
            " costs_daily.csv, sessions.csv, users.csv, locations.csv)",
            "purchases_raw.csv: completed, 3 rows: 2 new, 0 updated, 0 already there,"
            " 1 refused, 1 with warnings",
            "  line 4: status must be success or chargeback, not 'refund'",
            "users.csv: completed, 2 rows: 2 new, 0 updated, 0 already there, 0 refused,"
            " 0 with warnings",
        ],
    )
    (tmp_path / "purchases_raw.csv").write_text(PURCHASES.replace(",refund", ",success"))
    status, out = await run_command(*common)
    assert (status, out.splitlines()[1:]) == (
        0,
        [
            "purchases_raw.csv: completed, 3 rows: 1 new, 0 updated, 2 already there,"
            " 0 refused, 1 with warnings",
            "users.csv: completed, 2 rows: 0 new, 0 updated, 2 already there, 0 refused,"
            " 0 with warnings",
        ],
    )
    async with httpx.AsyncClient(base_url=ingestion_url, headers=analyst.headers) as http:
        uploads = (await http.get("/data/uploads")).json()
    assert [(u["kind"], u["filename"], u["rows_inserted"]) for u in uploads["uploads"]] == [
        ("users", "users.csv", 0),
        ("purchases_raw", "purchases_raw.csv", 1),
        ("users", "users.csv", 2),
        ("purchases_raw", "purchases_raw.csv", 2),
    ]


async def test_a_refused_token_or_an_empty_folder_fails(
    ingestion_url: str, settings: IngestionSettings, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    viewer = Callers(settings).user(uuid.uuid4(), "viewer")
    status, out = await run_command(str(empty), "--url", ingestion_url, "--token", viewer.token)
    assert (status, out) == (2, f"{empty}: none of the six files of a data/ folder\n")

    (tmp_path / "users.csv").write_text(USERS)
    status, out = await run_command(str(tmp_path), "--url", ingestion_url, "--token", viewer.token)
    assert (status, out.splitlines()) == (
        1,
        [
            "users.csv: refused (HTTP 403): Customer records and files are written by tenant"
            " users of the analyst role or above, or by machines holding the uploads:write"
            " scope."
        ],
    )
