"""The one exception family of Meridian, rendered as RFC 9457 problem responses."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.context import request_id_var

PROBLEM_JSON = "application/problem+json"
# SQLSTATEs answered as the caller's problem: (status, detail, problem type).
DATABASE_PROBLEMS = {
    # text PostgreSQL cannot store in a UTF-8 database (a NUL character)
    "22021": (400, "Text in the request may not contain NUL (U+0000).", "invalid-text"),
    # a value longer than its column (a check the schemas missed: still the caller's input)
    "22001": (400, "A value in the request is longer than allowed.", "value-too-long"),
    # a unique key taken by a request that committed a moment earlier (two at once)
    "23505": (409, "That already exists (another request just made it); retry.", "conflict"),
    # two requests at once that the database could only serve one after the other
    "40P01": (503, "A concurrent request got in the way; retry.", "retry-later"),
    "40001": (503, "A concurrent request got in the way; retry.", "retry-later"),
}


class MeridianError(Exception):
    """Base of every domain error; knows its HTTP status and a stable problem type."""

    status: int = 500
    type_slug: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        type_slug: str | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        # The request's transaction commits despite this error (a revocation, an audit entry).
        self.keep_changes = keep_changes
        if type_slug:
            self.type_slug = type_slug
        self.headers = headers or {}
        self.extra = extra


class BadRequest(MeridianError):
    status, type_slug = 400, "bad-request"


class Unauthorized(MeridianError):
    status, type_slug = 401, "unauthorized"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(MeridianError):
    status, type_slug = 403, "forbidden"


class NotFound(MeridianError):
    status, type_slug = 404, "not-found"


class Conflict(MeridianError):
    status, type_slug = 409, "conflict"


class PayloadTooLarge(MeridianError):
    status, type_slug = 413, "payload-too-large"


class UnsupportedMediaType(MeridianError):
    status, type_slug = 415, "unsupported-media-type"


class Unprocessable(MeridianError):
    status, type_slug = 422, "unprocessable"

    @classmethod
    def at(cls, loc: list[str | int], detail: str, **kwargs: Any) -> Unprocessable:
        """A 422 shaped like a validation problem: ``errors`` names where the input is wrong."""
        errors = [{"loc": loc, "msg": detail, "type": kwargs.get("type_slug") or cls.type_slug}]
        return cls(detail, errors=errors, **kwargs)


class RateLimited(MeridianError):
    status, type_slug = 429, "rate-limited"


class Upstream(MeridianError):
    status, type_slug = 502, "upstream-error"


class Unavailable(MeridianError):
    status, type_slug = 503, "unavailable"


def problem_response(
    status: int,
    detail: str,
    *,
    type_slug: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://meridian.dev/problems/{type_slug}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "request_id": request_id_var.get(),
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem; some problems add members (errors, error, max_bytes).",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}
VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ValidationProblem",
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "required": ["errors"],
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["loc", "msg", "type"],
                        "properties": {
                            "loc": {"type": "array", "items": {"type": "string"}},
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                        },
                    },
                }
            },
        },
    ],
}


def _problem_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Say in an OpenAPI document what the handlers below do: a request FastAPI refuses is a
    422 ValidationProblem (not FastAPI's HTTPValidationError), and any other 4xx or 5xx an
    operation does not document itself is a Problem."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ValidationProblem"] = VALIDATION_PROBLEM_SCHEMA
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem_response("Validation Error", "ValidationProblem")
            responses.setdefault("4XX", _problem_response("Client Error", "Problem"))
            responses.setdefault("5XX", _problem_response("Server Error", "Problem"))
    # FastAPI's own validation error schemas, now referenced by nothing.
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in json.dumps(document):
            schemas.pop(unused, None)
    return document


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        errors.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": err.get("msg"),
                "type": err.get("type"),
            }
        )
    return errors


def install_error_handlers(app: FastAPI) -> None:
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(MeridianError)
    async def _domain(_: Request, exc: MeridianError) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, type_slug=exc.type_slug, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            422,
            "The request is malformed; see errors.",
            type_slug="validation-error",
            errors=_validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-")
        return problem_response(
            exc.status_code, str(exc.detail), type_slug=slug, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        # Errors that the caller's input or a concurrent twin request caused, not a fault of ours;
        # every other database error stays a 500.
        known = DATABASE_PROBLEMS.get(getattr(exc.orig, "sqlstate", None) or "")
        if known is None:
            raise exc
        status, detail, slug = known
        headers = {"Retry-After": "1"} if status == 503 else None
        return problem_response(status, detail, type_slug=slug, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.opt(exception=exc).error("unhandled error")
        return problem_response(
            500, "An unexpected error occurred; quote the request id.", type_slug="internal-error"
        )
