"""The Quick wins page in Chromium, on a ranked copy of the test model (the synthetic demo: no
sign-in, an administrator by default): opened by its address, the advisory banner on the first
screen, every tab passing axe (WCAG 2.2 A and AA and axe's best practices) at 1,400 and 400
pixels with no chart title cut off (ranked here; unranked, on the test model itself, in the
accessibility walk of every page and tab, tests/e2e/test_accessibility_e2e.py, with the same axe
rules and clipping check), a decision saved from the family's detail, stored and shown beside the
family, and the model card downloaded as HTML, opened, and passing axe itself. Nothing leaves
127.0.0.1 (app_page, sized pages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser, Page, expect

from data_model.state import marks
from data_model.state.store import connect
from pages import registry
from tests.e2e.conftest import (
    _free_port,
    assert_no_exception,
    each_tab,
    served,
    show_tab,
    wait_for_app,
)
from tests.e2e.test_accessibility_e2e import AXE_TAGS, CLIPPED, drawn
from tests.test_quickwins_page import _trained_copy

pytestmark = pytest.mark.e2e

ENTRY = registry.BY_KEY["quick_wins"]


@pytest.fixture(scope="module")
def ranked_copy(synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _trained_copy(synthetic_model, tmp_path_factory.mktemp("quickwins_e2e"))


@pytest.fixture(scope="module")
def quickwins_server(ranked_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("quickwins_server") / "streamlit.log"
    with served(ranked_copy, log, _free_port()) as url:
        yield url


def axe(page: Page, script: Path) -> list:
    page.add_script_tag(path=str(script))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )["violations"]
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in found]


def open_quick_wins(page: Page, url: str) -> None:
    page.goto(f"{url}/{ENTRY.url_path}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=ENTRY.heading, level=1)).to_be_visible()
    assert_no_exception(page)


TABS = ["Referrals to make", "Families to push", "A family in detail", "Marks", "Model card"]


@pytest.mark.parametrize("width", [1400, 400])
@pytest.mark.parametrize("server", ["quickwins_server"], ids=["ranked"])
def test_every_tab_passes_axe_and_clips_no_title(
    request: pytest.FixtureRequest, browser: Browser, axe_script: Path, width: int, server: str
) -> None:
    """On the ranked copy. The test model itself, too small to rank (the lists unranked), is
    checked the same way by the accessibility walk of every page (test_accessibility_e2e), and
    its notice and tabs below."""
    url = request.getfixturevalue(server)
    context = browser.new_context(viewport={"width": width, "height": 1000})
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if "127.0.0.1" in route.request.url or not route.request.url.startswith("http")
            else route.abort()
        ),
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        open_quick_wins(page, url)
        if server == "app_server":
            expect(page.get_by_text("The lists are not ranked.")).to_be_visible()
        problems = {}
        tabs = []
        for tab in each_tab(page):
            tabs.append(tab)
            drawn(page)
            assert_no_exception(page)
            clipped = page.evaluate(CLIPPED)
            if clipped:
                problems[f"{tab} at {width}px: clipped"] = clipped
            found = axe(page, axe_script)
            if found:
                problems[f"{tab} at {width}px: axe"] = found
        assert tabs == TABS
        assert not problems, problems
    finally:
        context.close()


def test_on_a_model_too_small_to_rank_the_lists_say_so_in_the_same_tabs(
    app_page: Page, app_server: str
) -> None:
    """The test model, unranked, at 1,400 and 400 pixels (axe and clipping there: the
    accessibility walk)."""
    open_quick_wins(app_page, app_server)
    for width in (1400, 400):
        app_page.set_viewport_size({"width": width, "height": 1000})
        expect(app_page.get_by_text("The lists are not ranked.")).to_be_visible()
        assert [tab for tab in each_tab(app_page)] == TABS, width
        assert_no_exception(app_page)


def test_an_analyst_marks_a_family_and_takes_the_model_card(
    app_page: Page, quickwins_server: str, ranked_copy: Path, axe_script: Path, tmp_path: Path
) -> None:
    open_quick_wins(app_page, quickwins_server)
    main = app_page.get_by_test_id("stMain")
    # The first screen answers the question and says the ranking is advisory.
    expect(main.get_by_text("The ranking is advisory: a practitioner decides.")).to_be_visible()
    expect(main.get_by_test_id("stMetric").first).to_be_visible()

    show_tab(app_page, "A family in detail")
    main.get_by_role("radiogroup", name="List").get_by_text("Families to push").click()
    wait_for_app(app_page)
    main.get_by_role("radiogroup", name="Decision").get_by_text("Not appropriate").click()
    main.get_by_role("textbox", name="If not appropriate, why").fill("already working with CSC")
    main.get_by_role("button", name="Save the decision").click()
    wait_for_app(app_page)
    assert_no_exception(app_page)
    expect(main.get_by_text("Saved: not appropriate, in your name.")).to_be_visible()
    store = connect(ranked_copy)
    try:
        [mark] = marks.latest_marks(store).itertuples()
    finally:
        store.dispose()
    assert (mark.list_name, mark.mark, mark.reason) == (
        "attached", "not_appropriate", "already working with CSC"
    )  # fmt: skip
    with duckdb.connect(str(ranked_copy), read_only=True) as con:
        first = con.execute(
            "select family_key from ranking_score where list = 'attached' and rank = 1"
        ).fetchone()[0]
    assert mark.family_key == first  # the family the detail opened on: the top of the list
    expect(main.get_by_text("Now: Not appropriate")).to_be_visible()

    show_tab(app_page, "Model card")
    with app_page.expect_download() as download:
        main.get_by_role("button", name="Model card (HTML)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".html"
    card = app_page.context.new_page()
    card.set_content(saved.read_text(encoding="utf-8"))
    expect(
        card.get_by_role("heading", name="Model card: the quick-wins ranking", level=1)
    ).to_be_visible()
    expect(card.get_by_role("heading", name="How the ranking was followed")).to_be_visible()
    expect(card.get_by_role("cell", name="Families to push")).to_be_visible()
    assert not axe(card, axe_script)
