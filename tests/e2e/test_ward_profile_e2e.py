"""The ward profile's HTML in Chromium: axe finds no accessibility violations, the bundled fonts
load from the page itself, and Chrome's own "Save as PDF" prints it on one A4 page.

The page is opened from its HTML alone (no server, no file beside it), in a browser page that
fails the test on any request leaving this machine (app_page).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import Page

from data_model.profile import profile_html
from data_model.profile.document import ONS_ATTRIBUTION, render_html
from data_model.profile.static_map import outlines, profile_map
from data_model.read import open_model
from tests.e2e.conftest import AXE
from tests.ward_profile_records import (
    MADE_ON,
    PER_CHILD,
    committee_profile,
    hand_rates,
    shipped_boundaries,
    ward_profile,
)

pytestmark = pytest.mark.e2e

# WCAG 2.2 A and AA, and axe's best practices (headings, landmarks, regions) too: a printed
# profile is read by screen readers as a document.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    shapes = outlines(shipped_boundaries("bng"))
    made = {}
    for profile, names in (
        (ward_profile(), {"Manningham"}),
        (committee_profile(), {"City", "Heaton", "Manningham", "Toller"}),
    ):
        area_map = profile_map(
            shapes,
            hand_rates(shapes),
            {s.code for s in shapes if s.name in names},
            area_name=profile.area_name,
            measure="Families engaged",
            unit=PER_CHILD,
        )
        made[profile.level] = render_html(profile, area_map, MADE_ON)
    return made


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (.ci/run installs it)")
@pytest.mark.parametrize("level", ["ward", "committee"])
def test_the_profile_has_no_violations_found_by_axe(app_page: Page, pages: dict, level: str):
    app_page.set_content(pages[level])
    app_page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}}
    found = app_page.evaluate("options => axe.run(document, options)", options)
    violations = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in found["violations"]
    ]
    assert not violations, violations
    # axe did look at the parts that matter: the table, the map's image role, the language
    passed = {rule["id"] for rule in found["passes"]}
    assert {"html-lang-valid", "svg-img-alt", "th-has-data-cells", "page-has-heading-one"} <= passed


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (.ci/run installs it)")
def test_a_profile_from_the_test_model_has_no_violations_found_by_axe(
    app_page: Page, synthetic_model: Path
):
    con = open_model(synthetic_model)
    try:
        ward = con.execute("select min(ward_code) from mart_ward").fetchone()[0]
        html = profile_html(con, ward).decode("utf-8")
    finally:
        con.close()
    app_page.set_content(html)
    app_page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}}
    found = app_page.evaluate("options => axe.run(document, options)", options)
    assert not [(v["id"], v["help"]) for v in found["violations"]]


def test_the_bundled_fonts_load_from_the_page_itself(app_page: Page, pages: dict):
    app_page.set_content(pages["ward"])
    app_page.evaluate("document.fonts.ready")
    faces = app_page.evaluate(
        "[...document.fonts].map(f => [f.family.replaceAll('\"', ''), f.weight, f.status])"
    )
    loaded = {(family, weight) for family, weight, status in faces if status == "loaded"}
    assert {("Atkinson Hyperlegible", "400"), ("Atkinson Hyperlegible", "700")} <= loaded
    family = app_page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert family.startswith('"Atkinson Hyperlegible"')


def test_chrome_prints_the_profile_on_one_a4_page(app_page: Page, pages: dict):
    from pypdf import PdfReader

    for level in ("ward", "committee"):
        app_page.set_content(pages[level])
        app_page.evaluate("document.fonts.ready")
        app_page.emulate_media(media="print")
        reader = PdfReader(io.BytesIO(app_page.pdf(prefer_css_page_size=True)))
        assert len(reader.pages) == 1, level
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)
        text = " ".join(reader.pages[0].extract_text().split())
        assert " ".join(ONS_ATTRIBUTION.split()) in text
        assert "To make a PDF" not in text  # the screen-only note is not printed
