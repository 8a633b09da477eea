"""POST /data/uploads/{kind}: bad rows listed by line, `,` decimals, re-uploads that add
nothing, identical rows kept, all_or_nothing, header errors, facts, the record of each upload."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestion_service.uploads.repository import ROW_NAMESPACE
from ingestion_testing import Callers
from uploads_testing import (
    CONFIRMED_HEADER,
    PURCHASES_HEADER,
    counts,
    csv_file,
    facts,
    rows,
    upload,
)

GOOD_1 = 'af-1,purchase,2025-10-25 10:30:00,"12,50",Summer ,r-1,success'
GOOD_2 = "af-2,purchase,2025-10-25T11:00:00+02:00,9.99,Summer,r-2,chargeback"
GOOD_3 = "af-3,purchase,2025-10-26T08:00:00Z,0.5,Winter,,success"


async def test_bad_rows_are_listed_by_line_while_the_good_ones_go_in(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    body = csv_file(
        PURCHASES_HEADER,
        GOOD_1,
        GOOD_2,
        "af-3,purchase,yesterday,1.00,Summer,r-3,success",
        "af-4,purchase,2025-10-25 12:00:00,abc,Summer,r-4,success",
        "af-5,purchase,2025-10-25 12:00:00,1.00,Summer,r-5",
        "",
        " ,purchase,2025-10-25 12:00:00,1.00,Summer,r-6,success",
        "af-7,purchase,2025-10-25 12:00:00,1.00,Summer,r-7,refund",
    )
    response = await upload(client, callers.user(tenant, "analyst"), "purchases_raw", body)
    assert response.status_code == 201
    answer = response.json()
    assert (answer["status"], answer["kind"], answer["mode"]) == (
        "completed",
        "purchases_raw",
        "accept_valid",
    )
    assert counts(answer) == (7, 3, 0, 0, 4, 1)
    assert answer["errors"] == [
        {"line": 4, "reason": "event_time_utc is not a date and time: 'yesterday'"},
        {"line": 6, "reason": "expected 7 fields, found 6"},
        {"line": 8, "reason": "appsflyer_id is empty"},
        {"line": 9, "reason": "status must be success or chargeback, not 'refund'"},
    ]
    assert answer["warnings"] == [
        {"line": 5, "reason": "revenue_usd is not a number: 'abc'; kept as null"}
    ]
    assert (answer["sha256"], answer["bytes"]) == (
        hashlib.sha256(body.encode()).hexdigest(),
        len(body.encode()),
    )
    columns = (
        "line_number, appsflyer_id, event_time_utc, revenue_usd, revenue_raw, campaign, status"
    )
    day = datetime(2025, 10, 25, tzinfo=UTC)
    assert await rows(conn, "purchase_raw", tenant, columns) == [
        (2, "af-1", day.replace(hour=10, minute=30), Decimal("12.5"), None, "Summer ", "success"),
        (3, "af-2", day.replace(hour=9), Decimal("9.99"), None, "Summer", "chargeback"),
        (5, "af-4", day.replace(hour=12), None, "abc", "Summer", "success"),
    ]


async def test_costs_take_comma_decimals_and_refuse_negative_costs(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    body = csv_file(
        "date,campaign,ad_cost_usd",
        '2025-10-25,Summer,"1234,50"',
        "2025-10-25,Winter,-5",
        "2025-10-26,Summer,0.5",
        "2025-13-01,Summer,1",
        "2025-10-26,Winter,",
    )
    answer = (await upload(client, callers.user(tenant, "admin"), "costs_daily", body)).json()
    assert counts(answer) == (5, 2, 0, 0, 3, 0)
    assert answer["errors"] == [
        {"line": 3, "reason": "ad_cost_usd is negative: -5"},
        {"line": 5, "reason": "date is not a date (YYYY-MM-DD): '2025-13-01'"},
        {"line": 6, "reason": "ad_cost_usd is not a number: ''"},
    ]
    assert await rows(conn, "cost_daily", tenant, "cost_date, campaign, ad_cost_usd") == [
        (date(2025, 10, 25), "Summer", Decimal("1234.5")),
        (date(2025, 10, 26), "Summer", Decimal("0.5")),
    ]


async def test_a_re_upload_or_an_overlapping_export_adds_nothing_it_already_has(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    machine = callers.api_key(tenant, "uploads:write")
    body = csv_file(PURCHASES_HEADER, GOOD_1, GOOD_2, GOOD_3)
    first = (await upload(client, machine, "purchases_raw", body)).json()
    again = (await upload(client, machine, "purchases_raw", body)).json()
    assert (counts(first), counts(again)) == ((3, 3, 0, 0, 0, 0), (3, 0, 0, 3, 0, 0))
    # The next export overlaps: two rows it shares (12,50 spelt 12.5 is the same row) and a new one.
    overlap = csv_file(
        CONFIRMED_HEADER.replace(",receipt_id", ",receipt_id,status"),
        GOOD_3,
        GOOD_1.replace('"12,50"', "12.5"),
        "af-4,purchase,2025-10-27T08:00:00Z,3,Winter,r-4,success",
    )
    third = (await upload(client, machine, "purchases_raw", overlap)).json()
    assert counts(third) == (3, 1, 0, 2, 0, 0)
    assert len(await rows(conn, "purchase_raw", tenant, "appsflyer_id")) == 4
    assert len(await facts(conn, tenant)) == 4


async def test_identical_rows_inside_one_file_are_all_kept(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    analyst = callers.user(tenant, "analyst")
    twice = csv_file(PURCHASES_HEADER, GOOD_1, GOOD_2, GOOD_1)
    assert counts((await upload(client, analyst, "purchases_raw", twice)).json()) == (
        3, 3, 0, 0, 0, 0,
    )  # fmt: skip
    assert counts((await upload(client, analyst, "purchases_raw", twice)).json()) == (
        3, 0, 0, 3, 0, 0,
    )  # fmt: skip
    # A file holding the row three times adds only its third.
    thrice = csv_file(PURCHASES_HEADER, GOOD_1, GOOD_1, GOOD_1)
    assert counts((await upload(client, analyst, "purchases_raw", thrice)).json()) == (
        3, 1, 0, 2, 0, 0,
    )  # fmt: skip
    stored = await rows(conn, "purchase_raw", tenant, "appsflyer_id, occurrence, line_number")
    assert sorted(stored, key=lambda r: (r[0], r[1])) == [
        ("af-1", 1, 2),
        ("af-1", 2, 4),
        ("af-1", 3, 4),  # the third upload's line 4
        ("af-2", 1, 3),
    ]


async def test_all_or_nothing_refuses_the_whole_file_and_records_why(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    analyst = callers.user(tenant, "analyst")
    body = csv_file(PURCHASES_HEADER, GOOD_1, "af-9,purchase,2025-10-25,1,X,r,lost", GOOD_2)
    response = await upload(client, analyst, "purchases_raw", body, mode="all_or_nothing")
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "https://meridian.dev/problems/rows-refused"
    reason = "status must be success or chargeback, not 'lost'"
    assert problem["errors"] == [
        {
            "loc": ["body", "line", "3"],
            "msg": reason,
            "type": "row_error",
            "line": 3,
            "reason": reason,
        }
    ]
    failed = problem["upload"]
    assert (failed["status"], failed["failure"]) == (
        "failed",
        "errors in 1 row; all_or_nothing: nothing was taken in",
    )
    assert counts(failed) == (3, 0, 0, 0, 1, 0)
    assert await rows(conn, "purchase_raw", tenant, "appsflyer_id") == []
    assert await facts(conn, tenant) == []
    stored = await client.get(f"/data/uploads/{failed['id']}", headers=analyst.headers)
    assert stored.json() == failed
    # The same file without its bad row goes in whole.
    fixed = csv_file(PURCHASES_HEADER, GOOD_1, GOOD_2)
    done = await upload(client, analyst, "purchases_raw", fixed, mode="all_or_nothing")
    assert (done.status_code, counts(done.json())) == (201, (2, 2, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("header", "errors"),
    [
        (
            "appsflyer_id,event_name,event_time_utc,revenue,campaign,receipt_id,status",
            [
                (["body", "header", "revenue"], "revenue is not a column of purchases_raw",
                 "unknown_column"),
                (["body", "header", "revenue_usd"], "revenue_usd is missing", "missing_column"),
            ],
        ),
        (
            CONFIRMED_HEADER,
            [(["body", "header", "status"], "status is missing", "missing_column")],
        ),
        (
            PURCHASES_HEADER + ",status",
            [(["body", "header", "status"], "status is named twice", "duplicate_column")],
        ),
    ],
)  # fmt: skip
async def test_a_bad_header_is_refused_before_anything_is_written(
    client: httpx.AsyncClient,
    callers: Callers,
    tenant: uuid.UUID,
    conn: AsyncConnection,
    header: str,
    errors: list[tuple[list[str], str, str]],
) -> None:
    analyst = callers.user(tenant, "analyst")
    response = await upload(client, analyst, "purchases_raw", csv_file(header, GOOD_1))
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "https://meridian.dev/problems/bad-header"
    assert [(e["loc"], e["msg"], e["type"]) for e in problem["errors"]] == errors
    assert (await client.get("/data/uploads", headers=analyst.headers)).json()["total"] == 0
    assert await facts(conn, tenant) == []


async def test_an_empty_file_or_another_media_type_is_refused(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    empty = await upload(client, analyst, "sessions", b"")
    assert (empty.status_code, empty.json()["errors"][0]["msg"]) == (
        422,
        "header is missing: the file is empty",
    )
    as_json = await upload(
        client, analyst, "sessions", b"{}", headers={"content-type": "application/json"}
    )
    assert (as_json.status_code, as_json.json()["type"]) == (
        415,
        "https://meridian.dev/problems/unsupported-media-type",
    )
    latin1 = await upload(client, analyst, "sessions", "user_id,é".encode("latin-1"))
    assert (latin1.status_code, latin1.json()["detail"]) == (
        422,
        "the file is not UTF-8 text (at byte 8); nothing was taken in.",
    )


async def test_every_new_row_leaves_as_a_fact_with_an_id_from_its_key(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    body = csv_file(
        PURCHASES_HEADER, GOOD_1, GOOD_2, "af-4,purchase,2025-10-25 12:00:00,n/a,,,success"
    )
    answer = (await upload(client, callers.user(tenant, "analyst"), "purchases_raw", body)).json()
    found = await facts(conn, tenant)
    assert [f["kind"] for f in found] == ["ingestion.purchase_raw.v1"] * 3
    keys = await rows(conn, "purchase_raw", tenant, "row_hash, occurrence")
    assert [f["id"] for f in found] == [
        uuid.uuid3(ROW_NAMESPACE, f"{tenant}/purchases_raw/{row_hash.hex()}/{occurrence}")
        for row_hash, occurrence in keys
    ]
    first = found[0]
    assert first["occurred_at"] == datetime(2025, 10, 25, 10, 30, tzinfo=UTC)
    assert first["data"] == {
        "upload_id": answer["id"],
        "line": 2,
        "appsflyer_id": "af-1",
        "event_name": "purchase",
        "event_time_utc": "2025-10-25T10:30:00Z",
        "revenue_usd": 12.5,
        "revenue_raw": None,
        "campaign": "Summer ",
        "receipt_id": "r-1",
        "status": "success",
    }
    assert (found[2]["data"]["revenue_usd"], found[2]["data"]["revenue_raw"]) == (None, "n/a")
    assert (found[2]["data"]["campaign"], found[2]["data"]["receipt_id"]) == (None, None)


@pytest.mark.parametrize(
    ("kind", "body", "table", "fact_kind", "data"),
    [
        (
            "confirmed_purchases",
            csv_file(CONFIRMED_HEADER, "af-1,purchase,2025-10-25T10:31:00Z,\"4,99\",Summer,r-1"),
            "purchase_confirmed",
            "ingestion.purchase_confirmed.v1",
            {"appsflyer_id": "af-1", "event_name": "purchase",
             "event_time_utc": "2025-10-25T10:31:00Z", "revenue_usd": 4.99, "revenue_raw": None,
             "campaign": "Summer", "receipt_id": "r-1"},
        ),
        (
            "sessions",
            csv_file(
                "user_id,event_name,event_timestamp_utc",
                "p-7,session_start,2025-10-25T09:00:00.250Z",
            ),
            "session_event",
            "ingestion.session_event.v1",
            {"event_timestamp_utc": "2025-10-25T09:00:00.250000Z", "user_id": "p-7",
             "event_name": "session_start"},
        ),
        (
            "costs_daily",
            csv_file("campaign,ad_cost_usd,date", "Summer,100,2025-10-25"),
            "cost_daily",
            "ingestion.cost_daily.v1",
            {"cost_date": "2025-10-25", "campaign": "Summer", "ad_cost_usd": 100},
        ),
    ],
)  # fmt: skip
async def test_each_kind_makes_its_own_facts(
    client: httpx.AsyncClient,
    callers: Callers,
    tenant: uuid.UUID,
    conn: AsyncConnection,
    kind: str,
    body: str,
    table: str,
    fact_kind: str,
    data: dict[str, object],
) -> None:
    response = await upload(client, callers.user(tenant, "analyst"), kind, body)
    assert (response.status_code, counts(response.json())) == (201, (1, 1, 0, 0, 0, 0))
    assert len(await rows(conn, table, tenant, "line_number")) == 1
    [fact] = await facts(conn, tenant)
    assert fact["kind"] == fact_kind
    assert fact["data"] == {"upload_id": response.json()["id"], "line": 2, **data}


async def test_a_quoted_field_across_lines_keeps_the_line_numbers_right(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, conn: AsyncConnection
) -> None:
    body = csv_file(
        PURCHASES_HEADER,
        'af-1,purchase,2025-10-25 10:30:00,1,"Summer',
        'sale, ""big""",r-1,success',
        "af-2,purchase,never,1,Summer,r-2,success",
        'af-3,purchase,2025-10-25 10:30:00,1,"Open,r-3,success',
    )
    answer = (await upload(client, callers.user(tenant, "analyst"), "purchases_raw", body)).json()
    assert answer["errors"] == [
        {"line": 4, "reason": "event_time_utc is not a date and time: 'never'"},
        {"line": 5, "reason": "a quoted field opened on this line is never closed"},
    ]
    assert await rows(conn, "purchase_raw", tenant, "line_number, campaign") == [
        (2, 'Summer\nsale, "big"')
    ]


async def test_the_file_name_comes_from_the_query_or_content_disposition(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    analyst = callers.user(tenant, "analyst")
    body = csv_file("user_id,event_name,event_timestamp_utc")
    named = await upload(client, analyst, "sessions", body, filename="sessions.csv")
    disposed = await upload(
        client,
        analyst,
        "sessions",
        body,
        headers={"content-disposition": 'attachment; filename="C:\\data\\sessions (1).csv"'},
    )
    unnamed = await upload(client, analyst, "sessions", body)
    assert [r.json()["filename"] for r in (named, disposed, unnamed)] == [
        "sessions.csv",
        "sessions (1).csv",
        None,
    ]
    assert counts(unnamed.json()) == (0, 0, 0, 0, 0, 0)


async def test_the_first_thousand_row_errors_are_kept_and_all_are_counted(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID
) -> None:
    bad = [f"2025-10-25,Summer,-{i}" for i in range(1, 1006)]
    body = csv_file("date,campaign,ad_cost_usd", *bad, "2025-10-25,Summer,1")
    answer = (await upload(client, callers.user(tenant, "analyst"), "costs_daily", body)).json()
    assert counts(answer) == (1006, 1, 0, 0, 1005, 0)
    assert len(answer["errors"]) == 1000
    assert (answer["errors"][0], answer["errors"][-1]) == (
        {"line": 2, "reason": "ad_cost_usd is negative: -1"},
        {"line": 1001, "reason": "ad_cost_usd is negative: -1000"},
    )
