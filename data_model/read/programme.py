"""What the Overview shows: the model and the programme, how current each source is, and families
attached against the target."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pandas as pd

from data_model.read.connection import query_frame, query_row
from data_model.read.periods import last_complete_month
from data_model.read.sources import sent_only
from data_model.settings import settings
from loaders.contracts import BY_SOURCE

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
    """Per source sent: the file it came from, rows read, loaded and rejected, and how current it
    is (the sources the council has no file for are in sources.absent_sources)."""
    frame = query_frame(
        con,
        f"""
        select source, title, file, rows_read, rows_loaded, rows_rejected, data_current_as_of
        from mart_data_currency
        where {sent_only(con)}
        order by title
        """,
    )
    frame.insert(2, "system", frame["source"].map(lambda s: BY_SOURCE[s].system))
    return frame


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
    recent_end = last_complete_month(as_at)[1]
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
        "over_target": max(attached - target, 0),
        "months_remaining": months_remaining,
        "families_a_month_needed": (
            math.ceil(still_needed / months_remaining) if months_remaining else None
        ),
        "recent_months": recent_months,
        "recent_families_a_month": round(recent / recent_months, 1),
        "target_families_a_month": round(target / int(trajectory["month"].count() or 1), 1),
    }


# --- The councillor's Overview: its counts as disclosure control publishes them -----------------

# Each count the Overview shows a councillor, as the families it counts (so that cell key
# perturbation can key it: a family's record key, int_family_record_key). A case is its family
# (int_plan_family_case). The monthly figures are not among them: a councillor's Overview shows
# totals only, since months differenced give counts small enough to identify a family.
PROTECTED_COUNTS = {
    "families_referred": """
        select cases.family_key from mart_referral as referral
        inner join int_plan_family_case as cases using (case_id)
        where referral.received_date <= ?
        group by referral.case_id, cases.family_key
    """,
    "families_attached": """
        select cases.family_key from mart_family_attachment as attachment
        inner join int_plan_family_case as cases using (case_id)
        where attachment.first_attached_date <= ?
    """,
    "families_eligible": """
        select family_key from mart_plan_family_eligibility
        where date_kind = 'as at' and is_eligible
    """,
    "eligible_not_attached": """
        select family_key from mart_plan_family_eligibility
        where date_kind = 'as at' and is_eligible and not is_attached
    """,
    "families_ever_eligible": """
        select family_key from mart_plan_family_eligibility where date_kind = 'first eligible'
    """,
    "families_near": """
        select family_key from mart_plan_family_status where is_current and state = 'near'
    """,
    "results_claims": "select family_key from mart_claim where claim_type = 'results'",
    "attachment_claims": """
        select family_key from mart_claim
        where claim_type = 'attachment fee' and status <> 'not evidenced'
    """,
}


def protected_overview(con: duckdb.DuckDBPyConnection) -> dict[str, int | None]:
    """The Overview's counts as a councillor may see them (data_model.disclosure, wards.yaml's
    method and threshold): each count by name, None where it is withheld (shown as c). A count
    whose tables the model lacks (one built before outcomes plans) is left out."""
    from data_model.disclosure import disclosure_settings, protect

    as_at = model_info(con)["as_at_date"]
    rows = []
    for name, families in PROTECTED_COUNTS.items():
        try:
            count, key = con.execute(
                f"""
                with counted as ({families})
                select count(*), coalesce(sum(coalesce(keys.record_key, 0)), 0) % 256
                from counted left join int_family_record_key as keys using (family_key)
                """,
                [as_at] * families.count("?"),
            ).fetchone()
        except duckdb.CatalogException:
            continue
        rows.append({"area_code": name, "count": int(count), "cell_key": int(key)})
    settings = disclosure_settings()
    protected = protect(pd.DataFrame(rows), [], settings.threshold, settings.method)
    return {
        code: None if pd.isna(value) else int(value)
        for code, value in zip(protected["area_code"], protected["published"], strict=True)
    }
