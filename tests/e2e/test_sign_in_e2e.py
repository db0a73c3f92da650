"""Sign-in in a real browser against a real OpenID Connect provider on this machine
(oidc-provider-mock, AUTH.md): each role signs in, sees its pages and only those, is refused a
page it may not open even by its address, and signs out; person-level pages ask for a reason
first; the audit trail records it all; and the server's log holds no person's name, date of
birth or address.

One identity provider and one app server for the module. The model is a copy of the test model
marked as a council's (not synthetic), so it is served as a council's model is: behind sign-in,
with the audit key from secrets.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect

from data_model.state import audit
from pages import registry
from tests.access_helpers import AUDIT_KEY
from tests.e2e.conftest import (
    AXE,
    _free_port,
    assert_no_exception,
    give_reason,
    served,
    show_tab,
    wait_for_app,
)
from tests.e2e.identity_provider import (
    E2E_USERS,
    identity_provider,
    sign_in,
    sign_out,
    write_secrets,
)

pytestmark = pytest.mark.e2e

# The sidebar's page links each role should see (the matrix, written out).
TITLES = {page.key: page.title for page in registry.PAGES}
HELP = ["User guide", "Accessibility statement"]
SEES = {
    "admin": [p.title for p in registry.PAGES],
    "analyst": ["Overview", "Referrals & allocation", "Data quality", "Near threshold",
                "Claims & returns", "Wards", "Quick wins", "Family lookup", *HELP[:1],
                "Outcomes plan", *HELP[1:]],
    "manager": ["Overview", "Referrals & allocation", "Near threshold", "Claims & returns",
                "Wards", *HELP[:1], "Outcomes plan", *HELP[1:]],
    "practitioner": ["Family lookup", *HELP],
    "councillor": ["Overview", "Wards", *HELP],
    "norole": ["No role yet", *HELP],
}  # fmt: skip
# A page each role may not open, tried by its address.
REFUSED = {
    "analyst": "access-and-roles",
    "manager": "data-quality",
    "practitioner": "programme-overview",
    "councillor": "referrals-and-allocation",
}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def council_copy(synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test model in a folder of its own, marked as a council's model (not synthetic)."""
    model = tmp_path_factory.mktemp("sign_in_model") / "model.duckdb"
    shutil.copy(synthetic_model, model)
    with duckdb.connect(str(model)) as con:
        con.execute("update mart_model_info set is_synthetic = false")
    return model


@pytest.fixture(scope="module")
def signed_server(
    council_copy: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """(app URL, identity provider URL, server log) for the module."""
    folder = tmp_path_factory.mktemp("sign_in_server")
    with identity_provider(folder / "idp.log") as idp:
        port = _free_port()
        secrets = write_secrets(folder / "secrets.toml", port, idp)
        log = folder / "streamlit.log"
        with served(council_copy, log, port, secrets=secrets) as url:
            yield url, idp, log


@pytest.fixture(scope="module")
def people_shown(council_copy: Path) -> set[str]:
    """Names, dates of birth and addresses the analyst's Data quality page shows (the clerical
    review queue), as text a log line could hold."""
    with duckdb.connect(str(council_copy), read_only=True) as con:
        con.execute("use model")
        shown = con.execute(
            """
            select first_name_l || ' ' || last_name_l, first_name_r || ' ' || last_name_r,
                   strftime(dob_l, '%d %b %Y'), strftime(dob_r, '%d %b %Y'),
                   strftime(dob_l, '%Y-%m-%d'), address_l, address_r
            from mart_linkage_review_queue
            """
        ).fetchall()
    values = {str(v) for row in shown for v in row if v and len(str(v)) > 6}
    assert len(values) > 20, "the review queue should show people"
    return values


def events_of(model: Path, user: str) -> list[dict]:
    """The audit trail's events for one user, oldest first; the chain checked."""
    store = audit.open_store(model, key=AUDIT_KEY)
    try:
        assert audit.verify(store).ok
        return list(reversed(audit.events(store, users=[user])))
    finally:
        store.dispose()


def sidebar_links(page: Page) -> list[str]:
    return page.get_by_test_id("stSidebar").get_by_role("link").all_inner_texts()


def test_before_sign_in_only_sign_in_and_the_help_pages(
    app_page: Page, signed_server: tuple[str, str, Path]
) -> None:
    app, _, _ = signed_server
    app_page.goto(app)  # (a fresh server's first request to a deep link shows "Page not found")
    wait_for_app(app_page)
    app_page.goto(f"{app}/data-quality")  # a deep link, signed out: the sign-in page instead
    wait_for_app(app_page)
    expect(app_page.get_by_role("heading", name="Families First Insight", level=1)).to_be_visible()
    expect(app_page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(app_page.get_by_test_id("stSidebar").get_by_role("link")).to_have_count(3)
    assert sidebar_links(app_page) == ["Sign in", *HELP]
    expect(app_page.get_by_test_id("stDataFrame")).to_have_count(0)
    app_page.get_by_test_id("stSidebar").get_by_role("link", name="User guide").click()
    wait_for_app(app_page)
    expect(app_page.get_by_role("heading", name="User guide", level=1)).to_be_visible()
    expect(app_page.get_by_text("Reason for access", exact=False).first).to_be_visible()
    if AXE.exists():
        app_page.goto(app)
        wait_for_app(app_page)
        app_page.add_script_tag(path=str(AXE))
        options = {"runOnly": {"type": "tag", "values": WCAG_AA}}
        found = app_page.evaluate("options => axe.run(document, options)", options)
        assert not [v["id"] for v in found["violations"]], found["violations"][:2]
    assert_no_exception(app_page)


@pytest.mark.parametrize("role", list(SEES))
def test_each_role_signs_in_sees_its_pages_and_signs_out(
    app_page: Page,
    signed_server: tuple[str, str, Path],
    council_copy: Path,
    people_shown: set[str],
    role: str,
) -> None:
    app, idp, log = signed_server
    sign_in(app_page, app, idp, role)
    sidebar = app_page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link")).to_have_count(len(SEES[role]))
    assert sidebar_links(app_page) == SEES[role]
    expect(sidebar).to_contain_text(f"Signed in as {E2E_USERS[role]['name']}")
    home = {"practitioner": "Family lookup", "norole": "You have no role in this dashboard yet"}
    expect(
        app_page.get_by_role("heading", name=home.get(role, "Overview"), level=1)
    ).to_be_visible()
    if role == "councillor":  # district figures, downloadable; no link to case-level pages
        expect(app_page.get_by_role("button", name="Download CSV").first).to_be_visible()
        page_links = app_page.get_by_test_id("stMain").get_by_test_id("stPageLink-NavLink")
        expect(page_links).to_have_count(0)
    if role in REFUSED:  # typed in: the page refuses, on its first line
        app_page.goto(f"{app}/{REFUSED[role]}")
        wait_for_app(app_page)
        expect(app_page.get_by_text("This page is not open to your role")).to_be_visible()
        expect(app_page.get_by_role("heading", level=1)).to_have_count(0)
        expect(app_page.get_by_test_id("stDataFrame")).to_have_count(0)
    if role in ("analyst", "admin"):
        sidebar.get_by_role("link", name="Data quality").click()
        wait_for_app(app_page)
        expect(app_page.get_by_test_id("stDataFrame")).to_have_count(0)  # not before a reason
        if AXE.exists():  # the reason form itself
            app_page.add_script_tag(path=str(AXE))
            options = {"runOnly": {"type": "tag", "values": WCAG_AA}}
            found = app_page.evaluate("options => axe.run(document, options)", options)
            assert not [v["id"] for v in found["violations"]], found["violations"][:2]
        give_reason(app_page)
        show_tab(app_page, "Clerical review")  # the review is in a tab of its own
        expect(app_page.get_by_role("heading", name="Clerical review", level=2)).to_be_visible()
    if role == "manager":  # case-level tables download; the download is audited
        sidebar.get_by_role("link", name="Near threshold").click()
        wait_for_app(app_page)
        with app_page.expect_download() as download:
            app_page.get_by_role("button", name="Download CSV").first.click()
        assert download.value.suggested_filename == "near-threshold-families.csv"
    assert_no_exception(app_page)
    sign_out(app_page, app, idp)
    expect(app_page.get_by_role("button", name="Sign in")).to_be_visible()
    assert sidebar_links(app_page) == ["Sign in", *HELP]

    # The audit trail holds what this user did, in order, under their oid and role.
    events = events_of(council_copy, f"oid-{role}")
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "sign_in" and kinds[-1] == "sign_out", kinds
    assert events[0]["detail"]["email"] == E2E_USERS[role]["email"]
    opened = [e for e in events if e["kind"] == "page_opened"]
    assert {e["role"] for e in opened} <= {None if role == "norole" else role}
    refused = [e["detail"]["page"] for e in events if e["kind"] == "access_refused"]
    assert refused == ([registry_key(REFUSED[role])] if role in REFUSED else [])
    if role in ("analyst", "admin"):
        assert kinds.index("reason_given") < kinds.index("sign_out")
        [dq] = [e for e in opened if e["detail"]["page"] == "data_quality"]
        assert dq["reason"] == "Audit or quality check"
    if role == "manager":
        [download] = [e for e in events if e["kind"] == "download"]
        assert download["detail"]["table"] == "Near threshold families"
        assert download["detail"]["role"] == "manager"

    # No person's name, date of birth or address in the server's log, so far.
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "127.0.0.1" in text  # the log is the server's
    leaked = sorted(v for v in people_shown if v in text)
    assert not leaked, f"person-level values in the server log: {leaked[:5]}"
    assert "Traceback" not in text, text[-3000:]


def registry_key(url_path: str) -> str:
    return next(page.key for page in registry.PAGES if page.url_path == url_path)
