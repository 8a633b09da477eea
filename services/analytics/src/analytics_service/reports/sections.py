"""The report's task lists as tables of text: a title, the columns, a row of cells per task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Task = dict[str, Any]


def money(value: object) -> str:
    return f"{float(value or 0):,.2f}"  # type: ignore[arg-type]


def _customer(t: Task) -> str:
    return str(t["customer_name"] or t["user_id"] or "Unknown visitor")


def _contact(t: Task) -> str:
    return " / ".join(v for v in (t["email"], t["phone"] or t["office_phone"]) if v) or "-"


def _products(items: list[Task], count: str) -> str:
    return ", ".join(f"{p['item_name'] or p['item_id']} x{p[count]}" for p in items) or "-"


COLUMNS: dict[str, tuple[str, list[str], Callable[[Task], list[str]]]] = {
    "purchases": (
        "Purchases to follow up",
        ["Customer", "Contact", "Transaction", "Order value", "Products"],
        lambda t: [t["transaction_id"] or "-", money(t["order_value"]),
                   _products(t["products"], "quantity")],
    ),
    "abandoned_carts": (
        "Abandoned carts",
        ["Customer", "Contact", "Items", "Cart value", "Products"],
        lambda t: [str(t["items_count"]), money(t["total_value"]),
                   _products(t["products"], "quantity")],
    ),
    "searches": (
        "Searches without results or purchase",
        ["Customer", "Contact", "Type", "Terms", "Searches"],
        lambda t: [t["search_type"].replace("_", " "), t["search_term"] or "-",
                   str(t["search_count"])],
    ),
    "repeat_visits": (
        "Repeat visits",
        ["Customer", "Contact", "Pages viewed", "Products viewed"],
        lambda t: [str(t["page_views_count"]), _products(t["products_details"], "views")],
    ),
    "bounces": (
        "Bounced visits",
        ["Customer", "Contact", "Page", "Views"],
        lambda t: [t["page_location"] or "-", str(t["page_views_count"])],
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]]
    total: int

    @property
    def more(self) -> int:
        """Tasks beyond the rows shown."""
        return self.total - len(self.rows)


def sections(tasks: dict[str, dict[str, Any]]) -> list[Section]:
    out = []
    for kind, (title, columns, cells) in COLUMNS.items():
        page = tasks[kind]
        rows = [[_customer(t), _contact(t), *cells(t)] for t in page["data"]]
        out.append(Section(title, columns, rows, page["total"]))
    return out
