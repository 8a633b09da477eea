"""The six files of the gaming backend's data/ folder: their exact columns, and how a row of
each is read (typed, normalised, hashed) or refused with a reason.

Curation stays analytics' job: text is kept as written (campaigns untrimmed), and a revenue that
is no number is kept as null beside its text, with a warning (the seed's pipeline counts it as 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from ingestion_service.customers.repository import BRANCHES, USERS, RecordTable
from ingestion_service.customers.schemas import BranchIn, UserIn
from ingestion_service.customers.service import record_of
from ingestion_service.events.schemas import within_calendar

# Amounts are kept to the millionth, below a hundred trillion (numeric(20, 6)).
_CENTS = Decimal("0.000001")
_MAX_AMOUNT = Decimal(10) ** 14
_EARLIEST_DATE, _LATEST_DATE = date(1900, 1, 1), date(2200, 1, 1)
_STATUSES = ("success", "chargeback")
_TRUE, _FALSE = ("true", "t", "yes", "y", "1"), ("false", "f", "no", "n", "0")


class RowError(ValueError):
    """Why a row is refused."""


class HeaderError(ValueError):
    """What is wrong with a header: (column, problem, type) each."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(f"{column}: {problem}" for column, problem, _ in problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    """A row read: its values in the kind's column order, the hash of their normalised form
    (which makes two spellings of one row, such as 12,50 and 12.5, the same row), and what is
    odd about it but kept."""

    values: tuple[Any, ...]
    row_hash: bytes = b""
    warning: str | None = None


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _required(text: str, field: str, longest: int) -> str:
    if not text.strip():
        raise RowError(f"{field} is empty")
    return _optional(text, field, longest) or text


def _optional(text: str, field: str, longest: int) -> str | None:
    if len(text) > longest:
        raise RowError(f"{field} is longer than {longest} characters")
    return text or None


def _time(text: str, field: str) -> datetime:
    """ISO 8601; without an offset it is UTC."""
    if not text.strip():
        raise RowError(f"{field} is empty")
    try:
        value = datetime.fromisoformat(text.strip())
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return within_calendar(value)
    except (ValueError, OverflowError):
        raise RowError(f"{field} is not a date and time: {_quoted(text)}") from None


def _date(text: str, field: str) -> date:
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise RowError(f"{field} is not a date (YYYY-MM-DD): {_quoted(text)}") from None
    if not _EARLIEST_DATE <= value < _LATEST_DATE:
        raise RowError(f"{field} must lie between 1900 and 2200")
    return value


def amount(text: str) -> Decimal | None:
    """A number written with ``,`` or ``.`` before its decimals (12,50 = 12.50), to the
    millionth; None when it is none (empty, text, NaN, too large)."""
    cleaned = text.strip().replace(",", ".")
    if not cleaned or "_" in cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= _MAX_AMOUNT:
        return None
    return value.quantize(_CENTS)


def _hash(*parts: object) -> bytes:
    normal = "\x1f".join("\x00" if part is None else str(part) for part in parts)
    return hashlib.sha256(normal.encode()).digest()


def _purchase(fields: Sequence[str], with_status: bool) -> Row:
    appsflyer_id = _required(fields[0], "appsflyer_id", 200)
    event_name = _required(fields[1], "event_name", 100)
    event_time = _time(fields[2], "event_time_utc")
    revenue = amount(fields[3])
    raw = None if revenue is not None else _optional(fields[3], "revenue_usd", 200)
    campaign = _optional(fields[4], "campaign", 500)
    receipt_id = _optional(fields[5], "receipt_id", 200)
    values: tuple[Any, ...] = (
        appsflyer_id,
        event_name,
        event_time,
        revenue,
        raw,
        campaign,
        receipt_id,
    )
    if with_status:
        status = fields[6].strip().lower()
        if status not in _STATUSES:
            raise RowError(f"status must be success or chargeback, not {_quoted(fields[6])}")
        values += (status,)
    warning = None
    if revenue is None:
        warning = f"revenue_usd is not a number: {_quoted(fields[3])}; kept as null"
    return Row(values, _hash(*values), warning)


def _cost(fields: Sequence[str]) -> Row:
    cost_date = _date(fields[0], "date")
    campaign = _required(fields[1], "campaign", 500)
    cost = amount(fields[2])
    if cost is None:
        raise RowError(f"ad_cost_usd is not a number: {_quoted(fields[2])}")
    if cost < 0:
        raise RowError(f"ad_cost_usd is negative: {fields[2].strip()}")
    values = (cost_date, campaign, cost)
    return Row(values, _hash(*values))


def _session(fields: Sequence[str]) -> Row:
    values = (
        _time(fields[0], "event_timestamp_utc"),
        _required(fields[1], "user_id", 200),
        _required(fields[2], "event_name", 100),
    )
    return Row(values, _hash(*values))


def _validated(model: type[BaseModel], table: RecordTable, data: dict[str, Any]) -> Row:
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RowError(f"{where}: {first['msg']}") from None
    return Row(record_of(record, table))


def _user(fields: Sequence[str]) -> Row:
    _required(fields[0], "user_id", 128)
    names = ("user_id", *(name for name, _ in USERS.fields))
    return _validated(UserIn, USERS, {n: v or None for n, v in zip(names, fields, strict=True)})


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE or not word:
        return True
    if word in _FALSE:
        return False
    raise RowError(f"active must be true or false, not {_quoted(text)}")


def _location(fields: Sequence[str]) -> Row:
    data = {
        "branch_id": _required(fields[0], "location_id", 128),
        "name": fields[1] or None,
        "city": fields[2] or None,
        "state": fields[3] or None,
        "active": _flag(fields[4]),
    }
    return _validated(BranchIn, BRANCHES, data)


@dataclass(frozen=True)
class Kind:
    """One kind of file: its columns (``optional`` ones may be left out of the header) and
    how a row of it is read, its fields given in that column order."""

    name: str
    columns: tuple[str, ...]
    read: Callable[[Sequence[str]], Row]
    optional: tuple[str, ...] = ()
    # For users and locations: the customer records the rows upsert.
    records: RecordTable | None = None

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + self.optional

    def positions(self, header: Sequence[str]) -> list[int | None]:
        """Where each of the kind's columns is in a file with this header (None: an optional
        column left out). Every column must be named once, and no other (in any order;
        spaces around a name are ignored)."""
        problems: list[tuple[str, str, str]] = []
        found: dict[str, int] = {}
        for index, raw in enumerate(header):
            name = raw.strip()
            if name in found:
                problems.append((name, "is named twice", "duplicate_column"))
            elif name not in self.all_columns:
                problems.append((name, f"is not a column of {self.name}", "unknown_column"))
            found.setdefault(name, index)
        for name in self.columns:
            if name not in found:
                problems.append((name, "is missing", "missing_column"))
        if problems:
            raise HeaderError(problems)
        return [found.get(name) for name in self.all_columns]


_PURCHASE_COLUMNS = (
    "appsflyer_id",
    "event_name",
    "event_time_utc",
    "revenue_usd",
    "campaign",
    "receipt_id",
)
KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            "purchases_raw",
            (*_PURCHASE_COLUMNS, "status"),
            lambda fields: _purchase(fields, with_status=True),
        ),
        Kind(
            "confirmed_purchases",
            _PURCHASE_COLUMNS,
            lambda fields: _purchase(fields, with_status=False),
        ),
        Kind("costs_daily", ("date", "campaign", "ad_cost_usd"), _cost),
        Kind("sessions", ("event_timestamp_utc", "user_id", "event_name"), _session),
        Kind(
            "users",
            ("user_id", "buying_company_name", "email", "cell_phone", "office_phone"),
            _user,
            records=USERS,
        ),
        Kind(
            "locations",
            ("location_id", "location_name", "city", "state"),
            _location,
            optional=("active",),
            records=BRANCHES,
        ),
    )
}
# The file names of the gaming backend's data/ folder (and of the GA seed's tables).
FILE_NAMES = {f"{name}.csv": name for name in KINDS}
