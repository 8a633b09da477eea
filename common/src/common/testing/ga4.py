"""A local fake of the Google Analytics 4 Data API (v1beta, REST) for tests and benchmarks.

It speaks the real protocol, so the real ``google-analytics-data`` client drives it over REST:
``POST /v1beta/properties/{id}:runReport`` (dimensions, metrics, one or more date ranges, a
dimension filter, offset and limit, ``rowCount``, ``returnPropertyQuota``, the thresholding and
"(other)" flags in the metadata) and ``GET /v1beta/properties/{id}/metadata``. Errors are
Google's JSON errors: 401 for a token the access-token check refuses, 403 for a property the
fake does not know, 400 for a bad request, 429 RESOURCE_EXHAUSTED when a property's hourly or
daily tokens run out (with Google's wording), and any status on demand (``fail_next``).

Data is a list of event records per property: dimension values (``dateHourMinute`` is required;
``date`` and ``dateHour`` are derived from it) and metric contributions; a report groups them by
the requested dimensions and sums the metrics, rows ordered by their dimension values.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.testing.servers import serve_asgi

STANDARD_DIMENSIONS = frozenset(
    {
        "date",
        "dateHour",
        "dateHourMinute",
        "eventName",
        "pageLocation",
        "pagePath",
        "pageTitle",
        "transactionId",
        "itemId",
        "itemName",
        "itemCategory",
        "searchTerm",
        "city",
        "country",
        "deviceCategory",
        "sessionSource",
        "sessionMedium",
        "sessionCampaignName",
    }
)
# Metric name → its type in the response's metricHeaders.
STANDARD_METRICS = {
    "eventCount": "TYPE_INTEGER",
    "screenPageViews": "TYPE_INTEGER",
    "sessions": "TYPE_INTEGER",
    "activeUsers": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "eventValue": "TYPE_FLOAT",
    "purchaseRevenue": "TYPE_CURRENCY",
    "itemRevenue": "TYPE_CURRENCY",
    "itemsPurchased": "TYPE_INTEGER",
    "itemsAddedToCart": "TYPE_INTEGER",
    "itemsViewed": "TYPE_INTEGER",
    "addToCarts": "TYPE_INTEGER",
    "ecommercePurchases": "TYPE_INTEGER",
}
MAX_DIMENSIONS = 9
MAX_METRICS = 10
MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
# The REST client sends enums as numbers (``$alt=json;enum-encoding=int``).
MATCH_TYPES: dict[Any, str] = {
    0: "EXACT",
    1: "EXACT",
    2: "BEGINS_WITH",
    3: "ENDS_WITH",
    4: "CONTAINS",
}
HOURLY = "Exhausted property tokens per hour for a property. This quota refreshes within an hour."
DAILY = "Exhausted property tokens per day for a property. This quota refreshes at midnight PST."


@dataclass
class GA4Property:
    """One property's data and quota."""

    property_id: str
    time_zone: str = "UTC"
    currency: str = "USD"
    custom_dimensions: list[str] = field(default_factory=list)  # e.g. "customEvent:branch_id"
    tokens_per_day: int = 200_000
    tokens_per_hour: int = 40_000
    thresholded_days: set[str] = field(default_factory=set)  # YYYYMMDD
    other_row_days: set[str] = field(default_factory=set)
    consumed_day: int = 0
    consumed_hour: int = 0
    _by_date: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        """Event records: dimension values (``dateHourMinute`` YYYYMMDDHHMM required) and
        metric contributions (numbers)."""
        for record in records:
            minute = str(record["dateHourMinute"])
            self._by_date[minute[:8]].append(
                {**record, "date": minute[:8], "dateHour": minute[:10]}
            )

    def clear_day(self, day: str) -> None:
        self._by_date.pop(day, None)

    def records(self, start: str, end: str) -> Iterable[dict[str, Any]]:
        for day in sorted(self._by_date):
            if start <= day <= end:
                yield from self._by_date[day]


class GA4Error(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


@dataclass
class Fault:
    code: int
    status: str
    message: str


class FakeGA4:
    """The fake; serve it with ``async with fake.serve() as base_url``."""

    def __init__(self, token_valid: Callable[[str], bool] | None = None) -> None:
        self.properties: dict[str, GA4Property] = {}
        self.token_valid = token_valid or (lambda token: bool(token))
        self.delay_seconds = 0.0  # per runReport, to make concurrency observable
        self.tokens_per_request: Callable[[int], int] = lambda rows: 1 + rows // 100
        self.requests: list[dict[str, Any]] = []  # every runReport body, as received
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self._faults: list[Fault] = []
        self._cache: dict[str, list[tuple[list[str], list[float]]]] = {}

    def property(self, property_id: str, **options: Any) -> GA4Property:
        prop = GA4Property(property_id, **options)
        self.properties[property_id] = prop
        self._cache.clear()
        return prop

    def changed(self) -> None:
        """Call after changing a property's records (reports are cached per request)."""
        self._cache.clear()

    def fail_next(self, code: int, message: str = "", times: int = 1) -> None:
        """The next ``times`` runReport calls answer ``code`` (e.g. 503, or 429 with HOURLY)."""
        status = {
            400: "INVALID_ARGUMENT",
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            429: "RESOURCE_EXHAUSTED",
            500: "INTERNAL",
            503: "UNAVAILABLE",
        }.get(code, "UNKNOWN")
        self._faults.extend([Fault(code, status, message or status)] * times)

    def reset_hour(self) -> None:
        for prop in self.properties.values():
            prop.consumed_hour = 0

    def reset_day(self) -> None:
        for prop in self.properties.values():
            prop.consumed_day = prop.consumed_hour = 0

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        async with serve_asgi(self.app()) as base:
            yield base

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1beta/properties/{spec:path}", self._dispatch, methods=["GET", "POST"]),
            ]
        )

    # ---- HTTP ----------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> Response:
        spec = request.path_params["spec"]
        try:
            self._authenticate(request)
            if request.method == "POST" and spec.endswith(":runReport"):
                property_id = spec.removesuffix(":runReport")
                return JSONResponse(await self._run_report(property_id, await request.json()))
            if request.method == "GET" and spec.endswith("/metadata"):
                return JSONResponse(self._metadata(spec.removesuffix("/metadata")))
            raise GA4Error(404, "NOT_FOUND", f"Unknown method {request.method} {spec}.")
        except GA4Error as exc:
            body = {"error": {"code": exc.code, "message": exc.message, "status": exc.status}}
            return JSONResponse(body, status_code=exc.code)

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.token_valid(token):
            raise GA4Error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )

    def _property(self, property_id: str) -> GA4Property:
        prop = self.properties.get(property_id)
        if prop is None:
            raise GA4Error(
                403,
                "PERMISSION_DENIED",
                "User does not have sufficient permissions for this property.",
            )
        return prop

    def _metadata(self, property_id: str) -> dict[str, Any]:
        prop = self._property(property_id)
        dimensions: list[dict[str, Any]] = [
            {"apiName": name, "uiName": name} for name in sorted(STANDARD_DIMENSIONS)
        ]
        dimensions += [
            {"apiName": name, "uiName": name, "customDefinition": True}
            for name in prop.custom_dimensions
        ]
        metrics = [
            {"apiName": name, "uiName": name, "type": kind}
            for name, kind in sorted(STANDARD_METRICS.items())
        ]
        return {
            "name": f"properties/{property_id}/metadata",
            "dimensions": dimensions,
            "metrics": metrics,
        }

    async def _run_report(self, property_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append({"property": property_id, **body})
        if self._faults:
            fault = self._faults.pop(0)
            raise GA4Error(fault.code, fault.status, fault.message)
        prop = self._property(property_id)
        self.in_flight[property_id] += 1
        self.max_in_flight[property_id] = max(
            self.max_in_flight[property_id], self.in_flight[property_id]
        )
        try:
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            return self._report(prop, body)
        finally:
            self.in_flight[property_id] -= 1

    # ---- reports -------------------------------------------------------------------------

    def _report(self, prop: GA4Property, body: dict[str, Any]) -> dict[str, Any]:
        dimensions = [d["name"] for d in body.get("dimensions", [])]
        metrics = [m["name"] for m in body.get("metrics", [])]
        self._validate(prop, dimensions, metrics)
        self._validate_filter(prop, body.get("dimensionFilter"))
        ranges = body.get("dateRanges") or []
        if len(ranges) != 1:
            raise GA4Error(400, "INVALID_ARGUMENT", "This fake takes exactly one date range.")
        start, end = (_day(ranges[0].get(k, "")) for k in ("startDate", "endDate"))
        if start > end:
            raise GA4Error(400, "INVALID_ARGUMENT", "startDate is after endDate.")
        offset = int(body.get("offset") or 0)
        limit = int(body.get("limit") or DEFAULT_LIMIT)
        if offset < 0 or not 0 < limit <= MAX_LIMIT:
            raise GA4Error(400, "INVALID_ARGUMENT", f"limit must be 1..{MAX_LIMIT}.")
        if prop.consumed_day >= prop.tokens_per_day:
            raise GA4Error(429, "RESOURCE_EXHAUSTED", DAILY)
        if prop.consumed_hour >= prop.tokens_per_hour:
            raise GA4Error(429, "RESOURCE_EXHAUSTED", HOURLY)
        key = repr((prop.property_id, dimensions, metrics, start, end, body.get("dimensionFilter")))
        table = self._cache.get(key)
        if table is None:
            table = self._aggregate(prop, dimensions, metrics, start, end, body)
            self._cache[key] = table
        page = table[offset : offset + limit]
        cost = self.tokens_per_request(len(page))
        prop.consumed_day += cost
        prop.consumed_hour += cost
        answer: dict[str, Any] = {
            "dimensionHeaders": [{"name": d} for d in dimensions],
            "metricHeaders": [{"name": m, "type": STANDARD_METRICS[m]} for m in metrics],
            "rows": [
                {
                    "dimensionValues": [{"value": v} for v in dims],
                    "metricValues": [{"value": _number(v)} for v in values],
                }
                for dims, values in page
            ],
            "rowCount": len(table),
            "metadata": {"currencyCode": prop.currency, "timeZone": prop.time_zone},
            "kind": "analyticsData#runReport",
        }
        days = {f"{d:%Y%m%d}" for d in _days(start, end)}
        if days & prop.thresholded_days:
            answer["metadata"]["subjectToThresholding"] = True
        if days & prop.other_row_days:
            answer["metadata"]["dataLossFromOtherRow"] = True
        if body.get("returnPropertyQuota"):
            answer["propertyQuota"] = self._quota(prop, cost)
        return answer

    def _validate(self, prop: GA4Property, dimensions: list[str], metrics: list[str]) -> None:
        if len(dimensions) > MAX_DIMENSIONS or len(metrics) > MAX_METRICS:
            raise GA4Error(
                400,
                "INVALID_ARGUMENT",
                f"Requests are limited to {MAX_DIMENSIONS} dimensions and {MAX_METRICS} metrics.",
            )
        if not metrics:
            raise GA4Error(400, "INVALID_ARGUMENT", "At least one metric is required.")
        for name in dimensions:
            if name not in STANDARD_DIMENSIONS and name not in prop.custom_dimensions:
                raise GA4Error(400, "INVALID_ARGUMENT", f"Field {name} is not a valid dimension.")
        for name in metrics:
            if name not in STANDARD_METRICS:
                raise GA4Error(400, "INVALID_ARGUMENT", f"Field {name} is not a valid metric.")

    def _validate_filter(self, prop: GA4Property, expression: Any) -> None:
        """As Google: a filter names dimensions the property has (used in the report or not)."""
        if not isinstance(expression, dict):
            return
        groups = [expression.get(g) or {} for g in ("andGroup", "orGroup")]
        for each in [e for group in groups for e in group.get("expressions", [])]:
            self._validate_filter(prop, each)
        self._validate_filter(prop, expression.get("notExpression"))
        name = (expression.get("filter") or {}).get("fieldName")
        if name is not None and name not in STANDARD_DIMENSIONS | set(prop.custom_dimensions):
            raise GA4Error(
                400, "INVALID_ARGUMENT", f"Field {name} is not a valid dimension in the filter."
            )

    def _aggregate(
        self,
        prop: GA4Property,
        dimensions: list[str],
        metrics: list[str],
        start: date,
        end: date,
        body: dict[str, Any],
    ) -> list[tuple[list[str], list[float]]]:
        expression = body.get("dimensionFilter")
        groups: dict[tuple[str, ...], list[float]] = {}
        for record in prop.records(f"{start:%Y%m%d}", f"{end:%Y%m%d}"):
            if expression and not _matches(expression, record):
                continue
            dims = tuple(str(record.get(d, "(not set)")) for d in dimensions)
            sums = groups.setdefault(dims, [0.0] * len(metrics))
            for i, name in enumerate(metrics):
                sums[i] += float(record.get(name, 0) or 0)
        rows = [(list(dims), sums) for dims, sums in groups.items() if any(sums)]
        rows.sort(key=lambda row: row[0])
        return rows

    def _quota(self, prop: GA4Property, cost: int) -> dict[str, Any]:
        return {
            "tokensPerDay": {
                "consumed": cost,
                "remaining": max(0, prop.tokens_per_day - prop.consumed_day),
            },
            "tokensPerHour": {
                "consumed": cost,
                "remaining": max(0, prop.tokens_per_hour - prop.consumed_hour),
            },
            "concurrentRequests": {"consumed": 0, "remaining": 10},
            "serverErrorsPerProjectPerHour": {"consumed": 0, "remaining": 10},
            "potentiallyThresholdedRequestsPerHour": {"consumed": 0, "remaining": 120},
            "tokensPerProjectPerHour": {
                "consumed": cost,
                "remaining": max(0, prop.tokens_per_hour - prop.consumed_hour),
            },
        }


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GA4Error(
            400, "INVALID_ARGUMENT", f"Invalid date {value!r}: dates are YYYY-MM-DD here."
        ) from None


def _days(start: date, end: date) -> Iterable[date]:
    for n in range((end - start).days + 1):
        yield date.fromordinal(start.toordinal() + n)


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(round(value, 6))


def _matches(expression: dict[str, Any], record: dict[str, Any]) -> bool:
    """GA4's FilterExpression: andGroup, orGroup, notExpression, filter (string / inList)."""
    if "andGroup" in expression:
        return all(_matches(e, record) for e in expression["andGroup"].get("expressions", []))
    if "orGroup" in expression:
        return any(_matches(e, record) for e in expression["orGroup"].get("expressions", []))
    if "notExpression" in expression:
        return not _matches(expression["notExpression"], record)
    spec = expression.get("filter")
    if spec is None:
        raise GA4Error(400, "INVALID_ARGUMENT", "Unsupported filter expression.")
    value = str(record.get(spec.get("fieldName", ""), "(not set)"))
    if "stringFilter" in spec:
        rule = spec["stringFilter"]
        wanted, case = str(rule.get("value", "")), bool(rule.get("caseSensitive"))
        have = value if case else value.lower()
        wanted = wanted if case else wanted.lower()
        kind = rule.get("matchType", "EXACT")
        match MATCH_TYPES.get(kind, kind):
            case "EXACT":
                return have == wanted
            case "BEGINS_WITH":
                return have.startswith(wanted)
            case "ENDS_WITH":
                return have.endswith(wanted)
            case "CONTAINS":
                return wanted in have
        raise GA4Error(400, "INVALID_ARGUMENT", "Unsupported string match type.")
    if "inListFilter" in spec:
        return value in spec["inListFilter"].get("values", [])
    raise GA4Error(400, "INVALID_ARGUMENT", "Unsupported filter.")


def synthetic_page_views(day: str, count: int) -> list[dict[str, Any]]:
    """``count`` distinct page views on ``day`` (YYYYMMDD): a session per five, a user per ten,
    ten branches, minutes spread over the day."""
    return [
        {
            "dateHourMinute": f"{day}{(n // 60) % 24:02d}{n % 60:02d}",
            "eventName": "page_view",
            "customEvent:ga_session_id": f"{day}-{n // 5}",
            "customUser:web_user_id": f"user-{n // 10}",
            "customEvent:branch_id": f"D{n % 10:02d}",
            "pageLocation": f"https://shop.example/products/{n}",
            "pageTitle": f"Product {n}",
            "screenPageViews": 1,
            "eventCount": 1,
        }
        for n in range(count)
    ]


def main() -> None:
    """``python -m common.testing.ga4``: serve the fake with synthetic page views (benchmarks,
    trying a pull by hand). Any bearer token is accepted."""
    import argparse
    from datetime import timedelta

    import uvicorn

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--property", default="1001")
    parser.add_argument("--first-day", help="YYYY-MM-DD (default: --days days ago)")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rows-per-day", type=int, default=1000)
    args = parser.parse_args()
    fake = FakeGA4()
    prop = fake.property(
        args.property,
        custom_dimensions=[
            "customEvent:ga_session_id",
            "customUser:web_user_id",
            "customEvent:branch_id",
        ],
        tokens_per_day=10**9,
        tokens_per_hour=10**9,
    )
    first = (
        date.fromisoformat(args.first_day)
        if args.first_day
        else date.today() - timedelta(days=args.days)
    )
    for n in range(args.days):
        prop.add(synthetic_page_views(f"{first + timedelta(days=n):%Y%m%d}", args.rows_per_day))
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
