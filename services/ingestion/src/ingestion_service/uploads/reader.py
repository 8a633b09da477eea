"""A CSV body read as it arrives: records in file order, a batch at a time, never the whole
file in memory. Counts and hashes the bytes, and stops past a size limit.

The ``csv`` module cannot wait for the network, so records are cut apart here first: a batch
handed to it always ends where a record ends, never inside a quoted field running across lines.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

# A quoted field still open after this many lines (or characters) is taken as a stray quote,
# not a long field; a longer line is refused unread. What the reader holds stays bounded.
MAX_RECORD_LINES = 1000
MAX_RECORD_CHARS = 1 << 20


class TooLarge(Exception):
    """The body passed the limit."""


class NotText(Exception):
    """The body is not UTF-8 text."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"the file is not UTF-8 text (at byte {offset})")


@dataclass(frozen=True)
class Record:
    """One record (one line, or several if a quoted field holds line breaks): its fields, or why
    it could not be read. ``line`` is where it starts; the header is line 1."""

    line: int
    fields: list[str] | None = None
    error: str | None = None


def _open_quote_at_end(line: str, inside: bool) -> bool:
    """Whether ``line`` ends inside a quoted field, as the csv module reads it (a quote opens a
    field only at its start, two quotes inside stand for one, text after the closing quote runs
    to the next comma)."""
    position, end = 0, len(line)
    while position <= end:
        if inside:
            close = line.find('"', position)
            if close < 0:
                return True
            if line.startswith('"', close + 1):
                position = close + 2
                continue
            inside = False
            position = close + 1
        elif position < end and line[position] == '"':
            inside = True
            position += 1
            continue
        comma = line.find(",", position)
        if comma < 0:
            return False
        position = comma + 1
    return inside


class CsvStream:
    """Records of a CSV body arriving as byte chunks."""

    def __init__(self, chunks: AsyncIterator[bytes], max_bytes: int) -> None:
        self._chunks = chunks
        self.max_bytes = max_bytes
        self.size = 0
        self._sha = hashlib.sha256()
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._block: list[str] = []  # lines not yet parsed; the last record may be open
        self._block_start = 1  # the line number of the block's first line
        self._open_from = 0  # index in the block where an open record starts
        self._inside = False
        self._nul_lines: set[int] = set()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    async def batches(self) -> AsyncIterator[list[Record]]:
        """The records, in batches of whatever one chunk completes (blank lines left out)."""
        carry, skipping = "", False
        async for chunk in self._chunks:
            text = self._take(chunk)
            if skipping:  # the rest of a line too long to read
                end = text.find("\n")
                if end < 0:
                    continue
                text, skipping = text[end + 1 :], False
            lines = (carry + text).split("\n")
            carry = lines.pop()
            records = self._add(lines)
            if len(carry) > MAX_RECORD_CHARS:
                records += self._too_long()
                carry, skipping = "", True
            if records:
                yield records
        text = "" if skipping else carry + self._decode(b"", final=True)
        records = self._add([text] if text else [])
        records += self._unclosed("a quoted field opened on this line is never closed")
        if records:
            yield records

    def _take(self, chunk: bytes) -> str:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TooLarge
        self._sha.update(chunk)
        return self._decode(chunk)

    def _decode(self, chunk: bytes, final: bool = False) -> str:
        held = len(self._decoder.getstate()[0])  # the start of a character cut by the chunk
        try:
            return self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise NotText(self.size - len(chunk) - held + exc.start) from None

    def _add(self, lines: list[str]) -> list[Record]:
        """Take in whole lines; parse the records they complete."""
        block = self._block
        for line in lines:
            if "\x00" in line:  # PostgreSQL text cannot hold NUL; the record is refused
                self._nul_lines.add(self._block_start + len(block))
                line = line.replace("\x00", "")
            if self._inside or '"' in line:
                self._inside = _open_quote_at_end(line, self._inside)
            if self._inside:
                block.append(line + "\n")  # the line break belongs to the quoted field
            else:
                block.append(line)
                self._open_from = len(block)
        records = self._parse(self._open_from)
        if len(self._block) > MAX_RECORD_LINES or sum(map(len, self._block)) > MAX_RECORD_CHARS:
            reason = (
                "a quoted field opened on this line is not closed within"
                f" {MAX_RECORD_LINES} lines or {MAX_RECORD_CHARS} characters"
            )
            records += self._unclosed(reason)
        return records

    def _too_long(self) -> list[Record]:
        """A line longer than MAX_RECORD_CHARS is refused; the rest of it is skipped unread."""
        line = self._block_start + len(self._block)
        error = Record(line, error=f"the line is longer than {MAX_RECORD_CHARS} characters")
        return [error, *self._add([""])]  # an empty line in its place keeps the count

    def _parse(self, upto: int) -> list[Record]:
        """Parse the block's first ``upto`` lines (whole records) and drop them from it."""
        if not upto:
            return []
        start = self._block_start
        reader = csv.reader(self._block[:upto], strict=False)
        records: list[Record] = []
        consumed = 0
        while True:
            line = start + consumed
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                records.append(Record(line, error=str(exc)))
                fields = None
            last = start + reader.line_num - 1
            consumed = reader.line_num
            if fields is None:
                continue
            if self._nul_lines and any(n in self._nul_lines for n in range(line, last + 1)):
                records.append(Record(line, error="the record holds a NUL character"))
            elif fields:
                records.append(Record(line, fields))
        del self._block[:upto]
        self._block_start += upto
        self._open_from = 0
        return records

    def _unclosed(self, reason: str) -> list[Record]:
        """The open record at the end of the file (or one open too long) is refused."""
        if not self._block:
            return []
        line = self._block_start
        self._block_start += len(self._block)
        self._block.clear()
        self._open_from = 0
        self._inside = False
        return [Record(line, error=reason)]
