"""Person linkage: records of every source → persons, with Splink on the model's DuckDB connection.

The steps, each explainable to an analyst:
1. Deterministic links: the rows of one registration (a system's own person id), and rows sharing
   an identifier (NHS number, NINO, a service fed from a system we load) are one person.
2. Splink scores candidate pairs (blocking rules and comparisons from linkage.yaml), trained by
   expectation maximisation without labels.
3. Clustering, strongest pair first: a pair at or above the link threshold joins two groups unless
   an analyst rejected it, or the two groups are people some system holds apart (each has its
   own registration there) and joining them would merge twins or siblings caught by the twin
   guard, or dates of birth years apart. Pairs an analyst accepted join first.
4. Pairs in the review band whose records ended in different persons form the review queue.

Inputs: table int_linkage_record (see its SQL). Outputs: int_person_link (unique_id → person_key),
int_person_link_pair (scored pairs in the review band, with the evidence for each comparison),
int_person_link_parameter (what each comparison level is worth) and int_person_link_run (counts
and timings).
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import yaml

SETTINGS_FILE = Path(__file__).with_name("linkage.yaml")
NAME_VARIANTS_FILE = Path(__file__).with_name("name_variants.yaml")

# The clerical decisions file lives beside the model, outside it, so rebuilding never loses it.
DECISIONS_FILE_NAME = "linkage_decisions.csv"
DECISION_COLUMNS = ("registration_l", "registration_r", "decision", "decided_at", "decided_by")
ACCEPT, REJECT = "same person", "different people"


@cache
def linkage_settings(path: Path = SETTINGS_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def name_variant_rows(path: Path = NAME_VARIANTS_FILE) -> list[tuple[str, str]]:
    """(name, group) pairs in linkage's standard form (capitals, no marks)."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = set()
    for canonical, variants in groups.items():
        for name in [canonical, *variants]:
            rows.add((str(name).upper(), str(canonical).upper()))
    return sorted(rows)


def create_linkage_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Configuration the SQL models read: name groups and systems that share another's ids."""
    con.execute("create or replace table cfg_name_variant (name_std varchar, name_group varchar)")
    con.executemany("insert into cfg_name_variant values (?, ?)", name_variant_rows())
    con.execute("create or replace table cfg_system_source (system_name varchar, source varchar)")
    systems = linkage_settings()["person"]["same_identifier_systems"]
    con.executemany("insert into cfg_system_source values (?, ?)", list(systems.items()))


# --- Clerical decisions --------------------------------------------------------------------------


def pair_key(registration_a: str, registration_b: str) -> tuple[str, str]:
    """A pair of registrations in one order, whichever way round it was given."""
    return (min(registration_a, registration_b), max(registration_a, registration_b))


@dataclass(frozen=True)
class Decision:
    registration_l: str
    registration_r: str
    decision: str  # ACCEPT or REJECT
    decided_at: str = ""
    decided_by: str = ""

    @property
    def pair(self) -> tuple[str, str]:
        return pair_key(self.registration_l, self.registration_r)


def read_decisions(path: Path | None) -> list[Decision]:
    """Decisions in file order; a later decision on the same pair replaces an earlier one."""
    if path is None or not Path(path).exists():
        return []
    latest: dict[tuple[str, str], Decision] = {}
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if row.get("decision") not in (ACCEPT, REJECT):
                continue
            decision = Decision(
                row["registration_l"],
                row["registration_r"],
                row["decision"],
                row.get("decided_at", ""),
                row.get("decided_by", ""),
            )
            latest[decision.pair] = decision
    return list(latest.values())


def record_decision(
    path: Path, registration_l: str, registration_r: str, decision: str, decided_by: str = ""
) -> Decision:
    """Append an analyst's decision; the next build honours it (and every build after)."""
    if decision not in (ACCEPT, REJECT):
        raise ValueError(f"decision must be {ACCEPT!r} or {REJECT!r}, not {decision!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new_file = not path.exists()
    made = Decision(
        registration_l,
        registration_r,
        decision,
        datetime.now().isoformat(timespec="seconds"),
        decided_by,
    )
    with open(path, "a", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        if new_file:
            writer.writerow(DECISION_COLUMNS)
        writer.writerow([getattr(made, column) for column in DECISION_COLUMNS])
    return made


# --- Splink --------------------------------------------------------------------------------------


def blocking_rules(con: duckdb.DuckDBPyConnection, person: dict) -> list[list[str] | str]:
    """The selective rules, and each broad rule that is affordable on these records: one giving
    at most `max_pairs_per_record` candidate pairs a record (a small extract, a benchmark like
    FEBRL; at district scale they give far more and are left out)."""
    broad = person.get("broad_blocking_rules") or {}
    (records,) = con.execute("select count(*) from int_linkage_record").fetchall()[0]
    rules = list(person["blocking_rules"])
    for rule in broad.get("rules", []):
        columns = ", ".join(rule)
        known = " and ".join(f"{column} is not null" for column in rule)
        (pairs,) = con.execute(
            f"select coalesce(sum(n * (n - 1) // 2), 0) from"
            f" (select count(*) as n from int_linkage_record where {known} group by {columns})"
        ).fetchall()[0]
        if records and pairs / records <= broad["max_pairs_per_record"]:
            rules.append(rule)
    return rules


def splink_settings(person: dict, rules: list[list[str] | str] | None = None) -> dict:
    """The Splink settings dictionary made from linkage.yaml's person section (and the blocking
    rules to use, by default the selective ones)."""
    from splink import block_on

    comparisons = []
    for comparison in person["comparisons"]:
        levels = []
        for level in comparison["levels"]:
            spec = {"sql_condition": level["sql"].strip(), "label_for_charts": level["label"]}
            if level.get("is_null"):
                spec["is_null_level"] = True
            if level.get("term_frequency"):
                spec["tf_adjustment_column"] = level["term_frequency"]
                spec["tf_adjustment_weight"] = 1.0
            levels.append(spec)
        comparisons.append({"output_column_name": comparison["name"], "comparison_levels": levels})
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "blocking_rules_to_generate_predictions": [
            rule if isinstance(rule, str) else block_on(*rule)
            for rule in (person["blocking_rules"] if rules is None else rules)
        ],
        "comparisons": comparisons,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
    }


@dataclass
class LinkageRun:
    records: int = 0
    registrations: int = 0
    persons: int = 0
    pairs_compared: int = 0
    pairs_scored_above_predict: int = 0
    records_joined: int = 0  # records joined to at least one other record
    twin_guard_pairs: int = 0
    twin_guard_blocked: int = 0
    decisions_accepted: int = 0
    decisions_rejected: int = 0
    review_pairs: int = 0
    broad_rules_used: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _train_and_predict(
    con: duckdb.DuckDBPyConnection, person: dict, rules: list[list[str] | str], run: LinkageRun
) -> tuple[str, object]:
    """Train by EM without labels and score candidate pairs; returns the predictions table."""
    from splink import DuckDBAPI, Linker, block_on

    db_api = DuckDBAPI(connection=con)
    # Splink's progress notes go nowhere: build output is ours, and logs carry no personal data.
    linker = Linker(
        db_api.register("int_linkage_record"),
        splink_settings(person, rules),
        log_level=logging.ERROR,
    )
    training = person["training"]

    started = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*training["prior_rule"])], recall=training["prior_recall"]
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=training["u_max_pairs"], seed=training["seed"]
    )
    for rule in training["em_rules"]:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), max_pairs=training["em_max_pairs"]
        )
    # A level the training data never shows for a true pair (a sex keyed wrongly, say) would
    # otherwise learn m ≈ 0: a weight so negative that one such slip could never link.
    floor = training["min_m_probability"]
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if not level.is_null_level and (level.m_probability or 0.0) < floor:
                level.m_probability = floor
    run.seconds["train"] = time.perf_counter() - started

    started = time.perf_counter()
    # The candidate pairs are made first (and kept for predict) so that they can be counted.
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    run.pairs_compared = con.execute(f"select count(*) from {blocked.physical_name}").fetchall()[0][
        0
    ]
    predictions = linker.inference.predict(threshold_match_probability=person["predict_threshold"])
    run.seconds["predict"] = time.perf_counter() - started
    return predictions.physical_name, linker


def _no_predictions(con: duckdb.DuckDBPyConnection, person: dict) -> str:
    """An empty predictions table shaped like Splink's."""
    weights = ", ".join(
        f"null::double as mw_{c['name']}, null::double as mw_tf_adj_{c['name']}"
        for c in person["comparisons"]
    )
    con.execute(
        "create or replace temp table linkage_no_predictions as select null::double as"
        " match_weight, null::double as match_probability, null::bigint as unique_id_l,"
        f" null::bigint as unique_id_r, {weights} limit 0"
    )
    return "linkage_no_predictions"


def _parameter_rows(linker) -> list[tuple]:
    """What each comparison level is worth, for the Data quality page's explanations."""
    if linker is None:
        return []
    rows = []
    for comparison in linker._settings_obj.comparisons:
        for order, level in enumerate(comparison.comparison_levels):
            if level.is_null_level:
                continue
            rows.append(
                (
                    comparison.output_column_name,
                    level.comparison_vector_value,
                    order,
                    level.label_for_charts,
                    level.m_probability,
                    level.u_probability,
                    math.log2(level.m_probability / level.u_probability)
                    if level.m_probability and level.u_probability
                    else None,
                )
            )
    return rows


# --- Clustering ----------------------------------------------------------------------------------


def find_root(parent: np.ndarray, node: int) -> int:
    """The root of node's group in a union-find parent array, shortening the path on the way."""
    root = node
    while parent[root] != root:
        root = parent[root]
    while parent[node] != root:
        parent[node], node = root, parent[node]
    return root


class _Groups:
    """Union-find over records, with the rules that keep two people apart.

    - Pairs an analyst rejected never end in one group, nor do two NHS numbers (or NINOs).
    - Guarded pairs (twins and siblings the twin guard marks) and dates of birth more than
      `max_dob_span_days` apart (a father and son of one name, chaining through a record without
      a date of birth) keep two groups apart when some system holds them as two people, that is
      when both groups already hold a registration of one source. Two records that no system
      tells apart are one person's, however their names or dates of birth were keyed: the
      corruption of a benchmark like FEBRL, or one child recorded as Martin in one system and
      Damian in another, where the school that would list both twins lists one child.
    """

    def __init__(
        self, records: ClusterRecords, max_dob_span_days: float, component: np.ndarray
    ) -> None:
        """`component`: each record's group to start from (its smallest record), e.g. the records
        that certain links join."""
        dob_days, source_codes = records.dob_days, records.source_codes
        known = ~np.isnan(dob_days)
        self.parent = component.copy()
        # per group root and kind of identifier (NHS number, NINO): the one the group holds, or -1
        self.identifier = np.full_like(records.identifier_codes, -1)
        for kind in range(records.identifier_codes.shape[1]):
            np.maximum.at(self.identifier[:, kind], component, records.identifier_codes[:, kind])
        # per group root: the earliest and latest date of birth, and a bit for each source
        # holding a registration in the group
        self.dob_min = np.full(len(dob_days), np.inf)
        self.dob_max = np.full(len(dob_days), -np.inf)
        np.minimum.at(self.dob_min, component[known], dob_days[known])
        np.maximum.at(self.dob_max, component[known], dob_days[known])
        self.sources = np.zeros(len(dob_days), dtype=np.int64)
        np.bitwise_or.at(
            self.sources, component, np.left_shift(1, np.asarray(source_codes, dtype=np.int64))
        )
        self.max_dob_span = max_dob_span_days
        self.guarded: dict[int, set[int]] = {}
        self.rejected: dict[int, set[int]] = {}

    def find(self, node: int) -> int:
        return find_root(self.parent, node)

    def _partners(self, table: dict[int, set[int]], root: int) -> set[int]:
        return {self.find(other) for other in table.get(root, ())}

    def keep_apart(self, a: int, b: int, rejected: bool = False) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            table = self.rejected if rejected else self.guarded
            table.setdefault(ra, set()).add(rb)
            table.setdefault(rb, set()).add(ra)

    def join(self, a: int, b: int, force: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        dob_min = min(self.dob_min[ra], self.dob_min[rb])
        dob_max = max(self.dob_max[ra], self.dob_max[rb])
        if not force:
            if ra in self.rejected and rb in self._partners(self.rejected, ra):
                return False
            held_a, held_b = self.identifier[ra], self.identifier[rb]
            if np.any((held_a >= 0) & (held_b >= 0) & (held_a != held_b)):
                return False  # two NHS numbers (or NINOs): two people
            held_apart = bool(self.sources[ra] & self.sources[rb])
            if held_apart and (
                dob_max - dob_min > self.max_dob_span
                or (ra in self.guarded and rb in self._partners(self.guarded, ra))
            ):
                return False
        self.parent[rb] = ra
        self.dob_min[ra], self.dob_max[ra] = dob_min, dob_max
        self.sources[ra] |= self.sources[rb]
        self.identifier[ra] = np.maximum(self.identifier[ra], self.identifier[rb])
        for table in (self.guarded, self.rejected):
            self._move_partners(table, ra, rb)
        return True

    def _move_partners(self, table: dict[int, set[int]], ra: int, rb: int) -> None:
        """After rb joined ra: ra holds both groups' partners, and they point at ra."""
        if ra not in table and rb not in table:
            return
        merged = (self._partners(table, ra) | self._partners(table, rb)) - {ra, rb}
        table.pop(rb, None)
        if not merged:
            table.pop(ra, None)
            return
        table[ra] = merged
        for other in merged:
            partners = table.setdefault(other, set())
            partners.discard(rb)
            partners.add(ra)


def connected_groups(n_records: int, pairs: np.ndarray) -> np.ndarray:
    """Each record's connected group under `pairs` (n × 2), named by its smallest record."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
        shape=(n_records, n_records),
    )
    _, label = connected_components(graph, directed=False)
    smallest = np.full(label.max() + 1 if n_records else 0, n_records, dtype=np.int64)
    np.minimum.at(smallest, label, np.arange(n_records))
    return smallest[label]


def _pairs(pairs: Iterable) -> np.ndarray:
    """Pairs of records (a list of tuples or an n × 2 array) as an n × 2 integer array."""
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


@dataclass
class ClusterRecords:
    """What clustering knows of each record (arrays in unique_id order)."""

    dob_days: np.ndarray  # days since 1900, NaN where unknown
    source_codes: np.ndarray  # the record's source numbered 0, 1, …
    identifier_codes: np.ndarray  # n × kinds: the record's NHS number, NINO… numbered, or -1

    @classmethod
    def of(cls, dob_days, source_codes, identifier_codes=None) -> ClusterRecords:
        dob_days = np.asarray(dob_days, dtype=float)
        if identifier_codes is None:
            identifier_codes = np.full((len(dob_days), 0), -1, dtype=np.int64)
        codes = np.asarray(identifier_codes, dtype=np.int64)
        return cls(
            dob_days,
            np.asarray(source_codes, dtype=np.int64),
            codes[:, None] if codes.ndim == 1 else codes,
        )


def _cluster(
    records: ClusterRecords,
    max_dob_span_days: float,
    must_link: Iterable[tuple[int, int]] | np.ndarray,
    accepted: Iterable[tuple[int, int]],
    scored: Iterable[tuple[int, int, float]],
    guarded: Iterable[tuple[int, int]] | np.ndarray,
    rejected: Iterable[tuple[int, int]],
) -> tuple[np.ndarray, dict[int, float]]:
    """Group records: certain links, then accepted pairs, then scored pairs strongest first.

    Returns each record's group root and, per record, the probability of the strongest pair that
    joined it to another record.
    """
    n_records = len(records.dob_days)
    # Certain links join whatever the guards say, so they are connected groups from the start.
    component = connected_groups(n_records, _pairs(must_link))
    groups = _Groups(records, max_dob_span_days, component)
    in_certain_group = np.bincount(component, minlength=n_records)[component] > 1
    joined_by: dict[int, float] = dict.fromkeys(np.flatnonzero(in_certain_group).tolist(), 1.0)
    for a, b in _pairs(guarded).tolist():
        groups.keep_apart(a, b)
    for a, b in rejected:
        groups.keep_apart(a, b, rejected=True)
    for a, b in accepted:
        if groups.join(a, b, force=True):
            joined_by[a] = joined_by[b] = 1.0
    scored = np.asarray(scored, dtype=float).reshape(-1, 3)
    node_a, node_b = scored[:, 0].astype(np.int64), scored[:, 1].astype(np.int64)
    apart = component[node_a] != component[node_b]  # else already one person by an identifier
    for a, b, probability in zip(
        node_a[apart].tolist(), node_b[apart].tolist(), scored[apart, 2].tolist(), strict=True
    ):
        if groups.join(a, b):
            joined_by[a] = max(joined_by.get(a, 0.0), probability)
            joined_by[b] = max(joined_by.get(b, 0.0), probability)
    roots = np.fromiter((groups.find(i) for i in range(n_records)), dtype=np.int64, count=n_records)
    return roots, joined_by


# --- The whole step ------------------------------------------------------------------------------


def link_persons(
    con: duckdb.DuckDBPyConnection,
    decisions_path: Path | None = None,
    person: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> LinkageRun:
    """Link int_linkage_record into persons; writes the int_person_link family of tables."""
    person = person or linkage_settings()["person"]
    say = progress or (lambda message: None)
    run = LinkageRun()
    run.records, run.registrations = con.execute(
        "select count(*), count(distinct registration_id) from int_linkage_record"
    ).fetchall()[0]

    say("scoring candidate pairs")
    rules = blocking_rules(con, person)
    run.broad_rules_used = [" + ".join(rule) for rule in rules[len(person["blocking_rules"]) :]]
    if run.records >= person["min_records_to_score"]:
        predictions, linker = _train_and_predict(con, person, rules, run)
    else:  # too few records to learn from: identifiers and decisions only
        predictions, linker = _no_predictions(con, person), None

    started = time.perf_counter()
    link_threshold, review_from = person["link_threshold"], person["review_from"]
    guard = person["twin_guard"]["first_name_similarity_below"]
    # unique_id is 1..n; the clustering works on 0-based positions
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
    must_link_pairs = con.execute(
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
    must_link = np.column_stack([must_link_pairs["first_node"], must_link_pairs["node"]])
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
        [guard],
    )
    twin_pairs = con.execute("select node_l, node_r from linkage_twin_pair").fetchnumpy()
    twins = np.column_stack([twin_pairs["node_l"], twin_pairs["node_r"]])
    run.twin_guard_pairs = len(twins)

    decisions = read_decisions(decisions_path)
    accepted, rejected = _decided_pairs(con, decisions)
    run.decisions_accepted, run.decisions_rejected = len(accepted), len(rejected)

    # Strongest first by match weight: probabilities round to 1.0 at the top, weights do not.
    strongest_first = con.execute(
        "select node_l, node_r, match_probability from linkage_scored"
        " where match_probability >= ? order by match_weight desc, node_l, node_r",
        [link_threshold],
    ).fetchnumpy()
    scored = np.column_stack(
        [strongest_first[column] for column in ("node_l", "node_r", "match_probability")]
    )
    # days since 1900, NaN where unknown (nulls would come back masked, not as NaN)
    roots, joined_by = _cluster(
        _cluster_records(con, person["one_person_identifiers"]),
        person["max_dob_span_days"],
        must_link,
        accepted,
        scored,
        guarded=twins,
        rejected=rejected,
    )
    run.records_joined = len(joined_by)
    run.seconds["cluster"] = time.perf_counter() - started

    started = time.perf_counter()
    _write_person_link(con, roots, joined_by)
    run.twin_guard_blocked = con.execute(
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
    _write_review_pairs(con, predictions, review_from, link_threshold, decisions)
    con.execute(
        "create or replace table int_person_link_parameter (comparison varchar, level integer,"
        " level_order integer, label varchar, m_probability double, u_probability double,"
        " match_weight double)"
    )
    parameter_rows = _parameter_rows(linker)
    if parameter_rows:
        con.executemany(
            "insert into int_person_link_parameter values (?, ?, ?, ?, ?, ?, ?)", parameter_rows
        )
    run.pairs_scored_above_predict = con.execute("select count(*) from linkage_scored").fetchall()[
        0
    ][0]
    run.persons = con.execute("select count(distinct person_key) from int_person_link").fetchall()[
        0
    ][0]
    run.review_pairs = con.execute(  # pairs of people awaiting a decision
        "select count(distinct (least(person_key_l, person_key_r),"
        " greatest(person_key_l, person_key_r))) from int_person_link_pair where decision is null"
    ).fetchall()[0][0]
    _drop_splink_tables(con)
    run.seconds["write"] = time.perf_counter() - started
    _write_run(con, run, person)
    return run


def _cluster_records(con: duckdb.DuckDBPyConnection, identifier_kinds: list[str]) -> ClusterRecords:
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


def _decided_pairs(
    con: duckdb.DuckDBPyConnection, decisions: list[Decision]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Analysts' decisions as (accepted, rejected) pairs of records, one record of each
    registration; decisions on registrations no longer in the extracts are left out."""
    if not decisions:
        return [], []
    con.execute(
        "create or replace temp table linkage_decided (registration_l varchar,"
        " registration_r varchar, decision varchar)"
    )
    con.executemany(
        "insert into linkage_decided values (?, ?, ?)",
        [(d.registration_l, d.registration_r, d.decision) for d in decisions],
    )
    rows = con.execute(
        """
        with first_record as (
            select registration_id, min(unique_id) - 1 as node
            from int_linkage_record
            where registration_id in (
                select registration_l from linkage_decided
                union select registration_r from linkage_decided
            )
            group by registration_id
        )
        select record_l.node, record_r.node, decided.decision
        from linkage_decided as decided
        inner join first_record as record_l on record_l.registration_id = decided.registration_l
        inner join first_record as record_r on record_r.registration_id = decided.registration_r
        """
    ).fetchall()
    accepted = [(a, b) for a, b, decision in rows if decision == ACCEPT]
    rejected = [(a, b) for a, b, decision in rows if decision == REJECT]
    return accepted, rejected


def _write_person_link(
    con: duckdb.DuckDBPyConnection, roots: np.ndarray, joined_by: dict[int, float]
) -> None:
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


def _write_review_pairs(
    con: duckdb.DuckDBPyConnection,
    predictions: str,
    review_from: float,
    link_threshold: float,
    decisions: list[Decision],
) -> None:
    """Scored pairs an analyst should see: the review band kept apart, and twin-guard pairs
    scoring high, whether the clustering kept them apart or linked them."""
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
                twin.node_l is not null as twin_guard
            from {predictions} as p
            left join linkage_twin_pair as twin
                on twin.node_l = p.unique_id_l - 1 and twin.node_r = p.unique_id_r - 1
            where p.match_probability >= ?
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
                and (match_probability < ? or twin_guard)
        ),
        -- one row per pair of registrations: the strongest of their records' pairs
        best as (
            select * from undecided_or_decided
            qualify row_number() over (
                partition by pair_l, pair_r
                order by match_probability desc, unique_id_l, unique_id_r
            ) = 1
        )
        select
            pair_l || ' ~ ' || pair_r as pair_id,
            best.*,
            decision.decision,
            decision.decided_at,
            decision.decided_by
        from best
        left join linkage_decision as decision using (pair_l, pair_r)
        -- kept apart, or decided; twin-guard pairs either way (linked ones want a second look)
        where decision.decision is not null or best.person_key_l <> best.person_key_r
            or best.twin_guard
        """,
        [review_from, link_threshold],
    )


def _drop_splink_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Splink's working tables must not be saved into the model file."""
    for (name,) in con.execute(
        "select table_name from information_schema.tables where table_name like '__splink__%'"
    ).fetchall():
        con.execute(f'drop table if exists "{name}"')
    for (name,) in con.execute(
        "select view_name from duckdb_views() where view_name like '__splink__%'"
    ).fetchall():
        con.execute(f'drop view if exists "{name}"')


def _write_run(con: duckdb.DuckDBPyConnection, run: LinkageRun, person: dict) -> None:
    con.execute(
        """
        create or replace table int_person_link_run as select
            ?::bigint as records, ?::bigint as registrations, ?::bigint as persons,
            ?::bigint as pairs_compared, ?::bigint as pairs_scored, ?::bigint as records_joined,
            ?::bigint as twin_guard_pairs, ?::bigint as twin_guard_blocked,
            ?::bigint as decisions_accepted, ?::bigint as decisions_rejected,
            ?::bigint as review_pairs, ?::double as link_threshold, ?::double as review_from,
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
            run.review_pairs,
            person["link_threshold"],
            person["review_from"],
            run.seconds.get("train"),
            run.seconds.get("predict"),
            run.seconds.get("cluster"),
            "; ".join(run.broad_rules_used),
        ],
    )
