"""Who may call the sales endpoints, and their parameters refused as 422 problems."""

from __future__ import annotations

import uuid

import httpx
import pytest

from analytics_testing import Callers

TASKS = [
    "/analytics/tasks/purchases",
    "/analytics/tasks/cart-abandonment",
    "/analytics/tasks/search-analysis",
    "/analytics/tasks/repeat-visits",
    "/analytics/tasks/performance",
]
PAGED = [*TASKS, "/analytics/sessions/s1/events", "/analytics/users/u1/events"]
DATED = [*PAGED, "/analytics/stats", "/analytics/locations"]

BAD_PAGING = [
    {"page": "0"},
    {"page": "-1"},
    {"page": "1000001"},
    {"page": "x"},
    {"limit": "0"},
    {"limit": "1001"},
    {"limit": "99999999999999999999"},
]
BAD_DATES = [
    {"start_date": "2026-13-01"},
    {"end_date": "yesterday"},
    {"start_date": "1999-12-31"},
    {"end_date": "2100-01-01"},
    {"start_date": "2026-11-18", "end_date": "2026-11-17"},
]


async def _problem(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: str):
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 422, (path, params, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 422
    return response.json()


@pytest.mark.parametrize("params", BAD_PAGING)
async def test_bad_paging_is_a_422_problem(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, params: dict[str, str]
) -> None:
    viewer = callers.user(tenant, "viewer").headers
    for path in PAGED:
        await _problem(client, viewer, path, **params)


@pytest.mark.parametrize("params", BAD_DATES)
async def test_bad_dates_are_a_422_problem(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, params: dict[str, str]
) -> None:
    viewer = callers.user(tenant, "viewer").headers
    for path in DATED:
        await _problem(client, viewer, path, **params)


async def test_other_bad_parameters_are_422_problems(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    viewer = callers.user(tenant, "viewer").headers
    await _problem(client, viewer, "/analytics/stats", granularity="year")
    await _problem(client, viewer, "/analytics/users/u1/events", order="random")
    for path in TASKS:
        await _problem(client, viewer, path, query="")
        await _problem(client, viewer, path, query="a\x00b")
        await _problem(client, viewer, path, location_id="x" * 201)
    await _problem(client, viewer, "/analytics/sessions/a%00b/events")


async def test_a_viewer_may_and_others_may_not(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    path = "/analytics/tasks/purchases"
    assert (await client.get(path)).status_code == 401
    machine = callers.machine(tenant, "uploads:write").headers
    assert (await client.get(path, headers=machine)).status_code == 403
    service = callers.service("ingestion").headers
    assert (await client.get(path, headers=service)).status_code == 403
    viewer = callers.user(tenant, "viewer").headers
    assert (await client.get(path, headers=viewer)).status_code == 200
    other = {**viewer, "X-Tenant-Id": str(uuid.uuid4())}
    assert (await client.get(path, headers=other)).status_code == 403
    same = {**viewer, "X-Tenant-Id": str(tenant)}
    assert (await client.get(path, headers=same)).json()["total"] == 0
