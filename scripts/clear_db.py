"""Drop every service's schema (``make db_clean``); refuses outside development."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.migrations import reset_schema
from registry import select

if __name__ == "__main__":
    for entry in select(sys.argv[1:]):
        settings = entry.settings()
        if not settings.is_development:
            raise SystemExit(
                f"refusing to empty {entry.name}: environment is {settings.environment}"
            )
        reset_schema(settings)
        print(f"{entry.name}: schema dropped")
