from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
from loguru import logger

from common.logging import setup_logging
from common_testing import ProbeSettings, probe_app


async def test_json_lines_carry_service_request_and_tenant(
    tmp_path: Path, database_url: str
) -> None:
    settings = ProbeSettings(
        database_url=database_url,
        environment="test",
        db_role_mode="shared",
        log_json=True,
        log_to_files=True,
        log_dir=tmp_path,
    )
    setup_logging(settings)
    try:
        app = probe_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://p") as client:
                await client.get("/boom", headers={"X-Request-Id": "req-42"})
        logging.getLogger("uvicorn.error").warning("from the stdlib")
        await logger.complete()
    finally:
        logger.remove()
    lines = [json.loads(line) for line in (tmp_path / "probe.log").read_text().splitlines()]
    errors = [json.loads(line) for line in (tmp_path / "probe-error.log").read_text().splitlines()]
    boom = next(line["record"] for line in errors if line["record"]["message"] == "unhandled error")
    assert (boom["extra"]["service"], boom["extra"]["request_id"], boom["extra"]["tenant_id"]) == (
        "probe",
        "req-42",
        "-",
    )
    stdlib = next(
        line["record"] for line in lines if line["record"]["message"] == "from the stdlib"
    )
    assert (stdlib["name"], stdlib["level"]["name"]) == ("uvicorn.error", "WARNING")
    assert all(line["record"]["level"]["name"] == "ERROR" for line in errors)
    [access] = [
        line["record"] for line in lines if line["record"]["message"].startswith("GET /boom")
    ]
    assert access["message"].split()[:3] == ["GET", "/boom", "500"]
    assert access["extra"]["request_id"] == "req-42"
