"""The Referrals page's backlog by cluster, what the lag costs and what more capacity would buy, in
AppTest, against the tests' own SQL and arithmetic.

Independence: the page's figures come from data_model.read (referrals, lag_cost, forecast) over
the marts. These tests count waiting lists from the raw tables with numpy's business-day counter
and GOV.UK's bank holidays (tests/gov_uk.py), fit the lag-cost regression with scikit-learn, and
replay the forecast with a queue simulation of their own written from the method the page states.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from data_model.read import lag_cost
from pages.ui.formats import fmt_number, round_as_shown, slug
from tests.gov_uk import BANK_HOLIDAYS, working_days_after
from tests.test_app_pages import (
    THRESHOLD,
    as_at_date,
    frame_with,
    last_complete_quarter,
    open_app,
    open_tab,
    plotly_traces,
    referrals,
    share_as_shown,
    waiting_at,
)
from tests.text_payloads import as_shown

BACKLOG_COLUMNS = (
    "cluster", "waiting", "waiting_over_threshold", "waiting_at_start", "change", "trend",
)  # fmt: skip
LAG_BANDS = [10, 20, 40]  # upper edges: 0–10, 11–20, 21–40, over 40
FOLLOW_UP_MONTHS = 18
FEW = 10  # settings.yaml display.caution_below_cases


def page_text(at) -> str:
    """What the page says, as read (its text and its notices): escapes and bold marks taken
    out."""
    return as_shown(" ".join(m.value for m in (*at.markdown, *at.info))).replace("**", "")


def bank_holidays() -> np.ndarray:
    return np.array(BANK_HOLIDAYS, dtype="datetime64[D]")


def working_days_between(after: date, upto: date) -> pd.DatetimeIndex:
    """The working days after `after`, up to and including `upto`."""
    days = pd.date_range(after + timedelta(days=1), upto, freq="D")
    keep = np.is_busday(days.values.astype("datetime64[D]"), holidays=bank_holidays())
    return days[keep]


# --- Backlog by cluster --------------------------------------------------------------------------


def test_backlog_by_cluster_opens_on_last_quarter_and_matches_independent_counts(
    app_model: Path, model_sql
) -> None:
    as_at = as_at_date(model_sql)
    start, end = last_complete_quarter(as_at)
    before = start - timedelta(days=1)
    frame = referrals(model_sql)
    clusters = sorted(frame["cluster"].dropna().unique())

    at = open_app("pages/referrals.py")
    assert at.radio(key="period").value.startswith("Last quarter")
    assert [h.value for h in at.header][0] == "Backlog by cluster"
    shown = frame_with(at, *BACKLOG_COLUMNS).set_index("cluster")
    assert sorted(shown.index) == clusters

    fridays = [d.date() for d in pd.date_range(start, end, freq="W-FRI")]
    days = sorted({before, *fridays, end})
    expected = {}
    for cluster in clusters:
        mine = frame[frame["cluster"] == cluster]
        now, then = waiting_at(mine, end), waiting_at(mine, before)
        expected[cluster] = (len(now), int((now["waited"] > THRESHOLD).sum()))
        row = shown.loc[cluster]
        assert row["waiting"] == len(now), cluster
        assert row["waiting_over_threshold"] == expected[cluster][1], cluster
        assert row["waiting_at_start"] == len(then), cluster
        assert row["change"] == len(now) - len(then), cluster
        assert list(row["trend"]) == [len(waiting_at(mine, d)) for d in days], cluster
    # Worst first: most over the threshold, then most waiting, then by name.
    order = sorted(clusters, key=lambda c: (-expected[c][1], -expected[c][0], c))
    assert list(shown.index) == order
    assert shown["waiting"].sum() == len(waiting_at(frame, end))

    text = page_text(at)
    worst = order[0]
    waiting, over = expected[worst]
    if waiting == 0:
        assert f"Nobody was waiting for allocation at {end:%d %b %Y}" in text
    elif over:
        assert f"{worst} has the worst backlog: {waiting:,} referral" in text
        assert f"{over:,} of them more than {THRESHOLD} working days" in text
    else:
        assert f"{worst} had the most waiting: {waiting:,} referral" in text


def test_backlog_by_cluster_follows_the_cluster_filter(app_model: Path, model_sql) -> None:
    as_at = as_at_date(model_sql)
    _, end = last_complete_quarter(as_at)
    frame = referrals(model_sql)
    busiest = frame["cluster"].value_counts().index[0]
    at = open_app("pages/referrals.py")
    at.multiselect(key="clusters").set_value([busiest]).run()
    assert not at.exception
    shown = frame_with(at, *BACKLOG_COLUMNS)
    assert shown["cluster"].tolist() == [busiest]
    assert shown["waiting"].iloc[0] == len(waiting_at(frame[frame["cluster"] == busiest], end))


# --- What the lag costs --------------------------------------------------------------------------


def lag_cohort(con: duckdb.DuckDBPyConnection, as_at: date) -> pd.DataFrame:
    """The attached families allocated at least 18 months before the as-at date, from the loaded
    episodes and referrals: the lag counted with numpy's business days, the problems held on the
    day of referral from the plan engine's spans, a claim from the claims."""
    families = con.execute(
        """
        with first_attached as (
            select status.family_key, status.case_id, status.attached_date
            from mart_plan_family_status status where status.is_current
        ),
        episode as (
            select first_attached.family_key, e.referral_id, e.allocated_date
            from first_attached
            inner join raw_ehm_episodes e
                on e.case_id = first_attached.case_id
               and e.attached_date = first_attached.attached_date
            qualify row_number() over (partition by first_attached.family_key
                                       order by e.episode_id) = 1
        )
        select episode.family_key, r.received_date, episode.allocated_date,
               (select min(claimable_date) from mart_claim c
                where c.family_key = episode.family_key and c.claim_type = 'results')
                   as claimable_date,
               (select list(distinct s.problem_id) from int_plan_family_problem_span s
                where s.family_key = episode.family_key
                  and least(r.received_date, first_attached.attached_date)
                      between s.span_from and s.span_until) as problems
        from episode
        inner join first_attached using (family_key)
        inner join raw_ehm_referrals r on r.referral_id = episode.referral_id
        where episode.allocated_date is not null
        """
    ).df()
    cutoff = pd.Timestamp(as_at) - pd.DateOffset(months=FOLLOW_UP_MONTHS)
    for column in ("received_date", "allocated_date", "claimable_date"):
        families[column] = pd.to_datetime(families[column])
    families = families[families["allocated_date"] <= cutoff].copy()
    families["lag"] = working_days_after(families["received_date"], families["allocated_date"])
    families["band"] = np.searchsorted(LAG_BANDS, families["lag"], side="left")
    follow_up = families["allocated_date"].map(lambda d: d + pd.DateOffset(months=FOLLOW_UP_MONTHS))
    families["reached"] = (families["claimable_date"] <= follow_up).fillna(False).astype(bool)
    families["problems"] = families["problems"].map(
        lambda p: set(p) if isinstance(p, list | np.ndarray) else set()
    )
    return families.reset_index(drop=True)


def adjusted(families: pd.DataFrame, bands: list[int], problems: list[str]) -> dict:
    """scikit-learn's unpenalised fit, standardised shares and delta-method gaps (numerical
    gradient)."""
    kept = families[families["band"].isin(bands)].reset_index(drop=True)
    y = kept["reached"].to_numpy(float)
    used = []
    for problem in problems:
        held = kept["problems"].map(lambda p, q=problem: q in p).to_numpy()
        groups = (y[held], y[~held])
        if min(len(g) for g in groups) >= FEW and all(len(set(g)) == 2 for g in groups):
            used.append(held.astype(float))
    covariates = np.column_stack(used) if used else np.empty((len(kept), 0))
    dummies = np.column_stack([(kept["band"] == b).to_numpy(float) for b in bands[1:]])
    x = np.column_stack([np.ones(len(kept)), dummies, covariates])
    fit = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(x[:, 1:], y)
    beta = np.r_[fit.intercept_, fit.coef_[0]]
    p = 1 / (1 + np.exp(-(x @ beta)))
    covariance = np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))

    def share(b: np.ndarray, i: int) -> float:
        as_if = x.copy()
        as_if[:, 1 : len(bands)] = 0.0
        if i:
            as_if[:, i] = 1.0
        return float((1 / (1 + np.exp(-(as_if @ b)))).mean())

    out = {}
    for i, band in enumerate(bands):
        gap = share(beta, 0) - share(beta, i)
        step, k = 1e-6, len(beta)
        gradient = np.array(
            [
                (share(beta + step * np.eye(k)[j], 0) - share(beta + step * np.eye(k)[j], i))
                - (share(beta - step * np.eye(k)[j], 0) - share(beta - step * np.eye(k)[j], i))
                for j in range(k)
            ]
        ) / (2 * step)
        se = float(np.sqrt(max(gradient @ covariance @ gradient, 0)))
        out[band] = {"share": share(beta, i), "gap": gap, "low": gap - 1.96 * se,
                     "high": gap + 1.96 * se}  # fmt: skip
    return out


def test_lag_cost_figures_match_independent_sql_and_fit(app_model: Path, model_sql) -> None:
    as_at = as_at_date(model_sql)
    families = lag_cohort(model_sql, as_at)
    assert len(families), "the test model should have attached families allocated long ago"
    counted = (
        families.groupby("band")["reached"].agg(["size", "sum"]).reindex(range(4), fill_value=0)
    )

    at = open_app("pages/referrals.py")
    open_tab(at, "What the lag costs")
    shown = frame_with(
        at, "band_order", "band", "band_words", "families", "claims", "share_counted",
        "share_adjusted", "share_low", "share_high", "gap", "gap_low", "gap_high", "estimable",
        "note",
    )  # fmt: skip
    assert shown["band"].tolist() == ["0–10", "11–20", "21–40", "Over 40"]
    assert shown["families"].tolist() == counted["size"].tolist()
    assert shown["claims"].tolist() == counted["sum"].tolist()
    for band, row in shown.iterrows():
        size, claims = counted.loc[band]
        if size:
            assert row["share_counted"] == share_as_shown(claims / size)
    estimable = [
        band for band in range(4) if counted.loc[band, "size"] >= FEW
        and 0 < counted.loc[band, "sum"] < counted.loc[band, "size"]
    ]  # fmt: skip
    assert shown.index[shown["estimable"]].tolist() == estimable
    # a share counted over fewer than 10 families carries a caution beside it
    few = shown["families"] < FEW
    assert shown.loc[few, "note"].str.startswith("Fewer than 10 families").all()
    assert not shown.loc[~few, "note"].str.startswith("Fewer than").any()
    text = page_text(at)
    if 0 not in estimable or len(estimable) < 2:
        assert "No adjusted comparison is possible" in text
        assert shown["share_adjusted"].isna().all()
        return

    problems = (
        model_sql.execute("select problem_id from mart_plan_problem order by problem_order")
        .df()["problem_id"]
        .tolist()
    )
    expected = adjusted(families, estimable, problems)
    for band in estimable:
        row, want = shown.loc[band], expected[band]
        assert row["share_adjusted"] == pytest.approx(want["share"], abs=0.00051)
        if band:
            assert row["gap"] == pytest.approx(100 * want["gap"], abs=0.001)
            assert row["gap_low"] == pytest.approx(100 * want["low"], abs=0.01)
            assert row["gap_high"] == pytest.approx(100 * want["high"], abs=0.01)
    longest = expected[estimable[-1]]
    direction = "less" if longest["gap"] >= 0 else "more"
    words = "after more than 40" if estimable[-1] == 3 else "after"
    assert (
        f"Families allocated {words}" in text
        and f"reached a claim {abs(100 * longest['gap']):.1f} points {direction} often than "
        "similar families allocated within 10 working days"
        in text
    )


def test_lag_cost_payments_for_the_families_waiting_now(app_model: Path, model_sql) -> None:
    """The payments sentence: the gaps times the waiting referrals in each band, times the share
    of allocated referrals attached, times the plan's results payment."""
    as_at = as_at_date(model_sql)
    at = open_app("pages/referrals.py")
    open_tab(at, "What the lag costs")
    shown = frame_with(
        at, "band_order", "band", "band_words", "families", "claims", "share_counted",
        "share_adjusted", "share_low", "share_high", "gap", "gap_low", "gap_high", "estimable",
        "note",
    ).set_index("band_order")  # fmt: skip
    text = page_text(at)
    waiting = waiting_at(referrals(model_sql), as_at)
    bands = pd.Series(np.searchsorted(LAG_BANDS, waiting["waited"], side="left"))
    gaps = shown["gap"].fillna(0.0) / 100
    counted = int(bands[bands.isin(shown.index[shown["gap"].notna()])].count())
    if not shown["estimable"].iloc[0] or not counted:
        assert "results claims** (95% interval" not in text
        return
    cutoff = (pd.Timestamp(as_at) - pd.DateOffset(months=FOLLOW_UP_MONTHS)).date()
    families = len(lag_cohort(model_sql, as_at))
    allocated = model_sql.execute(
        """
        select count(*) from raw_ehm_episodes e
        inner join raw_ehm_referrals r using (referral_id)
        where e.allocated_date <= ?
        """,
        [cutoff],
    ).fetchall()[0][0]
    claims = families / allocated * sum(gaps[b] for b in bands)
    payment = model_sql.execute("select results_payment from mart_plan").fetchall()[0][0]
    number = fmt_number(abs(claims))
    minus = "−" if claims < 0 and number != "0" else ""
    assert f"waiting now (at {as_at:%d %b %Y}, all clusters)" in text
    assert f"the gap represents about {minus}{number} results claims" in text
    if payment:
        pounds = f"£{round(abs(claims * payment)):,}"
        minus = "−" if claims < 0 and pounds != "£0" else ""
        assert f"{minus}{pounds} at the plan's £{round(payment):,} a results claim" in text
    else:
        assert "the plan pays nothing for results" in text and "£0" not in text


# --- What more capacity would buy ----------------------------------------------------------------


def replay(con: duckdb.DuckDBPyConnection, as_at: date) -> dict[str, pd.DataFrame]:
    """The forecast made as if at the end of the quarter before the last complete one, written
    again from the method the page states, and the waiting lists counted at its Fridays."""
    quarter_start, _ = last_complete_quarter(as_at)
    start = quarter_start - timedelta(days=1)
    since = (pd.Timestamp(start) - pd.DateOffset(years=2)).date()
    frame = referrals(con)
    ts = pd.Timestamp
    window = frame[(frame["received_date"] > ts(since)) & (frame["received_date"] <= ts(start))]
    days_in_window = working_days_between(since, start)
    per_month = pd.Series(days_in_window.month).value_counts()
    overall = len(window) / len(days_in_window)
    received_month = window["received_date"].dt.month.value_counts()
    season = {m: received_month.get(m, 0) / per_month[m] / overall for m in per_month.index}
    decided = window[
        (window["decision_date"] <= ts(start)) & window["decision"].fillna("").ne("")
        & window["decision"].ne("Awaiting decision")
    ]  # fmt: skip
    took = pd.Series(
        working_days_after(decided["received_date"], decided["decision_date"]), decided.index
    )
    accepted = decided["decision"] == "Accepted"
    decline_days = math.floor(float(np.median(took[~accepted])) + 0.5)
    accept_days = math.floor(float(np.median(took[accepted])) + 0.5)

    fridays = [d.date() for d in pd.date_range(start + timedelta(days=1), periods=13, freq="W-FRI")]
    days = working_days_between(start, fridays[-1])
    first_day = days[0].to_datetime64().astype("datetime64[D]")
    holidays = bank_holidays()

    def after(day: np.datetime64, n: int) -> np.datetime64:
        return np.busday_offset(day, n, roll="backward", holidays=holidays)

    rows = []
    for cluster in sorted(frame["cluster"].dropna().unique()):
        mine = frame[frame["cluster"] == cluster]
        in_window = window[window["cluster"] == cluster]
        decided_here = decided[decided["cluster"] == cluster]
        leave_share = (decided_here["decision"] != "Accepted").mean() if len(decided_here) else 0.0
        recent = mine["allocated_date"].between(
            ts(start - timedelta(weeks=13)), ts(start), inclusive="right"
        )
        a_day = recent.sum() / 13 / 5
        a_received_day = len(in_window) / len(days_in_window)
        # cohorts: [received, stay, leave, leave on, ready on]
        cohorts = []
        for row in waiting_at(mine, start).sort_values("received_date", kind="stable").itertuples():
            received = np.datetime64(row.received_date.date(), "D")
            sure = row.decision == "Accepted" and row.decision_date <= ts(start)
            share = 0.0 if sure else leave_share
            cohorts.append(
                [
                    received, 1 - share, share, max(after(received, decline_days), first_day),
                    first_day if sure else max(after(received, accept_days), first_day),
                ]
            )  # fmt: skip
        forecast_at = {}
        for day in days:
            today = day.to_datetime64().astype("datetime64[D]")
            arriving = a_received_day * season[day.month]
            cohorts.append(
                [today, arriving * (1 - leave_share), arriving * leave_share,
                 after(today, decline_days), after(today, accept_days)]
            )  # fmt: skip
            for cohort in cohorts:
                if cohort[3] <= today:
                    cohort[2] = 0.0
            left = a_day
            for cohort in cohorts:  # oldest first
                if cohort[4] <= today and left > 0:
                    take = min(cohort[1], left)
                    cohort[1] -= take
                    left -= take
            if day.date() in fridays:
                forecast_at[day.date()] = sum(c[1] + c[2] for c in cohorts)
        for friday in fridays:
            rows.append(
                {
                    "cluster": cluster,
                    "week_end": friday,
                    "forecast": forecast_at[friday],
                    "actual": len(waiting_at(mine, friday)),
                }
            )
    return {"start": start, "fridays": fridays, "weekly": pd.DataFrame(rows)}


REPLAY_COLUMNS = (
    "cluster", "mean_absolute_error", "relative_error", "forecast_end", "actual_end",
    "forecast_median_lag", "actual_median_lag", "actual_allocated", "caution",
)  # fmt: skip


def test_forecast_replay_error_matches_an_independent_replay(app_model: Path, model_sql) -> None:
    as_at = as_at_date(model_sql)
    expected = replay(model_sql, as_at)
    weekly = expected["weekly"]
    errors = (weekly["forecast"] - weekly["actual"]).abs().groupby(weekly["cluster"]).mean()
    district = weekly.groupby("week_end")[["forecast", "actual"]].sum()

    at = open_app("pages/referrals.py")
    open_tab(at, "What more capacity would buy")
    shown = frame_with(at, *REPLAY_COLUMNS).set_index("cluster")
    assert list(shown.index) == [*sorted(errors.index), "All clusters"]
    for cluster, error in errors.items():
        assert shown.loc[cluster, "mean_absolute_error"] == pytest.approx(error, abs=1e-6), cluster
        last = weekly[(weekly["cluster"] == cluster)].iloc[-1]
        assert shown.loc[cluster, "actual_end"] == last["actual"], cluster
        assert shown.loc[cluster, "forecast_end"] == round_as_shown(last["forecast"], 0), cluster
    allocated = shown["actual_allocated"]
    assert (shown["caution"] != "").tolist() == (allocated < FEW).tolist()
    district_error = (district["forecast"] - district["actual"]).abs().mean()
    assert shown.loc["All clusters", "mean_absolute_error"] == pytest.approx(district_error)
    text = page_text(at)
    start = expected["start"]
    assert f"The same forecast made as if on {start:%d %b %Y}" in text
    assert f"was off by {fmt_number(district_error)} referrals a week" in text


def capacity_table(at) -> pd.DataFrame:
    """The capacity forecast's table (the one with the what-if's column), by cluster."""
    found = [d.value for d in at.dataframe if "waiting_end_what_if" in d.value.columns]
    assert len(found) == 1
    return found[0].set_index("cluster")


def test_the_what_if_moves_the_forecast_the_right_way(app_model: Path, model_sql) -> None:
    at = open_app("pages/referrals.py")
    open_tab(at, "What more capacity would buy")
    before = capacity_table(at)
    assert (before["waiting_end_current"] == before["waiting_end_what_if"]).all()
    assert before["waiting_now"].sum() == len(
        waiting_at(referrals(model_sql), as_at_date(model_sql))
    )

    # More capacity where the most would be waiting: fewer waiting, nowhere else changed.
    busiest = before["waiting_end_current"].idxmax()
    assert before.loc[busiest, "waiting_end_current"] >= 1, "the model should forecast a queue"
    # Capacity taken from a cluster that has some: more waiting there.
    giving = before[(before["allocations_a_week"] > 0) & (before.index != busiest)]
    assert len(giving), "the model should have another cluster that allocates"
    donor = giving["allocations_a_week"].idxmax()
    at.number_input(key=f"extra_{slug(busiest)}").set_value(10).run()
    at.number_input(key=f"extra_{slug(donor)}").set_value(-50).run()
    assert not at.exception
    after = capacity_table(at)
    assert after.loc[busiest, "extra_a_week"] == 10 and after.loc[donor, "extra_a_week"] == -50
    assert after.loc[busiest, "waiting_end_what_if"] < after.loc[busiest, "waiting_end_current"]
    assert after.loc[donor, "waiting_end_what_if"] > after.loc[donor, "waiting_end_current"]
    others = after.index.difference([busiest, donor])
    assert (
        after.loc[others, "waiting_end_what_if"] == after.loc[others, "waiting_end_current"]
    ).all()
    assert (after["waiting_end_current"] == before["waiting_end_current"]).all()
    lag_now, lag_then = after.loc[busiest, ["median_lag_current", "median_lag_what_if"]]
    if "x" not in (lag_now, lag_then):
        assert float(lag_then.replace(",", "")) <= float(lag_now.replace(",", ""))
    # The chart draws the what-if beside the current forecast.
    names = [t["name"] for t in plotly_traces(at, "chart_capacity_forecast")]
    assert names == [
        "Waiting (counted)",
        "Forecast at current capacity",
        "Forecast with the what-if",
    ]


def test_a_plan_without_results_payments_shows_claims_never_pounds(
    synthetic_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same model under a plan that pays nothing for results, with the referrals waiting now
    made to have waited 15 working days longer: the gap is said in claims, and no £0 is shown.

    The test district's followed-up families mostly waited 10 working days or less, too few in
    any other band for a gap to be estimated; so their lags are set by hand, every other family
    (by family key) to 5 working days and the rest to 15, giving two bands of about the same
    size, each with families that did and did not reach a claim."""
    import shutil

    copy = tmp_path / "model.duckdb"
    shutil.copy(synthetic_model, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("update mart_plan set results_payment = 0")
        con.execute(
            """
            update mart_referral set received_working_day_index = received_working_day_index - 15
            where allocated_date is null and (decision_date is null or is_accepted)
            """
        )
        con.execute(
            """
            update mart_referral_lag_outcome as o
            set allocation_lag_working_days = case when k.n % 2 = 0 then 5 else 15 end
            from (
                select family_key, row_number() over (order by family_key) as n
                from mart_referral_lag_outcome
            ) as k
            where o.family_key = k.family_key
            """
        )
        bands = (
            lag_cost.lag_cost_families(con).groupby("band")["reached_claim"].agg(["size", "sum"])
        )
    # the hand-made cohort is what the estimate needs: two bands, each of at least 10 families,
    # some of which reached a claim and some not
    assert list(bands.index) == [0, 1], bands
    assert ((bands["size"] >= FEW) & (bands["sum"] > 0) & (bands["sum"] < bands["size"])).all()
    monkeypatch.setenv("FFI_MODEL", str(copy))
    at = open_app("pages/referrals.py")
    open_tab(at, "What the lag costs")
    shown = frame_with(
        at, "band_order", "band", "band_words", "families", "claims", "share_counted",
        "share_adjusted", "share_low", "share_high", "gap", "gap_low", "gap_high", "estimable",
        "note",
    )  # fmt: skip
    assert shown.loc[1, "estimable"] and pd.notna(shown.loc[1, "gap"]), "11–20 against 0–10"
    text = page_text(at)
    assert "results claims (95% interval" in text
    assert "the plan pays nothing for results, so the gap is shown in claims" in text
    assert "£0" not in text and "£−" not in text
