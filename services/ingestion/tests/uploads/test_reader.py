"""The CSV reader on its own: records cut apart the same whatever the chunks, line numbers of
records spanning lines, and what it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ingestion_service.uploads.reader import (
    MAX_RECORD_CHARS,
    MAX_RECORD_LINES,
    CsvStream,
    NotText,
    Record,
    TooLarge,
)

FILE = (
    '\ufeffa,b,c\r\n1,"x\r\ny",3\r\n\r\n4,"q""uote",6\n7,a"b,9\n8,\x00,9\n10,"",""\n"open,1,2\n'
).encode()
EXPECTED = [
    Record(1, ["a", "b", "c"]),
    Record(2, ["1", "x\r\ny", "3"]),
    Record(5, ["4", 'q"uote', "6"]),
    Record(6, ["7", 'a"b', "9"]),
    Record(7, error="the record holds a NUL character"),
    Record(8, ["10", "", ""]),
    Record(9, error="a quoted field opened on this line is never closed"),
]


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(stream: CsvStream) -> list[Record]:
    return [record async for batch in stream.batches() for record in batch]


@pytest.mark.parametrize("size", [1, 2, 5, 13, 1 << 16])
async def test_records_are_the_same_whatever_the_chunks(size: int) -> None:
    stream = CsvStream(chunked(FILE, size), max_bytes=len(FILE))
    assert await read_all(stream) == EXPECTED
    assert stream.size == len(FILE)


async def test_a_quote_left_open_is_given_up_after_a_bound_and_reading_goes_on() -> None:
    lines = ['1,"never closed'] + ["x"] * MAX_RECORD_LINES + ["2,fine"]
    data = "\n".join(["a,b", *lines]).encode()
    records = await read_all(CsvStream(chunked(data, 4096), max_bytes=len(data)))
    assert records[:2] == [
        Record(1, ["a", "b"]),
        Record(
            2,
            error="a quoted field opened on this line is not closed within 1000 lines"
            " or 1048576 characters",
        ),
    ]
    assert records[-1] == Record(MAX_RECORD_LINES + 3, ["2", "fine"])


async def test_more_bytes_than_the_limit_stop_the_reading() -> None:
    with pytest.raises(TooLarge):
        await read_all(CsvStream(chunked(FILE, 10), max_bytes=len(FILE) - 1))


async def test_bytes_that_are_not_utf8_say_where() -> None:
    data = "a,b\nc,\u00e9\n".encode("latin-1")
    with pytest.raises(NotText, match=r"^the file is not UTF-8 text \(at byte 6\)$"):
        await read_all(CsvStream(chunked(data, 3), max_bytes=100))


async def test_a_line_too_long_to_hold_is_refused_and_reading_goes_on() -> None:
    data = b"a,b\n" + b"x" * (3 * MAX_RECORD_CHARS) + b",y\n3,4\n"
    stream = CsvStream(chunked(data, 1 << 16), max_bytes=len(data))
    assert await read_all(stream) == [
        Record(1, ["a", "b"]),
        Record(2, error="the line is longer than 1048576 characters"),
        Record(3, ["3", "4"]),
    ]
