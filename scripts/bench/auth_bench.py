"""Auth service benchmark: refresh-token rotations/s and player logins/s, each as a ratio to a bare
FastAPI endpoint measured in the same run (the machine is shared and noisy).

On a throw-away database (created on the embedded server, migrated, seeded, dropped afterwards)
it serves ``python -m auth_service`` and the baselines of ``bare_app.py`` as separate processes,
and drives each with the same load generator, concurrency and duration. Scenarios:

- ``bare``: the bare FastAPI endpoint (the denominator of every ratio);
- ``bare+db``: the same endpoint plus one ``SELECT 1`` through asyncpg;
- ``refresh``: ``POST /auth/refresh``, each worker following its own chain of rotated tokens;
- ``player_login``: ``POST /auth/players/login`` with the tenant's game key.

Usage: ``uv run python scripts/bench/auth_bench.py [--quick] [--duration S] [--concurrency N]``
(``scripts/bench/run_all.py`` runs it with every other benchmark).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import deque
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import (
    Connection,
    FixedRequest,
    Options,
    Scenario,
    ScenarioResult,
    child_pid,
    fmt,
    http_request,
    machine,
    parse_options,
    run_slice,
    summary_line,
    table,
    write_report,
)
from sqlalchemy.engine import make_url

from auth_service.apikeys import service as apikeys
from auth_service.apikeys.schemas import ApiKeyIn
from auth_service.config import AuthSettings
from auth_service.keys.service import KeyRing
from auth_service.sessions import service as sessions
from auth_service.tenants import repository as tenants
from common.config import PROJECT_ROOT
from common.db import Database
from common.migrations import asyncpg_dsn, migrate
from common.security import Principal
from common.testing.database import create_throwaway_database, drop_database, server_url
from common.testing.servers import free_port, service_process

NAME = "auth"
BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = PROJECT_ROOT / "var" / "bench"
SPARE_CHAINS_PER_WORKER = 8  # a worker whose chain breaks carries on with a spare one


@dataclass
class Seeded:
    game_key: str
    refresh_tokens: list[str]


async def seed(settings: AuthSettings, chains: int) -> Seeded:
    """A tenant with an owner and a game key, and ``chains`` users each with an open session."""
    database = Database.from_settings(settings)
    keyring = KeyRing(settings, database.sessionmaker)
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenants.create_tenant(session, "Bench Studio")
            owner = await tenants.create_user(session, "owner@bench.meridian.local", "Bench Owner")
            await tenants.add_membership(session, tenant.id, owner.id, "owner")
            caller = Principal(
                kind="user", subject=str(owner.id), tenant_id=tenant.id, role="owner"
            )
            game_key = ApiKeyIn(name="Bench game key", kind="game")
            key = await apikeys.create(session, caller, game_key)
            tokens = []
            for index in range(chains):
                user = await tenants.create_user(
                    session, f"user{index}@bench.meridian.local", f"Bench user {index}"
                )
                await tenants.add_membership(session, tenant.id, user.id, "viewer")
                pair = await sessions.open_session(
                    session, keyring, settings, user_id=user.id, tenant_id=tenant.id, role="viewer"
                )
                tokens.append(pair.refresh_token)
    finally:
        await database.dispose()
    return Seeded(game_key=key.api_key, refresh_tokens=tokens)


class RefreshChains(Scenario):
    """Each worker rotates its own token family: the answer's refresh token is its next request.
    A non-200 (or an unknown outcome) breaks the chain; the worker goes on with a spare family."""

    name = "refresh"
    description = "POST /auth/refresh, one rotating token chain per worker"

    def __init__(self, port: int, tokens: list[str], concurrency: int) -> None:
        super().__init__(port)
        self._current: list[str | None] = list(tokens[:concurrency])
        self._spares = deque(tokens[concurrency:])
        self.broken = 0
        self.rotations = 0

    def request(self, worker: int, n: int) -> bytes | None:
        token = self._current[worker]
        if token is None:
            return None
        return http_request("POST", "/auth/refresh", self.port, {"refresh_token": token})

    def check(self, worker: int, status: int, body: bytes) -> bool:
        token = json.loads(body).get("refresh_token") if status == 200 else None
        if not token:
            self._break(worker)
            return False
        self._current[worker] = token
        self.rotations += 1
        return True

    def failed(self, worker: int) -> None:
        self._break(worker)

    def _break(self, worker: int) -> None:
        self.broken += 1
        self._current[worker] = self._spares.popleft() if self._spares else None

    def extra(self) -> dict[str, Any]:
        return {
            "chains_broken": self.broken,
            "workers_out_of_chains": sum(token is None for token in self._current),
            "rotations_total": self.rotations,
        }


class PlayerLogins(Scenario):
    """Logins of a pool of players (created on first login, updated after); workers never share
    a player, so no two requests wait on the same row."""

    name = "player_login"
    description = "POST /auth/players/login with the game key, a pool of returning players"

    def __init__(self, port: int, game_key: str, concurrency: int) -> None:
        super().__init__(port)
        self._concurrency = concurrency
        pool = concurrency * 64
        self._requests = [
            http_request(
                "POST",
                "/auth/players/login",
                port,
                {"userId": f"bench-player-{index}"},
                {"X-Game-Key": game_key},
            )
            for index in range(pool)
        ]

    def request(self, worker: int, n: int) -> bytes | None:
        return self._requests[(n * self._concurrency + worker) % len(self._requests)]

    def check(self, worker: int, status: int, body: bytes) -> bool:
        return status == 200 and b'"token"' in body


async def smoke(scenario: Scenario) -> None:
    """One request before measuring, so a broken set-up fails loudly instead of as errors."""
    connection = Connection(scenario.port)
    try:
        raw = scenario.request(0, 0)
        assert raw is not None
        status, body = await connection.request(raw)
    finally:
        await connection.close()
    if not scenario.check(0, status, body):
        raise RuntimeError(f"{scenario.name}: HTTP {status}: {body[:500]!r}")


async def measure(scenarios: list[Scenario], options: Options) -> list[ScenarioResult]:
    """Every scenario, interleaved over the rounds (odd rounds in reverse order)."""
    results = {s.name: ScenarioResult(s.name, s.description) for s in scenarios}
    for round_index in range(options.rounds):
        order = scenarios if round_index % 2 == 0 else scenarios[::-1]
        for scenario in order:
            part = await run_slice(
                scenario,
                concurrency=options.concurrency,
                warmup=options.warmup,
                duration=options.slice_seconds,
            )
            results[scenario.name].slices.append(part)
            errors = sum(part.errors.values())
            print(
                f"  round {round_index + 1}/{options.rounds}  {scenario.name:<14}"
                f" {part.rps:9.1f} req/s  errors {errors}  client cpu {part.client_cpu:.2f}"
                f"  server cpu {fmt(part.server_cpu, '.2f')}",
                flush=True,
            )
    for scenario in scenarios:
        results[scenario.name].extra = scenario.extra()
    return [results[s.name] for s in scenarios]


async def run(options: Options) -> dict[str, Any]:
    """Set up, measure, tear down; print the figures and return the report."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    began, host = time.monotonic(), machine()
    url = await create_throwaway_database(options.server_url or server_url())
    try:
        settings = AuthSettings(database_url=url, environment="development", log_to_files=False)
        await migrate(settings)
        chains = options.concurrency * (1 + SPARE_CHAINS_PER_WORKER)
        seeded = await seed(settings, chains)
        auth_port = bare_port = free_port()
        while bare_port == auth_port:
            bare_port = free_port()
        auth_env = {
            "AUTH_HOST": "127.0.0.1",
            "AUTH_PORT": str(auth_port),
            "AUTH_DATABASE_URL": url,
            "DATABASE_URL": url,
            "AUTH_ENVIRONMENT": "development",
            "AUTH_LOG_TO_FILES": "false",
        }
        bare_env = {
            "BENCH_PORT": str(bare_port),
            "BENCH_DB_DSN": asyncpg_dsn(make_url(url)),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), os.getenv("PYTHONPATH")])),
        }
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(
                service_process("bare_app", bare_env, port=bare_port, log=OUT_DIR / "bare.log")
            )
            await stack.enter_async_context(
                service_process(
                    "auth_service", auth_env, port=auth_port, log=OUT_DIR / "auth-service.log"
                )
            )
            scenarios: list[Scenario] = [
                FixedRequest(
                    "bare",
                    bare_port,
                    "/bench/echo",
                    {"value": "x" * 43},
                    "bare FastAPI POST endpoint (one-field JSON body in, small JSON out)",
                ),
                FixedRequest(
                    "bare+db",
                    bare_port,
                    "/bench/db",
                    {"value": "x" * 43},
                    "the bare endpoint plus one SELECT 1 through an asyncpg pool",
                ),
                RefreshChains(auth_port, seeded.refresh_tokens, options.concurrency),
                PlayerLogins(auth_port, seeded.game_key, options.concurrency),
            ]
            pids = {bare_port: child_pid("bare_app"), auth_port: child_pid("auth_service")}
            for scenario in scenarios:
                scenario.server_pid = pids[scenario.port]
                await smoke(scenario)
            print(
                f"auth bench: {options.concurrency} workers, {options.duration:g} s per scenario "
                f"in {options.rounds} round(s), {options.warmup:g} s warm-up per slice",
                flush=True,
            )
            results = await measure(scenarios, options)
    finally:
        await drop_database(url)

    baselines = {result.name: result for result in results if result.name.startswith("bare")}
    bare = baselines.get("bare")
    print()
    for result in results:
        print(summary_line(result, bare))
        for kind, sample in result.error_samples.items():
            print(f"    first {kind}: {sample}")
    refresh = next(result for result in results if result.name == "refresh")
    if refresh.extra.get("chains_broken"):
        print(
            f"WARNING: {refresh.extra['chains_broken']} refresh chain(s) broke, warm-ups included"
            " (each went on with a spare chain; measured errors above)"
        )
    for result in results:
        for number, part in enumerate(result.slices, 1):
            if not part.successes:
                kinds = ", ".join(f"{kind}: {count}" for kind, count in part.errors.items())
                print(f"WARNING: {result.name} round {number}: nothing succeeded ({kinds})")
    if any(result.client_cpu > 0.9 for result in results):
        print("WARNING: the load generator used a whole core; its figures may be client-bound")
    print()
    print(table(results, baselines))
    return {
        "benchmark": NAME,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": host,
        "options": options.as_dict(),
        "wall_s": round(time.monotonic() - began, 1),
        "logs": {
            "auth_service": str(OUT_DIR / "auth-service.log"),
            "bare": str(OUT_DIR / "bare.log"),
        },
        "scenarios": {result.name: result.as_dict(baselines) for result in results},
    }


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv, description=__doc__.split("\n\n")[0].replace("\n", " "))
    report = asyncio.run(run(options))
    print(f"\nwrote {write_report(NAME, report)}")


if __name__ == "__main__":
    main()
