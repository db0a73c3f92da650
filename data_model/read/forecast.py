"""What more capacity would buy: each cluster's waiting list and allocation lag for the next weeks,
forecast by a deterministic queue simulation, with a what-if on each cluster's allocations a week
and the same forecast replayed on the last complete quarter to show how far off it runs.

The simulation (stated on the Referrals page) runs each cluster's queue one working day at a time
as a flow, first come first served, from the forecast's start T (settings.yaml
referrals.forecast; every input is what the data knew at T):

- It starts from the referrals waiting at T (the page's definition of waiting), each received on
  its day.
- Referrals arrive on each working day at the cluster's average rate over the `seasonality_years`
  before T, times the month's seasonal index: referrals a working day in that calendar month over
  those years, district-wide, against the average.
- A share of them (the cluster's share of referrals decided other than Accepted over those years,
  as decided by T) leaves the list at its decision, the median working days such decisions took;
  the rest can be allocated once the median working days to an acceptance have passed.
- Each working day the cluster allocates a fifth of its allocations a week: the average over the
  `capacity_weeks` before T, plus the what-if's extra (never below none), to the referrals that
  have waited longest.

Waiting at each Friday counts what is left (including referrals yet to be decided otherwise);
the median lag is over the referrals the simulation allocates, in working days from receipt.
Fractions of referrals are kept (it is a flow, so it has no luck in it): the figures are rounded
on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from data_model.read.connection import query_frame, query_row
from data_model.read.periods import last_complete_quarter
from data_model.read.referrals import default_waiting_threshold
from data_model.settings import settings


def forecast_settings() -> dict[str, int]:
    """Weeks forecast, years of seasonality and weeks of capacity (settings.yaml)."""
    section = settings()["referrals"]["forecast"]
    return {key: int(section[key]) for key in ("weeks", "seasonality_years", "capacity_weeks")}


@dataclass(frozen=True)
class ClusterQueue:
    """One cluster's inputs to the simulation, all as known at the forecast's start."""

    cluster: str
    arrivals_a_day: float  # referrals a working day over the seasonality years, before the index
    leave_share: float  # share decided other than Accepted
    allocations_a_week: float
    waiting_received: np.ndarray  # working-day index of each referral waiting at the start
    waiting_accepted: np.ndarray  # whether each was accepted by the start


@dataclass(frozen=True)
class ForecastInputs:
    start: date  # T: the forecast runs from the day after
    start_index: int  # T's working-day index
    days: np.ndarray  # working-day index of each working day simulated
    day_months: np.ndarray  # each one's calendar month (1-12)
    fridays: list[date]  # the weeks' ends
    friday_index: np.ndarray  # their working-day indices
    season: dict[int, float]  # seasonal index per calendar month
    decline_days: int  # median working days to a decision other than Accepted
    accept_days: int  # median working days to an acceptance
    clusters: dict[str, ClusterQueue]


def _years_before(day: date, years: int) -> date:
    return (pd.Timestamp(day) - pd.DateOffset(years=years)).date()


def forecast_inputs(con: duckdb.DuckDBPyConnection, start: date) -> ForecastInputs:
    """Everything the simulation needs from the model, as known at the end of `start`."""
    config = forecast_settings()
    since = _years_before(start, config["seasonality_years"])
    capacity_since = start - timedelta(weeks=config["capacity_weeks"])
    start_index = int(
        query_row(
            con, "select working_day_index from mart_calendar where calendar_date = ?", [start]
        )["working_day_index"]
    )
    calendar = query_frame(
        con,
        """
        select calendar_date, working_day_index, is_working_day, month(calendar_date) as month
        from mart_calendar
        where calendar_date > ? and calendar_date <= ?
        order by calendar_date
        """,
        [start, start + timedelta(weeks=config["weeks"] + 1)],
    )
    calendar["calendar_date"] = pd.to_datetime(calendar["calendar_date"]).dt.date
    fridays = [d for d in calendar["calendar_date"] if d.isoweekday() == 5][: config["weeks"]]
    working = calendar[calendar["is_working_day"] & (calendar["calendar_date"] <= fridays[-1])]
    friday_index = (
        calendar.set_index("calendar_date").loc[fridays, "working_day_index"].to_numpy(int)
    )

    # Seasonality: referrals a working day in each calendar month over the years before T,
    # district-wide, against the average over those years.
    season_frame = query_frame(
        con,
        """
        with days as (
            select month(calendar_date) as month, count(*) filter (where is_working_day) as days
            from mart_calendar where calendar_date > ? and calendar_date <= ?
            group by 1
        ),
        received as (
            select month(received_date) as month, count(*) as referrals
            from mart_referral where received_date > ? and received_date <= ?
            group by 1
        )
        select month, days.days, coalesce(received.referrals, 0) as referrals
        from days left join received using (month)
        order by month
        """,
        [since, start, since, start],
    )
    working_days = int(season_frame["days"].sum())
    overall = season_frame["referrals"].sum() / max(working_days, 1)
    season = {
        int(r.month): (r.referrals / r.days) / overall if overall > 0 and r.days else 1.0
        for r in season_frame.itertuples()
    }

    timings = query_row(
        con,
        """
        select
            median(decision_working_days) filter (where not is_accepted) as decline_days,
            median(decision_working_days) filter (where is_accepted) as accept_days
        from mart_referral
        where received_date > ? and received_date <= ? and decision_date <= ?
          and decision <> 'Awaiting decision'
        """,
        [since, start, start],
    )
    per_cluster = query_frame(
        con,
        """
        select
            cluster,
            count(*) filter (where received_date > ? and received_date <= ?) as received,
            count(*) filter (
                where received_date > ? and received_date <= ? and decision_date <= ?
                  and decision <> 'Awaiting decision' and not is_accepted
            ) as declined,
            count(*) filter (
                where received_date > ? and received_date <= ? and decision_date <= ?
                  and decision <> 'Awaiting decision'
            ) as decided,
            count(*) filter (where allocated_date > ? and allocated_date <= ?) as allocated
        from mart_referral
        where cluster is not null
        group by cluster
        order by cluster
        """,
        [since, start, since, start, start, since, start, start, capacity_since, start],
    )
    waiting = query_frame(
        con,
        """
        select cluster, received_working_day_index,
               decision_date is not null and decision_date <= ? and is_accepted as accepted
        from mart_referral
        where received_date <= ?
          and (allocated_date is null or allocated_date > ?)
          and (decision_date is null or decision_date > ? or is_accepted)
        order by cluster, received_working_day_index
        """,
        [start, start, start, start],
    )
    clusters = {}
    for row in per_cluster.itertuples():
        mine = waiting[waiting["cluster"] == row.cluster]
        clusters[row.cluster] = ClusterQueue(
            cluster=row.cluster,
            arrivals_a_day=row.received / max(working_days, 1),
            leave_share=row.declined / row.decided if row.decided else 0.0,
            allocations_a_week=row.allocated / config["capacity_weeks"],
            waiting_received=mine["received_working_day_index"].to_numpy(int),
            waiting_accepted=mine["accepted"].to_numpy(bool),
        )
    return ForecastInputs(
        start=start,
        start_index=start_index,
        days=working["working_day_index"].to_numpy(int),
        day_months=working["month"].to_numpy(int),
        fridays=fridays,
        friday_index=friday_index,
        season=season,
        decline_days=_whole_days(timings["decline_days"]),
        accept_days=_whole_days(timings["accept_days"]),
        clusters=clusters,
    )


def _whole_days(median: float | None) -> int:
    """A median number of working days as whole days, a half rounded up (none: 0)."""
    return 0 if median is None or pd.isna(median) else int(np.floor(median + 0.5))


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The smallest value at which the weights, in value order, reach half their total; NaN when
    there is no weight."""
    keep = weights > 1e-9
    values, weights = values[keep], weights[keep]
    if not len(values):
        return float("nan")
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2 - 1e-9)])


def simulate(
    inputs: ForecastInputs, queue: ClusterQueue, extra_a_week: float = 0.0, threshold: int = 20
) -> dict[str, Any]:
    """One cluster's queue over the forecast's working days (the module's docstring says how).

    Returns {"weekly": DataFrame of week_end, waiting, waiting_over_threshold, allocated,
    median_lag (of that week's allocations; NaN when none), "median_lag": over every allocation
    simulated, "allocated": their total, "lags" and "amounts": every allocation's lag and
    amount}."""
    start = inputs.start_index
    arrivals = np.array(
        [queue.arrivals_a_day * inputs.season.get(int(m), 1.0) for m in inputs.day_months]
    )
    # Cohorts: those waiting at the start, then one per working day's arrivals, in received order.
    starting = len(queue.waiting_received)
    received = np.concatenate([queue.waiting_received, inputs.days]).astype(float)
    waiting_leave = np.where(queue.waiting_accepted, 0.0, queue.leave_share)
    stay = np.concatenate([1.0 - waiting_leave, np.zeros(len(inputs.days))])
    leave = np.concatenate([waiting_leave, np.zeros(len(inputs.days))])
    leave_at = np.concatenate(
        [
            np.maximum(queue.waiting_received + inputs.decline_days, start + 1),
            inputs.days + inputs.decline_days,
        ]
    )
    ready_at = np.concatenate(
        [
            np.where(
                queue.waiting_accepted,
                start + 1,
                np.maximum(queue.waiting_received + inputs.accept_days, start + 1),
            ),
            inputs.days + inputs.accept_days,
        ]
    )
    a_day = max(queue.allocations_a_week + extra_a_week, 0.0) / 5
    served_lag: list[np.ndarray] = []
    served_amount: list[np.ndarray] = []
    served_day: list[int] = []
    at_friday: dict[int, tuple[float, float]] = {}
    fridays = set(inputs.friday_index.tolist())
    for i, today in enumerate(inputs.days):
        arrived = starting + i
        stay[arrived] = arrivals[i] * (1.0 - queue.leave_share)
        leave[arrived] = arrivals[i] * queue.leave_share
        leave[leave_at <= today] = 0.0
        ready = ready_at <= today
        queued = np.where(ready, stay, 0.0)
        before = np.cumsum(queued) - queued  # cohorts are in received order: oldest first
        take = np.clip(a_day - before, 0.0, queued)
        stay -= take
        if take.sum() > 0:
            served_lag.append(today - received[take > 0])
            served_amount.append(take[take > 0])
            served_day.append(int(today))
        if today in fridays:
            left = stay + leave
            over = left[(today - received) > threshold].sum()
            at_friday[int(today)] = (float(left.sum()), float(over))
    weekly = []
    bounds = [start, *inputs.friday_index.tolist()]
    for week, friday in enumerate(inputs.fridays):
        low, high = bounds[week], bounds[week + 1]
        picked = [j for j, d in enumerate(served_day) if low < d <= high]
        lags = np.concatenate([served_lag[j] for j in picked]) if picked else np.array([])
        amounts = np.concatenate([served_amount[j] for j in picked]) if picked else np.array([])
        waiting, over = at_friday.get(int(inputs.friday_index[week]), (np.nan, np.nan))
        weekly.append(
            {
                "week_end": friday,
                "waiting": waiting,
                "waiting_over_threshold": over,
                "allocated": float(amounts.sum()),
                "median_lag": weighted_median(lags, amounts),
            }
        )
    all_lags = np.concatenate(served_lag) if served_lag else np.array([])
    all_amounts = np.concatenate(served_amount) if served_amount else np.array([])
    return {
        "weekly": pd.DataFrame(weekly),
        "median_lag": weighted_median(all_lags, all_amounts),
        "allocated": float(all_amounts.sum()),
        "lags": all_lags,
        "amounts": all_amounts,
    }


def _forecast_start(con: duckdb.DuckDBPyConnection) -> date:
    return query_row(con, "select as_at_date from mart_model_info")["as_at_date"]


SUMMARY_COLUMNS = [
    "cluster", "waiting_now", "allocations_a_week", "extra_a_week",
    *(f"{measure}_{scenario}" for scenario in ("current", "what_if") for measure in (
        "waiting_end", "over_threshold_end", "median_lag", "allocated"
    )),
]  # fmt: skip


def capacity_forecast(
    con: duckdb.DuckDBPyConnection, extra: tuple[tuple[str, float], ...] = ()
) -> dict[str, Any]:
    """Each cluster's forecast from the as-at date at its current allocations a week and with the
    what-if's extra (cluster, extra allocations a week; negative takes capacity away).

    Returns {"start": date, "weekly": DataFrame of cluster, week_end, scenario ("current",
    "what_if"), waiting, waiting_over_threshold, allocated, median_lag; "summary": one row per
    cluster with waiting_now, allocations_a_week, extra_a_week and, for each scenario, the waiting
    list and those over the threshold at the last week's end, the median lag over the weeks and
    the allocations it is taken over}.
    """
    threshold = default_waiting_threshold()
    start = _forecast_start(con)
    inputs = forecast_inputs(con, start)
    extras = dict(extra)
    weekly, summary = [], []
    for name, queue in inputs.clusters.items():
        row: dict[str, Any] = {
            "cluster": name,
            "waiting_now": len(queue.waiting_received),
            "allocations_a_week": queue.allocations_a_week,
            "extra_a_week": float(extras.get(name, 0.0)),
        }
        current = simulate(inputs, queue, 0.0, threshold)
        more = float(extras.get(name, 0.0))
        # no change for this cluster: the what-if is the current forecast, not simulated again
        what_if = simulate(inputs, queue, more, threshold) if more else current
        for scenario, run in (("current", current), ("what_if", what_if)):
            weekly.append(run["weekly"].assign(cluster=name, scenario=scenario))
            last = run["weekly"].iloc[-1]
            row[f"waiting_end_{scenario}"] = last["waiting"]
            row[f"over_threshold_end_{scenario}"] = last["waiting_over_threshold"]
            row[f"median_lag_{scenario}"] = run["median_lag"]
            row[f"allocated_{scenario}"] = run["allocated"]
        summary.append(row)
    return {
        "start": start,
        "end": inputs.fridays[-1],
        "weekly": pd.concat(weekly, ignore_index=True) if weekly else pd.DataFrame(
            columns=["cluster", "week_end", "scenario", "waiting", "waiting_over_threshold",
                     "allocated", "median_lag"]
        ),
        "summary": pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
        "threshold": threshold,
    }  # fmt: skip


def actual_waiting(con: duckdb.DuckDBPyConnection, fridays: Sequence[date]) -> pd.DataFrame:
    """The referrals waiting at the end of each of these days, per cluster (every cluster, every
    day: nobody waiting is 0)."""
    return query_frame(
        con,
        """
        with as_at as (
            select calendar_date, working_day_index from mart_calendar
            where list_contains(?::date[], calendar_date)
        ),
        clusters as (select distinct cluster from mart_referral where cluster is not null),
        waiting as (
            select as_at.calendar_date, mart_referral.cluster, count(*) as waiting
            from as_at inner join mart_referral
                on received_date <= as_at.calendar_date
                and (allocated_date is null or allocated_date > as_at.calendar_date)
                and (decision_date is null or decision_date > as_at.calendar_date or is_accepted)
            group by all
        )
        select clusters.cluster, as_at.calendar_date as week_end,
               coalesce(waiting.waiting, 0) as waiting
        from clusters cross join as_at
        left join waiting
            on waiting.cluster = clusters.cluster and waiting.calendar_date = as_at.calendar_date
        order by clusters.cluster, week_end
        """,
        [list(fridays)],
    )


def recent_waiting(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The waiting list counted at each Friday of the forecast's `weeks` before the as-at date,
    and at the as-at date itself, per cluster: the line the forecast continues."""
    start = _forecast_start(con)
    weeks = forecast_settings()["weeks"]
    fridays = pd.date_range(start - timedelta(weeks=weeks), start, freq="W-FRI")
    days = sorted({*(d.date() for d in fridays), start})
    frame = actual_waiting(con, days)
    frame["week_end"] = pd.to_datetime(frame["week_end"]).dt.date
    return frame


def forecast_replay(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The forecast made as if at the end of the quarter before the last complete one, with what
    was known then and current allocations a week, against what happened: per cluster, the mean
    absolute error of the waiting list over the weeks' ends, the waiting list at the last week's
    end forecast and actual, and the median lag forecast and actual (referrals allocated in the
    weeks); the district's too (clusters summed; its median over every allocation).

    Returns {"start": date, "end": date, "weekly": DataFrame of cluster, week_end, forecast,
    actual; "summary": DataFrame of cluster (the district last, as "All clusters"),
    mean_absolute_error, relative_error (that error over the mean actual waiting list),
    forecast_end, actual_end,
    forecast_median_lag, actual_median_lag, actual_allocated}."""
    threshold = default_waiting_threshold()
    as_at = _forecast_start(con)
    quarter_start, _ = last_complete_quarter(as_at)
    start = quarter_start - timedelta(days=1)
    inputs = forecast_inputs(con, start)
    actual = actual_waiting(con, inputs.fridays)
    actual["week_end"] = pd.to_datetime(actual["week_end"]).dt.date
    allocated = query_frame(
        con,
        """
        select cluster, allocation_lag_working_days as lag
        from mart_referral where allocated_date > ? and allocated_date <= ?
        """,
        [start, inputs.fridays[-1]],
    )
    weekly, summary = [], []
    lags, amounts = [], []
    for name, queue in inputs.clusters.items():
        run = simulate(inputs, queue, 0.0, threshold)
        mine = actual[actual["cluster"] == name].set_index("week_end")["waiting"]
        frame = pd.DataFrame(
            {
                "cluster": name,
                "week_end": inputs.fridays,
                "forecast": run["weekly"]["waiting"].to_numpy(),
                "actual": mine.reindex(inputs.fridays).fillna(0).to_numpy(),
            }
        )
        weekly.append(frame)
        real = allocated.loc[allocated["cluster"] == name, "lag"].to_numpy(float)
        summary.append(_replay_row(name, frame, run["median_lag"], real))
        lags.append(run["lags"])
        amounts.append(run["amounts"])
    if not weekly:  # no cluster has a referral
        weekly.append(pd.DataFrame(columns=["cluster", "week_end", "forecast", "actual"]))
        lags, amounts = [np.array([])], [np.array([])]
    weekly_frame = pd.concat(weekly, ignore_index=True)
    district = weekly_frame.groupby("week_end", as_index=False)[["forecast", "actual"]].sum()
    summary.append(
        _replay_row(
            "All clusters",
            district,
            weighted_median(np.concatenate(lags), np.concatenate(amounts)),
            allocated["lag"].to_numpy(float),
        )
    )
    return {
        "start": start,
        "end": inputs.fridays[-1],
        "weekly": weekly_frame,
        "summary": pd.DataFrame(summary),
    }


def _replay_row(
    name: str, frame: pd.DataFrame, forecast_median: float, actual_lags: np.ndarray
) -> dict[str, Any]:
    errors = (frame["forecast"] - frame["actual"]).abs()
    actual_mean = frame["actual"].mean()
    return {
        "cluster": name,
        "mean_absolute_error": float(errors.mean()),
        "relative_error": float(errors.mean() / actual_mean) if actual_mean > 0 else float("nan"),
        "forecast_end": float(frame["forecast"].iloc[-1]) if len(frame) else float("nan"),
        "actual_end": float(frame["actual"].iloc[-1]) if len(frame) else float("nan"),
        "forecast_median_lag": forecast_median,
        "actual_median_lag": float(np.median(actual_lags)) if len(actual_lags) else float("nan"),
        "actual_allocated": len(actual_lags),
    }
