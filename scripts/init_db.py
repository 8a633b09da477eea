"""Apply every service's migrations (``make db_setup``). Usage: init_db.py [service ...]"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.migrations import migrate
from registry import select


async def main(names: list[str]) -> None:
    for entry in select(names):
        await migrate(entry.settings())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
