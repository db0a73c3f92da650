"""Train, test, check and store the quick-wins ranking inside a built model (the build's
"ranking" stage, and `python -m data_model train`).

One run: the cohorts (cohorts.py), the features (features.py), a calibrated logistic
regression and the gradient-boosting challenger (model.py), their metrics on the later cohort
against the rule "smallest total distance to threshold first" (metrics.py), the scores of the
two lists with every family's reasons, the fairness check (fairness.py), the model card and
transparency record (card.py); written as tables (store.py), each row stamped with the model
version. The same data and seed give the same model, version and figures.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache

import duckdb
import fairlearn
import numpy as np
import pandas as pd
import sklearn
from threadpoolctl import threadpool_limits

from data_model.quickwins import card, store
from data_model.quickwins.cohorts import (
    Cohorts,
    attached_outcomes,
    label_words,
    labelled_families,
    plan_pays_results,
    scoring_population,
)
from data_model.quickwins.config import quickwins_settings
from data_model.quickwins.fairness import audit_groups, fairness_table
from data_model.quickwins.features import (
    BASE_FEATURES,
    Feature,
    family_features,
    feature_matrix,
    plan_features,
    referral_features,
)
from data_model.quickwins.metrics import calibration_table, evaluate, top_k_order
from data_model.quickwins.model import fit_challenger, fit_logistic, score
from data_model.quickwins.reasons import reason_text

ESTIMATOR = "logistic regression (scikit-learn), sigmoid-calibrated"


@dataclass
class RankingRun:
    """What one run made: the tables to store, keyed by table name, and the version."""

    model_version: str
    status: str  # trained, not trained, off
    status_reason: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the labelled families' keys, cohorts, labels and features, written out
    canonically (sorted, fixed number format)."""
    buffer = io.StringIO()
    frame.sort_values(list(frame.columns[:2])).to_csv(
        buffer, index=False, float_format="%.10g", lineterminator="\n"
    )
    return hashlib.sha256(buffer.getvalue().encode("utf-8")).hexdigest()


def _version_id(as_at, data_hash: str, seed: int, settings: dict) -> str:
    basis = json.dumps(
        {"data": data_hash, "seed": seed, "settings": settings, "sklearn": sklearn.__version__},
        sort_keys=True,
        default=str,
    )
    return f"ranking-{as_at:%Y%m%d}-{hashlib.sha256(basis.encode()).hexdigest()[:10]}"


def _estimates_frame(version: str, metrics: dict) -> pd.DataFrame:
    rows = [
        {
            "model_version": version,
            "ranker": ranker,
            "metric": metric,
            "value": estimate.value,
            "lower": estimate.lower,
            "upper": estimate.upper,
        }
        for ranker, row in metrics.items()
        for metric, estimate in row.items()
    ]
    return pd.DataFrame(rows)


def train_ranking(
    con: duckdb.DuckDBPyConnection, seed: int | None = None, is_synthetic: bool | None = None
) -> RankingRun:
    """Train and store the ranking in the model open on `con` (read-write); returns the run.

    Nothing is trained when the settings switch the ranking off, or when too few families have
    complete follow-up (the model_version row and the model card say why); the lists then stay
    unranked. `is_synthetic`: whether the extracts were the generator's (the model card says
    so); by default as mart_model_info says (the build, which writes it, passes it instead).
    """
    # One thread: the data are small, and OpenMP's threads on a busy two-core machine made the
    # challenger's fit 25 times slower (6 s against 0.2 s at 10,000 households).
    with threadpool_limits(limits=1):
        return _train(con, seed, is_synthetic)


def _train(
    con: duckdb.DuckDBPyConnection, seed: int | None, is_synthetic: bool | None = None
) -> RankingRun:
    settings = quickwins_settings()
    ranking = settings["ranking"]
    seed = int(ranking["seed"] if seed is None else seed)
    timer = _Timer()
    as_at = con.execute("select as_at_date from int_as_at_date").fetchone()[0]
    pays = plan_pays_results(con)
    plan_id = con.execute("select plan_id from cfg_plan").fetchone()[0]
    horizon = int(ranking["horizon_months"])
    if as_at is None:  # no case management extract: nothing is attached, nothing to learn
        as_at = date.today()
        no_date = "the model has no as-at date (no early help case management extract)"
    else:
        no_date = ""
    cohorts = Cohorts.for_as_at(
        as_at, horizon, int(ranking["test_cohort_months"]), int(ranking["calibration_months"])
    )
    version_row = {
        "trained_at": datetime.now(UTC).replace(tzinfo=None),
        "seed": seed,
        "plan_id": plan_id,
        "pays_results": pays,
        "label": label_words(pays, horizon),
        "horizon_months": horizon,
        "as_at_date": as_at,
        "fit_to": cohorts.fit_to,
        "calibration_from": cohorts.calibration_from,
        "calibration_to": cohorts.calibration_to,
        "test_from": cohorts.test_from,
        "test_to": cohorts.test_to,
        "team_capacity": int(ranking["team_capacity"]),
        "estimator": ESTIMATOR,
        "scikit_learn_version": sklearn.__version__,
        "fairlearn_version": fairlearn.__version__,
        "settings_json": json.dumps(settings, sort_keys=True, default=str),
        "is_synthetic": _is_synthetic(con) if is_synthetic is None else is_synthetic,
    }
    if no_date:
        for field_name in ("as_at_date", "fit_to", "calibration_from", "calibration_to",
                           "test_from", "test_to"):  # fmt: skip
            version_row[field_name] = None
        run = RankingRun(
            _version_id(as_at, "no as-at date", seed, settings), "not trained", no_date
        )
        return _finish(con, run, version_row, timer)
    if not ranking.get("enabled", True):
        run = RankingRun(_version_id(as_at, "off", seed, settings), "off",
                         "the ranking is switched off in data_model/quickwins.yaml")  # fmt: skip
        return _finish(con, run, version_row, timer)

    outcomes = attached_outcomes(con, as_at, pays)
    labelled = labelled_families(outcomes, cohorts)
    scoring = scoring_population(con, outcomes, as_at)
    population = pd.concat(
        [labelled[["family_key", "feature_date", "episode_id"]],
         scoring[["family_key", "feature_date", "episode_id"]]],
        ignore_index=True,
    ).drop_duplicates(["family_key", "feature_date"])  # fmt: skip
    wide, rule_score = family_features(con, population)
    wide["total_distance"] = rule_score
    timer.lap("features")

    keys = ["family_key", "feature_date"]
    labelled = labelled.merge(wide, on=keys, how="left", suffixes=("", "_feature"))
    scoring = scoring.merge(wide, on=keys, how="left", suffixes=("", "_feature"))
    sources = sorted(labelled.loc[labelled["cohort"] == "fit", "referral_source"].dropna().unique())
    features: list[Feature] = [*BASE_FEATURES, *plan_features(con), *referral_features(sources)]
    names = [f.name for f in features]
    matrix = feature_matrix(labelled, features)
    cohort = labelled["cohort"].to_numpy()
    y = labelled["label"].to_numpy(dtype=int)
    hashed = pd.concat(
        [labelled[["family_key", "cohort", "label"]].reset_index(drop=True),
         pd.DataFrame(matrix, columns=names)],
        axis=1,
    )  # fmt: skip
    data_hash = _data_hash(hashed)
    version = _version_id(as_at, data_hash, seed, settings)
    parts = {name: cohort == name for name in ("fit", "calibration", "test")}
    counts = {name: (int(mask.sum()), int(y[mask].sum())) for name, mask in parts.items()}
    fit_dates = labelled.loc[parts["fit"], "attached_date"]
    version_row.update(
        {
            "fit_from": fit_dates.min() if len(fit_dates) else None,
            "data_hash": data_hash,
            **{f"{name}_families": n for name, (n, _) in counts.items()},
            **{f"{name}_outcomes": p for name, (_, p) in counts.items()},
        }
    )
    too_few = [
        f"{name}: {n} families, {p} with the outcome"
        for name, (n, p) in counts.items()
        if (name != "calibration" and n < int(ranking["minimum_families"]))
        or p < int(ranking["minimum_outcomes"])
        or n - p < int(ranking["minimum_outcomes"])
    ]
    if too_few:
        reason = (
            "too few attached families with complete follow-up to learn from or test on ("
            + "; ".join(too_few)
            + f"; the fit and later cohorts need at least {ranking['minimum_families']} families,"
            f" and each cohort {ranking['minimum_outcomes']} with the outcome and as many without)"
        )
        run = RankingRun(version, "not trained", reason)
        return _finish(con, run, version_row, timer)

    fit, cal, test = parts["fit"], parts["calibration"], parts["test"]
    parameters, pipeline, calibrated = fit_logistic(
        matrix[fit], y[fit], matrix[cal], y[cal], names, float(ranking["regularisation_c"])
    )
    timer.lap("fit")
    if parameters.calibration_a >= 0:
        # p = expit(−(a·f + b)): a slope of nought or more would rank families backwards
        reason = (
            "on the calibration cohort the model's order did not hold (the sigmoid "
            f"calibration's slope was {-parameters.calibration_a:.3f}, not above nought), so "
            "its probabilities would rank families no better than chance or backwards"
        )
        return _finish(con, RankingRun(version, "not trained", reason), version_row, timer)

    # The later cohort: the model, the rule and the challenger, on the same resamples.
    test_frame = labelled[test].reset_index(drop=True)
    test_scores = score(parameters, matrix[test])
    tiebreak = np.random.default_rng(seed).permutation(len(test_frame))
    rankers = {
        "model": (test_scores.probability, test_scores.probability),
        "rule": (-test_frame["total_distance"].to_numpy(), None),
    }
    challenger_settings = settings["challenger"]
    if challenger_settings.get("enabled", True):
        challenger = fit_challenger(
            matrix[fit], y[fit], matrix[cal], y[cal], challenger_settings, seed
        )
        challenger_probability = challenger.predict_proba(matrix[test])[:, 1]
        rankers["challenger"] = (challenger_probability, challenger_probability)
    k = int(ranking["team_capacity"])
    bins = int(ranking["calibration_bins"])
    metrics = evaluate(
        y[test], rankers, k, tiebreak, int(ranking["bootstrap_resamples"]), seed, bins
    )
    timer.lap("evaluate")
    verdict = _challenger_verdict(metrics, float(challenger_settings["precision_margin"]))
    adopted, adoption_reason = adoption(metrics, ranking.get("adoption") or {})
    calibration_rows = [
        {"model_version": version, "ranker": name, **row}
        for name, (_, prob) in rankers.items()
        if prob is not None
        for row in calibration_table(y[test], prob, bins)
    ]

    # Today's lists, scored from the stored numbers.
    scoring_matrix = feature_matrix(scoring, features)
    scored = score(parameters, scoring_matrix)
    scores_frame, reasons_frame = _scored_lists(
        version, scoring, scoring_matrix, scored, features, k, seed
    )
    timer.lap("score")

    # Fairness: the later cohort (top k of the model), and selection in today's lists.
    test_selected = np.zeros(len(test_frame), dtype=int)
    test_selected[top_k_order(test_scores.probability, tiebreak)[:k]] = 1
    groups = audit_groups(con, pd.concat([test_frame[keys], scoring[keys]], ignore_index=True))
    group_of = groups.drop_duplicates(keys).set_index(keys)
    test_groups = group_of.loc[list(zip(test_frame["family_key"], test_frame["feature_date"],
                                        strict=True))].reset_index()  # fmt: skip
    fairness = [
        fairness_table(
            test_groups,
            test_selected,
            settings["fairness"],
            y[test],
            test_scores.probability,
            "later cohort",
        )  # fmt: skip
    ]
    for list_name, words in (("attached", "attached families today"),
                             ("unreferred", "unreferred eligible families today")):  # fmt: skip
        in_list = scores_frame[scores_frame["list"] == list_name]
        if len(in_list):
            list_groups = group_of.loc[
                list(zip(in_list["family_key"], in_list["feature_date"], strict=True))
            ].reset_index()
            fairness.append(
                fairness_table(
                    list_groups,
                    in_list["in_top_k"].to_numpy(dtype=int),
                    settings["fairness"],
                    population=words,
                )  # fmt: skip
            )
    fairness_frame = pd.concat(fairness, ignore_index=True)
    fairness_frame.insert(0, "model_version", version)

    # Every labelled family, as the model saw it: for the tests' own checks and for audit.
    evaluation = labelled[["family_key", "cohort", "attached_date", "outcome_date", "label",
                           "total_distance"]].copy()  # fmt: skip
    evaluation.insert(0, "model_version", version)
    evaluation["probability"] = score(parameters, matrix).probability
    evaluation["in_top_k"] = None
    evaluation["rule_in_top_k"] = None
    rule_selected = np.zeros(len(test_frame), dtype=bool)
    rule_selected[top_k_order(-test_frame["total_distance"].to_numpy(), tiebreak)[:k]] = True
    evaluation.loc[test, "in_top_k"] = test_selected.astype(bool)
    evaluation.loc[test, "rule_in_top_k"] = rule_selected
    timer.lap("fairness")

    coefficients = pd.DataFrame(
        {
            "model_version": version,
            "feature_order": range(1, len(features) + 1),
            "feature": names,
            "feature_label": [f.label for f in features],
            "unit": [f.unit for f in features],
            "kind": [f.kind for f in features],
            "imputed_mean": parameters.imputed_mean,
            "scaler_mean": parameters.scaler_mean,
            "scaler_scale": parameters.scaler_scale,
            "coefficient": parameters.coefficients,
        }
    )
    version_row.update(
        {
            "challenger_verdict": verdict,
            "is_adopted": adopted,
            "adoption_reason": adoption_reason,
            "intercept": parameters.intercept,
            "calibration_a": parameters.calibration_a,
            "calibration_b": parameters.calibration_b,
            "baseline_logit": test_scores.baseline,
        }
    )
    run = RankingRun(version, "trained", "")
    run.tables = {
        "ranking_coefficient": coefficients,
        "ranking_metric": _estimates_frame(version, metrics),
        "ranking_calibration": pd.DataFrame(calibration_rows),
        "ranking_score": scores_frame,
        "ranking_reason": reasons_frame,
        "ranking_fairness": fairness_frame,
        "ranking_evaluation": evaluation,
    }
    return _finish(con, run, version_row, timer)


def _is_synthetic(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the model was built from the synthetic generator's extracts (mart_model_info)."""
    try:
        row = con.execute("select is_synthetic from mart_model_info").fetchone()
    except duckdb.CatalogException:  # a model from before mart_model_info
        return False
    return bool(row and row[0])


def adoption(metrics: dict, rules: dict) -> tuple[bool, str]:
    """Whether the lists are put in the model's order (quickwins.yaml ranking.adoption), and why
    in words: the model must beat the rule in the top k on the later cohort (the lower bound of
    the difference's 95% interval above nought) and be calibrated there."""
    difference = metrics["difference: model − rule"]["precision_at_k"]
    model, rule = metrics["model"]["precision_at_k"], metrics["rule"]["precision_at_k"]
    error = metrics["model"]["calibration_error"].value
    most = float(rules.get("max_calibration_error", 1.0))
    # said without brackets inside brackets: the figures follow a colon
    compared = (
        f"precision in the top k {model.value:.1%} against the rule's {rule.value:.1%}, a "
        f"difference of {100 * difference.value:+.1f} points, 95% interval "
        f"{100 * difference.lower:+.1f} to {100 * difference.upper:+.1f}"
    )
    calibration = f"expected calibration error {error:.3f}, the limit {most:.3f}"
    failed = []
    if rules.get("require_beating_rule", True) and not difference.lower > 0:
        failed.append(f"it did not beat the simple rule on the later cohort: {compared}")
    if not error <= most:
        failed.append(f"its probabilities were not calibrated on the later cohort: {calibration}")
    if failed:
        return False, "; and ".join(failed)
    return True, (
        f"it beat the simple rule on the later cohort: {compared}; and it was calibrated: "
        f"{calibration}"
    )


def _challenger_verdict(metrics: dict, margin: float) -> str:
    if "challenger" not in metrics:
        return "no challenger trained (switched off in data_model/quickwins.yaml)"
    challenger = metrics["challenger"]["precision_at_k"].value
    model = metrics["model"]["precision_at_k"].value
    rule = metrics["rule"]["precision_at_k"].value
    best = max(model, rule)
    if challenger >= best + margin:
        return (
            f"the gradient-boosting challenger's precision in the top k ({challenger:.1%}) beat "
            f"the logistic regression's ({model:.1%}) and the rule's ({rule:.1%}) by the margin "
            f"of {margin:.0%}: a person must decide to adopt it, and it would first need storing "
            "with skops (trusted types, SHA-256) and per-family reasons of its own; the logistic "
            "regression stays in use"
        )
    return (
        f"not adopted: the challenger's precision in the top k ({challenger:.1%}) did not beat "
        f"the logistic regression's ({model:.1%}) and the rule's ({rule:.1%}) by {margin:.0%}"
    )


def _scored_lists(
    version: str,
    scoring: pd.DataFrame,
    matrix: np.ndarray,
    scored,
    features: list[Feature],
    k: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two lists with probability, rank (model and rule) and top-k flags; and every family's
    every feature: value, contribution to the logit, rank among its reasons, words."""
    frame = scoring[
        ["list", "family_key", "feature_date", "total_distance", "cluster", "ward_code",
         "ward_name", "area_committee", "attached_date", "closure_date"]
    ].copy()  # fmt: skip
    frame.insert(0, "model_version", version)
    frame["probability"] = scored.probability
    frame["logit"] = scored.logit
    frame["baseline_logit"] = scored.baseline
    frame["rank"] = 0
    frame["rule_rank"] = 0
    tiebreak = np.random.default_rng(seed + 1).permutation(len(frame))
    for list_name in frame["list"].unique():
        rows = np.flatnonzero(frame["list"].to_numpy() == list_name)
        order = top_k_order(scored.probability[rows], tiebreak[rows])
        frame.loc[frame.index[rows[order]], "rank"] = np.arange(1, len(rows) + 1)
        rule_order = top_k_order(-frame["total_distance"].to_numpy()[rows], tiebreak[rows])
        frame.loc[frame.index[rows[rule_order]], "rule_rank"] = np.arange(1, len(rows) + 1)
    frame["in_top_k"] = frame["rank"] <= k
    frame["rule_in_top_k"] = frame["rule_rank"] <= k
    missing = np.isnan(matrix)
    n, m = matrix.shape
    # the same few values recur (flags, counts, ages): each worded once (300,000 reasons at
    # 70,000 households)
    words = lru_cache(maxsize=None)(reason_text)
    matrix = np.where(missing, 0.0, matrix)  # a missing value is worded "not applicable" anyway
    order_in_family = np.argsort(-np.abs(scored.contributions), axis=1, kind="stable")
    reason_rank = np.empty((n, m), dtype=int)
    np.put_along_axis(reason_rank, order_in_family, np.arange(1, m + 1)[None, :].repeat(n, 0), 1)
    reasons = pd.DataFrame(
        {
            "model_version": version,
            "list": np.repeat(frame["list"].to_numpy(), m),
            "family_key": np.repeat(frame["family_key"].to_numpy(), m),
            "feature": np.tile([f.name for f in features], n),
            "value": np.where(missing, np.nan, matrix).ravel(),
            "contribution": scored.contributions.ravel(),
            "reason_rank": reason_rank.ravel(),
            "subject": np.tile([f.subject or f.name for f in features], n),
            "reason": [
                words(feature, float(matrix[i, j]), bool(missing[i, j]), never_attached)
                for i, never_attached in enumerate(frame["list"].to_numpy() == "unreferred")
                for j, feature in enumerate(features)
            ],
        }
    )
    # The top three reasons shown beside a family: the largest parts of its score, one per
    # subject (a problem's flag, records and distance would otherwise say the same thing thrice).
    first_of_subject = reasons["reason_rank"] == reasons.groupby(["list", "family_key", "subject"])[
        "reason_rank"
    ].transform("min")
    shown = (
        reasons[first_of_subject]
        .groupby(["list", "family_key"])["reason_rank"]
        .rank(method="first")
    )
    reasons["top_reason_rank"] = shown[shown <= 3].astype("Int64").reindex(reasons.index)
    return frame.sort_values(["list", "rank"]).reset_index(drop=True), reasons


class _Timer:
    def __init__(self) -> None:
        import time

        self._clock = time.perf_counter
        self._last = self._clock()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self._clock()
        self.seconds[name] = now - self._last
        self._last = now


def _finish(
    con: duckdb.DuckDBPyConnection, run: RankingRun, version_row: dict, timer: _Timer
) -> RankingRun:
    """The model_version row, the documents, and every table written."""
    version_row = {"model_version": run.model_version, "status": run.status,
                   "status_reason": run.status_reason, **version_row}  # fmt: skip
    metrics = run.tables.get("ranking_metric")
    version_row["metrics_json"] = json.dumps(
        {}
        if metrics is None
        else {f"{r.ranker}: {r.metric}": [r.value, r.lower, r.upper] for r in metrics.itertuples()},
        sort_keys=True,
    )
    run.tables["model_version"] = pd.DataFrame([version_row])
    run.tables["ranking_document"] = card.documents(run.tables, quickwins_settings())
    timer.lap("documents")
    store.write_tables(con, run.tables)
    timer.lap("store")
    run.seconds = dict(timer.seconds)
    return run
