"""``make run``: the embedded PostgreSQL (unless DATABASE_URL is set), migrations, the demo tenant
(development), then every service and its worker as child processes. Ctrl-C stops them all.

Usage: run.py [service ...]   (default: every service that exists)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from common.config import PROJECT_ROOT
from common.devdb import embedded_url
from common.migrations import migrate
from registry import ServiceEntry, select


def _database_url() -> str:
    if url := os.environ.get("DATABASE_URL"):
        return url
    url = embedded_url(PROJECT_ROOT / "var")
    print("embedded PostgreSQL under var/pg (data kept between runs; `make clean` removes it)")
    return url


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], env=env, cwd=PROJECT_ROOT)  # noqa: S603


def _wait_healthy(entry: ServiceEntry, process: subprocess.Popen[bytes]) -> None:
    url = f"http://127.0.0.1:{entry.port}/health"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"{entry.name} exited with {process.returncode}; see logs/{entry.name}.log"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(
        f"{entry.name} did not become healthy in 60 s; see logs/{entry.name}-error.log"
    )


DEV_PROVIDER_PORT = 8009
DEV_REDIRECT = "http://localhost:3000/oauth/callback"


def _dev_provider(
    entries: list[ServiceEntry], env: dict[str, str]
) -> subprocess.Popen[bytes] | None:
    """In development with no sign-in provider configured, a local one named "dev" on :8009 that
    signs everyone in as the demo owner, so the sign-in flow can be tried at once."""
    auth = next((entry for entry in entries if entry.name == "auth"), None)
    settings = auth.settings() if auth else None
    if settings is None or not settings.is_development or settings.providers():  # type: ignore[attr-defined]
        return None
    base = f"http://127.0.0.1:{DEV_PROVIDER_PORT}"
    dev = {
        "client_id": "meridian-dev",
        "client_secret": "meridian-dev-secret",
        "discovery_url": f"{base}/.well-known/openid-configuration",
    }
    # "google" grants go to the same provider, and GA4 reports to a local fake (see _dev_ga4).
    env["AUTH_OAUTH_PROVIDERS"] = json.dumps({"dev": dev, "google": dev})
    args = ["--port", str(DEV_PROVIDER_PORT), "--redirect-uri", DEV_REDIRECT]
    return _spawn(["-m", "common.testing.oidc_provider", *args], env)


DEV_GA4_PORT = 8010


def _dev_ga4(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Beside the development provider: a fake GA4 Data API on :8010 with a week of page views
    on property 1001, so a GA4 connection and its pulls can be tried without Google."""
    env["INGESTION_GA4_API_URL"] = f"http://127.0.0.1:{DEV_GA4_PORT}"
    args = ["--port", str(DEV_GA4_PORT), "--property", "1001", "--days", "7"]
    return _spawn(["-m", "common.testing.ga4", *args], env)


DEV_SMTP_PORT = 8025


def _dev_smtp(entries: list[ServiceEntry], env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """In development with analytics: an SMTP sink on :8025 keeping each message under
    var/mail, so reports sent to it can be read."""
    analytics = next((entry for entry in entries if entry.name == "analytics"), None)
    if analytics is None or not analytics.settings().is_development:
        return None
    return _spawn(["-m", "common.testing.smtp_sink", "--port", str(DEV_SMTP_PORT)], env)


def main(names: list[str]) -> None:
    entries = select(names)
    env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}
    os.environ.update(env)
    provider = _dev_provider(entries, env)
    ga4 = _dev_ga4(env) if provider and any(e.name == "ingestion" for e in entries) else None
    os.environ.update(env)
    for entry in entries:
        asyncio.run(migrate(entry.settings()))
    demo: dict[str, str] = {}
    if entries[0].settings().is_development and any(e.name == "auth" for e in entries):
        from seed_demo import seed

        demo = asyncio.run(seed())
    smtp = _dev_smtp(entries, env)
    children: list[subprocess.Popen[bytes]] = [p for p in (provider, ga4, smtp) if p]
    try:
        for entry in entries:
            api = _spawn(["-m", entry.package], env)
            children += [api, _spawn(["-m", f"{entry.package}.worker"], env)]
            _wait_healthy(entry, api)
        _announce(entries, demo)
        _supervise(children)
    finally:
        _stop(children)


def _announce(entries: list[ServiceEntry], demo: dict[str, str]) -> None:
    print("\nMeridian is running (Ctrl-C stops everything):")
    for entry in entries:
        base = f"http://127.0.0.1:{entry.port}"
        print(f"  {entry.name:<12} {base}   docs {base}/docs   worker running")
    if demo:
        dev = f"http://127.0.0.1:{DEV_PROVIDER_PORT}"
        print(f"  {'dev sign-in':<12} {dev}   (provider=dev: signs in as the demo owner)")
        if any(e.name == "ingestion" for e in entries):
            ga4 = f"http://127.0.0.1:{DEV_GA4_PORT}"
            print(f"  {'fake GA4':<12} {ga4}   (property 1001, a week of page views)")
        if any(e.name == "analytics" for e in entries):
            smtp = f"127.0.0.1:{DEV_SMTP_PORT}"
            print(f"  {'SMTP sink':<12} {smtp}          (any login, no TLS; mail in var/mail)")
        print("\nDemo tenant (also in var/demo.env):")
        for key, value in demo.items():
            print(f"  {key}={value}")
    print("\nLogs: logs/<service>.log and logs/<service>-error.log (make logs)\n", flush=True)


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    stop = False

    def _on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    # Ctrl-C reaches every process of the group (and uv forwards it once more): each child
    # shuts itself down, and this loop only notices and waits for them.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    while not stop:
        for child in children:
            if child.poll() is not None:
                print(f"a process exited ({child.args}); stopping everything", file=sys.stderr)
                return
        time.sleep(0.5)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
    print("stopped")


if __name__ == "__main__":
    main(sys.argv[1:])
