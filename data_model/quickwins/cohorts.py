"""Who the ranking learns from, is tested on and scores: attachment cohorts split by explicit
dates, the label, and the two lists scored on the as-at date.

The split is by time, not by row count: the later (test) cohort is the families attached in the
`test_cohort_months` before follow-up was last complete (the as-at date less the horizon); the
training cohorts end one horizon before the test cohort starts, so every training label was
known on the day the first test family was attached. The last `calibration_months` of the
training cohorts calibrate the probabilities; the earlier ones fit the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from data_model.quickwins.card import outcome_words


def _months_before(day: date, months: int) -> date:
    return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()


@dataclass(frozen=True)
class Cohorts:
    """The explicit boundaries (inclusive dates) of the split."""

    as_at: date
    horizon_months: int
    fit_to: date  # fit cohorts: attached on or before this day
    calibration_from: date
    calibration_to: date
    test_from: date
    test_to: date  # = the as-at date less the horizon: the last day follow-up is complete

    @classmethod
    def for_as_at(
        cls, as_at: date, horizon_months: int, test_months: int, calibration_months: int
    ) -> Cohorts:
        test_to = _months_before(as_at, horizon_months)
        test_from = _months_before(test_to, test_months) + timedelta(days=1)
        # a family attached on calibration_to had its label known the day before test_from
        calibration_to = _months_before(test_from, horizon_months) - timedelta(days=1)
        calibration_from = _months_before(calibration_to, calibration_months) + timedelta(days=1)
        return cls(
            as_at=as_at,
            horizon_months=horizon_months,
            fit_to=calibration_from - timedelta(days=1),
            calibration_from=calibration_from,
            calibration_to=calibration_to,
            test_from=test_from,
            test_to=test_to,
        )

    def cohort_of(self, attached: date) -> str | None:
        """'fit', 'calibration', 'test' or None (in the gap, or follow-up not complete)."""
        if attached <= self.fit_to:
            return "fit"
        if self.calibration_from <= attached <= self.calibration_to:
            return "calibration"
        if self.test_from <= attached <= self.test_to:
            return "test"
        return None


def plan_pays_results(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the plan pays for results: its label is then a results claim; otherwise (grants,
    not per-family payments) the plan's sustained outcome."""
    row = con.execute("select results_payment from cfg_plan").fetchone()
    return bool(row and row[0] and row[0] > 0)


def label_words(pays_results: bool, horizon_months: int) -> str:
    """The label in words, for the model card and the pages."""
    if pays_results:
        return f"{outcome_words(True)} within {horizon_months} months of attachment"
    return (
        f"{outcome_words(False)} (significant and sustained progress on every problem) "
        f"within {horizon_months} months of attachment"
    )


_OUTCOMES_SQL = """
with attached as (
    select family_key, attached_date, episode_id, cluster, closure_date
    from int_plan_attachment
    where attached_date <= ?::date
),

results_claims as (
    select family_key, min(claimable_date) as outcome_date
    from mart_claim where claim_type = 'results'
    group by family_key
),

sustained as (
    -- the route that needs progress on every problem: the plan's sustained outcome
    select route.family_key, min(route.achieved_date) as outcome_date
    from int_plan_family_route as route
    inner join cfg_plan_route as plan_route using (route_id)
    where route.is_current and plan_route.requires = 'every_problem'
    group by route.family_key
)

select attached.*,
       case when ? then results_claims.outcome_date else sustained.outcome_date end
           as outcome_date
from attached
left join results_claims using (family_key)
left join sustained using (family_key)
order by attached.family_key
"""


def attached_outcomes(con: duckdb.DuckDBPyConnection, as_at: date, pays: bool) -> pd.DataFrame:
    """Every family attached by the as-at date, with the day of its first outcome (results claim
    or sustained outcome, as the plan has it), empty while none."""
    frame = con.execute(_OUTCOMES_SQL, [as_at, pays]).df()
    for column in ("attached_date", "outcome_date", "closure_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def labelled_families(outcomes: pd.DataFrame, cohorts: Cohorts) -> pd.DataFrame:
    """The attached families whose follow-up is complete, each in its cohort, with the label:
    an outcome within the horizon of attachment. Families in the gap are left out."""
    frame = outcomes.copy()
    frame["cohort"] = [cohorts.cohort_of(day) for day in frame["attached_date"]]
    frame = frame[frame["cohort"].notna()].copy()
    deadline = [
        (pd.Timestamp(day) + pd.DateOffset(months=cohorts.horizon_months)).date()
        for day in frame["attached_date"]
    ]
    frame["label"] = [
        int(outcome is not None and not pd.isna(outcome) and outcome <= last)
        for outcome, last in zip(frame["outcome_date"], deadline, strict=True)
    ]
    frame["feature_date"] = frame["attached_date"]
    return frame.reset_index(drop=True)


def unreferred_eligible(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Families meeting the plan's eligibility rule on the as-at date that early help has never
    known: the rule's list (mart_quickwin_unreferred), not the model's. A model built before that
    mart existed: eligible families no case reached."""
    has_mart = con.execute(
        "select count(*) from information_schema.tables where table_name = "
        "'mart_quickwin_unreferred' and table_catalog = current_database()"
    ).fetchone()[0]
    if has_mart:
        return con.execute(
            "select distinct family_key from mart_quickwin_unreferred order by family_key"
        ).df()
    return con.execute(
        """
        select eligibility.family_key
        from mart_plan_family_eligibility as eligibility
        where eligibility.date_kind = 'as at' and eligibility.is_eligible
          and not exists (
              select 1 from int_plan_family_case as family_case
              where family_case.family_key = eligibility.family_key
          )
        order by eligibility.family_key
        """
    ).df()


def scoring_population(
    con: duckdb.DuckDBPyConnection, outcomes: pd.DataFrame, as_at: date
) -> pd.DataFrame:
    """The two lists scored on the as-at date: attached families with no outcome yet ("attached")
    and eligible families never referred ("unreferred"), each with its feature date (the as-at
    date) and, for an attached family, the episode that attached it."""
    attached = outcomes[outcomes["outcome_date"].isna()][["family_key", "episode_id"]].copy()
    attached["list"] = "attached"
    unreferred = unreferred_eligible(con)
    unreferred["episode_id"] = None
    unreferred["list"] = "unreferred"
    population = pd.concat([attached, unreferred], ignore_index=True)
    population["feature_date"] = as_at
    con.register("qw_listed", population[["family_key"]])
    try:
        # where each family is, so the lists can be filtered by cluster and ward
        places = con.execute(
            """
            select listed.family_key, attachment.cluster, family.ward_code, family.ward_name,
                   wards.area_committee, attachment.attached_date, attachment.closure_date
            from qw_listed as listed
            left join int_plan_attachment as attachment using (family_key)
            left join mart_family as family using (family_key)
            left join stg_wards as wards using (ward_code)
            """
        ).df()
    finally:
        con.unregister("qw_listed")
    return population.merge(places, on="family_key", how="left")
