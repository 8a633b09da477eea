"""Async engine, per-request sessions and the declarative base factory (SQLAlchemy 2 + asyncpg)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import MetaData, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from common.config import ServiceSettings
from common.errors import MeridianError

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """Metadata for one service's schema, with the project's constraint naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


class BaseModel(DeclarativeBase):
    """Marker base; each service declares ``class Base(BaseModel)`` with its own metadata."""

    __abstract__ = True


def role_password(settings: ServiceSettings, role: str) -> str:
    """Password of a per-service role, derived from the role secret (db_setup sets the same)."""
    secret = settings.db_role_secret.get_secret_value().encode()
    return hmac.new(secret, role.encode(), hashlib.sha256).hexdigest()


def admin_url(settings: ServiceSettings) -> URL:
    """The URL that owns the database (migrations, role provisioning)."""
    if settings.database_url is None:
        from common.devdb import embedded_url

        raw = embedded_url(settings.var_dir)
    else:
        raw = settings.database_url
    url = make_url(raw)
    return url.set(drivername="postgresql+asyncpg")


def service_url(settings: ServiceSettings) -> URL:
    """The URL a service connects with at run time: its own role unless roles are shared."""
    url = admin_url(settings)
    if settings.db_role_mode == "shared":
        return url
    return url.set(username=settings.db_role, password=role_password(settings, settings.db_role))


def create_engine(settings: ServiceSettings, url: URL | None = None) -> AsyncEngine:
    return create_async_engine(
        url or service_url(settings),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": f"meridian-{settings.service_name}",
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "search_path": settings.service_name,
            }
        },
    )


class Database:
    """Engine and session factory of one process, created in the app's lifespan."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._connection: AsyncConnection | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Database:
        return cls(create_engine(settings))

    @classmethod
    def bound_to(cls, connection: AsyncConnection) -> Database:
        """Sessions inside an open connection's transaction, as savepoints (tests roll it back)."""
        database = cls(connection.engine)
        database.sessionmaker = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        database._connection = connection
        return database

    @property
    def is_bound(self) -> bool:
        """Whether every session shares one connection (tests): no concurrent use then."""
        return self._connection is not None

    async def ping(self) -> str:
        async with self.engine.connect() as conn:
            return str(
                (await conn.execute(text("select current_setting('server_version')"))).scalar()
            )

    async def dispose(self) -> None:
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit on success, roll back on any error."""
    database: Database = request.app.state.database
    async with database.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except MeridianError as exc:
            await (session.commit() if exc.keep_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise


# scope="function": the transaction commits before the response is sent, so a client never holds
# an answer (a new refresh token, a created key) whose commit has not happened or has failed.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
