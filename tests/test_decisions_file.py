"""The clerical decisions file as analysts really leave it: re-saved by Excel, edited by hand,
wrong, or contradicting itself. Nothing crashes, nothing is skipped silently, and a contradiction
is never resolved by the order the decisions happen to be applied in."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from data_model.build import build_model
from data_model.linkage import ClusterRecords, cluster_strongest_first
from data_model.linkage.decisions import (
    ACCEPT,
    DECISIONS_FILE_NAME,
    REJECT,
    DecisionsFileError,
    load_decisions,
)
from tests.access_helpers import give_reason, signed_in
from tests.extract_files import write_district
from tests.test_build import REFERRAL, digest, run_cli

HEADER = "registration_l,registration_r,decision,decided_at,decided_by\n"


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


# --- Through the build ----------------------------------------------------------------------------


@pytest.fixture
def district(tmp_path: Path) -> Path:
    return write_district(tmp_path / "extracts", {"ehm_referrals": [REFERRAL]})


def test_an_unreadable_decisions_file_stops_the_build_with_one_line(
    district: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.duckdb"
    assert run_cli("build", "--sources", str(district), "--out", str(model)).returncode == 0
    before = digest(model)
    write(tmp_path / DECISIONS_FILE_NAME, "who,whom\n1,2\n")
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / DECISIONS_FILE_NAME}: the header must name registration_l, "
        "registration_r, decision; it has who, whom (missing registration_l, registration_r, "
        "decision)"
    ]
    assert digest(model) == before


def test_unusable_decisions_are_listed_in_the_model_and_the_build_says_so(
    district: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.duckdb"
    write(
        tmp_path / DECISIONS_FILE_NAME,
        HEADER + f"ehm_people:nobody,school_census:nobody,{ACCEPT},,\n" + "x:1,y:2,perhaps,,\n",
    )
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert "2 clerical decisions could not be used" in result.stdout
    with duckdb.connect(str(model), read_only=True) as con:
        listed = con.execute(
            "select line, registration_l, problem from mart_linkage_decision_problem"
        ).fetchall()
        (counted,) = con.execute("select decision_problems from int_person_link_run").fetchone()
    assert counted == 2
    assert listed[0][:2] == (3, "x:1") and "perhaps" in listed[0][2]
    assert listed[1][:2] == (None, "ehm_people:nobody") and "not in these extracts" in listed[1][2]


def test_decisions_still_work_after_a_bad_row(district: Path, tmp_path: Path) -> None:
    """A bad row does not cost the good decisions beside it (the file is read to its end)."""
    path = write(tmp_path / "d.csv", HEADER + "x,y,maybe,,\n" + f"a:1,b:2,{REJECT},,\n")
    assert [d.decision for d in load_decisions(path).decisions] == [REJECT]
    build_model(district, tmp_path / "model.duckdb", decisions_path=path)


def test_the_data_quality_page_says_the_file_cannot_be_read_and_keeps_working(
    district: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    model = tmp_path / "model.duckdb"
    build_model(district, model)
    write(tmp_path / DECISIONS_FILE_NAME, "![x](http://127.0.0.1:9/beacon.png),who\n1,2\n")
    monkeypatch.setenv("FFI_MODEL", str(model))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    signed_in(at, "analyst").run()  # a council's model: behind sign-in
    at.switch_page("pages/data_quality.py").run()
    give_reason(at)
    assert not at.exception
    (shown,) = [e.value for e in at.error if "cannot be read" in e.value]
    assert r"the header must name registration\_l" in shown
    assert "![x](" not in shown and r"\!\[x\]\(" in shown  # the file's text shown as text
    assert any(h.value == "Clerical review" for h in at.header)  # the page goes on


def test_the_data_quality_page_lists_the_decisions_the_build_could_not_use(
    district: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    model = tmp_path / "model.duckdb"
    write(tmp_path / DECISIONS_FILE_NAME, HEADER + "x:1,y:2,perhaps,,\n")
    build_model(district, model)
    monkeypatch.setenv("FFI_MODEL", str(model))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    signed_in(at, "analyst").run()  # a council's model: behind sign-in
    at.switch_page("pages/data_quality.py").run()
    give_reason(at)
    assert not at.exception
    listed = [df.value for df in at.dataframe if "problem" in df.value.columns]
    assert len(listed) == 1 and listed[0]["registration_l"].tolist() == ["x:1"]
    assert "perhaps" in listed[0]["problem"].iloc[0]
