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

Bad input never merges rows. A quoted value may run over line ends only within the limits in
`loaders/reading.yaml` (a real multi-line address fits); a record beyond them, or with a quote
never closed, is sent to the exact reader, which rejects it from the line it starts on and reads
on from the next line, so every physical record is counted (loaded + rejected = read). UTF-16 is
recognised with or without a byte order mark. The delimiter is a comma unless only `;`, tab or
`|` splits the header into the expected columns. A workbook whose first sheet's first row is not
the header is searched (every visible sheet, the first rows) for it. Typed Parquet and Excel
cells become the text a CSV export would hold, for the column the caller expects (YYYYMMDD
numbers in date columns as dates, whole floats without ".0"); what has no honest text (a list,
a struct, a fraction in an identifier) is a `Problem`, and its row is rejected naming the type
or value.
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
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml
from python_calamine import CalamineError, CalamineWorkbook

FORMATS = ("csv", "xlsx", "parquet")

SETTINGS = yaml.safe_load((Path(__file__).with_name("reading.yaml")).read_text(encoding="utf-8"))
MAX_QUOTED_LINES = int(SETTINGS["csv"]["quoted_value_max_lines"])
MAX_QUOTED_CHARACTERS = int(SETTINGS["csv"]["quoted_value_max_characters"])
DELIMITERS: tuple[str, ...] = tuple(SETTINGS["csv"]["delimiters"])
HEADER_SEARCH_ROWS = int(SETTINGS["xlsx"]["header_search_rows"])
FIELD_MAX_CHARACTERS: dict[str, int] = {
    k: int(v) for k, v in SETTINGS["field_max_characters"].items()
}

_NEWLINE, _QUOTE, _CR = 10, 34, 13
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_CSV_BLOCK_BYTES = 16 << 20  # pyarrow needs a whole record inside one block
_UNCLOSED_QUOTE = "has a quote that is never closed"
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
class Problem:
    """A value the reader could not turn into text honestly (a list, a fractional identifier):
    its row is rejected with this reason and never loaded. `column` is the file's column index."""

    line: int
    column: int
    value: str | None
    reason: str


@dataclass(frozen=True)
class Expected:
    """What the caller expects of a column, so the reader can find the header (delimiter, sheet,
    row) and turn typed cells into the text the validator accepts.

    `type`: text, int, decimal, date, datetime or flag. `code`: an identifier or code, where a
    number with a fraction cannot be right. `present`: the header must be in the file."""

    header: str
    type: str = "text"
    code: bool = False
    present: bool = True


@dataclass
class Extract:
    """One file's contents as text: `table` has `line` (int64) then c0..cN-1 (string)."""

    headers: list[str]
    table: pa.Table
    file_format: str
    encoding: str | None = None
    malformed: list[Malformed] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how it was read, when not the default
    header_hint: str = ""  # what was tried, for a message when the header does not match
    nul_free: bool = False  # known to hold no NUL character (the CSV reader checks the bytes)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.malformed)


def stage_column(index: int) -> str:
    """Name of the staged text column for the file's index-th column."""
    return f"c{index}"


def read_extract(
    path: Path, name: str, sheet_names: Sequence[str] = (), expected: Sequence[Expected] = ()
) -> Extract:
    """Read `path` (named `name` in messages). `sheet_names`: worksheet names to prefer.
    `expected`: the columns the caller wants, to find the header and convert typed cells."""
    if path.is_dir():
        raise ExtractError(f"{name}: is a folder, not a file")
    kind = path.suffix.lower().lstrip(".")
    try:
        if kind == "csv":
            return _read_csv(path.read_bytes(), name, expected)
        if kind == "xlsx":
            return _read_xlsx(path, name, sheet_names, expected)
        if kind == "parquet":
            return _read_parquet(path, name, expected)
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


def _matches(headers: Sequence[str], expected: Sequence[Expected]) -> int:
    """How many of the expected headers that must be present are in `headers`."""
    found = {normalise_header(h) for h in headers}
    return sum(normalise_header(e.header) in found for e in expected if e.present)


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
    elif utf16 := _utf16_without_bom(raw):
        try:
            return raw.decode(utf16).encode("utf-8"), utf16
        except UnicodeDecodeError:
            raise ExtractError(
                f"{name}: looks like UTF-16 text without a byte order mark, but is not;"
                " save as CSV UTF-8"
            ) from None
    else:
        encoding = "utf-8"
    if _is_utf8(raw):
        return raw, encoding
    try:
        raw.decode("utf-8")  # not UTF-8: for where it fails
        return raw, encoding
    except UnicodeDecodeError as error:
        if encoding == "utf-8-sig":
            raise _undecodable(raw, error, name, "UTF-8 (it starts with a UTF-8 mark)") from None
    try:
        return raw.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError as error:
        raise _undecodable(raw, error, name, "UTF-8 or Windows-1252 (cp1252)") from None


def _is_utf8(raw: bytes) -> bool:
    """Whether the bytes are valid UTF-8, checked by Arrow in place: the same rules as Python's
    decoder (no overlong forms, surrogates or code points above U+10FFFF), several times faster
    than decoding a large file only to find that it decodes."""
    offsets = pa.py_buffer(np.array([0, len(raw)], dtype=np.int64).tobytes())
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(raw)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the first KB has the zero bytes of UTF-16 text.

    Text in a Latin script as UTF-16 has a zero in every other byte (the high byte of each
    character): at odd offsets for little-endian, at even offsets for big-endian. UTF-8 and
    cp1252 text has no zero bytes at all.
    """
    sample = raw[:1024]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.7 * half and even <= 0.1 * half:
        return "utf-16-le"
    if even >= 0.7 * half and odd <= 0.1 * half:
        return "utf-16-be"
    return None


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
    newlines: np.ndarray  # positions of every newline
    single_line: bool = False  # every newline ends a record: no quoted value runs over a line

    def __len__(self) -> int:
        return len(self.starts)


def _scan_records(buf: np.ndarray, delimiter: int) -> _Records:
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
            | np.isin(before, (delimiter, _NEWLINE, _QUOTE))
            | np.isin(after, (delimiter, _NEWLINE, _CR, _QUOTE))
        ]
    ends = newlines[(np.searchsorted(quotes, newlines) & 1) == 0] if len(quotes) else newlines
    single_line = len(ends) == len(newlines)
    if size and (not len(ends) or ends[-1] + 1 < size):
        ends = np.append(ends, size)  # the last record has no newline after it
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    length = ends - starts
    first = buf[np.minimum(starts, max(size - 1, 0))] if size else np.zeros(0, np.uint8)
    blank = (length == 0) | ((length == 1) & (first == _CR))  # "\n" or "\r\n" alone
    starts, ends = starts[~blank], ends[~blank]
    lines = np.searchsorted(newlines, starts) + 1  # newlines before the record, plus one
    return _Records(starts, ends, lines, quotes, newlines, single_line)


def _field_counts(buf: np.ndarray, records: _Records, delimiter: int) -> np.ndarray:
    """Fields in each record: one more than its commas, less the commas inside quoted values.

    Quoted stretches run from an odd-numbered quote to the next one; counting commas per stretch
    (rather than testing every comma) keeps this to a few searches over sorted positions.
    """
    commas = np.flatnonzero(buf == delimiter)
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


def _split_record(text: str, delimiter: str = ",") -> list[str]:
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [""])


def _beyond_limits(records: _Records) -> bool:
    """Whether a record may hold a quoted value over the limits (more lines, or more characters
    on its continuation lines, than allowed) or a quote never closed. Generous on purpose: the
    exact reader decides, row by row."""
    if len(records.quotes) % 2:
        return True
    # records.lines - 1 newlines come before each record's start.
    spans = np.searchsorted(records.newlines, records.ends) - records.lines + 2
    multiline = spans > 1
    if not multiline.any():
        return False
    lengths = records.ends - records.starts
    return bool(
        (spans > MAX_QUOTED_LINES).any() or (lengths[multiline] > MAX_QUOTED_CHARACTERS).any()
    )


def _choose_delimiter(header_text: str, expected: Sequence[Expected]) -> tuple[str, str]:
    """The delimiter the header splits into the expected columns with, comma first; and, when
    none does, a hint naming the delimiters tried."""
    wanted = sum(e.present for e in expected)
    if not wanted:
        return ",", ""
    tried = {d: _matches(_split_record(header_text, d), expected) for d in DELIMITERS}
    for delimiter, found in tried.items():
        if found == wanted:
            return delimiter, ""
    if tried[","] * 2 >= wanted:
        return ",", ""  # commas it is, with some columns missing: the message names them
    names = ", ".join(_DELIMITER_NAMES.get(d, repr(d)) for d in DELIMITERS)
    return ",", f"(the header was split at commas; tried {names}: none gives these columns)"


def _read_csv(raw: bytes, name: str, expected: Sequence[Expected] = ()) -> Extract:
    data, encoding = decode(raw, name)
    nul_free = b"\0" not in data
    buf = np.frombuffer(data, dtype=np.uint8)
    first = _scan_records(buf, ord(","))
    if not len(first):
        raise ExtractError(f"{name}: the file is empty")
    header_text = data[first.starts[0] : first.ends[0]].decode("utf-8").rstrip("\r")
    delimiter, hint = _choose_delimiter(header_text, expected)
    notes = []
    if delimiter != ",":
        notes.append(f"columns separated by {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}")
    extract = _read_csv_records(data, buf, name, encoding, delimiter, first)
    extract.nul_free, extract.notes, extract.header_hint = nul_free, notes, hint
    return extract


def _read_csv_records(
    data: bytes, buf: np.ndarray, name: str, encoding: str, delimiter: str, records: _Records
) -> Extract:
    if delimiter != ",":
        records = _scan_records(buf, ord(delimiter))
    header_end = int(records.ends[0])
    header_text = data[records.starts[0] : header_end].decode("utf-8").rstrip("\r")
    if "\r" in header_text:  # lines end in CR alone (old Mac): only the exact reader splits them
        return _read_csv_python(data.decode("utf-8"), name, encoding, delimiter)
    headers = _split_record(header_text, delimiter)
    width = len(headers)
    body = _Records(
        records.starts[1:],
        records.ends[1:],
        records.lines[1:],
        records.quotes,
        records.newlines,
        records.single_line,
    )
    if not len(body):
        return Extract(headers, _table([], [[] for _ in headers]), "csv", encoding)
    if _beyond_limits(body):
        # A quote never closed, or a quoted value longer than a real one: the exact reader
        # rejects that row and goes on from the next line, rather than merging rows.
        return _read_csv_python(data.decode("utf-8"), name, encoding, delimiter)

    names = [stage_column(i) for i in range(width)]
    after_header = pa.py_buffer(data)[header_end + 1 :]
    whole_lines = body.single_line and data.count(b"\r") == data.count(b"\r\n")
    parsed, invalid = _parse_csv(after_header, names, delimiter, not whole_lines)
    if whole_lines and (invalid or parsed is None or parsed.num_rows != len(body)):
        # Read as lines, a quoted value pyarrow sees running over a line end (where the
        # scanner saw none) can be cut where the file is split into blocks: read again as
        # before, then decide as before.
        parsed, invalid = _parse_csv(after_header, names, delimiter, True)
    if parsed is None:  # e.g. a record longer than a block: the exact reader copes
        return _read_csv_python(data.decode("utf-8"), name, encoding, delimiter)

    if invalid == 0 and parsed.num_rows == len(body):
        lines, malformed = body.lines, []
    else:
        # Some records have the wrong number of fields: find them by counting fields the same
        # way, and use the fast result only if both agree on which records those are.
        counts = _field_counts(buf, body, ord(delimiter))
        good = counts == width
        if parsed.num_rows != int(good.sum()) or invalid != int((~good).sum()):
            return _read_csv_python(data.decode("utf-8"), name, encoding, delimiter)
        lines = body.lines[good]
        malformed = [
            _malformed(line, data[start:end].decode("utf-8").rstrip("\r"), width, delimiter)
            for line, start, end in zip(
                body.lines[~good].tolist(),
                body.starts[~good].tolist(),
                body.ends[~good].tolist(),
                strict=True,
            )
        ]
    table = parsed.add_column(0, "line", pa.array(lines, pa.int64()))
    return Extract(headers, table, "csv", encoding, malformed)


def _parse_csv(
    body: pa.Buffer, names: list[str], delimiter: str, newlines_in_values: bool
) -> tuple[pa.Table | None, int]:
    """pyarrow's parse of the records after the header, every column as text, and how many it
    found malformed (None when it cannot parse them). `newlines_in_values` False is about twice
    as fast, and only right when no quoted value runs over a line end: each line is then one
    record, and the file can be split into blocks at any line end."""
    invalid = 0

    def skip_invalid(row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    try:
        parsed = pa_csv.read_csv(
            pa.BufferReader(body),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=_CSV_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=newlines_in_values,
                invalid_row_handler=skip_invalid,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # decode() has already made it valid UTF-8
            ),
        )
    except pa.ArrowException:
        return None, invalid
    return parsed, invalid


def _malformed(line: int, text: str, width: int, delimiter: str = ",") -> Malformed:
    fields = _split_record(text, delimiter)
    return Malformed(line, fields, _wrong_width(len(fields), width))


def _wrong_width(found: int, width: int) -> str:
    noun = "field" if found == 1 else "fields"
    return f"has {found} {noun}, but the header has {width}"


class _Lines:
    """Physical lines for csv.reader, which stops taking them when a record runs over the limits
    of a quoted value (`cut` then says which)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.pos, self.start, self.chars, self.cut = lines, 0, 0, 0, ""

    def begin(self) -> None:
        self.start, self.chars, self.cut = self.pos, 0, ""

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines) or self.cut:
            raise StopIteration
        line = self.lines[self.pos]
        if self.pos > self.start:  # the record goes on: a quoted value runs over a line end
            if self.pos == self.start + 1:  # the value so far: the first line after its quote
                first = self.lines[self.start]
                self.chars = len(first) - first.rfind('"') - 1
            self.chars += len(line)
            if self.pos - self.start + 1 > MAX_QUOTED_LINES:
                self.cut = f"more than {MAX_QUOTED_LINES} lines"
            elif self.chars > MAX_QUOTED_CHARACTERS:
                self.cut = f"more than {MAX_QUOTED_CHARACTERS:,} characters"
            if self.cut:
                raise StopIteration
        self.pos += 1
        return line


def _read_csv_python(text: str, name: str, encoding: str, delimiter: str = ",") -> Extract:
    """Exact, slower reading for files the fast path cannot split the same way twice, and for
    files with a quote never closed or a quoted value over the limits.

    Python's csv module is lenient in the same way as pyarrow (a quote inside an unquoted field
    is kept as a character). A record whose quoted value runs over more lines or characters than
    a real value would (reading.yaml), or whose quote is never closed, is rejected from the line
    it starts on, and reading resumes on the next line: a stray quote costs one row, never the
    rows after it.
    """
    source = _Lines(list(io.StringIO(text, newline="")))
    reader = csv.reader(source, delimiter=delimiter)
    headers: list[str] | None = None
    lines: list[int] = []
    rows: list[list[str]] = []
    malformed: list[Malformed] = []
    while source.pos < len(source.lines):
        source.begin()
        start = source.pos
        try:
            fields = next(reader)
        except StopIteration:
            fields = None
        except csv.Error as error:
            raise ExtractError(f"{name}: line {start + 1}: {error}") from error
        reason = ""
        if source.cut:
            reason = f"has a quoted value that runs over {source.cut}"
        elif source.pos == len(source.lines) and _unclosed(
            "".join(source.lines[start:]), delimiter
        ):
            reason = _UNCLOSED_QUOTE
        if reason:
            fields = _split_record(source.lines[start], delimiter)
            if source.pos - start > 1 or source.cut:
                reason += f", so it was not loaded; reading resumed on line {start + 2}"
            source.pos = start + 1
            reader = csv.reader(source, delimiter=delimiter)  # the old one stopped mid-record
            if headers is None:
                raise ExtractError(f"{name}: the header (line {start + 1}) {reason}")
            malformed.append(Malformed(start + 1, fields, reason))
            continue
        if not fields:
            continue  # a blank line is not a row
        if headers is None:
            headers = fields
        elif len(fields) == len(headers):
            lines.append(start + 1)
            rows.append(fields)
        else:
            malformed.append(Malformed(start + 1, fields, _wrong_width(len(fields), len(headers))))
    if headers is None:
        raise ExtractError(f"{name}: the file is empty")
    columns = [[row[i] for row in rows] for i in range(len(headers))]
    return Extract(headers, _table(lines, columns), "csv", encoding, malformed)


def _unclosed(text: str, delimiter: str) -> bool:
    """Whether the last record (`text`) ends inside a quoted value."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


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


def _by_header(headers: Sequence[str], expected: Sequence[Expected]) -> dict[int, Expected]:
    """The expected column each file column is, by index."""
    wanted = {normalise_header(e.header): e for e in expected}
    return {i: wanted[k] for i, h in enumerate(headers) if (k := normalise_header(h)) in wanted}


def _yyyymmdd(value: float) -> str | None:
    """19870223 (a number) as '1987-02-23', when it is a date written as digits."""
    if not value.is_integer() or not 10000101 <= value <= 29991231:
        return None
    digits = str(int(value))
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        return None


def _fraction_reason(text: str, header: str) -> str:
    return f"'{text}' is a number with a fraction, so it cannot be the {header}"


def _typed_cell(value: object, column: Expected | None, header: str) -> tuple[str, str | None]:
    """A spreadsheet cell as text for `column`, and why it cannot be (None when it can)."""
    if column is not None and isinstance(value, float):
        if column.type in ("date", "datetime") and (as_date := _yyyymmdd(value)):
            return as_date, None
        if column.code and not value.is_integer():
            return repr(value), _fraction_reason(repr(value), header)
    return _cell_text(value), None


def _filled_rows(cells: list[list[object]]) -> list[int]:
    return [i for i, row in enumerate(cells) if any(v not in ("", None) for v in row)]


def _texts(row: Sequence[object]) -> list[str]:
    return [_cell_text(v).strip() for v in row]


def _read_xlsx(
    path: Path, name: str, sheet_names: Sequence[str], expected: Sequence[Expected] = ()
) -> Extract:
    workbook = CalamineWorkbook.from_path(str(path))
    loaded: dict[str, tuple[list[list[object]], int]] = {}

    def sheet_cells(sheet_name: str) -> tuple[list[list[object]], int]:
        """The used area of a sheet, and the worksheet row number of its first row."""
        if sheet_name not in loaded:
            sheet = workbook.get_sheet_by_name(sheet_name)
            loaded[sheet_name] = (sheet.to_python(), (sheet.start or (0, 0))[0] + 1)
        return loaded[sheet_name]

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
        cells, first_row = sheet_cells(sheet_name)
        filled = _filled_rows(cells)
        notes: list[str] = []
        hint = ""
        wanted_count = sum(e.present for e in expected)
        if wanted_count and (
            not filled or _matches(_texts(cells[filled[0]]), expected) < wanted_count
        ):
            # The first filled row is not the header: look down this sheet and the others.
            found = []
            for candidate in [sheet_name] + [s for s in sheets if s != sheet_name]:
                c_cells, c_first = sheet_cells(candidate)
                for i in _filled_rows(c_cells)[:HEADER_SEARCH_ROWS]:
                    if _matches(_texts(c_cells[i]), expected) == wanted_count:
                        found.append((candidate, i, c_first + i))
                        break
            row_read = first_row + filled[0] if filled else first_row
            where = f"read sheet '{sheet_name}', header expected on row {row_read}"
            if len(found) == 1:
                sheet_name, header_index, row = found[0]
                cells, first_row = loaded[sheet_name]
                notes.append(f"header found on sheet '{sheet_name}', row {row}")
                filled = [i for i in _filled_rows(cells) if i >= header_index]
            elif found:
                at = ", ".join(f"sheet '{s}' has it on row {r}" for s, _, r in found)
                raise ExtractError(
                    f"{name}: {where}; the header is on more than one sheet ({at});"
                    " keep only the sheet with the data"
                )
            else:
                hint = (
                    f"({where}; no visible sheet has these columns"
                    f" in its first {HEADER_SEARCH_ROWS} rows)"
                )
    finally:
        workbook.close()
    if not filled:
        raise ExtractError(f"{name}: the file is empty (worksheet '{sheet_name}' has no cells)")
    headers = _texts(cells[filled[0]])
    body = filled[1:]  # a wholly empty worksheet row is not a row
    by_header = _by_header(headers, expected)
    columns: list[list[str]] = []
    problems: list[Problem] = []
    for j, header in enumerate(headers):
        column, texts = by_header.get(j), []
        for i in body:
            text, reason = _typed_cell(cells[i][j], column, header)
            texts.append(text)
            if reason:
                problems.append(Problem(first_row + i, j, text, reason))
        columns.append(texts)
    lines = [first_row + i for i in body]
    return Extract(
        headers,
        _table(lines, columns),
        "xlsx",
        problems=problems,
        notes=notes,
        header_hint=hint,
    )


# --- Parquet -----------------------------------------------------------------------------------

_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_NUMBERS = ("FLOAT", "DOUBLE", "DECIMAL", *_INTEGERS, *(f"U{t}" for t in _INTEGERS))


def _type_name(arrow_type: pa.DataType) -> str:
    """list<string>, not list<item: string>."""
    return re.sub(r"\b(item|element): ", "", str(arrow_type))


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_parquet(path: Path, name: str, expected: Sequence[Expected] = ()) -> Extract:
    """Typed columns become the text the validator accepts, as a CSV export would hold them:
    whole floats without ".0", dates written as digits (19870223) in date columns as ISO dates,
    timestamps in date columns as dates. What has no honest text (a list, a struct, a fraction
    in an identifier) is a problem: the row is rejected, naming the type or the value."""
    schema = pq.read_schema(path)
    with duckdb.connect() as con:
        described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
        headers, types = [row[0] for row in described], [str(row[1]) for row in described]
        if not headers:
            raise ExtractError(f"{name}: the file is empty")
        by_header = _by_header(headers, expected)
        casts, checks = [], []
        for i, (header, kind) in enumerate(zip(headers, types, strict=True)):
            column = '"' + header.replace('"', '""') + '"'
            wanted = by_header.get(i)
            target = wanted.type if wanted else "text"
            if kind.endswith("]") or kind.startswith(("STRUCT", "MAP", "UNION")):
                what = {"date": "a date", "datetime": "a date and time"}.get(target, "text")
                type_name = _type_name(schema.field(i).type) if i < len(schema) else kind
                reason = _sql_text(f"{header} is a {type_name}, not {what}")
                checks.append(
                    f"case when {column} is not null then struct_pack(i := {i},"
                    f" v := cast({column} as varchar), r := {reason}) end"
                )
                casts.append(f"cast(null as varchar) as {stage_column(i)}")
                continue
            numeric = kind.startswith(_NUMBERS)
            if kind.startswith("TIMESTAMP"):
                if kind.startswith("TIMESTAMP WITH TIME ZONE"):
                    column = f"cast({column} as timestamp)"
                if target == "date":
                    column = f"cast({column} as date)"
            elif kind in ("FLOAT", "DOUBLE") or kind.startswith("DECIMAL"):
                whole = f"{column} = trunc({column}) and abs({column}) < 1e15"
                if wanted is not None and wanted.code:
                    text = f"cast({column} as varchar)"
                    reason = f"'''' || {text} || " + _sql_text(
                        _fraction_reason("", header).removeprefix("'")
                    )
                    checks.append(
                        f"case when {column} is not null and not ({whole}) then"
                        f" struct_pack(i := {i}, v := {text}, r := {reason}) end"
                    )
                # As in a spreadsheet, a whole number has no ".0".
                column = (
                    f"coalesce(case when {whole} then cast(cast({column} as bigint) as varchar)"
                    f" end, cast({column} as varchar))"
                )
            if numeric and target in ("date", "datetime"):
                # 19870223: a date written as digits (YYYYMMDD), as some systems store it.
                digits = f"cast({column} as varchar)"
                column = (
                    f"coalesce(case when regexp_full_match({digits}, '[12][0-9]{{7}}') then"
                    f" strftime(try_strptime({digits}, '%Y%m%d'), '%Y-%m-%d') end, {digits})"
                )
            casts.append(f"cast({column} as varchar) as {stage_column(i)}")  # null stays null
        problems_sql = (
            f", list_filter([{', '.join(checks)}], lambda x: x is not null) as __problems"
            if checks
            else ""
        )
        table = con.sql(
            f"select file_row_number + 2 as line, {', '.join(casts)}{problems_sql}"
            " from read_parquet(?, file_row_number = true) order by file_row_number",
            params=[str(path)],
        ).to_arrow_table()
    problems: list[Problem] = []
    if checks:
        found = table.filter(
            pa_compute.greater(pa_compute.list_value_length(table["__problems"]), 0)
        )
        for line, items in zip(
            found["line"].to_pylist(), found["__problems"].to_pylist(), strict=True
        ):
            problems.extend(Problem(line, p["i"], p["v"], p["r"]) for p in items)
        table = table.drop_columns(["__problems"])
    return Extract(headers, table, "parquet", problems=problems)
