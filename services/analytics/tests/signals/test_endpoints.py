"""/analytics/signals over HTTP: the series' momentum and value scores, their history, alerts
listed and acknowledged, a run queued and done by the job; each tenant sees and touches only
its own. Figures are those worked by hand in test_functions.py."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from signals_data import at
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics_service.signals.runner import run_queued, run_tenant
from analytics_testing import Caller, Callers
from common.db import Database

pytestmark = pytest.mark.usefixtures("warehouse")
BASE = "/analytics/signals"
D18, D19 = date(2026, 11, 18), date(2026, 11, 19)
ALL = ["momentum", "spikes", "scores"]


@pytest.fixture
async def computed(
    warehouse: None, database: Database, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    """Both tenants' momentum as of 11-18 (computed on 11-18), then everything as of 11-19."""
    for who in (tenant, other_tenant):
        await run_tenant(database.sessionmaker, who, ["momentum"], D18, at(18))
        await run_tenant(database.sessionmaker, who, ALL, D19, at(19))


async def get(client: httpx.AsyncClient, caller: Caller, path: str, **params: Any) -> Any:
    response = await client.get(f"{BASE}{path}", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def keys(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["series_kind"], item["series_key"]) for item in page["data"]]


VIRAL_MOMENTUM = {
    "index": 9.07, "status": "viral", "velocity": 10.0, "acceleration": 10.0,
    "consistency": 5.36, "viral": 10.0, "week_0": 120.0, "week_1": 70.0, "week_2": 70.0,
    "computed_at": "2026-11-19T12:00:00Z",
}  # fmt: skip
VIRAL_SCORE = {
    "score": 74.06, "engagement": 100.0, "growth": 67.86, "reach": 66.67, "conversion": 3.64,
    "window_total": 330.0, "active_days": 28, "computed_at": "2026-11-19T12:00:00Z",
}  # fmt: skip
INSUFFICIENT = [
    ("branch_revenue", "B1"), ("campaign_installs", "SUMMER"), ("campaign_installs", "WINTER"),
    ("campaign_revenue", "SUMMER"), ("campaign_revenue", "WINTER"), ("item_views", "NEW"),
]  # fmt: skip


@pytest.mark.usefixtures("computed")
async def test_the_list_has_each_series_latest_day_highest_momentum_first(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    page = await get(client, callers.user(tenant, "viewer"), "")
    assert keys(page) == [
        ("item_views", "VIRAL"), ("item_views", "RISING"), ("item_views", "GROWING"),
        ("item_views", "FLAT"), ("item_views", "FALLING"), *INSUFFICIENT,
    ]  # fmt: skip
    assert (page["total"], page["limit"], page["offset"], page["has_more"]) == (11, 50, 0, False)
    assert page["data"][0] == {
        "series_kind": "item_views", "series_key": "VIRAL", "as_of": "2026-11-19",
        "momentum": VIRAL_MOMENTUM, "value_score": VIRAL_SCORE,
    }  # fmt: skip
    summer = page["data"][8]
    assert (summer["series_key"], summer["momentum"], summer["value_score"]["score"]) == (
        "SUMMER",
        {"index": None, "status": "insufficient_data", "velocity": None, "acceleration": None,
         "consistency": None, "viral": None, "week_0": 21.5, "week_1": 0.0, "week_2": 0.0,
         "computed_at": "2026-11-19T12:00:00Z"},
        # 0.4 x 7.14 (2 active days) + 0.3 x 100 (growth: nothing before) + 0.2 x 100 (the
        # larger of 2 campaigns) + 0.1 x 35.83 (ROAS 21.5 / 60) = 56.439
        56.44,
    )  # fmt: skip


@pytest.mark.usefixtures("computed")
async def test_the_list_filters_sorts_and_pages(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    viewer = callers.user(tenant, "viewer")
    growing = await get(client, viewer, "", series_kind="item_views", status="growing")
    assert (keys(growing), growing["total"]) == ([("item_views", "GROWING")], 1)
    day_before = await get(client, viewer, "", as_of="2026-11-18", series_kind="item_views")
    assert [(i["series_key"], i["momentum"]["index"], i["value_score"]) for i in
            day_before["data"]] == [
        ("RISING", 6.72, None), ("GROWING", 5.62, None), ("FLAT", 4.25, None),
        ("VIRAL", 4.25, None), ("FALLING", 2.6, None), ("NEW", None, None),
    ]  # fmt: skip
    by_score = await get(client, viewer, "", series_kind="item_views", sort="value_score")
    assert [(i["series_key"], i["value_score"]["score"]) for i in by_score["data"]] == [
        ("RISING", 77.13), ("VIRAL", 74.06), ("FALLING", 70.82), ("GROWING", 67.31),
        ("FLAT", 61.67), ("NEW", 44.76),
    ]  # fmt: skip
    by_name = await get(client, viewer, "", sort="series", limit=3, offset=4)
    assert keys(by_name) == [
        ("campaign_revenue", "WINTER"), ("item_views", "FALLING"), ("item_views", "FLAT"),
    ]  # fmt: skip
    assert (by_name["total"], by_name["limit"], by_name["offset"], by_name["has_more"]) == (
        11, 3, 4, True,
    )  # fmt: skip
    last = await get(client, viewer, "", sort="series", limit=3, offset=9)
    assert (keys(last), last["has_more"]) == (
        [("item_views", "RISING"), ("item_views", "VIRAL")], False,
    )  # fmt: skip
    assert (await get(client, viewer, "", as_of="2026-11-17"))["data"] == []


@pytest.mark.usefixtures("computed")
async def test_a_series_history_day_by_day(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    viewer = callers.user(tenant, "viewer")
    page = await get(client, viewer, "/history", series_kind="item_views", series_key="VIRAL")
    assert page["data"] == [
        {"series_kind": "item_views", "series_key": "VIRAL", "as_of": "2026-11-18",
         "momentum": {"index": 4.25, "status": "stable", "velocity": 5.0, "acceleration": 5.0,
                      "consistency": 5.0, "viral": 0.0, "week_0": 70.0, "week_1": 70.0,
                      "week_2": 70.0, "computed_at": "2026-11-18T12:00:00Z"},
         "value_score": None},
        {"series_kind": "item_views", "series_key": "VIRAL", "as_of": "2026-11-19",
         "momentum": VIRAL_MOMENTUM, "value_score": VIRAL_SCORE},
    ]  # fmt: skip
    assert (page["total"], page["has_more"]) == (2, False)
    later = await get(
        client, viewer, "/history", series_kind="item_views", series_key="VIRAL",
        start_date="2026-11-19", end_date="2026-11-30",
    )  # fmt: skip
    assert [(p["as_of"], p["momentum"]["status"]) for p in later["data"]] == [
        ("2026-11-19", "viral")
    ]
    first = await get(
        client, viewer, "/history", series_kind="item_views", series_key="VIRAL", limit=1
    )
    assert ([p["as_of"] for p in first["data"]], first["has_more"]) == (["2026-11-18"], True)
    for params in (
        {"series_key": "NOPE"},
        {"series_key": "VIRAL", "series_kind": "branch_revenue"},
    ):
        response = await client.get(
            f"{BASE}/history", params={"series_kind": "item_views", **params},
            headers=viewer.headers,
        )  # fmt: skip
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "The tenant has no such series (none computed yet)."


async def alerts(client: httpx.AsyncClient, caller: Caller, **params: Any) -> list[tuple[Any, ...]]:
    page = await get(client, caller, "/alerts", **params)
    return [(a["series_key"], a["kind"], a["acknowledged_by"]) for a in page["data"]]


@pytest.mark.usefixtures("computed")
async def test_alerts_newest_first_and_filtered(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    viewer = callers.user(tenant, "viewer")
    page = await get(client, viewer, "/alerts")
    assert [(a["series_key"], a["kind"], a["series_day"], a["value"], a["threshold"])
            for a in page["data"]] == [
        ("GROWING", "spike", "2026-11-19", 13.0, 12.985888),
        ("RISING", "spike", "2026-11-19", 18.0, 16.659421),
        ("RISING", "status_change", "2026-11-19", 7.61, 7.0),
        ("VIRAL", "spike", "2026-11-19", 60.0, 10.0),
        ("VIRAL", "status_change", "2026-11-19", 9.07, 9.0),
    ]  # fmt: skip
    viral = page["data"][4]
    assert {k: v for k, v in viral.items() if k not in ("id", "value", "threshold")} == {
        "series_kind": "item_views", "series_key": "VIRAL", "kind": "status_change",
        "series_day": "2026-11-19",
        "detail": {"from": "stable", "to": "viral", "direction": "up",
                   "previous_as_of": "2026-11-18", "previous_index": 4.25},
        "detected_at": "2026-11-19T12:00:00Z", "acknowledged_at": None, "acknowledged_by": None,
    }  # fmt: skip
    assert (page["total"], page["has_more"]) == (5, False)
    assert await alerts(client, viewer, kind="status_change") == [
        ("RISING", "status_change", None), ("VIRAL", "status_change", None),
    ]  # fmt: skip
    assert await alerts(client, viewer, series_kind="campaign_revenue") == []
    assert len(await alerts(client, viewer, since="2026-11-19T12:00:00")) == 5  # UTC if bare
    assert await alerts(client, viewer, since="2026-11-19T13:00:01+01:00") == []
    two = await get(client, viewer, "/alerts", limit=2, offset=2)
    assert ([a["series_key"] for a in two["data"]], two["total"], two["has_more"]) == (
        ["RISING", "VIRAL"], 5, True,
    )  # fmt: skip


@pytest.mark.usefixtures("computed")
async def test_acknowledging_is_for_analysts_and_the_first_one_stays(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    viewer, analyst, admin = (callers.user(tenant, role) for role in ("viewer", "analyst", "admin"))
    alert = (await get(client, viewer, "/alerts", kind="status_change"))["data"][1]
    path = f"{BASE}/alerts/{alert['id']}/acknowledge"
    assert (await client.post(path, headers=viewer.headers)).status_code == 403
    first = await client.post(path, headers=analyst.headers)
    assert first.status_code == 200, first.text
    done = first.json()
    assert (done["id"], done["series_key"], done["acknowledged_by"]) == (
        alert["id"], "VIRAL", f"user:{analyst.subject}",
    )  # fmt: skip
    assert done["acknowledged_at"] is not None
    again = await client.post(path, headers=admin.headers)
    assert (again.status_code, again.json()) == (200, done)
    assert await alerts(client, viewer, unacknowledged="false") == [
        ("VIRAL", "status_change", f"user:{analyst.subject}")
    ]
    assert [a[0:2] for a in await alerts(client, viewer, unacknowledged="true")] == [
        ("GROWING", "spike"), ("RISING", "spike"), ("RISING", "status_change"),
        ("VIRAL", "spike"),
    ]  # fmt: skip
    missing = await client.post(f"{BASE}/alerts/{uuid.uuid4()}/acknowledge", headers=admin.headers)
    assert (missing.status_code, missing.json()["detail"]) == (404, "No such alert.")


@pytest.mark.usefixtures("computed")
async def test_another_tenant_neither_sees_nor_touches_them(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    ours, theirs = callers.user(tenant, "admin"), callers.user(other_tenant, "admin")
    listed = await get(client, theirs, "")
    assert [(i["series_key"], i["momentum"]["index"]) for i in listed["data"]] == [
        ("VIRAL", 9.07), ("FLAT", 4.25),
    ]  # fmt: skip
    assert listed["data"][1]["momentum"]["week_0"] == 700.0  # its FLAT, not ours
    assert await alerts(client, theirs) == [
        ("VIRAL", "spike", None), ("VIRAL", "status_change", None),
    ]  # fmt: skip
    history = await client.get(
        f"{BASE}/history", params={"series_kind": "item_views", "series_key": "RISING"},
        headers=theirs.headers,
    )  # fmt: skip
    assert history.status_code == 404
    their_viral = await get(
        client, theirs, "/history", series_kind="item_views", series_key="VIRAL"
    )
    assert [p["momentum"]["week_0"] for p in their_viral["data"]] == [70.0, 560.0]
    our_alert = (await get(client, ours, "/alerts"))["data"][0]
    their_alert = (await get(client, theirs, "/alerts"))["data"][0]
    for caller, alert in ((theirs, our_alert), (ours, their_alert)):
        response = await client.post(
            f"{BASE}/alerts/{alert['id']}/acknowledge", headers=caller.headers
        )
        assert response.status_code == 404, response.text
    assert await alerts(client, ours, unacknowledged="false") == []
    assert await alerts(client, theirs, unacknowledged="false") == []


async def queued_runs(conn: AsyncConnection) -> list[dict[str, Any]]:
    found = await conn.scalars(
        text("SELECT payload FROM analytics.pgqueuer WHERE entrypoint = 'analytics.signals_run'"
             " ORDER BY id")
    )  # fmt: skip
    return [json.loads(payload) for payload in found]


async def test_a_run_is_queued_for_the_caller_s_tenant_and_done_by_the_job(
    client: httpx.AsyncClient,
    callers: Callers,
    conn: AsyncConnection,
    database: Database,
    tenant: uuid.UUID,
    other_tenant: uuid.UUID,
) -> None:
    analyst = callers.user(tenant, "analyst")
    response = await client.post(
        f"{BASE}/run", json={"as_of": "2026-11-19"}, headers=analyst.headers
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["tenant_id"], body["tasks"], body["as_of"]) == (str(tenant), ALL, "2026-11-19")
    again = await client.post(f"{BASE}/run", json={"as_of": "2026-11-19"}, headers=analyst.headers)
    assert again.status_code == 202, again.text  # the same work, still queued: no second job
    theirs = callers.user(other_tenant, "admin")
    other = await client.post(f"{BASE}/run", json={"tasks": ["spikes"]}, headers=theirs.headers)
    assert other.status_code == 202, other.text
    assert await queued_runs(conn) == [
        {"tenant_id": str(tenant), "tasks": ALL, "as_of": "2026-11-19",
         "requested_by": f"user:{analyst.subject}"},
        {"tenant_id": str(other_tenant), "tasks": ["spikes"], "as_of": None,
         "requested_by": f"user:{theirs.subject}"},
    ]  # fmt: skip
    payload = (await queued_runs(conn))[0]
    counts = await run_queued(database.sessionmaker, payload, at(20))
    assert counts == {"momentum": 11, "scores": 11, "spike_alerts": 3}
    listed = await get(client, analyst, "", series_kind="item_views")
    assert [(i["series_key"], i["as_of"], i["momentum"]["index"]) for i in listed["data"]][:2] == [
        ("VIRAL", "2026-11-19", 9.07), ("RISING", "2026-11-19", 7.61),
    ]  # fmt: skip
    assert (await get(client, theirs, ""))["total"] == 0
    assert (await get(client, theirs, "/alerts"))["total"] == 0
