"""The baselines: a bare FastAPI app served like the services (``python -m bare_app``).

``POST /bench/echo`` validates a one-field JSON body and answers a small JSON; ``POST /bench/db``
does the same plus one ``SELECT 1`` through an asyncpg pool (when ``BENCH_DB_DSN`` is set), to
tell the framework's cost from a database round trip's. Listens on 127.0.0.1:``BENCH_PORT``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class EchoIn(BaseModel):
    value: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ.get("BENCH_DB_DSN")
    # The service's pool: pool_size 10 + max_overflow 5.
    app.state.pool = await asyncpg.create_pool(dsn, min_size=10, max_size=15) if dsn else None
    try:
        yield
    finally:
        if app.state.pool is not None:
            await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/bench/echo")
async def echo(body: EchoIn) -> dict[str, object]:
    return {"ok": True, "value": body.value}


@app.post("/bench/db")
async def db(body: EchoIn) -> dict[str, object]:
    async with app.state.pool.acquire() as conn:
        one = await conn.fetchval("SELECT 1")
    return {"ok": one == 1, "value": body.value}


def main() -> None:
    # As auth_service/__main__.py runs its app: one process, uvicorn's defaults otherwise.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["BENCH_PORT"]),
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )


if __name__ == "__main__":
    main()
