"""Analytics service settings (prefix ``ANALYTICS_``; shared values may be given bare)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

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


@lru_cache
def get_settings() -> AnalyticsSettings:
    return AnalyticsSettings()
