"""``python -m ingestion_service``: the ingestion API on INGESTION_HOST:INGESTION_PORT."""

from common.app import serve
from ingestion_service.config import get_settings

if __name__ == "__main__":
    serve(get_settings(), "ingestion_service.main:app_from_environment")
