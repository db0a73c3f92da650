"""Every number a page shows, read from the marts.

Pages call these functions and draw what they return; the rules (what "waiting" means, how lag is
measured, how the trajectory is drawn) live here once. Values from users reach SQL only as
parameters; the SQL text itself is fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from data_model.linkage import Decision, pair_key
from data_model.settings import settings
from loaders.contracts import BY_SOURCE


def open_model(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open a built model read-only: pages can never change it.

    The file is ATTACHed to a fresh in-memory database rather than opened with duckdb.connect(path):
    DuckDB reuses an open database for the same path, so after a rebuild replaced the file a new
    connect() would still see the old one.
    """
    con = duckdb.connect()
    escaped = str(path).replace("'", "''")  # the path is configuration, never user input
    con.execute(f"attach '{escaped}' as model (read_only)")
    con.execute("use model")
    return con


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pd.DataFrame:
    """The rows of a parameterised query as a DataFrame (plan_queries reads through it too)."""
    return con.execute(sql, params or []).df()


def query_row(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> dict:
    """The first row of a parameterised query as a dict of column → value ({} when none)."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()  # fetchall, not fetchone: it leaves no open result behind
    return dict(zip(names, rows[0], strict=True)) if rows else {}


# --- The model and the programme -----------------------------------------------------------------


def model_info(con: duckdb.DuckDBPyConnection) -> dict:
    """When and from what the model was built, and the programme it measures."""
    info = query_row(con, "select * from mart_model_info")
    programme = query_row(con, "select * from mart_programme limit 1")
    return {
        **info,
        "programme_name": programme.get("programme_name"),
        "programme_start": programme.get("start_date"),
        "programme_end": programme.get("end_date"),
        "target_families": programme.get("target_families"),
        "target_origin": programme.get("origin"),
    }


def data_currency(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: the file it came from, rows read, loaded and rejected, and how current it is."""
    frame = query_frame(
        con,
        """
        select source, title, file, rows_read, rows_loaded, rows_rejected, data_current_as_of
        from mart_data_currency
        order by title
        """,
    )
    frame.insert(2, "system", frame["source"].map(lambda s: BY_SOURCE[s].system))
    return frame


# --- Filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralFilter:
    """What a user chose on the Referrals page. Empty tuples mean every cluster or source."""

    start: date
    end: date
    clusters: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


# The same fixed predicate for cluster and referral source everywhere; values go in as parameters.
_CLUSTER_SOURCE = """
    (len(?::varchar[]) = 0 or list_contains(?::varchar[], cluster))
    and (len(?::varchar[]) = 0 or list_contains(?::varchar[], referral_source))
"""


def _cluster_source_params(f: ReferralFilter) -> list[Any]:
    return [list(f.clusters), list(f.clusters), list(f.sources), list(f.sources)]


def filter_options(con: duckdb.DuckDBPyConnection) -> dict:
    row = query_row(
        con,
        "select min(received_date) as first_date, max(received_date) as last_date"
        " from mart_referral",
    )
    clusters = [
        r[0] for r in con.execute("select distinct cluster from stg_wards order by 1").fetchall()
    ]
    sources = [
        r[0]
        for r in con.execute(
            "select referral_source from mart_referral group by 1 order by count(*) desc"
        ).fetchall()
    ]
    return {**row, "clusters": clusters, "referral_sources": sources}


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_presets(as_at: date, programme_start: date) -> dict[str, tuple[date, date]]:
    """Named periods ending at the data's as-at date, labelled with their dates (DD Mon YYYY)."""
    # The last complete quarter: ending on as_at if that is a quarter end, else the one before.
    next_day = as_at + timedelta(days=1)
    quarter_end = (
        as_at if _quarter_start(next_day) == next_day else _quarter_start(as_at) - timedelta(1)
    )
    quarter_start = _quarter_start(quarter_end)
    month_end = (
        as_at if (as_at + timedelta(days=1)).day == 1 else as_at.replace(day=1) - timedelta(1)
    )
    year_start = date(as_at.year - 1, as_at.month, as_at.day) + timedelta(days=1)

    def label(name: str, start: date, end: date) -> str:
        return f"{name} ({start:%d %b %Y} to {end:%d %b %Y})"

    periods = {
        "Last quarter": (quarter_start, quarter_end),
        "Last month": (month_end.replace(day=1), month_end),
        "Last 12 months": (year_start, as_at),
        "Whole programme": (programme_start, as_at),
    }
    return {label(name, start, end): (start, end) for name, (start, end) in periods.items()}


# --- Referrals and decisions --------------------------------------------------------------------


def referrals_by_week(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    """Referrals received each week (weeks start on Monday), by referral source."""
    return query_frame(
        con,
        f"""
        select received_week as week_start, referral_source, count(*) as referrals
        from mart_referral
        where received_date between ? and ? and {_CLUSTER_SOURCE}
        group by all
        order by week_start, referral_source
        """,
        [f.start, f.end, *_cluster_source_params(f)],
    )


def decisions(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    """Decisions on the referrals received in the period (as recorded by the as-at date)."""
    return query_frame(
        con,
        f"""
        select decision, count(*) as referrals,
               count(*) / sum(count(*)) over () as share
        from mart_referral
        where received_date between ? and ? and {_CLUSTER_SOURCE}
        group by decision
        order by referrals desc
        """,
        [f.start, f.end, *_cluster_source_params(f)],
    )


def funnel(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    """How far the referrals received in the period have got, and the time each step took.

    Times are medians in working days from the previous step, over referrals that reached the step.
    """
    return query_frame(
        con,
        f"""
        with cohort as (
            select * from mart_referral
            where received_date between ? and ? and {_CLUSTER_SOURCE}
        ),

        steps as (
            select 1 as stage_order, 'Referred' as stage, count(*) as referrals,
                   cast(null as double) as median_working_days_from_previous
            from cohort
            union all
            select 2, 'Decided', count(*) filter (where is_decided),
                   median(decision_working_days)
            from cohort
            union all
            select 3, 'Accepted', count(*) filter (where is_accepted), null
            from cohort
            union all
            select 4, 'Allocated', count(*) filter (where is_allocated),
                   median(decision_to_allocation_working_days)
            from cohort
            union all
            select 5, 'First contact', count(first_contact_date),
                   median(allocation_to_first_contact_working_days)
            from cohort
            union all
            select 6, 'Assessment', count(assessment_date),
                   median(first_contact_to_assessment_working_days)
            from cohort
            union all
            select 7, 'Family plan', count(family_plan_date),
                   median(assessment_to_plan_working_days)
            from cohort
        )

        select
            stage_order,
            stage,
            referrals,
            referrals / nullif(max(referrals) filter (where stage_order = 1) over (), 0)
                as share_of_referred,
            median_working_days_from_previous
        from steps
        order by stage_order
        """,
        [f.start, f.end, *_cluster_source_params(f)],
    )


# --- Allocation lag -----------------------------------------------------------------------------
# Lag = working days from the day a referral was received to the day it was allocated to a lead
# practitioner. Measured over referrals *allocated* in the period (the clock has stopped for them);
# those still waiting are counted in the backlog instead, as waiting lists are reported in the NHS.

_LAG_MEASURES = """
    count(*) as allocated,
    median(allocation_lag_working_days) as median_working_days,
    quantile_cont(allocation_lag_working_days, 0.9) as p90_working_days
"""


def _allocation_lag(
    con: duckdb.DuckDBPyConnection, f: ReferralFilter, group_by: str
) -> pd.DataFrame:
    return query_frame(
        con,
        f"""
        select {group_by}, {_LAG_MEASURES}
        from mart_referral
        where allocated_date between ? and ? and {_CLUSTER_SOURCE}
        group by {group_by}
        order by {group_by}
        """,
        [f.start, f.end, *_cluster_source_params(f)],
    )


def allocation_lag_by_month(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    return _allocation_lag(con, f, "allocated_month").rename(columns={"allocated_month": "month"})


def allocation_lag_by_cluster(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    return _allocation_lag(con, f, "cluster")


def allocation_lag_by_team(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    return _allocation_lag(con, f, "cluster, team")


# --- Waiting: the backlog as at a date ----------------------------------------------------------
# A referral is waiting at the end of a day when it has been received, is not yet allocated, and
# has not been decided other than "Accepted". Its wait is counted in working days from receipt.

_WAITING_AT = """
    received_date <= as_at.calendar_date
    and (allocated_date is null or allocated_date > as_at.calendar_date)
    and (decision_date is null or decision_date > as_at.calendar_date or is_accepted)
"""


def default_waiting_threshold() -> int:
    return int(settings()["referrals"]["waiting_threshold_working_days"])


def _threshold_or_default(threshold_working_days: int | None) -> int:
    return default_waiting_threshold() if threshold_working_days is None else threshold_working_days


def unallocated_backlog(
    con: duckdb.DuckDBPyConnection, f: ReferralFilter, threshold_working_days: int | None = None
) -> pd.DataFrame:
    """Referrals waiting at the end of the period (period start does not apply), oldest first."""
    threshold = _threshold_or_default(threshold_working_days)
    return query_frame(
        con,
        f"""
        with as_at as (
            select calendar_date, working_day_index from mart_calendar where calendar_date = ?
        )

        select
            referral_id,
            cluster,
            referral_source,
            received_date,
            case when decision_date <= as_at.calendar_date then decision_date end as decision_date,
            case when decision_date <= as_at.calendar_date then 'Accepted, awaiting allocation'
                 else 'Awaiting decision' end as status,
            as_at.working_day_index - received_working_day_index as waiting_working_days,
            as_at.working_day_index - received_working_day_index > ? as over_threshold
        from mart_referral, as_at
        where {_WAITING_AT} and {_CLUSTER_SOURCE}
        order by waiting_working_days desc, referral_id
        """,
        [f.end, threshold, *_cluster_source_params(f)],
    )


def backlog_over_time(
    con: duckdb.DuckDBPyConnection, f: ReferralFilter, threshold_working_days: int | None = None
) -> pd.DataFrame:
    """Referrals waiting at the end of each Friday in the period."""
    threshold = _threshold_or_default(threshold_working_days)
    return query_frame(
        con,
        f"""
        with as_at as (
            select calendar_date, working_day_index from mart_calendar
            where calendar_date between ? and ? and isodow(calendar_date) = 5
        )

        select
            as_at.calendar_date as week_end,
            -- count(referral_id), not count(*): a week with nobody waiting has one empty row
            count(referral_id) filter (
                where decision_date is null or decision_date > as_at.calendar_date
            ) as awaiting_decision,
            count(referral_id) filter (where decision_date <= as_at.calendar_date)
                as awaiting_allocation,
            count(referral_id) filter (
                where as_at.working_day_index - received_working_day_index > ?
            ) as waiting_over_threshold
        from as_at
        left join mart_referral on {_WAITING_AT} and {_CLUSTER_SOURCE}
        group by as_at.calendar_date
        order by week_end
        """,
        [f.start, f.end, threshold, *_cluster_source_params(f)],
    )


def caseloads(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> pd.DataFrame:
    """Open episodes per key worker at the end of the period."""
    return query_frame(
        con,
        f"""
        select cluster, team, key_worker, count(*) as open_cases
        from mart_referral
        where allocated_date <= ? and (closure_date is null or closure_date > ?)
          and {_CLUSTER_SOURCE}
        group by all
        order by open_cases desc, cluster, team, key_worker
        """,
        [f.end, f.end, *_cluster_source_params(f)],
    )


# --- Attachment against the target -------------------------------------------------------------


def attachment_trajectory(
    con: duckdb.DuckDBPyConnection, target: int | None = None
) -> pd.DataFrame:
    """Families attached by month against a straight line from zero to the target at the end."""
    return query_frame(
        con,
        """
        select
            month,
            attached_in_month,
            attached_cumulative,
            round(coalesce(?, (select target_families from mart_programme limit 1))
                  * month_number / programme_months) as target_cumulative
        from mart_attachment_monthly
        order by month
        """,
        [target],
    )


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def programme_summary(con: duckdb.DuckDBPyConnection, target: int | None = None) -> dict:
    """Families referred and attached to date, and what it takes to reach the target."""
    info = model_info(con)
    as_at: date = info["as_at_date"]
    target = int(target if target is not None else info["target_families"])
    end: date = info["programme_end"]
    recent_months = int(settings()["programme"]["recent_rate_months"])
    # The last complete months up to the as-at date.
    recent_end = (
        as_at if (as_at + timedelta(days=1)).day == 1 else as_at.replace(day=1) - timedelta(1)
    )
    recent_start = (recent_end.replace(day=1) - pd.DateOffset(months=recent_months - 1)).date()

    counts = query_row(
        con,
        """
        select
            (select count(distinct case_id) from mart_referral where received_date <= ?)
                as families_referred,
            (select count(*) from mart_family_attachment where first_attached_date <= ?)
                as families_attached
        """,
        [as_at, as_at],
    )
    recent = query_row(
        con,
        """
        select count(*) as attached from mart_family_attachment
        where first_attached_date between ? and ?
        """,
        [recent_start, recent_end],
    )["attached"]
    trajectory = attachment_trajectory(con, target)
    expected_rows = trajectory[pd.to_datetime(trajectory["month"]) <= pd.Timestamp(as_at)]
    expected_by_now = int(expected_rows["target_cumulative"].iloc[-1]) if len(expected_rows) else 0

    attached = int(counts["families_attached"])
    months_remaining = max(_months_between(as_at, end), 0) if as_at < end else 0
    still_needed = max(target - attached, 0)
    return {
        "as_at_date": as_at,
        "programme_end": end,
        "families_referred": int(counts["families_referred"]),
        "families_attached": attached,
        "target": target,
        "expected_by_now": expected_by_now,
        "gap_families": expected_by_now - attached,
        "still_needed": still_needed,
        "months_remaining": months_remaining,
        "families_a_month_needed": (
            math.ceil(still_needed / months_remaining) if months_remaining else None
        ),
        "recent_months": recent_months,
        "recent_families_a_month": round(recent / recent_months, 1),
        "target_families_a_month": round(target / int(trajectory["month"].count() or 1), 1),
    }


# --- Data quality: loading, linkage and clerical review ------------------------------------------
# What the Data quality page shows: rows each source lost to its contract, how well the sources
# link into persons, what the last build's linkage did, and the pairs an analyst should decide.

# Splink's comparisons (linkage.yaml) in plain words, in the order a reviewer reads a pair.
LINKAGE_COMPARISONS = {
    "first_name": "First name",
    "last_name": "Last name",
    "dob": "Date of birth",
    "location": "Address and postcode",
    "sex": "Sex",
}


def model_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables and views in the model (a model built by an older release may lack some)."""
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables"
            " where table_catalog = current_database() order by 1"
        ).fetchall()
    ]


def _source_title(source: str) -> str:
    contract = BY_SOURCE.get(source)
    return contract.title if contract else source


def load_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: rows read, loaded and rejected by its contract, and the share rejected."""
    return query_frame(
        con,
        """
        select source, title, file, rows_read, rows_loaded, rows_rejected,
               rows_rejected / nullif(rows_read, 0) as rejected_share
        from mart_data_currency
        order by rows_rejected desc, title
        """,
    )


def load_rejects(con: duckdb.DuckDBPyConnection, source: str | None = None) -> pd.DataFrame:
    """Rows that broke their source's contract (one row per problem), for one source or all."""
    frame = query_frame(
        con,
        """
        select source, file, line, column_name, value, reason
        from mart_load_rejects
        where ?::varchar is null or source = ?
        order by source, line, column_name
        """,
        [source, source],
    )
    frame.insert(1, "title", frame["source"].map(_source_title))
    return frame


def linkage_by_source(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: its registrations, the persons they make, and the share known elsewhere too."""
    frame = query_frame(
        con,
        """
        select source, source_rows, registrations, persons, registrations_linked_elsewhere,
               linked_elsewhere_share
        from mart_linkage_by_source
        order by linked_elsewhere_share desc, source
        """,
    )
    frame.insert(1, "title", frame["source"].map(_source_title))
    return frame


def linkage_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """The last build's linkage in figures (one row of mart_linkage_summary); empty if none."""
    return query_row(con, "select * from mart_linkage_summary")


def linkage_parameters(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """What each level of each comparison is worth, strongest level first within a comparison."""
    frame = query_frame(
        con,
        """
        select comparison, level_order, label, m_probability, u_probability, match_weight
        from mart_linkage_parameter
        order by comparison, level_order
        """,
    )
    labels = frame["comparison"].map(LINKAGE_COMPARISONS)
    frame.insert(1, "comparison_label", labels.fillna(frame["comparison"]))
    reading_order = frame["comparison"].map({c: i for i, c in enumerate(LINKAGE_COMPARISONS)})
    frame = frame.assign(reading_order=reading_order.fillna(len(LINKAGE_COMPARISONS)))
    frame = frame.sort_values(["reading_order", "comparison", "level_order"], kind="stable")
    return frame.drop(columns="reading_order").reset_index(drop=True)


def linkage_review_queue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Pairs for clerical review from the last build: awaiting a decision first, strongest first.

    prior_weight is the weight a pair starts from before any comparison (how rare a true match is
    among all pairs): the pair's match weight is it plus the weight of each comparison.
    """
    frame = query_frame(
        con,
        """
        select
            pair_id, registration_l, registration_r, source_l, source_r,
            first_name_l, first_name_r, last_name_l, last_name_r, dob_l, dob_r, sex_l, sex_r,
            address_l, address_r, postcode_l, postcode_r,
            match_probability, match_weight,
            weight_first_name, weight_last_name, weight_dob, weight_location, weight_sex,
            match_weight - (
                coalesce(weight_first_name, 0) + coalesce(weight_last_name, 0)
                + coalesce(weight_dob, 0) + coalesce(weight_location, 0) + coalesce(weight_sex, 0)
            ) as prior_weight,
            person_key_l, person_key_r, linked_by_last_build, registration_pairs,
            decision, decided_at, decided_by
        from mart_linkage_review_queue
        order by decision is not null, match_probability desc, pair_id
        """,
    )
    frame.insert(5, "title_l", frame["source_l"].map(_source_title))
    frame.insert(6, "title_r", frame["source_r"].map(_source_title))
    return frame


def with_recorded_decisions(queue: pd.DataFrame, decisions: list[Decision]) -> pd.DataFrame:
    """The review queue with the decisions file's latest decision on each pair beside it.

    `decisions` are data_model.linkage.Decision rows (read_decisions); recorded_decision is the
    file's decision, which the model shows only after the next build.
    """
    recorded = {d.pair: d for d in decisions or []}
    keys = [
        pair_key(left, right)
        for left, right in zip(queue["registration_l"], queue["registration_r"], strict=True)
    ]
    out = queue.copy()
    out["recorded_decision"] = [recorded[key].decision if key in recorded else None for key in keys]
    out["recorded_at"] = [recorded[key].decided_at if key in recorded else None for key in keys]
    return out


def _as_utc(decided_at: str | None) -> datetime | None:
    """A decision's time (local ISO text, as record_decision writes it) as naive UTC."""
    try:
        moment = datetime.fromisoformat(str(decided_at))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None)  # naive means local time here


def recorded_decisions(
    queue: pd.DataFrame, decisions: list[Decision], built_at: datetime | None
) -> pd.DataFrame:
    """Every decision in the decisions file (the latest on each pair), newest first.

    Names and sources come from the review queue where the pair is in it. in_model says whether
    the model was built after the decision, so the decision is already honoured in it (built_at
    is UTC, as the build writes it).
    """
    columns = [
        "registration_l", "registration_r", "title_l", "title_r", "name_l", "name_r",
        "decision", "decided_at", "decided_by", "in_model",
    ]  # fmt: skip
    if not decisions:
        return pd.DataFrame(columns=columns)
    known: dict[str, tuple[str | None, str | None]] = {}
    for side in ("l", "r"):
        names = queue[f"first_name_{side}"].fillna("") + " " + queue[f"last_name_{side}"].fillna("")
        for registration, title, name in zip(
            queue[f"registration_{side}"], queue[f"title_{side}"], names.str.strip(), strict=True
        ):
            known[registration] = (title, name or None)
    rows = []
    for d in decisions:
        left, right = d.pair
        moment = _as_utc(d.decided_at)
        rows.append(
            {
                "registration_l": left,
                "registration_r": right,
                "title_l": known.get(left, (None, None))[0],
                "title_r": known.get(right, (None, None))[0],
                "name_l": known.get(left, (None, None))[1],
                "name_r": known.get(right, (None, None))[1],
                "decision": d.decision,
                "decided_at": pd.Timestamp(d.decided_at) if moment else pd.NaT,
                "decided_by": d.decided_by or None,
                "in_model": bool(moment and built_at and moment < built_at),
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("decided_at", ascending=False, kind="stable").reset_index(drop=True)
