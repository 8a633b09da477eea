from __future__ import annotations

import pytest
from pydantic import ValidationError

from auth_service.config import AuthSettings
from common.config import DEV_PLACEHOLDER


def test_nested_placeholder_secrets_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        AuthSettings(
            environment="production",
            database_url="postgresql://db/x",
            db_role_secret="r" * 32,
            service_client_secret="s" * 32,
            encryption_key="e" * 32,
            service_client_secrets={"ingestion": DEV_PLACEHOLDER},
        )
    assert "service_client_secrets.ingestion still hold" in str(caught.value)
