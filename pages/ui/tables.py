"""Tables as the pages draw them: labelled, formatted columns (a Col spec per column) and the
table's CSV and Excel downloads beside it, for the roles that may download it."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from pages.ui import access
from pages.ui.formats import EXCEL_DATE_FORMAT, GRID_DATE_FORMAT, GRID_MONTH_FORMAT, plain, slug


@dataclass(frozen=True)
class Col:
    """How to show a column: its label and kind (text, count, decimal, share, date, month, flag;
    percent: a share shown and downloaded as a percentage to one decimal place; whole: a count
    that may hold a fraction (a forecast), shown and downloaded as a whole number; change: a
    signed whole number; trend: a list of counts drawn as a small line, downloaded as "3; 5; 8")."""

    label: str
    kind: str = "text"
    help: str | None = None


def _column_config(spec: Mapping[str, Col]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, col in spec.items():
        if col.kind == "date":
            config[name] = st.column_config.DateColumn(
                col.label, format=GRID_DATE_FORMAT, help=col.help
            )
        elif col.kind == "month":
            config[name] = st.column_config.DateColumn(
                col.label, format=GRID_MONTH_FORMAT, help=col.help
            )
        elif col.kind == "count":
            config[name] = st.column_config.NumberColumn(
                col.label, format="localized", help=col.help
            )
        elif col.kind == "decimal":  # one decimal place: working days, match weights
            config[name] = st.column_config.NumberColumn(col.label, format="%.1f", help=col.help)
        elif col.kind == "share":
            config[name] = st.column_config.NumberColumn(col.label, format="percent", help=col.help)
        elif col.kind == "percent":
            config[name] = st.column_config.NumberColumn(col.label, format="%.1f%%", help=col.help)
        elif col.kind == "whole":
            config[name] = st.column_config.NumberColumn(col.label, format="%.0f", help=col.help)
        elif col.kind == "change":
            config[name] = st.column_config.NumberColumn(col.label, format="%+d", help=col.help)
        elif col.kind == "trend":
            config[name] = st.column_config.LineChartColumn(col.label, y_min=0, help=col.help)
        elif col.kind == "flag":
            config[name] = st.column_config.CheckboxColumn(col.label, help=col.help)
        else:
            config[name] = st.column_config.TextColumn(col.label, help=col.help)
    return config


def _labelled(df: pd.DataFrame, spec: Mapping[str, Col]) -> pd.DataFrame:
    """The table as downloaded: only the shown columns, with their labels as headers."""
    columns = [c for c in spec if c in df.columns]
    out = df[columns].copy()
    for name in columns:
        kind = spec[name].kind
        if kind in ("date", "month"):
            out[name] = pd.to_datetime(out[name]).dt.date
        elif kind == "flag":
            out[name] = out[name].map({True: "Yes", False: "No"})
        elif kind == "trend":
            out[name] = out[name].map(lambda values: "; ".join(str(v) for v in values))
        elif kind == "whole":  # as the grid shows it ("%.0f": a half rounded up)
            out[name] = np.floor(pd.to_numeric(out[name], errors="coerce") + 0.5).astype("Int64")
    return out.rename(columns={c: spec[c].label for c in columns})


def as_shown(df: pd.DataFrame, spec: Mapping[str, Col]) -> pd.DataFrame:
    """The table's values as the page shows them: percent columns as percentages rounded to one
    decimal place (so a download holds what the screen shows)."""
    percent = [c for c, col in spec.items() if col.kind == "percent" and c in df.columns]
    if not percent:
        return df
    out = df.copy()
    for name in percent:
        out[name] = (100 * pd.to_numeric(out[name], errors="coerce")).round(1)
    return out


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
        for i, column in enumerate(table.columns):
            values = table[column].astype(str)
            width = max([len(str(column)), *values.str.len().head(500).tolist()]) + 2
            sheet.set_column(i, i, min(max(width, 10), 60))
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
    page's, unless given: data_model/access.yaml); none otherwise. The files are made only when a
    button is pressed, after the download is written to the audit trail."""
    if not access.may_download(level):
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


def table(
    df: pd.DataFrame,
    name: str,
    spec: Mapping[str, Col],
    *,
    title: str | None = None,
    notes: tuple[str, ...] = (),
    height: int | str = "auto",
    level: str | None = None,
) -> None:
    """A table with labelled, formatted columns and its CSV and Excel downloads (for the roles
    that may download a table of its level: the page's unless given)."""
    df = as_shown(df, spec)
    st.dataframe(
        df,
        column_order=[c for c in spec if c in df.columns],
        column_config=_column_config(spec),
        hide_index=True,
        height=height,
        alt=title or name,
        key=f"table_{slug(name)}",
        # nothing recorded reads as an empty cell, not Streamlit's grey "None"
        placeholder="",
    )
    download_buttons(df, name, spec, title=title, notes=notes, level=level)
