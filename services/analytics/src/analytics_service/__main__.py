"""``python -m analytics_service``: the analytics API on ANALYTICS_HOST:ANALYTICS_PORT."""

from analytics_service.config import get_settings
from common.app import serve

if __name__ == "__main__":
    serve(get_settings(), "analytics_service.main:app_from_environment")
