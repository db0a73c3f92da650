"""The ranking's model: a logistic regression (missing values → the training mean, standardised,
fitted), calibrated with CalibratedClassifierCV (sigmoid) over the frozen fitted pipeline, and
kept as plain numbers, never as a pickle.

scikit-learn 1.9 (as pinned) wraps a fitted model in FrozenEstimator for calibration
(`cv="prefit"` was removed in 1.8). The calibrated probability is expit(−(a·f + b)), where f is
the logistic regression's logit; so the logit of the probability shown is
    −a·intercept − b + Σ_j −a·coefficient_j·z_j,   z_j = (x_j − mean_j) / scale_j,
and each term −a·coefficient_j·z_j is feature j's exact contribution: the family's reasons add
up to the logit of its probability. `score` computes all of this from the stored numbers alone.

The challenger (HistGradientBoostingClassifier) is fitted and calibrated the same way but only
evaluated: it is never stored. If it were adopted it would be kept with skops (a pinned list of
trusted types and a SHA-256 check of the file) and its reasons would need another method; see the
model card's caveats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class RankingParameters:
    """Everything needed to score a family: what is stored in the model's tables."""

    features: list[str]
    imputed_mean: np.ndarray  # the training mean put in place of a missing value
    scaler_mean: np.ndarray
    scaler_scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    calibration_a: float  # p = expit(−(a·f + b))
    calibration_b: float


@dataclass(frozen=True)
class Scores:
    probability: np.ndarray
    logit: np.ndarray  # of the calibrated probability
    baseline: float  # −a·intercept − b: the logit of a family with every value at the mean
    contributions: np.ndarray  # families × features; each row adds up to logit − baseline
    values: np.ndarray  # the values used (missing ones as the training mean)


def logistic_pipeline(regularisation_c: float) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=regularisation_c, max_iter=5000)),
        ]
    )


def calibrate(fitted, x_calibration: np.ndarray, y_calibration: np.ndarray):
    """Sigmoid calibration over the frozen fitted model (never refitted)."""
    calibrated = CalibratedClassifierCV(FrozenEstimator(fitted), method="sigmoid")
    return calibrated.fit(x_calibration, y_calibration)


def fit_logistic(
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_calibration: np.ndarray,
    y_calibration: np.ndarray,
    features: list[str],
    regularisation_c: float,
) -> tuple[RankingParameters, Pipeline, CalibratedClassifierCV]:
    """Fit the pipeline on the fit cohorts, calibrate it on the calibration cohorts, and read
    its numbers out."""
    pipeline = logistic_pipeline(regularisation_c).fit(x_fit, y_fit)
    calibrated = calibrate(pipeline, x_calibration, y_calibration)
    sigmoid = calibrated.calibrated_classifiers_[0].calibrators[0]
    parameters = RankingParameters(
        features=list(features),
        imputed_mean=pipeline["impute"].statistics_.astype(float),
        scaler_mean=pipeline["scale"].mean_.astype(float),
        scaler_scale=pipeline["scale"].scale_.astype(float),
        coefficients=pipeline["model"].coef_[0].astype(float),
        intercept=float(pipeline["model"].intercept_[0]),
        calibration_a=float(sigmoid.a_),
        calibration_b=float(sigmoid.b_),
    )
    return parameters, pipeline, calibrated


def fit_challenger(
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_calibration: np.ndarray,
    y_calibration: np.ndarray,
    settings: dict,
    seed: int,
) -> CalibratedClassifierCV:
    """The gradient-boosting challenger, calibrated like the logistic regression."""
    booster = HistGradientBoostingClassifier(
        max_iter=int(settings["max_iter"]),
        learning_rate=float(settings["learning_rate"]),
        max_leaf_nodes=int(settings["max_leaf_nodes"]),
        early_stopping=False,
        random_state=seed,
    ).fit(x_fit, y_fit)
    return calibrate(booster, x_calibration, y_calibration)


def score(parameters: RankingParameters, x: np.ndarray) -> Scores:
    """Probabilities, logits and per-feature contributions from the stored numbers alone."""
    values = np.where(np.isnan(x), parameters.imputed_mean, x)
    # a missing value stands at the training mean: exactly nought, not the last bits by which
    # the scaler's mean of the imputed column differs from the imputer's
    z = np.where(np.isnan(x), 0.0, (values - parameters.scaler_mean) / parameters.scaler_scale)
    slope = -parameters.calibration_a
    contributions = slope * parameters.coefficients * z
    baseline = slope * parameters.intercept - parameters.calibration_b
    total = baseline + contributions.sum(axis=1)
    probability = expit(total)
    return Scores(
        probability=probability,
        logit=total,
        baseline=baseline,
        contributions=contributions,
        values=values,
    )
