"""The embedded PostgreSQL: ``devdb.py url`` starts it and prints its URL; ``devdb.py stop``."""

from __future__ import annotations

import sys

from common.config import PROJECT_ROOT
from common.devdb import embedded_url, stop_embedded

if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "url"
    if action == "stop":
        print("stopped" if stop_embedded(PROJECT_ROOT / "var") else "not running")
    elif action == "url":
        print(embedded_url(PROJECT_ROOT / "var"))
    else:
        raise SystemExit("usage: devdb.py [url|stop]")
