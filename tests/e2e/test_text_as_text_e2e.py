"""Text from data shown as text in a real browser: a district whose free text is Markdown and HTML
images pointing at 127.0.0.1:9, an emoji shortcode and an email address (tests/text_payloads.py)
is served, every page is opened, and no request for the image leaves the browser, no image or
link to the planted addresses is drawn, no emoji either, and the payload shows as typed.

127.0.0.1 is this machine, so the app_page guard (non-local hosts) would let the request pass:
this test watches for the payload's own address instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from data_model.access import needs_reason
from pages import registry
from pages.ui.formats import WORD_JOINER
from tests.conftest import model_copy
from tests.e2e.conftest import (
    assert_no_exception,
    give_reason,
    served,
    show_tab,
    wait_for_app,
)
from tests.text_payloads import PAYLOAD

pytestmark = pytest.mark.e2e

BEACON = "beacon"  # in every planted address: http://127.0.0.1:9/beacon…, beacon@beacon.example
# Any address-bearing attribute of any element (an <img src>, a link, an SVG image, a style's
# url()) holding a planted address; a heading's own anchor (#…) is the page's.
ATTRIBUTES_WITH_ADDRESS = """() => [...document.querySelectorAll('*')].flatMap(element =>
    [...element.attributes].filter(a =>
        ['src', 'srcset', 'href', 'xlink:href', 'poster', 'data', 'style'].includes(a.name)
        && a.value.includes('beacon') && !a.value.startsWith('#'))
        .map(a => element.tagName + ' ' + a.name + '=' + a.value))"""
EMOJI = "\N{FIRE}"  # what the planted :fire: would become


@pytest.fixture(scope="module")
def planted_server(text_district: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on 127.0.0.1, serving the planted district; stopped at the end of the module."""
    folder = tmp_path_factory.mktemp("text_payloads_e2e")
    with served(model_copy(text_district, folder), folder / "streamlit.log") as url:
        yield url


def _nothing_drawn_from_the_payload(page: Page, where: str) -> None:
    page.wait_for_timeout(1000)  # charts and images load after the run ends
    found = page.evaluate(ATTRIBUTES_WITH_ADDRESS)
    assert not found, f"{where}: elements point at a planted address: {found}"
    assert EMOJI not in page.locator("body").inner_text(), f"{where}: the shortcode is an emoji"


def test_every_page_shows_planted_text_as_typed(app_page: Page, planted_server: str) -> None:
    beacons: list[str] = []
    app_page.on("request", lambda request: BEACON in request.url and beacons.append(request.url))

    app_page.goto(planted_server)
    wait_for_app(app_page)
    for entry in registry.PAGES:
        if needs_reason(entry.key):  # people's records: a new session asks a reason for access
            app_page.goto(f"{planted_server}/{entry.url_path}")
        else:  # from the sidebar, as people go: no new session, no reload (quicker)
            app_page.get_by_test_id("stSidebar").get_by_role("link", name=entry.title).click()
        wait_for_app(app_page)
        assert_no_exception(app_page)
        expect(app_page.get_by_role("heading", name=entry.heading, level=1)).to_be_visible()
        if needs_reason(entry.key):
            give_reason(app_page)
        # The programme's name, in the sidebar on every page, reads as typed.
        sidebar_text = app_page.get_by_test_id("stSidebar").inner_text().replace(WORD_JOINER, "")
        assert PAYLOAD in sidebar_text, sidebar_text
        if entry.key == "outcomes_plan":  # the plan's name is the heading of its section
            headings = app_page.get_by_role("heading", level=2).all_inner_texts()
            assert any(PAYLOAD in h.replace(WORD_JOINER, "") for h in headings), headings
        _nothing_drawn_from_the_payload(app_page, entry.title)

    # Near threshold: barriers by ward, where the chart's labels are the planted ward names.
    app_page.get_by_test_id("stSidebar").get_by_role(
        "link", name=registry.BY_KEY["near_threshold"].title
    ).click()
    wait_for_app(app_page)
    show_tab(app_page, "What blocks claims")
    app_page.get_by_test_id("stRadio").get_by_text("Ward", exact=True).click()
    wait_for_app(app_page)
    assert_no_exception(app_page)
    _nothing_drawn_from_the_payload(app_page, "Near threshold by ward")

    assert not beacons, f"the browser asked for a planted address: {beacons}"
