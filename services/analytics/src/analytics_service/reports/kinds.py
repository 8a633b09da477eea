"""The kinds of report a send job carries: each is built for (tenant, day, branch), rendered as
(HTML, plain text) with a recipient's unsubscribe link, and named by its subject. The daily
branch report's day is its date; the weekly summary's is the Monday its week begins."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.reports import report, weekly


@dataclass(frozen=True)
class Kind:
    # (session, tenant, day, branch) -> a report with .subject, .is_empty and .empty_reason
    build: Callable[[AsyncSession, uuid.UUID, date, str], Awaitable[Any]]
    render: Callable[[Any, str | None], tuple[str, str]]
    subject: Callable[[date, str], str]


KINDS: dict[str, Kind] = {
    "daily_branch_report": Kind(report.build, report.render, report.subject),
    "weekly_summary": Kind(weekly.build, weekly.render, weekly.subject),
}
