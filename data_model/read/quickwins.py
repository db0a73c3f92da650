"""The quick-win referrals (analysts and administrators): families the data show meeting the
plan's eligibility rule on the as-at date who have never been referred to early help nor attached
to the programme, read from mart_quickwin_unreferred, and the evidence trail behind each one's
problems (mart_plan_problem_evidence, as at the as-at date).

The list is a rule, not a model: every such family is on it, in a fixed order (most problems
first, then longest eligible). Values from users reach SQL only as parameters.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data_model.read.connection import model_tables, query_frame

UNREFERRED_TABLE = "mart_quickwin_unreferred"

UNREFERRED_COLUMNS = [
    "family_key", "problem_count", "problems", "problem_ids", "first_eligible_date",
    "evidence_records", "evidence_sources", "latest_evidence_date", "family_size", "children",
    "adults", "ward_code", "ward_name", "area_committee", "cluster", "as_at_date",
]  # fmt: skip

EVIDENCE_COLUMNS = [
    "family_key", "problem_id", "problem_title", "indicator_id", "indicator_title", "source",
    "source_record_id", "person_key", "evidence_date", "value",
]  # fmt: skip


def unreferred_available(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the model holds the quick-win list (a model built by an older release does not)."""
    return UNREFERRED_TABLE in model_tables(con)


def unreferred_eligible(
    con: duckdb.DuckDBPyConnection, cluster: str | None = None, ward: str | None = None
) -> pd.DataFrame:
    """The families eligible on the as-at date and never referred or attached: one row each, with
    the problems found (titles and ids, in the plan's order), when the family first met the rule,
    how many records back it and from which sources, its size and where it lives.

    `cluster` (an early help cluster) and `ward` (a ward code) narrow the list; None means all.
    Ordered most problems first, then longest eligible, then by family.
    """
    return query_frame(
        con,
        f"""
        select {", ".join(UNREFERRED_COLUMNS)}
        from {UNREFERRED_TABLE}
        where (?::varchar is null or cluster = ?::varchar)
          and (?::varchar is null or ward_code = ?::varchar)
        order by problem_count desc, first_eligible_date nulls last, family_key
        """,
        [cluster, cluster, ward, ward],
    )


def unreferred_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many quick-win families each cluster and ward holds (and with how many problems on
    average): one row per cluster and ward, clusters in name order, busiest wards first."""
    return query_frame(
        con,
        f"""
        select cluster, ward_code, ward_name, area_committee, count(*) as families,
               avg(problem_count) as mean_problems
        from {UNREFERRED_TABLE}
        group by all
        order by cluster nulls last, families desc, ward_name nulls last
        """,
    )


def unreferred_evidence(con: duckdb.DuckDBPyConnection, family_key: str) -> pd.DataFrame:
    """The evidence trail behind one listed family's problems on the as-at date: the problem and
    indicator each record supports, the source, the record, the person, the date and what it
    says. Empty for a family not on the quick-win list."""
    return query_frame(
        con,
        f"""
        select evidence.family_key, evidence.problem_id, problems.problem_title,
               evidence.indicator_id, evidence.indicator_title, evidence.source,
               evidence.source_record_id, evidence.person_key, evidence.evidence_date,
               evidence.value
        from mart_plan_problem_evidence as evidence
        inner join {UNREFERRED_TABLE} as listed using (family_key)
        inner join mart_plan_problem as problems using (problem_id)
        where evidence.family_key = ? and evidence.date_kind = 'as at'
        order by problems.problem_order, evidence.indicator_id, evidence.evidence_date desc,
                 evidence.source_record_id
        """,
        [family_key],
    )
