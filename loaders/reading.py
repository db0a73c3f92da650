"""Reads one extract file (CSV, XLSX or Parquet) into text columns with the line of every row.

Nothing here knows about types or rules: every cell arrives as text (blank cells as '', Parquet
nulls as null), so the validation in `loaders/base.py` is the same SQL whatever the format. Each
row carries `line`, the place a person would find it: the physical line where a CSV record starts
(header = line 1), the worksheet row of a spreadsheet, or for Parquet the row index + 2 (as if it
had a header line).

CSV is parsed by pyarrow's multi-threaded reader. DuckDB's read_csv was the first choice, but it
reports record numbers rather than file lines once a quoted value spans lines, merges blank lines
into the next record, and cannot pad short rows while reading in parallel. pyarrow does not give
line numbers either, so a vectorised pass over the bytes (numpy) finds where every record starts,
honouring quoted values that span lines, and counts fields where rows are malformed. The two are
cross-checked; if they disagree (quoting neither understands the same way, lines ending in CR
alone) the file is read again with Python's csv module: exact, but several times slower.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from python_calamine import CalamineError, CalamineWorkbook

FORMATS = ("csv", "xlsx", "parquet")

_NEWLINE, _QUOTE, _COMMA, _CR = 10, 34, 44, 13
_CSV_BLOCK_BYTES = 16 << 20  # pyarrow needs a whole record inside one block
_UNCLOSED_QUOTE = "has a quote that is never closed, so the rest of the file was read as one value"
# What the libraries raise for a file that is not what its extension says (corrupt, truncated).
_CORRUPT_FILE_ERRORS = (CalamineError, duckdb.Error, pa.ArrowException)


class ExtractError(Exception):
    """An extract cannot be used at all. str(error) is one line naming the file and the problem."""


@dataclass
class Malformed:
    """A CSV record that could not be split into the header's columns."""

    line: int
    fields: list[str]
    reason: str


@dataclass
class Extract:
    """One file's contents as text: `table` has `line` (int64) then c0..cN-1 (string)."""

    headers: list[str]
    table: pa.Table
    file_format: str
    encoding: str | None = None
    malformed: list[Malformed] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.malformed)


def stage_column(index: int) -> str:
    """Name of the staged text column for the file's index-th column."""
    return f"c{index}"


def read_extract(path: Path, name: str, sheet_names: Sequence[str] = ()) -> Extract:
    """Read `path` (named `name` in messages). `sheet_names`: worksheet names to prefer."""
    if path.is_dir():
        raise ExtractError(f"{name}: is a folder, not a file")
    kind = path.suffix.lower().lstrip(".")
    try:
        if kind == "csv":
            return _read_csv(path.read_bytes(), name)
        if kind == "xlsx":
            return _read_xlsx(path, name, sheet_names)
        if kind == "parquet":
            return _read_parquet(path, name)
    except ExtractError:
        raise
    except OSError as error:
        raise ExtractError(f"{name}: cannot be read ({error.strerror or error})") from error
    except _CORRUPT_FILE_ERRORS as error:
        raise ExtractError(
            f"{name}: cannot be read as {kind.upper()} ({_one_line(error)})"
        ) from error
    raise ExtractError(f"{name}: unsupported file type (expected .csv, .xlsx or .parquet)")


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0].strip() if text else type(error).__name__


def normalise_header(text: str) -> str:
    """Case, spaces, underscores, punctuation and a BOM do not matter in headers."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _table(lines: Sequence[int], columns: Sequence[list[str]]) -> pa.Table:
    arrays = [pa.array(lines, pa.int64())] + [pa.array(c, pa.string()) for c in columns]
    names = ["line"] + [stage_column(i) for i in range(len(columns))]
    return pa.Table.from_arrays(arrays, names=names)


# --- CSV ---------------------------------------------------------------------------------------


def decode(raw: bytes, name: str) -> tuple[bytes, str]:
    """UTF-8 bytes of the file and the encoding it came in.

    UTF-8 (with or without BOM) is kept as is; anything else is read as Windows-1252, which is
    what Excel's "CSV" and most council systems write (not latin-1: ’ – € differ). The five bytes
    Windows-1252 leaves undefined mean the file is neither, so the load stops with the line.
    """
    if raw.startswith(codecs.BOM_UTF8):
        raw, encoding = raw[len(codecs.BOM_UTF8) :], "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        try:
            return raw.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError:
            raise ExtractError(
                f"{name}: starts as UTF-16 text but is not; save as CSV UTF-8"
            ) from None
    else:
        encoding = "utf-8"
    try:
        raw.decode("utf-8")
        return raw, encoding
    except UnicodeDecodeError as error:
        if encoding == "utf-8-sig":
            raise _undecodable(raw, error, name, "UTF-8 (it starts with a UTF-8 mark)") from None
    try:
        return raw.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError as error:
        raise _undecodable(raw, error, name, "UTF-8 or Windows-1252 (cp1252)") from None


def _undecodable(raw: bytes, error: UnicodeDecodeError, name: str, expected: str) -> ExtractError:
    line = raw.count(b"\n", 0, error.start) + 1
    byte = raw[error.start]
    return ExtractError(
        f"{name}: line {line} has byte 0x{byte:02X}, which is not {expected} text;"
        " save the file as CSV UTF-8"
    )


@dataclass
class _Records:
    """Where each non-blank CSV record sits in the bytes: [starts, ends) and its first line."""

    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    quotes: np.ndarray  # positions of the quotes that open or close quoted values

    def __len__(self) -> int:
        return len(self.starts)


def _scan_records(buf: np.ndarray) -> _Records:
    """Record boundaries in one vectorised pass (RFC 4180: a quoted field may contain newlines).

    A newline ends a record when an even number of quote characters precede it; doubled quotes
    inside a quoted field count twice, so they keep the parity.
    """
    size = len(buf)
    newlines = np.flatnonzero(buf == _NEWLINE)
    quotes = np.flatnonzero(buf == _QUOTE)
    if len(quotes):
        # A quote inside a word (O"Brien, 12" screen) can neither open nor close a quoted value,
        # and readers keep it as a character: leave it out of the count.
        before = buf[np.maximum(quotes - 1, 0)]
        after = buf[np.minimum(quotes + 1, size - 1)]
        quotes = quotes[
            (quotes == 0)
            | (quotes == size - 1)
            | np.isin(before, (_COMMA, _NEWLINE, _QUOTE))
            | np.isin(after, (_COMMA, _NEWLINE, _CR, _QUOTE))
        ]
    ends = newlines[(np.searchsorted(quotes, newlines) & 1) == 0] if len(quotes) else newlines
    if size and (not len(ends) or ends[-1] + 1 < size):
        ends = np.append(ends, size)  # the last record has no newline after it
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    length = ends - starts
    first = buf[np.minimum(starts, max(size - 1, 0))] if size else np.zeros(0, np.uint8)
    blank = (length == 0) | ((length == 1) & (first == _CR))  # "\n" or "\r\n" alone
    starts, ends = starts[~blank], ends[~blank]
    lines = np.searchsorted(newlines, starts) + 1  # newlines before the record, plus one
    return _Records(starts, ends, lines, quotes)


def _field_counts(buf: np.ndarray, records: _Records) -> np.ndarray:
    """Fields in each record: one more than its commas, less the commas inside quoted values.

    Quoted stretches run from an odd-numbered quote to the next one; counting commas per stretch
    (rather than testing every comma) keeps this to a few searches over sorted positions.
    """
    commas = np.flatnonzero(buf == _COMMA)
    counts = np.searchsorted(commas, records.ends) - np.searchsorted(commas, records.starts) + 1
    quotes = records.quotes
    if len(quotes):
        opens = quotes[0::2]
        closes = np.append(quotes[1::2], len(buf))[: len(opens)]  # an unclosed quote runs to EOF
        inside = np.searchsorted(commas, closes) - np.searchsorted(commas, opens)
        owner = np.searchsorted(records.ends, opens)  # the record each stretch starts in
        known = owner < len(records)
        known[known] &= opens[known] >= records.starts[owner[known]]  # not the header's
        counts -= np.bincount(owner[known], weights=inside[known], minlength=len(records)).astype(
            counts.dtype
        )
    return counts


def _split_record(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline="")), [""])


def _read_csv(raw: bytes, name: str) -> Extract:
    data, encoding = decode(raw, name)
    buf = np.frombuffer(data, dtype=np.uint8)
    records = _scan_records(buf)
    if not len(records):
        raise ExtractError(f"{name}: the file is empty")
    header_end = int(records.ends[0])
    header_text = data[records.starts[0] : header_end].decode("utf-8").rstrip("\r")
    if "\r" in header_text:  # lines end in CR alone (old Mac): only the exact reader splits them
        return _read_csv_python(data.decode("utf-8"), name, encoding)
    headers = _split_record(header_text)
    width = len(headers)
    body = _Records(records.starts[1:], records.ends[1:], records.lines[1:], records.quotes)
    if not len(body):
        return Extract(headers, _table([], [[] for _ in headers]), "csv", encoding)

    invalid = 0

    def skip_invalid(row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    names = [stage_column(i) for i in range(width)]
    try:
        parsed = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(data)[header_end + 1 :]),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=_CSV_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(
                delimiter=",", newlines_in_values=True, invalid_row_handler=skip_invalid
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # decode() has already made it valid UTF-8
            ),
        )
    except pa.ArrowException:  # e.g. a record longer than a block: the exact reader copes
        return _read_csv_python(data.decode("utf-8"), name, encoding)

    if invalid == 0 and parsed.num_rows == len(body):
        lines, malformed = body.lines, []
    else:
        # Some records have the wrong number of fields: find them by counting fields the same
        # way, and use the fast result only if both agree on which records those are.
        counts = _field_counts(buf, body)
        good = counts == width
        if parsed.num_rows != int(good.sum()) or invalid != int((~good).sum()):
            return _read_csv_python(data.decode("utf-8"), name, encoding)
        lines = body.lines[good]
        malformed = [
            _malformed(line, data[start:end].decode("utf-8").rstrip("\r"), width)
            for line, start, end in zip(
                body.lines[~good].tolist(),
                body.starts[~good].tolist(),
                body.ends[~good].tolist(),
                strict=True,
            )
        ]
    table = parsed.add_column(0, "line", pa.array(lines, pa.int64()))
    if len(records.quotes) % 2:
        # A quote opened and never closed: the last record runs to the end of the file,
        # swallowing the lines after it. Loading it would hide those lines inside one value.
        last = int(body.lines[-1])
        if len(lines) and lines[-1] == last:
            table = table.slice(0, table.num_rows - 1)
            text = data[body.starts[-1] : body.ends[-1]].decode("utf-8")
            malformed.append(Malformed(last, _split_record(text), _UNCLOSED_QUOTE))
        elif malformed and malformed[-1].line == last:
            malformed[-1].reason = _UNCLOSED_QUOTE
    return Extract(headers, table, "csv", encoding, malformed)


def _malformed(line: int, text: str, width: int) -> Malformed:
    fields = _split_record(text)
    return Malformed(line, fields, _wrong_width(len(fields), width))


def _wrong_width(found: int, width: int) -> str:
    noun = "field" if found == 1 else "fields"
    return f"has {found} {noun}, but the header has {width}"


def _read_csv_python(text: str, name: str, encoding: str) -> Extract:
    """Exact, slower reading for files the fast path cannot split the same way twice.

    Python's csv module is lenient in the same way as pyarrow (a quote inside an unquoted field
    is kept as a character) and reports the physical line each record ends on.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    headers: list[str] | None = None
    lines: list[int] = []
    rows: list[list[str]] = []
    malformed: list[Malformed] = []
    previous_end = 0
    try:
        for fields in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not fields:
                continue  # a blank line is not a row
            if headers is None:
                headers = fields
            elif len(fields) == len(headers):
                lines.append(start)
                rows.append(fields)
            else:
                malformed.append(Malformed(start, fields, _wrong_width(len(fields), len(headers))))
    except csv.Error as error:
        raise ExtractError(f"{name}: line {reader.line_num}: {error}") from error
    if headers is None:
        raise ExtractError(f"{name}: the file is empty")
    columns = [[row[i] for row in rows] for i in range(len(headers))]
    return Extract(headers, _table(lines, columns), "csv", encoding, malformed)


# --- XLSX --------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold: dates ISO, 12.0 as 12."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, name: str, sheet_names: Sequence[str]) -> Extract:
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        sheets = [
            m.name
            for m in workbook.sheets_metadata
            if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith("Visible")
        ] or list(workbook.sheet_names)
        if not sheets:
            raise ExtractError(f"{name}: the workbook has no worksheets")
        wanted = {normalise_header(s) for s in sheet_names}
        sheet_name = next((s for s in sheets if normalise_header(s) in wanted), sheets[0])
        sheet = workbook.get_sheet_by_name(sheet_name)
        cells = sheet.to_python()  # the used area only, starting at sheet.start
        first_row = (sheet.start or (0, 0))[0] + 1  # worksheet row number of cells[0]
    finally:
        workbook.close()
    filled = [i for i, row in enumerate(cells) if any(v not in ("", None) for v in row)]
    if not filled:
        raise ExtractError(f"{name}: the file is empty (worksheet '{sheet_name}' has no cells)")
    header_index = filled[0]
    headers = [_cell_text(v).strip() for v in cells[header_index]]
    body = filled[1:]  # a wholly empty worksheet row is not a row
    columns = [[_cell_text(cells[i][j]) for i in body] for j in range(len(headers))]
    lines = [first_row + i for i in body]
    return Extract(headers, _table(lines, columns), "xlsx")


# --- Parquet -----------------------------------------------------------------------------------


def _read_parquet(path: Path, name: str) -> Extract:
    with duckdb.connect() as con:
        described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
        headers, types = [row[0] for row in described], [str(row[1]) for row in described]
        if not headers:
            raise ExtractError(f"{name}: the file is empty")
        casts = []
        for i, (header, kind) in enumerate(zip(headers, types, strict=True)):
            column = '"' + header.replace('"', '""') + '"'
            if kind.startswith("TIMESTAMP WITH TIME ZONE"):
                column = f"cast({column} as timestamp)"
            elif kind in ("FLOAT", "DOUBLE"):  # as in a spreadsheet, a whole number has no ".0"
                column = (
                    f"case when {column} = trunc({column}) and abs({column}) < 1e15"
                    f" then cast(cast({column} as bigint) as varchar) end"
                    f", cast({column} as varchar)"
                )
                column = f"coalesce({column})"
            casts.append(f"cast({column} as varchar) as {stage_column(i)}")  # null stays null
        table = con.sql(
            f"select file_row_number + 2 as line, {', '.join(casts)}"
            " from read_parquet(?, file_row_number = true) order by file_row_number",
            params=[str(path)],
        ).to_arrow_table()
    return Extract(headers, table, "parquet")
