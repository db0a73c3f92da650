"""The Audit page for a manager's own team (access.yaml `audit: team`, the council's [audit.teams]
secrets): the read functions keep to the team's users on SQLite and PostgreSQL alike, the rules
open the page only with a team, and the app shows a manager with a team only the team's events
(an administrator still everything), a manager without one neither the link nor the page.

Rows are hand-made with audit.record; what each view should hold is worked out from them here.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from data_model import access as rules
from data_model.state import audit
from data_model.state.store import Store
from pages import registry
from tests.access_helpers import AUDIT_KEY, give_reason, secrets, user

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TYPED = "Jane Smith 01/02/2015"  # what a user typed into a search: a person's name and birth date

# Hand-made events: (user, kind, detail). ann and bob are the manager's team; cat is not.
EVENTS: list[tuple[str, str, dict[str, Any]]] = [
    ("oid-ann", "search", {"terms": {"name": TYPED}}),
    ("oid-ann", "results_shown", {"person_ids": ["P1", "P2"]}),
    ("oid-cat", "person_viewed", {"person_id": "P2"}),
    ("oid-bob", "family_viewed", {"family_id": "F9"}),
    ("oid-cat", "search", {"terms": {"name": "Other Person"}}),
    ("oid-bob", "download", {"table": "Waiting list", "rows": 4, "role": "manager"}),
]
TEAM = frozenset({"oid-ann", "oid-bob"})


def write_events(store: Store) -> dict[str, list[int]]:
    """Write EVENTS in order; each user's row numbers, newest first (as the trail lists them)."""
    start = audit.head(store).head_seq or 0
    seqs: dict[str, list[int]] = {}
    for n, (who, kind, detail) in enumerate(EVENTS, start=start + 1):
        audit.record(store, kind, user=who, role="practitioner", session=f"s-{who}",
                     reason="Case work", detail=detail)  # fmt: skip
        seqs.setdefault(who, []).insert(0, n)
    return seqs


# --- The read functions ----------------------------------------------------------------------


@pytest.fixture
def store(state_target):
    model, url = state_target
    opened = audit.open_store(model, url, key=AUDIT_KEY)
    yield opened
    opened.dispose()


def test_a_team_sees_only_its_users_events_whatever_the_other_filters(store: Store) -> None:
    seqs = write_events(store)
    team_seqs = sorted(seqs["oid-ann"] + seqs["oid-bob"], reverse=True)
    assert [e["seq"] for e in audit.events(store, team=TEAM)] == team_seqs
    assert [e["seq"] for e in audit.events(store)] == sorted(sum(seqs.values(), []), reverse=True)
    # Another user asked for by name is still outside the team: nothing.
    assert audit.events(store, team=TEAM, users=["oid-cat"]) == []
    assert [e["seq"] for e in audit.events(store, team=TEAM, users=["oid-bob"])] == seqs["oid-bob"]
    # P2 was viewed by ann (results) and cat; the team sees ann's only.
    assert [e["user_id"] for e in audit.events(store, team=TEAM, person="P2")] == ["oid-ann"]
    # A team of nobody sees nothing (not everyone).
    assert audit.events(store, team=set()) == []
    assert audit.users(store, team=set()) == []
    assert audit.users(store, team=TEAM | {"oid-nobody"}) == ["oid-ann", "oid-bob"]
    assert audit.users(store) == ["oid-ann", "oid-bob", "oid-cat"]


def test_the_tables_keep_to_the_team_and_can_withhold_search_terms(store: Store) -> None:
    seqs = write_events(store)
    table = audit.event_table(store, team=TEAM, search_terms=False)
    assert set(table["user_id"]) == set(TEAM)
    assert table["seq"].tolist() == sorted(seqs["oid-ann"] + seqs["oid-bob"], reverse=True)
    assert not table["detail"].str.contains("Jane|Smith|2015").any()
    [search] = table.loc[table["kind"] == "search", "detail"]
    assert search == '{"terms":"(withheld)"}'
    # The other details are kept, and the administrator's view keeps the terms as typed.
    assert table["detail"].str.contains('"table":"Waiting list"').any()
    whole = audit.event_table(store)
    assert whole["detail"].str.contains("Jane Smith 01/02/2015").any()
    assert set(whole["user_id"]) == {"oid-ann", "oid-bob", "oid-cat"}

    viewed = audit.viewed_table(store, team=TEAM)
    assert sorted(zip(viewed["user_id"], viewed["viewed"], strict=True)) == [
        ("oid-ann", "person P1"), ("oid-ann", "person P2"), ("oid-bob", "family F9"),
    ]  # fmt: skip
    assert "oid-cat" in set(audit.viewed_table(store)["user_id"])
    assert audit.viewed_table(store, team=set()).empty
    assert audit.event_table(store, team=set()).empty


# --- The rules ---------------------------------------------------------------------------------


def test_a_manager_opens_the_audit_page_only_with_a_team() -> None:
    teams = {"oid-mgr": ["oid-ann", " oid-bob ", ""], "oid-solo": "oid-ann", "oid-empty": []}
    assert rules.team_of("oid-mgr", teams) == TEAM
    assert rules.team_of("oid-solo", teams) == {"oid-ann"}
    assert rules.team_of("oid-empty", teams) == frozenset()
    assert rules.team_of("oid-other", teams) == frozenset()
    assert rules.team_of("oid-mgr", None) == frozenset()

    assert rules.audit_scope("manager") == "team" and rules.audit_scope("admin") == "all"
    assert not rules.may_open("manager", "audit")
    assert not rules.may_open("manager", "audit", frozenset())
    assert rules.may_open("manager", "audit", TEAM)
    # A team opens the Audit page for a role with a team scope only.
    for role in ("analyst", "practitioner", "councillor", None):
        assert rules.audit_scope(role) == "none"
        assert not rules.may_open(role, "audit", TEAM) and rules.audit_view(role, TEAM) is None
    assert rules.audit_view("manager", TEAM) == rules.AuditView(TEAM, "case")
    assert rules.audit_view("manager", frozenset()) is None
    assert rules.audit_view("admin") == rules.AuditView(None, "person")
    assert rules.audit_view("admin", TEAM).whole  # an administrator's team changes nothing
    # The manager's view is case level: no reason for access, case-level downloads.
    assert rules.page_level("audit", "manager") == "case"
    assert not rules.needs_reason("audit", "manager") and rules.needs_reason("audit", "admin")


def test_the_rules_refuse_an_unknown_audit_scope() -> None:
    import yaml

    raw = yaml.safe_load(rules.ACCESS_FILE.read_text(encoding="utf-8"))
    raw["roles"]["manager"]["audit"] = "teams"
    with pytest.raises(rules.AccessRulesError, match="role manager: audit 'teams'"):
        rules.parse_rules(raw)
    raw["roles"]["manager"]["audit"] = "team"
    raw["team_audit_level"] = "help"
    with pytest.raises(rules.AccessRulesError, match="team_audit_level"):
        rules.parse_rules(raw)


# --- The app ---------------------------------------------------------------------------------


@pytest.fixture
def served(synthetic_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the test model in this test's folder (its state database beside it), with the
    hand-made events in its trail."""
    model = tmp_path / "model.duckdb"
    shutil.copy(synthetic_model, model)
    monkeypatch.setenv("FFI_MODEL", str(model))
    store = audit.open_store(model, key=AUDIT_KEY)
    write_events(store)
    store.dispose()
    return model


def app_as(role: str, oid: str, teams: dict[str, list[str]]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = secrets(audit={"key": AUDIT_KEY, "teams": teams})
    at.user = user(role, oid=oid)
    return run(at)


def run(at: AppTest) -> AppTest:
    result = at.run()
    assert not result.exception, [e.value for e in result.exception]
    return result


def links(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.sidebar.get("page_link")]


def frame(at: AppTest, column: str):  # noqa: ANN201
    (found,) = [df.value for df in at.dataframe if column in df.value.columns]
    return found


def trail(model: Path, **filters: Any) -> list[dict[str, Any]]:
    store = audit.open_store(model, key=AUDIT_KEY)
    try:
        return audit.events(store, **filters)
    finally:
        store.dispose()


@pytest.fixture
def made_files(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Any]]:
    """The download buttons' file makers, as Streamlit registers them (what a click runs)."""
    made: list[Callable[[], Any]] = []
    register = MediaFileManager.add_deferred

    def keep(self, data_callable, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        made.append(data_callable)
        return register(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    return made


def test_a_manager_with_a_team_sees_only_the_teams_events(
    served: Path, made_files: list[Callable[[], Any]]
) -> None:
    at = app_as("manager", "oid-mgr", {"oid-mgr": sorted(TEAM), "oid-other": ["oid-cat"]})
    assert "Audit" in links(at)
    run(at.switch_page(registry.BY_KEY["audit"].file))
    assert [t.value for t in at.title] == ["Audit"]
    assert not [r for r in at.radio if r.key == "reason_code"]  # case level: no reason asked
    # Never the chain's administration: no chain, no head, no anchor.
    assert "The chain" not in [h.value for h in at.header]
    assert not at.code and not at.metric and not at.success
    assert not any("Head now" in m.value for m in at.markdown)

    events = frame(at, "session_id")
    assert set(events["user_id"]) == set(TEAM)  # not cat's, not the manager's own
    assert len(events) == sum(who in TEAM for who, _, _ in EVENTS)
    assert not events["detail"].str.contains("Jane|Smith|Other Person").any()
    viewed = frame(at, "viewed")
    assert sorted(viewed["viewed"]) == ["family F9", "person P1", "person P2"]
    assert at.multiselect(key="audit_users").options == sorted(TEAM)

    # Its downloads are offered (case level) and each is audited before the file is made.
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("Download CSV") == 2
    made_files.clear()
    run(at.text_input(key="audit_person").input("P2"))
    assert frame(at, "session_id")["user_id"].tolist() == ["oid-ann"]
    csv_of_viewed = made_files[0]
    rows = list(csv.reader(io.StringIO(csv_of_viewed().decode("utf-8-sig"))))
    assert [row[1:4] for row in rows[1:]] == [["oid-ann", "practitioner", "person P2"]]
    [download] = trail(served, users=["oid-mgr"], kinds=["download"])
    assert download["detail"] == {"table": "Who viewed whom", "rows": 1, "role": "manager",
                                  "level": "case"}  # fmt: skip
    opened = trail(served, users=["oid-mgr"], kinds=["page_opened"])
    assert "audit" in [e["detail"]["page"] for e in opened]


def test_a_manager_without_a_team_has_no_audit_page(served: Path) -> None:
    at = app_as("manager", "oid-lonely", {"oid-mgr": sorted(TEAM), "oid-empty": []})
    assert "Audit" not in links(at)
    run(at.switch_page(registry.BY_KEY["audit"].file))
    assert any("yours is not named yet" in e.value for e in at.error)
    assert not at.dataframe and not at.get("download_button")
    [refused] = trail(served, users=["oid-lonely"], kinds=["access_refused"])
    assert refused["detail"] == {"page": "audit", "why": "no team named for this user"}
    # A team that is named but empty is no team.
    at = app_as("manager", "oid-empty", {"oid-empty": []})
    assert "Audit" not in links(at)
    run(at.switch_page(registry.BY_KEY["audit"].file))
    assert not at.dataframe


def test_an_administrator_still_sees_everything(served: Path) -> None:
    at = app_as("admin", "oid-boss", {"oid-boss": ["oid-ann"]})
    assert "Audit" in links(at)
    run(at.switch_page(registry.BY_KEY["audit"].file))
    give_reason(at)
    assert "The chain" in [h.value for h in at.header]
    assert any("The chain is intact" in s.value for s in at.success)
    events = frame(at, "session_id")
    assert {"oid-ann", "oid-bob", "oid-cat", "oid-boss"} <= set(events["user_id"])
    assert events["detail"].str.contains(TYPED, regex=False).any()
    assert len(at.multiselect(key="audit_users").options) >= 4
    # The administrator's Access and roles page says which managers have a team, and how big.
    run(at.switch_page(registry.BY_KEY["access_settings"].file))
    teams = frame(at, "users")
    assert teams.to_dict("records") == [{"manager": "oid-boss", "users": 1}]
