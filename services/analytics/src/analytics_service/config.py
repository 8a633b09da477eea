"""Analytics service settings (prefix ``ANALYTICS_``; shared values may be given bare)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from analytics_service.reports.destinations import (
    DEFAULT_DENIED,
    DEVELOPMENT_ALLOWED,
    TEST_ALLOWED,
    Destination,
    SmtpPolicy,
)
from common.config import DEV_PLACEHOLDER, ServiceSettings


class AnalyticsSettings(ServiceSettings):
    service_name = "analytics"
    default_port = 8001
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", env_file=".env", extra="ignore")

    # Months of fact partitions made ahead of the current one (daily, and by the migrations).
    partition_months_ahead: int = 3
    # Memory a pipeline run's sorts and hashes may take each (PostgreSQL's work_mem, for its
    # transaction only): at the default 4MB a million purchases sort on disk.
    pipeline_work_mem: str = "256MB"
    # Reports by email: the key of tenants' SMTP passwords at rest and of unsubscribe links.
    email_secret: SecretStr = SecretStr(DEV_PLACEHOLDER)
    smtp_timeout_seconds: float = 20.0
    # Runs of a send job before its failed deliveries are final (retried with backoff between).
    email_send_attempts: int = 4
    # Acknowledged momentum and spike alerts are deleted this many days after their detection.
    signal_alert_retention_days: int = Field(90, ge=1)
    # SMTP connections a send job uses at once (each building, rendering and sending its own
    # branches' reports, one after the other).
    email_send_connections: int = Field(4, ge=1, le=16)
    # Tenants' report schedules due at the same time start up to this many seconds apart (each
    # tenant after its own fixed offset: reports/cron.py, stagger).
    email_schedule_stagger_seconds: int = 300
    # Where tenants' SMTP settings may make the service connect (reports/destinations.py):
    # "network" or "network:port". Allowed first, then denied; None allows make run's SMTP sink
    # (127.0.0.1:8025) in development and loopback in tests, nothing elsewhere.
    smtp_allowed_destinations: list[str] | None = None
    smtp_denied_destinations: list[str] = list(DEFAULT_DENIED)

    @field_validator("smtp_allowed_destinations", "smtp_denied_destinations")
    @classmethod
    def _destinations(cls, value: list[str] | None) -> list[str] | None:
        for entry in value or []:
            Destination.parse(entry)
        return value

    @model_validator(mode="after")
    def _default_allowed(self) -> AnalyticsSettings:
        if self.smtp_allowed_destinations is None:
            defaults = {"development": DEVELOPMENT_ALLOWED, "test": TEST_ALLOWED}
            self.smtp_allowed_destinations = list(defaults.get(self.environment, ()))
        return self

    @property
    def smtp_policy(self) -> SmtpPolicy:
        return SmtpPolicy.from_lists(
            self.smtp_allowed_destinations or (), self.smtp_denied_destinations
        )


@lru_cache
def get_settings() -> AnalyticsSettings:
    return AnalyticsSettings()
