"""Ingestion benchmark: events/s taken in through ``POST /data/events`` (batches of 500 events,
unique message_ids, a few keep-alive connections), beside the ceiling measured in the same run on
the same database: a plain ``COPY`` of as many rows of the same shape into a scratch copy of
``ingestion.event``. The issue's goal is 20,000 events/s or more.

On a throw-away database (created on the embedded server, migrated for auth and ingestion, seeded,
dropped afterwards) it serves ``python -m auth_service`` (the JWKS, and the token exchange of a
server API key with the ``events:write`` scope) and ``python -m ingestion_service`` twice, as
separate processes: one of 1 process and one of 2 (``INGESTION_WORKERS``, uvicorn workers sharing
its port). Each round, for each of them in turn:

- ``ingestion``: ``POST /data/events``, ``--batch-concurrency`` workers (4), each batch 500 new
  events (properties and user_id set); a non-200 or any per-event error or duplicate is an error;
- ``copy``: the events that slice took in, as rows of the same shape, in ``COPY``s of 500
  (``asyncpg`` ``copy_records_to_table``, one transaction each) over as many connections, into
  ``bench_scratch.event`` (``LIKE ingestion.event INCLUDING ALL``: same columns, defaults,
  indexes; created as the database owner).

Usage: ``uv run python scripts/bench/ingestion_bench.py [--quick] [--duration S]
[--batch-concurrency N]`` (``scripts/bench/run_all.py`` runs it with every other benchmark).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import httpx
from loadgen import (
    Connection,
    Options,
    Scenario,
    ScenarioResult,
    child_pid,
    fmt,
    http_request,
    machine,
    parse_options,
    run_slice,
    write_report,
)
from sqlalchemy.engine import make_url

from auth_service.apikeys import service as apikeys
from auth_service.apikeys.schemas import ApiKeyIn
from auth_service.config import AuthSettings
from auth_service.tenants import repository as tenants
from common.config import PROJECT_ROOT
from common.db import Database
from common.migrations import asyncpg_dsn, migrate
from common.security import Principal
from common.testing.database import create_throwaway_database, drop_database, server_url
from common.testing.servers import free_port, service_process
from ingestion_service.config import IngestionSettings

NAME = "ingestion"
OUT_DIR = PROJECT_ROOT / "var" / "bench"
BATCH = 500
# Ingestion API processes (INGESTION_WORKERS): one, and one per core of this 2-core machine, as
# production runs two replicas (deploy/k8s/ingestion/deployment.yaml).
PROCESSES = (1, 2)
GOAL_EVENTS_PER_S = 20_000
PLACEHOLDER = "#" * 16  # replaced by a per-request prefix of the same width: unique message_ids
API_KEY_TOKEN_TYPE = "urn:meridian:params:oauth:token-type:api-key"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
COPY_COLUMNS = (
    "tenant_id",
    "player_id",
    "user_id",
    "sent_by",
    "event_type",
    "meta",
    "ts",
    "message_id",
)
EVENT_TYPES = ("level_complete", "session_start", "purchase", "ad_view", "session_end")
TIMESTAMP = "2026-11-22T10:00:00.000Z"


def _event(index: int, message_id: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "event_type": EVENT_TYPES[index % len(EVENT_TYPES)],
        "timestamp": TIMESTAMP,
        "properties": {"level": index % 50, "score": index * 7, "mode": "ranked"},
        "user_id": f"bench-user-{index % 97}",
    }


class Batches(Scenario):
    """Batches of ``BATCH`` events, every message_id new: the body is built once with a
    fixed-width placeholder, replaced per request by a global counter (cheap for the client)."""

    name = "ingestion"
    description = f"POST /data/events, {BATCH} new events per batch"

    def __init__(self, port: int, token: str, series: int = 0) -> None:
        super().__init__(port)
        self.series = series  # the first digits of every message_id: setups never collide
        body = {
            "batch": [_event(i, f"{PLACEHOLDER}-{i:03d}") for i in range(BATCH)],
            "sent_at": TIMESTAMP,
            "historical": False,
        }
        self._template = http_request(
            "POST", "/data/events", port, body, {"Authorization": f"Bearer {token}"}
        )
        self._placeholder = PLACEHOLDER.encode()
        self._sent = 0
        self.accepted = 0
        self.duplicates = 0
        self.event_errors = 0
        self.bad_answers = 0

    def request(self, worker: int, n: int) -> bytes | None:
        self._sent += 1
        prefix = f"{self.series:02d}{self._sent:014d}"
        return self._template.replace(self._placeholder, prefix.encode())

    def check(self, worker: int, status: int, body: bytes) -> bool:
        if status != 200:
            return False
        try:
            answer = json.loads(body)
            accepted, duplicates = int(answer["accepted"]), int(answer["duplicates"])
            errors = len(answer["errors"])
        except (ValueError, KeyError, TypeError):
            self.bad_answers += 1
            return False
        self.accepted += accepted
        self.duplicates += duplicates
        self.event_errors += errors
        return accepted == BATCH and not duplicates and not errors

    def extra(self) -> dict[str, Any]:
        # Totals over every request, warm-ups and the smoke request included.
        return {
            "events_accepted_total": self.accepted,
            "duplicates_total": self.duplicates,
            "event_errors_total": self.event_errors,
            "unparsable_answers": self.bad_answers,
        }


async def seed(settings: AuthSettings, scope: str = "events:write") -> tuple[uuid.UUID, str]:
    """A tenant, its owner and a server API key with the scope (events:write)."""
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenants.create_tenant(session, "Bench Studio")
            owner = await tenants.create_user(session, "owner@bench.meridian.local", "Bench Owner")
            await tenants.add_membership(session, tenant.id, owner.id, "owner")
            caller = Principal(
                kind="user", subject=str(owner.id), tenant_id=tenant.id, role="owner"
            )
            key_in = ApiKeyIn(name="Bench ingestion key", kind="server", scopes=[scope])
            key = await apikeys.create(session, caller, key_in)
    finally:
        await database.dispose()
    return tenant.id, key.api_key


async def machine_token(auth_base: str, api_key: str) -> str:
    async with httpx.AsyncClient(base_url=auth_base) as client:
        answer = await client.post(
            "/auth/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": api_key,
                "subject_token_type": API_KEY_TOKEN_TYPE,
            },
        )
    if answer.status_code != 200:
        raise RuntimeError(f"token exchange: HTTP {answer.status_code}: {answer.text[:500]}")
    token: str = answer.json()["access_token"]
    return token


class CopyCeiling:
    """COPYs of rows shaped like the ingestion's into ``bench_scratch.event``."""

    def __init__(self, dsn: str, tenant_id: uuid.UUID, connections: int) -> None:
        self._dsn = dsn
        self._tenant_id = tenant_id
        self._connections = connections
        self._pool: asyncpg.Pool | None = None
        self._sent = 0
        self.rounds: list[dict[str, float]] = []

    async def open(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            await connection.execute(
                "CREATE SCHEMA bench_scratch;"
                " CREATE TABLE bench_scratch.event (LIKE ingestion.event INCLUDING ALL)"
            )
        finally:
            await connection.close()
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=self._connections, max_size=self._connections
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    def _batch(self) -> list[tuple[Any, ...]]:
        self._sent += 1
        prefix = f"{self._sent:016d}"
        ts = datetime(2026, 11, 22, 10, tzinfo=UTC)
        rows = []
        for i in range(BATCH):
            event = _event(i, f"{prefix}-{i:03d}")
            rows.append(
                (
                    self._tenant_id,
                    None,
                    event["user_id"],
                    "machine:apikey:bench",
                    event["event_type"],
                    json.dumps(event["properties"], separators=(",", ":")),
                    ts,
                    event["message_id"],
                )
            )
        return rows

    async def run(self, rows: int) -> dict[str, float]:
        """COPY ``rows`` rows (rounded up to whole batches), timed; the rows are made first."""
        assert self._pool is not None
        pool = self._pool
        batches = [self._batch() for _ in range(max(1, -(-rows // BATCH)))]
        queue = list(reversed(batches))

        async def worker() -> None:
            async with pool.acquire() as connection:
                while queue:
                    await connection.copy_records_to_table(
                        "event",
                        schema_name="bench_scratch",
                        columns=COPY_COLUMNS,
                        records=queue.pop(),
                    )

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self._connections)))
        elapsed = time.perf_counter() - began
        copied = len(batches) * BATCH
        result = {"rows": copied, "elapsed_s": elapsed, "rows_per_s": copied / elapsed}
        self.rounds.append(result)
        return result

    @property
    def rows_per_s(self) -> float:
        rows = sum(part["rows"] for part in self.rounds)
        elapsed = sum(part["elapsed_s"] for part in self.rounds)
        return rows / elapsed if elapsed else 0.0


async def run(options: Options) -> dict[str, Any]:
    """Set up, measure, tear down; print the figures and return the report."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    began, host = time.monotonic(), machine()
    concurrency = options.batch_concurrency
    url = await create_throwaway_database(options.server_url or server_url())
    try:
        auth_settings = AuthSettings(
            database_url=url, environment="development", log_to_files=False
        )
        await migrate(auth_settings)
        await migrate(
            IngestionSettings(database_url=url, environment="development", log_to_files=False)
        )
        tenant_id, api_key = await seed(auth_settings)
        ceiling = CopyCeiling(asyncpg_dsn(make_url(url)), tenant_id, concurrency)
        async with AsyncExitStack() as stack:
            auth_base, auth_port = await start_auth(stack, url)
            token = await machine_token(auth_base, api_key)
            setups = [
                await start_ingestion(stack, processes, url, auth_port, token)
                for processes in PROCESSES
            ]
            await ceiling.open()
            stack.push_async_callback(ceiling.close)
            print(
                f"ingestion bench: {concurrency} workers, batches of {BATCH},"
                f" {options.duration:g} s in {options.rounds} round(s) per setup,"
                f" {options.warmup:g} s warm-up per slice; setups interleaved: "
                + ", ".join(setup.label for setup in setups),
                flush=True,
            )
            for round_index in range(options.rounds):
                for setup in setups:
                    await measure_round(setup, ceiling, options, f"{round_index + 1}")
            for setup in setups:
                setup.result.extra = setup.scenario.extra()
    finally:
        await drop_database(url)

    print()
    reports = [summarize(setup) for setup in setups]
    print(
        f"goal {GOAL_EVENTS_PER_S:,} events/s without errors: "
        + ", ".join(
            f"{setup.label} {'met' if part['goal_met'] else 'NOT met'}"
            f" ({part['events_per_s']:,.0f})"
            for setup, part in zip(setups, reports, strict=True)
        )
    )
    if max(setup.result.client_cpu for setup in setups) > 0.9:
        print("WARNING: the load generator used a whole core; its figures may be client-bound")
    return {
        "benchmark": NAME,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": host,
        "options": {**options.as_dict(), "batch_size": BATCH},
        "wall_s": round(time.monotonic() - began, 1),
        "logs": {
            "auth_service": str(OUT_DIR / "auth-service.log"),
            **{f"ingestion_service_{s.processes}": str(s.log) for s in setups},
        },
        "goal_events_per_s": GOAL_EVENTS_PER_S,
        "setups": reports,
        "copy": {
            "description": (
                f"COPY (asyncpg copy_records_to_table) of the rows each round took in, {BATCH}"
                f" per COPY over {concurrency} connections, into bench_scratch.event"
                " (LIKE ingestion.event INCLUDING ALL)"
            ),
            "rows_per_s": round(ceiling.rows_per_s, 1),
        },
    }


@dataclass
class Setup:
    """One ingestion service of ``processes`` processes, its load and its rounds beside COPY."""

    processes: int
    scenario: Batches
    log: Path
    result: ScenarioResult
    copies: list[dict[str, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.processes} process" + ("es" if self.processes > 1 else "")


async def start_auth(stack: AsyncExitStack, url: str) -> tuple[str, int]:
    """Auth as a process of its own on loopback, on the database at ``url``, stopped with
    ``stack``: its base URL and port."""
    port = free_port()
    env = {
        "AUTH_HOST": "127.0.0.1",
        "AUTH_PORT": str(port),
        "AUTH_DATABASE_URL": url,
        "DATABASE_URL": url,
        "AUTH_ENVIRONMENT": "development",
        "AUTH_LOG_TO_FILES": "false",
    }
    log = OUT_DIR / "auth-service.log"
    base = await stack.enter_async_context(service_process("auth_service", env, port=port, log=log))
    return base, port


async def serve_ingestion(
    stack: AsyncExitStack, url: str, auth_port: int, log: Path, processes: int = 1
) -> int:
    """``python -m ingestion_service`` (INGESTION_WORKERS=processes) on loopback: its port."""
    port = free_port()
    while port == auth_port:
        port = free_port()
    env = {
        "INGESTION_HOST": "127.0.0.1",
        "INGESTION_PORT": str(port),
        "INGESTION_WORKERS": str(processes),
        "INGESTION_DATABASE_URL": url,
        "INGESTION_AUTH_URL": f"http://127.0.0.1:{auth_port}",
        "INGESTION_ENVIRONMENT": "development",
        "INGESTION_LOG_TO_FILES": "false",
    }
    await stack.enter_async_context(service_process("ingestion_service", env, port=port, log=log))
    return port


async def start_services(stack: AsyncExitStack, url: str, ingestion_log: str) -> tuple[str, int]:
    """Auth and one ingestion process on loopback (the upload benchmark's): auth's base URL and
    ingestion's port."""
    auth_base, auth_port = await start_auth(stack, url)
    return auth_base, await serve_ingestion(stack, url, auth_port, OUT_DIR / ingestion_log)


async def start_ingestion(
    stack: AsyncExitStack, processes: int, url: str, auth_port: int, token: str
) -> Setup:
    """Serve ``python -m ingestion_service`` with INGESTION_WORKERS=processes, smoke-tested."""
    log = OUT_DIR / f"ingestion-service-{processes}.log"
    port = await serve_ingestion(stack, url, auth_port, log, processes)
    scenario = Batches(port, token, series=processes)
    scenario.server_pid = child_pid("ingestion_service", f"INGESTION_PORT={port}")
    await smoke(scenario)
    return Setup(processes, scenario, log, ScenarioResult(scenario.name, scenario.description))


async def measure_round(
    setup: Setup, ceiling: CopyCeiling, options: Options, round_label: str
) -> None:
    """One measured slice of the setup, then a COPY of as many rows."""
    part = await run_slice(
        setup.scenario,
        concurrency=options.batch_concurrency,
        warmup=options.warmup,
        duration=options.slice_seconds,
    )
    setup.result.slices.append(part)
    copy = await ceiling.run(part.successes * BATCH)
    setup.copies.append(copy)
    print(
        f"  round {round_label}/{options.rounds}  {setup.label:11s}"
        f" ingestion {part.rps * BATCH:9.0f} events/s  errors {sum(part.errors.values())}"
        f"  server cpu {fmt(part.server_cpu, '.2f')}"
        f"  | copy {copy['rows_per_s']:9.0f} rows/s ({copy['rows']} rows)",
        flush=True,
    )


def summarize(setup: Setup) -> dict[str, Any]:
    """Print the setup's figures beside the COPY rounds measured with it; its report."""
    result, extra = setup.result, setup.result.extra
    events_per_s = result.rps * BATCH
    copied = sum(part["rows"] for part in setup.copies)
    copy_per_s = copied / sum(part["elapsed_s"] for part in setup.copies)
    ratio = events_per_s / copy_per_s
    per_round = [
        part.rps * BATCH / copy["rows_per_s"]
        for part, copy in zip(result.slices, setup.copies, strict=True)
    ]
    errors = result.errors
    rounds = f" (rounds {min(per_round):.3f}-{max(per_round):.3f})" if len(per_round) > 1 else ""
    print(
        f"{setup.label:11s} {events_per_s:9.0f} events/s ({result.rps:.1f} batches/s)"
        f"  p50 {fmt(result.latency_ms(0.5))} ms  p95 {fmt(result.latency_ms(0.95))} ms"
        f"  errors {sum(errors.values())}  server cpu {fmt(result.server_cpu, '.2f')}"
        f" ({fmt(result.server_cpu_ms_per_request, '.1f')} ms per batch)"
    )
    print(f"{'':11s} copy {copy_per_s:9.0f} rows/s  ratio {ratio:.3f} ingestion / COPY{rounds}")
    for kind, count in errors.most_common():
        print(f"  errors {kind}: {count}; first: {result.error_samples.get(kind, '')[:300]}")
    if extra["event_errors_total"] or extra["duplicates_total"]:
        print(
            f"  per-event errors {extra['event_errors_total']},"
            f" duplicates {extra['duplicates_total']} (warm-ups included)"
        )
    return {
        "processes": setup.processes,
        "goal_met": events_per_s >= GOAL_EVENTS_PER_S and not errors,
        "events_per_s": round(events_per_s, 1),
        "copy_rows_per_s": round(copy_per_s, 1),
        "ratio_to_copy": round(ratio, 4),
        "per_round_ratio_to_copy": [round(value, 4) for value in per_round],
        "errors": sum(errors.values()),
        "ingestion": {
            **result.as_dict({}),
            "events_per_s": round(events_per_s, 1),
            "per_round_events_per_s": [round(part.rps * BATCH, 1) for part in result.slices],
        },
        "copy_rounds": [
            {key: round(value, 3) for key, value in part.items()} for part in setup.copies
        ],
    }


async def smoke(scenario: Batches) -> None:
    """One batch before measuring, so a broken set-up fails loudly instead of as errors."""
    connection = Connection(scenario.port)
    try:
        raw = scenario.request(0, 0)
        assert raw is not None
        status, body = await connection.request(raw)
    finally:
        await connection.close()
    if not scenario.check(0, status, body):
        raise RuntimeError(f"{scenario.name}: HTTP {status}: {body[:500]!r}")


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv, description=__doc__.split("\n\n")[0].replace("\n", " "))
    report = asyncio.run(run(options))
    print(f"\nwrote {write_report(NAME, report)}")


if __name__ == "__main__":
    main()
