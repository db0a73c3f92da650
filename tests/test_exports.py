"""Downloads that cannot attack a spreadsheet.

A cell whose text starts with =, +, -, @, a tab or a carriage return is a formula to Excel (or the
start of one: OWASP's CSV injection). Every CSV download writes such text with a leading
apostrophe, and every Excel download writes it as a string cell, never a formula, while real
numbers stay numbers. The tests plant payloads in a district's extracts and plan
(tests/export_payloads.py), draw every page and export every table each page draws.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pages import registry
from pages.ui import tables
from pages.ui.tables import FORMULA_STARTS, Col, to_csv, to_excel
from tests.access_helpers import give_reason
from tests.conftest import model_copy
from tests.export_payloads import PAYLOADS

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _xlsx_parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return {name: book.read(name).decode("utf-8") for name in book.namelist()}


def _formulas(parts: dict[str, str]) -> list[str]:
    """The formula elements of every worksheet: <f>...</f> in the sheet XML."""
    return [
        f"{name}: {found}"
        for name, text in parts.items()
        if name.startswith("xl/worksheets/")
        for found in re.findall(r"<f[ >][^<]*", text)
    ]


# --- The export helper on hand-made tables -------------------------------------------------------


@pytest.fixture
def planted() -> tuple[pd.DataFrame, dict[str, Col]]:
    frame = pd.DataFrame(
        {
            "name": [*PAYLOADS, "Plain text", "O'Brien", None],
            "amount": [-5, 12, 0, -1, 3, 4, 5, 6, 7, 8],
            "rate": [-0.25, 0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
            "on": [date(2020, 3, 1)] * 10,
        }
    )
    spec = {
        "name": Col("Name"),
        "amount": Col("Amount", "count"),
        "rate": Col("Rate", "share"),
        "on": Col("Date", "date"),
    }
    return frame, spec


def test_csv_writes_formula_text_as_inert_text_and_numbers_as_numbers(planted) -> None:
    frame, spec = planted
    rows = _csv_cells(to_csv(frame, spec))
    assert rows[0] == ["Name", "Amount", "Rate", "Date"]
    names = [row[0] for row in rows[1:]]
    assert names[: len(PAYLOADS)] == ["'" + payload for payload in PAYLOADS]
    assert names[len(PAYLOADS) :] == ["Plain text", "O'Brien", ""]
    assert [row[1] for row in rows[1:]][:2] == ["-5", "12"]  # a negative number stays a number
    assert rows[1][2] == "-0.25"
    assert rows[1][3] == "2020-03-01"


def test_a_header_taken_from_data_is_inert_too() -> None:
    # e.g. a table pivoted with one column per ward, the ward names from the reference file
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": [1], "Baildon": [2]})
    spec = {column: Col(column, "count") for column in frame.columns}
    rows = _csv_cells(to_csv(frame, spec))
    assert rows == [["'=cmd|' /C calc'!A0", "Baildon"], ["1", "2"]]


def test_excel_writes_formula_text_as_string_cells(planted) -> None:
    frame, spec = planted
    parts = _xlsx_parts(to_excel(frame, spec, "=title", notes=("@note",)))
    assert _formulas(parts) == []
    strings = parts["xl/sharedStrings.xml"]
    assert "=cmd|' /C calc'!A0".replace("'", "&apos;") in strings or "=cmd|" in strings
    assert "=HYPERLINK(" in strings
    # numbers are numbers: the sheet holds -5 as a number cell, not a string
    assert re.search(r'<c r="B2"[^>]*><v>-5</v></c>', parts["xl/worksheets/sheet1.xml"])


def test_the_helper_is_the_only_way_pages_download() -> None:
    """Every download goes through a shared helper that writes it to the audit trail first:
    pages/ui/tables.py for tables, pages/ui/profile.py for documents (the ward profile, the family
    summary, the quick-wins model card; no page builds a file of its own)."""
    helpers = [ROOT / "pages" / "ui" / "tables.py", ROOT / "pages" / "ui" / "profile.py"]
    for helper in helpers:
        assert "access.download_recorder(" in helper.read_text(encoding="utf-8")
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]:
        if path in helpers:
            continue
        text = path.read_text(encoding="utf-8")
        for call in ("download_button", ".to_csv(", ".to_excel(", "ExcelWriter"):
            assert call not in text, f"{path.relative_to(ROOT)} writes a download itself ({call})"


# --- Every table of every page, on a district with payloads in its extracts ----------------------


@pytest.fixture(scope="module")
def planted_model(
    export_district: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    model = model_copy(export_district, tmp_path_factory.mktemp("planted"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FFI_MODEL", str(model))
        yield model


def test_every_download_of_every_page_is_inert(
    planted_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[tuple[str, pd.DataFrame, dict, str, tuple]] = []
    draw = tables.download_buttons

    def capture(df, name, spec=None, title=None, notes=(), level=None):
        drawn.append((name, df, spec or {c: Col(c) for c in df.columns}, title or name, notes))
        draw(df, name, spec, title=title, notes=notes, level=level)

    monkeypatch.setattr(tables, "download_buttons", capture)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    for page in registry.PAGES:
        at.switch_page(page.file).run()
        give_reason(at)  # the demo's default role, admin, is asked before person-level pages
        assert not at.exception, f"{page.title}: {at.exception}"
        # the Referrals page draws only its open tab: open each in turn
        for tab in [t.label for t in at.tabs] if page.key == "referrals" else []:
            at.session_state["referrals_tab"] = tab
            at.run()
            assert not at.exception, f"{page.title}, {tab}: {at.exception}"

    assert len(drawn) >= 15, "fewer tables than the pages draw"
    planted_cells: list[str] = []
    for name, df, spec, title, notes in drawn:
        for row in _csv_cells(to_csv(df, spec))[1:]:
            for cell in row:
                if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
                    planted_cells.append(cell)
                assert not cell.startswith(FORMULA_STARTS) or NUMBER.match(cell), (
                    f"{name}: CSV cell {cell!r} would run as a formula"
                )
        assert _formulas(_xlsx_parts(to_excel(df, spec, title, notes))) == [], name
    # the payloads reached the downloads (a test that finds none would prove nothing), each one
    # whole in the rejected rows, tab and carriage return included
    assert len(planted_cells) >= 10
    for payload in PAYLOADS:
        assert "'" + payload in planted_cells, payload
