"""The Wards page in Chromium: the map draws its wards offline, a ward is chosen from the list and
by a click on the map, and nothing leaves 127.0.0.1 (the app_page fixture fails the test on any
request to another host)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import duckdb
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from shapely.geometry import Point, shape

from data_model import geography
from pages.ui.ward_map import PALETTE, fit_view
from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.e2e


def open_wards(page: Page, app_server: str) -> None:
    page.goto(app_server)
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Wards").click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile("/ward-figures$"))
    expect(page.get_by_role("heading", name="Wards", level=1)).to_be_visible()
    assert_no_exception(page)


def map_colours(page: Page) -> set[tuple[int, int, int]]:
    """The colours of the palette found in the map's pixels, once it has drawn."""
    chart = page.get_by_test_id("stDeckGlJsonChart")
    expect(chart.locator("canvas").first).to_be_visible()
    chart.scroll_into_view_if_needed()
    wanted = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in PALETTE}
    found: set[tuple[int, int, int]] = set()
    for _ in range(20):  # WebGL draws after the element appears
        image = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
        found = {colour for _, colour in image.getcolors(1 << 20) or []} & wanted
        if len(found) >= 3:
            break
        page.wait_for_timeout(500)
    return found


def heading_ward(page: Page) -> str:
    text = page.get_by_role("heading", level=2).first.inner_text()
    return text.split(":")[0]


def test_the_map_draws_the_wards_with_no_request_outside(app_page: Page, app_server: str):
    open_wards(app_page, app_server)
    assert len(map_colours(app_page)) >= 3  # several shades: the wards are drawn and coloured
    expect(app_page.get_by_role("group", name="Map key")).to_contain_text(
        "Per 1,000 children aged 0–15"
    )
    expect(app_page.get_by_text("Contains OS data © Crown copyright", exact=False)).to_be_visible()
    assert_no_exception(app_page)


def test_a_ward_is_chosen_from_the_list_and_by_a_click_on_the_map(
    app_page: Page, app_server: str, synthetic_model: Path
):
    open_wards(app_page, app_server)
    map_colours(app_page)
    # From the list: type the ward's name.
    app_page.get_by_test_id("stSelectbox").filter(has_text="Ward").last.click()
    app_page.keyboard.type("Manningham")
    app_page.keyboard.press("Enter")
    wait_for_app(app_page)
    expect(app_page.get_by_role("heading", name="Manningham:", exact=False)).to_be_visible()
    # On the map: the centre of the canvas is the view's centre, inside one ward.
    with duckdb.connect(str(synthetic_model), read_only=True) as con:
        outlines = geography.ward_boundaries(con)
    view = fit_view(outlines, 760, 520)
    centre = Point(view.longitude, view.latitude)
    [expected] = [
        f["properties"]["ward_name"]
        for f in outlines["features"]
        if shape(f["geometry"]).contains(centre)
    ]
    assert expected != "Manningham"
    canvas = app_page.get_by_test_id("stDeckGlJsonChart").locator("canvas").first
    map_colours(app_page)
    box = canvas.bounding_box()
    assert box is not None
    app_page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_for_app(app_page)
    expect(app_page.get_by_role("heading", name=f"{expected}:", exact=False)).to_be_visible()
    assert heading_ward(app_page) == expected
    assert_no_exception(app_page)


def test_the_wards_profile_downloads_with_protected_figures(app_page: Page, app_server: str):
    open_wards(app_page, app_server)
    ward = heading_ward(app_page)
    with app_page.expect_download() as download:
        app_page.get_by_role("button", name=f"Profile of {ward} ward (HTML)").click()
    html = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename.endswith(".html")
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and ward in title.group(1)
    assert "Contains OS data © Crown copyright and database right 2022" in html
    pdf_button = app_page.get_by_role("button", name=f"Profile of {ward} ward (PDF)")
    if pdf_button.count():  # where WeasyPrint runs (CI installs its libraries)
        with app_page.expect_download() as download:
            pdf_button.click()
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
        assert download.value.suggested_filename.endswith(".pdf")
    assert_no_exception(app_page)
