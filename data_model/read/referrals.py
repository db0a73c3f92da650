"""What the Referrals & allocation page shows, read from mart_referral and mart_calendar.

The rules (what "waiting" means, how lag is measured) live here once, as fixed SQL; values from
users reach SQL only as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from data_model.read.connection import query_frame, query_row
from data_model.read.periods import last_complete_month, last_complete_quarter
from data_model.settings import settings

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
        r[0] for r in con.execute("select distinct cluster from mart_ward order by 1").fetchall()
    ]
    sources = [
        r[0]
        for r in con.execute(
            "select referral_source from mart_referral group by 1 order by count(*) desc"
        ).fetchall()
    ]
    return {**row, "clusters": clusters, "referral_sources": sources}


def period_presets(as_at: date, programme_start: date) -> dict[str, tuple[date, date]]:
    """Named periods ending at the data's as-at date, labelled with their dates (DD Mon YYYY)."""
    # A year back from 29 Feb is 28 Feb (there is no 29 Feb a year before it).
    year_start = (pd.Timestamp(as_at) - pd.DateOffset(years=1)).date() + timedelta(days=1)

    def label(name: str, start: date, end: date) -> str:
        return f"{name} ({start:%d %b %Y} to {end:%d %b %Y})"

    periods = {
        "Last quarter": last_complete_quarter(as_at),
        "Last month": last_complete_month(as_at),
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


def backlog_by_cluster(
    con: duckdb.DuckDBPyConnection, f: ReferralFilter, threshold_working_days: int | None = None
) -> pd.DataFrame:
    """Each cluster's waiting list: waiting at the end of the period, how many of those more than
    the threshold, waiting at the start of the period (the end of the day before it), the change
    since, and the trend: the waiting list at the start, at each Friday in the period and at its
    end. Every cluster (of the filter, or with any referral) is listed, nobody waiting too; the
    source filter applies, as it does to the waiting list. Largest backlog over the threshold
    first, then the largest waiting list, then by name."""
    threshold = _threshold_or_default(threshold_working_days)
    cluster_source = _cluster_source_params(f)
    frame = query_frame(
        con,
        f"""
        with days as (
            select calendar_date, working_day_index, calendar_date = ? as is_start,
                   calendar_date = ? as is_end
            from mart_calendar
            where calendar_date = ? or calendar_date = ?
               or (calendar_date between ? and ? and isodow(calendar_date) = 5)
        ),

        clusters as (
            select distinct cluster from mart_referral
            where cluster is not null
              and (len(?::varchar[]) = 0 or list_contains(?::varchar[], cluster))
        ),

        waiting as (
            select
                as_at.calendar_date,
                mart_referral.cluster,
                count(*) as waiting,
                count(*) filter (
                    where as_at.working_day_index - received_working_day_index > ?
                ) as waiting_over_threshold
            from days as as_at
            inner join mart_referral on {_WAITING_AT} and {_CLUSTER_SOURCE}
            group by all
        ),

        grid as (
            select clusters.cluster, days.calendar_date, days.is_start, days.is_end,
                   coalesce(waiting.waiting, 0) as waiting,
                   coalesce(waiting.waiting_over_threshold, 0) as waiting_over_threshold
            from clusters
            cross join days
            left join waiting using (cluster, calendar_date)
        )

        select
            cluster,
            max(waiting) filter (where is_end) as waiting,
            max(waiting_over_threshold) filter (where is_end) as waiting_over_threshold,
            max(waiting) filter (where is_start) as waiting_at_start,
            list(waiting order by calendar_date) as trend
        from grid
        group by cluster
        """,
        [
            f.start - timedelta(days=1), f.end, f.start - timedelta(days=1), f.end,
            f.start, f.end,
            list(f.clusters), list(f.clusters),
            threshold, *cluster_source,
        ],
    )  # fmt: skip
    frame["change"] = frame["waiting"] - frame["waiting_at_start"]
    frame["trend"] = frame["trend"].map(lambda counts: [int(n) for n in counts])
    columns = [
        "cluster", "waiting", "waiting_over_threshold", "waiting_at_start", "change", "trend",
    ]  # fmt: skip
    return (
        frame[columns]
        .sort_values(
            ["waiting_over_threshold", "waiting", "cluster"], ascending=[False, False, True]
        )
        .reset_index(drop=True)
    )


def worst_backlog(by_cluster: pd.DataFrame) -> dict | None:
    """The cluster with the worst backlog (backlog_by_cluster's first row: most waiting over the
    threshold, then most waiting), or None when nobody is waiting anywhere."""
    if by_cluster.empty or by_cluster["waiting"].max() == 0:
        return None
    return by_cluster.iloc[0].to_dict()


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


# --- Headline numbers and the shapes the page's charts draw -------------------------------------


def headline(
    con: duckdb.DuckDBPyConnection, f: ReferralFilter, threshold_working_days: int | None = None
) -> dict:
    """The page's headline numbers, with the definitions of the tables they sum up.

    received: referrals received in the period (the funnel's "Referred" step); allocated:
    referrals allocated in the period, whenever received (the allocation lag's count); waiting and
    waiting_over_threshold: referrals waiting at the end of the period (the backlog's rows, and
    those of them waiting more than the threshold).
    """
    threshold = _threshold_or_default(threshold_working_days)
    cluster_source = _cluster_source_params(f)
    return query_row(
        con,
        f"""
        with as_at as (
            select calendar_date, working_day_index from mart_calendar where calendar_date = ?
        ),

        waiting as (
            select as_at.working_day_index - received_working_day_index as waiting_working_days
            from mart_referral, as_at
            where {_WAITING_AT} and {_CLUSTER_SOURCE}
        )

        select
            (select count(*) from mart_referral
             where received_date between ? and ? and {_CLUSTER_SOURCE}) as received,
            (select count(*) from mart_referral
             where allocated_date between ? and ? and {_CLUSTER_SOURCE}) as allocated,
            (select count(*) from waiting) as waiting,
            (select count(*) filter (where waiting_working_days > ?) from waiting)
                as waiting_over_threshold
        """,
        [
            f.end, *cluster_source,
            f.start, f.end, *cluster_source,
            f.start, f.end, *cluster_source,
            threshold,
        ],
    )  # fmt: skip


def waiting_band_settings() -> tuple[int, int]:
    """The waiting-time bands' width and last edge in working days (settings.yaml)."""
    section = settings()["referrals"]
    return (
        int(section["waiting_band_working_days"]),
        int(section["waiting_bands_last_edge_working_days"]),
    )


def waiting_time_bands(
    con: duckdb.DuckDBPyConnection, f: ReferralFilter, threshold_working_days: int | None = None
) -> pd.DataFrame:
    """The referrals waiting at the end of the period, by how long they had waited: bands of
    waiting_band_working_days working days ("0–5", "6–10", ...) up to the last edge, then
    "Over <last edge>"; every band, empty ones too, shortest first. `within` says whether the
    whole band is within the threshold (its upper edge at most the threshold; never the last)."""
    threshold = _threshold_or_default(threshold_working_days)
    width, last_edge = waiting_band_settings()
    return query_frame(
        con,
        f"""
        with as_at as (
            select calendar_date, working_day_index from mart_calendar where calendar_date = ?
        ),

        bands as (
            select
                band_order,
                format('{{}}–{{}}', lower_edge + (lower_edge > 0)::int, lower_edge + ?) as band,
                lower_edge + ? <= ? as within
            from (
                select row_number() over (order by lower_edge) - 1 as band_order, lower_edge
                from range(0, ?, ?) as edges(lower_edge)
            )
            union all
            select ? // ?, format('Over {{}}', ?), false
        ),

        waiting as (
            select as_at.working_day_index - received_working_day_index as waiting_working_days
            from mart_referral, as_at
            where {_WAITING_AT} and {_CLUSTER_SOURCE}
        ),

        counted as (
            select
                case when waiting_working_days > ? then ? // ?
                     else greatest(ceil(waiting_working_days / ?)::bigint - 1, 0) end
                    as band_order,
                count(*) as referrals
            from waiting
            where waiting_working_days >= 0
            group by 1
        )

        select band, coalesce(counted.referrals, 0) as referrals, within
        from bands left join counted using (band_order)
        order by band_order
        """,
        [
            f.end,
            width, width, threshold, last_edge, width,
            last_edge, width, last_edge,
            *_cluster_source_params(f),
            last_edge, last_edge, width, width,
        ],
    )  # fmt: skip


OTHER_SOURCES = "All other sources"


def referrals_by_week_top_sources(
    con: duckdb.DuckDBPyConnection, f: ReferralFilter, top: int = 5
) -> dict:
    """Referrals received each week by source for a chart of `top` + 1 colours at most: the `top`
    sources with the most referrals over the period, then the rest together as "All other
    sources"; with `top` + 1 sources or fewer, every source.

    Returns {"by_week": week_start, source, referrals (by week, then source), "sources": the
    sources in legend order (most referrals first, "All other sources" last)}. Sources with equal
    totals are ranked by pandas' default sort over the sources in name order, as the page always
    ranked them, so the chart is unchanged.
    """
    params = [f.start, f.end, *_cluster_source_params(f)]
    totals = query_frame(
        con,
        f"""
        select referral_source, count(*) as referrals
        from mart_referral
        where received_date between ? and ? and {_CLUSTER_SOURCE}
        group by referral_source
        order by referral_source
        """,
        params,
    ).set_index("referral_source")["referrals"]
    ranked = list(totals.sort_index().sort_values(ascending=False).index)
    shown = ranked[:top] if len(ranked) > top + 1 else ranked
    by_week = query_frame(
        con,
        f"""
        select
            received_week as week_start,
            case when list_contains(?::varchar[], referral_source) then referral_source
                 else ? end as source,
            count(*) as referrals
        from mart_referral
        where received_date between ? and ? and {_CLUSTER_SOURCE}
        group by all
        order by week_start, source
        """,
        [shown, OTHER_SOURCES, *params],
    )
    present = set(by_week["source"])
    sources = [source for source in [*shown, OTHER_SOURCES] if source in present]
    return {"by_week": by_week, "sources": sources}


def caseload_summary(con: duckdb.DuckDBPyConnection, f: ReferralFilter) -> dict:
    """Key workers holding any open case at the end of the period, and the median caseload."""
    return query_row(
        con,
        f"""
        select count(*) as key_workers, median(open_cases::double) as median_open_cases
        from (
            select cluster, team, key_worker, count(*) as open_cases
            from mart_referral
            where allocated_date <= ? and (closure_date is null or closure_date > ?)
              and {_CLUSTER_SOURCE}
            group by all
        )
        """,
        [f.end, f.end, *_cluster_source_params(f)],
    )
