"""POST /data/uploads/{kind} (the CSV file as the body), GET /data/uploads[/{upload_id}]."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.convertors import Convertor, register_url_convertor

from common.db import DbSession
from common.errors import PROBLEM_JSON
from ingestion_service.deps import DataReader, DataWriter, Db, Settings
from ingestion_service.models import UPLOAD_KINDS
from ingestion_service.uploads import service
from ingestion_service.uploads.schemas import (
    UploadKind,
    UploadMode,
    UploadOut,
    UploadPage,
    UploadQuery,
)

router = APIRouter(tags=["uploads"])


class _KindConvertor(Convertor[str]):
    """Only a kind's name matches /data/uploads/{kind}, only a UUID /data/uploads/{upload_id}:
    GET of a kind's path, or POST of an upload's, is a 405 (Allow says which), not a 422."""

    regex = "|".join(UPLOAD_KINDS)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("upload_kind", _KindConvertor())

_PROBLEM = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_CSV_BODY = {
    "required": True,
    "description": "The CSV file itself (UTF-8, a header row first), streamed.",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


@router.post(
    "/data/uploads/{kind:upload_kind}",
    status_code=201,
    response_model=UploadOut,
    openapi_extra={"requestBody": _CSV_BODY},
    responses={
        413: {"description": "The file is over the limit (max_bytes).", **_PROBLEM},
        415: {"description": "The body is not sent as text/csv.", **_PROBLEM},
    },
)
async def post_upload(
    kind: UploadKind,
    request: Request,
    database: Db,
    settings: Settings,
    caller: DataWriter,
    mode: UploadMode = "accept_valid",
    filename: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    content_disposition: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> UploadOut:
    """Take in a CSV file of a kind: bad rows are listed with their line and reason while the
    good ones go in (mode=all_or_nothing: any bad row refuses the whole file, 422); rows the
    tenant already has are counted as duplicates. A bad header is a 422 before anything is
    written."""
    incoming = service.IncomingFile(
        body=request.stream(),
        content_type=request.headers.get("content-type"),
        filename=filename,
        content_disposition=content_disposition,
    )
    return await service.take_in(database, settings, caller, kind, mode, incoming)


@router.get("/data/uploads", response_model=UploadPage)
async def list_uploads(
    query: Annotated[UploadQuery, Query()], session: DbSession, caller: DataReader
) -> UploadPage:
    """The tenant's uploads, newest first, by kind and status (row errors: see one upload)."""
    return await service.list_uploads(session, caller, query)


@router.get("/data/uploads/{upload_id:uuid}", response_model=UploadOut)
async def get_upload(upload_id: uuid.UUID, session: DbSession, caller: DataReader) -> UploadOut:
    """One upload: its status, counts, and its first 1,000 row errors and warnings."""
    return await service.get_upload(session, caller, upload_id)
