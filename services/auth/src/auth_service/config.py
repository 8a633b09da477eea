"""Auth service settings (prefix ``AUTH_``; shared values may be given bare)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from common.config import DEV_PLACEHOLDER, ServiceSettings, comma_separated

GOOGLE_DISCOVERY = "https://accounts.google.com/.well-known/openid-configuration"


class OAuthProvider(BaseModel):
    """An identity or data provider. OIDC ones need only a discovery URL; plain OAuth 2.0 ones
    name their endpoints and a userinfo URL."""

    kind: Literal["oidc", "oauth2"] = "oidc"
    client_id: str
    client_secret: SecretStr
    discovery_url: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    revocation_url: str | None = None
    scopes: list[str] = ["openid", "email", "profile"]
    # Field names in the userinfo document of a plain OAuth 2.0 provider.
    subject_field: str = "sub"
    email_field: str = "email"
    name_field: str = "name"
    # A plain OAuth 2.0 provider's emails count as verified (to join accounts and invitations)
    # only when its operator says it verifies them.
    trust_email: bool = False


class AuthSettings(ServiceSettings):
    service_name = "auth"
    default_port = 8003
    model_config = SettingsConfigDict(env_prefix="AUTH_", env_file=".env", extra="ignore")

    encryption_key: SecretStr = SecretStr(DEV_PLACEHOLDER)
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    refresh_reuse_grace_seconds: int = 10
    # The gaming backend's JWT_TTL_MIN: lifetime of player tokens.
    jwt_ttl_min: int = 120
    service_token_minutes: int = 60
    machine_token_minutes: int = 15
    signing_key_rotation_days: int = 30

    oauth_providers: Annotated[dict[str, OAuthProvider], NoDecode] = {}
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    oauth_redirect_uris: Annotated[list[str], NoDecode] = ["http://localhost:3000/oauth/callback"]
    oauth_state_minutes: int = 10
    invitation_days: int = 14
    # Data-source grants (Google Analytics): the providers that may be connected, the scopes.
    grant_providers: list[str] = ["google"]
    grant_scopes: list[str] = [
        "openid",
        "email",
        "https://www.googleapis.com/auth/analytics.readonly",
    ]
    grant_refresh_margin_minutes: int = 30

    # Meridian services allowed to ask for client-credentials tokens, with their scopes.
    service_clients: dict[str, list[str]] = {
        "ingestion": ["grants:read", "api-keys:introspect", "facts:write"],
        "analytics": ["api-keys:introspect"],
        "economy": ["api-keys:introspect", "facts:write"],
        "attribution": ["api-keys:introspect", "facts:write"],
        "router": ["api-keys:introspect", "facts:write"],
        "auth": ["api-keys:introspect"],
    }

    # The client secret of each service, by name (JSON). In development the placeholder is used.
    service_client_secrets: dict[str, SecretStr] = {}

    _split = field_validator("oauth_redirect_uris", mode="before")(comma_separated)

    @field_validator("oauth_providers", mode="before")
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            import json

            return json.loads(value) if value.strip() else {}
        return value

    def providers(self) -> dict[str, OAuthProvider]:
        """Configured providers; Google is added from its discovery document given a client."""
        found = dict(self.oauth_providers)
        if self.google_client_id and self.google_client_secret and "google" not in found:
            found["google"] = OAuthProvider(
                client_id=self.google_client_id,
                client_secret=self.google_client_secret,
                discovery_url=GOOGLE_DISCOVERY,
                revocation_url="https://oauth2.googleapis.com/revoke",
            )
        return found


@lru_cache
def get_settings() -> AuthSettings:
    return AuthSettings()
