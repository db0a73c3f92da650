"""Tables as the pages draw them: labelled, formatted columns (a Col spec per column) and the
table's CSV and Excel downloads beside it, for the roles that may download it.

What the page shows and what the files hold agree: a count is a whole number, a decimal has one
decimal place, a share is a percentage to one decimal place (46.2% on screen, 0.462 in the files),
and a cell with no value shows the table's symbol (the Government Statistical Service's `x`, not
available, or `z`, not applicable), explained under the table and in the files' notes. A table
with no rows is a sentence, with nothing to download.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from pages.ui import access
from pages.ui.formats import (
    EXCEL_DATE_FORMAT,
    GRID_DATE_FORMAT,
    GRID_MONTH_FORMAT,
    SHARE_DECIMALS,
    is_small_base,
    plain,
    round_as_shown,
    slug,
    small_base_limit,
    small_base_words,
)

EMPTY = "Nothing to show with these choices."
# Decimal places each kind of number is shown with, on screen and in the downloads.
DECIMALS = {"count": 0, "change": 0, "decimal": 1, "share": SHARE_DECIMALS + 2}  # share: a fraction


@dataclass(frozen=True)
class Col:
    """How to show a column: its label and kind (text, count, decimal, share, date, month, flag;
    change: a signed whole number; trend: a list of counts drawn as a small line, downloaded
    as "3; 5; 8"), its width on screen ('small', 'medium', 'large' or pixels: a long text,
    say) and the symbol for a cell with no value (set for the whole table by
    `table(missing=...)`)."""

    label: str
    kind: str = "text"
    help: str | None = None
    width: str | int | None = None
    missing: str | None = None


@dataclass(frozen=True)
class Missing:
    """What an empty cell of a table stands for: a symbol (the GSS's 'x', not available, or 'z',
    not applicable) and what it means here, said under the table and in its downloads' notes."""

    symbol: str
    meaning: str

    @property
    def note(self) -> str:
        return f"{self.symbol}: {self.meaning}."


NOT_AVAILABLE = "x"  # GSS: not available
NOT_APPLICABLE = "z"  # GSS: not applicable


@dataclass(frozen=True)
class Caution:
    """Which column counts the cases behind a row's medians or rates, and what they are
    ('referrals'): a row from fewer cases than settings.yaml's limit says so in a column of its
    own, beside the figures."""

    cases: str
    what: str = "cases"


CAUTION_COLUMN = "caution"


def fit_width(values: pd.Series, least: int = 120, most: int = 1400) -> int:
    """A text column's width in pixels that shows its longest value whole (about 7.5 pixels a
    character of the grid's 14 px text), within `least` and `most`: a reason or a record's
    value cut off mid-sentence says nothing."""
    longest = values.dropna().astype(str).str.len().max() if len(values) else 0
    longest = 0 if pd.isna(longest) else int(longest)
    return int(min(max(least, 7.5 * longest + 24), most))


def _column_config(spec: Mapping[str, Col]) -> dict[str, Any]:
    """Streamlit's column settings: labels, formats and widths. A number column's step fixes its
    decimal places (46.0%, not 46%) but cuts the value rather than rounding it (0.99893 would
    show as 99.8%): counts and shares are rounded before they reach the grid (shown_as_rounded);
    a decimal's "%.1f" rounds by itself."""
    config: dict[str, Any] = {}
    for name, col in spec.items():
        shared = {"help": col.help, "width": col.width}
        if col.kind == "date":
            config[name] = st.column_config.DateColumn(col.label, format=GRID_DATE_FORMAT, **shared)
        elif col.kind == "month":
            config[name] = st.column_config.DateColumn(
                col.label, format=GRID_MONTH_FORMAT, **shared
            )
        elif col.kind == "count":  # rounded first (shown_as_rounded): the step cuts, not rounds
            config[name] = st.column_config.NumberColumn(
                col.label, format="localized", step=1, **shared
            )
        elif col.kind == "decimal":  # one decimal place, rounded as shown: working days, weights
            config[name] = st.column_config.NumberColumn(col.label, format="%.1f", **shared)
        elif col.kind == "share":  # rounded first to 0.463, which the step shows as 46.3%
            config[name] = st.column_config.NumberColumn(
                col.label, format="percent", step=10 ** -DECIMALS["share"], **shared
            )
        elif col.kind == "change":  # rounded first, as a count; shown with its sign
            config[name] = st.column_config.NumberColumn(col.label, format="%+d", **shared)
        elif col.kind == "trend":
            config[name] = st.column_config.LineChartColumn(col.label, y_min=0, **shared)
        elif col.kind == "flag":
            config[name] = st.column_config.CheckboxColumn(col.label, **shared)
        else:
            config[name] = st.column_config.TextColumn(col.label, **shared)
    return config


def rounded(values: pd.Series, kind: str) -> pd.Series:
    """A column of numbers as the page shows them: a count whole, a decimal to one place, a share
    to the tenth of a percentage point (no float noise such as 45.199999999999996), each
    rounded from its exact value as the browser rounds it (formats.round_as_shown)."""
    if not (pd.api.types.is_numeric_dtype(values) or values.isna().all()):
        return values  # text in a number column is shown as it is, not lost
    numbers = pd.to_numeric(values, errors="coerce").astype("Float64")
    places = DECIMALS[kind]
    shown = numbers.map(lambda v: v if pd.isna(v) else float(round_as_shown(v, places)))
    return shown.astype("Int64" if places == 0 else "Float64")


def shown_as_rounded(df: pd.DataFrame, spec: Mapping[str, Col]) -> pd.DataFrame:
    """The table as the grid is given it: counts and shares rounded as shown (the grid would cut
    them), everything else as it is."""
    out = df.copy()
    for name, col in spec.items():
        if name in out.columns and col.kind in ("count", "change", "share"):
            out[name] = rounded(out[name], col.kind)
    return out


def _labelled(df: pd.DataFrame, spec: Mapping[str, Col]) -> pd.DataFrame:
    """The table as downloaded: only the shown columns, with their labels as headers, each value
    as the page shows it (rounded; the table's symbol where there is no value)."""
    columns = [c for c in spec if c in df.columns]
    out = df[columns].copy()
    for name in columns:
        col = spec[name]
        if col.kind in ("date", "month"):
            out[name] = pd.to_datetime(out[name]).dt.date
        elif col.kind == "flag":
            out[name] = out[name].map({True: "Yes", False: "No"})
        elif col.kind == "trend":
            out[name] = out[name].map(lambda values: "; ".join(str(v) for v in values))
        elif col.kind in DECIMALS:
            out[name] = rounded(out[name], col.kind)
        if col.missing is not None and out[name].isna().any():
            out[name] = out[name].astype(object).where(out[name].notna(), col.missing)
    return out.rename(columns={c: spec[c].label for c in columns})


# A cell a spreadsheet would read as a formula (or as the start of one): OWASP's CSV injection list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text_cell(value: Any) -> Any:
    """A text value that would start a formula, as inert text: a leading apostrophe (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def inert_text(df: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell that a spreadsheet would run as a formula made inert; numbers,
    dates and flags are left as they are (a negative number stays a number)."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_as_text_cell)
    # Headers too: a table pivoted on data (a ward per column) takes its headers from the data.
    out.columns = [_as_text_cell(c) for c in out.columns]
    return out


def to_csv(df: pd.DataFrame, spec: Mapping[str, Col]) -> bytes:
    """CSV with a byte-order mark so Excel reads UTF-8; dates as YYYY-MM-DD for any tool; no cell
    that a spreadsheet would run as a formula. Lines end CRLF (RFC 4180), so a value holding a
    carriage return is quoted rather than splitting its row."""
    table = inert_text(_labelled(df, spec))
    return table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_excel(
    df: pd.DataFrame, spec: Mapping[str, Col], title: str, notes: tuple[str, ...] = ()
) -> bytes:
    """An Excel workbook: the table with real dates shown as DD Mon YYYY, and a notes sheet. Every
    text is written as a string cell: xlsxwriter would otherwise turn "=..." into a live formula
    and "http..." into a link."""
    table = _labelled(df, spec)
    buffer = io.BytesIO()
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        date_format=EXCEL_DATE_FORMAT,
        datetime_format=EXCEL_DATE_FORMAT,
        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}},
    ) as writer:
        table.to_excel(writer, sheet_name="Table", index=False)
        sheet = writer.sheets["Table"]
        sheet.freeze_panes(1, 0)
        # Numbers shown as on the page: a share as a percentage to one decimal place.
        number_formats = {
            kind: writer.book.add_format({"num_format": code})
            for kind, code in (
                ("count", "#,##0"),
                ("change", "+#,##0;-#,##0;0"),
                ("decimal", "0.0"),
                ("share", "0.0%"),
            )
        }
        kinds = [col.kind for name, col in spec.items() if name in df.columns]
        for i, column in enumerate(table.columns):
            values = table[column].astype(str)
            width = max([len(str(column)), *values.str.len().head(500).tolist()]) + 2
            sheet.set_column(i, i, min(max(width, 10), 60), number_formats.get(kinds[i]))
        pd.DataFrame({"About this table": [title, *notes]}).to_excel(
            writer, sheet_name="Notes", index=False
        )
        writer.sheets["Notes"].set_column(0, 0, 100)
    return buffer.getvalue()


def download_buttons(
    df: pd.DataFrame,
    name: str,
    spec: Mapping[str, Col] | None = None,
    title: str | None = None,
    notes: tuple[str, ...] = (),
    level: str | None = None,
) -> None:
    """CSV and Excel downloads of a table, for a role that may download tables of its level (the
    page's, unless given: data_model/access.yaml); none otherwise, nor for a table with no rows.
    The files are made only when a button is pressed, after the download is written to the
    audit trail."""
    if df.empty or not access.may_download(level):
        return
    spec = spec or {c: Col(c) for c in df.columns}
    audited = access.download_recorder(name, len(df), level)

    def csv_file() -> bytes:
        audited()
        return to_csv(df, spec)

    def excel_file() -> bytes:
        audited()
        return to_excel(df, spec, title or name, notes)

    file = slug(name)
    about = plain(title or name)  # the tooltip reads Markdown; a title may name a case or family
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Download CSV",
            data=csv_file,
            file_name=f"{file}.csv",
            mime="text/csv",
            key=f"download_csv_{file}",
            on_click="ignore",
            help=f"{about}, as CSV",
        )
        st.download_button(
            "Download Excel",
            data=excel_file,
            file_name=f"{file}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"download_xlsx_{file}",
            on_click="ignore",
            help=f"{about}, as an Excel workbook",
        )


def with_caution(
    df: pd.DataFrame, spec: Mapping[str, Col], caution: Caution
) -> tuple[pd.DataFrame, dict[str, Col]]:
    """The table with a caution column beside its figures (after the last column of numbers)
    saying which rows come from fewer cases than the limit in settings.yaml."""
    words = df[caution.cases].map(lambda cases: small_base_words(cases, caution.what) or "")
    out = df.assign(**{CAUTION_COLUMN: words})
    column = Col(
        "Caution",
        help=f"Figures from fewer than {small_base_limit()} {caution.what} can swing a long "
        "way from one period to the next.",
    )
    names = list(spec)
    numeric = [i for i, name in enumerate(names) if spec[name].kind in DECIMALS]
    at = (numeric[-1] + 1) if numeric else len(names)
    items = list(spec.items())
    return out, dict([*items[:at], (CAUTION_COLUMN, column), *items[at:]])


def table(
    df: pd.DataFrame,
    name: str,
    spec: Mapping[str, Col],
    *,
    title: str | None = None,
    notes: tuple[str, ...] = (),
    height: int | str = "auto",
    level: str | None = None,
    empty: str = EMPTY,
    missing: Missing | None = None,
    caution: Caution | None = None,
) -> None:
    """A table with labelled, formatted columns and its CSV and Excel downloads (for the roles
    that may download a table of its level: the page's unless given).

    With no rows, the sentence `empty` instead, and nothing to download. `missing`: what an empty
    cell stands for (its symbol shown in the cell, its meaning under the table); without it an
    empty cell is blank. `caution`: the column counting each row's cases, for a caution beside
    figures from few of them."""
    if df.empty:
        st.markdown(empty)
        return
    if caution is not None:
        df, spec = with_caution(df, spec, caution)
        if df[caution.cases].map(is_small_base).any():
            limit = f"fewer than {small_base_limit()} {caution.what}"
            notes = (*notes, f"Caution: figures from {limit} can swing a long way.")
    if missing is not None:
        spec = {column: replace(col, missing=missing.symbol) for column, col in spec.items()}
        notes = (*notes, missing.note)
    shown = [c for c in spec if c in df.columns]
    st.dataframe(
        shown_as_rounded(df, spec),
        column_order=shown,
        column_config=_column_config(spec),
        hide_index=True,
        height=height,
        alt=title or name,
        key=f"table_{slug(name)}",
        # an empty cell shows the table's symbol, or nothing: never Streamlit's grey "None"
        placeholder=missing.symbol if missing is not None else "",
    )
    if missing is not None and df[shown].isna().any().any():
        st.caption(plain(missing.note))
    download_buttons(df, name, spec, title=title, notes=notes, level=level)
