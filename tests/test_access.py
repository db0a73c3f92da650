"""Sign-in, roles and pages: the rules (data_model/access.yaml) and the app that follows them.

AppTest is handed a signed-in user's claims (at.user) and the council's secrets (at.secrets), as
Streamlit's OIDC sign-in would give them, for every role and every page; the browser sign-in
against a real identity provider is in tests/e2e/test_sign_in_e2e.py. Expected behaviour comes
from the matrix as the issue states it (EXPECTED below), not from the rules file, so a wrong
access.yaml fails here.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_model import access as rules
from data_model.build import build_model
from data_model.state import audit
from pages import registry
from tests.access_helpers import (
    AUDIT_KEY,
    ROLES,
    give_reason,
    secrets,
    signed_in,
    user,
)
from tests.extract_files import write_district
from tests.test_app_pages import leaves

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
HELP = {"user_guide", "accessibility"}
# The issue's matrix, written out: the pages each role opens besides the help pages. (A manager
# whose team the council names also opens Audit, for that team: tests/test_audit_team.py.)
EXPECTED = {
    "admin": {"overview", "referrals", "data_quality", "near_threshold", "claims", "wards",
              "quick_wins", "family_lookup", "outcomes_plan", "audit", "access_settings"},
    "analyst": {"overview", "referrals", "data_quality", "near_threshold", "claims", "wards",
                "quick_wins", "family_lookup", "outcomes_plan"},
    "manager": {"overview", "referrals", "near_threshold", "claims", "wards", "outcomes_plan"},
    "practitioner": {"family_lookup"},
    "councillor": {"overview", "wards"},
    None: set(),
}  # fmt: skip
# Pages showing people's names, dates of birth or addresses: a reason for access first.
PERSON_PAGES = {"data_quality", "family_lookup", "audit"}
REFUSED = "not open to your role"
RECORDERS: list = []  # download recorders a page under test made (a closure does not pickle)


# --- The rules -----------------------------------------------------------------------------------


def test_every_page_has_a_level_and_every_level_a_page() -> None:
    assert set(rules.rules().pages) == {page.key for page in registry.PAGES}


@pytest.mark.parametrize("role", [*ROLES, None])
def test_each_role_opens_what_the_issue_says(role: str | None) -> None:
    opens = {page.key for page in registry.PAGES if rules.may_open(role, page.key)}
    assert opens == EXPECTED[role] | HELP


def test_only_person_level_pages_ask_for_a_reason_and_only_analysts_and_admins_see_them() -> None:
    assert {p.key for p in registry.PAGES if rules.needs_reason(p.key)} == PERSON_PAGES
    for role in ROLES:
        assert rules.may_download(role, "person") == (role in ("admin", "analyst")), role
        assert rules.may_download(role, "case") == (role in ("admin", "analyst", "manager"))
    assert not rules.may_download("councillor", "case")
    assert rules.may_download("councillor", "aggregate")
    assert not rules.may_download("practitioner", "aggregate")
    assert not rules.may_download(None, "aggregate")


def test_a_page_the_rules_do_not_name_counts_as_person_level_and_opens_for_no_one() -> None:
    assert rules.page_level("a_new_page") == "person"
    assert not any(rules.may_open(role, "a_new_page") for role in ROLES)


def test_roles_come_from_app_roles_or_a_users_id() -> None:
    mapping = {"by_app_role": {"FFI.Analyst": "analyst", "FFI.Manager": "manager",
                               "FFI.Typo": "anaylst"},
               "by_user_id": {"oid-7": "admin"}}  # fmt: skip
    assert rules.role_for({"oid": "x", "roles": ["FFI.Manager"]}, mapping) == "manager"
    assert rules.role_for({"oid": "x", "roles": "FFI.Analyst"}, mapping) == "analyst"
    # Several roles: the most able; an id mapping wins over the claim.
    assert rules.role_for({"oid": "x", "roles": ["FFI.Manager", "FFI.Analyst"]}, mapping) == (
        "analyst"
    )
    assert rules.role_for({"oid": "oid-7", "roles": ["FFI.Manager"]}, mapping) == "admin"
    # Unknown values, a mapped role the product lacks, groups, no claim: no role.
    assert rules.role_for({"oid": "x", "roles": ["FFI.Typo", "Other"]}, mapping) is None
    assert rules.role_for({"oid": "x", "groups": ["FFI.Analyst"]}, mapping) is None
    assert rules.role_for({"oid": "x"}, None) is None
    assert rules.unknown_mapped_roles(mapping) == ["anaylst"]
    # Another identity provider: its own claims.
    okta = {"role_claim": "groups", "user_id_claim": "uid", "by_app_role": {"ffi": "manager"}}
    assert rules.role_for({"uid": "u1", "groups": ["ffi"]}, okta) == "manager"
    assert rules.user_id({"uid": "u1", "sub": "s"}, okta) == "u1"
    assert rules.user_id({"sub": "s"}, okta) == "s"


def test_sessions_end_when_idle_or_too_long() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    idle, longest = timedelta(minutes=30), timedelta(hours=10)

    def ended(signed_in_ago: float, seen_ago: float | None) -> str | None:
        seen = None if seen_ago is None else now - timedelta(minutes=seen_ago)
        return rules.session_ended(now - timedelta(minutes=signed_in_ago), seen, now, idle, longest)

    assert ended(60, 29) is None
    assert ended(60, 31) == "idle"
    assert ended(10, None) is None  # a sign-in not seen before, from 10 minutes ago
    assert ended(40, None) == "idle"  # ...from 40 minutes ago (a restarted server)
    assert ended(601, 1) == "too long"
    assert rules.rules().idle_timeout == idle and rules.rules().max_session == longest


def test_the_timeouts_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(rules.IDLE_ENV, "5")
    monkeypatch.setenv(rules.LONGEST_ENV, "20")
    assert rules.rules().idle_timeout == timedelta(seconds=5)
    assert rules.rules().max_session == timedelta(seconds=20)
    monkeypatch.setenv(rules.IDLE_ENV, "soon")
    with pytest.raises(rules.AccessRulesError, match="FFI_IDLE_TIMEOUT_SECONDS"):
        rules.rules()


def test_the_server_ends_a_sign_in_idle_too_long_and_keeps_it_ended() -> None:
    from pages.ui.access import SignIns, Use

    seen = SignIns()
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def use(key: str, minutes: float) -> Use:
        return seen.touch(key, start, start + timedelta(minutes=minutes))

    assert use("a", 0) == Use(None, new=True, just_ended=False)
    assert use("a", 29) == Use(None, new=False, just_ended=False)
    assert seen.peek("a", start, start + timedelta(minutes=58)) is None
    assert seen.peek("a", start, start + timedelta(minutes=60)) == "idle"  # peeking is not use
    assert use("a", 60) == Use("idle", new=False, just_ended=True)
    assert use("a", 61) == Use("idle", new=False, just_ended=False)  # ended once, stays ended
    # Used every 20 minutes, it still ends 10 hours after sign-in.
    assert all(use("b", m).ended is None for m in range(0, 600, 20))
    assert use("b", 601).ended == "too long"
    # A sign-in first seen long after it was made (a restarted server) has ended.
    assert use("d", 45) == Use("idle", new=True, just_ended=True)
    seen.end("c", "signed out")
    assert use("c", 0) == Use("signed out", new=False, just_ended=False)


def test_reasons_are_asked_again_when_old_or_for_another_family() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    given = rules.Reason("case_work", "Case work", now - timedelta(minutes=10), family="F1")
    assert rules.reason_needed(None, now)
    assert not rules.reason_needed(given, now)
    assert not rules.reason_needed(given, now, family="F1")
    assert rules.reason_needed(given, now, family="F2")
    assert rules.reason_needed(given, now + timedelta(hours=4))
    assert rules.check_reason("other", "  ") is not None
    assert rules.check_reason("other", "x" * 201) is not None
    assert rules.check_reason("other", "Checking the twins queue") is None
    assert rules.check_reason("hunch", "") is not None
    assert given.recorded() == "Case work"
    assert rules.Reason("other", "Spot check", now).recorded() == "Other (say what): Spot check"


def test_the_rules_in_words_name_every_role_and_what_it_opens() -> None:
    titles = {page.key: page.title for page in registry.PAGES}
    words = dict(rules.in_words(titles))
    assert words["Councillor"].startswith("Opens Overview and Wards, and the help pages")
    assert "downloads tables of district figures." in words["Councillor"]
    assert "Data quality" not in words["Manager"]
    assert "gives a reason for access before Data quality" in words["Analyst"]
    assert words["Practitioner"].startswith("Opens Family lookup, and the help pages")
    assert words["Practitioner"].endswith("gives a reason for access before Family lookup.")


def test_every_page_checks_the_role_on_its_first_line() -> None:
    """Hidden pages still open by their address: each page must refuse by itself, before it
    reads or draws anything."""
    for page in registry.PAGES:
        tree = ast.parse((ROOT / page.file).read_text(encoding="utf-8"))
        statements = [
            node for node in tree.body
            if not isinstance(node, ast.Import | ast.ImportFrom)
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        ]  # fmt: skip
        assert ast.unparse(statements[0]) == f"access.require({page.key!r})", page.file


def test_the_app_shows_a_model_path_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "[council](http://127.0.0.1:9) _model_.duckdb"
    monkeypatch.setenv("FFI_MODEL", str(missing))
    at = run(AppTest.from_file(APP, default_timeout=60))
    [shown] = [e.value for e in at.error if "There is no model at" in e.value]
    assert r"\[council\]\(http\:" in shown and r"\_model\_" in shown


# --- Secrets -------------------------------------------------------------------------------------


def test_the_secrets_example_documents_every_key_and_the_real_file_is_ignored() -> None:
    example = ROOT / ".streamlit" / "secrets.example.toml"
    parsed = tomllib.loads(example.read_text(encoding="utf-8"))
    from pages.ui.access import AUTH_KEYS

    assert set(AUTH_KEYS) <= set(parsed["auth"])
    assert {"role_claim", "user_id_claim", "contact", "by_app_role", "by_user_id"} <= set(
        parsed["roles"]
    )
    assert set(parsed["roles"]["by_app_role"].values()) == set(ROLES)
    assert "by_group" not in parsed["roles"] and "by_email" not in parsed["roles"]
    assert set(parsed["audit"]) == {"key", "teams"}  # managers' teams: tests/test_audit_team.py
    assert "[state]" in example.read_text() and "url =" in example.read_text()
    ignored = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=ROOT)
    assert ignored.returncode == 0, ".streamlit/secrets.toml is not git-ignored"


# --- The app, for every role and every page -------------------------------------------------------


@pytest.fixture(scope="module")
def served_model(synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the test model in a folder of its own (its audit trail beside it), as FFI_MODEL."""
    model = tmp_path_factory.mktemp("access") / "model.duckdb"
    shutil.copy(synthetic_model, model)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FFI_MODEL", str(model))
        yield model


def trail(model: Path, key: str | None = AUDIT_KEY, **filters) -> list[dict]:
    store = audit.open_store(model, key=key)
    try:
        return audit.events(store, **filters)
    finally:
        store.dispose()


def sidebar_links(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.sidebar.get("page_link")]


DOCUMENTS = ("Model card (", "Transparency record (")  # the Quick wins page's documents


def downloads(at: AppTest, profiles: bool | None = None, documents: bool = False) -> int:
    """Download buttons on the page: all, or only the ward profile's (profiles=True), or only the
    tables' (profiles=False), or only the quick-wins model card's and record's (documents)."""
    buttons = [e for e in leaves(at.main) if type(e).__name__ == "DownloadButton"]
    if documents:
        return sum(e.proto.label.startswith(DOCUMENTS) for e in buttons)
    buttons = [e for e in buttons if not e.proto.label.startswith(DOCUMENTS)]
    if profiles is None:
        return len(buttons)
    return sum(e.proto.label.startswith("Profile of") == profiles for e in buttons)


def profile_buttons() -> int:
    """The Wards page's profile buttons: HTML and PDF (HTML only where WeasyPrint cannot run),
    for the chosen ward and for its area committee."""
    from data_model.profile import pdf_unavailable_reason

    return 2 * (1 if pdf_unavailable_reason() else 2)


def run(at) -> AppTest:
    """Run the app (or the app an element belongs to, after set_value or click)."""
    result = at.run()
    assert not result.exception, [e.value for e in result.exception]
    return result


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_role_on_every_page(served_model: Path, role: str | None) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), role))
    allowed = EXPECTED[role] | HELP
    # Navigation lists only what the role may open (and, without a role, the page saying so).
    listed = [p.title for p in registry.PAGES if p.key in allowed]
    assert sidebar_links(at) == (["No role yet"] if role is None else []) + listed
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert not at.sidebar.selectbox  # no "View as role" outside the demo
    reason_given = False
    for page in registry.PAGES:
        run(at.switch_page(page.file))
        if page.key in allowed:
            if page.key in PERSON_PAGES and not reason_given:  # asked once a session
                assert at.title[0].value == page.heading
                assert not at.dataframe, "person-level content before a reason was given"
                give_reason(at)
                reason_given = True
            assert [t.value for t in at.title][:1] == [page.heading], page.key
            assert not at.error, (page.key, [e.value for e in at.error])
            tables = len(at.dataframe)
            may = rules.may_download(role, rules.page_level(page.key))
            assert downloads(at, profiles=False) == (2 * tables if may else 0), page.key
            profiles = profile_buttons() if page.key == "wards" and may else 0
            assert downloads(at, profiles=True) == profiles, page.key
            # the Quick wins page's card and record are in its Model card tab, not open yet
            assert downloads(at, documents=True) == 0, page.key
        elif role is None:  # no role: to the page saying whom to ask
            assert [t.value for t in at.title] == ["You have no role in this dashboard yet"]
            assert not at.dataframe and not at.metric and downloads(at) == 0
        else:
            assert any(REFUSED in e.value for e in at.error), (page.key, at.error)
            assert not at.title and not at.dataframe and not at.metric, page.key
            assert downloads(at) == 0
    # The refusals and openings are in the audit trail, under this user.
    events = trail(served_model, users=[f"oid-{role or 'norole'}"])
    refused = {e["detail"]["page"] for e in events if e["kind"] == "access_refused"}
    opened = {e["detail"]["page"] for e in events if e["kind"] == "page_opened"}
    assert refused == (set() if role is None else {p.key for p in registry.PAGES} - allowed)
    assert opened == allowed - HELP
    assert {e["role"] for e in events if e["kind"] == "page_opened"} <= {role}


def test_person_level_events_carry_the_reason_given(served_model: Path) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), "analyst", oid="oid-reason"))
    run(at.switch_page(registry.BY_KEY["data_quality"].file))
    give_reason(at, "other", "Checking the review queue")
    assert at.dataframe
    events = trail(served_model, users=["oid-reason"])
    kinds = [e["kind"] for e in reversed(events)]
    assert kinds[-2:] == ["reason_given", "page_opened"]
    given, opened = events[1], events[0]
    assert given["detail"] == {"reason_code": "other"}
    assert opened["reason"] == "Other (say what): Checking the review queue"
    assert opened["detail"] == {"page": "data_quality"}


def test_the_reason_form_refuses_other_without_words(served_model: Path) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), "analyst", oid="oid-words"))
    run(at.switch_page(registry.BY_KEY["data_quality"].file))
    at.radio(key="reason_code").set_value("other")
    [submit] = [b for b in at.button if b.label == "Continue"]
    submit.click().run()
    assert not at.exception
    assert any("Say in a few words" in e.value for e in at.error)
    assert not at.dataframe


def test_signed_out_only_sign_in_and_the_help_pages(served_model: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = secrets()
    at.user = {"is_logged_in": False}
    run(at)
    assert at.title[0].value == "Families First Insight"
    assert [b.label for b in at.button] == ["Sign in"]
    assert sidebar_links(at) == ["Sign in", "User guide", "Accessibility statement"]
    for page in registry.PAGES:  # a link to any other page lands on the sign-in page
        run(at.switch_page(page.file))
        expected = page.heading if page.key in HELP else "Families First Insight"
        assert [t.value for t in at.title] == [expected], page.key
        assert not at.dataframe and not at.metric


def test_a_user_without_a_role_is_told_whom_to_ask(served_model: Path) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), None, oid="oid-lost"))
    assert at.title[0].value == "You have no role in this dashboard yet"
    text = " ".join(m.value for m in at.markdown)
    assert "the test team" in text and "oid-lost" in text


def test_a_sign_in_older_than_the_longest_session_must_sign_in_again(served_model: Path) -> None:
    at = signed_in(AppTest.from_file(APP, default_timeout=60), "analyst", oid="oid-late")
    at.user = user("analyst", oid="oid-late", signed_in_ago=10 * 3600 + 60)
    run(at)
    assert at.title[0].value == "Your session has ended"
    assert "more than 10 hours ago" in " ".join(m.value for m in at.markdown)
    assert [b.label for b in at.main.button] == ["Sign in again"]
    run(at.switch_page(registry.BY_KEY["overview"].file))
    assert at.title[0].value == "Your session has ended" and not at.metric
    ended = trail(served_model, users=["oid-late"], kinds=["sign_out"])
    assert [e["detail"]["why"] for e in ended] == ["too long"]


def test_sign_out_records_it_and_ends_the_sign_in_for_every_tab(served_model: Path) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), "manager", oid="oid-out"))
    claims = dict(at.user)
    [sign_out] = [b for b in at.sidebar.button if b.label == "Sign out"]
    sign_out.click().run()
    assert not at.exception
    kinds = [e["kind"] for e in trail(served_model, users=["oid-out"])]
    assert kinds[0] == "sign_out" and "sign_in" in kinds
    # Another tab still holding the same cookie is not let back in.
    other_tab = AppTest.from_file(APP, default_timeout=60)
    other_tab.secrets, other_tab.user = secrets(), {**claims, "is_logged_in": True}
    run(other_tab)
    assert other_tab.title[0].value == "Your session has ended"


# --- The demo ------------------------------------------------------------------------------------


def test_the_demo_views_as_any_role_and_lands_on_its_home_page(served_model: Path) -> None:
    at = run(AppTest.from_file(APP, default_timeout=60))
    [selector] = at.sidebar.selectbox
    assert selector.label == "View as role (demo only)" and selector.value == "admin"
    assert not [b for b in at.sidebar.button if b.label == "Sign out"]
    run(at.switch_page(registry.BY_KEY["referrals"].file))
    run(at.sidebar.selectbox(key="demo_role").set_value("councillor"))
    assert at.title[0].value == "Overview"  # not a refusal on Referrals
    assert sidebar_links(at) == ["Overview", "Wards", "User guide", "Accessibility statement"]
    run(at.switch_page(registry.BY_KEY["referrals"].file))
    assert any(REFUSED in e.value for e in at.error)
    run(at.sidebar.selectbox(key="demo_role").set_value("practitioner"))
    assert at.title[0].value == "Family lookup"


# --- A council's model without sign-in ----------------------------------------------------------


@pytest.fixture(scope="module")
def council_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model built from a folder of extracts that is not the synthetic district's."""
    from tests.test_build import REFERRAL

    folder = tmp_path_factory.mktemp("council")
    model = folder / "model.duckdb"
    build_model(write_district(folder / "extracts", {"ehm_referrals": [REFERRAL]}), model)
    return model


def test_a_council_model_without_sign_in_shows_only_how_to_configure_it(
    council_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FFI_MODEL", str(council_model))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = {"roles": {"by_app_role": {}}}  # secrets, but no [auth]
    run(at)
    assert [t.value for t in at.title] == ["Sign-in is needed before this dashboard opens"]
    text = " ".join(m.value for m in at.markdown)
    assert "secrets.example.toml" in text and "`client_id`" in text
    assert not at.sidebar.get("page_link") and not at.sidebar.selectbox and not at.metric
    # Not one other page is registered (a URL to any of them gets this page), not even help.
    with pytest.raises(ValueError, match=r"Known pages: \['Sign-in needed'\]"):
        at.switch_page(registry.BY_KEY["user_guide"].file)
    # A page script run by itself, without app.py, draws nothing either.
    alone = AppTest.from_file(str(ROOT / registry.BY_KEY["data_quality"].file), default_timeout=60)
    alone.secrets = {"roles": {"by_app_role": {}}}
    alone.run()
    assert not alone.dataframe and not alone.metric and not alone.title
    # With sign-in configured, the same model asks the user to sign in.
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets, at.user = secrets(), {"is_logged_in": False}
    run(at)
    assert [b.label for b in at.button] == ["Sign in"]


def test_on_a_council_model_no_audit_key_means_nothing_person_level(
    council_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FFI_MODEL", str(council_model))
    monkeypatch.delenv("FFI_AUDIT_KEY", raising=False)
    at = signed_in(AppTest.from_file(APP, default_timeout=60), "analyst")
    at.secrets = {k: v for k, v in secrets().items() if k != "audit"}  # no [audit] key
    run(at)
    assert at.title[0].value == "Overview"
    assert any("audit trail could not be written" in w.value for w in at.warning)  # aggregate
    assert at.metric
    for key in ("referrals", "data_quality"):  # case and person level: nothing shown
        run(at.switch_page(registry.BY_KEY[key].file))
        give_reason(at)
        assert any("audit trail could not be written" in e.value for e in at.error), key
        assert not at.dataframe and not at.metric and downloads(at) == 0, key


def test_a_failing_audit_write_hides_person_level_content(
    served_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), "analyst", oid="oid-fail"))
    run(at.switch_page(registry.BY_KEY["data_quality"].file))
    give_reason(at)
    assert at.dataframe  # with the trail working, the page shows
    run(at.switch_page(registry.BY_KEY["overview"].file))

    def broken(*args, **kwargs) -> None:
        raise audit.AuditWriteError("the audit trail in app_state.sqlite could not be written")

    monkeypatch.setattr(audit, "record", broken)
    run(at.switch_page(registry.BY_KEY["data_quality"].file))
    assert any("audit trail could not be written" in e.value for e in at.error)
    assert not at.dataframe and not at.metric and not at.table and downloads(at) == 0


# --- Downloads follow the role -------------------------------------------------------------------


def _table_page(page: str, role: str) -> None:
    import pandas as pd
    import streamlit as st

    from pages.ui import access
    from pages.ui.tables import Col, table

    st.session_state[access.VISITOR_KEY] = access.Visitor("demo", role, "u", "U", "s",
                                                          synthetic=True)  # fmt: skip
    st.session_state["_ffi_page"] = page
    table(pd.DataFrame({"a": [1, 2]}), "A table", {"a": Col("A", "count")})
    table(pd.DataFrame({"a": [3]}), "District figures", {"a": Col("A")}, level="aggregate")


@pytest.mark.parametrize(
    ("page", "role", "buttons"),
    [
        ("data_quality", "councillor", 2),  # only the table marked aggregate
        ("data_quality", "analyst", 4),
        ("referrals", "manager", 4),
        ("referrals", "councillor", 2),
        ("overview", "practitioner", 0),
    ],
)
def test_download_buttons_follow_the_role(
    served_model: Path, page: str, role: str, buttons: int
) -> None:
    at = AppTest.from_function(_table_page, args=(page, role), default_timeout=30).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 2
    assert len(at.get("download_button")) == buttons


def test_a_download_is_written_to_the_audit_trail_before_the_file_is_made(
    served_model: Path,
) -> None:
    def page() -> None:
        import streamlit as st

        from pages.ui import access
        from tests import test_access

        st.session_state[access.VISITOR_KEY] = access.Visitor(
            "signed_in", "manager", "oid-dl", "DL", "sess-dl", sign_in="x", synthetic=True
        )
        st.session_state["_ffi_page"] = "referrals"
        test_access.RECORDERS.append(access.download_recorder("Waiting list", 3))

    RECORDERS.clear()
    at = AppTest.from_function(page, default_timeout=30)
    at.secrets = secrets()
    run(at)
    assert trail(served_model, users=["oid-dl"]) == []  # drawing the button records nothing
    [made] = RECORDERS
    made()  # what pressing the button does before the file is made
    [event] = trail(served_model, users=["oid-dl"])
    assert (event["kind"], event["role"], event["session_id"]) == ("download", "manager", "sess-dl")
    assert event["detail"] == {"table": "Waiting list", "rows": 3, "role": "manager",
                               "level": "case"}  # fmt: skip
