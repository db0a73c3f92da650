"""The tables person linkage writes: int_person_link (each record's person), int_person_link_pair
(the pairs an analyst should see), int_person_link_parameter (what each comparison level is worth)
and int_person_link_run (counts and timings)."""

from __future__ import annotations

import duckdb
import numpy as np

from data_model.linkage.decisions import Decision, DecisionProblem
from data_model.linkage.prediction import LinkageRun


def write_person_link(
    con: duckdb.DuckDBPyConnection, roots: np.ndarray, joined_by: dict[int, float]
) -> None:
    """int_person_link: each record's person key and the probability that joined it."""
    import pyarrow as pa

    nodes = np.arange(len(roots))
    probability = np.full(len(roots), np.nan)
    if joined_by:
        keys = np.fromiter(joined_by.keys(), dtype=np.int64)
        probability[keys] = np.fromiter(joined_by.values(), dtype=np.float64)
    links = pa.table(
        {
            "unique_id": nodes + 1,
            "group_root": roots,
            "match_probability": pa.array(probability, from_pandas=True),
        }
    )
    con.register("linkage_groups", links)
    # A person key that does not change between builds while the person's first registration
    # stays: the smallest registration id in the group.
    con.execute(
        """
        create or replace table int_person_link as
        with grouped as (
            select record.unique_id, record.registration_id, groups.group_root,
                   groups.match_probability
            from int_linkage_record as record
            inner join linkage_groups as groups using (unique_id)
        ),
        keyed as (
            select group_root, 'PK-' || left(md5(min(registration_id)), 12) as person_key
            from grouped group by group_root
        )
        select grouped.unique_id, grouped.registration_id, keyed.person_key,
               grouped.match_probability
        from grouped inner join keyed using (group_root)
        """
    )
    con.unregister("linkage_groups")


def write_review_pairs(
    con: duckdb.DuckDBPyConnection,
    predictions: str,
    review_from: float,
    decisions: list[Decision],
    identifier_kinds: list[str],
    namesake_days: float,
) -> None:
    """Scored pairs an analyst should see: pairs scoring from `review_from` up whose records
    ended in different persons (the review band, and pairs a guard kept apart however high they
    scored), decided pairs, and twin-guard pairs linked anyway (by an identifier or a decision),
    for a second look. Pairs of persons holding two different NHS numbers (or NINOs) are two
    people for certain and are not offered.

    `review_reason` says why each pair is there, in plain words."""
    columns = [
        column[0] for column in con.execute(f"select * from {predictions} limit 0").description
    ]
    evidence = ", ".join(f"p.{column}" for column in columns if column.startswith("mw_"))
    con.execute(
        "create or replace temp table linkage_decision (pair_l varchar, pair_r varchar,"
        " decision varchar, decided_at varchar, decided_by varchar)"
    )
    if decisions:
        con.executemany(
            "insert into linkage_decision values (?, ?, ?, ?, ?)",
            [(*d.pair, d.decision, d.decided_at, d.decided_by) for d in decisions],
        )
    con.execute(
        f"""
        create or replace table int_person_link_pair as
        with pairs as (
            select
                p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight, {evidence},
                twin.node_l is not null as twin_guard,
                twin.twin_reason
            from {predictions} as p
            left join linkage_twin_pair as twin
                on twin.node_l = p.unique_id_l - 1 and twin.node_r = p.unique_id_r - 1
            where p.match_probability >= $review_from
        ),
        with_people as (
            select
                pairs.*,
                link_l.registration_id as registration_l,
                link_r.registration_id as registration_r,
                link_l.person_key as person_key_l,
                link_r.person_key as person_key_r
            from pairs
            inner join int_person_link as link_l on link_l.unique_id = pairs.unique_id_l
            inner join int_person_link as link_r on link_r.unique_id = pairs.unique_id_r
        ),
        undecided_or_decided as (
            select
                with_people.*,
                least(registration_l, registration_r) as pair_l,
                greatest(registration_l, registration_r) as pair_r
            from with_people
            where registration_l <> registration_r
        ),
        -- kept apart, or decided; twin-guard pairs linked anyway want a second look
        to_offer as (
            select pairs.*, decision.decision, decision.decided_at, decision.decided_by
            from undecided_or_decided as pairs
            left join linkage_decision as decision using (pair_l, pair_r)
            where decision.decision is not null
                or pairs.person_key_l <> pairs.person_key_r
                or pairs.twin_guard
        ),
        -- one row per pair of registrations: the strongest of their records' pairs
        offered as (
            select * from to_offer
            qualify row_number() over (
                partition by pair_l, pair_r
                order by match_probability desc, unique_id_l, unique_id_r
            ) = 1
        ),
        -- persons holding an identifier that names one person (NHS number, NINO), among those
        person_identifier as (
            select distinct link.person_key, record.shared_id
            from int_linkage_record as record
            inner join int_person_link as link using (unique_id)
            where list_contains($identifier_kinds, split_part(record.shared_id, ':', 1))
                and link.person_key in (
                    select person_key_l from offered union select person_key_r from offered
                )
        ),
        -- pairs of persons holding two different ones of a kind: two people for certain
        two_identifiers as (
            select distinct offered.person_key_l, offered.person_key_r
            from offered
            inner join person_identifier as a on a.person_key = offered.person_key_l
            inner join person_identifier as b
                on b.person_key = offered.person_key_r
                and split_part(a.shared_id, ':', 1) = split_part(b.shared_id, ':', 1)
                and a.shared_id <> b.shared_id
        )
        select
            offered.pair_l || ' ~ ' || offered.pair_r as pair_id,
            offered.* exclude (decision, decided_at, decided_by, twin_reason),
            abs(date_diff('day', record_l.dob, record_r.dob)) >= $namesake_days
                and damerau_levenshtein(record_l.dob_digits, record_r.dob_digits) > 1
                as namesake_guard,
            case
                when offered.twin_guard then offered.twin_reason
                when abs(date_diff('day', record_l.dob, record_r.dob)) >= $namesake_days
                    and damerau_levenshtein(record_l.dob_digits, record_r.dob_digits) > 1
                    then 'one name, dates of birth years apart'
                else 'in the review band'
            end as review_reason,
            offered.decision,
            offered.decided_at,
            offered.decided_by
        from offered
        inner join int_linkage_record as record_l on record_l.unique_id = offered.unique_id_l
        inner join int_linkage_record as record_r on record_r.unique_id = offered.unique_id_r
        left join two_identifiers as certain
            on certain.person_key_l = offered.person_key_l
            and certain.person_key_r = offered.person_key_r
        where offered.decision is not null
            or offered.twin_guard
            or certain.person_key_l is null
        """,
        {
            "review_from": review_from,
            "namesake_days": namesake_days,
            "identifier_kinds": identifier_kinds,
        },
    )


def write_parameters(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """int_person_link_parameter: rows of prediction.parameter_rows."""
    con.execute(
        "create or replace table int_person_link_parameter (comparison varchar, level integer,"
        " level_order integer, label varchar, m_probability double, u_probability double,"
        " match_weight double)"
    )
    if rows:
        con.executemany("insert into int_person_link_parameter values (?, ?, ?, ?, ?, ?, ?)", rows)


def write_run(con: duckdb.DuckDBPyConnection, run: LinkageRun, person: dict) -> None:
    """int_person_link_run: the run's counts, thresholds and timings, one row."""
    con.execute(
        """
        create or replace table int_person_link_run as select
            ?::bigint as records, ?::bigint as registrations, ?::bigint as persons,
            ?::bigint as pairs_compared, ?::bigint as pairs_scored, ?::bigint as records_joined,
            ?::bigint as twin_guard_pairs, ?::bigint as twin_guard_blocked,
            ?::bigint as decisions_accepted, ?::bigint as decisions_rejected,
            ?::bigint as decision_problems, ?::bigint as review_pairs,
            ?::double as link_threshold, ?::double as review_from,
            ?::double as train_seconds, ?::double as predict_seconds, ?::double as cluster_seconds,
            ?::varchar as broad_rules_used
        """,
        [
            run.records,
            run.registrations,
            run.persons,
            run.pairs_compared,
            run.pairs_scored_above_predict,
            run.records_joined,
            run.twin_guard_pairs,
            run.twin_guard_blocked,
            run.decisions_accepted,
            run.decisions_rejected,
            run.decision_problems,
            run.review_pairs,
            person["link_threshold"],
            person["review_from"],
            run.seconds.get("train"),
            run.seconds.get("predict"),
            run.seconds.get("cluster"),
            "; ".join(run.broad_rules_used),
        ],
    )


def write_decision_problems(
    con: duckdb.DuckDBPyConnection, problems: list[DecisionProblem]
) -> None:
    """int_person_link_decision_problem: the clerical decisions this build could not use, and
    why, for the Data quality page (never skipped silently)."""
    con.execute(
        "create or replace table int_person_link_decision_problem (line bigint,"
        " registration_l varchar, registration_r varchar, decision varchar, problem varchar)"
    )
    if problems:
        con.executemany(
            "insert into int_person_link_decision_problem values (?, ?, ?, ?, ?)",
            [(p.line, p.registration_l, p.registration_r, p.decision, p.problem) for p in problems],
        )
