"""What the allocation lag costs: attached families' chance of reaching a results claim by how long
their referral waited for allocation, adjusted for the problems they had when referred.

Method (stated on the Referrals page). The families are those in mart_referral_lag_outcome whose
referral was allocated at least `follow_up_months` (settings.yaml) before the as-at date; each
"reached a claim" when its results claim became claimable within that many months of allocation,
so every family had the same time to get there. A logistic regression of reaching a claim on the
lag band (0–10 working days the reference) and one indicator per plan problem held at referral
is fitted by maximum likelihood (Newton–Raphson). Each band's adjusted share is the average, over
every family in the estimate, of its predicted chance were it allocated in that band (marginal
standardisation), so bands are compared on the same mix of problems. Intervals are the model's:
95%, by the delta method from the inverse of the information matrix.

Why a regression rather than stratification with direct standardisation: a plan has six or so
problems, so strata of problem combinations run to dozens, most of them empty in some lag band at
a council's scale, and direct standardisation cannot use an empty cell; the regression adjusts for
every problem at once with one parameter each.

Guards, so the model is never fitted where it cannot be: a band with fewer families than the
caution threshold (settings.yaml display.caution_below_cases), or without both a family that
reached a claim and one that did not, is left out and shown only as counted; a problem is left out
of the adjustment when fewer families than that threshold have it (or lack it), or when all of
those with it (or without it) had the same outcome. What was left out is said beside the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from data_model.read.connection import query_frame, query_row
from data_model.read.referrals import ReferralFilter
from data_model.settings import caution_below_cases, settings

Z_95 = 1.959963984540054  # the normal distribution's 97.5th percentile


def _lag_settings() -> dict[str, Any]:
    return settings()["referrals"]["lag_cost"]


def follow_up_months() -> int:
    return int(_lag_settings()["follow_up_months"])


@dataclass(frozen=True)
class LagBand:
    """An allocation lag band: working days from `lower` to `upper` (None: no upper limit)."""

    order: int
    lower: int
    upper: int | None

    @property
    def label(self) -> str:
        """As a table shows it: '0–10', '11–20', 'Over 40'."""
        if self.upper is None:
            return f"Over {self.lower - 1}"
        return f"{self.lower}–{self.upper}"

    @property
    def words(self) -> str:
        """As a sentence says it: 'within 10 working days', 'after more than 40 working days'."""
        if self.lower == 0:
            return f"within {self.upper} working days"
        if self.upper is None:
            return f"after more than {self.lower - 1} working days"
        return f"after {self.lower} to {self.upper} working days"


def lag_bands() -> list[LagBand]:
    """The lag bands of settings.yaml: 0 to the first edge, then up to each next edge, then over
    the last."""
    edges = [int(e) for e in _lag_settings()["band_upper_edges_working_days"]]
    lowers = [0, *(e + 1 for e in edges)]
    uppers: list[int | None] = [*edges, None]
    pairs = zip(lowers, uppers, strict=True)
    return [LagBand(i, lower, upper) for i, (lower, upper) in enumerate(pairs)]


def band_of(working_days: pd.Series, bands: list[LagBand]) -> pd.Series:
    """Each lag's band (its order in `bands`)."""
    edges = [b.upper for b in bands if b.upper is not None]
    bands_found = np.searchsorted(edges, working_days.to_numpy(), side="left")
    return pd.Series(bands_found, index=working_days.index)


# --- The logistic regression ---------------------------------------------------------------------


@dataclass(frozen=True)
class LogisticFit:
    coefficients: np.ndarray
    covariance: np.ndarray
    converged: bool
    iterations: int


def _log_likelihood(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    eta = x @ beta
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def fit_logistic(x: np.ndarray, y: np.ndarray, max_iterations: int = 100) -> LogisticFit:
    """Maximum-likelihood logistic regression of y (0 or 1) on the columns of x (an intercept
    among them) by Newton–Raphson with step halving; the covariance is the inverse of the
    information matrix at the estimate. Not converged when the likelihood has no maximum (a
    column separates the outcomes): the coefficients then run off towards infinity."""
    beta = np.zeros(x.shape[1])
    current = _log_likelihood(x, y, beta)
    for iteration in range(1, max_iterations + 1):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        information = x.T @ (x * (p * (1.0 - p))[:, None])
        try:
            step = np.linalg.solve(information, x.T @ (y - p))
        except np.linalg.LinAlgError:
            break
        size = 1.0
        while size > 1e-6:
            trial = beta + size * step
            candidate = _log_likelihood(x, y, trial)
            if candidate >= current - 1e-12:
                break
            size /= 2
        beta, current = trial, candidate
        if np.max(np.abs(size * step)) < 1e-9:
            if np.max(np.abs(beta)) > 25:  # a separated column: no finite maximum
                break
            p = 1.0 / (1.0 + np.exp(-(x @ beta)))
            information = x.T @ (x * (p * (1.0 - p))[:, None])
            return LogisticFit(beta, np.linalg.inv(information), True, iteration)
    return LogisticFit(beta, np.full((x.shape[1], x.shape[1]), np.nan), False, max_iterations)


def standardised_shares(
    fit: LogisticFit, covariates: np.ndarray, bands: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each band's share reaching a claim, averaged over every family's covariates as if all were
    allocated in that band (marginal standardisation), and each share's gradient with respect to
    the coefficients (for the delta method). The design is [intercept, band 1..bands-1 dummies,
    covariates]: band 0 is the reference."""
    n = len(covariates)
    shares = np.empty(bands)
    gradients = np.empty((bands, 1 + (bands - 1) + covariates.shape[1]))
    for band in range(bands):
        dummies = np.zeros((n, bands - 1))
        if band > 0:
            dummies[:, band - 1] = 1.0
        x = np.column_stack([np.ones(n), dummies, covariates])
        p = 1.0 / (1.0 + np.exp(-(x @ fit.coefficients)))
        shares[band] = p.mean()
        gradients[band] = (x * (p * (1.0 - p))[:, None]).mean(axis=0)
    return shares, gradients


# --- The families and the estimate ----------------------------------------------------------------


def _cutoff(as_at: date, months: int) -> date:
    """The last allocation day with `months` of follow-up before the as-at date."""
    return (pd.Timestamp(as_at) - pd.DateOffset(months=months)).date()


def lag_cost_families(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The families the estimate is made from: attached, allocated at least follow_up_months
    before the as-at date; each with its lag, band, problems at referral and whether it reached a
    results claim within follow_up_months of allocation."""
    months = follow_up_months()
    as_at = query_row(con, "select as_at_date from mart_model_info")["as_at_date"]
    frame = query_frame(
        con,
        """
        select
            family_key, cluster, allocated_date, allocation_lag_working_days,
            problems_at_referral,
            coalesce(
                results_claimable_date <= allocated_date + to_months(?::integer), false
            ) as reached_claim
        from mart_referral_lag_outcome
        where allocated_date <= ?
        order by family_key
        """,
        [months, _cutoff(as_at, months)],
    )
    frame["band"] = band_of(frame["allocation_lag_working_days"], lag_bands())
    return frame


def _plan_problems(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return query_frame(
        con, "select problem_id, problem_title from mart_plan_problem order by problem_order"
    )


def lag_cost(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The estimate, for the page: its families (cohort dates, follow-up), one row per band
    (families, claims, the share reaching a claim as counted, and where estimable the adjusted
    share and its gap from the first band, each with a 95% interval), the problems adjusted for
    and those left out, and whether a model could be fitted.

    Returns {"bands": DataFrame, "estimated": bool, "reason": str | None, "adjusted_for": [titles],
    "left_out": [(title, why)], "families": int, "allocated_by": date, "follow_up_months": int,
    "covariance": the gaps' covariance matrix (bands estimated, in order)}.
    """
    bands = lag_bands()
    minimum = caution_below_cases()
    months = follow_up_months()
    as_at = query_row(con, "select as_at_date from mart_model_info")["as_at_date"]
    families = lag_cost_families(con)
    counted = (
        families.groupby("band")["reached_claim"]
        .agg(families="size", claims="sum")
        .reindex(range(len(bands)), fill_value=0)
    )
    table = pd.DataFrame(
        {
            "band_order": [b.order for b in bands],
            "band": [b.label for b in bands],
            "band_words": [b.words for b in bands],
            "families": counted["families"].astype(int).to_numpy(),
            "claims": counted["claims"].astype(int).to_numpy(),
        }
    )
    table["share_counted"] = table["claims"] / table["families"].where(table["families"] > 0)
    for column in ("share_adjusted", "share_low", "share_high", "gap", "gap_low", "gap_high"):
        table[column] = np.nan
    table["estimable"] = (
        (table["families"] >= minimum)
        & (table["claims"] > 0)
        & (table["claims"] < table["families"])
    )
    result: dict[str, Any] = {
        "bands": table,
        "estimated": False,
        "reason": None,
        "adjusted_for": [],
        "left_out": [],
        "families": len(families),
        "allocated_by": _cutoff(as_at, months),
        "follow_up_months": months,
        "covariance": None,
    }
    if not table.loc[0, "estimable"]:
        result["reason"] = (
            f"too few families were allocated {bands[0].words} to compare others with: at least "
            f"{minimum} are needed, with at least one that reached a claim and one that did not"
        )
        return result
    kept_bands = table.index[table["estimable"]].tolist()
    if len(kept_bands) < 2:
        result["reason"] = (
            f"no other lag band has at least {minimum} families, with at least one that reached "
            "a claim and one that did not"
        )
        return result

    sample = families[families["band"].isin(kept_bands)].reset_index(drop=True)
    y = sample["reached_claim"].to_numpy(dtype=float)
    problems = _plan_problems(con)
    adjusted_for, left_out, columns = [], [], []
    held_lists = sample["problems_at_referral"]
    for problem in problems.itertuples():
        held = held_lists.map(lambda held, p=problem.problem_id: p in list(held)).to_numpy()
        with_it, without_it = y[held], y[~held]
        if min(len(with_it), len(without_it)) < minimum:
            left_out.append(
                (problem.problem_title, f"fewer than {minimum} families had it, or lacked it")
            )
        elif len(set(with_it)) < 2 or len(set(without_it)) < 2:
            left_out.append(
                (
                    problem.problem_title,
                    "all the families with it, or all those without it, had the same outcome",
                )
            )
        else:
            adjusted_for.append(problem.problem_title)
            columns.append(held.astype(float))
    covariates = np.column_stack(columns) if columns else np.empty((len(sample), 0))
    position = {band: i for i, band in enumerate(kept_bands)}
    coded = sample["band"].map(position).to_numpy()
    dummies = np.zeros((len(sample), len(kept_bands) - 1))
    for i in range(1, len(kept_bands)):
        dummies[:, i - 1] = coded == i
    x = np.column_stack([np.ones(len(sample)), dummies, covariates])
    fit = fit_logistic(x, y)
    result["adjusted_for"], result["left_out"] = adjusted_for, left_out
    if not fit.converged:
        result["reason"] = (
            "the model could not be fitted: a combination of lag band and problems predicts the "
            "outcome exactly in these families"
        )
        return result

    shares, gradients = standardised_shares(fit, covariates, len(kept_bands))
    share_se = np.sqrt(np.einsum("bi,ij,bj->b", gradients, fit.covariance, gradients))
    gap_gradients = gradients[0] - gradients  # the first band's share minus each band's
    gap_covariance = gap_gradients @ fit.covariance @ gap_gradients.T
    gap_se = np.sqrt(np.clip(np.diag(gap_covariance), 0, None))
    for i, band in enumerate(kept_bands):
        table.loc[band, "share_adjusted"] = shares[i]
        # a share cannot leave 0 to 1, whatever the normal approximation says
        table.loc[band, "share_low"] = max(shares[i] - Z_95 * share_se[i], 0.0)
        table.loc[band, "share_high"] = min(shares[i] + Z_95 * share_se[i], 1.0)
        if i > 0:
            gap = shares[0] - shares[i]
            table.loc[band, "gap"] = gap
            table.loc[band, "gap_low"] = gap - Z_95 * gap_se[i]
            table.loc[band, "gap_high"] = gap + Z_95 * gap_se[i]
    result.update(estimated=True, families_estimated=len(sample), covariance=gap_covariance)
    result["bands_estimated"] = kept_bands
    return result


def points(value: float) -> str:
    """A difference of shares in percentage points, in words: '9.1 points less' or '2.0 points
    more' (positive: less often than the first band)."""
    return f"{abs(100 * value):.1f} points {'less' if value >= 0 else 'more'}"


def gap_sentence(row: pd.Series, reference_words: str) -> str:
    """A band's gap in plain words: 'Families allocated after more than 40 working days reached a
    claim 9.1 points less often than similar families allocated within 10 working days (95%
    interval: 3.0 to 15.2 points less).' An interval that includes no difference says so."""
    low, high = row["gap_low"], row["gap_high"]
    if low <= 0 <= high:
        interval = (
            f"95% interval: from {points(high)} to {points(low)} often; it includes no "
            "difference, so the data cannot tell these families apart"
        )
    elif low > 0:
        interval = f"95% interval: {abs(100 * low):.1f} to {points(high)}"
    else:
        interval = f"95% interval: {abs(100 * high):.1f} to {points(low)}"
    return (
        f"Families allocated {row['band_words']} reached a claim {points(row['gap'])} often "
        f"than similar families allocated {reference_words} ({interval})."
    )


def waiting_now_by_band(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    """The referrals waiting at the as-at date (the page's clusters and sources; the period does
    not apply: now is now), by the lag band their wait so far has reached."""
    frame = query_frame(
        con,
        """
        with as_at as (
            select calendar_date, working_day_index from mart_calendar
            where calendar_date = (select as_at_date from mart_model_info)
        )
        select as_at.working_day_index - received_working_day_index as waited
        from mart_referral, as_at
        where received_date <= as_at.calendar_date
          and (allocated_date is null or allocated_date > as_at.calendar_date)
          and (decision_date is null or decision_date > as_at.calendar_date or is_accepted)
          and (len(?::varchar[]) = 0 or list_contains(?::varchar[], cluster))
          and (len(?::varchar[]) = 0 or list_contains(?::varchar[], referral_source))
        """,
        [list(f.clusters), list(f.clusters), list(f.sources), list(f.sources)],
    )
    bands = lag_bands()
    counts = band_of(frame["waited"], bands).value_counts().reindex(range(len(bands)), fill_value=0)
    return pd.DataFrame({"band_order": range(len(bands)), "waiting": counts.to_numpy()})


def attachment_rate(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """How often an allocated referral led to an attached family, over the referrals allocated by
    the estimate's cut-off (the families the estimate is made from over the referrals allocated)."""
    as_at = query_row(con, "select as_at_date from mart_model_info")["as_at_date"]
    cutoff = _cutoff(as_at, follow_up_months())
    return query_row(
        con,
        """
        select attached, allocated, attached / nullif(allocated, 0) as rate
        from
            (select count(*) as attached from mart_referral_lag_outcome where allocated_date <= ?),
            (select count(*) as allocated from mart_referral where allocated_date <= ?)
        """,
        [cutoff, cutoff],
    )


def cost_of_waiting(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> dict[str, Any]:
    """The results claims the gaps represent for the referrals waiting now: each waiting referral
    counted in the band its wait has reached (it will wait at least that long), times the share of
    allocated referrals that are attached, times its band's gap from the first band; summed, with
    a 95% interval by the delta method (the attachment rate taken as known). Referrals in a band
    without an estimate are counted apart. The plan's results payment turns claims into pounds;
    a plan that pays nothing for results has `payment` 0 and the page shows claims only.

    Returns {"estimated": bool, "waiting": int, "counted": int, "not_estimated": int,
    "in_first_band": int, "claims": float, "claims_low": float, "claims_high": float,
    "attachment_rate": float, "payment": float}."""
    estimate = lag_cost(con)
    waiting = waiting_now_by_band(con, f)
    rate = attachment_rate(con)["rate"]
    payment = query_row(con, "select results_payment from mart_plan").get("results_payment") or 0
    out: dict[str, Any] = {
        "estimated": False,
        "waiting": int(waiting["waiting"].sum()),
        "in_first_band": int(waiting.loc[0, "waiting"]),
        "attachment_rate": rate,
        "payment": float(payment),
    }
    if not estimate["estimated"] or rate is None:
        return out
    kept = estimate["bands_estimated"]
    weights = np.array([waiting.loc[band, "waiting"] * rate for band in kept], dtype=float)
    weights[0] = 0.0  # waiting in the first band so far: no gap yet
    gaps = estimate["bands"].loc[kept, "gap"].fillna(0.0).to_numpy()
    claims = float(weights @ gaps)
    se = float(np.sqrt(max(weights @ estimate["covariance"] @ weights, 0.0)))
    others = [b for b in range(1, len(waiting)) if b not in kept]
    out.update(
        estimated=True,
        counted=int(waiting.loc[kept[1:], "waiting"].sum()),
        not_estimated=int(waiting.loc[others, "waiting"].sum()),
        claims=claims,
        claims_low=claims - Z_95 * se,
        claims_high=claims + Z_95 * se,
    )
    return out
