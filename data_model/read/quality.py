"""What the Data quality page shows: rows each source lost to its contract, how well the sources
link into persons, what the last build's linkage did, and the pairs an analyst should decide
(the review queue, with the decisions recorded since the build beside it)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from data_model.linkage.decisions import Decision, pair_key
from data_model.read.connection import model_tables, query_frame, query_row
from data_model.read.sources import sent_only
from loaders.contracts import BY_SOURCE

# Splink's comparisons (linkage.yaml) in plain words, in the order a reviewer reads a pair.
LINKAGE_COMPARISONS = {
    "first_name": "First name",
    "last_name": "Last name",
    "dob": "Date of birth",
    "location": "Address and postcode",
    "sex": "Sex",
}


def record_name(first_name: object, last_name: object) -> str | None:
    """A record's name as a reviewer reads it: the parts recorded ("Lee" when the forename is
    not), or None when it has neither (a row without a name loads on its system's own id)."""
    parts = [p for p in (first_name, last_name) if isinstance(p, str) and p.strip()]
    return " ".join(p.strip() for p in parts) or None


def _source_title(source: str) -> str:
    contract = BY_SOURCE.get(source)
    return contract.title if contract else source


def load_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source sent: rows read, loaded and rejected by its contract, the share rejected, and how
    the file was read (another delimiter, sheet or header row than the contract's)."""
    return query_frame(
        con,
        f"""
        select source, title, file, rows_read, rows_loaded, rows_rejected,
               rows_rejected / nullif(rows_read, 0) as rejected_share,
               coalesce(read_as, 'as its contract says') as read_as
        from mart_data_currency
        where {sent_only(con)}
        order by rows_rejected desc, title
        """,
    )


CURRENT_TO_BASIS = {
    "declared": "Declared in extracts.yaml",
    "inferred": "Inferred: the latest date in the file",
    "inferred, capped at the build day": (
        "Inferred: the latest date in the file up to the build day (later dates not counted)"
    ),
}


def currency(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source with dates: the day its data is current to, how that was found (basis: the
    manifest's word; basis_text: in plain words), the system and coverage extracts.yaml gives,
    and whether the build went on past the rejected-rows limit (build --accept-rejects). Empty
    for a model built before the manifest recorded how."""
    columns = ["source", "title", "file", "data_current_as_of", "basis", "basis_text",
               "system_name", "coverage", "accepted_over_limit"]  # fmt: skip
    have = set(
        query_frame(
            con,
            "select column_name from information_schema.columns"
            " where table_name = 'mart_data_currency'",
        )["column_name"]
    )
    if "current_to_basis" not in have:
        return pd.DataFrame(columns=columns)
    frame = query_frame(
        con,
        """
        select source, title, file, data_current_as_of, current_to_basis as basis,
               system_name, coverage, accepted_over_limit
        from mart_data_currency
        where data_current_as_of is not null or accepted_over_limit
        order by data_current_as_of, title
        """,
    )
    frame.insert(5, "basis_text", frame["basis"].map(CURRENT_TO_BASIS).fillna(frame["basis"]))
    return frame[columns]


def load_totals(con: duckdb.DuckDBPyConnection) -> dict:
    """Rows read, loaded and rejected over every source sent, the share rejected (null when
    nothing was read), and how many of the sources had any row rejected."""
    return query_row(
        con,
        f"""
        select
            coalesce(sum(rows_read), 0) as rows_read,
            coalesce(sum(rows_loaded), 0) as rows_loaded,
            coalesce(sum(rows_rejected), 0) as rows_rejected,
            sum(rows_rejected) / nullif(sum(rows_read), 0) as rejected_share,
            count(*) filter (where rows_rejected > 0) as sources_with_rejects,
            count(*) as sources
        from mart_data_currency
        where {sent_only(con)}
        """,
    )


def load_reject_totals(con: duckdb.DuckDBPyConnection, source: str | None = None) -> dict:
    """The problems load_rejects lists for one source or all, and the rejected rows they are in
    (a row with two problems is one row)."""
    return query_row(
        con,
        """
        select count(*) as problems, count(distinct (source, line)) as rejected_rows
        from mart_load_rejects
        where ?::varchar is null or source = ?
        """,
        [source, source],
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


def set_aside_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source and column: the values set aside (loaded as blank), the rows loaded, and the
    share of the column's values that is; the commonest reason. Empty for a model built before
    values were set aside."""
    columns = ["source", "title", "column_name", "values_set_aside", "rows_loaded",
               "set_aside_share", "top_reason"]  # fmt: skip
    if "mart_load_set_aside" not in model_tables(con):
        return pd.DataFrame(columns=columns)
    return query_frame(
        con,
        """
        with reasons as (
            select source, title, column_name, reason_gist(reason, column_name) as why
            from mart_load_set_aside
        ),
        by_column as (
            select source, title, column_name, count(*) as values_set_aside,
                   mode(why order by why) as top_reason
            from reasons
            group by source, title, column_name
        )
        select by_column.source, by_column.title, column_name, values_set_aside,
               currency.rows_loaded,
               values_set_aside / nullif(currency.rows_loaded, 0) as set_aside_share, top_reason
        from by_column join mart_data_currency currency using (source)
        order by set_aside_share desc, title, column_name
        """,
    )[columns]


def set_aside_values(con: duckdb.DuckDBPyConnection, source: str | None = None) -> pd.DataFrame:
    """The values set aside (one row each), for one source or all, with what was loaded instead:
    'blank', or the date a slash date was read as, month first."""
    if "mart_load_set_aside" not in model_tables(con):
        return pd.DataFrame(columns=["source", "title", "file", "line", "column_name", "value",
                                     "reason", "loaded_as"])  # fmt: skip
    return query_frame(
        con,
        """
        select source, title, file, line, column_name, value, reason,
               coalesce(loaded_as, 'blank') as loaded_as
        from mart_load_set_aside
        where ?::varchar is null or source = ?
        order by source, line, column_name
        """,
        [source, source],
    )


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
    """The last build's linkage in figures (one row of mart_linkage_summary); empty if none.
    decisions_honoured: the analysts' decisions it applied (same person or not); matching_seconds:
    its training, scoring and grouping time together (null if any is unknown)."""
    return query_row(
        con,
        """
        select *,
               coalesce(decisions_accepted, 0) + coalesce(decisions_rejected, 0)
                   as decisions_honoured,
               train_seconds + predict_seconds + cluster_seconds as matching_seconds
        from mart_linkage_summary
        """,
    )


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
            review_reason, decision, decided_at, decided_by
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
        names = map(record_name, queue[f"first_name_{side}"], queue[f"last_name_{side}"])
        for registration, title, name in zip(
            queue[f"registration_{side}"], queue[f"title_{side}"], names, strict=True
        ):
            known[registration] = (title, name)
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


def decision_problems(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The clerical decisions the last build could not use, and why (empty for a model built
    before they were listed)."""
    if "mart_linkage_decision_problem" not in model_tables(con):
        return pd.DataFrame(columns=["line", "registration_l", "registration_r", "decision",
                                     "problem"])  # fmt: skip
    return query_frame(
        con,
        "select line, registration_l, registration_r, decision, problem"
        " from mart_linkage_decision_problem",
    )
