"""The services that exist, for the ops scripts (a service never imports another; scripts may)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from common.config import ServiceSettings


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    port: int
    package: str

    def settings(self) -> ServiceSettings:
        module = importlib.import_module(f"{self.package}.config")
        settings: ServiceSettings = module.get_settings()
        return settings


SERVICES = [
    ServiceEntry("auth", 8003, "auth_service"),
    ServiceEntry("ingestion", 8002, "ingestion_service"),
    ServiceEntry("analytics", 8001, "analytics_service"),
]


def select(names: list[str]) -> list[ServiceEntry]:
    if not names:
        return SERVICES
    known = {entry.name: entry for entry in SERVICES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[name] for name in names]
