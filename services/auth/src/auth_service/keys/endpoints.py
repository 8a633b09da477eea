"""Public keys of Meridian's tokens."""

from typing import Any

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json")
async def jwks(request: Request, response: Response) -> dict[str, Any]:
    """The public keys that verify Meridian tokens (JWKS)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    document: dict[str, Any] = await request.app.state.keyring.jwks()
    return document


@router.get("/.well-known/openid-configuration")
async def metadata(request: Request) -> dict[str, Any]:
    """Issuer metadata: where the keys and the token endpoint are."""
    settings = request.app.state.settings
    base = settings.public_url
    return {
        "issuer": settings.jwt_issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}/auth/token",
        "grant_types_supported": [
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "token_signing_alg_values_supported": ["ES256"],
    }
