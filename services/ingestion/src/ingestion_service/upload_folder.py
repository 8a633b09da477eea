"""Upload the gaming backend's data/ folder: ``python -m ingestion_service.upload_folder DATA_DIR
--url http://localhost:8002 --token TOKEN``.

Each file named after a kind (purchases_raw.csv, confirmed_purchases.csv, costs_daily.csv,
sessions.csv, users.csv, locations.csv) is streamed to ``POST /data/uploads/{kind}`` with a
progress bar; what became of its rows is printed, with its row errors. Other files are skipped.
The token is a tenant user's access token (analyst or above) or an API key holding uploads:write
(also read from MERIDIAN_TOKEN). Exit status: 0 when every file went in whole, 1 when a file was
refused or had rows refused, 2 when the folder holds none of the six files.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx
from tqdm import tqdm

from ingestion_service.uploads.kinds import FILE_NAMES, KINDS

CHUNK = 1 << 20
# Row errors printed per file (the upload's record keeps the first 1,000).
SHOWN_ERRORS = 20


def found_files(folder: Path) -> tuple[list[tuple[str, Path]], list[Path]]:
    """The folder's files of the six kinds, in the kinds' order, and the others."""
    files = sorted(path for path in folder.iterdir() if path.is_file())
    kinds = {FILE_NAMES[path.name]: path for path in files if path.name in FILE_NAMES}
    ordered = [(kind, kinds[kind]) for kind in KINDS if kind in kinds]
    return ordered, [path for path in files if path.name not in FILE_NAMES]


def _chunks(path: Path, bar: tqdm) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            bar.update(len(chunk))
            yield chunk


def summary(name: str, answer: dict[str, Any]) -> str:
    line = (
        f"{name}: {answer['status']}, {answer['rows_total']} rows: {answer['rows_inserted']} new,"
        f" {answer['rows_updated']} updated, {answer['rows_duplicate']} already there,"
        f" {answer['rows_error']} refused, {answer['rows_warning']} with warnings"
    )
    return line + (f" ({answer['failure']})" if answer.get("failure") else "")


def _report(name: str, response: httpx.Response, out: TextIO) -> bool:
    """Print what became of one file; whether it went in whole."""
    body = response.json() if response.content else {}
    answer = body.get("upload", body) if isinstance(body, dict) else {}
    if "rows_total" not in answer:
        detail = body.get("detail", response.text[:300]) if isinstance(body, dict) else ""
        print(f"{name}: refused (HTTP {response.status_code}): {detail}", file=out)
        for error in body.get("errors", [])[:SHOWN_ERRORS] if isinstance(body, dict) else []:
            print(f"  {error.get('msg')}", file=out)
        return False
    print(summary(name, answer), file=out)
    errors = answer.get("errors", [])
    for issue in errors[:SHOWN_ERRORS]:
        print(f"  line {issue['line']}: {issue['reason']}", file=out)
    if answer["rows_error"] > len(errors[:SHOWN_ERRORS]):
        more = answer["rows_error"] - len(errors[:SHOWN_ERRORS])
        print(f"  ... and {more} more (GET /data/uploads/{answer['id']})", file=out)
    return response.status_code == 201 and answer["rows_error"] == 0


def upload_folder(
    folder: Path, url: str, token: str, mode: str, out: TextIO = sys.stdout, timeout: float = 600
) -> int:
    files, others = found_files(folder)
    for path in others:
        print(f"{path.name}: skipped (not one of {', '.join(FILE_NAMES)})", file=out)
    if not files:
        print(f"{folder}: none of the six files of a data/ folder", file=out)
        return 2
    whole = True
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    with httpx.Client(base_url=url, headers=headers, timeout=timeout) as client:
        for kind, path in files:
            with tqdm(
                total=path.stat().st_size, desc=path.name, unit="B", unit_scale=True, leave=False
            ) as bar:
                try:
                    response = client.post(
                        f"/data/uploads/{kind}",
                        params={"mode": mode, "filename": path.name},
                        content=_chunks(path, bar),
                        # declared, not chunked: taken in faster, and refused at once if too large
                        headers={"Content-Length": str(path.stat().st_size)},
                    )
                except httpx.HTTPError as exc:
                    print(f"{path.name}: not sent: {type(exc).__name__}: {exc}", file=out)
                    whole = False
                    continue
            whole = _report(path.name, response, out) and whole
    return 0 if whole else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion_service.upload_folder",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    parser.add_argument("data_dir", type=Path, help="the folder (the gaming backend's data/)")
    parser.add_argument("--url", default="http://localhost:8002", help="the ingestion service")
    parser.add_argument(
        "--token",
        default=os.environ.get("MERIDIAN_TOKEN"),
        help="an access token or an API key holding uploads:write (default: $MERIDIAN_TOKEN)",
    )
    parser.add_argument(
        "--mode",
        choices=["accept_valid", "all_or_nothing"],
        default="accept_valid",
        help="all_or_nothing: a file with any bad row is refused whole",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give --token (or set MERIDIAN_TOKEN)")
    if not args.data_dir.is_dir():
        parser.error(f"{args.data_dir} is not a folder")
    return upload_folder(args.data_dir, args.url.rstrip("/"), args.token, args.mode)


if __name__ == "__main__":
    sys.exit(main())
