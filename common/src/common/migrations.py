"""Schema history per service: role and schema provisioning, Alembic runs, SQL function files.

Each service has ``database/<name>/`` with its Alembic ``env.py``, ``versions/`` and
``functions/*.sql``. Migrations run as the service's own role, so everything in the schema is owned
by it, and the version table lives in the schema too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from alembic_utils.pg_function import PGFunction
from loguru import logger
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine

from common.config import PROJECT_ROOT, ServiceSettings
from common.db import admin_url, role_password, service_url
from common.jobs import install_queue

DATABASE_DIR = PROJECT_ROOT / "database"
FILE_TEMPLATE = "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"


def asyncpg_dsn(url: URL) -> str:
    """A libpq-style DSN asyncpg accepts (drops the SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def provision(settings: ServiceSettings) -> None:
    """Create the service's schema and, in per-service mode, its role (idempotent)."""
    schema, role = settings.service_name, settings.db_role
    admin = admin_url(settings)
    conn = await asyncpg.connect(asyncpg_dsn(admin))
    try:
        if settings.db_role_mode == "shared":
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            return
        can_create = await conn.fetchval(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        if not can_create:
            raise RuntimeError(
                f"{admin.username} cannot create roles; set DB_ROLE_MODE=shared or create "
                f"the role {role} with rights on schema {schema} yourself"
            )
        password = role_password(settings, role)  # hex digits only: safe to inline
        await conn.execute(
            f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" LOGIN;
              END IF;
            END $$;
            ALTER ROLE "{role}" WITH LOGIN PASSWORD '{password}';
            GRANT "{role}" TO current_user;
            GRANT CONNECT, TEMPORARY ON DATABASE "{admin.database}" TO "{role}";
            CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "{role}";
            ALTER SCHEMA "{schema}" OWNER TO "{role}";
            REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC;
            REVOKE CREATE ON SCHEMA public FROM "{role}";
            """  # noqa: S608 - identifiers from code, not input
        )
    finally:
        await conn.close()


def alembic_config(settings: ServiceSettings, url: URL | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(DATABASE_DIR / settings.service_name))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    cfg.set_main_option("timezone", "UTC")
    cfg.attributes["url"] = url or service_url(settings)
    cfg.attributes["schema"] = settings.service_name
    return cfg


async def migrate(settings: ServiceSettings) -> None:
    """Provision, apply every migration, and install the job queue tables in the schema."""
    await provision(settings)
    cfg = alembic_config(settings)
    await asyncio.to_thread(command.upgrade, cfg, "head")
    conn = await asyncpg.connect(asyncpg_dsn(service_url(settings)))
    try:
        await install_queue(conn, settings.service_name)
    finally:
        await conn.close()
    logger.info("{}: schema up to date", settings.service_name)


def sql_functions(service: str) -> list[PGFunction]:
    """The current text of each SQL function, one ``.sql`` file per function."""
    directory = DATABASE_DIR / service / "functions"
    return [PGFunction.from_sql(path.read_text()) for path in sorted(directory.glob("*.sql"))]


def run_env(context: Any, metadata: MetaData, entities: list[Any] | None = None) -> None:
    """The body of every ``database/<name>/env.py``."""
    from alembic_utils.replaceable_entity import register_entities, registry

    schema: str = context.config.attributes["schema"]
    # alembic_utils keeps one registry per process: forget another service's functions (tests
    # check every history in one process), then register this one's, even none.
    registry.clear()
    register_entities(entities or [], schemas=[schema], entity_types=[PGFunction])

    def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        if type_ == "schema":
            return name == schema
        if type_ == "table":
            return f"{schema}.{name}" in metadata.tables or name in metadata.tables
        if type_ == "function":  # pgqueuer's own trigger function is installed by install_queue
            # Every schema's functions are visible; only this service's are its history's.
            in_schema = parent_names.get("schema_name") == schema
            return in_schema and "pgqueuer" not in (name or "")
        return True

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=include_name,
            compare_type=True,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        raise RuntimeError("offline migrations are not supported; run against a database")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return

    async def online() -> None:
        engine = create_async_engine(context.config.attributes["url"], poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(online())


def reset_schema(settings: ServiceSettings) -> None:
    """Drop the service's schema with everything in it (``make db_clean``)."""

    async def drop() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(admin_url(settings)))
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.service_name}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


def pending_paths(settings: ServiceSettings) -> list[Path]:
    return sorted((DATABASE_DIR / settings.service_name / "versions").glob("*.py"))
