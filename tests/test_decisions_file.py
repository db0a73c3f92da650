"""Clerical decisions as analysts really leave them: a file re-saved by Excel, edited by hand,
wrong, or contradicting itself, imported once into the state database; decisions stored there
that a build cannot use. Nothing crashes, nothing is skipped silently, nothing is half-imported,
and a contradiction is never resolved by the order the decisions happen to be applied in."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from sqlalchemy import select

from data_model.build import build_model
from data_model.linkage import ClusterRecords, cluster_strongest_first
from data_model.linkage.decisions import (
    ACCEPT,
    DECISIONS_FILE_NAME,
    REJECT,
    DecisionsFileError,
    load_decisions,
)
from data_model.state import audit
from data_model.state.decisions import read_decisions, record_decision
from data_model.state.store import linkage_decision
from tests.access_helpers import give_reason, signed_in
from tests.extract_files import write_district
from tests.test_build import REFERRAL, digest, run_cli

HEADER = "registration_l,registration_r,decision,decided_at,decided_by\n"
KEY = "decisions-test-key-" + "k" * 32


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_file_re_saved_by_excel_in_cp1252_still_reads(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", HEADER + f"a:1,b:2,{ACCEPT},2026-12-01T10:00:00,José\n",
                 "cp1252")  # fmt: skip
    read = load_decisions(path)
    assert [(d.pair, d.decision, d.decided_by) for d in read.decisions] == [
        (("a:1", "b:2"), ACCEPT, "José")
    ]
    assert read.problems == []


def test_bad_rows_are_listed_with_their_line_and_good_rows_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        HEADER
        + f"a:1,b:2,{ACCEPT},,\n"
        + "a:1,c:3,maybe,,\n"
        + f",c:3,{REJECT},,\n"
        + f"d:4,d:4,{REJECT},,\n"
        + f"e:5,f:6,{REJECT},,\n",
    )
    read = load_decisions(path)
    assert sorted(d.pair for d in read.decisions) == [("a:1", "b:2"), ("e:5", "f:6")]
    assert [(p.line, p.problem.split(" ")[1]) for p in read.problems] == [
        (3, "decision"),
        (4, "registration"),
        (5, "sides"),
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("who,whom,verdict\nx,y,z\n", "the header must name registration_l"),
        ("\x00\x01garbage\x00", "not a text file"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_clear_error(
    tmp_path: Path, content: str, says: str
) -> None:
    path = write(tmp_path / "d.csv", content)
    with pytest.raises(DecisionsFileError, match=says) as raised:
        load_decisions(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_folder_in_the_files_place_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DecisionsFileError, match="is not a file"):
        load_decisions(tmp_path / "d.csv")


def test_contradictory_decisions_are_kept_apart_as_decided_and_listed() -> None:
    # A = B and B = C (same person), A ≠ C (different people): nothing may join A and C.
    contradicted: list[tuple[int, int]] = []
    roots, _ = cluster_strongest_first(
        ClusterRecords.of([0, 0, 0], [0, 1, 2]),
        366,
        must_link=(),
        accepted=[(0, 1), (1, 2)],
        scored=[(0, 2, 0.9999)],
        guarded=(),
        rejected=[(0, 2)],
        contradicted=contradicted,
    )
    assert roots[0] != roots[2]
    assert roots[0] == roots[1]  # the first "same person" stands
    assert contradicted == [(1, 2)]  # the one the "different people" decision refused
    # the order the file gives them in decides nothing about A and C
    roots_reversed, _ = cluster_strongest_first(
        ClusterRecords.of([0, 0, 0], [0, 1, 2]),
        366,
        must_link=(),
        accepted=[(1, 2), (0, 1)],
        scored=(),
        guarded=(),
        rejected=[(0, 2)],
    )
    assert roots_reversed[0] != roots_reversed[2]
    assert np.unique(roots_reversed).size == 2


# --- Through the state database and the build ----------------------------------------------------


@pytest.fixture
def district(tmp_path: Path) -> Path:
    return write_district(tmp_path / "extracts", {"ehm_referrals": [REFERRAL]})


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The state database beside tmp_path/model.duckdb; FFI_AUDIT_KEY set for the command line."""
    monkeypatch.setenv("FFI_AUDIT_KEY", KEY)
    store = audit.open_store(tmp_path / "model.duckdb", key=KEY)
    yield store
    store.dispose()


def test_a_decisions_file_is_imported_once_with_its_history_and_audited(
    tmp_path: Path, state
) -> None:
    path = write(
        tmp_path / "old.csv",
        HEADER
        + f"a:1,b:2,{ACCEPT},2026-11-01T10:00:00,AB\n"
        + f"b:2,a:1,{REJECT},2026-11-02T10:00:00,CD\n"
        + f"c:3,d:4,{ACCEPT},2026-11-03T10:00:00,José\n",
        "cp1252",
    )
    result = run_cli("decisions", "import", str(path), "--model", str(tmp_path / "model.duckdb"))
    assert result.returncode == 0, result.stderr
    assert "imported 3 clerical decisions" in result.stdout
    # Every row kept in order (a pair's history), the latest on a pair in force.
    with state.reading() as conn:
        stored = conn.execute(
            select(linkage_decision.c.registration_l, linkage_decision.c.decision,
                   linkage_decision.c.decided_by).order_by(linkage_decision.c.decision_id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in stored] == [("a:1", ACCEPT, "AB"), ("b:2", REJECT, "CD"),
                                          ("c:3", ACCEPT, "José")]  # fmt: skip
    assert sorted((d.pair, d.decision) for d in read_decisions(state)) == [
        (("a:1", "b:2"), REJECT),
        (("c:3", "d:4"), ACCEPT),
    ]
    (event,) = audit.events(state, kinds=["clerical_decision"])
    assert event["detail"]["imported_from"] == "old.csv" and event["detail"]["decisions"] == 3
    assert event["user_id"].endswith("(command line)")
    # Again: nothing added, said so.
    again = run_cli("decisions", "import", str(path), "--model", str(tmp_path / "model.duckdb"))
    assert again.returncode == 0 and "imported before: nothing added" in again.stdout
    assert len(read_decisions(state)) == 2 and audit.head(state).rows == 1
    assert audit.verify(state).ok


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("who,whom,verdict\nx,y,z\n", "the header must name registration_l"),
        (HEADER + f"a:1,b:2,{ACCEPT},,\nx:1,y:2,perhaps,,\n", "line 3: the decision 'perhaps'"),
    ],
)
def test_a_file_that_cannot_be_imported_is_one_line_and_nothing_is_imported(
    tmp_path: Path, state, content: str, says: str
) -> None:
    path = write(tmp_path / "old.csv", content)
    result = run_cli("decisions", "import", str(path), "--model", str(tmp_path / "model.duckdb"))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}") and says in line
    assert read_decisions(state) == [] and audit.head(state).rows == 0


def test_an_old_decisions_file_not_yet_imported_stops_the_build_with_one_line(
    district: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.duckdb"
    assert run_cli("build", "--sources", str(district), "--out", str(model)).returncode == 0
    before = digest(model)
    old = write(tmp_path / DECISIONS_FILE_NAME, HEADER + f"a:1,b:2,{ACCEPT},,\n")
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {old}: clerical decisions are now kept in the state database beside the model; "
        f"import this file once with: python -m data_model decisions import {old}"
    ]
    assert digest(model) == before
    # Imported, the file is no longer read: the build goes on.
    monkeypatch.setenv("FFI_AUDIT_KEY", KEY)
    imported = run_cli("decisions", "import", str(old), "--model", str(model))
    assert imported.returncode == 0, imported.stderr
    assert run_cli("build", "--sources", str(district), "--out", str(model)).returncode == 0


def test_unusable_decisions_are_listed_in_the_model_and_the_build_says_so(
    district: Path, tmp_path: Path, state
) -> None:
    model = tmp_path / "model.duckdb"
    record_decision(state, "ehm_people:nobody", "school_census:nobody", ACCEPT, user="ann",
                    role="analyst", session="s")  # fmt: skip
    # A row put into the database by other means than record_decision, which refuses it.
    with state.writing() as conn:
        conn.execute(linkage_decision.insert().values(
            decision_id=2, registration_l="x:1", registration_r="y:2", decision="perhaps",
            decided_at="", decided_by="", origin="by hand"))  # fmt: skip
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert "2 clerical decisions could not be used" in result.stdout
    with duckdb.connect(str(model), read_only=True) as con:
        listed = con.execute(
            "select line, registration_l, problem from mart_linkage_decision_problem"
        ).fetchall()
        (counted,) = con.execute("select decision_problems from int_person_link_run").fetchone()
    assert counted == 2
    assert listed[0][:2] == (2, "x:1") and "perhaps" in listed[0][2]
    assert listed[1][:2] == (None, "ehm_people:nobody") and "not in these extracts" in listed[1][2]


def test_decisions_still_work_after_a_bad_row(district: Path, tmp_path: Path) -> None:
    """A bad row does not cost the good decisions beside it (the file is read to its end)."""
    path = write(tmp_path / "d.csv", HEADER + "x,y,maybe,,\n" + f"a:1,b:2,{REJECT},,\n")
    assert [d.decision for d in load_decisions(path).decisions] == [REJECT]


def test_a_decision_that_is_not_one_is_refused_and_nothing_is_saved(state) -> None:
    for left, right, decision in (("a:1", "b:2", "maybe"), ("a:1", "", ACCEPT),
                                  ("a:1", "a:1", REJECT)):  # fmt: skip
        with pytest.raises(ValueError):
            record_decision(state, left, right, decision, user="ann", role=None, session="s")
    assert read_decisions(state) == [] and audit.head(state).rows == 0
    # Without the audit key, no decision is saved either: it could not be audited.
    keyless = audit.open_store(state.path.with_name("model.duckdb"))
    keyless.key = None
    with pytest.raises(audit.AuditKeyError):
        record_decision(keyless, "a:1", "b:2", ACCEPT, user="ann", role=None, session="s")
    assert read_decisions(state) == []


def test_a_state_database_that_cannot_be_read_shows_nothing_person_level_and_says_why(
    district: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit trail lives in the same database: no view of people's records can be recorded,
    so none is shown (the reason form cannot be recorded either)."""
    from streamlit.testing.v1 import AppTest

    model = tmp_path / "model.duckdb"
    build_model(district, model)
    (tmp_path / "app_state.sqlite").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("FFI_MODEL", str(model))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    signed_in(at, "analyst").run()  # a council's model: behind sign-in
    at.switch_page("pages/data_quality.py").run()
    give_reason(at)
    assert not at.exception
    (shown,) = [e.value for e in at.error if "audit trail could not be written" in e.value]
    assert r"app\_state\.sqlite" in shown  # which store, shown as text
    assert not at.dataframe and not at.header and not at.table  # nothing of the page


def test_the_data_quality_page_lists_the_decisions_the_build_could_not_use(
    district: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state
) -> None:
    from streamlit.testing.v1 import AppTest

    model = tmp_path / "model.duckdb"
    record_decision(state, "x:1", "y:2", REJECT, user="ann", role="analyst", session="s")
    build_model(district, model)
    monkeypatch.setenv("FFI_MODEL", str(model))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    signed_in(at, "analyst").run()  # a council's model: behind sign-in
    at.switch_page("pages/data_quality.py").run()
    give_reason(at)
    assert not at.exception
    listed = [df.value for df in at.dataframe if "problem" in df.value.columns]
    assert len(listed) == 1 and listed[0]["registration_l"].tolist() == ["x:1"]
    assert "not in these extracts" in listed[0]["problem"].iloc[0]
