"""What the lag costs and what more capacity would buy, on hand-made data whose answers are known.

The lag-cost estimate is checked against scikit-learn's logistic regression (an implementation
independent of the read layer's Newton–Raphson) on families simulated with a known effect of the
wait, and its guards on data that cannot support a model. The queue simulation is checked on
queues small enough to follow by hand.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from data_model.read import forecast, lag_cost

PROBLEMS = ["crime", "school", "work", "health"]
AS_AT = date(2020, 3, 31)


def lag_model(families: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """An in-memory model holding only what lag_cost reads: the families, the as-at date and the
    plan's problems."""
    con = duckdb.connect()
    con.execute("create table mart_model_info as select ?::date as as_at_date", [AS_AT])
    problems = pd.DataFrame(
        {
            "problem_id": PROBLEMS,
            "problem_title": [p.title() for p in PROBLEMS],
            "problem_order": range(len(PROBLEMS)),
        }
    )
    con.register("problems_frame", problems)
    con.execute("create table mart_plan_problem as select * from problems_frame")
    con.register("families_frame", families)
    con.execute(
        """
        create table mart_referral_lag_outcome as
        select family_key, 'Keighley' as cluster, allocated_date::date as allocated_date,
               allocation_lag_working_days::integer as allocation_lag_working_days,
               problems_at_referral::varchar[] as problems_at_referral,
               results_claimable_date::date as results_claimable_date
        from families_frame
        """
    )
    return con


def simulated_families(n: int, seed: int, gap_over_40: float = -0.8) -> pd.DataFrame:
    """Families with random problems and lags; the chance of a claim falls with each problem and
    with the wait (logit scale: 0, -0.2, -0.4 and `gap_over_40` by band)."""
    rng = np.random.default_rng(seed)
    held = rng.random((n, len(PROBLEMS))) < [0.5, 0.6, 0.3, 0.4]
    lag = rng.choice([3, 15, 30, 55], n, p=[0.4, 0.3, 0.2, 0.1]) + rng.integers(0, 5, n)
    band = np.searchsorted([10, 20, 40], lag, side="left")
    logit = (
        0.6 - held @ np.array([0.3, 0.2, 0.9, 0.5]) + np.array([0, -0.2, -0.4, gap_over_40])[band]
    )
    claim = rng.random(n) < 1 / (1 + np.exp(-logit))
    allocated = pd.Timestamp("2016-06-01") + pd.to_timedelta(rng.integers(0, 500, n), "D")
    # a claim within the 18 months counts; one later does not
    within = allocated + pd.to_timedelta(rng.integers(30, 500, n), "D")
    return pd.DataFrame(
        {
            "family_key": [f"F{i:05d}" for i in range(n)],
            "allocated_date": allocated,
            "allocation_lag_working_days": lag,
            "problems_at_referral": [
                [p for p, h in zip(PROBLEMS, row, strict=True) if h] for row in held
            ],
            "results_claimable_date": pd.Series(within).where(claim),
        }
    )


def sklearn_shares(families: pd.DataFrame, bands: list[int]) -> np.ndarray:
    """Marginal standardised shares from scikit-learn's unpenalised logistic regression."""
    kept = families[families["band"].isin(bands)]
    held = np.array([[p in row for p in PROBLEMS] for row in kept["problems_at_referral"]], float)
    dummies = np.column_stack([(kept["band"] == b).to_numpy(float) for b in bands[1:]])
    fit = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10)
    fit.fit(np.column_stack([dummies, held]), kept["reached"])
    shares = []
    for i in range(len(bands)):
        as_if = np.zeros_like(dummies)
        if i:
            as_if[:, i - 1] = 1.0
        shares.append(fit.predict_proba(np.column_stack([as_if, held]))[:, 1].mean())
    return np.array(shares)


def test_adjusted_shares_match_an_independent_fit_and_find_the_known_gap() -> None:
    families = simulated_families(6000, seed=11)
    result = lag_cost.lag_cost(lag_model(families))
    assert result["estimated"], result["reason"]
    assert result["families"] == 6000 and result["left_out"] == []
    bands = result["bands"]
    assert bands["band"].tolist() == ["0–10", "11–20", "21–40", "Over 40"]

    families = families.assign(
        band=np.searchsorted([10, 20, 40], families["allocation_lag_working_days"], side="left"),
        reached=families["results_claimable_date"].notna(),
    )
    counted = families.groupby("band")["reached"].agg(["size", "sum"])
    assert bands["families"].tolist() == counted["size"].tolist()
    assert bands["claims"].tolist() == counted["sum"].tolist()

    expected = sklearn_shares(families, [0, 1, 2, 3])
    assert bands["share_adjusted"].to_numpy() == pytest.approx(expected, abs=1e-5)
    assert bands["gap"].iloc[1:].to_numpy() == pytest.approx(expected[0] - expected[1:], abs=1e-5)
    # The gap the families were made with, on the share scale, lies inside the 95% interval.
    held = np.array([[p in r for p in PROBLEMS] for r in families["problems_at_referral"]], float)
    base = 0.6 - held @ np.array([0.3, 0.2, 0.9, 0.5])
    true_gap = (1 / (1 + np.exp(-base))).mean() - (1 / (1 + np.exp(-(base - 0.8)))).mean()
    over_40 = bands.iloc[3]
    assert over_40["gap_low"] < true_gap < over_40["gap_high"]
    assert over_40["gap_low"] > 0  # 600 families a band: the cost is found
    sentence = lag_cost.gap_sentence(over_40, bands.iloc[0]["band_words"])
    assert sentence.startswith(
        f"Families allocated after more than 40 working days reached a claim "
        f"{100 * over_40['gap']:.1f} points less often than similar families allocated within "
        "10 working days (95% interval: "
    )


def test_intervals_are_the_delta_method_on_the_model_covariance() -> None:
    families = simulated_families(3000, seed=5)
    result = lag_cost.lag_cost(lag_model(families))
    families = families.assign(
        band=np.searchsorted([10, 20, 40], families["allocation_lag_working_days"], side="left"),
        reached=families["results_claimable_date"].notna().astype(float),
    )
    held = np.array([[p in r for p in PROBLEMS] for r in families["problems_at_referral"]], float)
    dummies = np.column_stack([(families["band"] == b).to_numpy(float) for b in (1, 2, 3)])
    x = np.column_stack([np.ones(len(families)), dummies, held])
    fit = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(
        x[:, 1:], families["reached"]
    )
    beta = np.r_[fit.intercept_, fit.coef_[0]]
    p = 1 / (1 + np.exp(-(x @ beta)))
    covariance = np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))

    def gap(b: np.ndarray, band: int) -> float:
        def share(i: int) -> float:
            as_if = x.copy()
            as_if[:, 1:4] = 0.0
            if i:
                as_if[:, i] = 1.0
            return float((1 / (1 + np.exp(-(as_if @ b)))).mean())

        return share(0) - share(band)

    for band in (1, 2, 3):
        # the gradient by finite differences, not the read layer's analytic one
        step = 1e-6
        gradient = np.array(
            [
                (
                    gap(beta + step * np.eye(len(beta))[k], band)
                    - gap(beta - step * np.eye(len(beta))[k], band)
                )
                / (2 * step)
                for k in range(len(beta))
            ]
        )
        se = float(np.sqrt(gradient @ covariance @ gradient))
        row = result["bands"].iloc[band]
        assert row["gap_high"] - row["gap"] == pytest.approx(1.959964 * se, rel=1e-3)
        assert row["gap"] - row["gap_low"] == pytest.approx(1.959964 * se, rel=1e-3)


def test_bands_and_problems_that_cannot_be_estimated_are_left_out_and_said() -> None:
    families = simulated_families(800, seed=3)
    lags = families["allocation_lag_working_days"]
    # Only 4 families over 40 working days: counted, not estimated.
    over = families.index[lags > 40]
    families = families.drop(over[4:])
    # Everyone has "school": it cannot be adjusted for.
    families["problems_at_referral"] = [
        sorted({*row, "school"}) for row in families["problems_at_referral"]
    ]
    result = lag_cost.lag_cost(lag_model(families))
    assert result["estimated"]
    bands = result["bands"]
    assert bands["estimable"].tolist() == [True, True, True, False]
    assert bands.loc[3, "families"] == 4 and pd.isna(bands.loc[3, "share_adjusted"])
    assert [title for title, _ in result["left_out"]] == ["School"]
    assert result["adjusted_for"] == ["Crime", "Work", "Health"]


def test_no_comparison_without_enough_families_allocated_within_10_days() -> None:
    families = simulated_families(300, seed=2)
    families = families[families["allocation_lag_working_days"] > 10]
    families = pd.concat(
        [
            families,
            simulated_families(300, seed=2).query("allocation_lag_working_days <= 10").head(5),
        ]
    )
    result = lag_cost.lag_cost(lag_model(families))
    assert not result["estimated"]
    assert "too few families were allocated within 10 working days" in result["reason"]


def test_a_claim_after_the_follow_up_does_not_count_and_late_allocations_are_left_out() -> None:
    families = simulated_families(200, seed=9)
    families.loc[0, "allocated_date"] = pd.Timestamp("2018-10-01")  # under 18 months before as-at
    families.loc[1, "allocated_date"] = pd.Timestamp("2016-01-10")
    families.loc[1, "results_claimable_date"] = pd.Timestamp("2017-07-11")  # 18 months and a day
    families.loc[2, "allocated_date"] = pd.Timestamp("2016-01-10")
    families.loc[2, "results_claimable_date"] = pd.Timestamp("2017-07-10")  # 18 months exactly
    cohort = lag_cost.lag_cost_families(lag_model(families)).set_index("family_key")
    assert "F00000" not in cohort.index
    assert not cohort.loc["F00001", "reached_claim"]
    assert cohort.loc["F00002", "reached_claim"]


# --- The queue simulation ------------------------------------------------------------------------


def inputs(weeks: int = 3, decline_days: int = 2, accept_days: int = 0) -> forecast.ForecastInputs:
    """Working days numbered from 101 (the start is 100), Monday to Friday, no bank holidays; the
    Fridays are days 105, 110, 115..."""
    days = np.arange(101, 101 + 5 * weeks)
    return forecast.ForecastInputs(
        start=date(2020, 3, 27),
        start_index=100,
        days=days,
        day_months=np.full(len(days), 4),
        fridays=[date(2020, 4, 3 + 7 * w) for w in range(weeks)],
        friday_index=np.arange(105, 101 + 5 * weeks, 5),
        season={4: 1.0},
        decline_days=decline_days,
        accept_days=accept_days,
        clusters={},
    )


def queue(
    waiting: list[int], accepted: list[bool], a_day: float = 0.0, a_week: float = 5.0,
    leave_share: float = 0.0,
) -> forecast.ClusterQueue:  # fmt: skip
    return forecast.ClusterQueue(
        cluster="Keighley",
        arrivals_a_day=a_day,
        leave_share=leave_share,
        allocations_a_week=a_week,
        waiting_received=np.array(waiting),
        waiting_accepted=np.array(accepted),
    )


def test_ten_waiting_at_five_a_week_are_allocated_oldest_first_in_two_weeks() -> None:
    # Ten accepted referrals received on days 90..99; one a day is allocated, oldest first.
    run = forecast.simulate(inputs(), queue(list(range(90, 100)), [True] * 10), threshold=10)
    weekly = run["weekly"]
    assert weekly["waiting"].tolist() == pytest.approx([5, 0, 0])
    assert weekly["allocated"].tolist() == pytest.approx([5, 5, 0])
    # Day 101 takes the referral of day 90 (11 working days), ..., day 110 the one of day 99.
    assert weekly["median_lag"].iloc[0] == 11
    assert run["median_lag"] == 11
    # At day 105 the five left were received on days 95..99: 6 to 10 days, none over 10.
    assert weekly["waiting_over_threshold"].iloc[0] == 0
    assert np.isnan(weekly["median_lag"].iloc[2])


def test_more_capacity_empties_the_queue_sooner_and_none_never_does() -> None:
    waiting = queue(list(range(80, 100)), [True] * 20, a_day=0.5)
    slow = forecast.simulate(inputs(), waiting)
    fast = forecast.simulate(inputs(), waiting, extra_a_week=5)
    stopped = forecast.simulate(inputs(), waiting, extra_a_week=-10)
    assert (fast["weekly"]["waiting"] < slow["weekly"]["waiting"]).all()
    assert fast["median_lag"] < slow["median_lag"]
    # No capacity: everyone stays and the half a referral a day piles up.
    assert stopped["weekly"]["waiting"].tolist() == pytest.approx([22.5, 25, 27.5])
    assert stopped["allocated"] == 0 and np.isnan(stopped["median_lag"])


def test_referrals_awaiting_decision_leave_in_part_and_wait_for_acceptance() -> None:
    # One awaiting decision since day 99: half of it leaves at its decision (day 101), the other
    # half can be allocated from day 103 (accept_days 4); nothing else waits.
    run = forecast.simulate(
        inputs(weeks=1, decline_days=2, accept_days=4),
        queue([99], [False], a_week=5, leave_share=0.5),
    )
    assert run["weekly"]["waiting"].iloc[0] == pytest.approx(0.0)
    assert run["allocated"] == pytest.approx(0.5)
    assert run["median_lag"] == 4  # allocated on day 103
