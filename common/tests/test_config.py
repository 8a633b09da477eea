from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from common.config import DEV_PLACEHOLDER
from common_testing import ProbeSettings


def test_placeholder_secrets_are_refused_outside_development() -> None:
    with pytest.raises(ValidationError) as caught:
        ProbeSettings(environment="production", database_url="postgresql://db/x")
    assert "db_role_secret, service_client_secret still hold the development placeholder" in str(
        caught.value
    )


def test_production_needs_a_database_url() -> None:
    with pytest.raises(ValidationError) as caught:
        ProbeSettings(
            environment="production", db_role_secret="r" * 32, service_client_secret="s" * 32
        )
    assert "database_url is required" in str(caught.value)


def test_placeholders_are_fine_in_development() -> None:
    settings = ProbeSettings(environment="development")
    assert settings.db_role_secret.get_secret_value() == DEV_PLACEHOLDER
    assert (settings.port, settings.public_url) == (8999, "http://127.0.0.1:8999")


def test_workers_are_read_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ProbeSettings().workers == 1
    monkeypatch.setenv("PROBE_WORKERS", "2")
    assert ProbeSettings().workers == 2
    monkeypatch.setenv("PROBE_WORKERS", "0")
    with pytest.raises(ValidationError):
        ProbeSettings()


def test_prefixed_variable_wins_over_bare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert ProbeSettings().log_level == "WARNING"
    monkeypatch.setenv("PROBE_LOG_LEVEL", "DEBUG")
    assert ProbeSettings().log_level == "DEBUG"


def test_cors_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert ProbeSettings().cors_origins == ["https://a.example", "https://b.example"]


def test_secrets_do_not_show_in_repr() -> None:
    settings = ProbeSettings(db_role_secret="very-secret-value")
    assert "very-secret-value" not in repr(settings)


def test_bare_names_in_dotenv_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ENVIRONMENT=production\nDATABASE_URL=postgresql://db/x\n")
    with pytest.raises(ValidationError, match="still hold the development placeholder"):
        ProbeSettings()
    (tmp_path / ".env").write_text("LOG_LEVEL=ERROR\nPROBE_LOG_LEVEL=DEBUG\n")
    assert ProbeSettings().log_level == "DEBUG"
