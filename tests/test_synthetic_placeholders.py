"""The generator's stand-ins for "not known" (loaders/synthetic/unknown_dirt.py) and its month-first
source, against what the loaders make of them: every stand-in in the files is set aside (a
load_set_aside row, the field loaded blank, the row loaded), reconciled with _truth/dirt.csv; a
year-only date of birth loads as 1 January of the true year; the month-first extract is found and
its dates load as the true ones. One small district, generated and loaded once."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data_model.build import gate_settings
from loaders.base import create_load_tables, load_all
from loaders.contracts import BY_SOURCE
from loaders.synthetic import unknown_dirt
from loaders.synthetic.generate import generate

HOUSEHOLDS, SEED = 1000, 23
STAND_INS = ("dob_placeholder", "sex_placeholder", "postcode_placeholder")  # set aside
PERSON_SOURCES = (*unknown_dirt.PERSON_SOURCES, "service_involvement")
NOT_KNOWN = ("stands for not known", "is a pseudo-postcode")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stand_ins")
    generate(HOUSEHOLDS, SEED, out)
    return out


@pytest.fixture(scope="module")
def loaded(district) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_load_tables(con)
    load_all(con, district)
    yield con
    con.close()


def truth(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / "_truth" / f"{name}.csv", dtype=str, keep_default_na=False)


def person_id_sql(source: str) -> str:
    if source == "housing_tenancies":
        return "tenancy_ref || '-' || tenant_no"
    return BY_SOURCE[source].person_id_field


def violation_lines(con, district: Path, source: str) -> set[int]:
    """Lines of the rows the generator broke on purpose (their cells hold the break instead)."""
    dirt = truth(district, "dirt")
    keys = set(
        dirt.loc[
            (dirt["source"] == source) & (dirt["dirt_kind"] == "contract_violation"), "row_key"
        ]
    )
    key = " || '|' || ".join(f"coalesce({f}::varchar, '')" for f in BY_SOURCE[source].unique_key)
    rows = con.execute(f"select line, {key} from raw_{source}").fetchall()
    return {line for line, k in rows if k in keys}


# --- rates --------------------------------------------------------------------------------------


def test_each_kind_appears_at_about_its_rate(district):
    rates = pd.read_csv(district / "_truth" / "dirt_rates.csv")
    dirt = truth(district, "dirt")
    own = dirt[~dirt["detail"].str.startswith("inherited:")]
    for kind in unknown_dirt.KINDS:
        mine = rates[rates["dirt_kind"] == kind]
        assert set(mine["source"]) >= {"police_incidents", "health_events", "ehm_people"}, kind
        expected = variance = 0.0
        for row in mine.itertuples():
            assert row.target_rate == unknown_dirt.RATES[row.source].get(kind, 0.0), row
            assert row.applied == ((own["source"] == row.source) & (own["dirt_kind"] == kind)).sum()
            expected += row.eligible * row.target_rate
            variance += row.eligible * row.target_rate * (1 - row.target_rate)
        applied = int(mine["applied"].sum())
        assert applied > 0, kind
        assert abs(applied - expected) <= 4 * math.sqrt(variance) + 3, (kind, applied, expected)
        # Small: never more than 2% of a source's registrations.
        assert (mine["applied"] <= 0.02 * mine["eligible"] + 3).all(), kind


# --- the loaders set every stand-in aside -------------------------------------------------------


@pytest.mark.parametrize("source", PERSON_SOURCES)
def test_every_stand_in_is_set_aside_and_its_row_loads(district, loaded, source):
    con = loaded
    contract = BY_SOURCE[source]
    dirt = truth(district, "dirt")
    mine = dirt[(dirt["source"] == source) & dirt["dirt_kind"].isin(STAND_INS)]
    broken = violation_lines(con, district, source)
    expected: set[tuple[int, str]] = set()
    for fld, group in mine.groupby("field"):
        header = contract.column(fld).header
        recorded = dict(zip(group["source_person_id"], group["recorded_value"], strict=True))
        rows = con.execute(
            f"select line, {person_id_sql(source)}, {fld} from raw_{source}"
        ).fetchall()
        for line, pid, value in rows:
            if pid in recorded and line not in broken:
                assert value is None, (source, line, fld)  # loaded blank
                expected.add((line, header))
        # The value set aside is the stand-in dirt.csv records.
        got = con.execute(
            "select line, value from load_set_aside where source = ? and column_name = ?",
            [source, header],
        ).fetchall()
        by_line = dict(got)
        for line, pid, _ in rows:
            if pid in recorded and line not in broken:
                assert _same(by_line[line], recorded[pid], source), (source, line, fld)
    set_aside = con.execute(
        "select line, column_name, reason from load_set_aside where source = ?", [source]
    ).fetchall()
    not_known = {
        (line, column)
        for line, column, reason in set_aside
        if any(words in reason for words in NOT_KNOWN) and line not in broken
    }
    # Reconciled both ways: every stand-in's cell is set aside as "not known", and every value
    # set aside as "not known" (outside the rows broken on purpose) is a recorded stand-in.
    assert not_known == expected
    if source in ("police_incidents", "health_events", "ehm_people", "service_involvement"):
        assert expected, source  # this size has some in each of the busier files
    # No row is rejected for a stand-in.
    values = set(mine["recorded_value"])
    rejected = con.execute(
        "select value from load_rejects where source = ? and value is not null", [source]
    ).fetchall()
    assert not values & {v for (v,) in rejected}


def _same(set_aside_value: str, recorded: str, source: str) -> bool:
    """The value as the file had it is the stand-in recorded (a sentinel date, recorded ISO, as
    the file writes its dates)."""
    if set_aside_value.strip() == recorded:
        return True
    day = dt.date.fromisoformat(recorded)
    written = unknown_dirt.MONTH_FIRST.get(source, "%d/%m/%Y")
    return set_aside_value in (day.strftime(written), day.isoformat())


def test_a_year_only_date_of_birth_loads_as_the_first_of_january_of_the_true_year(district, loaded):
    dirt = truth(district, "dirt")
    year_only = dirt[dirt["dirt_kind"] == "dob_year_only"]
    assert len(year_only) >= 5
    checked = 0
    for source, group in year_only.groupby("source"):
        broken = violation_lines(loaded, district, source)
        true = dict(zip(group["source_person_id"], group["true_value"], strict=True))
        rows = loaded.execute(
            f"select line, {person_id_sql(source)}, dob from raw_{source}"
        ).fetchall()
        for line, pid, dob in rows:
            if pid in true and line not in broken:
                assert dob == dt.date(int(true[pid][:4]), 1, 1) != dt.date.fromisoformat(true[pid])
                checked += 1
        # A real date: loaded, not set aside.
        set_aside = loaded.execute(
            "select line from load_set_aside where source = ? and column_name = ?",
            [source, BY_SOURCE[source].column("dob").header],
        ).fetchall()
        assert not {line for (line,) in set_aside} & {
            line for line, pid, _ in rows if pid in true and line not in broken
        }
    assert checked >= len(year_only)


def test_loaded_plus_rejected_is_read_and_no_column_trips_the_set_aside_gate(loaded):
    manifest = loaded.execute(
        "select source, rows_read, rows_loaded, rows_rejected from load_manifest"
        " where rows_read is not null"
    ).fetchall()
    assert {s for s, *_ in manifest} >= set(PERSON_SOURCES)
    for source, read, rows_loaded, rejected in manifest:
        assert rows_loaded + rejected == read, source
        worst = loaded.execute(
            "select coalesce(max(n), 0) from (select count(distinct line) as n"
            " from load_set_aside where source = ? group by column_name)",
            [source],
        ).fetchone()[0]
        assert worst <= gate_settings(source)["max_set_aside_share"] * rows_loaded, source


# --- the month-first source ---------------------------------------------------------------------


def test_the_month_first_source_is_found_and_its_dates_load_as_the_true_ones(district, loaded):
    source = "csc_episodes"
    assert unknown_dirt.MONTH_FIRST[source] == "%m/%d/%Y"
    assert "date_order" not in (district / "extracts.yaml").read_text()  # found, not declared
    (note,) = loaded.execute(
        "select read_as from load_manifest where source = ?", [source]
    ).fetchone()
    assert note.startswith("dates read month first")
    # Read month first throughout: no date was read day first and flagged.
    assert not loaded.execute(
        "select count(*) from load_set_aside where source = ? and reason like '%month first%'",
        [source],
    ).fetchone()[0]
    text = pd.read_csv(district / "csc_episodes.csv", dtype=str, keep_default_na=False)
    assert text["Start Date"].str.fullmatch(r"\d\d/\d\d/\d{4}").mean() > 0.95
    # Dates of birth against the truth, for children whose record carries no date of birth dirt.
    dirt = truth(district, "dirt")
    dob_dirt = set(
        dirt.loc[(dirt["source"] == source) & (dirt["field"] == "dob"), "source_person_id"]
    )
    who = truth(district, "source_persons")
    who = who[who["source"] == source].set_index("source_person_id")["true_person_id"]
    born = truth(district, "persons").set_index("true_person_id")["dob"]
    broken = violation_lines(loaded, district, source)
    rows = loaded.execute(f"select line, child_id, dob from raw_{source}").fetchall()
    compared = ambiguous = 0
    for line, child, dob in rows:
        if child in dob_dirt or line in broken:
            continue
        true = dt.date.fromisoformat(born[who[child]])
        assert dob == true, (line, child)
        compared += 1
        ambiguous += true.day <= 12 and true.day != true.month  # misread day first, it would move
    assert compared >= 50 and ambiguous >= 20
