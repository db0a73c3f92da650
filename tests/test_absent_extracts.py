"""Councils without every extract: extracts.yaml declares the sources a council does not have
(`available: false`). Such a source needs no file, its tables are built empty with their columns,
the model records it as absent (not as a file sent empty), and whatever counts from it says
"not available: no <source> extract" rather than nought. A required file missing without being
declared still stops the build, naming it and how to declare it; a file declared absent that is
there after all stops it too.

Independence: which plan indicators and measures need a source is read from the plan file itself
(YAML), not from the model's config tables; the not-available wording is the issue's.
Folders: hand-made (tests/extract_files.py), the generator's with `without`, and the public
Family Context samples with only the reference files beside them.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from data_model.build import build_model
from loaders.base import ExtractError, load_source
from loaders.contracts import BY_SOURCE, CONTRACTS
from loaders.extract_manifest import Declared, read_manifest
from loaders.synthetic.generate import generate
from pages import registry
from tests.access_helpers import give_reason, signed_in
from tests.extract_files import WARDS, declare, write_district
from tests.fixtures_extracts import valid, write_csv
from tests.test_app_pages import APP
from tests.test_build import digest, run_cli
from tests.test_family_context_loader import SAMPLES
from tests.text_payloads import as_shown

ROOT = Path(__file__).resolve().parents[1]
PLAN_FILE = ROOT / "data_model" / "plan" / "plans" / "bradford_2015.yaml"
DECLARED_ABSENT = "declared not available in extracts.yaml"
NOT_SENT = "optional, not sent"
NO_DWP_OR_HEALTH = ("dwp_spells", "health_events")
FAMILY_CONTEXT = ("family_context_csc", "family_context_education")
REFERENCE = ("ref_wards", "ref_postcode_ward", "ref_programme")
# A Family Context council's first folder: its two files and the reference files; the rest absent.
NOT_FAMILY_CONTEXT = tuple(
    c.source for c in CONTRACTS if c.source not in FAMILY_CONTEXT + REFERENCE
)


def not_available(source: str) -> str:
    return f"not available: no {BY_SOURCE[source].title} extract"


def plan_sources(kind: str) -> dict[str, str]:
    """Indicator or measure id → the source it reads, from the plan file itself."""
    plan = yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))
    if kind == "indicators":
        items = [i for p in plan["problems"] for i in p.get("indicators") or []]
    else:
        items = [m for p in plan["problems"] for m in (p.get("progress") or {}).get("measures", [])]
    return {item["id"]: item["source"] for item in items}


def manifest(folder: Path, text: str) -> None:
    declare(folder, text)


def page_text(at: AppTest) -> str:
    """Everything a reader sees on the page in words (markdown, infos, captions), unescaped."""
    parts = [m.value for m in at.markdown] + [i.value for i in at.info]
    parts += [c.value for c in at.caption]
    return as_shown("\n".join(parts))


def open_page(key: str) -> AppTest:
    """The page as an administrator sees it (signed in, a reason given where one is asked): the
    Family Context samples are a council's format, not the synthetic demo."""
    at = signed_in(AppTest.from_file(APP, default_timeout=60), "admin").run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(registry.BY_KEY[key].file).run()
    assert not at.exception, [e.value for e in at.exception]
    return give_reason(at)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table_with(at: AppTest, column: str):
    [frame] = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def staging_columns(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str]]:
    return [(name, kind) for name, kind, *_ in con.execute(f"describe stg_{source}").fetchall()]


# --- The manifest -----------------------------------------------------------------------------


def test_the_manifest_declares_the_sources_a_council_does_not_have(tmp_path: Path) -> None:
    manifest(
        tmp_path,
        "dwp_spells: {available: false}\n"
        "health_events:\n  available: no\n  system: none yet (agreement pending)\n"
        "police_incidents:\n  current_to: 2020-02-29\n  available: true\n",
    )
    assert read_manifest(tmp_path) == {
        "dwp_spells": Declared(None, available=False),
        "health_events": Declared(None, "none yet (agreement pending)", available=False),
        "police_incidents": Declared(dt.date(2020, 2, 29)),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dwp_spells:\n  available: maybe\n",
         "extracts.yaml, line 2: dwp_spells: available 'maybe' is not true or false"),
        ("dwp_spells:\n  available: false\n  current_to: 2020-02-29\n",
         "extracts.yaml, line 3: dwp_spells: declared not available, so it has no current_to"),
        ("ref_wards: {available: false}\n",
         "extracts.yaml, line 1: ref_wards: Reference: wards is needed by every model; it cannot"
         " be declared not available"),
        ("dwp_spells: absent\n",
         "extracts.yaml, line 1: dwp_spells: expected current_to: and a date"
         " (or available: false)"),
    ],
)  # fmt: skip
def test_a_mistaken_absence_is_one_line_naming_the_line(tmp_path, text, message) -> None:
    manifest(tmp_path, text)
    with pytest.raises(ExtractError) as error:
        read_manifest(tmp_path)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


# --- Loading ------------------------------------------------------------------------------------


def manifest_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select source, file, rows_read, rows_loaded, rows_rejected, data_current_as_of,"
        " system_name, absent from load_manifest order by source"
    ).fetchall()


def test_a_declared_absent_source_is_recorded_absent_with_no_row_counts(con, tmp_path) -> None:
    manifest(tmp_path, "dwp_spells: {available: false, system: none}\n")
    assert load_source(con, BY_SOURCE["dwp_spells"], tmp_path) is None
    assert manifest_rows(con) == [
        ("dwp_spells", None, None, None, None, None, "none", DECLARED_ABSENT)
    ]


def test_an_optional_source_not_sent_is_recorded_absent(con, tmp_path: Path) -> None:
    assert load_source(con, BY_SOURCE["family_context_csc"], tmp_path) is None
    assert manifest_rows(con) == [
        ("family_context_csc", None, None, None, None, None, None, NOT_SENT)
    ]


def test_a_file_declared_absent_but_there_stops_the_load(con, tmp_path: Path) -> None:
    write_csv(tmp_path, "dwp_spells", [valid("dwp_spells")])
    manifest(tmp_path, "dwp_spells: {available: false}\n")
    with pytest.raises(ExtractError) as error:
        load_source(con, BY_SOURCE["dwp_spells"], tmp_path)
    assert str(error.value) == (
        f"dwp_benefit_spells.csv: is in {tmp_path}, but extracts.yaml says the council has no DWP:"
        " benefit and employment spells extract (dwp_spells: available: false); remove the file"
        " or that line"
    )
    assert manifest_rows(con) == []


# --- The command line: exit 2, one line, the previous model untouched -----------------------------


def previous_model(tmp_path: Path) -> Path:
    model = tmp_path / "model.duckdb"
    model.write_bytes(b"previous model")
    return model


def test_a_missing_file_not_declared_absent_names_it_and_how_to_declare_it(tmp_path) -> None:
    district = write_district(tmp_path / "extracts", {"dwp_spells": [valid("dwp_spells")]})
    (district / "dwp_benefit_spells.csv").unlink()  # the DWP contract's file
    model = previous_model(tmp_path)
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: dwp_benefit_spells.csv: not found in {district} (each may be .csv, .xlsx or"
        " .parquet);"
        " if the council has no such extract, say so in extracts.yaml:"
        " `dwp_spells: {available: false}`"
    ]
    assert model.read_bytes() == b"previous model"


def test_a_file_declared_absent_but_there_stops_the_build(tmp_path: Path) -> None:
    district = write_district(tmp_path / "extracts", {"health_events": [valid("health_events")]})
    manifest(district, "health_events: {available: false}\n")
    model = previous_model(tmp_path)
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: health_events.csv: is in {district}, but extracts.yaml says")
    assert line.endswith("(health_events: available: false); remove the file or that line")
    assert model.read_bytes() == b"previous model"


def test_absent_is_not_sent_empty_and_the_gates_leave_an_absent_source_alone(tmp_path) -> None:
    """Referrals may not be empty (settings.yaml gates), but a council may have none to send; a
    header-only relationships file is sent, and empty."""
    district = write_district(
        tmp_path / "extracts", {"ehm_relationships": []}, absent=["ehm_referrals", "dwp_spells"]
    )
    model = tmp_path / "model.duckdb"
    build_model(district, model)
    with duckdb.connect(str(model), read_only=True) as con:
        currency = con.execute(
            "select source, is_available, rows_read, absent_reason, not_available_text"
            " from mart_data_currency where source in ('ehm_referrals', 'ehm_relationships')"
            " order by source"
        ).fetchall()
        assert currency == [
            ("ehm_referrals", False, None, DECLARED_ABSENT, not_available("ehm_referrals")),
            ("ehm_relationships", True, 0, None, None),
        ]
        for source in ("ehm_referrals", "dwp_spells"):
            assert con.execute(f"select count(*) from raw_{source}").fetchall() == [(0,)]
            assert con.execute(f"select count(*) from stg_{source}").fetchall() == [(0,)]


# --- A district without DWP or health data (the generator's, without those files) ---------------


@pytest.fixture(scope="module")
def no_dwp_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("no_dwp") / "extracts"
    generate(300, 7, folder, without=NO_DWP_OR_HEALTH)
    return folder


@pytest.fixture(scope="module")
def no_dwp_model(no_dwp_folder: Path) -> Path:
    model = no_dwp_folder.parent / "model.duckdb"
    build_model(no_dwp_folder, model)
    return model


@pytest.fixture(scope="module")
def no_dwp(no_dwp_model: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(no_dwp_model), read_only=True)
    yield con
    con.close()


def test_the_generator_leaves_the_files_out_and_declares_them_absent(
    no_dwp_folder: Path, tmp_path: Path
) -> None:
    full = tmp_path / "full"
    generate(300, 7, full)
    declared = read_manifest(no_dwp_folder)
    assert {s for s, d in declared.items() if not d.available} == set(NO_DWP_OR_HEALTH)
    files = {p.relative_to(full) for p in full.rglob("*") if p.is_file()}
    stems = {BY_SOURCE[s].file_stem for s in NO_DWP_OR_HEALTH}
    left_out = {f for f in files if f.parent == Path() and f.stem in stems}
    assert len(left_out) == len(stems)  # each in its usual format
    kept = {p.relative_to(no_dwp_folder) for p in no_dwp_folder.rglob("*") if p.is_file()}
    assert kept == files - left_out
    # the district is the same: every other file (and the truth) byte for byte
    for name in kept - {Path("extracts.yaml")}:
        assert digest(no_dwp_folder / name) == digest(full / name), name


def test_a_district_without_dwp_or_health_builds_with_empty_tables_of_the_right_columns(
    no_dwp: duckdb.DuckDBPyConnection, model_sql: duckdb.DuckDBPyConnection
) -> None:
    """Against the session's full synthetic district, built with those files."""
    for source in NO_DWP_OR_HEALTH:
        assert no_dwp.execute(f"select count(*) from stg_{source}").fetchall() == [(0,)]
        assert staging_columns(no_dwp, source) == staging_columns(model_sql, source)
        assert no_dwp.execute(
            "select is_available, absent_reason from mart_data_currency where source = ?",
            [source],
        ).fetchall() == [(False, DECLARED_ABSENT)]
    # the sources it has were loaded as usual
    assert no_dwp.execute("select count(*) from stg_police_incidents").fetchone()[0] > 0


def test_the_plans_indicators_and_measures_that_need_them_say_not_available(
    no_dwp: duckdb.DuckDBPyConnection,
) -> None:
    for kind, table, key in (
        ("indicators", "mart_plan_indicator", "indicator_id"),
        ("measures", "mart_plan_measure", "measure_id"),
    ):
        expected = {
            item: not_available(source)
            for item, source in plan_sources(kind).items()
            if source in NO_DWP_OR_HEALTH
        }
        assert expected  # the plan has some of each
        found = no_dwp.execute(
            f"select {key}, not_available_text from {table} where not is_available"
        ).fetchall()
        assert dict(found) == expected
        assert no_dwp.execute(
            f"select count(*) from {table} where is_available and not_available_text is not null"
        ).fetchall() == [(0,)]


def test_a_measure_without_its_source_is_never_met_and_no_claim_rests_on_it(
    no_dwp: duckdb.DuckDBPyConnection,
) -> None:
    unmeasured = [m for m, s in plan_sources("measures").items() if s in NO_DWP_OR_HEALTH]
    statuses = no_dwp.execute(
        "select distinct status from mart_plan_family_measure where list_contains(?, measure_id)",
        [unmeasured],
    ).fetchall()
    assert {s for (s,) in statuses} <= {"not available", "not applicable"}
    assert no_dwp.execute(
        "select count(*) from mart_plan_family_measure where list_contains(?, measure_id)"
        " and (measured_value is not null or distance_to_threshold is not null"
        "      or achieved_date is not null)",
        [unmeasured],
    ).fetchall() == [(0,)]
    # the employment route needs the DWP measure: every attached family is blocked on it, by the
    # missing extract, and no results claim takes that route
    attached = no_dwp.execute("select count(*) from int_plan_attachment").fetchone()[0]
    assert attached > 0
    blocked = no_dwp.execute(
        "select count(distinct family_key), list(distinct status), list(distinct needs)"
        " from mart_plan_blocker where is_current and route_id = 'employment'"
        " and measure_id = 'continuous_employment'"
    ).fetchall()
    assert blocked == [(attached, ["not available"], [not_available("dwp_spells")])]
    assert no_dwp.execute(
        "select count(*) from mart_claim where route_id = 'employment'"
    ).fetchall() == [(0,)]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch):
    def served(model: Path) -> None:
        monkeypatch.setenv("FFI_MODEL", str(model))

    return served


def test_the_pages_of_a_district_without_dwp_or_health_say_what_is_not_available(
    no_dwp_model: Path, serve
) -> None:
    serve(no_dwp_model)
    dwp, health = not_available("dwp_spells"), not_available("health_events")

    near = page_text(open_page("near_threshold"))
    assert f"An adult off benefits and in work for 26 consecutive weeks ({dwp})" in near
    assert health in near

    overview = open_page("overview")
    assert f"An adult on an out-of-work benefit in the last 6 months ({dwp})" in page_text(overview)
    assert metrics(overview)["Families referred"] != "Not available"  # early help was sent

    plan_page = page_text(open_page("outcomes_plan"))
    assert f"An adult on an out-of-work benefit in the last 6 months — *{dwp}*" in plan_page
    assert "A notice seeking possession or an eviction in the last 12 months\n" in plan_page

    quality = open_page("data_quality")
    absent = table_with(quality, "not_available_text")
    shown = dict(zip(absent["title"], absent["absent_reason"], strict=True))
    assert {BY_SOURCE[s].title: DECLARED_ABSENT for s in NO_DWP_OR_HEALTH}.items() <= shown.items()
    counted = table_with(quality, "rows_read")["title"].tolist()
    assert not {BY_SOURCE[s].title for s in NO_DWP_OR_HEALTH} & set(counted)


# --- A Family Context council: its two files and the reference files ------------------------------


@pytest.fixture(scope="module")
def family_context_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SAMPLES / "csc.csv").is_file() or not (SAMPLES / "education.csv").is_file():
        pytest.skip(f"the Family Context sample extracts are not at {SAMPLES}")
    folder = tmp_path_factory.mktemp("family_context") / "extracts"
    (folder / "family_context").mkdir(parents=True)
    shutil.copy(SAMPLES / "csc.csv", folder / "family_context" / "csc.csv")
    shutil.copy(SAMPLES / "education.csv", folder / "family_context" / "education.csv")
    wards = [dict(zip(BY_SOURCE["ref_wards"].fields, w, strict=True)) for w in WARDS]
    write_csv(folder, "ref_wards", wards)
    write_csv(folder, "ref_postcode_ward", [])
    manifest(folder, "".join(f"{s}: {{available: false}}\n" for s in NOT_FAMILY_CONTEXT))
    model = folder.parent / "model.duckdb"
    result = run_cli("build", "--sources", str(folder), "--out", str(model))
    assert result.returncode == 0, result.stderr
    return model


def test_a_family_context_folder_builds(family_context_model: Path) -> None:
    with duckdb.connect(str(family_context_model), read_only=True) as con:
        rows = dict(
            con.execute(
                "select source, (rows_read, rows_loaded, rows_rejected, absent) from load_manifest"
            ).fetchall()
        )
        for source in FAMILY_CONTEXT:
            sample = SAMPLES / f"{BY_SOURCE[source].file_stem}.csv"
            with sample.open(encoding="utf-8", newline="") as file:
                sent = sum(1 for _ in csv.DictReader(file))
            assert rows[source] == (sent, sent, 0, None)
        for source in NOT_FAMILY_CONTEXT:
            assert rows[source] == (None, None, None, DECLARED_ABSENT)
            assert con.execute(f"select count(*) from stg_{source}").fetchall() == [(0,)]
        assert rows["ref_programme"] == (None, None, None, NOT_SENT)
        # as at the day the Family Context extracts are current to
        assert str(con.execute("select as_at_date from mart_model_info").fetchone()[0]) == (
            "2022-10-15"
        )
        assert con.execute("select count(*) from mart_person").fetchone()[0] > 0


def test_the_app_opens_on_a_family_context_model_and_says_what_is_not_available(
    family_context_model: Path, serve
) -> None:
    serve(family_context_model)
    referrals_text = not_available("ehm_referrals")
    episodes_text = not_available("ehm_episodes")

    overview = open_page("overview")
    shown = metrics(overview)
    for label in ("Families referred", "Families attached", "Families eligible now",
                  "Families near a claim", "Results claims", "Income so far"):  # fmt: skip
        assert shown[label] == "Not available", label
    helps = {m.label: as_shown(m.help or "") for m in overview.metric}
    assert helps["Families referred"] == referrals_text[:1].upper() + referrals_text[1:] + "."
    assert episodes_text in page_text(overview)
    assert not overview.get("plotly_chart")  # no trajectory drawn from nothing

    referrals = open_page("referrals")
    assert f"Referrals and their allocation are {referrals_text}." in page_text(referrals)
    assert not referrals.metric and not referrals.dataframe

    for key in ("near_threshold", "claims"):
        at = open_page(key)
        assert f"Attached families are {episodes_text}." in page_text(at), key
        assert not at.metric and not at.dataframe, key

    plan_page = page_text(open_page("outcomes_plan"))
    for indicator, source in plan_sources("indicators").items():
        assert not_available(source) in plan_page, indicator

    quality = open_page("data_quality")
    absent = table_with(quality, "not_available_text")
    assert sorted(absent["title"]) == sorted(
        [BY_SOURCE[s].title for s in NOT_FAMILY_CONTEXT] + [BY_SOURCE["ref_programme"].title]
    )
    assert set(absent["not_available_text"]) == {
        not_available(s) for s in (*NOT_FAMILY_CONTEXT, "ref_programme")
    }

    for page in registry.PAGES:  # every page opens
        open_page(page.key)
