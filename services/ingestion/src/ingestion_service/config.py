"""Ingestion service settings (prefix ``INGESTION_``; shared values may be given bare)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from common.config import ServiceSettings


class IngestionSettings(ServiceSettings):
    service_name = "ingestion"
    default_port = 8002
    model_config = SettingsConfigDict(env_prefix="INGESTION_", env_file=".env", extra="ignore")

    # The gaming backend's Idempotency-Key retention.
    idempotency_hours: int = 24
    # How long a request waits for a twin holding the same Idempotency-Key to finish: a twin
    # that commits within it is replayed, one still running after it is answered 409.
    idempotency_wait_ms: int = 1000
    # POST /data/events batches worked on at once by one process; one more is answered 429.
    max_concurrent_batches: int = 8
    # POST /data/uploads/{kind}: the largest CSV file taken in (the app's body limit does not
    # apply to it; the file is streamed, never held in memory).
    max_upload_bytes: int = 2 * 1024**3

    # GA4 pulls. The Data API's address (tests and benchmarks point it at the local fake).
    ga4_api_url: str = "https://analyticsdata.googleapis.com"
    # Rows per runReport page (Google allows up to 250,000).
    ga4_page_size: int = 10_000
    # Requests in flight per property (Google's concurrent-request quota is 10).
    ga4_max_concurrent_requests: int = 10
    # Attempts of one request on a 5xx or a dropped connection, backing off from the base.
    ga4_max_attempts: int = 5
    ga4_retry_base_seconds: float = 1.0
    # Days Google may still correct: the daily schedule re-pulls them; availability flags them.
    ga4_processing_days: int = 3
    # The longest date range one ingest job may cover.
    ga4_max_job_days: int = 400


@lru_cache
def get_settings() -> IngestionSettings:
    return IngestionSettings()
