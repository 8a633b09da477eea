"""Alembic for one service. Usage:
migrate.py <service> revision -m "message"   autogenerate a migration (file per the naming rule)
migrate.py <service> check                    fail when the models and the history disagree
migrate.py <service> upgrade|downgrade <rev>  move the schema
migrate.py <service> history
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alembic import command

from common.migrations import alembic_config, provision
from registry import select


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("service")
    parser.add_argument("action", choices=["revision", "check", "upgrade", "downgrade", "history"])
    parser.add_argument("target", nargs="?", default="head")
    parser.add_argument("-m", "--message", default="change")
    args = parser.parse_args()
    settings = select([args.service])[0].settings()
    asyncio.run(provision(settings))
    cfg = alembic_config(settings)
    if args.action == "revision":
        command.revision(cfg, message=args.message, autogenerate=True)
    elif args.action == "check":
        command.check(cfg)
    elif args.action == "upgrade":
        command.upgrade(cfg, args.target)
    elif args.action == "downgrade":
        command.downgrade(cfg, args.target)
    else:
        command.history(cfg)


if __name__ == "__main__":
    main()
