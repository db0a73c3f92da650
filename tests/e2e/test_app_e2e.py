"""The app in a real browser: every page draws, navigation works, nothing leaves the machine."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import Page, expect

from pages import registry
from tests.e2e.conftest import (
    AXE,
    assert_no_exception,
    each_tab,
    give_reason,
    show_tab,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

# Plotly charts and tables each page draws (at least), by its key in the app's page list.
DRAWS = {
    "overview": (1, 2),
    "referrals": (8, 9),
    "near_threshold": (3, 5),  # 7 when a family is near: it adds its two
    "claims": (2, 4),
    "wards": (2, 4),  # the trend and the committee's wards; its map has its own tests
    "user_guide": (0, 0),
    "outcomes_plan": (0, 1),
    "accessibility": (0, 0),
}
# Sidebar link, page heading, charts and tables, in the sidebar's order (Data quality has its
# own tests below).
PAGES = [
    (page.title, page.heading, *DRAWS[page.key]) for page in registry.PAGES if page.key in DRAWS
]
LINKS = len(registry.PAGES)  # every page in the sidebar, and nothing else


def test_a_page_file_url_on_a_fresh_server_is_still_wrapped_by_the_app(
    app_page: Page, app_server: str
):
    """The first request to a fresh server (this test runs first), to a page's file name.

    Without the hand-over in pages/ui/model.py, Streamlit's old pages-folder mode would run
    pages/referrals.py alone: no synthetic-data banner, no navigation.
    """
    app_page.goto(f"{app_server}/referrals")
    wait_for_app(app_page)
    assert_no_exception(app_page)
    expect(app_page.get_by_text("Synthetic data.", exact=False)).to_be_visible()
    expect(app_page.get_by_test_id("stSidebar").get_by_role("link")).to_have_count(LINKS)
    expect(app_page.get_by_test_id("stSidebarNav")).to_have_count(0)


def test_a_deep_link_opens_the_page_with_banner_and_navigation(app_page: Page, app_server: str):
    """First request to a fresh server, straight to a page: app.py still wraps the page."""
    app_page.goto(f"{app_server}/referrals-and-allocation")
    wait_for_app(app_page)
    assert_no_exception(app_page)
    expect(
        app_page.get_by_role("heading", name="Referrals and allocation", level=1)
    ).to_be_visible()
    expect(app_page.get_by_text("Synthetic data.", exact=False)).to_be_visible()
    nav = app_page.get_by_test_id("stSidebar")
    expect(nav.get_by_role("link")).to_have_count(LINKS)  # only the pages: no helper modules
    expect(app_page.get_by_test_id("stSidebarNav")).to_have_count(0)  # no automatic page list
    expect(app_page.get_by_test_id("stSidebar")).to_contain_text(
        re.compile(r"Data current to \d\d \w{3} \d{4}")
    )


def test_every_page_draws_via_the_sidebar(app_page: Page, app_server: str):
    app_page.goto(app_server)
    wait_for_app(app_page)
    for link, heading, charts, tables in PAGES:
        app_page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()
        wait_for_app(app_page)
        expect(app_page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        assert_no_exception(app_page)
        expect(app_page.get_by_text("Synthetic data.", exact=False)).to_be_visible()
        if charts == 0:
            expect(app_page.get_by_test_id("stPlotlyChart")).to_have_count(0)
        # A long page keeps its detail in tabs: every chart and table is drawn in its tab.
        drawn_charts = drawn_tables = 0
        for _ in each_tab(app_page):
            plots = app_page.locator("[data-testid=stPlotlyChart]:visible")
            for i in range(plots.count()):
                expect(plots.nth(i).locator(".main-svg").first).to_be_visible()
            frames = app_page.locator("[data-testid=stDataFrame]:visible")
            drawn_charts, drawn_tables = drawn_charts + plots.count(), drawn_tables + frames.count()
            assert_no_exception(app_page)
        assert drawn_charts >= charts, link
        assert drawn_tables >= tables, link


# The Data quality page's sections (h2). Its match-weights table sits in a closed expander, so the
# page has its own tests rather than a row in PAGES (whose tables must all be visible at once).
DATA_QUALITY_SECTIONS = [
    "Rows loaded and rejected",
    "Linkage across sources",
    "Linkage quality from the last build",
    "Clerical review",
]


def open_data_quality(page: Page, app_server: str) -> None:
    """The Data quality page, reached by its sidebar link, drawn, with its expander open."""
    page.goto(app_server)
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Data quality").click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"/data-quality$"))
    expect(page.get_by_role("heading", name="Data quality", level=1)).to_be_visible()
    give_reason(page)  # the demo's default role, admin, gives a reason before people's records
    show_tab(page, "Linkage")
    expect(page.locator("[data-testid=stPlotlyChart] .main-svg").first).to_be_visible()
    page.get_by_text("How the match weights work").click()
    wait_for_app(page)


def test_the_data_quality_page_draws_every_section(app_page: Page, app_server: str):
    open_data_quality(app_page, app_server)
    assert_no_exception(app_page)
    expect(app_page.get_by_text("Synthetic data.", exact=False)).to_be_visible()
    # The answer above the tabs, then each section in its tab.
    expect(app_page.get_by_text(re.compile(r"of rows were rejected"))).to_be_visible()
    sections, charts, tables = [], 0, 0
    for _ in each_tab(app_page):
        sections += app_page.get_by_role("heading", level=2).all_inner_texts()
        plots = app_page.locator("[data-testid=stPlotlyChart]:visible")
        for i in range(plots.count()):
            expect(plots.nth(i).locator(".main-svg").first).to_be_visible()
        charts += plots.count()
        tables += app_page.locator("[data-testid=stDataFrame]:visible").count()
    for section in DATA_QUALITY_SECTIONS:
        assert any(h.startswith(section) for h in sections), (section, sections)
    assert charts >= 1
    assert tables >= 5  # loads, rejects, linkage, weights, pairs awaiting
    awaiting = app_page.get_by_test_id("stMetric").filter(has_text="Pairs awaiting a decision")
    expect(awaiting.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^[\d,]+$"))
    # One pair in detail with both decisions offered, or nothing left to review. Nothing is
    # clicked: a decision would write beside the session's model.
    pair = app_page.get_by_role("heading", name=re.compile(r"^Pair \d+: match probability"))
    if pair.count():
        expect(app_page.get_by_role("button", name="Same person")).to_be_visible()
        expect(app_page.get_by_role("button", name="Different people")).to_be_visible()
        expect(app_page.get_by_test_id("stTable").first).to_contain_text("Date of birth")
    else:
        expect(app_page.get_by_text("No pair is waiting for a decision.")).to_be_visible()
    assert_no_exception(app_page)


def test_last_quarter_is_one_click_and_answers_the_question(app_page: Page, app_server: str):
    app_page.goto(f"{app_server}/referrals-and-allocation")
    wait_for_app(app_page)
    app_page.get_by_text(re.compile(r"^Last quarter \(")).click()
    wait_for_app(app_page)
    assert_no_exception(app_page)
    expect(
        app_page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first
    ).to_contain_text(re.compile(r"Showing \d\d \w{3} \d{4} to \d\d \w{3} \d{4} · all clusters"))
    long_wait = app_page.get_by_test_id("stMetric").filter(has_text="Waiting over 20")
    expect(long_wait).to_be_visible()
    expect(long_wait.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^[\d,]+$"))
    # The backlog by cluster is the first table; its first column lists clusters.
    first_table = app_page.get_by_test_id("stDataFrame").first
    expect(first_table.locator("[data-testid^=glide-cell-0-]").first).to_have_text(
        re.compile(r"\w+")
    )


def test_the_capacity_what_if_redraws_the_forecast(app_page: Page, app_server: str):
    """The tab opens with a keyboard-reachable input per cluster; a number typed redraws the
    forecast with the what-if beside the current one."""
    app_page.goto(f"{app_server}/referrals-and-allocation")
    wait_for_app(app_page)
    app_page.get_by_role("tab", name="What more capacity would buy").click()
    wait_for_app(app_page)
    heading = app_page.get_by_role("heading", name="What more capacity would buy", level=2)
    expect(heading).to_be_visible()
    chart = app_page.locator("[data-testid=stPlotlyChart]:visible").filter(
        has_text="Forecast at current capacity"
    )
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart).not_to_contain_text("Forecast with the what-if")
    field = app_page.get_by_role("spinbutton").first
    field.fill("5")
    field.press("Enter")
    wait_for_app(app_page)
    assert_no_exception(app_page)
    expect(chart).to_contain_text("Forecast with the what-if")


def test_a_table_downloads_as_csv(app_page: Page, app_server: str):
    app_page.goto(f"{app_server}/referrals-and-allocation")
    wait_for_app(app_page)
    with app_page.expect_download() as download:
        app_page.get_by_role("button", name="Download CSV").first.click()
    path = download.value.path()
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][0] == "Cluster" and rows[0][-2:] == [
        "Change since the start",
        "Waiting, week by week",
    ]
    assert re.fullmatch(r"Waiting at \d\d \w{3} \d{4}", rows[0][1])
    # The trend downloads as the counts it draws, "3; 5; 8".
    assert all(re.fullmatch(r"\d+(; \d+)*", row[-1]) for row in rows[1:])
    assert download.value.suggested_filename == "backlog-by-cluster.csv"


# WCAG 2.2 A and AA; the accessibility tests (test_accessibility_e2e.py) add best practice.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


# --- The outcomes plan pages ---------------------------------------------------------------------


def open_page(page: Page, app_server: str, link: str, url_path: str) -> None:
    """A page reached by its sidebar link (a deep link as a fresh server's first request shows
    Streamlit's "Page not found" notice over the page), drawn."""
    page.goto(app_server)
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(f"/{url_path}$"))
    assert_no_exception(page)


def metric_value(page: Page, label: str) -> int:
    box = page.get_by_test_id("stMetric").filter(has_text=label)
    value = box.get_by_test_id("stMetricValue")
    expect(value).to_have_text(re.compile(r"^[\d,]+$"))
    return int(value.inner_text().replace(",", ""))


def test_near_threshold_what_if_margins_and_the_analysts_list(app_page: Page, app_server: str):
    open_page(app_page, app_server, "Near threshold", "near-threshold")
    # The answer first (the charts are in the last tab): how many families, and who.
    expect(app_page.get_by_test_id("stDataFrame").first).to_be_visible()
    under_plan = metric_value(app_page, "Families near a claim")
    caption = app_page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first
    expect(caption).to_contain_text("the plan’s margins")

    # The analysts' list downloads with labelled columns.
    with app_page.expect_download() as download:
        app_page.get_by_role("button", name="Download CSV").first.click()
    rows = list(csv.reader(download.value.path().read_text(encoding="utf-8-sig").splitlines()))
    # The case reference first and what the family needs beside it; the model's id last.
    assert rows[0][:2] == ["Case", "What the family needs"] and rows[0][-1] == "Family id"
    assert len(rows) == under_plan + 1
    assert download.value.suggested_filename == "near-threshold-families.csv"

    # Wider margins, typed into the what-if inputs: more families (or as many), said so.
    app_page.get_by_text("Change the margins").click()
    for unit in ("Percentage points", "Weeks", "Incidents"):
        field = app_page.get_by_label(unit, exact=True)
        field.fill("30")
        field.press("Enter")
        wait_for_app(app_page)
    assert_no_exception(app_page)
    expect(caption).to_contain_text("what-if margins")
    assert metric_value(app_page, "Families near a claim") >= under_plan
    if AXE.exists():  # the open inputs too
        app_page.add_script_tag(path=str(AXE))
        options = {"runOnly": {"type": "tag", "values": WCAG_AA}}
        ours = app_page.evaluate("options => axe.run(document, options)", options)
        assert not [v["id"] for v in ours["violations"]], ours["violations"][:2]
    app_page.get_by_role("button", name="Back to the plan's margins").click()
    wait_for_app(app_page)
    expect(caption).to_contain_text("the plan’s margins")

    # The drill-down: a family's measures and their evidence.
    show_tab(app_page, "A family in detail")
    expect(app_page.get_by_role("heading", name="A family in detail", level=2)).to_be_visible()
    if under_plan:
        expect(app_page.get_by_text(re.compile(r"^Case C?\w+, attached"))).to_be_visible()
        expect(
            app_page.get_by_text(re.compile(r"records the measures were judged on"))
        ).to_be_visible()
    assert_no_exception(app_page)


def test_claims_page_shows_an_evidence_trail_and_the_prediction_method(
    app_page: Page, app_server: str
):
    open_page(app_page, app_server, "Claims & returns", "claims-and-returns")
    expect(app_page.get_by_role("heading", name="Claims and returns", level=1)).to_be_visible()
    show_tab(app_page, "A claim's evidence trail")
    expect(
        app_page.get_by_role("heading", name="A claim's evidence trail", level=2)
    ).to_be_visible()
    expect(app_page.get_by_text(re.compile(r"[\d,]+ records?\s+of evidence"))).to_be_visible()
    show_tab(app_page, "Quarterly return")
    expect(app_page.get_by_text("How the prediction is made.")).to_be_visible()
    expect(app_page.get_by_text(re.compile(r"share of families in that state"))).to_be_visible()
    predicted = app_page.get_by_test_id("stMetric").filter(has_text="predicted next quarter")
    expect(predicted.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^[\d,]+$"))

    # Only results claims: the trail follows the first of them.
    show_tab(app_page, "Claims")
    app_page.get_by_role("combobox", name="Type", exact=True).click()
    app_page.get_by_role("option", name="Results claim", exact=True).click()
    app_page.keyboard.press("Escape")
    wait_for_app(app_page)
    assert_no_exception(app_page)
    shown = app_page.get_by_test_id("stCaptionContainer").filter(has_text="Showing")
    expect(shown).to_contain_text(
        re.compile(r"Showing [\d,]+ claims worth £[\d,]+ · every status · Results claim")
    )
    show_tab(app_page, "A claim's evidence trail")
    claim = app_page.get_by_role("combobox", name="Claim (type a case to find one)")
    expect(claim).to_have_value(re.compile(r"· Results claim ·"))
    expect(app_page.get_by_test_id("stMarkdown").filter(has_text="for case")).to_contain_text(
        re.compile(r"Results claim for case \w+")
    )


def test_the_outcomes_plan_page_shows_the_plan_file(app_page: Page, app_server: str):
    open_page(app_page, app_server, "Outcomes plan", "outcomes-plan")
    expect(app_page.get_by_role("heading", name="Outcomes plan", level=1)).to_be_visible()
    expect(app_page.get_by_test_id("stSidebar")).to_contain_text("Outcomes plan:")
    app_page.get_by_text("The plan file in full (YAML)").click()
    wait_for_app(app_page)
    code = app_page.get_by_test_id("stCode")
    expect(code).to_be_visible()
    expect(code).to_contain_text("eligibility:")
    expect(code).to_contain_text("problems:")
