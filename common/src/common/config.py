"""Settings shared by every service (pydantic-settings).

Each service subclasses :class:`ServiceSettings` and sets ``env_prefix`` (``AUTH_``, ...). A field
is read from ``<PREFIX><NAME>`` first and from the bare ``<NAME>`` second, so one ``.env`` can
carry values shared by all services (``DATABASE_URL``) beside per-service overrides
(``AUTH_DATABASE_URL``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Only acceptable on a developer's machine; other environments refuse to start with it.
DEV_PLACEHOLDER = "dev-insecure-change-me"
PROJECT_ROOT = Path(__file__).resolve().parents[3]

Environment = Literal["development", "test", "staging", "production"]


def comma_separated(value: Any) -> Any:
    """A list setting given as ``a,b,c`` in the environment."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _placeholders(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Names of the secrets, however deeply nested in dicts and models, still at the placeholder."""
    found = []
    for name, value in values.items():
        path = f"{prefix}{name}"
        if isinstance(value, SecretStr) and value.get_secret_value() == DEV_PLACEHOLDER:
            found.append(path)
        elif isinstance(value, dict):
            found += _placeholders(value, f"{path}.")
        elif isinstance(value, BaseModel):
            found += _placeholders(value.__dict__, f"{path}.")
    return found


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses add their own fields and an ``env_prefix``."""

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_prefix=""
    )

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 0
    # API processes sharing the port (uvicorn workers). Kubernetes scales replicas instead.
    workers: int = Field(1, ge=1, le=64)
    public_url: str = ""

    # None means: use the embedded PostgreSQL under var/ (development and tests only).
    database_url: str | None = None
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout: float = 10.0
    db_statement_timeout_ms: int = 30_000
    # A round trip per checkout that hides connections the server dropped (restarts, failovers).
    db_pool_pre_ping: bool = True
    # per_service: connect as the role meridian_<service>, which has rights on its own schema only.
    # shared: connect with database_url as given (for databases where roles cannot be created).
    db_role_mode: Literal["per_service", "shared"] = "per_service"
    db_role_secret: SecretStr = SecretStr(DEV_PLACEHOLDER)

    var_dir: Path = PROJECT_ROOT / "var"
    log_dir: Path = PROJECT_ROOT / "logs"
    log_level: str = "INFO"
    log_json: bool = False
    log_to_files: bool = True
    log_access: bool = True

    cors_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    ]
    max_body_bytes: int = 1_048_576

    # Where the auth service is, for JWKS, API key introspection and service tokens.
    auth_url: str = "http://127.0.0.1:8003"
    jwt_issuer: str = "meridian-auth"
    jwt_audience: str = "meridian"
    jwks_cache_seconds: int = 300
    api_key_cache_seconds: int = 30
    # Where producers deliver facts (the outbox relay), and how.
    analytics_url: str = "http://127.0.0.1:8001"
    outbox_batch_size: int = 500
    outbox_interval_seconds: float = 2.0
    # This service's own client credentials at auth (OAuth 2.0 client credentials grant).
    service_client_secret: SecretStr = SecretStr(DEV_PLACEHOLDER)

    _split_origins = field_validator("cors_origins", mode="before")(comma_separated)

    @model_validator(mode="after")
    def _complete_and_check(self) -> ServiceSettings:
        """Fill in the derived addresses, and refuse development placeholders elsewhere."""
        if self.port == 0:
            self.port = self.default_port
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        if self.environment in ("development", "test"):
            return self
        offending = sorted(_placeholders(self.__dict__))
        if offending:
            raise ValueError(
                f"{', '.join(offending)} still hold the development placeholder; "
                f"set real secrets for environment {self.environment!r}"
            )
        if self.database_url is None:
            raise ValueError("database_url is required outside development and test")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")

    @property
    def db_role(self) -> str:
        return f"meridian_{self.service_name}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The prefixed variable wins over the bare one, in the environment and then in .env.
        bare_env = EnvSettingsSource(settings_cls, env_prefix="")
        bare_dotenv = DotEnvSettingsSource(settings_cls, env_prefix="")
        return (
            init_settings,
            env_settings,
            bare_env,
            dotenv_settings,
            bare_dotenv,
            file_secret_settings,
        )
