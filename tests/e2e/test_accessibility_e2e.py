"""Accessibility and legibility of every page in Chromium, at 1,400 and 400 pixels wide (a 400-px
window is a 1,600-px screen at 400% zoom): what the accessibility statement (pages/accessibility.py)
claims, checked.

- axe-core finds nothing with the WCAG 2.2 A and AA rules and its best-practice rules
  (heading-order, landmarks, region...) on any page, in any tab, Help pages included. In CI
  (FFI_REQUIRE_E2E=1) a missing axe-core fails the run (the axe_script fixture).
- No chart's title, axis title or legend is cut off: each lies inside its chart's drawing, and
  the chart and its title (text above it) inside the page's main panel.
- The first Tab reaches "Skip to main content", which moves focus to the main panel; the control
  the keyboard reaches next has a visible focus outline.
- Every table's CSV holds the numbers the page's grid holds (its accessible cells: what a screen
  reader reads and a copy takes), rounded the same way, under the same headers.

Every page and tab is opened once per width (walked): axe and the charts at both widths, and, at
1,400 px, each table's CSV against its grid too; the tests then read what the walk found.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from data_model.access import needs_reason
from pages import registry
from tests.e2e.conftest import (
    LOCAL_HOSTS,
    assert_no_exception,
    each_tab,
    give_reason,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

WIDTHS = (1400, 400)
# WCAG 2.0, 2.1 and 2.2 at A and AA, and axe's best practices (heading-order among them).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]

# Each drawn chart's titles and legend against its drawing, and the chart (with the title above
# it) against the main panel: the boxes that stick out, with what they say.
CLIPPED = """() => {
  const out = [];
  const inside = (inner, outer) => inner.left >= outer.left - 1 && inner.right <= outer.right + 1
      && inner.top >= outer.top - 1 && inner.bottom <= outer.bottom + 1;
  const panel = document.querySelector('[data-testid=stMain] .block-container')
      || document.querySelector('[data-testid=stMain]');
  const area = panel.getBoundingClientRect();
  for (const chart of document.querySelectorAll('[data-testid=stPlotlyChart]')) {
    if (!chart.offsetParent) continue;  // in a tab not shown
    const svg = chart.querySelector('.main-svg');
    if (!svg) { out.push('a chart not drawn'); continue; }
    const drawing = svg.getBoundingClientRect();
    for (const part of chart.querySelectorAll(
        '.g-gtitle text, .g-xtitle text, .g-ytitle text, .g-x2title text, .legend')) {
      const box = part.getBoundingClientRect();
      if (box.width && !inside(box, drawing)) {
        out.push(`${part.getAttribute('class')} "${part.textContent.slice(0, 60)}"`);
      }
    }
    const container = chart.closest('[data-testid=stElementContainer]');
    if (!inside(container.getBoundingClientRect(), area)) out.push('a chart wider than the page');
    const title = container.previousElementSibling;
    if (title && title.querySelector('[data-testid=stMarkdown]')) {
      const box = title.getBoundingClientRect();
      const text = title.querySelector('[data-testid=stMarkdownContainer]');
      if (!inside(box, area) || (text && text.scrollWidth > text.clientWidth + 1)) {
        out.push(`chart title "${title.innerText.slice(0, 60)}"`);
      }
    }
  }
  return out;
}"""


@contextmanager
def sized(browser: Browser, width: int) -> Iterator[Page]:
    """A browser page this many pixels wide that may only talk to this machine."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    outside: list[str] = []

    def local_only(route) -> None:
        url = route.request.url
        host = re.sub(r"^\w+://([^/:]+).*$", r"\1", url)
        if url.startswith(("http", "ws")) and host not in LOCAL_HOSTS:
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", local_only)
    page = context.new_page()
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    try:
        yield page
    finally:
        context.close()
    assert not outside, f"requests left this machine: {outside}"


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def sized_page(request: pytest.FixtureRequest, browser: Browser, app_server: str) -> Iterator[Page]:
    """A browser page this many pixels wide that may only talk to this machine."""
    with sized(browser, request.param) as page:
        yield page


def open_page(page: Page, app_server: str, entry: registry.PageEntry) -> None:
    """A page by its address (a bookmark), drawn, with the reason for access given."""
    page.goto(f"{app_server}/{entry.url_path}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=entry.heading, level=1)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    if needs_reason(entry.key):
        give_reason(page)
    assert_no_exception(page)


def drawn(page: Page) -> None:
    """Until every chart the page shows now has drawn its SVG."""
    charts = page.locator("[data-testid=stPlotlyChart]:visible")
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_visible()


@dataclass
class Walk:
    """What one pass over every page and tab at one width found."""

    problems: dict[str, object] = field(default_factory=dict)  # axe's and clipped titles, by where
    compared: dict[str, int] = field(default_factory=dict)  # each table's CSV: cells compared
    differences: list[str] = field(default_factory=list)  # a CSV that is not what its grid shows


def _walk(browser: Browser, app_server: str, axe_script: Path, width: int, csvs: bool) -> Walk:
    """Every page and tab at this width: axe and the charts, and each table's CSV against its
    grid (`csvs`)."""
    walk = Walk()
    with sized(browser, width) as page:
        for entry in registry.PAGES:
            open_page(page, app_server, entry)
            for tab in each_tab(page):
                where = f"{entry.title}{f' / {tab}' if tab else ''} at {width}px"
                drawn(page)
                assert_no_exception(page)
                clipped = page.evaluate(CLIPPED)
                if clipped:
                    walk.problems[f"{where}: clipped"] = clipped
                page.add_script_tag(path=str(axe_script))
                found = page.evaluate(
                    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
                )["violations"]
                if found:
                    walk.problems[f"{where}: axe"] = [
                        (v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in found
                    ]
                if csvs:
                    compare_csvs(page, f"{entry.title} / {tab}" if tab else entry.title, walk)
    return walk


@pytest.fixture(scope="module")
def walked(browser: Browser, app_server: str, axe_script: Path) -> Callable[[int], Walk]:
    """The walk at a width, made once for the module: the CSVs are compared at 1,400 px only
    (the widest window shows the most of each grid)."""
    walks: dict[int, Walk | BaseException] = {}

    def at(width: int) -> Walk:
        if width not in walks:
            try:
                walks[width] = _walk(browser, app_server, axe_script, width, csvs=width == 1400)
            except (Exception, pytest.fail.Exception) as stopped:  # the next test fails the same
                walks[width] = stopped
        found = walks[width]
        if isinstance(found, BaseException):
            raise found
        return found

    return at


@pytest.mark.parametrize("width", WIDTHS, ids=lambda width: f"{width}px")
def test_every_page_and_tab_passes_axe_and_clips_no_title(
    walked: Callable[[int], Walk], width: int
) -> None:
    problems = walked(width).problems
    assert not problems, problems


def test_the_skip_link_comes_first_and_reaches_the_main_content(
    sized_page: Page, app_server: str
) -> None:
    for entry in (registry.BY_KEY["overview"], registry.BY_KEY["accessibility"]):
        open_page(sized_page, app_server, entry)
        sized_page.locator("body").focus()
        sized_page.keyboard.press("Tab")
        skip = sized_page.locator(":focus")
        expect(skip).to_have_text("Skip to main content")
        expect(skip).to_be_visible()  # shown when it has the focus, not only to screen readers
        sized_page.keyboard.press("Enter")
        focused = sized_page.evaluate(
            "() => document.activeElement.closest('[data-testid=stMain]') !== null"
        )
        assert focused, f"{entry.title}: the skip link did not move focus to the main content"
        # The next Tab lands inside the main content, on a control with a visible outline.
        sized_page.keyboard.press("Tab")
        style = sized_page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
                return {inMain: e.closest('[data-testid=stMain]') !== null,
                        outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
                        shadow: s.boxShadow}; }"""
        )
        assert style["inMain"], (entry.title, style)
        assert style["outline"] != "none" and style["width"] >= 2, (entry.title, style)
        assert "255, 221, 0" in style["shadow"], (entry.title, style)  # GOV.UK's yellow


# --- Downloads as the page shows them ------------------------------------------------------------

SYMBOLS = {"x", "z", "c"}
FLAGS = {"true": "Yes", "false": "No"}


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _same(screen: str, downloaded: str) -> bool:
    """Whether a CSV cell holds what the grid's cell holds: the same text, date or symbol, or the
    grid's number rounded as shown (a share to 0.001, a decimal to 0.1, a count whole; the grid
    gives screen readers a decimal's own value, 4.25, and draws it 4.3): never float noise such
    as 45.199999999999996, never more than three decimal places."""
    if screen == downloaded or downloaded == "'" + screen:  # an apostrophe before a formula
        return True
    shown, saved = _number(screen), _number(downloaded)
    if shown is not None and saved is not None:
        places = -saved.as_tuple().exponent if saved.as_tuple().exponent < 0 else 0
        exact = shown.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return places <= 3 and exact == saved
    if downloaded in SYMBOLS:
        return screen in ("", downloaded)
    if ";" in downloaded:  # a trend: the grid reads "3,5,8"; the file says "3; 5; 8", which no
        # spreadsheet takes for the number 358 (as it would "3,5,8" with thousands separators)
        return screen.split(",") == downloaded.split("; ")
    return FLAGS.get(screen) == downloaded


def compare_csvs(page: Page, where: str, walk: Walk) -> None:
    """Each table shown now with a CSV button: its CSV downloaded and held against the grid's
    accessible cells; the cells compared (walk.compared), or what differs (walk.differences)."""
    main = page.get_by_test_id("stMain")
    frames = main.locator("[data-testid=stDataFrame]:visible")
    for i in range(frames.count()):
        frame = frames.nth(i)
        # The table's CSV button: the first after it on the page.
        button = frame.locator(
            "xpath=following::*[@data-testid='stDownloadButton'][1]//button"
        ).first
        if not button.count() or button.inner_text().strip() != "Download CSV":
            continue
        expect(frame.locator("[data-testid^=glide-cell-0-]").first).to_be_attached()
        with page.expect_download() as download:
            button.click()
        text = download.value.path().read_bytes().decode("utf-8-sig")
        name = f"{where}: {download.value.suggested_filename}"
        try:
            walk.compared[name] = _same_table(
                frame, list(csv.reader(io.StringIO(text, newline=""))), name
            )
        except (AssertionError, IndexError) as difference:  # IndexError: the CSV is short
            walk.differences.append(f"{name}: {difference!r}")


def _same_table(frame: Locator, rows: list[list[str]], name: str) -> int:
    """The cells of the grid in view, each the same as the CSV's (AssertionError at the first
    that is not): how many were compared."""
    # The grid gives the columns in view, each with its place among all of them.
    headers = frame.evaluate(
        """t => Array.from(t.querySelectorAll('th[aria-colindex]'))
            .map(h => [Number(h.getAttribute('aria-colindex')) - 1, h.innerText])"""
    )
    assert headers, f"{name}: no header drawn"
    for column, header in headers:
        assert rows[0][column] == header, (name, column, rows[0], header)
    cells = frame.evaluate(
        """t => Array.from(t.querySelectorAll('td[data-testid^=glide-cell-]'))
            .map(c => [c.dataset.testid, c.innerText])"""
    )
    assert cells, f"{name}: no cell drawn"
    for cell_id, shown in cells:
        column, row = (int(n) for n in cell_id.split("-")[-2:])
        saved = rows[1 + row][column]
        assert _same(shown, saved), (name, rows[0][column], row, shown, saved)
    return len(cells)


def test_every_csv_holds_the_numbers_the_page_shows(walked: Callable[[int], Walk]) -> None:
    walk = walked(1400)
    assert not walk.differences, walk.differences
    compared = walk.compared
    # Tables on every page that has them: a run that compared a handful proved little.
    pages = {name.split(" / ")[0].split(":")[0] for name in compared}
    assert {"Overview", "Data quality", "Near threshold", "Claims & returns", "Wards"} <= pages, (
        sorted(compared)
    )
    assert len(compared) >= 15, sorted(compared)


def test_a_tables_toolbar_shows_when_the_keyboard_reaches_it(
    app_page: Page, app_server: str
) -> None:
    """The grid's toolbar (search, full screen) appears only under the mouse unless focus in it
    shows it; its own CSV button, which would bypass the audited downloads, is not there."""
    open_page(app_page, app_server, registry.BY_KEY["overview"])
    expect(app_page.get_by_test_id("stDataFrame").first).to_be_visible()
    for _ in range(60):
        app_page.keyboard.press("Tab")
        inside = app_page.evaluate(
            "() => document.activeElement.closest('[data-testid=stElementToolbar]') !== null"
        )
        if inside:
            break
    else:
        pytest.fail("no table toolbar within 60 tab stops")
    toolbar = app_page.evaluate(
        """() => { const bar = document.activeElement.closest('[data-testid=stElementToolbar]');
            const s = getComputedStyle(document.activeElement);
            return {opacity: getComputedStyle(bar).opacity, outline: s.outlineStyle,
                    labels: Array.from(bar.querySelectorAll('button'))
                        .filter(b => b.offsetParent).map(b => b.getAttribute('aria-label'))}; }"""
    )
    assert toolbar["opacity"] == "1" and toolbar["outline"] != "none", toolbar
    assert not [label for label in toolbar["labels"] if label.startswith("Download as CSV")]
