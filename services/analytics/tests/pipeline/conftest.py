"""A small warehouse worked by hand, sent through the real intake (ingestion's kinds' shapes).

As of 2026-11-20, D-1 is Thursday 2026-11-19. Tenant A's rows, by what they test:

purchases (raw)                                   confirmations
P1  af-1 11-19 10:00 "12,5" (text) " summer " r-1  C1 af-1 10:03 12.5  r-1  (receipt)
P2  P1 again, 12.5 as a number, "Summer"  (dup)
P3  af-2 11-19 11:00 20   Summer  r-2             C2 af-2 11:30 20    r-2  (receipt, 30 min)
    af-2 11-19 15:00 20   Summer  r-2 chargeback  -> P3 kept at revenue 0
P4  af-3 11-19 12:00 8    winter  -               C4 af-3 12:04 9     -    (P4 4 min, P5
P5  af-3 11-19 12:06 9    Winter  -                                         2 min: P5 wins)
P6  af-4 11-19 13:00 5    Spring  r-6             C3 af-4 13:01 5.5   r-6  (amount 0.5 off)
    af-5 11-19 level_up; af-5 11-19 "abc" revenue -> dropped
P10 af-7 11-18 10:00 30   Summer  r-10            C6 af-7 10:01 30  r-other (receipts differ)
                                                  C5 af-9 11-19 14:00 7 r-99 (no purchase)
history (no confirmation): Summer 11-12 20, 11-05 22, 10-29 18, 10-22 40;
                           Winter 11-18 30, 11-12 6, 11-05 5, 10-29 5.5
costs: 11-19 "Summer " 50, WINTER 34, Autumn 10 (Spring none); 11-18 Summer 30, Winter 10;
       11-12, 11-05, 10-29: Summer 10, Winter 10; 10-22 Summer 10
sessions: 11-19 u1, u2, u3, u1 again; 11-18 u4 (another day)

Tenant B has the same af-1 purchase at 1000, its confirmation, a cost and a session.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from analytics_testing import Callers, fact

AS_OF = "2026-11-20"
UPLOAD = uuid.UUID("6f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f")


class Facts:
    def __init__(self, tenant: uuid.UUID) -> None:
        self.tenant = tenant
        self.items: list[dict[str, Any]] = []

    def _add(self, kind: str, data: dict[str, Any]) -> None:
        line = len(self.items) + 2
        self.items.append(
            fact(f"ingestion.{kind}.v1", self.tenant, {"upload_id": str(UPLOAD), "line": line,
                                                      **data})
        )  # fmt: skip

    def purchase(
        self,
        af: str,
        at: str,
        revenue: float | str | None,
        campaign: str | None,
        receipt: str | None,
        *,
        status: str = "success",
        event_name: str = "purchase",
        confirmed: bool = False,
    ) -> None:
        number = revenue if not isinstance(revenue, str) else None
        data = {
            "appsflyer_id": af,
            "event_name": event_name,
            "event_time_utc": at,
            "revenue_usd": number,
            "revenue_raw": revenue if isinstance(revenue, str) else None,
            "campaign": campaign,
            "receipt_id": receipt,
        }
        if confirmed:
            self._add("purchase_confirmed", data)
        else:
            self._add("purchase_raw", {**data, "status": status})

    def cost(self, day: str, campaign: str, amount: float) -> None:
        self._add("cost_daily", {"cost_date": day, "campaign": campaign, "ad_cost_usd": amount})

    def session(self, at: str, user: str) -> None:
        self._add(
            "session_event",
            {"event_timestamp_utc": at, "user_id": user, "event_name": "session_start"},
        )


def tenant_a(tenant: uuid.UUID) -> Facts:
    f = Facts(tenant)
    day = "2026-11-19T"
    f.purchase("af-1", day + "10:00:00Z", "12,5", " summer ", "r-1")  # P1
    f.purchase("af-1", day + "10:00:00Z", 12.5, "Summer", "r-1")  # P2, a duplicate
    f.purchase("af-2", day + "11:00:00Z", 20, "Summer", "r-2")  # P3
    f.purchase("af-2", day + "15:00:00Z", 20, "Summer", "r-2", status="chargeback")
    f.purchase("af-3", day + "12:00:00Z", 8, "winter", None)  # P4
    f.purchase("af-3", day + "12:06:00Z", 9, "Winter", None)  # P5
    f.purchase("af-4", day + "13:00:00Z", 5, "Spring", "r-6")  # P6
    f.purchase("af-5", day + "13:30:00Z", 3, "Summer", None, event_name="level_up")
    f.purchase("af-5", day + "13:40:00Z", "abc", "Summer", None)
    f.purchase("af-7", "2026-11-18T10:00:00Z", 30, "Summer", "r-10")  # P10
    for n, (at, revenue, campaign) in enumerate(
        [("2026-11-12", 20, "Summer"), ("2026-11-05", 22, "Summer"), ("2026-10-29", 18, "Summer"),
         ("2026-10-22", 40, "Summer"), ("2026-11-18", 30, "Winter"), ("2026-11-12", 6, "Winter"),
         ("2026-11-05", 5, "Winter"), ("2026-10-29", 5.5, "Winter")]
    ):  # fmt: skip
        f.purchase(f"hist-{n}", f"{at}T08:00:00Z", revenue, campaign, None)
    f.purchase("af-1", day + "10:03:00Z", 12.5, "Summer", "r-1", confirmed=True)  # C1
    f.purchase("af-2", day + "11:30:00Z", 20, "Summer", "r-2", confirmed=True)  # C2
    f.purchase("af-4", day + "13:01:00Z", 5.5, "Spring", "r-6", confirmed=True)  # C3
    f.purchase("af-3", day + "12:04:00Z", 9, "Winter", None, confirmed=True)  # C4
    f.purchase("af-9", day + "14:00:00Z", 7, "Summer", "r-99", confirmed=True)  # C5
    f.purchase("af-7", "2026-11-18T10:01:00Z", 30, "Summer", "r-other", confirmed=True)  # C6
    for day_, campaign, amount in [
        ("2026-11-19", "Summer ", 50), ("2026-11-19", "WINTER", 34), ("2026-11-19", "Autumn", 10),
        ("2026-11-18", "Summer", 30), ("2026-11-18", "Winter", 10),
        ("2026-11-12", "Summer", 10), ("2026-11-12", "Winter", 10),
        ("2026-11-05", "Summer", 10), ("2026-11-05", "Winter", 10),
        ("2026-10-29", "Summer", 10), ("2026-10-29", "Winter", 10), ("2026-10-22", "Summer", 10),
    ]:  # fmt: skip
        f.cost(day_, campaign, amount)
    for at, user in [("08:00", "u1"), ("09:00", "u2"), ("23:59", "u3"), ("12:00", "u1")]:
        f.session(f"{day}{at}:00Z", user)
    f.session("2026-11-18T12:00:00Z", "u4")
    return f


def tenant_b(tenant: uuid.UUID) -> Facts:
    f = Facts(tenant)
    f.purchase("af-1", "2026-11-19T10:00:00Z", 1000, "Summer", "r-1")
    f.purchase("af-1", "2026-11-19T10:01:00Z", 1000, "Summer", "r-1", confirmed=True)
    f.cost("2026-11-19", "Summer", 1)
    f.session("2026-11-19T10:00:00Z", "u9")
    return f


async def send(client: httpx.AsyncClient, callers: Callers, facts: Facts) -> None:
    body = {"source": "ingestion", "facts": facts.items}
    response = await client.post(
        "/internal/facts", json=body, headers=callers.service("ingestion").headers
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def other_tenant() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
async def warehouse(
    client: httpx.AsyncClient, callers: Callers, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    """Tenant A's and tenant B's rows, stored."""
    await send(client, callers, tenant_a(tenant))
    await send(client, callers, tenant_b(other_tenant))
