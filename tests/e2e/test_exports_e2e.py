"""Downloads that cannot attack a spreadsheet, fetched as a person would: in Chromium.

A small district with formula payloads in its text (tests/export_payloads.py: ward names, teams,
rejected values with a leading tab or carriage return, the programme's name, the plan's titles) is
served; every page is opened from the sidebar, every expander opened, a payload typed into the
clerical review's "Your initials" box and saved as a decision, and every download button (CSV and
Excel) on every page clicked. Each file the browser saves is checked:

- CSV: no cell starts with =, +, -, @, tab or carriage return unless it is a number; the planted
  payloads arrive with a leading apostrophe (OWASP);
- XLSX, opened with openpyxl keeping formulas (data_only=False): no cell is a formula (data_type
  'f'), the sheet XML holds no <f> element, no cell is a link; the payloads are string cells;
- numbers stay numbers, text stays text: the two files of a table hold the same grid, every number
  cell ('n') of the Excel file a plain number in the CSV (negative numbers included, no
  apostrophe), every string cell the CSV's text, with the apostrophe only before a formula
  character.

Why a download "never came" before: a fresh server answers a deep link as its first request with a
"Page not found" dialog that makes the page inert (Playwright: "element is inert"), and a button in
a closed expander is not visible, so the click itself waited until the timeout and no download
event could follow. Here the app is opened at its root and the pages from the sidebar, expanders
are opened first, and each button is clicked inside page.expect_download: every file arrives
(0.1-0.5 s each). Playwright accepts downloads by default; the context says so anyway.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlparse

import openpyxl
import pytest
from playwright.sync_api import Download, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from pages import registry
from pages.ui.tables import FORMULA_STARTS
from tests.conftest import model_copy
from tests.e2e.conftest import (
    ARTIFACTS,
    LOCAL_HOSTS,
    assert_no_exception,
    each_tab,
    give_reason,
    served,
    show_tab,
    wait_for_app,
)
from tests.export_payloads import PAYLOADS

pytestmark = pytest.mark.e2e

NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
INITIALS = "=cmd|' /C calc'!A0"  # the box takes up to 20 characters


@dataclass
class Saved:
    """The files the browser saved, each under its page (or view), and what each page offered."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)  # "view/file name" -> the saved file
    buttons: dict[str, int] = field(default_factory=dict)  # view -> download buttons drawn


@pytest.fixture(scope="module")
def export_server(export_district: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on 127.0.0.1 serving the planted district; stopped at the end of the module."""
    folder = tmp_path_factory.mktemp("exports_e2e")
    with served(model_copy(export_district, folder), folder / "streamlit.log") as url:
        yield url


def _open_expanders(page: Page) -> None:
    """Open every closed expander shown (in the tab open), so the tables inside them (and their
    buttons) are drawn."""
    closed = page.locator("[data-testid=stExpander] details:not([open]) > summary:visible")
    while closed.count():
        closed.first.click()
        wait_for_app(page)


def _download(page: Page, button) -> Download:
    """The file one button gives. The file is made on the server when the button is pressed (after
    its audit record), so a click that lands while the page is rerunning can be lost on two busy
    cores: wait for the app to settle and click once more before giving up. A download button
    starts no run (on_click="ignore"), so before the first click the app is only checked idle,
    without the pause that follows an action."""
    for attempt in range(2):
        wait_for_app(page, pause_ms=250 if attempt else 0)
        expect(button).to_be_enabled()
        try:
            with page.expect_download(timeout=30_000) as info:
                button.click()
            return info.value
        except PlaywrightTimeoutError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _download_all(page: Page, view: str, saved: Saved, only: str | None = None) -> list[str]:
    """Click every download button in the main panel, tab by tab (or only those of the table
    whose name starts `only`); keep each file the browser saves. The files' names, in the
    buttons' order."""
    names: list[str] = []
    saved.buttons[view] = 0
    main = page.get_by_test_id("stMain")
    for i, tab in enumerate(each_tab(page) if only is None else [None]):
        if tab is not None:
            _open_expanders(page)
        # Buttons above the tabs (a ward's profile) once; then each tab's own.
        scope = main if i == 0 else main.locator("[role=tabpanel]")
        names += _download_shown(page, scope, view, saved, only)
    return names


def _download_shown(
    page: Page, scope: Locator, view: str, saved: Saved, only: str | None
) -> list[str]:
    """The download buttons shown now in `scope` (the page, or the open tab), clicked; each file
    kept."""
    wanted = "" if only is None else f'[class*="st-key-download_"][class*="_{only}"] '
    buttons = scope.locator(f"{wanted}[data-testid=stDownloadButton] button:visible")
    count = buttons.count()
    saved.buttons[view] += count
    names: list[str] = []
    for i in range(count):
        button = buttons.nth(i)
        download = _download(page, button)
        assert download.failure() is None, f"{view}: {download.failure()}"
        name = download.suggested_filename
        # One folder per view: two tables of one name on two pages are both kept and checked.
        target = saved.folder / view / name
        assert f"{view}/{name}" not in saved.files, f"{view}: two tables download as {name}"
        download.save_as(target)
        saved.files[f"{view}/{name}"] = target
        names.append(name)
    return names


def _decide_with_initials(page: Page) -> None:
    """Type a formula as the reviewer's initials and save a decision on the first pair."""
    show_tab(page, "Clerical review")
    box = page.get_by_role("textbox", name="Your initials (optional)")
    box.fill(INITIALS)
    box.press("Tab")  # Streamlit takes the value when the box loses focus
    wait_for_app(page)
    page.get_by_role("button", name="Same person").click()
    wait_for_app(page)
    expect(page.get_by_text("Saved: the records of pair", exact=False)).to_be_visible()


@pytest.fixture(scope="module")
def downloads(
    browser, export_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Saved]:
    """Every download of every page, saved by the browser (one pass shared by the tests below)."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)  # as app_page: a first page on 2 busy cores can be slow
    outside: list[str] = []  # as app_page's guard: nothing may leave this machine

    def local_only(route) -> None:
        url = route.request.url
        if url.startswith(("http", "ws")) and urlparse(url).hostname not in LOCAL_HOSTS:
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", local_only)
    saved = Saved(tmp_path_factory.mktemp("downloads"))
    try:
        page.goto(export_server)
        wait_for_app(page)
        for entry in registry.PAGES:
            page.get_by_test_id("stSidebar").get_by_role("link", name=entry.title).click()
            wait_for_app(page)
            expect(page.get_by_role("heading", name=entry.heading, level=1)).to_be_visible()
            assert_no_exception(page)
            if page.get_by_role("button", name="Continue").count():  # a person-level page
                give_reason(page)
                assert_no_exception(page)
            if entry.key == "data_quality":
                _decide_with_initials(page)
            _open_expanders(page)
            assert_no_exception(page)
            _download_all(page, entry.key, saved)
            if entry.key == "near_threshold":  # the planted ward names: barriers by ward
                show_tab(page, "What blocks claims")
                page.get_by_test_id("stRadio").get_by_text("Ward", exact=True).click()
                wait_for_app(page)
                assert_no_exception(page)
                _download_all(page, "near_threshold_by_ward", saved, only="barriers-by-")
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "exports_e2e.png"), full_page=True)
        raise
    finally:
        context.close()
    assert not outside, f"requests left this machine: {outside}"
    yield saved


# --- Reading the files ---------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[list[str]]:
    # Bytes decoded, not read_text: its universal newlines would turn a carriage return into "\n".
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def _excel_text(value: str) -> str:
    """A string cell as Excel shows it: OOXML escapes a control character as _xHHHH_
    (xlsxwriter writes a carriage return as _x000D_), which openpyxl leaves as it is."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def _sheet_formulas(path: Path) -> list[str]:
    """<f> elements in any worksheet's XML: a formula whatever a reader makes of it."""
    with zipfile.ZipFile(path) as book:
        return [
            f"{name}: {found}"
            for name in book.namelist()
            if name.startswith("xl/worksheets/")
            for found in re.findall(r"<f[ >][^<]*", book.read(name).decode("utf-8"))
        ]


def _named(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _pairs(saved: Saved) -> list[tuple[Path, Path]]:
    """Each table's CSV and Excel files, as one page drew them."""
    csvs = sorted(name for name in saved.files if name.endswith(".csv"))
    return [(saved.files[name], saved.files[name.removesuffix(".csv") + ".xlsx"]) for name in csvs]


# --- The tests -----------------------------------------------------------------------------------


def test_every_page_offers_its_downloads_and_the_browser_saves_each(downloads: Saved) -> None:
    for page, count in downloads.buttons.items():
        # Pages of prose, and the family lookup (no table downloads there, for any role): none
        if page not in ("user_guide", "accessibility", "family_lookup"):
            assert count >= 2 and count % 2 == 0, f"{page}: {count} download buttons"
    assert downloads.buttons["family_lookup"] == 0
    names = set(downloads.files)
    csvs = {n.removesuffix(".csv") for n in names if n.endswith(".csv")}
    xlsxs = {n.removesuffix(".xlsx") for n in names if n.endswith(".xlsx")}
    assert csvs == xlsxs, f"a table offered one format only: {csvs ^ xlsxs}"
    # This district's pages draw 30 tables (31 with barriers by ward); a count well short of it
    # means buttons went unclicked.
    assert len(csvs) >= 30, sorted(csvs)
    for expected in (
        "data_quality/rejected-rows",
        "data_quality/match-weights",  # in an expander
        "data_quality/clerical-decisions",
        "near_threshold_by_ward/barriers-by-ward",
    ):
        assert expected in csvs, f"{expected} was not downloaded: {sorted(csvs)}"


def test_no_csv_cell_would_run_as_a_formula(downloads: Saved) -> None:
    planted: list[str] = []
    for csv_path, _ in _pairs(downloads):
        for row in _csv_rows(csv_path):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS) or NUMBER.match(cell), (
                    f"{_named(csv_path)}: cell {cell!r} would run as a formula"
                )
                if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
                    planted.append(cell)
    # The payloads reached the downloads, each one as typed (the rejected rows list them whole,
    # tab and carriage return included), and the initials typed in the browser: a test that
    # found none would prove nothing.
    for payload in PAYLOADS:
        assert "'" + payload in planted, (payload, planted[:20])
    decided = _csv_rows(downloads.files["data_quality/clerical-decisions.csv"])
    by = decided[0].index("Decided by")
    # the demo saves the initials with "(not signed in)" after them: still inert text
    assert any(row[by].startswith("'" + INITIALS) for row in decided[1:]), decided[1:]


def test_no_xlsx_cell_is_a_formula_or_a_link(downloads: Saved) -> None:
    texts: list[str] = []
    for _, xlsx_path in _pairs(downloads):
        assert _sheet_formulas(xlsx_path) == [], _named(xlsx_path)
        book = openpyxl.load_workbook(xlsx_path, data_only=False)  # formulas kept as formulas
        assert book.sheetnames == ["Table", "Notes"], _named(xlsx_path)
        for sheet in book.worksheets:
            assert not sheet._hyperlinks, f"{_named(xlsx_path)}: links {sheet._hyperlinks}"
            for row in sheet.iter_rows():
                for cell in row:
                    where = f"{_named(xlsx_path)} {sheet.title}!{cell.coordinate}"
                    assert cell.data_type != "f", f"{where}: formula {cell.value!r}"
                    if isinstance(cell.value, str):
                        assert cell.data_type in ("s", "inlineStr"), where
                        texts.append(_excel_text(cell.value))
    for payload in PAYLOADS:
        # In Excel a payload is its own text, as typed: a string cell, no apostrophe needed.
        assert payload in texts, payload
    assert INITIALS in texts


def test_numbers_stay_numbers_and_text_stays_text_in_both_formats(downloads: Saved) -> None:
    numbers = negatives = inert = 0
    for csv_path, xlsx_path in _pairs(downloads):
        rows = _csv_rows(csv_path)
        sheet = openpyxl.load_workbook(xlsx_path, data_only=False)["Table"]
        grid = [list(r) for r in sheet.iter_rows()]
        # Headers as cells: a table pivoted on data (a ward a column) takes them from the data,
        # and the CSV's carries the apostrophe before a formula character
        headers = [
            "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v
            for v in (c.value for c in grid[0])
        ]
        assert headers == rows[0], f"{_named(csv_path)}: headers differ"
        inert += sum(v != c.value for v, c in zip(headers, grid[0], strict=True))
        assert len(grid) == len(rows), f"{_named(csv_path)}: {len(grid)} rows in Excel, {len(rows)}"
        for r, (cells, row) in enumerate(zip(grid[1:], rows[1:], strict=True), start=2):
            for cell, text in zip(cells, row, strict=True):
                where = f"{_named(csv_path)} row {r} column {cell.column_letter}"
                if cell.data_type == "n" and cell.value is not None:
                    assert isinstance(cell.value, int | float), where
                    assert NUMBER.match(text), f"{where}: {cell.value!r} in Excel, {text!r} in CSV"
                    assert float(text) == pytest.approx(cell.value), where
                    numbers += 1
                    negatives += cell.value < 0
                elif isinstance(cell.value, datetime | date):
                    assert text == cell.value.strftime("%Y-%m-%d"), where
                elif cell.value is None:
                    assert text == "", where
                else:
                    # Text is a string cell (digits in a text column too: a record id stays
                    # text), the same text as the CSV's but for the CSV's apostrophe before a
                    # formula character.
                    assert cell.data_type == "s", f"{where}: {cell.value!r} ({cell.data_type})"
                    value = _excel_text(cell.value)
                    if value.startswith(FORMULA_STARTS):
                        assert text == "'" + value, f"{where}: {value!r} in Excel, {text!r} in CSV"
                        inert += 1
                    else:
                        assert text == value, f"{where}: {value!r} in Excel, {text!r} in CSV"
    assert numbers > 1000, numbers  # 1,294 in this district
    assert negatives > 0, "no negative number was downloaded: the '-' rule went untested"
    assert inert > 0


# Columns that hold numbers, by table: every value a number cell, so a column turned to text in
# both files (which the comparison above cannot see) fails here.
NUMERIC = {
    "data_quality/match-weights": ("Match weight", "Share of true matches at this level"),
    "data_quality/rows-loaded-and-rejected-by-source": ("Rows read", "Rows rejected"),
    "claims/claims": ("Amount (£)",),
}


def test_number_columns_are_number_cells(downloads: Saved) -> None:
    for table, columns in NUMERIC.items():
        sheet = openpyxl.load_workbook(downloads.files[f"{table}.xlsx"])["Table"]
        header = [cell.value for cell in sheet[1]]
        for column in columns:
            cells = [row[header.index(column)] for row in sheet.iter_rows(min_row=2)]
            assert cells, f"{table}: no rows"
            assert all(c.data_type == "n" and isinstance(c.value, int | float) for c in cells), (
                f"{table} {column}: {[(c.value, c.data_type) for c in cells][:5]}"
            )
    weights = openpyxl.load_workbook(downloads.files["data_quality/match-weights.xlsx"])["Table"]
    column = [cell.value for cell in weights[1]].index("Match weight")
    assert min(row[column].value for row in weights.iter_rows(min_row=2)) < 0  # a negative stays
