"""Which extracts the model has, and what a page can show without those it lacks.

A council may not have every extract (no DWP share, no health data; a Family Context council
starts with two files): the folder's extracts.yaml declares what it does not have, and the model
records each source as available or absent (int_source_availability, in mart_data_currency).
A figure that counts from an absent source is not a measurement of nothing: pages say
"not available: no <source> extract" in its place. The rule for a plan's indicators and measures
is in the model (mart_plan_indicator, mart_plan_measure); NEEDS says which sources the rest of
the dashboard counts from.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data_model.read.connection import model_tables, query_frame, query_row

# The sources each part of the dashboard counts from: without any one of them, the part is not
# available. Referrals: those received and decided (mart_referral). Allocation: the same
# referrals with their episodes of work, which say when each was allocated and what followed (the
# Referrals & allocation page). Attachment: families attached (mart_family_attachment) and the
# outcomes plan's attached families (int_plan_attachment), which start from an episode.
NEEDS: dict[str, tuple[str, ...]] = {
    "referrals": ("ehm_referrals",),
    "allocation": ("ehm_referrals", "ehm_episodes"),
    "attachment": ("ehm_episodes",),
}


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table in model_tables(con)


def knows_availability(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the model records which sources are absent (a model built before it did not)."""
    return not query_frame(
        con,
        "select 1 from information_schema.columns"
        " where table_name = 'mart_data_currency' and column_name = 'is_available'",
    ).empty


def sent_only(con: duckdb.DuckDBPyConnection) -> str:
    """A condition on mart_data_currency keeping the sources the council sent (every row of a
    model built before absent sources were recorded)."""
    return "is_available" if knows_availability(con) else "true"


def absent_sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The sources the council has no file for: title, why (declared not available in
    extracts.yaml, or an optional one not sent), the system and coverage extracts.yaml names, and
    what a page says in place of a figure that needs it. Empty when every source was sent."""
    columns = ["source", "title", "absent_reason", "system_name", "coverage", "not_available_text"]
    if not knows_availability(con):
        return pd.DataFrame(columns=columns)
    return query_frame(
        con,
        f"""
        select {", ".join(columns)}
        from mart_data_currency
        where not is_available
        order by absent_reason, title
        """,
    )


def not_available(con: duckdb.DuckDBPyConnection, part: str) -> str | None:
    """What a page says in place of a part of the dashboard (NEEDS) whose sources the model lacks
    ("not available: no Early help: episodes of work extract"); None when it has them all."""
    if part not in NEEDS:
        raise ValueError(f"part must be one of {', '.join(NEEDS)}")
    absent = absent_sources(con)
    for source in NEEDS[part]:
        texts = absent.loc[absent["source"] == source, "not_available_text"]
        if len(texts):
            return str(texts.iloc[0])
    return None


def unavailable_indicators(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The outcomes plan's indicators whose source the model lacks: problem, indicator and what to
    say ("not available: no DWP: benefit and employment spells extract"). A family is never found
    to have a problem through them, so eligibility counts only the others."""
    columns = ["problem_title", "indicator_title", "source", "not_available_text"]
    if not _has_table(con, "mart_plan_indicator"):
        return pd.DataFrame(columns=columns)
    return query_frame(
        con,
        f"""
        select {", ".join(columns)}
        from mart_plan_indicator
        where not is_available
        order by problem_order, indicator_id
        """,
    )


def eligibility_not_available(con: duckdb.DuckDBPyConnection) -> str | None:
    """What to say in place of the plan's eligibility counts when the model has none of the
    extracts its indicators read (a Family Context council's first two files): no family could be
    found eligible, and nought would look like a finding. None when any indicator can count."""
    if not _has_table(con, "mart_plan_indicator"):
        return None
    counts = query_row(
        con,
        "select count(*) as indicators, count(*) filter (where is_available) as available"
        " from mart_plan_indicator",
    )
    if counts["indicators"] and not counts["available"]:
        return "not available: no extract the outcomes plan's indicators read"
    return None


def unavailable_measures(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The outcomes plan's measures whose source the model lacks: never met or near (their
    status is 'not available'), so a claim that needs one cannot be made from this model."""
    columns = ["problem_title", "measure_title", "source", "not_available_text"]
    have = set(
        query_frame(
            con,
            "select column_name from information_schema.columns"
            " where table_name = 'mart_plan_measure'",
        )["column_name"]
    )
    if "is_available" not in have:
        return pd.DataFrame(columns=columns)
    return query_frame(
        con,
        f"""
        select {", ".join(columns)}
        from mart_plan_measure
        where not is_available
        order by measure_order
        """,
    )
