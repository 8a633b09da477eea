"""Who may call /analytics/signals, and bad input refused as a 422 problem that changes nothing."""

from __future__ import annotations

import uuid
from typing import Any, get_args

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service import models
from analytics_service.signals.schemas import SeriesKind
from analytics_testing import Callers

BASE = "/analytics/signals"
HISTORY = {"series_kind": "item_views", "series_key": "FLAT"}
BAD_PAGING = [{"limit": "0"}, {"limit": "501"}, {"limit": "x"}, {"offset": "-1"},
              {"offset": "1000001"}, {"limit": "99999999999999999999"}]  # fmt: skip
BAD_DATES = [{"start_date": "2026-13-01"}, {"end_date": "yesterday"}, {"start_date": "1999-12-31"},
             {"end_date": "2100-01-01"}, {"start_date": "20261118"},
             {"start_date": "2026-11-19", "end_date": "2026-11-18"}]  # fmt: skip


async def _problem(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, params: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}{path}", params=params, headers=headers)
    assert response.status_code == 422, (path, params, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 422


@pytest.mark.parametrize("params", BAD_PAGING)
async def test_bad_paging_is_a_422_problem(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, params: dict[str, str]
) -> None:
    viewer = callers.user(tenant, "viewer").headers
    await _problem(client, viewer, "", params)
    await _problem(client, viewer, "/history", {**HISTORY, **params})
    await _problem(client, viewer, "/alerts", params)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("", {"series_kind": "offer_ev"}),
        ("", {"status": "booming"}),
        ("", {"sort": "random"}),
        ("", {"as_of": "2026-02-30"}),
        ("", {"as_of": "1700000000"}),
        ("/history", {"series_key": "FLAT"}),
        ("/history", {"series_kind": "item_views"}),
        ("/history", {"series_kind": "offer_ev", "series_key": "FLAT"}),
        ("/history", {"series_kind": "item_views", "series_key": ""}),
        ("/history", {"series_kind": "item_views", "series_key": "a\x00b"}),
        ("/history", {"series_kind": "item_views", "series_key": "x" * 501}),
        ("/alerts", {"series_kind": "offer_ev"}),
        ("/alerts", {"kind": "anomaly"}),
        ("/alerts", {"unacknowledged": "maybe"}),
        ("/alerts", {"since": "last week"}),
        ("/alerts", {"since": "1999-12-31T23:59:59Z"}),
        *(("/history", {**HISTORY, **dates}) for dates in BAD_DATES),
    ],
)
async def test_bad_parameters_are_a_422_problem(
    client: httpx.AsyncClient,
    callers: Callers,
    tenant: uuid.UUID,
    path: str,
    params: dict[str, str],
) -> None:
    await _problem(client, callers.user(tenant, "viewer").headers, path, params)


@pytest.mark.parametrize(
    "body",
    [
        {"tasks": ["momentum", "ranking"]},
        {"tasks": []},
        {"tasks": ["spikes", "spikes"]},
        {"as_of": "2026-11-31"},
        {"as_of": 20261119},
        {"as_of": "2100-01-01"},
        {"series_kind": "item_views"},
        [],
    ],
)
async def test_a_bad_run_is_a_422_problem_and_queues_nothing(
    client: httpx.AsyncClient,
    callers: Callers,
    conn: AsyncConnection,
    tenant: uuid.UUID,
    body: Any,
) -> None:
    analyst = callers.user(tenant, "analyst").headers
    response = await client.post(f"{BASE}/run", json=body, headers=analyst)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    queued = await conn.scalar(
        text("SELECT count(*) FROM analytics.pgqueuer WHERE entrypoint = 'analytics.signals_run'")
    )
    assert queued == 0


async def test_a_bad_alert_id_is_a_422_problem(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst").headers
    response = await client.post(f"{BASE}/alerts/not-a-uuid/acknowledge", headers=analyst)
    assert response.status_code == 422


async def test_viewers_read_analysts_act_and_strangers_may_not(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    reads = [("", {}), ("/alerts", {}), ("/history", HISTORY)]
    viewer = callers.user(tenant, "viewer").headers
    for path, params in reads:
        response = await client.get(f"{BASE}{path}", params=params, headers=viewer)
        assert response.status_code == (404 if path == "/history" else 200), response.text
        assert (await client.get(f"{BASE}{path}", params=params)).status_code == 401
        machine = callers.machine(tenant, "reports:read").headers
        response = await client.get(f"{BASE}{path}", params=params, headers=machine)
        assert response.status_code == 403
    alert = f"{BASE}/alerts/{uuid.uuid4()}/acknowledge"
    for path in (f"{BASE}/run", alert):
        assert (await client.post(path, headers=viewer)).status_code == 403
        assert (await client.post(path)).status_code == 401
    analyst = callers.user(tenant, "analyst").headers
    assert (await client.post(f"{BASE}/run", headers=analyst)).status_code == 202
    assert (await client.post(alert, headers=analyst)).status_code == 404


def test_the_api_s_series_kinds_are_the_table_s() -> None:
    assert get_args(SeriesKind) == models.SERIES_KINDS
