"""Calls to the GA4 Data API with Google's own client (``google-analytics-data``, REST transport).

The client is synchronous, so each call runs on a thread of a pool sized for the concurrency we
allow; at most ``ga4_max_concurrent_requests`` calls per property are in flight in a process.
Google's answers are sorted into what the pull does next: a quota stop (hourly or daily), a
transient failure (retried with backoff), an access token Google refused, a property we may not
read, or a request Google calls invalid.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    FilterExpression,
    Metric,
    PropertyQuota,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as google
from google.api_core.client_options import ClientOptions
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google.protobuf.json_format import ParseError
from requests.exceptions import RequestException

from ingestion_service.config import IngestionSettings
from ingestion_service.ga4.definitions import Report

PACIFIC = ZoneInfo("America/Los_Angeles")
_REQUEST_PREFIX = re.compile(r"^(GET|POST) \S+: ")


class GA4Failure(Exception):
    """Google refused or failed; ``message`` is Google's wording, fit for a job's errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QuotaExhausted(GA4Failure):
    """429: the property's hourly or daily tokens are spent; come back at ``resume_at``."""

    def __init__(self, message: str, scope: str, resume_at: datetime) -> None:
        super().__init__(message)
        self.scope = scope
        self.resume_at = resume_at


class TokenRefused(GA4Failure):
    """401: the access token is not (or no longer) good."""


class PropertyDenied(GA4Failure):
    """403: the grant's Google account may not read this property."""


class InvalidReport(GA4Failure):
    """400: Google calls the request invalid (an unknown dimension, say)."""


class BadDefinition(InvalidReport):
    """The report definition cannot be put to Google at all (a filter stored before it was
    checked); ``message`` says so whole."""


class Transient(GA4Failure):
    """5xx or a dropped connection, after every retry."""


@dataclass
class Page:
    rows: list[dict[str, Any]]
    row_count: int
    tokens: int
    thresholded: bool
    other_row: bool
    quota: dict[str, Any] | None


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def filter_expression(data: dict[str, Any]) -> FilterExpression:
    """``data`` read as Google's FilterExpression (JSON field names); ValueError says why it is
    none. Also refused: what PostgreSQL cannot keep in JSONB (NaN, Infinity, a NUL character)."""
    try:
        text = json.dumps(data, allow_nan=False)
    except ValueError:
        raise ValueError("not a GA4 FilterExpression: a number is NaN or infinite") from None
    try:
        expression = FilterExpression.from_json(text)
    except (ValueError, ParseError, RecursionError) as exc:
        raise ValueError(f"not a GA4 FilterExpression: {str(exc).splitlines()[0]}") from None
    if FilterExpression.pb(expression).WhichOneof("expr") is None:
        raise ValueError(
            "not a GA4 FilterExpression: it needs one of andGroup, orGroup, notExpression, filter"
        )
    if _holds_nul(data):
        raise ValueError("may not contain NUL (U+0000)")
    return expression


def quota_resume_at(scope: str, now: datetime) -> datetime:
    """Hourly tokens come back within the hour; daily ones at midnight Pacific time."""
    if scope == "daily":
        local = now.astimezone(PACIFIC)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
        return midnight.astimezone(UTC) + timedelta(minutes=1)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, minutes=1)


def classify(exc: Exception, now: datetime | None = None) -> GA4Failure:
    now = now or datetime.now(UTC)
    # The REST transport prefixes Google's message with "POST <url>: ".
    message = _REQUEST_PREFIX.sub("", getattr(exc, "message", None) or str(exc))
    if isinstance(exc, google.TooManyRequests):
        scope = "daily" if "per day" in message.lower() else "hourly"
        return QuotaExhausted(message, scope, quota_resume_at(scope, now))
    if isinstance(exc, google.Unauthorized | RefreshError):
        # A 401 makes Google's session try to refresh a bare token, which raises RefreshError.
        return TokenRefused(message)
    if isinstance(exc, google.Forbidden):
        return PropertyDenied(message)
    if isinstance(exc, google.BadRequest | google.NotFound):
        return InvalidReport(message)
    return Transient(message or type(exc).__name__)


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, google.ServerError | google.DeadlineExceeded | RequestException)


@dataclass
class GA4Api:
    """One per process: the thread pool and the per-property limits."""

    settings: IngestionSettings
    _pool: ThreadPoolExecutor = field(init=False)
    _limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _clients: dict[str, BetaAnalyticsDataClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=4 * self.settings.ga4_max_concurrent_requests,
            thread_name_prefix="ga4",
        )
        self._limits = defaultdict(
            lambda: asyncio.Semaphore(self.settings.ga4_max_concurrent_requests)
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _client(self, token: str) -> BetaAnalyticsDataClient:
        client = self._clients.get(token)
        if client is None:
            if len(self._clients) > 100:
                self._clients.clear()
            client = BetaAnalyticsDataClient(
                credentials=Credentials(token),
                transport="rest",
                client_options=ClientOptions(api_endpoint=self.settings.ga4_api_url),
            )
            self._clients[token] = client
        return client

    async def _call(self, property_id: str, func: Callable[[], Any]) -> Any:
        """Run one call on the pool, within the property's limit, retrying transient failures."""
        attempts = self.settings.ga4_max_attempts
        for attempt in range(1, attempts + 1):
            try:
                async with self._limits[property_id]:
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(self._pool, func)
            except Exception as exc:
                if not _retryable(exc) or attempt == attempts:
                    raise classify(exc) from exc
                delay = self.settings.ga4_retry_base_seconds * 2 ** (attempt - 1)
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311
        raise AssertionError("unreachable")

    async def page(
        self, token: str, property_id: str, report: Report, day: str, offset: int, limit: int
    ) -> Page:
        definition = report.definition
        request = RunReportRequest(
            property=f"properties/{property_id}",
            dimensions=[Dimension(name=d) for d in report.api_dimensions],
            metrics=[Metric(name=m) for m in definition.metrics],
            date_ranges=[DateRange(start_date=day, end_date=day)],
            offset=offset,
            limit=limit,
            return_property_quota=True,
        )
        if definition.dimension_filter:
            try:
                request.dimension_filter = filter_expression(definition.dimension_filter)
            except ValueError as exc:
                raise BadDefinition(
                    f"the {definition.name} report's dimension_filter is {exc}"
                ) from None
        client = self._client(token)
        response: RunReportResponse = await self._call(
            property_id, lambda: client.run_report(request, retry=None, timeout=60.0)
        )
        quota = PropertyQuota.to_dict(response.property_quota) if response.property_quota else None
        # The protobuf underneath: proto-plus wrappers cost a Python object per value.
        raw = RunReportResponse.pb(response)
        return Page(
            rows=[
                report.row(
                    [v.value for v in row.dimension_values], [v.value for v in row.metric_values]
                )
                for row in raw.rows
            ],
            row_count=response.row_count,
            tokens=response.property_quota.tokens_per_day.consumed,
            thresholded=response.metadata.subject_to_thresholding,
            other_row=response.metadata.data_loss_from_other_row,
            quota=quota or None,
        )

    async def custom_dimensions(self, token: str, property_id: str) -> set[str]:
        """The property's dimension API names (metadata), to check a connection's names."""
        client = self._client(token)
        metadata = await self._call(
            property_id,
            lambda: client.get_metadata(
                name=f"properties/{property_id}/metadata", retry=None, timeout=30.0
            ),
        )
        return {d.api_name for d in metadata.dimensions}
