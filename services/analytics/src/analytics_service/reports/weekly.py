"""The weekly summary of a branch: its Monday-to-Sunday week from ``analytics.weekly_summary``
(totals per day, the week's top items, failed searches and bounced pages) compared with the
week before, rendered with jinja2 as the daily report is (table HTML with inline styles, and
plain text)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.reports.report import environment
from analytics_service.reports.sections import money
from analytics_service.sales import repository as sales

# (metric, label, how it is shown): money, a count, or a percentage (compared in points)
METRICS = [
    ("total_revenue", "Revenue", "money"),
    ("purchases", "Purchases", "count"),
    ("visitors", "Visitors", "count"),
    ("unique_users", "Unique users", "count"),
    ("conversion_rate", "Conversion", "percent"),
    ("abandoned_carts", "Abandoned carts", "count"),
    ("searches", "Searches", "count"),
    ("failed_searches", "Failed searches", "count"),
    ("repeat_visits", "Repeat visits", "count"),
]


def subject(week_start: date, branch_code: str) -> str:
    week_end = week_start + timedelta(days=6)
    return f"Weekly Branch Sales Summary - {week_start} to {week_end} - {branch_code}"


@dataclass(frozen=True)
class WeeklySummary:
    week_start: date
    branch_code: str
    branch_name: str | None
    metrics: dict[str, Any]
    previous: dict[str, Any]
    days: list[dict[str, Any]]  # {date, revenue, purchases, visitors}, Monday first
    top_items: list[dict[str, Any]]
    top_searches: list[tuple[str, int]]
    top_pages: list[tuple[str, int]]

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def subject(self) -> str:
        return subject(self.week_start, self.branch_code)

    @property
    def is_empty(self) -> bool:
        """No visit, purchase, cart or search all week."""
        return not any(
            self.metrics[k] for k in ("visitors", "purchases", "searches", "abandoned_carts")
        )

    @property
    def empty_reason(self) -> str:
        return f"no activity at branch {self.branch_code} from {self.week_start} to {self.week_end}"

    @property
    def comparisons(self) -> list[list[str]]:
        """Per metric: its name, this week's, the week before's, the change."""
        return [
            [label, _shown(self.metrics[key], how), _shown(self.previous[key], how),
             _change(self.metrics[key], self.previous[key], how)]
            for key, label, how in METRICS
        ]  # fmt: skip

    @property
    def day_rows(self) -> list[list[str]]:
        return [
            [f"{d['date']:%a %Y-%m-%d}", money(d["revenue"]), str(d["purchases"]),
             str(d["visitors"])]
            for d in self.days
        ]  # fmt: skip

    @property
    def item_rows(self) -> list[list[str]]:
        return [
            [f"{i['item_name'] or i['item_id']} ({i['item_id']})", str(i["quantity"]),
             money(i["revenue"])]
            for i in self.top_items
        ]  # fmt: skip


def _shown(value: Any, how: str) -> str:
    if how == "money":
        return money(value)
    if how == "percent":
        return f"{Decimal(str(value)):.2f}%"
    return str(value)


def _change(now: Any, before: Any, how: str) -> str:
    """The difference with the week before, and how large it is against it."""
    diff = Decimal(str(now)) - Decimal(str(before))
    if diff == 0:
        return "no change"
    if how == "percent":
        return f"{diff:+.2f} points"
    shown = f"{diff:+,.2f}" if how == "money" else f"{diff:+}"
    if before == 0:
        return f"{shown} (none the week before)"
    return f"{shown} ({diff / Decimal(str(before)) * 100:+.1f}%)"


async def build(
    session: AsyncSession, tenant_id: uuid.UUID, week_start: date, branch_code: str
) -> WeeklySummary:
    answer = await sales.call(session, "weekly_summary", tenant_id, branch_code, week_start)
    location = answer["location"] or {}
    return WeeklySummary(
        week_start=week_start,
        branch_code=branch_code,
        branch_name=location.get("location_name"),
        metrics=answer["metrics"],
        previous=answer["previous_metrics"],
        days=[{**d, "date": date.fromisoformat(d["date"])} for d in answer["days"]],
        top_items=answer["top_items"],
        top_searches=[(s["search_term"], s["searches"]) for s in answer["top_searches"]],
        top_pages=[(p["page_location"] or "", p["bounces"]) for p in answer["top_pages"]],
    )


def render(summary: WeeklySummary, unsubscribe_url: str | None = None) -> tuple[str, str]:
    """(HTML, plain text) of the summary; the unsubscribe link is in both when given."""
    context = {"w": summary, "unsubscribe_url": unsubscribe_url}
    env = environment()
    html = env.get_template("weekly_summary.html").render(context)
    text = env.get_template("weekly_summary.txt").render(context)
    return html, text
