"""Writing extract tables as councils' systems do: CSV (UTF-8, UTF-8 with BOM or cp1252), Excel
workbooks with date cells, and Parquet.

Columns are held dictionary-coded (distinct values plus a code per row) because most values repeat
(a pupil's name on 24 census rows): each distinct value is formatted and quoted once, and the rows
are assembled by Arrow in C++. That is what lets 2-3 million rows be written in a few seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xlsxwriter

from loaders.contracts import Contract

EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
FIXED_CREATED = dt.datetime(2020, 3, 2, 9, 0, 0)  # fixed workbook metadata: identical bytes per run


@dataclass
class Col:
    """A column: values, and optionally a code per row into them (None: values are per row).

    values: object array of str/None, datetime64[D] or [m] (NaT = blank), int64 or float64
    (with `blank` marking missing entries).
    """

    values: np.ndarray
    codes: np.ndarray | None = None
    blank: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes) if self.codes is not None else len(self.values)

    def at(self, rows: np.ndarray | int) -> np.ndarray:
        """Values of the given rows only (without materialising the whole column)."""
        return self.values[rows] if self.codes is None else self.values[self.codes[rows]]

    def row_values(self) -> np.ndarray:
        return self.values if self.codes is None else self.values[self.codes]

    def row_blank(self) -> np.ndarray:
        v = self.row_values()
        if v.dtype.kind == "M":
            return np.isnat(v)
        if v.dtype == object:
            return np.array([x is None or x == "" for x in v], dtype=bool) if len(v) else v
        b = np.zeros(len(self.values), dtype=bool) if self.blank is None else self.blank
        return b if self.codes is None else b[self.codes]


@dataclass
class Table:
    """An extract ready to write: columns by field, row order, and cells overwritten as text."""

    contract: Contract
    cols: dict[str, Col]
    order: np.ndarray | None = None  # output row i is table row order[i] (repeats = duplicates)
    overrides: list[tuple[int, str, str]] = field(default_factory=list)  # (row, field, text)
    plain_serials: list[tuple[int, str]] = field(default_factory=list)  # XLSX: unformatted dates
    date_format: str | None = None  # CSV dates written otherwise than the contract's usual way

    @property
    def written_date_format(self) -> str:
        return self.date_format or self.contract.usual_date_format

    @property
    def n(self) -> int:
        return len(next(iter(self.cols.values())))

    @property
    def rows_out(self) -> int:
        return self.n if self.order is None else len(self.order)


def coded(values: list | tuple | np.ndarray, codes: np.ndarray) -> Col:
    """A text column from distinct values and a code per row."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values) if not isinstance(values, np.ndarray) else values
    return Col(arr, np.asarray(codes, dtype=np.int64))


# --- formatting -----------------------------------------------------------------------------------


def _format_values(values: np.ndarray, blank: np.ndarray | None, date_format: str) -> np.ndarray:
    """Distinct values to text (None for blank)."""
    kind = values.dtype.kind
    out = np.empty(len(values), dtype=object)
    if kind == "O":
        out[:] = values
        return out
    if kind == "M":
        ok = ~np.isnat(values)
        if ok.any():
            fmt = "%d/%m/%Y" if date_format == "excel" else date_format
            ts = pa.array(values[ok].astype("datetime64[s]"), type=pa.timestamp("s"))
            out[ok] = pc.strftime(ts, format=fmt).to_numpy(zero_copy_only=False)
        out[~ok] = None
        return out
    if kind in "iu":
        out[:] = [str(int(x)) for x in values]
    else:
        out[:] = [f"{x:.2f}" for x in values]
    if blank is not None:
        out[blank] = None
    return out


def _string_col(col: Col, date_format: str) -> tuple[np.ndarray, np.ndarray]:
    """(distinct text values, code per row) for any column."""
    values, codes = col.values, col.codes
    if codes is None and values.dtype.kind in "Miuf" and len(values) > 5000:
        # Dates and numbers repeat a lot: format each distinct value once.
        blank = col.blank
        if blank is not None:
            values = np.where(blank, values.min() if len(values) else 0, values)
        uniq, inv = np.unique(values, return_inverse=True)
        text_values = _format_values(uniq, None, date_format)
        if blank is not None:
            text_values = np.append(text_values, None)
            inv = np.where(blank, len(text_values) - 1, inv)
        return text_values, inv.astype(np.int64)
    text_values = _format_values(values, col.blank, date_format)
    if codes is None:
        codes = np.arange(len(values), dtype=np.int64)
    return text_values, codes


def _csv_quote(values: np.ndarray, line_end: bool = False) -> pa.Array:
    """Text values as CSV fields: quoted only where needed (comma, quote, line break, or edge
    spaces a reader would trim), blanks empty. Done by Arrow over the distinct values."""
    arr = pa.array(values, type=pa.string(), from_pandas=True)
    need = pc.or_(
        pc.match_substring_regex(arr, '[",\\r\\n]'), pc.match_substring_regex(arr, "^\\s|\\s$")
    )
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    out = pc.fill_null(pc.if_else(need, quoted, arr), "")
    if line_end:
        out = pc.binary_join_element_wise(out, "\n", "")
    return out


def _final_columns(table: Table) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every column as (text values, codes in output row order), overrides applied."""
    fmt = table.written_date_format
    overrides: dict[str, list[tuple[int, str]]] = {}
    for row, fld, txt in table.overrides:
        overrides.setdefault(fld, []).append((row, txt))
    out = []
    for c in table.contract.columns:
        values, codes = _string_col(table.cols[c.field], fmt)
        if c.field in overrides:
            codes = codes.copy()
            extra = [t for _, t in overrides[c.field]]
            rows = np.array([r for r, _ in overrides[c.field]], dtype=np.int64)
            codes[rows] = len(values) + np.arange(len(extra))
            values = np.concatenate([values, np.array(extra, dtype=object)])
        if table.order is not None:
            codes = codes[table.order]
        out.append((values, codes))
    return out


# --- writers ------------------------------------------------------------------------------------


def write_table(table: Table, folder: Path) -> Path:
    c = table.contract
    path = folder / c.subfolder / f"{c.file_stem}.{c.usual_format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if c.usual_format == "csv":
        write_csv(table, path)
    elif c.usual_format == "xlsx":
        write_xlsx(table, path)
    elif c.usual_format == "parquet":
        write_parquet(table, path)
    else:
        raise ValueError(c.usual_format)
    return path


def write_csv(table: Table, path: Path) -> None:
    """Comma-separated, quoted only where needed, LF line ends, the contract's header."""
    cols = _final_columns(table)
    pieces = []
    for i, (values, codes) in enumerate(cols):
        quoted = _csv_quote(values, line_end=i == len(cols) - 1)  # the line end rides along
        pieces.append(pc.take(quoted, pa.array(codes)))
    header_cells = np.array([c.header for c in table.contract.columns], dtype=object)
    header = ",".join(_csv_quote(header_cells).to_pylist())
    if pieces and len(pieces[0]):
        body = _concat_strings(pc.binary_join_element_wise(*pieces, ","))
    else:
        body = b""
    content = (header + "\n").encode("utf-8") + body
    encoding = table.contract.usual_encoding
    if encoding == "utf-8-sig":
        content = b"\xef\xbb\xbf" + content
    elif encoding == "cp1252":
        content = content.decode("utf-8").encode("cp1252")
    path.write_bytes(content)


def _concat_strings(arr: pa.Array) -> bytes:
    """The bytes of every string of an Arrow string array, one after another."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    wide = arr.type == pa.large_string()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32)
    start, end = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    return arr.buffers()[2].to_pybytes()[start:end]


def write_parquet(table: Table, path: Path) -> None:
    """Date columns as Parquet dates; everything else as strings (as a data share sends them)."""
    order = table.order if table.order is not None else np.arange(table.n)
    overrides: dict[str, list[tuple[int, str]]] = {}
    for row, fld, txt in table.overrides:
        overrides.setdefault(fld, []).append((row, txt))
    arrays, names = [], []
    for c in table.contract.columns:
        col = table.cols[c.field]
        if c.type == "date":
            if c.field in overrides:
                raise ValueError("a Parquet date column cannot hold text")
            v = col.row_values()[order].astype("datetime64[D]")
            arrays.append(pa.array(v, type=pa.date32(), from_pandas=True))
        else:
            values, codes = _string_col(col, "%Y-%m-%d")
            if c.field in overrides:
                codes = codes.copy()
                for row, txt in overrides[c.field]:
                    codes[row] = len(values)
                    values = np.append(values, txt)
            arrays.append(pc.take(pa.array(values, type=pa.string()), pa.array(codes[order])))
        names.append(c.header)
    pq.write_table(pa.table(arrays, names=names), path, compression="snappy")


def write_xlsx(table: Table, path: Path) -> None:
    """One sheet; dates as real Excel date cells, except the cells an unformatted column holds as
    plain serial numbers; numbers as numbers; overrides as text."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": FIXED_CREATED, "author": "Housing management system"})
    ws = wb.add_worksheet("Tenancies")
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    contract = table.contract
    ws.write_row(0, 0, [c.header for c in contract.columns])
    order = table.order if table.order is not None else np.arange(table.n)
    n_out = len(order)

    per_col = []
    for c in contract.columns:
        col = table.cols[c.field]
        v = col.row_values()[order]
        blank = col.row_blank()[order]
        if c.type == "date":
            serial = (v.astype("datetime64[D]") - EXCEL_EPOCH).astype("int64")
            per_col.append(("date", serial, blank))
        elif c.type in ("int", "decimal"):
            per_col.append(("num", v, blank))
        else:
            per_col.append(("text", v, blank))
    overrides = {}
    for row, fld, txt in table.overrides:
        for i in np.flatnonzero(order == row):
            overrides[(int(i), fld)] = txt
    plain = set()
    for row, fld in table.plain_serials:
        for i in np.flatnonzero(order == row):
            plain.add((int(i), fld))

    fields = [c.field for c in contract.columns]
    for i in range(n_out):
        r = i + 1
        for j, (kind, v, blank) in enumerate(per_col):
            key = (i, fields[j])
            if key in overrides:
                ws.write_string(r, j, overrides[key])
            elif blank[i]:
                continue
            elif kind == "date":
                if key in plain:
                    ws.write_number(r, j, int(v[i]))
                else:
                    ws.write_number(r, j, int(v[i]), date_fmt)
            elif kind == "num":
                if contract.columns[j].type == "decimal":
                    ws.write_number(r, j, float(v[i]), money_fmt)
                else:
                    ws.write_number(r, j, int(v[i]))
            else:
                ws.write_string(r, j, v[i])
    ws.freeze_panes(1, 0)
    wb.close()
