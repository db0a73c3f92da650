"""The family lookup in Chromium, as a practitioner uses it on a council's model: sign in (the local
identity provider), give a reason, search with Enter, open a family, open a service, and take the
printable summary, which prints with OFFICIAL-SENSITIVE at the top and bottom of its page; axe
finds no WCAG 2.2 AA violation on any of it, nothing leaves 127.0.0.1 (app_page), and the audit
trail holds each step, in order, before the server log holds any of the family's names.
Councillors and managers who type the page's address are refused.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect

from data_model.profile.family_summary import MARKING
from data_model.state import audit
from pages import registry
from tests.access_helpers import AUDIT_KEY
from tests.e2e.conftest import AXE, _free_port, assert_no_exception, served, wait_for_app
from tests.e2e.identity_provider import identity_provider, sign_in, sign_out, write_secrets

pytestmark = pytest.mark.e2e

URL = registry.BY_KEY["family_lookup"].url_path
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
REASON = "Assessment following a referral"
LAPTOP = {"width": 1280, "height": 800}  # a council laptop's window


@pytest.fixture(scope="module")
def council_copy(synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test model in a folder of its own, marked as a council's model (sign-in needed)."""
    model = tmp_path_factory.mktemp("lookup_model") / "model.duckdb"
    shutil.copy(synthetic_model, model)
    with duckdb.connect(str(model)) as con:
        con.execute("update mart_model_info set is_synthetic = false")
    return model


@pytest.fixture(scope="module")
def lookup_server(
    council_copy: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """(app URL, identity provider URL, server log) for the module."""
    folder = tmp_path_factory.mktemp("lookup_server")
    with identity_provider(folder / "idp.log") as idp:
        port = _free_port()
        secrets = write_secrets(folder / "secrets.toml", port, idp)
        log = folder / "streamlit.log"
        with served(council_copy, log, port, secrets=secrets) as url:
            yield url, idp, log


@pytest.fixture(scope="module")
def child(council_copy: Path) -> tuple[str, str, date, str]:
    """(person key, name, date of birth, family key) of a child in a family of three or more,
    the only person with that name and date of birth (the tests' own SQL)."""
    with duckdb.connect(str(council_copy), read_only=True) as con:
        row = con.execute(
            """
            with people as (
                select p.person_key, p.first_name, p.last_name, p.dob, m.family_key, m.role,
                       count(*) over (partition by p.first_name, p.last_name, p.dob) namesakes,
                       count(*) over (partition by m.family_key) as family_size
                from model.mart_family_member m join model.mart_person p using (person_key)
                where p.first_name is not null and p.last_name is not null
                  and p.dob is not null
            )
            select person_key, first_name || ' ' || last_name, dob, family_key
            from people
            where role = 'child' and namesakes = 1 and family_size >= 3
            order by family_key, person_key
            limit 1
            """
        ).fetchone()
    assert row, "the test model has no child in a family of three or more"
    return row


def axe_violations(page: Page) -> list:
    page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": WCAG_AA}}
    found = page.evaluate("options => axe.run(document, options)", options)
    return [
        (v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in found["violations"]
    ]


def markings(printed) -> list[float]:  # noqa: ANN001 (a pypdf page)
    """Where on a printed page (points from its foot) the marking is written."""
    found: list[float] = []

    def visit(text, cm, tm, font, size) -> None:  # noqa: ANN001
        if MARKING in text:
            found.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

    printed.extract_text(visitor_text=visit)
    return found


def events_of(model: Path, user: str) -> list[dict]:
    store = audit.open_store(model, key=AUDIT_KEY)
    try:
        assert audit.verify(store).ok
        return list(reversed(audit.events(store, users=[user])))
    finally:
        store.dispose()


def test_a_practitioner_finds_a_family_opens_a_service_and_prints_the_summary(
    app_page: Page,
    lookup_server: tuple[str, str, Path],
    council_copy: Path,
    child: tuple[str, str, date, str],
    tmp_path: Path,
) -> None:
    app, idp, log = lookup_server
    key, name, born, _ = child
    main = app_page.get_by_test_id("stMain")
    sign_in(app_page, app, idp, "practitioner")
    expect(app_page.get_by_role("heading", name="Family lookup", level=1)).to_be_visible()
    expect(app_page.get_by_text("Why do you need to see people's records?")).to_be_visible()
    expect(main.get_by_role("textbox")).to_have_count(1)  # only the reason's: no search yet
    app_page.get_by_text(REASON, exact=True).click()
    app_page.get_by_role("button", name="Continue").click()
    wait_for_app(app_page)

    # Search: typed, then Enter. A key pressed while the page is still rerunning can be lost on
    # two busy cores (test_exports_e2e.py): press it again once before giving up.
    name_box = app_page.get_by_role("textbox", name="Name", exact=True)
    expect(name_box).to_be_editable()
    name_box.fill(name)
    dob_box = app_page.get_by_role("textbox", name="Date of birth (optional)")
    dob_box.fill(f"{born:%d/%m/%Y}")
    found = main.get_by_role("heading", name="found, best match first", level=3)
    for attempt in range(2):
        dob_box.press("Enter")
        wait_for_app(app_page)
        try:
            expect(found).to_be_visible(timeout=15_000)
            break
        except AssertionError:
            if attempt:
                raise
    assert_no_exception(app_page)
    row = (
        main.locator("[class*='st-key-lookup_hit_']")  # a result's row
        .filter(has_text=name)
        .filter(has_text=f"{born:%d %b %Y}")
    )
    expect(row).to_have_count(1)
    if AXE.exists():
        assert not axe_violations(app_page)

    # The family, on the first screen of a laptop.
    row.get_by_role("button", name="Open family").click()
    wait_for_app(app_page)
    assert_no_exception(app_page)
    app_page.set_viewport_size(LAPTOP)
    family = main.get_by_role("heading", name=f"Family of {name}", level=2)
    expect(family).to_be_visible()
    first_row = main.get_by_role("table").first.get_by_role("row").nth(1)
    expect(first_row).to_contain_text(name)
    box = first_row.bounding_box()
    assert box is not None and box["y"] + box["height"] <= LAPTOP["height"], box
    if AXE.exists():
        assert not axe_violations(app_page)

    # A service: nothing of it on the page until it is opened.
    section = main.get_by_test_id("stExpander").first
    expect(section.get_by_text("Lead practitioner")).to_have_count(0)
    section.locator("summary").click()
    wait_for_app(app_page)
    expect(section.get_by_text("Lead practitioner")).to_be_visible()
    expect(section.get_by_text("Last recorded interaction")).to_be_visible()
    assert_no_exception(app_page)
    if AXE.exists():
        assert not axe_violations(app_page)

    # The summary: downloaded, opened, printed.
    with app_page.expect_download() as download:
        main.get_by_role("button", name=f"Family summary to print ({MARKING}, HTML)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".html"
    html = saved.read_text(encoding="utf-8")
    summary = app_page.context.new_page()
    summary.set_content(html)
    expect(summary.get_by_role("heading", name=f"Family summary: {name}", level=1)).to_be_visible()
    texts = summary.locator("body").inner_text().split("\n")
    lines = [t.strip() for t in texts if t.strip()]
    assert lines[0] == MARKING and lines[-1] == MARKING
    if AXE.exists():
        assert not axe_violations(summary)
    summary.emulate_media(media="print")
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(summary.pdf(prefer_css_page_size=True)))
    for number, printed in enumerate(pdf.pages, start=1):
        height = float(printed.mediabox.height)
        marked = markings(printed)
        # In the page's top and bottom margins (14 mm, 40 points), on every page
        assert any(y > height - 40 for y in marked) and any(y < 40 for y in marked), (
            number, marked, height,
        )  # fmt: skip
    # One A4 page for a small family (3 people or fewer: every such family of a 1,500-household
    # district fitted); a larger one may go on to a second, marked too.
    people = summary.locator("table.people tbody tr").count()
    assert len(pdf.pages) == 1 if people <= 3 else len(pdf.pages) <= 2, (people, len(pdf.pages))
    text = " ".join(pdf.pages[0].extract_text().split())
    assert f"Family summary: {name}" in text
    assert "To print or make a PDF" not in text  # the screen-only note is not printed
    summary.close()

    # Each step in the audit trail, in order, with the reason; no name in the server's log.
    events = events_of(council_copy, "oid-practitioner")
    steps = [e["kind"] for e in events if e["kind"] != "page_opened"]
    assert steps[-6:] == [
        "reason_given", "search", "results_shown", "family_viewed", "service_detail_opened",
        "download",
    ]  # fmt: skip
    since = events[[e["kind"] for e in events].index("reason_given") :]
    assert {e["reason"] for e in since} == {REASON}
    viewed = next(e for e in events if e["kind"] == "family_viewed")
    assert viewed["detail"]["person_ids"][0] == key
    printed_event = events[-1]
    assert printed_event["detail"]["table"] == "Family summary"
    assert printed_event["detail"]["person_ids"] == viewed["detail"]["person_ids"]
    sign_out(app_page, app, idp)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert name not in text and f"{born:%d %b %Y}" not in text
    assert "Traceback" not in text, text[-3000:]


@pytest.mark.parametrize("role", ["councillor", "manager"])
def test_councillors_and_managers_typing_its_address_are_refused(
    app_page: Page, lookup_server: tuple[str, str, Path], council_copy: Path, role: str
) -> None:
    app, idp, _ = lookup_server
    sign_in(app_page, app, idp, role)
    sidebar = app_page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="Overview")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Family lookup")).to_have_count(0)
    app_page.goto(f"{app}/{URL}")
    wait_for_app(app_page)
    expect(app_page.get_by_text("This page is not open to your role")).to_be_visible()
    expect(app_page.get_by_role("heading", level=1)).to_have_count(0)
    expect(app_page.get_by_test_id("stMain").get_by_role("textbox")).to_have_count(0)
    assert_no_exception(app_page)
    sign_out(app_page, app, idp)
    refused = [e for e in events_of(council_copy, f"oid-{role}") if e["kind"] == "access_refused"]
    assert [e["detail"]["page"] for e in refused][-1:] == ["family_lookup"]
