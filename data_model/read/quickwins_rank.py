"""What the Quick wins page and the Help page's model card show of the ranking, read from the
tables the build's ranking stage wrote (data_model/quickwins/store.py): the current model
version, the two ranked lists with each family's top reasons, one family's every reason, the
metrics on the later cohort, the calibration curve, the fairness check, the coefficients, and
the model card and transparency record.

A model built before the ranking existed has none of these tables: every function then answers
as for a ranking that was not trained (empty), and `ranking_state` says so. Values from users
reach SQL only as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from data_model.read.connection import query_frame, query_row

LISTS = {
    "attached": "Attached families to push",
    "unreferred": "Eligible families nobody has referred",
}
DOCUMENTS = ("model card", "transparency record")
FORMATS = {"markdown": "md", "html": "html"}


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_name = ? and table_catalog = current_database()",
            [name],
        ).fetchone()[0]
    )


# Each family's three largest parts of its score, in words, each saying which way it moves the
# chance (one parameter: the list).
TOP_REASONS = """
    top_reasons as (
        select family_key,
               list(reason || case when contribution >= 0 then ' (raises the chance)'
                                   else ' (lowers the chance)' end
                    order by top_reason_rank) as reasons
        from ranking_reason
        where list = ? and top_reason_rank is not null
        group by family_key
    )
"""


def ranking_state(con: duckdb.DuckDBPyConnection) -> dict:
    """The current model version's row (status: trained, not trained or off, with the reason;
    label; cohorts; team capacity k; challenger's verdict...), or {} for a model built before
    the ranking existed."""
    if not _has_table(con, "model_version"):
        return {}
    return query_row(con, "select * from model_version where is_current")


def is_ranked(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the lists carry a trained model's ranking (else they are shown unranked): trained,
    and adopted (it beat the rule and was calibrated on the later cohort; a model stored before
    the adoption check counts as adopted)."""
    state = ranking_state(con)
    adopted = state.get("is_adopted")
    return state.get("status") == "trained" and (
        adopted is None or pd.isna(adopted) or bool(adopted)
    )


def why_not_ranked(con: duckdb.DuckDBPyConnection) -> str:
    """Why the lists are shown in the rule's order, in a sentence ("" when they are ranked)."""
    if is_ranked(con):
        return ""
    state = ranking_state(con)
    status = state.get("status")
    if status == "off":
        return "The ranking is switched off in the settings (data_model/quickwins.yaml)."
    if status == "trained":
        return (
            f"A model was trained but is not used: {state.get('adoption_reason') or ''}. "
            "The model card has its figures."
        )
    if state:
        return f"No model was trained: {state.get('status_reason') or 'no reason given'}."
    return "This model was built before the ranking existed."


def model_versions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every run kept in the model file, newest first: version, status, time, data hash."""
    if not _has_table(con, "model_version"):
        return pd.DataFrame()
    return query_frame(
        con,
        "select model_version, is_current, status, status_reason, trained_at, data_hash, "
        "test_from, test_to from model_version order by trained_at desc",
    )


def ranked_families(
    con: duckdb.DuckDBPyConnection,
    list_name: str,
    clusters: Sequence[str] = (),
    wards: Sequence[str] = (),
) -> pd.DataFrame:
    """One list ('attached' or 'unreferred'), highest probability first, ranked again within
    the chosen clusters and wards (empty: all); with the rule's rank, whether each family is in
    the model's top k and the rule's, and its top three reasons in words, each with whether it
    raises or lowers the family's chance. Empty when no model was trained."""
    if list_name not in LISTS:
        raise ValueError(f"no such list: {list_name!r} (one of {', '.join(LISTS)})")
    if not _has_table(con, "ranking_score"):
        return pd.DataFrame()
    return query_frame(
        con,
        f"""
        with listed as (
            select * from ranking_score
            where list = ?
              and (len(?::varchar[]) = 0 or list_contains(?::varchar[], cluster))
              and (len(?::varchar[]) = 0 or list_contains(?::varchar[], ward_code))
        ),

        {TOP_REASONS}

        select
            row_number() over (order by listed.rank) as rank,
            listed.family_key,
            listed.probability,
            listed.rank as rank_in_whole_list,
            listed.rule_rank,
            listed.in_top_k,
            listed.rule_in_top_k,
            listed.total_distance,
            top_reasons.reasons[1] as reason_1,
            top_reasons.reasons[2] as reason_2,
            top_reasons.reasons[3] as reason_3,
            listed.cluster,
            listed.ward_code,
            listed.ward_name,
            listed.area_committee,
            listed.attached_date,
            listed.closure_date,
            listed.model_version
        from listed
        left join top_reasons using (family_key)
        order by listed.rank
        """,
        [list_name, list(clusters), list(clusters), list(wards), list(wards), list_name],
    )


def family_reasons(con: duckdb.DuckDBPyConnection, family_key: str, list_name: str) -> pd.DataFrame:
    """Every feature's part in one family's score, largest first: the feature, its value, its
    contribution to the logit (they add up, with the baseline, to the logit of the family's
    probability), and the reason in words."""
    if not _has_table(con, "ranking_reason"):
        return pd.DataFrame()
    return query_frame(
        con,
        """
        select reason.reason_rank, reason.feature, coefficient.feature_label, reason.value,
               reason.contribution, reason.reason, reason.model_version
        from ranking_reason as reason
        left join ranking_coefficient as coefficient using (model_version, feature)
        where reason.family_key = ? and reason.list = ?
        order by reason.reason_rank
        """,
        [family_key, list_name],
    )


def ranking_metrics(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each metric on the later cohort for the model, the rule and the challenger (and their
    differences, and the base rate), with the bootstrap 95% interval."""
    if not _has_table(con, "ranking_metric"):
        return pd.DataFrame()
    return query_frame(con, "select * from ranking_metric order by ranker, metric")


def calibration_curve(con: duckdb.DuckDBPyConnection, ranker: str = "model") -> pd.DataFrame:
    """The calibration curve on the later cohort: per probability bin, the families in it, their
    mean probability and the share who reached the outcome."""
    if not _has_table(con, "ranking_calibration"):
        return pd.DataFrame()
    return query_frame(
        con, "select * from ranking_calibration where ranker = ? order by bin", [ranker]
    )


def fairness_checks(
    con: duckdb.DuckDBPyConnection, population: str | None = None, flagged_only: bool = False
) -> pd.DataFrame:
    """The fairness table: per population ('later cohort', or today's lists), attribute, group
    and metric, the group's figure, the whole's, the ratio, whether it is flagged and whether
    the group is small; with the attribute's coverage."""
    if not _has_table(con, "ranking_fairness"):
        return pd.DataFrame()
    return query_frame(
        con,
        """
        select * from ranking_fairness
        where (?::varchar is null or population = ?) and (not ? or is_flagged)
        order by population, attribute, metric, group_name
        """,
        [population, population, flagged_only],
    )


def ranking_coefficients(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The model's features in order, each with its words, unit, coefficient and the numbers
    that standardise it."""
    if not _has_table(con, "ranking_coefficient"):
        return pd.DataFrame()
    return query_frame(con, "select * from ranking_coefficient order by feature_order")


def model_document(
    con: duckdb.DuckDBPyConnection, document: str = "model card", fmt: str = "markdown"
) -> dict:
    """The model card or the transparency record, as Markdown (for the page: data text already
    escaped) or HTML (for download): {'title', 'text', 'file_name', 'model_version'}; {} when
    the model has none."""
    if document not in DOCUMENTS or fmt not in FORMATS:
        raise ValueError(f"no such document: {document!r} as {fmt!r}")
    if not _has_table(con, "ranking_document"):
        return {}
    row = query_row(
        con,
        "select title, text, model_version from ranking_document where document = ? and format = ?",
        [document, fmt],
    )
    if row:
        row["file_name"] = f"{document.replace(' ', '-')}-{row['model_version']}.{FORMATS[fmt]}"
    return row
