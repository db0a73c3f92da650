"""Person linkage: records of every source → persons, with Splink on the model's DuckDB connection.

The steps, each explainable to an analyst:
1. Deterministic links: the rows of one registration (a system's own person id), and rows sharing
   an identifier (NHS number, NINO, a service fed from a system we load) are one person.
2. Splink scores candidate pairs (blocking rules and comparisons from linkage.yaml), trained by
   expectation maximisation without labels (prediction.py, comparisons.py). The pairs are made
   and scored on DuckDB, or on Spark with the model trained on DuckDB (spark.py); the steps
   below run here either way.
3. Clustering (clustering.py), strongest pair first: a pair at or above the link threshold joins
   two groups unless an analyst rejected it, it would give one person two NHS numbers, or the
   pair's own evidence says two people: twins (same date of birth and dwelling, different first
   names or a boy and a girl) or a parent and child of one name (dates of birth ten or more
   years apart). Where some system holds the two groups apart (each has its own registration
   there), siblings sharing a postcode and dates of birth over a year apart are kept apart too.
   Pairs an analyst accepted join first.
4. Pairs scoring from the review band up whose records ended in different persons form the
   review queue (writers.py): the band itself, and the pairs the guards kept apart.

Inputs: table int_linkage_record (see its SQL). Outputs: int_person_link (unique_id → person_key),
int_person_link_pair (scored pairs in the review band, with the evidence for each comparison),
int_person_link_parameter (what each comparison level is worth) and int_person_link_run (counts
and timings).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import duckdb
import numpy as np

from data_model.linkage.clustering import (
    ClusterRecords,
    cluster_strongest_first,
    one_slip_apart,
)
from data_model.linkage.decisions import (
    ACCEPT,
    REJECT,
    Decision,
    DecisionProblem,
    DecisionsFile,
)
from data_model.linkage.prediction import (
    SPLINK_WORK,
    LinkageRun,
    attach_splink_work,
    blocking_rules,
    drop_splink_tables,
    no_predictions,
    parameter_rows,
    train_and_predict,
)
from data_model.linkage.settings import linkage_settings
from data_model.linkage.spark import linkage_engine
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
    engine: str | None = None,
) -> LinkageRun:
    """Link int_linkage_record into persons; writes the int_person_link family of tables.

    `decisions` are the analysts' clerical decisions the build read from the state database
    (data_model.state.decisions.read_for_build), with those it could not use.

    `engine`: where candidate pairs are made and scored, "duckdb" or "spark" (spark.py); by
    default linkage.yaml's `engine`."""
    person = person or linkage_settings()["person"]
    say = progress or (lambda message: None)
    run = LinkageRun(engine=linkage_engine(engine))
    run.records, run.registrations = con.execute(
        "select count(*), count(distinct registration_id) from int_linkage_record"
    ).fetchall()[0]

    say("scoring candidate pairs")
    # What the guards and the clustering need from the records alone (the twin guard's pairs,
    # each record's date of birth and identifiers, the certain links) is worked out on a second
    # connection while the pairs are scored: DuckDB work, where the scoring's Python leaves a
    # core idle.
    attach_splink_work(con)
    with ThreadPoolExecutor(max_workers=1) as pool:
        from_records = pool.submit(_facts_on_own_connection, con, person)
        try:
            predictions, model = score_pairs(con, person, run)
        except BaseException:
            wait([from_records])
            raise
        facts = from_records.result()
    con.execute(
        "create or replace temp table linkage_twin_pair as"
        f" select * from {SPLINK_WORK}.main.linkage_twin_pair"
    )

    started = time.perf_counter()
    link_threshold = person["link_threshold"]
    keep_scored_pairs(con, predictions)
    decisions_file = decisions or DecisionsFile([], [])
    decided = decisions_file.decisions
    usable, unknown = decided_pairs(con, decided)
    accepted = [(a, b) for a, b, decision in usable if decision.decision == ACCEPT]
    rejected = [(a, b) for a, b, decision in usable if decision.decision == REJECT]
    run.decisions_accepted, run.decisions_rejected = len(accepted), len(rejected)
    contradicted: list[tuple[int, int]] = []
    roots, joined_by = cluster_persons(
        con, person, accepted, rejected, contradicted, run, facts=facts
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
        con,
        predictions,
        person["review_from"],
        decided,
        person["one_person_identifiers"],
        namesake_span_days(person),
    )
    write_decision_problems(con, problems)
    write_parameters(con, parameter_rows(model))
    count_outcomes(con, run)
    drop_splink_tables(con)
    run.seconds["write"] = time.perf_counter() - started
    write_run(con, run, person)
    return run


def cluster_persons(
    con: duckdb.DuckDBPyConnection,
    person: dict,
    accepted: list[tuple[int, int]],
    rejected: list[tuple[int, int]],
    contradicted: list[tuple[int, int]],
    run: LinkageRun,
    facts: RecordFacts | None = None,
) -> tuple[np.ndarray, dict[int, float]]:
    """Records into persons (cluster_strongest_first's result) from the scored pairs in
    linkage_scored: certain links, the analysts' decisions (record pairs), the twin and namesake
    guards, and without the pairs of records that could be either of two people kept apart.
    `facts`: what the records alone give (_facts_from_records), when already worked out."""
    link_threshold = person["link_threshold"]
    similarity_below = person["twin_guard"]["first_name_similarity_below"]
    if facts is None:
        facts = _facts_from_records(con, person)
    (twins, siblings), records, must_link = facts
    run.twin_guard_pairs = len(twins) + len(siblings)
    twins, siblings = (
        lift_accepted_names(con, pairs, accepted, similarity_below) for pairs in (twins, siblings)
    )
    return cluster_strongest_first(
        records,
        person["max_dob_span_days"],
        must_link,
        accepted,
        without_ambiguous_records(
            con,
            strongest_first(con, link_threshold),
            twins,
            link_threshold,
            person,
            records.dob_days,
        ),
        guarded=siblings,
        rejected=rejected,
        contradicted=contradicted,
        apart=twins,
        namesake_span_days=namesake_span_days(person),
    )


# The twin guard's pairs (twins, siblings), each record's facts for clustering, certain links.
RecordFacts = tuple[tuple[np.ndarray, np.ndarray], ClusterRecords, np.ndarray]


def _facts_from_records(con: duckdb.DuckDBPyConnection, person: dict) -> RecordFacts:
    """What the guards and the clustering need from int_linkage_record alone (and the twin
    guard's linkage_twin_pair, a temp table on `con`)."""
    pairs = twin_guard_pairs(
        con,
        person["twin_guard"]["first_name_similarity_below"],
        person["twin_guard"]["postcode_and_surname_is_home"],
    )
    return pairs, cluster_records(con, person["one_person_identifiers"]), certain_links(con)


def _facts_on_own_connection(con: duckdb.DuckDBPyConnection, person: dict) -> RecordFacts:
    """_facts_from_records on a connection of its own; its linkage_twin_pair is left in
    SPLINK_WORK (attach_splink_work), where `con` can read it."""
    with con.cursor() as own:
        facts = _facts_from_records(own, person)
        own.execute(
            f"create or replace table {SPLINK_WORK}.main.linkage_twin_pair as"
            " select * from linkage_twin_pair"
        )
    return facts


def score_pairs(
    con: duckdb.DuckDBPyConnection, person: dict, run: LinkageRun
) -> tuple[str, dict[str, Any] | None]:
    """Splink's scored pairs (the predictions table) and the trained model, or an empty table
    and no model when there are too few records to learn from (identifiers and decisions only)."""
    rules = blocking_rules(con, person)
    run.broad_rules_used = [" + ".join(rule) for rule in rules[len(person["blocking_rules"]) :]]
    if run.records >= person["min_records_to_score"]:
        return train_and_predict(con, person, rules, run, run.engine)
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


def namesake_span_days(person: dict) -> float:
    """The namesake guard's years apart, in days."""
    return person["namesake_guard"]["dob_years_apart_at_least"] * 365.25


def different_first_names(a: str, b: str) -> str:
    """SQL: the first names of records `a` and `b` (aliases of int_linkage_record), both recorded,
    are different names, as twins' are (linkage.yaml twin_guard); `$similarity_below` is the
    setting's Jaro-Winkler bound. Typos, nicknames and spellings are judged on the first given
    names, so a second given name on one side ("NISHA DIYA", "BISHA") changes nothing; and on the
    whole first names without their spaces ("LEE ANNE", "LEANN"). Two names name_variants.yaml
    lists in no common group are different names however alike their letters (Hassan and
    Hussain, Jack and Jake, Oliver and Olivia)."""
    whole_names_not_a_typo = _not_a_typo(
        f"replace({a}.first_name_std, ' ', '')", f"replace({b}.first_name_std, ' ', '')"
    )
    return f"""(
        {a}.first_name_std <> {b}.first_name_std
        and (
            -- names the variants list knows, in no common group
            ({a}.first_name_listed and {b}.first_name_listed
             and not list_has_any({a}.first_name_groups, {b}.first_name_groups))
            or (
                -- not a typo
                {_not_a_typo(f"{a}.first_given_name", f"{b}.first_given_name")}
                and {whole_names_not_a_typo}
                -- not a nickname or spelling variant
                and not list_has_any({a}.first_name_groups, {b}.first_name_groups)
                -- not a transliteration (one consonant skeleton of two consonants or more)
                and not coalesce(
                    {a}.first_name_transliteration_key = {b}.first_name_transliteration_key, false)
            )
        )
        -- not an initial
        and length({a}.first_given_name) > 1 and length({b}.first_given_name) > 1
        -- not one contained in the other: a second given name, or a short form (KEN, KENNETH)
        and not list_has_all({a}.first_name_tokens, {b}.first_name_tokens)
        and not list_has_all({b}.first_name_tokens, {a}.first_name_tokens)
        and not starts_with({a}.first_given_name, {b}.first_given_name)
        and not starts_with({b}.first_given_name, {a}.first_given_name)
        -- nor a second given name written differently from the other's first
        -- ("MUHAMMAD ZAKARIYA", "ZAKARIYYA")
        and {_not_a_typo(f"coalesce({a}.second_given_name, '')", f"{b}.first_given_name")}
        and {_not_a_typo(f"coalesce({b}.second_given_name, '')", f"{a}.first_given_name")}
        -- not the surname recorded as the forename (names swapped)
        and {_not_swapped(a, b)}
    )"""


def _not_a_typo(x: str, y: str) -> str:
    """SQL: names x and y are not one name mistyped (Jaro-Winkler below `$similarity_below`,
    and more than one edit apart)."""
    return (
        f"(jaro_winkler_similarity({x}, {y}) < $similarity_below"
        f" and damerau_levenshtein({x}, {y}) > 1)"
    )


def different_sexes(a: str, b: str) -> str:
    """SQL: records `a` and `b` are recorded one male and one female, with first names not the
    same: a boy and a girl (Daniel and Danielle, Amir and Amira), however alike their names. One
    name with two sexes is one person with a sex keyed wrongly, as are names swapped with the
    surname (one record's forename is the other's surname: the name says nothing here)."""
    return f"""(
        {a}.sex in ('M', 'F') and {b}.sex in ('M', 'F') and {a}.sex <> {b}.sex
        and {a}.first_given_name <> {b}.first_given_name
        and {_not_swapped(a, b)}
    )"""


def _not_swapped(a: str, b: str) -> str:
    """SQL: neither record's first name is the other's surname (names written the wrong way
    round)."""
    return (
        f"(jaro_winkler_similarity({a}.first_name_std, coalesce({b}.last_name_std, '')) < 0.92"
        f" and jaro_winkler_similarity({b}.first_name_std, coalesce({a}.last_name_std, '')) < 0.92)"
    )


def alike_first_names(a: str, b: str) -> str:
    """SQL: both first names recorded and not different names (one name, as far as twins go)."""
    return (
        f"({a}.first_name_std is not null and {b}.first_name_std is not null"
        f" and not {different_first_names(a, b)})"
    )


def twin_guard_pairs(
    con: duckdb.DuckDBPyConnection,
    similarity_below: float,
    postcode_and_surname: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """linkage_twin_pair, and its pairs (each n × 2): records of two registrations sharing a date
    of birth whose first names are different names (different_first_names), or who are recorded
    a boy and a girl (different_sexes), as twins are.

    The first pairs share a home: the same address; the same postcode where either has no
    address; the same postcode and building where one leaves out the flat ("20 CARR AVENUE",
    "FLAT 4 20 CARR AVENUE"); and, where `postcode_and_surname` (linkage.yaml
    twin_guard.postcode_and_surname_is_home), the same postcode and surname. Twins on their own
    evidence, kept apart always. The second share only a postcode and a surname (siblings whose
    address one system keyed wrongly), kept apart where a system holds them as two people.
    """
    if postcode_and_surname is None:
        postcode_and_surname = linkage_settings()["person"]["twin_guard"][
            "postcode_and_surname_is_home"
        ]
    # Pairs sharing a date of birth and an address or a postcode, made first (by equality joins
    # alone), then judged: the names are compared once per pair.
    con.execute(
        """
        create or replace temp table linkage_birthday_pair as
        select l.unique_id as id_l, r.unique_id as id_r
        from int_linkage_record as l
        inner join int_linkage_record as r
            on l.dob = r.dob and l.address_key = r.address_key and l.unique_id < r.unique_id
        where l.registration_id <> r.registration_id and l.first_name_std <> r.first_name_std
        union
        select l.unique_id, r.unique_id
        from int_linkage_record as l
        inner join int_linkage_record as r
            on l.dob = r.dob and l.postcode = r.postcode and l.unique_id < r.unique_id
        where l.registration_id <> r.registration_id and l.first_name_std <> r.first_name_std
        """
    )
    con.execute(
        """
        create or replace temp table linkage_registration_sexes as
        select registration_id, count(distinct sex) filter (where sex in ('M', 'F')) as sexes
        from int_linkage_record
        group by registration_id
        """
    )
    same_surname = (
        "(l.last_name_skeleton = r.last_name_skeleton"
        " or list_has_any(l.last_name_parts, r.last_name_parts))"
    )
    same_home = f"""(
        coalesce(l.address_key = r.address_key, l.postcode = r.postcode)
        or l.postcode = r.postcode and l.building_key = r.building_key
            and (l.address_flat is null or r.address_flat is null)
        {f"or l.postcode = r.postcode and {same_surname}" if postcode_and_surname else ""}
    )"""
    con.execute(
        f"""
        create or replace temp table linkage_twin_pair as
        select
            l.unique_id - 1 as node_l,
            r.unique_id - 1 as node_r,
            coalesce({same_home}, false) as same_dwelling,
            case when {different_first_names("l", "r")}
                then 'same date of birth and home, different first names'
                else 'same date of birth and home, a boy and a girl'
            end as twin_reason
        from linkage_birthday_pair as pair
        inner join int_linkage_record as l on l.unique_id = pair.id_l
        inner join int_linkage_record as r on r.unique_id = pair.id_r
        inner join linkage_registration_sexes as l_sexes
            on l_sexes.registration_id = l.registration_id
        inner join linkage_registration_sexes as r_sexes
            on r_sexes.registration_id = r.registration_id
        where ({different_first_names("l", "r")}
               -- a boy and a girl, each registration recording one sex (a registration holding
               -- both has had its sex keyed wrongly)
               or {different_sexes("l", "r")} and l_sexes.sexes = 1 and r_sexes.sexes = 1)
            -- one surname, or one part of a double-barrelled one
            and (coalesce({same_home}, false) or {same_surname})
        order by node_l, node_r
        """,
        {"similarity_below": similarity_below},
    )
    pairs = con.execute("select node_l, node_r, same_dwelling from linkage_twin_pair").fetchnumpy()
    both = np.column_stack([pairs["node_l"], pairs["node_r"]])
    same_dwelling = pairs["same_dwelling"].astype(bool)
    return both[same_dwelling], both[~same_dwelling]


def lift_accepted_names(
    con: duckdb.DuckDBPyConnection,
    pairs: np.ndarray,
    accepted: list[tuple[int, int]],
    similarity_below: float,
) -> np.ndarray:
    """Twin-guard pairs (n × 2) without those an analyst's decision answers: once two first names
    at one date of birth are accepted as one person (Martin in one system, Damian in another),
    the guard no longer parts records with those names, or names alike them (Damien), at that
    date of birth. Names not alike stay apart: Daniel, Damian's real twin, from both."""
    if not accepted or not len(pairs):
        return pairs
    con.execute("create or replace temp table linkage_guard_pair (node_l bigint, node_r bigint)")
    con.executemany("insert into linkage_guard_pair values (?, ?)", pairs.tolist())
    con.execute("create or replace temp table linkage_accepted (node_l bigint, node_r bigint)")
    con.executemany("insert into linkage_accepted values (?, ?)", accepted)
    kept = con.execute(
        f"""
        with records as (select * from int_linkage_record),
        answered as (
            select distinct guard.node_l, guard.node_r
            from linkage_guard_pair as guard
            inner join records as x on x.unique_id = guard.node_l + 1
            inner join records as y on y.unique_id = guard.node_r + 1
            inner join records as a on a.dob = x.dob
            inner join linkage_accepted as decision on decision.node_l + 1 = a.unique_id
                or decision.node_r + 1 = a.unique_id
            inner join records as b
                on b.unique_id = decision.node_l + decision.node_r + 2 - a.unique_id
            where {alike_first_names("x", "a")} and {alike_first_names("y", "b")}
        )
        select guard.node_l, guard.node_r
        from linkage_guard_pair as guard
        anti join answered using (node_l, node_r)
        order by guard.node_l, guard.node_r
        """,
        {"similarity_below": similarity_below},
    ).fetchnumpy()
    return np.column_stack([kept["node_l"], kept["node_r"]]).astype(np.int64)


def without_ambiguous_records(
    con: duckdb.DuckDBPyConnection,
    scored: np.ndarray,
    twins: np.ndarray,
    link_threshold: float,
    person: dict,
    dob_days: np.ndarray,
) -> np.ndarray:
    """The scored pairs (strongest_first's) without those of a record that could be either of two
    people the guards keep apart: it scores at or above the link threshold with both twins, or
    with both a parent and a child of one name (a tenancy without a date of birth, say), and is
    not at least as much likelier to be one than the other as a link asks (the link threshold's
    odds: 99 to 1 at 0.99). Such a record joins neither; its pairs go to review.

    For each record: its strongest partner, and its strongest rival partner, one the guards keep
    apart from the first (the other twin), or one born years from the strongest partner born on a
    known day (not one keystroke away). `dob_days`: each record's date of birth (ClusterRecords)."""
    if not len(scored):
        return scored
    decisive_bits = math.log2(link_threshold / (1 - link_threshold))
    # each record's partners, strongest first; among equally strong ones, by record number, so
    # that the rows' order (which the engine that scored them decides) changes nothing. Sorted
    # by DuckDB (in parallel): numpy's lexsort of both directions took a second at Bradford scale.
    partners = con.execute(
        """
        with strong as (
            select node_l, node_r, match_weight from linkage_scored where match_probability >= ?
        )
        select node, other, weight
        from (
            select node_l as node, node_r as other, match_weight as weight from strong
            union all
            select node_r, node_l, match_weight from strong
        )
        order by node, weight desc, other
        """,
        [link_threshold],
    ).fetchnumpy()
    node = np.asarray(partners["node"], dtype=np.int64)
    other = np.asarray(partners["other"], dtype=np.int64)
    weight = np.asarray(partners["weight"], dtype=float)
    n_records = len(dob_days)
    first = np.r_[True, node[1:] != node[:-1]]
    best_weight = np.full(n_records, -np.inf)
    best_other = np.full(n_records, -1, dtype=np.int64)
    best_weight[node[first]], best_other[node[first]] = weight[first], other[first]
    rival_weight = np.full(n_records, -np.inf)

    # twins: a partner the guard keeps apart from the strongest one
    if len(twins):
        apart = np.concatenate([twins, twins[:, ::-1]]).astype(np.int64)
        apart_keys = np.sort(apart[:, 0] * n_records + apart[:, 1])
        is_rival = _in_sorted(best_other[node] * n_records + other, apart_keys)
        np.maximum.at(rival_weight, node[is_rival], weight[is_rival])

    # namesakes: a partner born years from the strongest partner with a known date of birth
    partner_dob = dob_days[other]
    dated = ~np.isnan(partner_dob)
    # the first dated partner of each record, in strongest-first order
    rows = np.flatnonzero(dated)
    firsts = rows[np.r_[True, node[rows][1:] != node[rows][:-1]]] if len(rows) else rows
    best_dob = np.full(n_records, np.nan)
    best_dob[node[firsts]] = partner_dob[firsts]
    far = dated & (np.abs(partner_dob - best_dob[node]) >= namesake_span_days(person))
    for i in np.flatnonzero(far):  # few
        if not one_slip_apart(partner_dob[i], best_dob[node[i]]):
            rival_weight[node[i]] = max(rival_weight[node[i]], weight[i])

    has_rival = np.isfinite(rival_weight)
    ambiguous = np.flatnonzero(has_rival)[
        best_weight[has_rival] - rival_weight[has_rival] < decisive_bits
    ]
    if not len(ambiguous):
        return scored
    nodes = scored[:, :2].astype(np.int64)
    is_ambiguous = np.zeros(max(n_records, int(nodes.max()) + 1), dtype=bool)
    is_ambiguous[ambiguous] = True
    return scored[~(is_ambiguous[nodes[:, 0]] | is_ambiguous[nodes[:, 1]])]


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """np.isin(values, sorted_keys) for keys already sorted, without sorting the values (a binary
    search each: many values, few keys)."""
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[at] == values


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
