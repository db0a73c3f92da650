"""The Wards read layer (data_model/read/wards.py) on a generated 300-household district: its
figures against the tests' own SQL on the model, the disclosure proof over everything a
councillor can see (every measure, ward, committee, district and quarter, the rates with their
denominators, and the Overview's total of families attached), perturbation against the ONS
package, and the same perturbed figures from a second build."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data_model.disclosure import DisclosureSettings, package_perturbed_table
from data_model.read import wards
from data_model.read.connection import open_model
from data_model.read.programme import model_info, protected_overview
from tests.wards_audit import Knowledge, PublishedCell, add_table

HOUSEHOLDS = 300
SEED = 23


@pytest.fixture(scope="module")
def ward_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from data_model.build import build_synthetic

    out = tmp_path_factory.mktemp("wards") / "model.duckdb"
    build_synthetic(out, households=HOUSEHOLDS, seed=SEED)
    return out


@pytest.fixture(scope="module")
def con(ward_model: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_model(ward_model)
    yield connection
    connection.close()


def settings_with(method: str, threshold: int) -> DisclosureSettings:
    return DisclosureSettings(method, threshold, ("admin", "analyst", "manager"))


# --- The tests' own SQL ---------------------------------------------------------------------------

WARD_ON_DAY = """
-- each family's ward on a day: its index child's (else, when the child has no address at all, its
-- members') record seen most recently up to the day, as mart_person chooses a latest address
with records as (
    select member.family_key, member.person_key = family.index_person_key as is_index,
           record.unique_id, record.address, record.postcode, record.first_seen,
           least(coalesce(record.last_seen, record.first_seen), $day) as seen_to,
           case record.source when 'ehm_people' then 1 when 'school_census' then 1
               when 'health_events' then 2 else 3 end as source_rank
    from int_linkage_record as record
    inner join int_person_link as link using (unique_id)
    inner join mart_family_member as member on member.person_key = link.person_key
    inner join mart_family as family on family.family_key = member.family_key
    where (record.postcode is not null or record.address is not null)
        and record.first_seen is not null
),
usable as (
    select * from records
    where is_index or family_key not in (select family_key from records where is_index)
)
select family_key, lookup.ward_code
from usable
left join stg_postcode_ward as lookup using (postcode)
where first_seen <= $day
qualify row_number() over (
    partition by family_key
    order by seen_to desc, (address is not null) desc, source_rank, unique_id
) = 1
"""


def ward_on_day(con: duckdb.DuckDBPyConnection, day: date) -> pd.DataFrame:
    frame = con.execute(WARD_ON_DAY, {"day": day}).df()
    return frame[frame["ward_code"].notna()]


def own_counts(con: duckdb.DuckDBPyConnection, measure_id: str, quarter_end: date) -> pd.Series:
    """Families per ward for one measure and quarter, by the tests' own SQL."""
    quarter_start = (pd.Timestamp(quarter_end) - pd.offsets.QuarterBegin(startingMonth=1)).date()
    located = ward_on_day(con, quarter_end)
    if measure_id == "families_known":
        counted = located
    elif measure_id in ("families_eligible",) or measure_id.startswith("problem_"):
        hits = con.execute(
            """
            select family_key, count(distinct problem_id) as problems,
                   list(distinct problem_id) as problem_ids
            from int_plan_hit where holds_from <= $day and holds_until >= $day
            group by family_key
            """,
            {"day": quarter_end},
        ).df()
        (at_least,) = con.execute("select eligibility_at_least from cfg_plan").fetchall()[0]
        if measure_id == "families_eligible":
            chosen = hits[hits["problems"] >= at_least]
        else:
            problem = measure_id.removeprefix("problem_")
            chosen = hits[hits["problem_ids"].apply(lambda ids: problem in list(ids))]
        counted = located[located["family_key"].isin(chosen["family_key"])]
    else:
        attached = con.execute(
            "select family_key, attached_date, closure_date from int_plan_attachment"
        ).df()
        if measure_id == "results_claims":
            claims = con.execute(
                "select family_key, claimable_date from mart_claim where claim_type = 'results'"
            ).df()
            in_quarter = claims[
                pd.to_datetime(claims["claimable_date"]).dt.date.between(quarter_start, quarter_end)
            ]
            attached = attached[attached["family_key"].isin(in_quarter["family_key"])]
        else:  # being worked with on the quarter's last day
            closed = pd.to_datetime(attached["closure_date"]).dt.date
            attached = attached[
                (pd.to_datetime(attached["attached_date"]).dt.date <= quarter_end)
                & (closed.isna() | (closed > quarter_end))
            ]
        rows = []
        for family, day in zip(attached["family_key"], attached["attached_date"], strict=True):
            placed = ward_on_day(con, pd.Timestamp(day).date())
            rows.append(placed[placed["family_key"] == family])
        counted = pd.concat(rows) if rows else located.iloc[0:0]
    return counted.groupby("ward_code").size()


# --- Figures against the tests' own SQL ----------------------------------------------------------


def test_exact_figures_match_the_tests_own_sql(con: duckdb.DuckDBPyConnection) -> None:
    quarters = wards.ward_quarters(con)
    assert quarters == sorted(quarters) and len(quarters) >= 4
    population = con.execute("select ward_code, population_0_15 from stg_wards").df()
    population = population.set_index("ward_code")["population_0_15"]
    committees = con.execute("select ward_code, area_committee from stg_wards").df()
    committee_of = committees.set_index("ward_code")["area_committee"]
    checks = [(m, quarters[-1]) for m in wards.ward_measures(con)["measure_id"]]
    checks += [("families_engaged", q) for q in quarters[-8:]]
    checks += [("results_claims", q) for q in quarters[-8:]]
    for measure_id, quarter in checks:
        table = wards.ward_table(con, measure_id, quarter, protected=False)
        assert table["exact"].all()
        expected = own_counts(con, measure_id, quarter)
        ward_rows = table[table["level"] == "ward"].set_index("area_code")
        got = ward_rows["count"].astype(int)
        want = expected.reindex(got.index, fill_value=0).astype(int)
        pd.testing.assert_series_equal(got, want, check_names=False, obj=f"{measure_id} {quarter}")
        by_committee = want.groupby(committee_of.reindex(want.index)).sum()
        committee_rows = table[table["level"] == "committee"].set_index("area_code")["count"]
        assert committee_rows.astype(int).to_dict() == by_committee.to_dict()
        district = table[table["level"] == "district"].iloc[0]
        assert int(district["count"]) == int(want.sum())
        if measure_id != "families_eligible":
            rate = ward_rows["rate"]
            own_rate = (want * 1000 / population.reindex(want.index)).round(1)
            pd.testing.assert_series_equal(rate.astype(float), own_rate, check_names=False)


def test_eligible_rate_is_per_families_known(con: duckdb.DuckDBPyConnection) -> None:
    quarter = wards.ward_quarters(con)[-1]
    eligible = wards.ward_table(con, "families_eligible", quarter, protected=False)
    known = wards.ward_table(con, "families_known", quarter, protected=False)
    merged = eligible.merge(known, on=["level", "area_code"], suffixes=("", "_known"))
    assert (merged["denominator"] == merged["count_known"]).all()
    with_known = merged[merged["count_known"] > 0]
    expected = (with_known["count"] * 1000 / with_known["count_known"]).round(1)
    assert (with_known["rate"].astype(float) == expected.astype(float)).all()


def test_ranks_and_the_profile_agree_with_the_table(con: duckdb.DuckDBPyConnection) -> None:
    quarter = wards.ward_quarters(con)[-1]
    table = wards.ward_table(con, "families_known", quarter, protected=False)
    ward_rows = table[table["level"] == "ward"].sort_values("rank")
    top = ward_rows.iloc[0]
    assert int(top["rank"]) == 1
    assert top["rank_text"].endswith(f"1st of {len(ward_rows)}")
    profile = wards.ward_profile(con, top["area_name"].upper(), protected=False)
    known = next(m for m in profile.measures if m.measure_id == "families_known")
    district = table[table["level"] == "district"].iloc[0]
    assert known.value_text == top["rate_text"] and known.district_text == district["rate_text"]
    if not top["rank_shared"]:
        assert known.glance.startswith(f"{top['area_name']} has the highest rate of families known")
        assert f"{top['rate']:,.1f} per 1,000 children aged 0–15" in known.glance
        assert f"against {district['rate']:,.1f} across the district" in known.glance
    protected = wards.ward_profile(con, top["area_code"], protected=True)
    for summary in protected.measures:  # the profile says what the protected table says
        table = wards.ward_table(con, summary.measure_id, quarter, protected=True)
        row = table[table["area_code"] == top["area_code"]].iloc[0]
        shown = table[table["level"] == "district"].iloc[0]
        assert (summary.value_text, summary.count_text, summary.rank_text) == (
            row["rate_text"], row["count_text"], row["rank_text"],
        )  # fmt: skip
        assert summary.district_text == shown["rate_text"]
        if "c" in (row["rate_text"], shown["rate_text"]):
            assert summary.difference_text == "c"
        if row["rate_text"] == "c":
            assert summary.glance == "" and summary.direction_words == "not published"
    committee = wards.ward_profile(con, top["area_committee"], protected=True)
    assert committee.level == "committee" and top["area_name"] in committee.committee_wards
    assert committee.protected and "c" in committee.disclosure_note


def test_postcode_box(con: duckdb.DuckDBPyConnection) -> None:
    postcode, ward_code = con.execute(
        "select postcode, ward_code from stg_postcode_ward order by postcode limit 1"
    ).fetchall()[0]
    name = con.execute(
        "select ward_name from stg_wards where ward_code = ?", [ward_code]
    ).fetchall()
    for typed in (postcode, postcode.lower(), postcode.replace(" ", ""), f"  {postcode.lower()} "):
        assert wards.ward_of_postcode(con, typed) == (ward_code, name[0][0])
    assert wards.ward_of_postcode(con, "ZZ99 9ZZ") is None
    assert wards.ward_of_postcode(con, "   ") is None


# --- Disclosure: everything a councillor can see --------------------------------------------------


def published_tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, date], pd.DataFrame]:
    return {
        (measure_id, quarter): wards.ward_table(con, measure_id, quarter, protected=True)
        for measure_id in wards.ward_measures(con)["measure_id"]
        for quarter in wards.ward_quarters(con)
    }


def as_cells(table: pd.DataFrame, wards_of: dict[str, tuple[str, ...]]) -> list[PublishedCell]:
    return [
        PublishedCell(
            key=f"{row.level} {row.area_code}",
            wards=wards_of[row.area_code],
            count=None if pd.isna(row.count) else int(row.count),
            rate=None if pd.isna(row.rate) else float(row.rate),
            denominator=None if pd.isna(row.denominator) else float(row.denominator),
        )
        for row in table.itertuples()
    ]


def wards_of_areas(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    areas = con.execute("select ward_code, area_committee from stg_wards").df()
    wards_of = {code: (code,) for code in areas["ward_code"]}
    for committee, members in areas.groupby("area_committee"):
        wards_of[committee] = tuple(members["ward_code"])
    wards_of["district"] = tuple(areas["ward_code"])
    return wards_of


def test_no_councillor_visible_count_is_small(con: duckdb.DuckDBPyConnection) -> None:
    threshold = wards.disclosure_settings().threshold
    tables = published_tables(con)
    suppressed = 0
    for (measure_id, quarter), table in tables.items():
        assert not table["exact"].any()
        shown = table["count"].dropna().astype(int)
        assert not shown.between(1, threshold).any(), (measure_id, quarter)
        assert (table.loc[table["suppressed"], "count_text"] == "c").all()
        assert (table.loc[table["suppressed"], "rate_text"] == "c").all()
        assert table.loc[table["suppressed"], "rank"].isna().all()
        suppressed += int(table["suppressed"].sum())
    assert suppressed > 0  # a 300-household district has small numbers to protect
    for measure_id in wards.ward_measures(con)["measure_id"]:
        trend = wards.ward_trend(con, measure_id, protected=True)
        assert not trend["count"].dropna().astype(int).between(1, threshold).any()


def test_suppressed_figures_cannot_be_narrowed(con: duckdb.DuckDBPyConnection) -> None:
    """For each suppressed cell of every table, the interval consistent with everything published
    is at least the threshold wide. Everything published: every measure's cells, committees and
    district in every quarter; the rates with their denominators (per 1,000 families known: the
    families known table's published count); what the measures share (the families eligible and
    those with each problem are among the families known in the ward); and the councillor's
    Overview, whose totals cap district figures: every family engaged on a quarter's last day is
    among the families attached, every family eligible then among the families ever eligible,
    the families eligible on the as-at date among the Overview's eligible, and every quarter's
    results claims together among all the claims. Results claims are audited across quarters
    together (the Overview adds them up); the stocks quarter by quarter (nothing published adds
    up quarters of them), which is the same as auditing them together."""
    threshold = wards.disclosure_settings().threshold
    wards_of = wards_of_areas(con)
    tables = published_tables(con)
    overview = protected_overview(con)
    as_at = model_info(con)["as_at_date"]
    quarters = wards.ward_quarters(con)
    measures = list(wards.ward_measures(con)["measure_id"])
    among_known = [m for m in measures if m == "families_eligible" or m.startswith("problem_")]
    exact = {
        (measure_id, quarter): {
            f"{row.level} {row.area_code}": int(row.count)
            for row in wards.ward_table(con, measure_id, quarter, protected=False).itertuples()
        }
        for measure_id, quarter in tables
    }

    def district(knowledge: Knowledge, measure_id: str, quarter: date) -> dict[str, float]:
        return {
            knowledge.variable(f"{measure_id} {quarter}|{w}"): 1.0 for w in wards_of["district"]
        }

    def cap(knowledge: Knowledge, name: str, terms: dict[str, float]) -> None:
        if overview.get(name) is not None:
            knowledge.no_more(terms, overview[name])

    def audit(knowledge: Knowledge, hidden: list[tuple[str, date, PublishedCell]]) -> int:
        for measure_id, quarter, cell in hidden:
            terms = {f"{measure_id} {quarter}|{w}": 1.0 for w in cell.wards}
            high = knowledge.interval(terms, only="greatest")[1]
            true = exact[(measure_id, quarter)][cell.key]
            # the least consistent value is at most the true one: asked only when it matters
            low = true if high - true >= threshold else knowledge.interval(terms)[0]
            assert high - low >= threshold, (quarter, measure_id, cell.key, low, high)
        return len(hidden)

    audited = 0
    for quarter in quarters:
        knowledge = Knowledge()
        hidden = []
        for measure_id in measures:
            if measure_id == "results_claims":
                continue
            cells = as_cells(tables[(measure_id, quarter)], wards_of)
            add_table(knowledge, f"{measure_id} {quarter}", cells)
            hidden += [(measure_id, quarter, cell) for cell in cells if cell.count is None]
        for ward in wards_of["district"]:
            known = knowledge.variable(f"families_known {quarter}|{ward}")
            for measure_id in among_known:
                among = knowledge.variable(f"{measure_id} {quarter}|{ward}")
                knowledge.no_more({among: 1.0, known: -1.0}, 0)
        cap(knowledge, "families_attached", district(knowledge, "families_engaged", quarter))
        cap(knowledge, "families_ever_eligible", district(knowledge, "families_eligible", quarter))
        if quarter == as_at:
            cap(knowledge, "families_eligible", district(knowledge, "families_eligible", quarter))
        audited += audit(knowledge, hidden)
    knowledge = Knowledge()
    hidden = []
    every_quarter: dict[str, float] = {}
    for quarter in quarters:
        cells = as_cells(tables[("results_claims", quarter)], wards_of)
        add_table(knowledge, f"results_claims {quarter}", cells)
        hidden += [("results_claims", quarter, cell) for cell in cells if cell.count is None]
        every_quarter |= district(knowledge, "results_claims", quarter)
    cap(knowledge, "results_claims", every_quarter)
    audited += audit(knowledge, hidden)
    assert audited > 0


# --- Perturbation ---------------------------------------------------------------------------------


def family_microdata(con: duckdb.DuckDBPyConnection, quarter: date) -> pd.DataFrame:
    """The families known on a quarter's last day with ward, committee and record key, by the
    tests' own SQL."""
    located = ward_on_day(con, quarter)
    keys = con.execute("select family_key, record_key from int_family_record_key").df()
    committees = con.execute("select ward_code, area_committee from stg_wards").df()
    return (
        located.merge(keys, on="family_key")
        .merge(committees, on="ward_code")
        .assign(district="district")
    )


@pytest.mark.parametrize("threshold", [5, 10])
def test_perturbed_figures_come_from_the_package(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    monkeypatch.setattr(
        wards, "disclosure_settings", lambda: settings_with("perturbation", threshold)
    )
    quarter = wards.ward_quarters(con)[-1]
    table = wards.ward_table(con, "families_known", quarter, protected=True).set_index("area_code")
    microdata = family_microdata(con, quarter)
    for column in ("ward_code", "area_committee", "district"):
        theirs = package_perturbed_table(microdata, column, "record_key", threshold)
        for area, expected in zip(theirs[column], theirs["count"], strict=True):
            got = table.loc[area, "count"]
            assert (pd.isna(got) and pd.isna(expected)) or int(got) == int(expected), area
    shown = table["count"].dropna().astype(int)
    assert (shown > threshold).all()
    # a ward the model places nobody in is not in the package's table: its count is c
    empty = set(table.index[table["level"] == "ward"]) - set(microdata["ward_code"])
    assert all(pd.isna(table.loc[area, "count"]) for area in empty)


def test_the_same_cell_gets_the_same_value_in_another_build(
    ward_model: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data_model.build import build_synthetic

    monkeypatch.setattr(wards, "disclosure_settings", lambda: settings_with("perturbation", 5))
    quarter = wards.ward_quarters(con)[-1]
    measures = list(wards.ward_measures(con)["measure_id"])
    first = {m: wards.ward_table(con, m, quarter, protected=True) for m in measures}
    first_keys = con.execute("select * from int_family_record_key order by family_key").df()
    kept = ward_model.with_name("first.duckdb")
    shutil.copy(ward_model, kept)
    build_synthetic(ward_model, households=HOUSEHOLDS, seed=SEED)  # same folder, same secret
    again = open_model(ward_model)
    try:
        second_keys = again.execute("select * from int_family_record_key order by family_key").df()
        pd.testing.assert_frame_equal(first_keys, second_keys)
        for measure_id in measures:
            second = wards.ward_table(again, measure_id, quarter, protected=True)
            pd.testing.assert_series_equal(
                first[measure_id]["count"], second["count"], obj=measure_id
            )
    finally:
        again.close()
