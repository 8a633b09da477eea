"""Loguru set-up: structured lines with service, request id and tenant id; stdlib routed in."""

from __future__ import annotations

import logging
import sys
from types import FrameType
from typing import TYPE_CHECKING

from loguru import logger

from common.context import request_id_var, tenant_id_var

if TYPE_CHECKING:
    from loguru import Record

    from common.config import ServiceSettings

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <7}</level> | "
    "{extra[service]} | req={extra[request_id]} tenant={extra[tenant_id]} | "
    "<cyan>{name}</cyan>:{line} - <level>{message}</level>"
)
FILE_FORMAT = TEXT_FORMAT.replace("<green>", "").replace("</green>", "")
for tag in ("level", "cyan"):
    FILE_FORMAT = FILE_FORMAT.replace(f"<{tag}>", "").replace(f"</{tag}>", "")


class InterceptHandler(logging.Handler):
    """Send stdlib records (uvicorn, sqlalchemy, asyncpg, pgqueuer) through loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame: FrameType | None = logging.currentframe()
        depth = 2
        while frame is not None and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back
            depth += 1
        named = logger.patch(lambda r: r.update(name=record.name))  # type: ignore[call-arg]
        named.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


class _NotAsgiException(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Exception in ASGI application")


def _bind_context(record: Record) -> None:
    record["extra"]["request_id"] = request_id_var.get() or "-"
    record["extra"]["tenant_id"] = tenant_id_var.get() or "-"


def setup_logging(settings: ServiceSettings, process: str = "") -> None:
    """Configure loguru for one service process (``process="worker"`` for its worker, which
    writes its own files: two processes rotating one file would lose lines). Safe to call more
    than once."""
    logger.remove()
    logger.configure(extra={"service": settings.service_name}, patcher=_bind_context)
    serialize = settings.log_json
    logger.add(
        sys.stderr,
        level=settings.log_level,
        format="{message}" if serialize else TEXT_FORMAT,
        serialize=serialize,
        backtrace=False,
        diagnose=False,
    )
    if settings.log_to_files:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        name = f"{settings.service_name}-{process}" if process else settings.service_name
        for suffix, level in (("", settings.log_level), ("-error", "ERROR")):
            logger.add(
                settings.log_dir / f"{name}{suffix}.log",
                level=level,
                format="{message}" if serialize else FILE_FORMAT,
                serialize=serialize,
                rotation="50 MB",
                retention=5,
                enqueue=True,
                backtrace=False,
                diagnose=False,
            )
    # The root level follows LOG_LEVEL: at 0, uvicorn would log every ASGI message at TRACE.
    logging.basicConfig(handlers=[InterceptHandler()], level=settings.log_level, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "pgqueuer"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
    # Our 500 handler logs the error with its request id; uvicorn's second copy says no more.
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _NotAsgiException) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(_NotAsgiException())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
