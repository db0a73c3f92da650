"""The Quick wins page's two lists, ranked when a model was trained and unranked when not, with
the marks analysts put beside them, and how often the ranking was followed.

- The referrals to make: every family on the unreferred eligible list (mart_quickwin_unreferred,
  a rule), with its problems and evidence.
- The attached families to push: every family attached by the as-at date without the ranking's
  outcome yet (a results claim where the plan pays, the plan's sustained outcome where it does
  not: the same families the ranking scores), with what the Near threshold engine says each
  needs (mart_plan_family_status).

When the ranking is trained, each row carries its probability, its rank (again within the chosen
clusters and wards), whether it is in the model's top k, and its top three reasons in words;
otherwise those are empty and the rule's order stands. The marks come from the application-state
database (the page reads them through data_model.state.marks and hands them here): this layer
never opens that database. Values from users reach SQL only as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pandas as pd

from data_model.quickwins.card import follow_up_section
from data_model.quickwins.card import outcome_words as outcome_words  # for the pages
from data_model.read.connection import query_frame
from data_model.read.quickwins_rank import (
    TOP_REASONS,
    _has_table,
    is_ranked,
    model_document,
    ranking_state,
)

MARK_WORDS = {"pushed": "Referred or pushed", "not_appropriate": "Not appropriate"}

_RANKED = (
    """
    ranked as (
        select family_key, probability, rank as rank_in_whole_list, in_top_k, model_version
        from ranking_score where list = ?
    ),
"""
    + TOP_REASONS
)
_NOT_RANKED = """
    ranked as (
        select null::varchar as family_key, null::double as probability,
               null::bigint as rank_in_whole_list, null::boolean as in_top_k,
               null::varchar as model_version
        where false
    ),

    top_reasons as (
        select null::varchar as family_key, null::varchar[] as reasons where false
    )
"""
_WHERE_PLACE = """
    (len(?::varchar[]) = 0 or list_contains(?::varchar[], listed.cluster))
    and (len(?::varchar[]) = 0 or list_contains(?::varchar[], listed.ward_code))
"""

# Attached families without the ranking's outcome (data_model/quickwins/cohorts.py's, in SQL).
_ATTACHED = """
    plan as (
        select coalesce(results_payment, 0) > 0 as pays, as_at_date from mart_plan
    ),

    results_claims as (
        select family_key, min(claimable_date) as outcome_date
        from mart_claim where claim_type = 'results'
        group by family_key
    ),

    sustained as (
        select route.family_key, min(route.achieved_date) as outcome_date
        from int_plan_family_route as route
        inner join cfg_plan_route as plan_route using (route_id)
        where route.is_current and plan_route.requires = 'every_problem'
        group by route.family_key
    ),

    outcomes as (
        select attachment.*,
               case when plan.pays then results_claims.outcome_date
                    else sustained.outcome_date end as outcome_date
        from int_plan_attachment as attachment
        cross join plan
        left join results_claims using (family_key)
        left join sustained using (family_key)
        where attachment.attached_date <= plan.as_at_date
    ),

    listed as (
        select outcomes.family_key, outcomes.case_id, outcomes.attached_date,
               outcomes.closure_date, outcomes.cluster, outcomes.team, outcomes.key_worker,
               status.ward_code, status.ward_name, status.area_committee, status.state,
               status.best_route_title, status.blocking_measures, status.blocked_by,
               status.problems_at_attachment
        from outcomes
        left join mart_plan_family_status as status
            on status.family_key = outcomes.family_key and status.is_current
        where outcomes.outcome_date is null
    )
"""

# The rule's order when no model ranks the list: nearest first (fewest blocking measures).
_STATE_ORDER = "case state when 'near' then 0 when 'blocked' then 1 else 2 end"


def _ranked_sql(ranked: bool) -> str:
    return _RANKED if ranked else _NOT_RANKED


def _list_params(ranked: bool, list_name: str) -> list:
    return [list_name, list_name] if ranked else []


def families_to_push(
    con: duckdb.DuckDBPyConnection, clusters: Sequence[str] = (), wards: Sequence[str] = ()
) -> pd.DataFrame:
    """The attached families without the outcome yet, one row each: case, where, who works with
    them, the Near threshold engine's state and what the family needs (its closest route's
    blocking measures), and, when ranked, probability, rank (within these places), top-k flag and
    top three reasons. Ranked: highest probability first; else nearest first, then longest
    attached."""
    ranked = is_ranked(con)
    order = "ranked.rank_in_whole_list" if ranked else (
        f"{_STATE_ORDER}, listed.blocking_measures nulls last, listed.attached_date, "
        "listed.family_key"
    )  # fmt: skip
    return query_frame(
        con,
        f"""
        with {_ATTACHED}, {_ranked_sql(ranked)}

        select
            case when ? then row_number() over (order by {order}) end as rank,
            listed.case_id, ranked.probability, top_reasons.reasons[1] as reason_1,
            top_reasons.reasons[2] as reason_2, top_reasons.reasons[3] as reason_3,
            listed.blocked_by as needs, listed.state, listed.best_route_title,
            listed.blocking_measures, listed.cluster, listed.team, listed.key_worker,
            listed.ward_code, listed.ward_name, listed.area_committee, listed.attached_date,
            listed.problems_at_attachment, ranked.rank_in_whole_list, ranked.in_top_k,
            ranked.model_version, listed.family_key
        from listed
        left join ranked using (family_key)
        left join top_reasons using (family_key)
        where {_WHERE_PLACE}
        order by {order}
        """,
        [*_list_params(ranked, "attached"), ranked, *_places(clusters, wards)],
    )


def referrals_to_make(
    con: duckdb.DuckDBPyConnection, clusters: Sequence[str] = (), wards: Sequence[str] = ()
) -> pd.DataFrame:
    """The eligible families nobody has referred (mart_quickwin_unreferred), one row each: the
    problems found, since when, the evidence behind them, the family's size and place, and,
    when ranked, probability, rank (within these places), top-k flag and top three reasons.
    Ranked: highest probability first; else most problems first, then longest eligible."""
    if not _has_table(con, "mart_quickwin_unreferred"):
        return pd.DataFrame()
    ranked = is_ranked(con)
    order = "ranked.rank_in_whole_list" if ranked else (
        "listed.problem_count desc, listed.first_eligible_date nulls last, listed.family_key"
    )  # fmt: skip
    return query_frame(
        con,
        f"""
        with listed as (select * from mart_quickwin_unreferred), {_ranked_sql(ranked)}

        select
            case when ? then row_number() over (order by {order}) end as rank,
            ranked.probability, top_reasons.reasons[1] as reason_1,
            top_reasons.reasons[2] as reason_2, top_reasons.reasons[3] as reason_3,
            listed.problems, listed.problem_count, listed.first_eligible_date,
            listed.evidence_records, listed.evidence_sources, listed.latest_evidence_date,
            listed.family_size, listed.children, listed.adults, listed.cluster,
            listed.ward_code, listed.ward_name, listed.area_committee,
            ranked.rank_in_whole_list, ranked.in_top_k, ranked.model_version,
            listed.family_key
        from listed
        left join ranked using (family_key)
        left join top_reasons using (family_key)
        where {_WHERE_PLACE}
        order by {order}
        """,
        [*_list_params(ranked, "unreferred"), ranked, *_places(clusters, wards)],
    )


def _places(clusters: Sequence[str], wards: Sequence[str]) -> list:
    return [list(clusters), list(clusters), list(wards), list(wards)]


def list_places(con: duckdb.DuckDBPyConnection) -> dict:
    """The clusters and wards (code: name) of the families attached by the as-at date and of
    those on the unreferred list, for the filters (a cheap superset of the two lists' places)."""
    unreferred = (
        "union all select cluster, ward_code, ward_name from mart_quickwin_unreferred"
        if _has_table(con, "mart_quickwin_unreferred")
        else ""
    )
    places = query_frame(
        con,
        f"""
        select distinct cluster, ward_code, ward_name
        from mart_plan_family_status where is_current
        {unreferred}
        """,
    )
    wards = places.dropna(subset=["ward_code"]).drop_duplicates("ward_code")
    wards = wards.sort_values(["ward_name", "ward_code"])
    return {
        "clusters": sorted(places["cluster"].dropna().unique()),
        "wards": dict(zip(wards["ward_code"], wards["ward_name"], strict=True)),
    }


def with_marks(families: pd.DataFrame, marks: pd.DataFrame, list_name: str) -> pd.DataFrame:
    """The list with each family's mark in force in this list (the latest) beside it: the mark
    in words, its reason, who and when (UTC)."""
    mine = marks[marks["list_name"] == list_name] if len(marks) else marks
    columns = {"mark": "mark_words", "reason": "mark_reason", "marked_by": "marked_by",
               "marked_at": "marked_at"}  # fmt: skip
    if not len(mine):
        return families.assign(**{name: pd.NA for name in columns.values()})
    shown = mine[["family_key", *columns]].rename(columns=columns)
    shown["mark_words"] = shown["mark_words"].map(MARK_WORDS)
    shown["marked_at"] = pd.to_datetime(shown["marked_at"], utc=True).dt.tz_localize(None)
    return families.merge(shown, on="family_key", how="left")


# --- How the ranking was followed ----------------------------------------------------------------


def ranking_followed(con: duckdb.DuckDBPyConnection, marks: pd.DataFrame) -> pd.DataFrame:
    """Per list, how often the current ranking was followed: the families in its top k, how
    many of them are marked referred or pushed, not appropriate, or not marked, and the share
    followed (marked referred or pushed). Empty when no model is trained."""
    if not is_ranked(con):
        return pd.DataFrame()
    top = query_frame(
        con,
        "select list as list_name, family_key from ranking_score where in_top_k order by list",
    )
    if len(marks):
        top = top.merge(marks[["list_name", "family_key", "mark"]], how="left",
                        on=["list_name", "family_key"])  # fmt: skip
    else:
        top["mark"] = None
    rows = []
    for list_name in ("attached", "unreferred"):
        mine = top[top["list_name"] == list_name]
        in_top = len(mine)
        pushed = int((mine["mark"] == "pushed").sum())
        refused = int((mine["mark"] == "not_appropriate").sum())
        rows.append(
            {
                "list_name": list_name,
                "in_top_k": in_top,
                "marked_pushed": pushed,
                "marked_not_appropriate": refused,
                "not_marked": in_top - pushed - refused,
                "followed_share": pushed / in_top if in_top else None,
            }
        )
    return pd.DataFrame(rows)


def families_fared(con: duckdb.DuckDBPyConnection, marks: pd.DataFrame) -> pd.DataFrame:
    """How the families marked referred or pushed fared, from this model's data: an attached
    family reached the ranking's outcome after the data it was marked on (or not yet); an
    unreferred family was since attached, or referred (known to early help) without being
    attached, or neither. A family marked on data as new as this model's: too soon to tell.
    One row per mark, with `fared` in words and `outcome_date`."""
    pushed = marks[marks["mark"] == "pushed"] if len(marks) else marks
    columns = ["list_name", "family_key", "data_as_at", "fared", "outcome_date"]
    if not len(pushed):
        return pd.DataFrame(columns=columns)
    as_at = query_frame(con, "select as_at_date from mart_plan")["as_at_date"].iloc[0]
    as_at = pd.Timestamp(as_at).date()
    outcomes = query_frame(
        con,
        f"""
        with {_ATTACHED}
        select family_key, outcome_date, attached_date from outcomes
        """,
    )
    known = set(query_frame(con, "select distinct family_key from int_plan_family_case")[
        "family_key"])  # fmt: skip
    by_family = outcomes.drop_duplicates("family_key").set_index("family_key")
    rows = []
    for mark in pushed.itertuples():
        seen = date.fromisoformat(mark.data_as_at) if mark.data_as_at else None
        outcome = attached = None
        if mark.family_key in by_family.index:
            outcome = by_family.at[mark.family_key, "outcome_date"]
            attached = by_family.at[mark.family_key, "attached_date"]
        outcome = None if outcome is None or pd.isna(outcome) else pd.Timestamp(outcome).date()
        attached = None if attached is None or pd.isna(attached) else pd.Timestamp(attached).date()
        if seen is None or seen >= as_at:
            fared = "too soon to tell: the data are no newer than when it was marked"
        elif mark.list_name == "attached":
            fared = ("reached the outcome" if outcome is not None and outcome > seen
                     else "not yet reached the outcome")  # fmt: skip
        elif attached is not None and attached > seen:
            fared = "attached"
        elif mark.family_key in known:
            fared = "referred, not attached"
        else:
            fared = "not referred yet"
        rows.append([mark.list_name, mark.family_key, seen, fared, outcome])
    return pd.DataFrame(rows, columns=columns)


def model_document_followed(
    con: duckdb.DuckDBPyConnection,
    marks: pd.DataFrame,
    document: str = "model card",
    fmt: str = "markdown",
) -> dict:
    """The stored model card (or transparency record) with a last section on how the ranking
    was followed and how the marked families fared (model_document's dict; {} when none)."""
    stored = model_document(con, document, fmt)
    if not stored or document != "model card":
        return stored
    section = follow_up_section(
        ranking_followed(con, marks), families_fared(con, marks), ranking_state(con)
    )
    text = stored["text"]
    if fmt == "html":
        text = text.replace("\n</main>", "\n" + section.html() + "\n</main>", 1)
    else:
        text = text.rstrip() + "\n\n" + section.markdown() + "\n"
    return {**stored, "text": text}
