"""The local fake of the GA4 Data API, driven by Google's own client over REST: it must answer as
Google does for what ingestion asks (the pulls themselves are tested in ingestion)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Filter,
    FilterExpression,
    FilterExpressionList,
    Metric,
    RunReportRequest,
)
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.oauth2.credentials import Credentials

from common.testing.ga4 import HOURLY, FakeGA4

EVENTS = [
    {"dateHourMinute": "202611010800", "eventName": "page_view", "pagePath": "/a", "eventCount": 1},
    {"dateHourMinute": "202611010805", "eventName": "page_view", "pagePath": "/a", "eventCount": 1},
    {"dateHourMinute": "202611010810", "eventName": "page_view", "pagePath": "/b", "eventCount": 1},
    {"dateHourMinute": "202611011200", "eventName": "purchase", "pagePath": "/c", "eventCount": 1},
    {"dateHourMinute": "202611020900", "eventName": "page_view", "pagePath": "/a", "eventCount": 1},
]


@pytest.fixture
async def google() -> AsyncIterator[tuple[FakeGA4, BetaAnalyticsDataClient]]:
    fake = FakeGA4(token_valid=lambda token: token == "good")
    fake.property("42").add(EVENTS)
    async with fake.serve() as base:
        client = BetaAnalyticsDataClient(
            credentials=Credentials("good"),
            transport="rest",
            client_options=ClientOptions(api_endpoint=base),
        )
        yield fake, client


def report(dimension_filter: FilterExpression | None = None, **extra: Any) -> RunReportRequest:
    request = RunReportRequest(
        property="properties/42",
        dimensions=[Dimension(name="pagePath")],
        metrics=[Metric(name="eventCount")],
        date_ranges=[DateRange(start_date="2026-11-01", end_date="2026-11-01")],
        **extra,
    )
    if dimension_filter is not None:
        request.dimension_filter = dimension_filter
    return request


async def rows(client: BetaAnalyticsDataClient, request: RunReportRequest) -> list[tuple]:
    response = await asyncio.to_thread(client.run_report, request, retry=None)
    return [
        (*(v.value for v in r.dimension_values), *(v.value for v in r.metric_values))
        for r in response.rows
    ]


def _string(value: str, match: Filter.StringFilter.MatchType) -> FilterExpression:
    return FilterExpression(
        filter=Filter(
            field_name="pagePath", string_filter=Filter.StringFilter(value=value, match_type=match)
        )
    )


async def test_groups_sums_and_filters_one_day(
    google: tuple[FakeGA4, BetaAnalyticsDataClient],
) -> None:
    _, client = google
    assert await rows(client, report()) == [("/a", "2"), ("/b", "1"), ("/c", "1")]
    views = FilterExpression(
        filter=Filter(field_name="eventName", string_filter=Filter.StringFilter(value="page_view"))
    )
    assert await rows(client, report(views)) == [("/a", "2"), ("/b", "1")]
    begins = _string("/", Filter.StringFilter.MatchType.BEGINS_WITH)
    not_b = FilterExpression(not_expression=_string("/b", Filter.StringFilter.MatchType.EXACT))
    both = FilterExpression(and_group=FilterExpressionList(expressions=[begins, not_b]))
    assert await rows(client, report(both)) == [("/a", "2"), ("/c", "1")]
    listed = FilterExpression(
        filter=Filter(field_name="pagePath", in_list_filter=Filter.InListFilter(values=["/c"]))
    )
    assert await rows(client, report(listed)) == [("/c", "1")]


async def test_pages_with_offset_and_limit_and_counts_all_rows(
    google: tuple[FakeGA4, BetaAnalyticsDataClient],
) -> None:
    _, client = google
    request = report(offset=1, limit=1, return_property_quota=True)
    response = await asyncio.to_thread(client.run_report, request, retry=None)
    assert [r.dimension_values[0].value for r in response.rows] == ["/b"]
    assert response.row_count == 3
    assert (
        response.property_quota.tokens_per_hour.consumed,
        response.property_quota.tokens_per_hour.remaining,
    ) == (1, 39_999)


async def test_answers_errors_as_google_does(
    google: tuple[FakeGA4, BetaAnalyticsDataClient],
) -> None:
    fake, client = google
    with pytest.raises(exceptions.BadRequest, match="Field nope is not a valid dimension"):
        await asyncio.to_thread(
            client.run_report,
            RunReportRequest(
                property="properties/42",
                dimensions=[Dimension(name="nope")],
                metrics=[Metric(name="eventCount")],
                date_ranges=[DateRange(start_date="2026-11-01", end_date="2026-11-01")],
            ),
            retry=None,
        )
    with pytest.raises(exceptions.Forbidden, match="sufficient permissions"):
        await asyncio.to_thread(
            client.run_report, RunReportRequest(property="properties/7"), retry=None
        )
    fake.properties["42"].tokens_per_hour = 1
    await rows(client, report())
    with pytest.raises(exceptions.TooManyRequests, match=HOURLY):
        await rows(client, report())
    fake.fail_next(503)
    with pytest.raises(exceptions.ServiceUnavailable):
        await rows(client, report())


async def test_metadata_lists_the_custom_dimensions(
    google: tuple[FakeGA4, BetaAnalyticsDataClient],
) -> None:
    fake, client = google
    fake.properties["42"].custom_dimensions.append("customEvent:branch_id")
    metadata = await asyncio.to_thread(
        client.get_metadata, name="properties/42/metadata", retry=None
    )
    names = {d.api_name for d in metadata.dimensions}
    assert {"customEvent:branch_id", "dateHourMinute", "pagePath"} <= names


async def test_a_filter_on_a_dimension_the_property_lacks_is_a_bad_request(
    google: tuple[FakeGA4, BetaAnalyticsDataClient],
) -> None:
    """As Google: even on a day without data, and nested in a group."""
    _, client = google
    unknown = _string("/a", Filter.StringFilter.MatchType.EXACT)
    unknown.filter.field_name = "customEvent:coupon"
    nested = FilterExpression(
        or_group=FilterExpressionList(expressions=[FilterExpression(not_expression=unknown)])
    )
    empty_day = report(nested)
    empty_day.date_ranges[0].start_date = empty_day.date_ranges[0].end_date = "2026-10-01"
    with pytest.raises(
        exceptions.BadRequest,
        match=r"^400 POST \S+: Field customEvent:coupon is not a valid dimension in the filter\.$",
    ):
        await rows(client, empty_day)
