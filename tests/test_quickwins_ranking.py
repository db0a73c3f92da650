"""The quick-wins ranking on a synthetic district large enough to judge it (tests/
quickwins_district.py: its later cohort holds at least 300 families): the split, the label
against the tests' own SQL, the model against the rule, calibration, reasons, stamping, and the
same seed giving the same model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from data_model.quickwins.train import train_ranking
from tests.quickwins_district import MINIMUM_LATER_COHORT, copy_of_district, quickwins_district

pytestmark = pytest.mark.slow

RANKING_TABLES = ("ranking_coefficient", "ranking_metric", "ranking_calibration",
                  "ranking_score", "ranking_reason", "ranking_fairness", "ranking_evaluation",
                  "ranking_document")  # fmt: skip


@pytest.fixture(scope="module")
def sql() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(quickwins_district()), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def version(sql: duckdb.DuckDBPyConnection) -> dict:
    frame = sql.execute("select * from model_version where is_current").df()
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


def _metric(sql: duckdb.DuckDBPyConnection, ranker: str, metric: str) -> tuple[float, ...]:
    return sql.execute(
        "select value, lower, upper from ranking_metric where ranker = ? and metric = ?",
        [ranker, metric],
    ).fetchone()


def test_the_district_trains_and_its_later_cohort_holds_300_families(sql, version):
    assert version["status"] == "trained", version["status_reason"]
    own = sql.execute(
        "select count(*) from int_plan_attachment where attached_date between ? and ?",
        [version["test_from"], version["test_to"]],
    ).fetchone()[0]
    assert version["test_families"] == own >= MINIMUM_LATER_COHORT


def test_the_split_is_by_date_with_a_gap_of_one_horizon(sql, version):
    as_at = sql.execute("select as_at_date from int_as_at_date").fetchone()[0]
    horizon = pd.DateOffset(months=int(version["horizon_months"]))
    assert pd.Timestamp(version["test_to"]) == pd.Timestamp(as_at) - horizon
    # the last training label was known the day before the later cohort begins
    assert pd.Timestamp(version["calibration_to"]) + horizon == pd.Timestamp(
        version["test_from"]
    ) - pd.Timedelta(days=1)
    cohorts = sql.execute(
        "select cohort, min(attached_date), max(attached_date), count(*) from ranking_evaluation"
        " group by cohort"
    ).fetchall()
    bounds = {name: (first, last, n) for name, first, last, n in cohorts}
    assert bounds["fit"][1] <= version["fit_to"].date()
    assert version["calibration_from"].date() <= bounds["calibration"][0]
    assert bounds["calibration"][1] <= version["calibration_to"].date()
    assert version["test_from"].date() <= bounds["test"][0]
    assert bounds["test"][1] <= version["test_to"].date()
    assert (bounds["fit"][2], bounds["calibration"][2], bounds["test"][2]) == (
        version["fit_families"], version["calibration_families"], version["test_families"]
    )  # fmt: skip


def test_the_label_is_a_results_claim_within_the_horizon(sql, version):
    own = sql.execute(
        """
        select attachment.family_key,
               coalesce(bool_or(claim.claimable_date
                                <= attachment.attached_date + interval 12 month), false)::int
                   as label
        from int_plan_attachment as attachment
        left join mart_claim as claim
            on claim.family_key = attachment.family_key and claim.claim_type = 'results'
        group by attachment.family_key
        """
    ).df()
    stored = sql.execute("select family_key, label from ranking_evaluation").df()
    joined = stored.merge(own, on="family_key", suffixes=("", "_own"))
    assert len(joined) == len(stored) > 0
    assert (joined["label"] == joined["label_own"]).all()
    assert version["label"] == "a results claim within 12 months of attachment"


def test_the_model_beats_the_rule_in_the_top_k(sql, version):
    k = int(version["team_capacity"])
    test = sql.execute(
        "select label, in_top_k, rule_in_top_k from ranking_evaluation where cohort = 'test'"
    ).df()
    assert test["in_top_k"].sum() == test["rule_in_top_k"].sum() == k
    model = _metric(sql, "model", "precision_at_k")
    rule = _metric(sql, "rule", "precision_at_k")
    assert model[0] == pytest.approx(test.loc[test["in_top_k"], "label"].mean())
    assert rule[0] == pytest.approx(test.loc[test["rule_in_top_k"], "label"].mean())
    difference = _metric(sql, "difference: model − rule", "precision_at_k")
    assert difference[0] == pytest.approx(model[0] - rule[0])
    assert difference[1] > 0, f"model − rule precision in the top {k}: {difference}"


def test_the_lists_use_the_model(sql, version):
    # it beat the rule and was calibrated (the two tests above), so the adoption check uses it
    assert version["is_adopted"], version["adoption_reason"]


def test_the_claim_shape_features_follow_the_plan(sql):
    """Eligible when attached is the plan engine's; "only progress on every problem" is a problem
    of a family with none of the problems whose measure is a claim route of its own."""
    values = (
        sql.execute("select list, family_key, feature, value from ranking_reason")
        .df()
        .pivot_table(index=["list", "family_key"], columns="feature", values="value")
    )
    route_problems = [row[0] for row in sql.execute(
        "select distinct problem_id from cfg_plan_measure where measure_id in "
        "(select requires from cfg_plan_route)"
    ).fetchall()]  # fmt: skip
    assert route_problems == ["worklessness"]
    problems = [row[0] for row in sql.execute("select problem_id from cfg_plan_problem").fetchall()]
    for problem in problems:
        column = f"progress_only__{problem}"
        if problem in route_problems:
            assert column not in values.columns
            continue
        own = values[f"problem__{problem}"] * (1 - values["problem__worklessness"])
        assert (values[column] == own).all(), problem
        assert (values[column] == 1).any() and (values[column] == 0).any(), problem
    eligible = (
        sql.execute(
            "select family_key, eligible_at_attachment::double as own from int_plan_attachment"
        )
        .df()
        .set_index("family_key")["own"]
    )
    attached = values.loc["attached", "eligible_when_attached"]
    assert (attached == eligible.reindex(attached.index)).all()
    assert (attached == 0).any() and (attached == 1).any()
    assert (values.loc["unreferred", "eligible_when_attached"] == 1).all()


def test_the_probabilities_are_calibrated_on_the_later_cohort(sql):
    test = sql.execute(
        "select label, probability from ranking_evaluation where cohort = 'test'"
    ).df()
    bins = np.minimum((test["probability"] * 10).astype(int), 9)
    per_bin = test.groupby(bins).agg(n=("label", "size"), observed=("label", "mean"),
                                     predicted=("probability", "mean"))  # fmt: skip
    ece = float((per_bin["n"] * (per_bin["observed"] - per_bin["predicted"]).abs()).sum()
                / len(test))  # fmt: skip
    assert ece == pytest.approx(_metric(sql, "model", "calibration_error")[0])
    assert ece <= 0.05


def test_every_familys_reasons_add_up_to_the_logit_of_its_probability(sql):
    sums = sql.execute(
        """
        select score.list, score.family_key, any_value(score.probability) as probability,
               any_value(score.logit) as logit,
               any_value(score.baseline_logit) + sum(reason.contribution) as added_up,
               count(*) as reasons
        from ranking_score as score
        inner join ranking_reason as reason using (list, family_key)
        group by score.list, score.family_key
        """
    ).df()
    features = sql.execute("select count(*) from ranking_coefficient").fetchone()[0]
    assert len(sums) == sql.execute("select count(*) from ranking_score").fetchone()[0] > 0
    assert (sums["reasons"] == features).all()
    np.testing.assert_allclose(sums["added_up"], sums["logit"], atol=1e-9)
    p = sums["probability"]
    np.testing.assert_allclose(np.log(p / (1 - p)), sums["logit"], atol=1e-6)


def test_both_lists_are_scored_and_every_row_carries_the_current_version(sql, version):
    lists = dict(sql.execute("select list, count(*) from ranking_score group by list").fetchall())
    as_at = sql.execute("select as_at_date from int_as_at_date").fetchone()[0]
    not_yet = sql.execute(
        "select count(*) from int_plan_attachment where attached_date <= ? and family_key not in"
        " (select family_key from mart_claim where claim_type = 'results')",
        [as_at],
    ).fetchone()[0]
    assert lists["attached"] == not_yet
    assert lists.get("unreferred", 0) > 0
    for table in RANKING_TABLES:
        versions = sql.execute(f"select distinct model_version from {table}").fetchall()
        assert versions == [(version["model_version"],)], table


def test_the_same_seed_gives_the_same_model(tmp_path: Path, sql, version):
    copy = copy_of_district(tmp_path)
    con = duckdb.connect(str(copy))
    try:
        run = train_ranking(con)  # the build's seed again, on the same data
        again = con.execute(
            "select feature, coefficient from ranking_coefficient order by feature_order"
        ).df()
        scores = con.execute(
            "select list, family_key, probability from ranking_score order by list, family_key"
        ).df()
    finally:
        con.close()
    assert run.model_version == version["model_version"]
    built = sql.execute(
        "select feature, coefficient from ranking_coefficient order by feature_order"
    ).df()
    pd.testing.assert_frame_equal(again, built)
    pd.testing.assert_frame_equal(
        scores,
        sql.execute(
            "select list, family_key, probability from ranking_score order by list, family_key"
        ).df(),
    )
