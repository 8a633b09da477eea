"""The daily branch report: one day of one branch from the sales SQL functions (the first 50
rows of each task list, the dashboard's totals, top searches and top pages), rendered with
jinja2 as table-based HTML with inline styles and as plain text."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.reports import repository
from analytics_service.reports.sections import money, sections

ROWS = 50  # of each task list
TOP = 10  # searches and pages
TREND_DAYS = 14  # the chart of the branch's last two weeks, the report's day the last
BAR_HEIGHT = 60  # pixels of the chart's highest bar
TASK_FUNCTIONS = {
    "purchases": "purchase_tasks",
    "abandoned_carts": "cart_abandonment_tasks",
    "searches": "search_analysis_tasks",
    "repeat_visits": "repeat_visit_tasks",
    "bounces": "performance_tasks",
}


def subject(report_date: date, branch_code: str) -> str:
    return f"Daily Branch Sales Report - {report_date.isoformat()} - {branch_code}"


@dataclass(frozen=True)
class Report:
    report_date: date
    branch_code: str
    branch_name: str | None
    metrics: dict[str, Any]
    tasks: dict[str, dict[str, Any]]  # kind -> {data, total}
    top_searches: list[tuple[str, int]]
    top_pages: list[tuple[str, int]]
    trend: list[dict[str, Any]]  # {date, revenue, purchases, visitors} a day, oldest first

    @property
    def subject(self) -> str:
        return subject(self.report_date, self.branch_code)

    @property
    def is_empty(self) -> bool:
        """No visit, purchase, cart or search that day."""
        return not any(page["total"] for page in self.tasks.values()) and not any(
            self.metrics[k] for k in ("visitors", "purchases", "searches", "abandoned_carts")
        )

    @property
    def empty_reason(self) -> str:
        return f"no activity at branch {self.branch_code} on {self.report_date}"


async def build(
    session: AsyncSession, tenant_id: uuid.UUID, report_date: date, branch_code: str
) -> Report:
    parts = await repository.daily_report_parts(
        session, tenant_id, report_date, branch_code, ROWS, TASK_FUNCTIONS, TREND_DAYS
    )
    dashboard = parts.pop("dashboard")
    trend = parts.pop("trend")
    tasks = parts
    names = [s["location_name"] for s in dashboard["locationStats"]]
    return Report(
        report_date=report_date,
        branch_code=branch_code,
        branch_name=names[0] if names else None,
        metrics=dashboard["metrics"],
        tasks=tasks,
        top_searches=_top_searches(tasks["searches"]["data"]),
        top_pages=[(p["page_location"] or "", p["bounces"]) for p in tasks["bounces"]["top_pages"]],
        trend=trend,
    )


def bars(trend: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """The chart's bars: (day of the month, height in pixels, revenue) a day; the highest
    revenue BAR_HEIGHT pixels, the others in proportion, a day without revenue 1 pixel."""
    peak = max((float(point["revenue"]) for point in trend), default=0.0)
    return [
        (
            point["date"][8:10],
            max(1, round(BAR_HEIGHT * float(point["revenue"]) / peak)) if peak else 1,
            money(point["revenue"]),
        )
        for point in trend
    ]


def _top_searches(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Failed search terms by searches, most first (ties by term)."""
    counts: Counter[str] = Counter()
    for row in rows:
        if row["search_type"] == "no_results" and row["search_term"]:
            counts[row["search_term"]] += row["search_count"]
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]


@lru_cache
def environment() -> Environment:
    """The reports' templates (templates/), HTML escaped, an undefined name an error."""
    env = Environment(
        loader=PackageLoader("analytics_service.reports", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = money
    return env


def render(report: Report, unsubscribe_url: str | None = None) -> tuple[str, str]:
    """(HTML, plain text) of the report; the unsubscribe link is in both when given."""
    context = {
        "r": report,
        "m": report.metrics,
        "sections": sections(report.tasks),
        "bars": bars(report.trend),
        "unsubscribe_url": unsubscribe_url,
    }
    env = environment()
    html = env.get_template("daily_report.html").render(context)
    text = env.get_template("daily_report.txt").render(context)
    return html, text
