"""``python -m ingestion_service``: serve the ingestion API with uvicorn on
INGESTION_HOST:INGESTION_PORT."""

import uvicorn

from ingestion_service.config import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "ingestion_service.main:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )


if __name__ == "__main__":
    main()
