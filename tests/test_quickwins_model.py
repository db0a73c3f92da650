"""The quick-wins ranking's parts on hand-made data and on the session's small model: the stored
numbers score as scikit-learn does, reasons add up to the logit, the bootstrap's figures are
scikit-learn's, the cohorts' dates, no protected characteristic among the features (and none
changes a feature), the switch, and a district too small to learn from."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.metrics import average_precision_score, roc_auc_score

from data_model.quickwins import config
from data_model.quickwins.cohorts import Cohorts, label_words
from data_model.quickwins.features import (
    BASE_FEATURES,
    PROTECTED_WORDS,
    ClaimShape,
    claim_shape,
    claim_shape_features,
    family_features,
    plan_features,
    referral_features,
)
from data_model.quickwins.metrics import Estimate, evaluate, expected_calibration_error
from data_model.quickwins.model import fit_logistic, score
from data_model.quickwins.reasons import reason_text
from data_model.quickwins.train import adoption, train_ranking
from data_model.read import open_model
from data_model.read import quickwins_rank as read


def _hand_made(n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[rng.random((n, 5)) < 0.1] = np.nan  # values that do not apply
    x[:, 4] = 0.0  # a feature that never varies
    truth = 0.8 * np.nan_to_num(x[:, 0]) - 0.5 * np.nan_to_num(x[:, 1]) - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-truth))).astype(int)
    return x, y


def test_the_stored_numbers_score_as_scikit_learn_does():
    x, y = _hand_made()
    parameters, pipeline, calibrated = fit_logistic(
        x[:400], y[:400], x[400:], y[400:], [f"f{i}" for i in range(5)], 1.0
    )
    scored = score(parameters, x)
    # the calibrated probability, from the stored numbers alone
    np.testing.assert_allclose(scored.probability, calibrated.predict_proba(x)[:, 1], rtol=1e-12)
    # coefficient × standardised value adds up to the logistic regression's logit
    z = (np.where(np.isnan(x), parameters.imputed_mean, x) - parameters.scaler_mean) / (
        parameters.scaler_scale
    )
    np.testing.assert_allclose(
        parameters.intercept + (parameters.coefficients * z).sum(axis=1),
        pipeline.decision_function(x),
        rtol=1e-12,
    )
    # and each family's reasons (with the baseline) add up to the logit of its probability
    np.testing.assert_allclose(
        scored.baseline + scored.contributions.sum(axis=1), logit(scored.probability), atol=1e-9
    )
    # a value that does not apply adds nothing
    assert np.all(scored.contributions[np.isnan(x)] == 0)


def test_bootstrap_figures_agree_with_scikit_learn_and_the_cohort():
    rng = np.random.default_rng(5)
    n = 250
    y = (rng.random(n) < 0.3).astype(int)
    score_ = np.round(rng.random(n) + 0.3 * y, 1)  # ties on purpose
    probability = np.clip(0.1 + 0.5 * score_ / score_.max(), 0, 1)
    tiebreak = rng.permutation(n)
    k = 40
    result = evaluate(y, {"model": (score_, probability), "rule": (-score_, None)}, k, tiebreak,
                      200, seed=9)  # fmt: skip
    model = result["model"]
    top = np.lexsort((tiebreak, -score_))[:k]
    assert model["precision_at_k"].value == pytest.approx(y[top].mean())
    assert model["recall_at_k"].value == pytest.approx(y[top].sum() / y.sum())
    assert model["expected_outcomes_in_top_k"].value == pytest.approx(probability[top].sum())
    assert model["roc_auc"].value == pytest.approx(roc_auc_score(y, score_))
    assert model["average_precision"].value == pytest.approx(average_precision_score(y, score_))
    assert model["calibration_error"].value == pytest.approx(
        expected_calibration_error(y, probability, 10)
    )
    assert result["difference: model − rule"]["precision_at_k"].value == pytest.approx(
        y[top].mean() - y[np.lexsort((tiebreak, score_))[:k]].mean()
    )
    for estimate in model.values():
        assert estimate.lower <= estimate.value + 1e-9 and estimate.value - 1e-9 <= estimate.upper
    again = evaluate(y, {"model": (score_, probability), "rule": (-score_, None)}, k, tiebreak,
                     200, seed=9)  # fmt: skip
    assert again == result


def test_the_bootstraps_weighted_auc_and_average_precision_are_scikit_learns():
    from data_model.quickwins.metrics import _ranking_figures, top_k_order

    rng = np.random.default_rng(11)
    n = 300
    y = (rng.random(n) < 0.25).astype(float)
    s = np.round(rng.random(n), 1) + 0.2 * y
    weights = rng.multinomial(n, np.full(n, 1 / n), size=5).astype(float)
    figures = _ranking_figures(weights, y, s, top_k_order(s, np.arange(n)), 30)
    for row, w in enumerate(weights):
        assert figures["roc_auc"][row] == pytest.approx(roc_auc_score(y, s, sample_weight=w))
        assert figures["average_precision"][row] == pytest.approx(
            average_precision_score(y, s, sample_weight=w)
        )


def test_cohorts_are_explicit_dates_with_a_gap_of_one_horizon():
    cohorts = Cohorts.for_as_at(date(2020, 3, 31), 12, 12, 6)
    assert cohorts.test_to == date(2019, 3, 31)  # follow-up complete: the as-at date less 12
    assert cohorts.test_from == date(2018, 4, 1)
    assert cohorts.calibration_to == date(2017, 3, 31)  # its labels known by 31 Mar 2018
    assert cohorts.calibration_from == date(2016, 10, 1)
    assert cohorts.fit_to == date(2016, 9, 30)
    assert cohorts.cohort_of(date(2017, 12, 1)) is None  # in the gap
    assert cohorts.cohort_of(date(2019, 4, 1)) is None  # follow-up not complete
    assert [cohorts.cohort_of(d) for d in (date(2015, 1, 1), date(2017, 1, 1), date(2018, 6, 1))
            ] == ["fit", "calibration", "test"]  # fmt: skip


def test_the_label_follows_the_plans_payments():
    assert label_words(True, 12) == "a results claim within 12 months of attachment"
    assert "sustained outcome" in label_words(False, 12)


def _features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    attached = con.execute(
        "select family_key, attached_date as feature_date, episode_id from int_plan_attachment"
    ).df()
    as_at = con.execute("select as_at_date from int_as_at_date").fetchone()[0]
    today = con.execute(
        "select family_key, ?::date as feature_date, null as episode_id from mart_family", [as_at]
    ).df()
    frame, rule = family_features(con, pd.concat([attached, today], ignore_index=True))
    return frame.assign(rule=rule)


def test_no_protected_characteristic_is_a_feature(synthetic_model: Path, tmp_path: Path):
    copy = tmp_path / "model.duckdb"
    shutil.copyfile(synthetic_model, copy)
    con = duckdb.connect(str(copy))
    try:
        names = [f.name + " " + f.label for f in [*BASE_FEATURES, *plan_features(con)]]
        names += [f.name for f in referral_features(["School", "Police"])]
        for name in names:
            assert not any(word in name.lower() for word in PROTECTED_WORDS), name
        before = _features(con)
        assert len(before) > 100
        # every sex and ethnicity changed: no feature may move
        con.execute("update mart_person set sex = case when sex = 'F' then 'M' else 'F' end")
        for table in ("stg_ehm_people", "stg_school_census"):
            columns = {row[0] for row in con.execute(f"describe {table}").fetchall()}
            if "ethnicity" in columns:
                con.execute(f"update {table} set ethnicity = 'OOTH'")
        after = _features(con)
    finally:
        con.close()
    pd.testing.assert_frame_equal(before, after)


def test_the_claim_shape_follows_the_plans_routes(synthetic_model: Path):
    con = open_model(synthetic_model)
    try:
        shipped = claim_shape(con)  # Bradford's: progress on every problem, or employment
    finally:
        con.close()
    assert shipped.eligibility_at_least == 2
    assert shipped.route_problems == ("worklessness",)
    assert "worklessness" not in [problem for problem, _ in shipped.other_problems]
    both_routes = ClaimShape(2, ("worklessness",), (("crime", "Crime"), ("school", "School")))
    features = claim_shape_features(both_routes)
    assert [f.name for f in features] == [
        "eligible_when_attached", "progress_only__crime", "progress_only__school"
    ]  # fmt: skip
    assert [f.subject for f in features] == ["", "crime", "school"]
    # a plan whose one route is progress on every problem (Supporting Families 2022): no route
    # of its own to open, so only eligibility
    progress_only = ClaimShape(3, (), (("crime", "Crime"),))
    assert [f.name for f in claim_shape_features(progress_only)] == ["eligible_when_attached"]
    assert reason_text(features[1], 1.0, False) == (
        "Crime: a problem, and only progress on every problem can make a claim"
    )
    assert reason_text(features[1], 0.0, False) == (
        "Crime: not a problem, or another route to a claim is open"
    )
    assert reason_text(features[0], 0.0, False) == (
        "did not meet the plan's eligibility when attached (at least 2 of its problems)"
    )
    assert reason_text(features[0], 1.0, False) == (
        "met the plan's eligibility when attached (at least 2 of its problems)"
    )
    assert reason_text(features[0], 1.0, False, never_attached=True) == (
        "meets the plan's eligibility today (at least 2 of its problems)"
    )


def test_a_district_too_small_trains_nothing_and_says_why(synthetic_model: Path):
    con = open_model(synthetic_model)
    try:
        state = read.ranking_state(con)
        assert state["status"] == "not trained"
        assert "too few attached families" in state["status_reason"]
        assert not read.is_ranked(con)
        assert read.why_not_ranked(con) == f"No model was trained: {state['status_reason']}."
        assert read.ranked_families(con, "attached").empty
        card = read.model_document(con, "model card", "markdown")
        assert "No model is in use (not trained)" in card["text"]
        record = read.model_document(con, "transparency record", "html")
        assert "not measured: no model was trained" in record["text"]
    finally:
        con.close()


def test_the_switch_turns_the_ranking_off(synthetic_model: Path, tmp_path: Path, monkeypatch):
    copy = tmp_path / "model.duckdb"
    shutil.copyfile(synthetic_model, copy)
    settings = config.quickwins_settings()
    switched = {**settings, "ranking": {**settings["ranking"], "enabled": False}}
    monkeypatch.setattr("data_model.quickwins.train.quickwins_settings", lambda: switched)
    con = duckdb.connect(str(copy))
    try:
        run = train_ranking(con)
        assert run.status == "off"
        assert con.execute("select count(*) from ranking_score").fetchone()[0] == 0
        current = con.execute("select status, status_reason from model_version where is_current")
        assert current.fetchall() == [("off", "the ranking is switched off in "
                                       "data_model/quickwins.yaml")]  # fmt: skip
    finally:
        con.close()


def test_a_calibration_that_would_rank_backwards_leaves_the_ranking_untrained(
    synthetic_model: Path, tmp_path: Path, monkeypatch
):
    from data_model.quickwins.model import RankingParameters

    copy = tmp_path / "model.duckdb"
    shutil.copyfile(synthetic_model, copy)
    settings = config.quickwins_settings()
    few = {**settings, "ranking": {**settings["ranking"], "minimum_families": 0,
                                   "minimum_outcomes": 0}}  # fmt: skip
    monkeypatch.setattr("data_model.quickwins.train.quickwins_settings", lambda: few)

    def backwards(x_fit, y_fit, x_cal, y_cal, names, c):
        m = len(names)
        zeros, ones = np.zeros(m), np.ones(m)
        # p = expit(−(a·f + b)) with a > 0: the higher the model's logit, the lower the chance
        return RankingParameters(list(names), zeros, zeros, ones, ones, 0.0, 0.4, 0.0), None, None

    monkeypatch.setattr("data_model.quickwins.train.fit_logistic", backwards)
    con = duckdb.connect(str(copy))
    try:
        run = train_ranking(con)
        assert run.status == "not trained"
        assert "calibration's slope was -0.400" in run.status_reason
        assert con.execute("select count(*) from ranking_score").fetchone()[0] == 0
    finally:
        con.close()


def _later_cohort(lower: float, calibration_error: float) -> dict:
    """Hand-made later-cohort figures: the model 0.50 in the top k, the rule 0.40."""
    return {
        "model": {"precision_at_k": Estimate(0.5, 0.4, 0.6),
                  "calibration_error": Estimate(calibration_error, 0.0, 0.1)},
        "rule": {"precision_at_k": Estimate(0.4, 0.3, 0.5)},
        "difference: model − rule": {"precision_at_k": Estimate(0.1, lower, 0.2)},
    }  # fmt: skip


SHIPPED = {"require_beating_rule": True, "max_calibration_error": 0.05}


def test_the_lists_use_the_model_only_when_it_beats_the_rule_and_is_calibrated() -> None:
    adopted, why = adoption(_later_cohort(0.01, 0.03), SHIPPED)
    assert adopted and why.startswith("it beat the simple rule")
    # an interval that reaches nought is no evidence of beating the rule
    adopted, why = adoption(_later_cohort(0.0, 0.03), SHIPPED)
    assert not adopted and "did not beat the simple rule" in why and "calibrated" not in why
    assert "50.0% against the rule's 40.0%" in why and "+10.0 points" in why
    adopted, why = adoption(_later_cohort(0.01, 0.06), SHIPPED)
    assert not adopted and "expected calibration error 0.060, the limit 0.050" in why
    assert "(" not in why  # no brackets inside the page's own brackets
    adopted, why = adoption(_later_cohort(-0.05, 0.06), SHIPPED)
    assert not adopted and "did not beat" in why and "not calibrated" in why
    # a council may choose to use a calibrated model that only matches the rule
    relaxed = {**SHIPPED, "require_beating_rule": False}
    assert adoption(_later_cohort(-0.05, 0.03), relaxed)[0]
