"""The quick-win referrals: families eligible on the as-at date whom nobody has referred or
attached (mart_quickwin_unreferred, data_model/read/quickwins.py), checked against the tests' own
SQL on the plan marts, and against the generator's truth of who was referred."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data_model.read import quickwins

# The tests' own definition, from marts other than the ones the model's list reads where there
# is one: eligible on the as-at date (the plan's eligibility), and no sign of early help: no
# member in early help case management, no referral (mart_referral) whose case is the family's,
# never attached (mart_plan_family_status).
INDEPENDENT = """
    with eligible as (
        select family_key
        from mart_plan_family_eligibility
        where date_kind = 'as at' and is_eligible
    ),
    in_early_help as (
        select members.family_key
        from mart_family_member as members
        inner join mart_person_source_record as records using (person_key)
        where records.source = 'ehm_people'
        union
        select case_family.family_key
        from mart_referral
        inner join int_plan_family_case as case_family using (case_id)
        union
        select family_key from mart_plan_family_status
    )
    select family_key from eligible
    where family_key not in (select family_key from in_early_help)
    order by family_key
"""


@pytest.fixture(scope="module")
def listed(model_sql: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return quickwins.unreferred_eligible(model_sql)


def test_the_list_is_every_eligible_family_nobody_referred_or_attached(
    model_sql: duckdb.DuckDBPyConnection, listed: pd.DataFrame
) -> None:
    expected = [key for (key,) in model_sql.execute(INDEPENDENT).fetchall()]
    assert len(expected) >= 5  # the district has eligible families nobody has referred
    assert sorted(listed["family_key"]) == expected
    assert quickwins.unreferred_available(model_sql)


def test_each_family_carries_its_problems_evidence_and_place(
    model_sql: duckdb.DuckDBPyConnection, listed: pd.DataFrame
) -> None:
    problems = model_sql.execute(
        """
        select family_key, problem_id, problem_title, problem_order
        from mart_plan_family_problem where date_kind = 'as at'
        order by family_key, problem_order
        """
    ).df()
    by_family = problems.groupby("family_key")
    evidence = model_sql.execute(
        """
        select family_key, count(*) as records, max(evidence_date) as latest,
               list(distinct source order by source) as sources
        from mart_plan_problem_evidence where date_kind = 'as at' group by family_key
        """
    ).df()
    evidence = evidence.set_index("family_key")
    first = dict(
        model_sql.execute(
            "select family_key, evaluation_date from mart_plan_family_eligibility"
            " where date_kind = 'first eligible'"
        ).fetchall()
    )
    places = model_sql.execute(
        """
        select family.family_key, family.ward_code, wards.ward_name, wards.cluster,
               wards.area_committee, family.size, family.children, family.adults
        from mart_family as family
        left join stg_wards as wards using (ward_code)
        """
    ).df()
    places = places.set_index("family_key")
    (eligibility_at_least,) = model_sql.execute(
        "select eligibility_at_least from cfg_plan"
    ).fetchone()
    (as_at,) = model_sql.execute("select as_at_date from int_as_at_date").fetchone()

    for row in listed.itertuples():
        mine = by_family.get_group(row.family_key)
        assert list(row.problem_ids) == list(mine["problem_id"])
        assert list(row.problems) == list(mine["problem_title"])
        assert row.problem_count == len(mine) >= eligibility_at_least
        assert row.evidence_records == evidence.loc[row.family_key, "records"] > 0
        assert list(row.evidence_sources) == list(evidence.loc[row.family_key, "sources"])
        assert row.latest_evidence_date == evidence.loc[row.family_key, "latest"]
        assert row.first_eligible_date == pd.Timestamp(first[row.family_key])
        place = places.loc[row.family_key]
        assert (row.ward_code, row.ward_name) == (place["ward_code"], place["ward_name"])
        assert (row.cluster, row.area_committee) == (place["cluster"], place["area_committee"])
        assert (row.family_size, row.children, row.adults) == (
            place["size"],
            place["children"],
            place["adults"],
        )
        assert row.as_at_date == pd.Timestamp(as_at)
    # most problems first, then longest eligible
    order = listed.sort_values(
        ["problem_count", "first_eligible_date", "family_key"],
        ascending=[False, True, True],
        kind="stable",
    )
    assert list(order["family_key"]) == list(listed["family_key"])


def test_cluster_and_ward_narrow_the_list(
    model_sql: duckdb.DuckDBPyConnection, listed: pd.DataFrame
) -> None:
    for cluster in listed["cluster"].dropna().unique():
        mine = quickwins.unreferred_eligible(model_sql, cluster=cluster)
        assert list(mine["family_key"]) == list(
            listed.loc[listed["cluster"] == cluster, "family_key"]
        )
    ward = listed["ward_code"].dropna().iloc[0]
    mine = quickwins.unreferred_eligible(model_sql, ward=ward)
    assert len(mine) and (mine["ward_code"] == ward).all()
    assert len(mine) == (listed["ward_code"] == ward).sum()
    both = quickwins.unreferred_eligible(model_sql, cluster="No such cluster", ward=ward)
    assert both.empty
    counts = quickwins.unreferred_counts(model_sql)
    assert counts["families"].sum() == len(listed)
    mine = counts[counts["ward_code"] == ward]
    assert mine["families"].sum() == (listed["ward_code"] == ward).sum()


def test_a_familys_evidence_trail_is_the_plans_own(
    model_sql: duckdb.DuckDBPyConnection, listed: pd.DataFrame
) -> None:
    for key in listed["family_key"].head(5):
        trail = quickwins.unreferred_evidence(model_sql, key)
        own = model_sql.execute(
            """
            select problem_id, indicator_id, source, source_record_id, person_key, evidence_date
            from mart_plan_problem_evidence
            where family_key = ? and date_kind = 'as at'
            """,
            [key],
        ).df()
        columns = list(own.columns)
        assert sorted(map(tuple, trail[columns].astype(str).to_numpy())) == sorted(
            map(tuple, own.astype(str).to_numpy())
        )
        problem_ids = listed.loc[listed["family_key"] == key, "problem_ids"].iloc[0]
        assert set(trail["problem_id"]) == set(problem_ids)  # every problem has its evidence
        assert trail["problem_title"].notna().all() and trail["value"].notna().all()
    # Not a way to read any family's evidence: an attached family's is not given.
    (attached,) = model_sql.execute(
        "select family_key from mart_plan_family_status where is_current limit 1"
    ).fetchone()
    assert quickwins.unreferred_evidence(model_sql, attached).empty


def test_the_listed_families_were_truly_never_referred(
    synthetic_model: Path, model_sql: duckdb.DuckDBPyConnection, listed: pd.DataFrame
) -> None:
    """Against the generator's truth: a listed family's people belong to families nobody
    referred (bar a family the linkage joined wrongly)."""
    truth = synthetic_model.parent / "synthetic_extracts" / "_truth"
    if not truth.exists():
        pytest.skip("the test model is not a fresh synthetic build (FFI_TEST_MODEL)")
    families = pd.read_csv(truth / "families.csv", dtype=str, keep_default_na=False)
    sources = pd.read_csv(truth / "source_persons.csv", dtype=str, keep_default_na=False)
    records = model_sql.execute(
        """
        select members.family_key, records.source, records.source_person_id
        from mart_family_member as members
        inner join mart_person_source_record as records using (person_key)
        """
    ).df()
    records = records[records["family_key"].isin(listed["family_key"])]
    true = records.merge(sources, on=["source", "source_person_id"]).merge(
        families, on="true_family_id"
    )
    share = true.groupby("family_key")["referred"].agg(lambda r: (r == "N").mean())
    assert len(share) == len(listed)
    assert (share == 1).mean() >= 0.9
    eligible = true.groupby("family_key")["eligible"].agg(lambda e: (e == "Y").mean())
    assert (eligible > 0.5).mean() >= 0.8  # most are truly eligible; the rest look it in the data
