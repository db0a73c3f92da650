"""The CSV reader's quick parse of files whose records are each one line (pyarrow told that no
value runs over a line end) reads what the exact reader (Python's csv module) reads, including
where the file is cut into blocks mid-way and where stray quotes or a lone CR could fool it."""

from __future__ import annotations

import pytest

from loaders import reading

HEADER = b"a,b,c\n"
SHAPES = {
    "quoted commas and doubled quotes, CRLF": b'1,"a, b",3\r\n' * 40 + b'4,"x""y",6\r\n',
    "a short row among good ones": b"1,2,3\n" * 20 + b"1,2\n" + b"1,2,3\n" * 20,
    "a lone CR in a value": b"1,2,3\n" * 20 + b"1,a\rb,3\n" + b"1,2,3\n" * 20,
    "stray quotes then a quoted line end": b"1,2,3\n" * 20 + b'ab",x,"l1\nl2"\n' + b"1,2,3\n" * 40,
    "a quoted line end": b"1,2,3\n" * 20 + b'x,"y\nz",w\n' + b"1,2,3\n" * 20,
}


def _read(data: bytes) -> tuple[list[dict], list[tuple[int, str]]]:
    extract = reading._read_csv(data, "x.csv")
    return extract.table.to_pylist(), [(m.line, m.reason) for m in extract.malformed]


def _read_exactly(data: bytes) -> tuple[list[dict], list[tuple[int, str]]]:
    extract = reading._read_csv_python(data.decode("utf-8"), "x.csv", "utf-8")
    return extract.table.to_pylist(), [(m.line, m.reason) for m in extract.malformed]


@pytest.mark.parametrize("block_bytes", [64, 100, 1 << 20])
@pytest.mark.parametrize("shape", SHAPES)
def test_quick_parse_reads_what_the_exact_reader_reads(monkeypatch, shape, block_bytes):
    monkeypatch.setattr(reading, "_CSV_BLOCK_BYTES", block_bytes)  # blocks cut mid-file
    data = HEADER + SHAPES[shape]
    assert _read(data) == _read_exactly(data)


def test_every_line_is_one_record_only_when_no_quote_spans_a_line_end():
    single = reading._scan_records(reading.np.frombuffer(HEADER + b'1,"a, b",3\n', "u1"), 44)
    spanning = reading._scan_records(reading.np.frombuffer(HEADER + b'x,"y\nz",w\n', "u1"), 44)
    assert single.single_line and not spanning.single_line


@pytest.mark.parametrize(
    "raw",
    [b"caf\xc3\xa9", b"caf\xe9", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"ok\x00"],
)
def test_utf8_check_agrees_with_python(raw):
    try:
        raw.decode("utf-8")
        python_says = True
    except UnicodeDecodeError:
        python_says = False
    assert reading._is_utf8(raw) == python_says
