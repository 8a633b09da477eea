"""Field types the services' request schemas share."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD: pydantic would also read a number as a Unix time."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
