"""The fairness check's figures against the tests' own computation: the groups from the tests'
own SQL (ward, area committee, sex of the eldest child; ethnicity from the index child's latest
record), then selection rate, precision, recall and calibration per group with pandas, the
ratios to the whole and the flags, on the later cohort and on today's lists."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import pytest

from data_model.quickwins.config import quickwins_settings
from data_model.quickwins.fairness import NOT_RECORDED, ethnicity_group
from tests.quickwins_district import quickwins_district

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sql() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(quickwins_district()), read_only=True)
    yield con
    con.close()


def test_recorded_ethnicities_fall_in_the_ons_high_level_groups():
    cases = {
        "WBRI": "White", "WIRT": "White", "MWBC": "Mixed", "APKN": "Asian", "AIND": "Asian",
        "CHNE": "Asian", "BCRB": "Black", "OOTH": "Other", "REFU": NOT_RECORDED,
        "NOBT": NOT_RECORDED, "Asian or Asian British - Pakistani": "Asian",
        "White - Any other White background": "White", "Black or Black British - African":
        "Black", "Mixed - Any other mixed background": "Mixed", None: NOT_RECORDED,
        "": NOT_RECORDED, "Prefer not to say": NOT_RECORDED,
    }  # fmt: skip
    for recorded, group in cases.items():
        assert ethnicity_group(recorded) == group, recorded


def _own_groups(sql: duckdb.DuckDBPyConnection, families: pd.DataFrame) -> pd.DataFrame:
    """The audit groups by the tests' own SQL."""
    sql.register("own_families", families[["family_key", "feature_date"]])
    try:
        places = sql.execute(
            """
            select f.family_key, f.feature_date,
                   coalesce(family.ward_name, 'Not recorded') as ward_name,
                   coalesce(wards.area_committee, 'Not recorded') as area_committee,
                   coalesce(arg_min(person.sex, (person.dob, person.person_key)) filter (
                       where person.dob <= f.feature_date
                         and person.dob > f.feature_date - interval 18 year
                         and f.feature_date between member.valid_from and member.valid_to
                   ), 'Not recorded') as sex
            from own_families as f
            left join mart_family as family using (family_key)
            left join stg_wards as wards using (ward_code)
            left join mart_family_member as member using (family_key)
            left join mart_person as person using (person_key)
            group by all
            """
        ).df()
        # the index child's latest recorded ethnicity, from every source that records it
        index_ethnicity = sql.execute(
            """
            with recorded as (
                select source, source_record_id, ethnicity, record_date from stg_ehm_people
                union all
                select source, source_record_id, ethnicity, record_date from stg_school_census
            )
            select family.family_key,
                   arg_max(recorded.ethnicity, (recorded.record_date, recorded.source_record_id))
                       as ethnicity
            from mart_family as family
            inner join mart_person_source_record as link
                on link.person_key = family.index_person_key
            inner join recorded using (source, source_record_id)
            where recorded.ethnicity is not null
              and family.family_key in (select family_key from own_families)
            group by family.family_key
            """
        ).df()
    finally:
        sql.unregister("own_families")
    places["feature_date"] = pd.to_datetime(places["feature_date"]).dt.date
    places["eldest_child_sex"] = (
        places["sex"].map({"F": "Female", "M": "Male"}).fillna(NOT_RECORDED)
    )
    index_ethnicity["index_group"] = index_ethnicity["ethnicity"].map(ethnicity_group)
    return places.merge(index_ethnicity, on="family_key", how="left")


def _stored(sql, population: str) -> pd.DataFrame:
    return sql.execute("select * from ranking_fairness where population = ?", [population]).df()


def _check(stored: pd.DataFrame, families: pd.DataFrame, attribute: str, metrics: dict) -> None:
    settings = quickwins_settings()["fairness"]
    for metric, compute in metrics.items():
        whole = compute(families)
        rows = stored[(stored["attribute"] == attribute) & (stored["metric"] == metric)]
        groups = families.groupby(attribute)
        assert sorted(rows["group_name"]) == sorted(groups.groups), (attribute, metric)
        for group, members in groups:
            row = rows[rows["group_name"] == group].iloc[0]
            value = compute(members)
            assert row["families"] == len(members)
            if np.isnan(value):
                assert pd.isna(row["value"])
                continue
            assert row["value"] == pytest.approx(value), (attribute, group, metric)
            assert row["whole"] == pytest.approx(whole)
            ratio = value / whole
            assert row["ratio"] == pytest.approx(ratio)
            outside = not settings["tolerance_low"] <= ratio <= settings["tolerance_high"]
            assert bool(row["is_flagged"]) == outside
            assert bool(row["is_small_group"]) == (len(members) < settings["small_group"])


def _precision(f: pd.DataFrame) -> float:
    chosen = f[f["selected"]]
    return chosen["label"].mean() if len(chosen) else np.nan


def _recall(f: pd.DataFrame) -> float:
    reached = f[f["label"] == 1]
    return reached["selected"].mean() if len(reached) else np.nan


LATER_COHORT_METRICS = {
    "selection_rate": lambda f: f["selected"].mean(),
    "precision": _precision,
    "recall": _recall,
    "calibration": lambda f: f["label"].sum() / f["probability"].sum(),
}


def test_the_later_cohorts_figures_by_group(sql):
    cohort = sql.execute(
        "select family_key, attached_date as feature_date, label, probability, in_top_k as "
        "selected from ranking_evaluation where cohort = 'test'"
    ).df()
    cohort["feature_date"] = pd.to_datetime(cohort["feature_date"]).dt.date
    families = cohort.merge(_own_groups(sql, cohort), on=["family_key", "feature_date"])
    assert len(families) == len(cohort) >= 300
    stored = _stored(sql, "later cohort")
    for attribute in ("ward_name", "area_committee", "eldest_child_sex"):
        _check(stored, families, attribute, LATER_COHORT_METRICS)
    # ethnicity: where the index child's is recorded, the family's group is it
    ethnicity = stored[stored["attribute"] == "ethnicity_group"]
    known = families[families["index_group"].notna() & (families["index_group"] != NOT_RECORDED)]
    assert len(known) > 0.5 * len(families)
    for group, members in known.groupby("index_group"):
        row = ethnicity[(ethnicity["group_name"] == group)
                        & (ethnicity["metric"] == "selection_rate")]  # fmt: skip
        assert row["families"].iloc[0] >= len(members)
    # coverage stated: the share of families with a group recorded
    coverage = ethnicity["attribute_coverage"].iloc[0]
    recorded = ethnicity[(ethnicity["metric"] == "selection_rate")
                         & (ethnicity["group_name"] != NOT_RECORDED)]["families"].sum()  # fmt: skip
    assert coverage == pytest.approx(recorded / len(families))
    # and the groups' families add up to the cohort for every attribute and metric
    sizes = stored.groupby(["attribute", "metric"])["families"].sum()
    assert (sizes == len(families)).all()


def test_todays_lists_selection_by_group(sql):
    lists = {"attached": "attached families today",
             "unreferred": "unreferred eligible families today"}  # fmt: skip
    for list_name, population in lists.items():
        listed = sql.execute(
            "select family_key, feature_date, in_top_k as selected from ranking_score "
            "where list = ?",
            [list_name],
        ).df()
        listed["feature_date"] = pd.to_datetime(listed["feature_date"]).dt.date
        families = listed.merge(_own_groups(sql, listed), on=["family_key", "feature_date"])
        stored = _stored(sql, population)
        assert set(stored["metric"]) == {"selection_rate"}
        for attribute in ("ward_name", "area_committee", "eldest_child_sex"):
            _check(stored, families, attribute,
                   {"selection_rate": lambda f: f["selected"].mean()})  # fmt: skip
