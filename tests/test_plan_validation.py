"""Plan files with a mistake stop the build with one message naming the file and the line; the
command line exits 2 with that one line and leaves the previous model alone; the active plan is
chosen with --plan and stored in the model; the benchmark reports the plan stage."""

from __future__ import annotations

import json

import duckdb
import pytest

from data_model.plan import PLANS_DIR, PlanError, available_plans, load_plan
from tests.extract_files import write_district
from tests.test_build import REFERRAL, run_cli

BRADFORD = (PLANS_DIR / "bradford_2015.yaml").read_text(encoding="utf-8")


def broken_plan(tmp_path, old: str, new: str, occurrence: int = 1) -> tuple:
    """Bradford's plan with the `occurrence`th `old` replaced by `new`; returns the file and the
    line (1-based) the replacement starts on."""
    at = -1
    for _ in range(occurrence):
        at = BRADFORD.index(old, at + 1)
    text = BRADFORD[:at] + new + BRADFORD[at + len(old) :]
    path = tmp_path / "broken_plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[:at].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "occurrence", "says"),
    [
        ("source: police_incidents", "source: polce_incidents", 1,
         "unknown source 'polce_incidents'"),
        ("person_role: [Offender", "person_rol: [Offender", 1,
         "unknown field 'person_rol' for source police_incidents"),
        ("[Offender, Suspect, Perpetrator]", "[Ofender, Suspect, Perpetrator]", 1,
         "'Ofender' is never a person_role in police_incidents"),
        ("at_least: 0.90", "at_least: 90", 1, "90% is 0.9"),
        ("at_least: 0.10", "at_least: -0.1", 1, "must be between 0 and 1"),
        ("[crime_asb, school_attendance]", "[crime_asb, school_attendence]", 1,
         "unknown problem 'school_attendence'"),
        ("requires: continuous_employment", "requires: continuous_employmnt", 1,
         "no problem defines a measure 'continuous_employmnt'"),
        ("window_months: 6", "window_months: 0", 1, "'window_months' must be between 1 and 60"),
        ("look_back_months: 12", "look_back_month: 12", 1, "unknown setting 'look_back_month'"),
        ("look_back_months: 12", "look_back_months: 1.5", 2, "must be a whole number"),
        ("id: school_attendance", "id: crime_asb", 1, "problem id 'crime_asb' is already used"),
        ("is_domestic_violence: false", "is_domestic_violence: maybe", 1,
         "'is_domestic_violence' is a flag"),
        ("start_date: 2014-09-01", "start_date: 2014-13-01", 1, "'2014-13-01' cannot be read"),
        ("start_date: 2014-09-01", "start_date: 1 Sep 2014", 1, "must be a date"),
        ("at_least: 2 # of the six", "at_least: 7 # of the six", 1, "between 1 and 6"),
        ("window: rolling", "window: sliding", 1, "'window' must be one of: rolling, first"),
        ("name: Bradford", "name: [Bradford", 1, "not valid YAML"),
        ("council: City", "name: again\ncouncil: City", 1, "'name' is given twice"),
        ("    figure: attendance", "    figure: attendence", 1, "'figure' must be one of"),
        ("kind: continuous_spell\n          source: dwp_spells",
         "kind: continuous_spell\n          source: police_incidents", 1,
         "a continuous spell is read from dwp_spells"),
    ],
)  # fmt: skip
def test_a_mistake_names_the_file_and_line(tmp_path, old, new, occurrence, says) -> None:
    path, line = broken_plan(tmp_path, old, new, occurrence)
    with pytest.raises(PlanError) as raised:
        load_plan(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, line ")
    assert says in message, message
    # the line of the mistake itself (a setting's own key, or the list it is in)
    reported = int(message.split(", line ")[1].split(":")[0])
    mistake_lines = range(line, line + new.count("\n") + 1)
    assert reported in mistake_lines, f"line {reported}, mistake on {list(mistake_lines)}"


def test_shipped_plans_load_and_are_what_the_issue_asks_for() -> None:
    assert available_plans() == ["bradford_2015", "supporting_families_2022", "warwickshire_2015"]
    bradford = load_plan()  # the default
    warwickshire = load_plan("warwickshire_2015")
    supporting = load_plan("supporting_families_2022")
    assert bradford.id == "bradford_2015"
    assert (bradford.eligibility_at_least, len(bradford.problems)) == (2, 6)
    assert (bradford.attachment_fee, bradford.results_payment) == (1000, 800)
    assert {r.requires for r in bradford.routes} == {"every_problem", "continuous_employment"}
    assert (warwickshire.eligibility_at_least, len(warwickshire.problems)) == (2, 6)
    assert (supporting.eligibility_at_least, len(supporting.problems)) == (3, 10)
    assert [r.requires for r in supporting.routes] == ["every_problem"]  # no employment route
    assert {m.after for m in supporting.measures} == {"closure"}
    assert {m.window_months for m in supporting.measures if m.window_months} == {6}


def test_unknown_plan_names_the_shipped_ones(tmp_path) -> None:
    with pytest.raises(PlanError, match="shipped plans: bradford_2015"):
        load_plan("leeds_2015")
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "missing.yaml")


def test_cli_stops_on_a_broken_plan_with_exit_2_and_one_line(tmp_path) -> None:
    path, line = broken_plan(tmp_path, "at_least: 0.90", "at_least: 90")
    model = tmp_path / "model.duckdb"
    model.write_bytes(b"previous model")
    extracts = write_district(tmp_path / "extracts", {})
    result = run_cli("build", "--sources", str(extracts), "--out", str(model), "--plan", str(path))
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()
    assert len(message) == 1
    assert message[0].startswith(f"error: {path}, line {line}:")
    assert model.read_bytes() == b"previous model"
    assert result.stdout == ""  # stopped before reading any extract

    result = run_cli("build", "--sources", str(extracts), "--out", str(model), "--plan", "nope")
    assert result.returncode == 2 and "shipped plans" in result.stderr


def test_cli_builds_with_the_chosen_plan_and_stores_it(tmp_path) -> None:
    # Referrals may not be empty (settings.yaml gates): one referral, never attached.
    extracts = write_district(tmp_path / "extracts", {"ehm_referrals": [REFERRAL]})
    model = tmp_path / "model.duckdb"
    result = run_cli(
        "build", "--sources", str(extracts), "--out", str(model), "--plan", "warwickshire_2015"
    )
    assert result.returncode == 0, result.stderr
    assert "(outcomes plan warwickshire_2015:" in result.stdout.splitlines()[-1]
    with duckdb.connect(str(model), read_only=True) as con:
        plan_id, text = con.execute("select plan_id, plan_text from mart_plan").fetchall()[0]
        claims = con.execute("select count(*) from claim").fetchall()[0][0]
    assert plan_id == "warwickshire_2015"
    assert text == (PLANS_DIR / "warwickshire_2015.yaml").read_text(encoding="utf-8")
    assert claims == 0  # a district with no family attached has nobody to claim for


@pytest.mark.slow
def test_bench_reports_the_plan_stage(tmp_path) -> None:
    result = run_cli("bench", "--households", "200", "--skip-pages")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0 < figures["plan_s"] < figures["models_s"]
