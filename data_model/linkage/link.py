"""Person linkage: records of every source → persons, with Splink on the model's DuckDB connection.

The steps, each explainable to an analyst:
1. Deterministic links: the rows of one registration (a system's own person id), and rows sharing
   an identifier (NHS number, NINO, a service fed from a system we load) are one person.
2. Splink scores candidate pairs (blocking rules and comparisons from linkage.yaml), trained by
   expectation maximisation without labels (prediction.py, comparisons.py).
3. Clustering (clustering.py), strongest pair first: a pair at or above the link threshold joins
   two groups unless an analyst rejected it, or the two groups are people some system holds
   apart (each has its own registration there) and joining them would merge twins or siblings
   caught by the twin guard, or dates of birth years apart. Pairs an analyst accepted join first.
4. Pairs in the review band whose records ended in different persons form the review queue
   (writers.py).

Inputs: table int_linkage_record (see its SQL). Outputs: int_person_link (unique_id → person_key),
int_person_link_pair (scored pairs in the review band, with the evidence for each comparison),
int_person_link_parameter (what each comparison level is worth) and int_person_link_run (counts
and timings).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np

from data_model.linkage.clustering import ClusterRecords, cluster_strongest_first
from data_model.linkage.decisions import (
    ACCEPT,
    REJECT,
    Decision,
    DecisionProblem,
    DecisionsFile,
)
from data_model.linkage.prediction import (
    LinkageRun,
    blocking_rules,
    drop_splink_tables,
    no_predictions,
    parameter_rows,
    train_and_predict,
)
from data_model.linkage.settings import linkage_settings
from data_model.linkage.writers import (
    write_decision_problems,
    write_parameters,
    write_person_link,
    write_review_pairs,
    write_run,
)


def link_persons(
    con: duckdb.DuckDBPyConnection,
    decisions: DecisionsFile | None = None,
    person: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> LinkageRun:
    """Link int_linkage_record into persons; writes the int_person_link family of tables.

    `decisions` are the analysts' clerical decisions the build read from the state database
    (data_model.state.decisions.read_for_build), with those it could not use."""
    person = person or linkage_settings()["person"]
    say = progress or (lambda message: None)
    run = LinkageRun()
    run.records, run.registrations = con.execute(
        "select count(*), count(distinct registration_id) from int_linkage_record"
    ).fetchall()[0]

    say("scoring candidate pairs")
    predictions, model = score_pairs(con, person, run)

    started = time.perf_counter()
    link_threshold = person["link_threshold"]
    keep_scored_pairs(con, predictions)
    must_link = certain_links(con)
    twins = twin_guard_pairs(con, person["twin_guard"]["first_name_similarity_below"])
    run.twin_guard_pairs = len(twins)
    decisions_file = decisions or DecisionsFile([], [])
    usable, unknown = decided_pairs(con, decisions_file.decisions)
    accepted = [(a, b) for a, b, decision in usable if decision.decision == ACCEPT]
    rejected = [(a, b) for a, b, decision in usable if decision.decision == REJECT]
    run.decisions_accepted, run.decisions_rejected = len(accepted), len(rejected)
    contradicted: list[tuple[int, int]] = []
    roots, joined_by = cluster_strongest_first(
        cluster_records(con, person["one_person_identifiers"]),
        person["max_dob_span_days"],
        must_link,
        accepted,
        strongest_first(con, link_threshold),
        guarded=twins,
        rejected=rejected,
        contradicted=contradicted,
    )
    by_nodes = {(a, b): decision for a, b, decision in usable}
    problems = [
        *decisions_file.problems,
        *(_problem(d, "a registration that is not in these extracts") for d in unknown),
        *(
            _problem(by_nodes[pair], "contradicts other decisions: other 'same person' decisions "
                     "join these two, and a 'different people' decision keeps them apart; kept "
                     "apart until a reviewer settles it")
            for pair in contradicted
        ),
    ]  # fmt: skip
    run.decision_problems = len(problems)
    run.records_joined = len(joined_by)
    run.seconds["cluster"] = time.perf_counter() - started

    started = time.perf_counter()
    write_person_link(con, roots, joined_by)
    run.twin_guard_blocked = twin_guard_blocked(con, link_threshold)
    write_review_pairs(
        con, predictions, person["review_from"], link_threshold, decisions_file.decisions
    )
    write_decision_problems(con, problems)
    write_parameters(con, parameter_rows(model))
    count_outcomes(con, run)
    drop_splink_tables(con)
    run.seconds["write"] = time.perf_counter() - started
    write_run(con, run, person)
    return run


def score_pairs(
    con: duckdb.DuckDBPyConnection, person: dict, run: LinkageRun
) -> tuple[str, dict[str, Any] | None]:
    """Splink's scored pairs (the predictions table) and the trained model, or an empty table
    and no model when there are too few records to learn from (identifiers and decisions only)."""
    rules = blocking_rules(con, person)
    run.broad_rules_used = [" + ".join(rule) for rule in rules[len(person["blocking_rules"]) :]]
    if run.records >= person["min_records_to_score"]:
        return train_and_predict(con, person, rules, run)
    return no_predictions(con, person), None


def keep_scored_pairs(con: duckdb.DuckDBPyConnection, predictions: str) -> None:
    """linkage_scored: the scored pairs by record position (unique_id is 1..n; the clustering
    works on 0-based positions)."""
    con.execute(
        f"""
        create or replace temp table linkage_scored as
        select
            unique_id_l - 1 as node_l,
            unique_id_r - 1 as node_r,
            match_probability,
            match_weight
        from {predictions}
        """
    )


def certain_links(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """Pairs of records that are one person whatever else they say: the rows of one registration,
    and rows sharing an identifier (n × 2, each record paired with its key's first record)."""
    pairs = con.execute(
        """
        with keys as (
            select unique_id - 1 as node, 'ID:' || registration_id as identity
            from int_linkage_record
            union all
            select unique_id - 1, shared_id from int_linkage_record where shared_id is not null
        ),
        firsts as (select identity, min(node) as first_node from keys group by identity)
        select firsts.first_node, keys.node
        from keys inner join firsts using (identity)
        where keys.node <> firsts.first_node
        """
    ).fetchnumpy()
    return np.column_stack([pairs["first_node"], pairs["node"]])


def twin_guard_pairs(con: duckdb.DuckDBPyConnection, similarity_below: float) -> np.ndarray:
    """linkage_twin_pair, and its pairs (n × 2): records of two registrations sharing a date of
    birth, postcode and surname whose first names are not alike, as twins' and siblings' are."""
    con.execute(
        """
        create or replace temp table linkage_twin_pair as
        select l.unique_id - 1 as node_l, r.unique_id - 1 as node_r
        from int_linkage_record as l
        inner join int_linkage_record as r
            on l.dob = r.dob
            and l.postcode = r.postcode
            and l.unique_id < r.unique_id
            and l.registration_id <> r.registration_id
        where jaro_winkler_similarity(l.first_name_std, r.first_name_std) < ?
            and not list_has_any(l.first_name_groups, r.first_name_groups)
            and l.first_name_skeleton <> r.first_name_skeleton
            -- one surname, or one part of a double-barrelled one
            and (l.last_name_skeleton = r.last_name_skeleton
                 or list_has_any(l.last_name_parts, r.last_name_parts))
        """,
        [similarity_below],
    )
    pairs = con.execute("select node_l, node_r from linkage_twin_pair").fetchnumpy()
    return np.column_stack([pairs["node_l"], pairs["node_r"]])


def strongest_first(con: duckdb.DuckDBPyConnection, link_threshold: float) -> np.ndarray:
    """Scored pairs at or above the link threshold (n × 3: node_l, node_r, probability),
    strongest first by match weight: probabilities round to 1.0 at the top, weights do not."""
    pairs = con.execute(
        "select node_l, node_r, match_probability from linkage_scored"
        " where match_probability >= ? order by match_weight desc, node_l, node_r",
        [link_threshold],
    ).fetchnumpy()
    return np.column_stack([pairs[column] for column in ("node_l", "node_r", "match_probability")])


def cluster_records(con: duckdb.DuckDBPyConnection, identifier_kinds: list[str]) -> ClusterRecords:
    """Each record's date of birth, source and identifiers (NHS number, NINO) for clustering."""
    identifier_columns = "".join(
        f", case when starts_with(shared_id, ${i + 1}) then dense_rank() over"
        f" (order by case when starts_with(shared_id, ${i + 1}) then shared_id end) else -1 end"
        f" as identifier_{i}"
        for i in range(len(identifier_kinds))
    )
    facts = con.execute(
        # days since 1900, NaN where unknown (nulls would come back masked, not as NaN)
        "select coalesce(date_diff('day', date '1900-01-01', dob)::double, 'nan'::double) as days,"
        f" dense_rank() over (order by source) - 1 as source_code{identifier_columns}"
        " from int_linkage_record order by unique_id",
        [f"{kind}:" for kind in identifier_kinds],
    ).fetchnumpy()
    return ClusterRecords.of(
        facts["days"],
        facts["source_code"],
        np.column_stack([facts[f"identifier_{i}"] for i in range(len(identifier_kinds))])
        if identifier_kinds
        else None,
    )


def _problem(decision: Decision, problem: str) -> DecisionProblem:
    return DecisionProblem(
        None, decision.registration_l, decision.registration_r, decision.decision, problem
    )


def decided_pairs(
    con: duckdb.DuckDBPyConnection, decisions: list[Decision]
) -> tuple[list[tuple[int, int, Decision]], list[Decision]]:
    """Analysts' decisions as pairs of records (one record of each registration) with the
    decision, and the decisions naming a registration that is not in these extracts."""
    if not decisions:
        return [], []
    known = {
        registration: node
        for registration, node in con.execute(
            """
            select registration_id, min(unique_id) - 1 as node
            from int_linkage_record
            where registration_id in (select unnest(?::varchar[]))
            group by registration_id
            """,
            [sorted({r for d in decisions for r in (d.registration_l, d.registration_r)})],
        ).fetchall()
    }
    usable, unknown = [], []
    for decision in decisions:
        left, right = known.get(decision.registration_l), known.get(decision.registration_r)
        if left is None or right is None:
            unknown.append(decision)
        else:
            usable.append((left, right, decision))
    return usable, unknown


def twin_guard_blocked(con: duckdb.DuckDBPyConnection, link_threshold: float) -> int:
    """Twin-guard pairs scoring at or above the link threshold that ended in two persons."""
    return con.execute(
        """
        select count(*)
        from linkage_scored as scored
        inner join linkage_twin_pair as twin using (node_l, node_r)
        inner join int_person_link as link_l on link_l.unique_id = scored.node_l + 1
        inner join int_person_link as link_r on link_r.unique_id = scored.node_r + 1
        where scored.match_probability >= ? and link_l.person_key <> link_r.person_key
        """,
        [link_threshold],
    ).fetchall()[0][0]


def count_outcomes(con: duckdb.DuckDBPyConnection, run: LinkageRun) -> None:
    """The run's pairs scored, persons and pairs of people awaiting a decision."""
    run.pairs_scored_above_predict, run.persons, run.review_pairs = con.execute(
        """
        select
            (select count(*) from linkage_scored),
            (select count(distinct person_key) from int_person_link),
            -- pairs of people awaiting a decision
            (select count(distinct (least(person_key_l, person_key_r),
                                    greatest(person_key_l, person_key_r)))
             from int_person_link_pair where decision is null)
        """
    ).fetchall()[0]
