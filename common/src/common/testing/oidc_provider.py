"""A local fake OpenID Connect provider for tests, speaking the real protocol over loopback HTTP.

It serves discovery, ``/authorize``, ``/token`` (authorization code with PKCE S256, refresh
token; client_secret_basic or client_secret_post), ``/jwks``, ``/userinfo`` and ``/revoke``
(RFC 7009), and signs RS256 ID tokens with its own key. A test stands in for the browser:

    provider = FakeOIDCProvider("client-id", "secret", ["http://localhost:3000/cb"])
    async with provider.serve():
        ...  # configure the app with provider.discovery_url, ask it for an authorization URL
        code, state = provider.approve(authorization_url, OIDCUser("ada@example.com"))

Knobs: ``override_next_id_token`` (wrong nonce, expiry, audience, issuer; or an unknown key),
``revoke_refresh_token``, ``omit_refresh_token``, ``access_token_seconds``, ``outage`` (names of
endpoints answering 503), ``withheld`` (scopes unticked at consent); what happened is in
``calls`` (per endpoint and per grant type),
``token_responses`` and ``revocations``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from common.testing.servers import serve_asgi

CODE_SECONDS = 60
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class OIDCUser:
    """The person who signs in at the provider."""

    email: str
    name: str | None = None
    sub: str = ""
    email_verified: bool = True

    def __post_init__(self) -> None:
        if not self.sub:
            digest = hashlib.sha256(self.email.encode()).hexdigest()[:20]
            object.__setattr__(self, "sub", f"sub-{digest}")

    def claims(self) -> dict[str, Any]:
        found = {"sub": self.sub, "email": self.email, "email_verified": self.email_verified}
        return found | ({"name": self.name} if self.name else {})


class Approval(NamedTuple):
    """What the redirect back to the client would carry."""

    code: str
    state: str | None


class AuthorizationRefused(Exception):
    """The authorization request is malformed; ``error`` is the OAuth error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error


@dataclass
class _Code:
    user: OIDCUser
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    offline: bool
    expires_at: float


@dataclass
class _Refresh:
    user: OIDCUser
    scope: str
    access_tokens: list[str] = field(default_factory=list)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers)


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand so the shared package needs no multipart dependency.
    return dict(parse_qsl((await request.body()).decode()))


def _rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
    )


class FakeOIDCProvider:
    """One registered confidential client; state lives in memory for one test."""

    def __init__(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.issuer = ""
        self.user = OIDCUser("someone@example.com", "Someone")  # who GET /authorize signs in
        self.access_token_seconds = 3600
        self.omit_refresh_token = False
        self.calls: Counter[str] = Counter()  # per endpoint name, and per token grant type
        self.outage: set[str] = set()  # endpoint names that answer 503
        self.withheld: set[str] = set()  # scopes the person unticks at consent
        self.token_responses: list[dict[str, Any]] = []
        self.revocations: list[str] = []
        self._key = _rsa_key("fake-oidc-1")
        self._unknown_key = _rsa_key("attacker-1")
        self._next_claims: dict[str, Any] = {}
        self._next_unknown_key = False
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, OIDCUser] = {}
        self._revoked: set[str] = set()

    # ---- serving -------------------------------------------------------------------------

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 in the running loop; yields the base URL, which is the issuer."""
        async with serve_asgi(self.app()) as base:
            self.issuer = base
            yield base

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def app(self) -> Starlette:
        def route(path: str, name: str, endpoint: Endpoint, methods: list[str]) -> Route:
            async def counted(request: Request) -> Response:
                self.calls[name] += 1
                if name in self.outage:
                    return PlainTextResponse("Service Unavailable", status_code=503)
                return await endpoint(request)

            return Route(path, counted, methods=methods)

        return Starlette(
            routes=[
                route("/.well-known/openid-configuration", "discovery", self._discovery, ["GET"]),
                route("/authorize", "authorize", self._authorize_endpoint, ["GET"]),
                route("/token", "token", self._token, ["POST"]),
                route("/jwks", "jwks", self._jwks, ["GET"]),
                route("/userinfo", "userinfo", self._userinfo, ["GET", "POST"]),
                route("/revoke", "revoke", self._revoke, ["POST"]),
            ]
        )

    # ---- knobs and the browser's part ----------------------------------------------------

    def approve(self, authorization_url: str, user: OIDCUser | None = None) -> Approval:
        """Consent as ``user`` to the request in ``authorization_url``; the code and state the
        redirect would carry. Raises AuthorizationRefused for a malformed request."""
        self.calls["authorize"] += 1
        parts = urlsplit(authorization_url)
        if f"{parts.scheme}://{parts.netloc}{parts.path}" != f"{self.issuer}/authorize":
            raise AuthorizationRefused("invalid_request", "not this provider's authorize URL")
        params = dict(parse_qsl(parts.query))
        return self._grant_code(params, user or self.user)

    def override_next_id_token(self, *, unknown_key: bool = False, **claims: Any) -> None:
        """Change claims of the next ID token (None removes one) or sign it with a key the
        JWKS does not publish."""
        self._next_claims = claims
        self._next_unknown_key = unknown_key

    def revoke_refresh_token(self, token: str) -> None:
        """As if the user withdrew consent: the next refresh with ``token`` is invalid_grant."""
        self._revoked.add(token)
        if record := self._refresh.get(token):
            self._revoked.update(record.access_tokens)

    def access_token_valid(self, token: str) -> bool:
        """Whether ``token`` is an access token this provider issued and has not revoked (for a
        resource server on the same fake, like the GA4 Data API fake)."""
        return token in self._access and token not in self._revoked

    # ---- endpoints -----------------------------------------------------------------------

    async def _discovery(self, _: Request) -> Response:
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "userinfo_endpoint": f"{base}/userinfo",
                "revocation_endpoint": f"{base}/revoke",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def _authorize_endpoint(self, request: Request) -> Response:
        """The real redirect, consenting as ``self.user`` (no login page in a test)."""
        params = dict(request.query_params)
        try:
            approval = self._grant_code(params, self.user)
        except AuthorizationRefused as exc:
            return _error(400, exc.error, str(exc))
        query = {"code": approval.code} | ({"state": approval.state} if approval.state else {})
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(query)}", status_code=302)

    async def _token(self, request: Request) -> Response:
        form = await _form(request)
        if not self._client_authenticated(request, form):
            return _error(401, "invalid_client", "Unknown client or wrong secret.")
        grant_type = form.get("grant_type", "")
        self.calls[grant_type] += 1
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            return self._refresh_access(form)
        return _error(400, "unsupported_grant_type", f"{grant_type!r} is not supported.")

    async def _jwks(self, _: Request) -> Response:
        return JSONResponse(KeySet([self._key]).as_dict(private=False))

    async def _userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user = self._access.get(token) if scheme.lower() == "bearer" else None
        if user is None or token in self._revoked:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse(user.claims())

    async def _revoke(self, request: Request) -> Response:
        form = await _form(request)
        if not self._client_authenticated(request, form):
            return _error(401, "invalid_client", "Unknown client or wrong secret.")
        token = form.get("token", "")
        self.revocations.append(token)
        self.revoke_refresh_token(token)
        return Response(status_code=200)  # RFC 7009: 200 even for an unknown token

    # ---- the protocol --------------------------------------------------------------------

    def _grant_code(self, params: dict[str, str], user: OIDCUser) -> Approval:
        if params.get("client_id") != self.client_id:
            raise AuthorizationRefused("unauthorized_client", "unknown client_id")
        if params.get("redirect_uri") not in self.redirect_uris:
            raise AuthorizationRefused("invalid_request", "redirect_uri is not registered")
        if params.get("response_type") != "code":
            raise AuthorizationRefused("unsupported_response_type", "only code is supported")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise AuthorizationRefused("invalid_request", "PKCE with S256 is required")
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Code(
            user=user,
            redirect_uri=params["redirect_uri"],
            # Granular consent: the person may untick scopes (the ``withheld`` knob).
            scope=" ".join(x for x in params.get("scope", "").split() if x not in self.withheld),
            nonce=params.get("nonce"),
            code_challenge=params["code_challenge"],
            # Google's way of asking for a refresh token, or the OIDC scope for it.
            offline=params.get("access_type") == "offline"
            or "offline_access" in params.get("scope", "").split(),
            expires_at=time.time() + CODE_SECONDS,
        )
        return Approval(code, params.get("state"))

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            client_id, secret = unquote(client_id), unquote(secret)  # RFC 6749 2.3.1
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def _exchange_code(self, form: dict[str, str]) -> Response:
        pending = self._codes.pop(form.get("code", ""), None)  # popped: single use
        if pending is None or pending.expires_at < time.time():
            return _error(400, "invalid_grant", "The code is unknown, expired or already used.")
        if form.get("redirect_uri") != pending.redirect_uri:
            return _error(400, "invalid_grant", "redirect_uri differs from the authorization.")
        if _s256(form.get("code_verifier", "")) != pending.code_challenge:
            return _error(400, "invalid_grant", "The PKCE code_verifier does not match.")
        body = self._access_token(pending.user, pending.scope)
        if "openid" in pending.scope.split():
            body["id_token"] = self._id_token(pending.user, pending.nonce)
        if pending.offline and not self.omit_refresh_token:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = _Refresh(pending.user, pending.scope, [body["access_token"]])
            body["refresh_token"] = refresh
        return self._issued(body)

    def _refresh_access(self, form: dict[str, str]) -> Response:
        token = form.get("refresh_token", "")
        record = self._refresh.get(token)
        if record is None or token in self._revoked:
            return _error(400, "invalid_grant", "Token has been expired or revoked.")
        body = self._access_token(record.user, record.scope)
        record.access_tokens.append(body["access_token"])
        return self._issued(body)

    def _access_token(self, user: OIDCUser, scope: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        self._access[token] = user
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.access_token_seconds,
            "scope": scope,
        }

    def _issued(self, body: dict[str, Any]) -> Response:
        self.token_responses.append(body)
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _id_token(self, user: OIDCUser, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.client_id, **user.claims()}
        claims |= {"iat": now, "exp": now + 3600} | ({"nonce": nonce} if nonce else {})
        claims |= self._next_claims
        key = self._unknown_key if self._next_unknown_key else self._key
        self._next_claims, self._next_unknown_key = {}, False
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def main() -> None:
    """``python -m common.testing.oidc_provider``: the development sign-in provider of ``make run``
    (every sign-in is the configured person; never for anything but a developer's machine)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--client-id", default="meridian-dev")
    parser.add_argument("--client-secret", default="meridian-dev-secret")
    parser.add_argument("--redirect-uri", action="append", default=[])
    parser.add_argument("--email", default="owner@demo.meridian.local")
    parser.add_argument("--name", default="Demo Owner")
    args = parser.parse_args()
    provider = FakeOIDCProvider(args.client_id, args.client_secret, args.redirect_uri)
    provider.issuer = f"http://127.0.0.1:{args.port}"
    provider.user = OIDCUser(args.email, args.name)
    uvicorn.run(provider.app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
