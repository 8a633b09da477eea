"""``python -m auth_service``: serve the auth API with uvicorn on AUTH_HOST:AUTH_PORT."""

import uvicorn

from auth_service.config import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "auth_service.main:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )


if __name__ == "__main__":
    main()
