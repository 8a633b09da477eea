"""``python -m auth_service``: serve the auth API with uvicorn on AUTH_HOST:AUTH_PORT."""

from auth_service.config import get_settings
from common.app import serve

if __name__ == "__main__":
    serve(get_settings(), "auth_service.main:app_from_environment")
