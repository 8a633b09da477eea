"""Report definitions: each GA4 data type is a report (dimensions, metrics, a filter) whose rows
become facts of one kind. The built-in ones reproduce the GA system's tables; a tenant adds its
own (stored in ``ga4_report_definition``).

Dimensions may name the connection's key dimensions by placeholder: ``{session_id}``,
``{web_user_id}`` and ``{branch_id}`` become the custom dimensions the connection names, and
their values land under those keys. ``dateHourMinute`` lands as ``event_time`` (RFC 3339 in the
property's time zone); every other name lands in snake case (``pageLocation`` → ``page_location``,
``customEvent:coupon`` → ``custom_event_coupon``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

PLACEHOLDERS = {
    "{session_id}": "session_id",
    "{web_user_id}": "web_user_id",
    "{branch_id}": "branch_id",
}
KEYS = ["dateHourMinute", "{session_id}", "{web_user_id}", "{branch_id}"]


def _event(name: str) -> dict[str, Any]:
    return {"filter": {"fieldName": "eventName", "stringFilter": {"value": name}}}


@dataclass(frozen=True)
class Definition:
    name: str
    fact_kind: str
    dimensions: list[str]
    metrics: list[str]
    dimension_filter: dict[str, Any] | None = None
    description: str | None = None
    builtin: bool = False


def _builtin(name: str, kind: str, extra: list[str], metrics: list[str], event: str | None,
             description: str, keys: list[str] = KEYS) -> Definition:  # fmt: skip
    return Definition(
        name=name,
        fact_kind=kind,
        dimensions=[*keys, *extra],
        metrics=metrics,
        dimension_filter=_event(event) if event else None,
        description=description,
        builtin=True,
    )


BUILTIN: dict[str, Definition] = {
    d.name: d
    for d in [
        _builtin("page_views", "page_view", ["pageLocation", "pageTitle"], ["screenPageViews"],
                 "page_view", "Pages viewed, per minute, session, web user and branch."),
        _builtin("purchases", "purchase", ["transactionId", "pageLocation"],
                 ["purchaseRevenue", "ecommercePurchases"], "purchase",
                 "Purchases (transaction id, revenue)."),
        _builtin("purchase_items", "purchase_item", ["transactionId", "itemId", "itemName"],
                 ["itemRevenue", "itemsPurchased"], "purchase",
                 "The items of each purchase."),
        _builtin("add_to_cart", "add_to_cart", [], ["addToCarts", "eventValue"], "add_to_cart",
                 "Add-to-cart events and their value."),
        _builtin("add_to_cart_items", "add_to_cart_item", ["itemId", "itemName"],
                 ["itemsAddedToCart"], "add_to_cart", "The items added to carts."),
        _builtin("item_views", "view_item", ["itemId", "itemName"], ["itemsViewed"],
                 "view_item", "Items viewed."),
        _builtin("search_results", "view_search_results", ["searchTerm"], ["eventCount"],
                 "view_search_results", "Searches that showed results."),
        _builtin("failed_searches", "no_search_results", ["searchTerm"], ["eventCount"],
                 "no_search_results", "Searches that found nothing."),
        _builtin("users", "user_activity", [], ["sessions", "eventCount"], None,
                 "Web users seen per day, with their branch.",
                 keys=["{web_user_id}", "{branch_id}"]),
        _builtin("locations", "branch_activity", [], ["activeUsers", "sessions",
                 "screenPageViews"], None, "Branches with activity per day.",
                 keys=["{branch_id}"]),
    ]
}  # fmt: skip
# The GA system's ``events`` data type: every event table.
EVENT_TYPES = [name for name in BUILTIN if name not in ("users", "locations")]
ALIASES = {"events": EVENT_TYPES}


@dataclass(frozen=True)
class Report:
    """A definition resolved for one connection: the request and how rows are read."""

    definition: Definition
    api_dimensions: list[str]
    keys: list[str]
    metric_keys: list[str]
    time_zone: str
    _zone: ZoneInfo = field(compare=False, repr=False)

    def row(self, dimension_values: list[str], metric_values: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in zip(self.keys, dimension_values, strict=True):
            if "\x00" in value:  # text typed by visitors (a search term): JSONB takes no NUL
                value = value.replace("\x00", "\ufffd")
            out[key] = self._time(value) if key == "event_time" else value
        for key, value in zip(self.metric_keys, metric_values, strict=True):
            out[key] = _number(value)
        return out

    def _time(self, value: str) -> str:
        try:
            moment = datetime.strptime(value, "%Y%m%d%H%M").replace(tzinfo=self._zone)
        except ValueError:
            return value
        return moment.isoformat()


def resolve(definition: Definition, connection: Any) -> Report:
    """``connection`` has session_id_dimension, web_user_id_dimension, branch_id_dimension and
    time_zone (a GA4Connection row)."""
    names = {
        "{session_id}": connection.session_id_dimension,
        "{web_user_id}": connection.web_user_id_dimension,
        "{branch_id}": connection.branch_id_dimension,
    }
    api = [names.get(d, d) for d in definition.dimensions]
    keys = [PLACEHOLDERS.get(d) or output_key(d) for d in definition.dimensions]
    return Report(
        definition=definition,
        api_dimensions=api,
        keys=keys,
        metric_keys=[output_key(m) for m in definition.metrics],
        time_zone=connection.time_zone,
        _zone=ZoneInfo(connection.time_zone),
    )


def output_key(name: str) -> str:
    if name == "dateHourMinute":
        return "event_time"
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.replace(":", "_"))
    return snake.lower()


def _number(value: str) -> int | float | str:
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value else number
