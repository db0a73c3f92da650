"""How well a ranking does on the later cohort: precision, recall and claims in the top k (the
team's capacity), ROC AUC, average precision, Brier score and calibration, with bootstrap 95%
intervals. scikit-learn has no precision-at-k, so it is the few lines below."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_k_order(scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Indices from the highest score down; equal scores in `tiebreak` order (lowest first)."""
    return np.lexsort((tiebreak, -np.asarray(scores, dtype=float)))


def expected_calibration_error(
    y: np.ndarray, p: np.ndarray, bins: int = 10, weight: np.ndarray | None = None
) -> float:
    """Mean |observed rate − mean probability| over equal-width probability bins, weighted by the
    families in each bin."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    w = np.ones(len(p)) if weight is None else np.asarray(weight, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    in_bin = np.bincount(which, weights=w, minlength=bins)
    observed = np.bincount(which, weights=w * y, minlength=bins)
    predicted = np.bincount(which, weights=w * p, minlength=bins)
    used = in_bin > 0
    return float(np.abs(observed[used] - predicted[used]).sum() / w.sum())


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """The calibration curve: per equal-width bin, families, mean probability, observed rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        in_bin = which == b
        rows.append(
            {
                "bin": b + 1,
                "bin_from": b / bins,
                "bin_to": (b + 1) / bins,
                "families": int(in_bin.sum()),
                "mean_probability": float(p[in_bin].mean()) if in_bin.any() else None,
                "observed_rate": float(y[in_bin].mean()) if in_bin.any() else None,
            }
        )
    return rows


@dataclass(frozen=True)
class Estimate:
    """A figure on the later cohort with its bootstrap 95% interval."""

    value: float
    lower: float
    upper: float


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def _ranking_figures(
    weights: np.ndarray, y: np.ndarray, score: np.ndarray, order: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    """Per row of `weights` (one cohort each: the real one, then the resamples): outcomes in the
    top k, ROC AUC and average precision with ties counted as scikit-learn counts them."""
    ordered = weights[:, order]
    before = np.cumsum(ordered, axis=1) - ordered
    taken = np.clip(k - before, 0, ordered)  # a row drawn twice fills two places
    hits = taken @ y[order]
    positives, total = weights @ y, weights.sum(axis=1)
    # families with the same score form one step of the ROC and precision-recall curves
    by_score = np.argsort(-score, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(score[by_score])) + 1]
    pos = np.add.reduceat(weights[:, by_score] * y[by_score], starts, axis=1)
    neg = np.add.reduceat(weights[:, by_score] * (1 - y[by_score]), starts, axis=1)
    negatives = total - positives
    below = negatives[:, None] - np.cumsum(neg, axis=1)
    auc = _ratio((pos * (below + 0.5 * neg)).sum(axis=1), positives * negatives)
    true_pos = np.cumsum(pos, axis=1)
    precision_steps = _ratio(true_pos, true_pos + np.cumsum(neg, axis=1))
    average_precision = _ratio((pos * np.nan_to_num(precision_steps)).sum(axis=1), positives)
    return {
        "precision_at_k": hits / k,
        "outcomes_in_top_k": hits,
        "recall_at_k": _ratio(hits, positives),
        "lift_at_k": _ratio(hits / k, _ratio(positives, total)),
        "roc_auc": auc,
        "average_precision": average_precision,
        "_taken": taken,
    }


def _probability_figures(
    weights: np.ndarray, y: np.ndarray, prob: np.ndarray, taken: np.ndarray, order: np.ndarray,
    bins: int,
) -> dict[str, np.ndarray]:  # fmt: skip
    total = weights.sum(axis=1)
    which = np.minimum((prob * bins).astype(int), bins - 1)
    one_hot = np.eye(bins)[which]
    observed, predicted = (weights * y) @ one_hot, (weights * prob) @ one_hot
    return {
        "brier": (weights @ (prob - y) ** 2) / total,
        "calibration_error": np.abs(observed - predicted).sum(axis=1) / total,
        "expected_outcomes_in_top_k": taken @ prob[order],
        "mean_probability": (weights @ prob) / total,
    }


def evaluate(
    y: np.ndarray,
    rankers: dict[str, tuple[np.ndarray, np.ndarray | None]],
    k: int,
    tiebreak: np.ndarray,
    resamples: int,
    seed: int,
    bins: int = 10,
) -> dict[str, dict[str, Estimate]]:
    """Every metric of every ranker on the cohort (y: 0/1 outcomes).

    `rankers` maps a name to (ranking score, probability or None): the score orders the families
    (highest first, ties in `tiebreak` order for the top k); a probability, where the ranker has
    one, also gives the Brier score, calibration error and expected outcomes. The 95% intervals
    come from `resamples` bootstrap resamples of the families (seeded), the same for every
    ranker, so the "difference: A − B" rows (precision in the top k) are paired. The point
    figures are the cohort's own; ROC AUC, average precision and Brier score are
    scikit-learn's.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    k = min(k, n)
    rng = np.random.default_rng(seed)
    # row 0: the cohort itself; then each resample as how many times it draws each family
    weights = np.vstack(
        [np.ones(n), rng.multinomial(n, np.full(n, 1 / n), size=resamples).astype(float)]
    )
    rows: dict[str, dict[str, np.ndarray]] = {}
    for name, (score, prob) in rankers.items():
        score = np.asarray(score, dtype=float)
        order = top_k_order(score, tiebreak)
        figures = _ranking_figures(weights, y, score, order, k)
        taken = figures.pop("_taken")
        if prob is not None:
            figures.update(
                _probability_figures(weights, y, np.asarray(prob, float), taken, order, bins)
            )
        rows[name] = figures
    positives, total = weights @ y, weights.sum(axis=1)
    rows["base rate"] = {"rate": positives / total, "families": total, "outcomes": positives}
    for a in rankers:
        for b in rankers:
            if a != b:
                rows[f"difference: {a} − {b}"] = {
                    "precision_at_k": rows[a]["precision_at_k"] - rows[b]["precision_at_k"]
                }
    both = 0 < y.sum() < n
    for name, (score, prob) in rankers.items():
        rows[name]["roc_auc"][0] = roc_auc_score(y, score) if both else np.nan
        rows[name]["average_precision"][0] = average_precision_score(y, score) if both else np.nan
        if prob is not None:
            rows[name]["brier"][0] = brier_score_loss(y, prob)
    result: dict[str, dict[str, Estimate]] = {}
    for name, figures in rows.items():
        result[name] = {}
        for metric, values in figures.items():
            resampled = values[1:][np.isfinite(values[1:])]
            lower, upper = (
                (float(np.percentile(resampled, 2.5)), float(np.percentile(resampled, 97.5)))
                if len(resampled)
                else (float("nan"), float("nan"))
            )
            result[name][metric] = Estimate(float(values[0]), lower, upper)
    return result
