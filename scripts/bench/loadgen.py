"""The load generator of the benchmarks: fixed concurrency for a fixed time, loopback only.

Each worker is an asyncio task holding one keep-alive HTTP/1.1 connection, written by hand on
asyncio streams: httpx.AsyncClient tops out near 500 requests/s on this machine (its own CPU at
100%), far below a bare FastAPI endpoint, so with it every ratio would measure the client.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # the only host the benchmarks talk to
TIMEOUT = 10.0  # seconds per request; a slower answer counts as an error


@dataclass(frozen=True)
class Options:
    duration: float = 10.0  # measured seconds per scenario, split over the rounds
    concurrency: int = 16
    batch_concurrency: int = 4  # workers of the batch benchmarks (ingestion), each batch large
    rounds: int = 3  # scenarios run interleaved this many times (drift of a noisy machine)
    warmup: float = 1.0  # seconds before each measured slice, not counted
    quick: bool = False
    server_url: str | None = None  # admin URL of the PostgreSQL server for the bench database

    @property
    def slice_seconds(self) -> float:
        return self.duration / self.rounds

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration,
            "concurrency": self.concurrency,
            "batch_concurrency": self.batch_concurrency,
            "rounds": self.rounds,
            "warmup_s": self.warmup,
            "quick": self.quick,
        }


def parse_options(argv: Sequence[str] | None = None, description: str = "") -> Options:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smoke run: ~3 s per scenario")
    parser.add_argument("--duration", type=float, help="measured seconds per scenario (10)")
    parser.add_argument("--concurrency", type=int, default=16, help="workers (16)")
    parser.add_argument(
        "--batch-concurrency", type=int, default=4, help="workers of batch benchmarks (4)"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (3; 1 with --quick)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds per slice (1)")
    parser.add_argument(
        "--server-url",
        help="PostgreSQL server to create the throw-away database on "
        "(default: TEST_DATABASE_URL, else the embedded one under var/test-pg)",
    )
    args = parser.parse_args(argv)
    duration = args.duration or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)
    warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    if not (0 < duration <= 120 and 1 <= rounds <= 10 and 0 <= warmup <= 10):
        parser.error("keep the run bounded: 0 < duration <= 120, 1 <= rounds <= 10, warmup <= 10")
    if not 1 <= args.concurrency <= 256 or not 1 <= args.batch_concurrency <= 64:
        parser.error("need 1 <= concurrency <= 256 and 1 <= batch concurrency <= 64")
    return Options(
        duration=duration,
        concurrency=args.concurrency,
        batch_concurrency=args.batch_concurrency,
        rounds=rounds,
        warmup=warmup,
        quick=args.quick,
        server_url=args.server_url,
    )


def http_request(
    method: str, path: str, port: int, body: Any = None, headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of one HTTP/1.1 request with a JSON body."""
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(payload)}")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1, opened on first use."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length: int | None = None
        chunked = close = False
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            body = await self._chunks(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body, close = await reader.read(), True
        if close:
            await self.close()
        return status, body

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append((await reader.readexactly(size + 2))[:-2])

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class Scenario(abc.ABC):
    """What the workers send. ``request`` may return None: that worker has nothing left to do."""

    name = "scenario"
    description = ""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server_pid: int | None = None  # to read the server's CPU time (Linux /proc)

    @abc.abstractmethod
    def request(self, worker: int, n: int) -> bytes | None:
        """The raw HTTP request of this worker's n-th call, or None when it is done."""

    def check(self, worker: int, status: int, body: bytes) -> bool:
        """Whether the answer is a success (a non-200 never is)."""
        return status == 200

    def failed(self, worker: int) -> None:  # noqa: B027 - a hook; most scenarios need nothing
        """Called after a transport error or timeout (the request's outcome is unknown)."""

    def extra(self) -> dict[str, Any]:
        """Scenario-specific figures for the report (broken chains, ...)."""
        return {}


class FixedRequest(Scenario):
    """The same request again and again."""

    def __init__(
        self,
        name: str,
        port: int,
        path: str,
        body: Any,
        description: str = "",
        check: Callable[[bytes], bool] | None = None,
    ) -> None:
        super().__init__(port)
        self.name = name
        self.description = description
        self._raw = http_request("POST", path, port, body)
        self._check_body = check

    def request(self, worker: int, n: int) -> bytes | None:
        return self._raw

    def check(self, worker: int, status: int, body: bytes) -> bool:
        return status == 200 and (self._check_body is None or self._check_body(body))


@dataclass
class SliceResult:
    successes: int
    errors: Counter[str]
    elapsed: float
    latencies: list[float]
    client_cpu: float  # the load generator's CPU seconds per wall second (1.0 = one core busy)
    server_cpu: float | None  # the same for the server process, when its pid is known
    samples: dict[str, str] = field(default_factory=dict)  # the first answer of each error kind

    @property
    def rps(self) -> float:
        return self.successes / self.elapsed if self.elapsed else 0.0


async def run_slice(
    scenario: Scenario, *, concurrency: int, warmup: float, duration: float
) -> SliceResult:
    """Keep ``concurrency`` requests in flight for ``warmup + duration`` seconds and count those
    that complete after the warm-up (no request starts after the end; those in flight are
    awaited, so the measured window stretches by at most one request)."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    samples: dict[str, str] = {}
    successes = 0
    start = time.perf_counter()
    record_from = start + warmup
    stop = record_from + duration

    async def worker(index: int) -> None:
        nonlocal successes
        connection = Connection(scenario.port)
        n = 0
        try:
            while (began := time.perf_counter()) < stop:
                raw = scenario.request(index, n)
                if raw is None:
                    return
                n += 1
                try:
                    async with asyncio.timeout(TIMEOUT):
                        status, body = await connection.request(raw)
                except (OSError, EOFError, TimeoutError, ValueError, IndexError) as exc:
                    # IncompleteReadError is an EOFError, LimitOverrunError and a garbled status
                    # line are ValueError / IndexError: the connection is unusable either way.
                    await connection.close()
                    scenario.failed(index)
                    if time.perf_counter() >= record_from:
                        errors[type(exc).__name__] += 1
                        samples.setdefault(type(exc).__name__, str(exc)[:300])
                    await asyncio.sleep(0.01)  # do not spin on a dead server
                    continue
                ended = time.perf_counter()
                ok = scenario.check(index, status, body)
                if ended >= record_from:  # counted by completion: a stall shows as errors
                    if ok:
                        successes += 1
                        latencies.append(ended - began)
                    else:
                        kind = f"HTTP {status}"
                        errors[kind] += 1
                        samples.setdefault(kind, body[:300].decode("utf-8", "replace"))
        finally:
            await connection.close()

    async def cpu_at_record_start() -> tuple[float, float | None]:
        await asyncio.sleep(max(0.0, record_from - time.perf_counter()))
        return time.process_time(), process_cpu_seconds(scenario.server_pid)

    sampler = asyncio.create_task(cpu_at_record_start())
    try:
        await asyncio.gather(*(worker(index) for index in range(concurrency)))
    finally:
        if not sampler.done():
            await asyncio.wait([sampler])
    finished = time.perf_counter()
    client_end, server_end = time.process_time(), process_cpu_seconds(scenario.server_pid)
    client_start, server_start = await sampler
    elapsed = max(finished - record_from, 1e-9)
    server = None
    if server_start is not None and server_end is not None:
        server = (server_end - server_start) / elapsed
    client = (client_end - client_start) / elapsed
    return SliceResult(successes, errors, elapsed, latencies, client, server, samples)


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds so far of a process and its children (uvicorn's worker
    processes, when it runs several) (Linux), None when unknown."""
    if pid is None:
        return None
    total = None
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            total = (total or 0.0) + seconds
    return total


def child_pid(module: str, environ: str | None = None) -> int | None:
    """The pid of this process's child running ``python -m <module>`` (Linux), if any; with
    ``environ`` (``NAME=value``), the one whose environment holds it."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] != me:
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            env = (stat.parent / "environ").read_bytes().split(b"\0") if environ else []
        except (OSError, IndexError):
            continue
        if b"-m" in argv and module.encode() in argv and (not environ or environ.encode() in env):
            return int(stat.parent.name)
    return None


@dataclass
class ScenarioResult:
    """A scenario's slices, added up over the rounds."""

    name: str
    description: str = ""
    slices: list[SliceResult] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def successes(self) -> int:
        return sum(part.successes for part in self.slices)

    @property
    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for part in self.slices:
            total.update(part.errors)
        return total

    @property
    def elapsed(self) -> float:
        return sum(part.elapsed for part in self.slices)

    @property
    def error_samples(self) -> dict[str, str]:
        samples: dict[str, str] = {}
        for part in self.slices:
            for kind, sample in part.samples.items():
                samples.setdefault(kind, sample)
        return samples

    @property
    def rps(self) -> float:
        return self.successes / self.elapsed if self.elapsed else 0.0

    def latency_ms(self, quantile: float) -> float | None:
        values = sorted(value for part in self.slices for value in part.latencies)
        if not values:
            return None
        return values[min(len(values) - 1, round(quantile * (len(values) - 1)))] * 1000

    def round_ratios(self, baseline: ScenarioResult | None) -> list[float]:
        """This scenario's rate over the baseline's, round by round (the pairs nearest in time)."""
        if baseline is None:
            return []
        pairs = zip(self.slices, baseline.slices, strict=True)
        return [part.rps / base.rps for part, base in pairs if base.rps]

    @property
    def client_cpu(self) -> float:
        return max((part.client_cpu for part in self.slices), default=0.0)

    @property
    def server_cpu(self) -> float | None:
        """Cores the server kept busy, over the measured windows."""
        parts = [part for part in self.slices if part.server_cpu is not None]
        if not parts:
            return None
        busy = sum((part.server_cpu or 0.0) * part.elapsed for part in parts)
        return busy / sum(part.elapsed for part in parts)

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        parts = [part for part in self.slices if part.server_cpu is not None]
        done = sum(part.successes for part in parts)
        if not done:
            return None
        busy = sum((part.server_cpu or 0.0) * part.elapsed for part in parts)
        return busy / done * 1000

    def as_dict(self, baselines: dict[str, ScenarioResult]) -> dict[str, Any]:
        errors = self.errors
        return {
            "description": self.description,
            "requests_per_s": round(self.rps, 1),
            "p50_ms": _round(self.latency_ms(0.50)),
            "p95_ms": _round(self.latency_ms(0.95)),
            "successes": self.successes,
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "error_samples": self.error_samples,
            "measured_s": round(self.elapsed, 2),
            "per_round_requests_per_s": [round(part.rps, 1) for part in self.slices],
            "client_cpu_max": round(self.client_cpu, 2),
            "server_cpu": _round(self.server_cpu),
            "server_cpu_ms_per_request": _round(self.server_cpu_ms_per_request, 3),
            **{
                f"ratio_to_{name}": round(self.rps / base.rps, 4) if base.rps else None
                for name, base in baselines.items()
            },
            "per_round_ratio_to_bare": [
                round(ratio, 4) for ratio in self.round_ratios(baselines.get("bare"))
            ],
            **self.extra,
        }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_at_start": [round(value, 2) for value in load] if load else None,
    }


def write_report(name: str, report: dict[str, Any]) -> Path:
    """``var/bench/<name>.json``."""
    from common.config import PROJECT_ROOT

    path = PROJECT_ROOT / "var" / "bench" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def summary_line(result: ScenarioResult, baseline: ScenarioResult | None) -> str:
    errors = result.errors
    ratio = f"{result.rps / baseline.rps:.3f}" if baseline and baseline.rps else "-"
    rounds = result.round_ratios(baseline)
    if len(rounds) > 1 and result is not baseline:
        ratio += f" (rounds {min(rounds):.3f}-{max(rounds):.3f})"
    line = (
        f"{result.name:<14} {result.rps:9.1f} req/s  p50 {fmt(result.latency_ms(0.5)):>6} ms  "
        f"p95 {fmt(result.latency_ms(0.95)):>6} ms  errors {sum(errors.values())}"
        f"  ratio to bare {ratio}  server cpu {fmt(result.server_cpu, '.2f')}"
        f" ({fmt(result.server_cpu_ms_per_request, '.2f')} ms/request)"
    )
    if errors:
        line += "  (" + ", ".join(f"{kind}: {count}" for kind, count in errors.most_common()) + ")"
    return line


def table(results: Sequence[ScenarioResult], baselines: dict[str, ScenarioResult]) -> str:
    names = list(baselines)
    header = f"{'scenario':<14} {'req/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'errors':>6}"
    header += "".join(f" {'/' + name:>9}" for name in names) + f" {'srv cpu ms/req':>15}"
    rows = [header, "-" * len(header)]
    for result in results:
        row = (
            f"{result.name:<14} {result.rps:9.1f} {fmt(result.latency_ms(0.5)):>7} "
            f"{fmt(result.latency_ms(0.95)):>7} {sum(result.errors.values()):>6}"
        )
        for name in names:
            base = baselines[name]
            row += f" {fmt(result.rps / base.rps if base.rps else None, '.3f'):>9}"
        row += f" {fmt(result.server_cpu_ms_per_request, '.2f'):>15}"
        rows.append(row)
    return "\n".join(rows)
