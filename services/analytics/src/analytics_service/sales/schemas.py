"""The GA system's parameters and answers of its task lists, dashboard and histories."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, Field, model_validator

MAX_LIMIT = 1000
MAX_PAGE = 1_000_000
# GA4 began in 2020: bounds outside this century are a mistake, not a question.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def _in_century(value: date | None) -> date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValueError(f"the date must lie between {EARLIEST} and {LATEST}")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Day = Annotated[date | None, AfterValidator(_in_century)]
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
Text = Annotated[str | None, Field(None, min_length=1, max_length=200, pattern=_NO_CONTROL)]


class Dates(BaseModel):
    start_date: Day = Field(None, description="Inclusive (the GA4 property's day).")
    end_date: Day = Field(None, description="Inclusive (the GA4 property's day).")

    @model_validator(mode="after")
    def _ordered(self) -> Dates:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date is after end_date")
        return self


class Period(Dates):
    location_id: Text = Field(None, description="Only this branch (the event's branch id).")


class Paging(BaseModel):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based.")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class TaskQuery(Period, Paging):
    query: Text = Field(None, description="Case-insensitive text the task's items must hold.")


class StatsQuery(Period):
    granularity: Literal["day", "week", "month"] = Field(
        "day", description="One chart point per day, week (from Monday) or month."
    )


class EventsQuery(Dates, Paging):
    order: Literal["newest", "oldest"] = Field("newest", description="Newest or oldest first.")


class Customer(BaseModel):
    """The user fields of every item (null when the customer is unknown)."""

    user_id: str | None
    customer_name: str | None
    email: str | None
    phone: str | None
    office_phone: str | None


T = TypeVar("T")


class TaskPage(BaseModel, Generic[T]):
    data: list[T]
    total: int
    page: int
    limit: int
    has_more: bool


class PurchasedProduct(BaseModel):
    item_id: str | None
    item_name: str | None
    quantity: int
    revenue: float


class PurchaseTask(Customer):
    transaction_id: str | None
    event_date: date
    order_value: float
    page_location: str | None
    ga_session_id: str | None
    products: list[PurchasedProduct]


class CartProduct(BaseModel):
    item_id: str | None
    item_name: str | None
    quantity: int


class CartAbandonmentTask(Customer):
    ga_session_id: str
    event_date: date
    last_activity: UtcDateTime | None
    total_value: float
    items_count: int
    products: list[CartProduct]


class SearchTask(Customer):
    search_type: Literal["no_results", "no_conversion"]
    search_term: str | None
    search_count: int
    ga_session_id: str | None
    event_date: date
    last_activity: UtcDateTime | None


class ViewedProduct(BaseModel):
    item_id: str | None
    item_name: str | None
    views: int


class RepeatVisitTask(Customer):
    ga_session_id: str
    event_date: date
    last_activity: UtcDateTime | None
    page_views_count: int
    products_viewed: int
    products_details: list[ViewedProduct]


class BounceTask(Customer):
    ga_session_id: str
    event_date: date
    last_activity: UtcDateTime | None
    page_location: str | None
    page_title: str | None
    page_views_count: int


class BouncedPage(BaseModel):
    page_location: str | None
    bounces: int


class PerformancePage(TaskPage[BounceTask]):
    top_pages: list[BouncedPage] = Field(description="The top 10 bounced entry pages.")


class Metrics(BaseModel):
    total_revenue: float
    purchases: int
    visitors: int = Field(description="Sessions with page views.")
    unique_users: int
    abandoned_carts: int
    searches: int = Field(description="Search result views and failed searches.")
    failed_searches: int
    repeat_visits: int
    conversion_rate: float = Field(description="Percentage of visitors' sessions that bought.")


class ChartPoint(BaseModel):
    date: date
    revenue: float
    purchases: int
    visitors: int


class Location(BaseModel):
    location_id: str
    location_name: str | None
    city: str | None
    state: str | None


class LocationStats(Location):
    revenue: float
    purchases: int
    visitors: int
    unique_users: int
    conversion_rate: float


class Dashboard(BaseModel):
    metrics: Metrics
    # camelCase: the GA system's names of these two
    chartData: list[ChartPoint]
    locationStats: list[LocationStats]


class ActiveLocation(Location):
    page_views: int


class Locations(BaseModel):
    data: list[ActiveLocation]


class Event(Customer):
    event_type: str = Field(description="The GA4 row's kind: page_view, view_item, purchase...")
    event_time: UtcDateTime | None
    event_date: date
    ga_session_id: str | None
    location_id: str | None
    details: dict[str, Any]
