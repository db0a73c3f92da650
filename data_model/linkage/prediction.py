"""Scoring candidate pairs with Splink: the blocking rules, the Splink settings, training by
expectation maximisation without labels, prediction, and what each comparison level is worth.

Splink is used through its public API only: the trained model is read with
`linker.misc.save_model_to_json()`, and the floored model scored by a second linker made from it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from data_model.linkage.comparisons import comparisons

if TYPE_CHECKING:
    from splink import SettingsCreator


@dataclass
class LinkageRun:
    """Counts and timings of one linkage run (int_person_link_run)."""

    engine: str = "duckdb"  # where candidate pairs were made and scored: duckdb or spark
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
    decision_problems: int = 0  # decisions the build could not use, listed for review
    review_pairs: int = 0
    broad_rules_used: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


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


def splink_settings(person: dict, rules: list[list[str] | str] | None = None) -> SettingsCreator:
    """Splink's settings made from linkage.yaml's person section (and the blocking rules to use,
    by default the selective ones): a list of columns is an equality rule (`block_on`), a string
    portable SQL over `l` and `r`."""
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            rule if isinstance(rule, str) else block_on(*rule)
            for rule in (person["blocking_rules"] if rules is None else rules)
        ],
        comparisons=comparisons(person),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
    )


def scored_levels(comparison: dict[str, Any], sql_dialect: str = "duckdb") -> list:
    """A comparison of the model (a settings dictionary's) as Splink scores it: its levels, each
    with its comparison vector value and the m and u probabilities Splink uses (its starting
    values for a level the training never saw, which the dictionary leaves out). `sql_dialect`:
    the one the model's SQL is written in (its `sql_dialect`)."""
    import splink.comparison_library as cl

    return (
        cl.CustomComparison(
            comparison_levels=comparison["comparison_levels"],
            output_column_name=comparison["output_column_name"],
        )
        .get_comparison(sql_dialect)
        .comparison_levels
    )


def floor_m_probabilities(model: dict[str, Any], floor: float) -> dict[str, Any]:
    """The trained model with no level's m probability below `floor`."""
    dialect = model.get("sql_dialect", "duckdb")
    for comparison in model["comparisons"]:
        for level, scored in zip(
            comparison["comparison_levels"], scored_levels(comparison, dialect), strict=True
        ):
            if not scored.is_null_level and (scored.m_probability or 0.0) < floor:
                level["m_probability"] = floor
    return model


# An in-memory database Splink's working tables go to (candidate pairs, samples, predictions):
# written into the model file they would be compressed and written only to be dropped.
SPLINK_WORK = "linkage_work"


def attach_splink_work(con: duckdb.DuckDBPyConnection) -> None:
    """SPLINK_WORK attached (to the database instance: every connection to it sees it), until
    drop_splink_tables."""
    con.execute(f"attach if not exists ':memory:' as {SPLINK_WORK}")


@contextmanager
def splink_working_database(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within it, tables made without a database go to SPLINK_WORK (in memory), and names are
    looked up there and then in the model being built."""
    (home,) = con.execute("select current_database()").fetchone()
    quoted_home = '"' + home.replace('"', '""') + '"'
    attach_splink_work(con)
    con.execute(f"use {SPLINK_WORK}")
    search_path = f"{SPLINK_WORK}.main,{quoted_home}.main".replace("'", "''")
    con.execute(f"set search_path = '{search_path}'")
    try:
        yield
    finally:
        con.execute(f"use {quoted_home}")
        con.execute("reset search_path")


def train_and_predict(
    con: duckdb.DuckDBPyConnection,
    person: dict,
    rules: list[list[str] | str],
    run: LinkageRun,
    engine: str = "duckdb",
) -> tuple[str, dict[str, Any]]:
    """Train by EM without labels and score candidate pairs; returns the predictions table and
    the model (Splink's settings dictionary, with each level's m and u probabilities). Training
    runs on DuckDB; with `engine` "spark" the candidate pairs are made and scored on Spark with
    the model trained here (spark.py), so both engines score the same pairs the same way.
    Splink's tables, the predictions among them, are in SPLINK_WORK until drop_splink_tables."""
    with splink_working_database(con):
        predictions, model = _train_and_predict(con, person, rules, run, engine)
    if predictions.startswith("__splink__"):
        predictions = f"{SPLINK_WORK}.main.{predictions}"
    return predictions, model


def _train_and_predict(
    con: duckdb.DuckDBPyConnection,
    person: dict,
    rules: list[list[str] | str],
    run: LinkageRun,
    engine: str,
) -> tuple[str, dict[str, Any]]:
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
    model = floor_m_probabilities(linker.misc.save_model_to_json(), training["min_m_probability"])
    if engine == "spark":
        run.seconds["train"] = time.perf_counter() - started
        from data_model.linkage.spark import predict_on_spark

        return predict_on_spark(con, person, rules, model, run), model
    # Splink's public API sets no trained probability: the floored model scores in a linker of
    # its own, loaded as a saved model is.
    linker = Linker(db_api.register("int_linkage_record"), model, log_level=logging.ERROR)
    run.seconds["train"] = time.perf_counter() - started

    started = time.perf_counter()
    # The candidate pairs are made first (and kept for predict) so that they can be counted.
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    (run.pairs_compared,) = con.execute(f"select count(*) from {blocked.physical_name}").fetchall()[
        0
    ]
    predictions = linker.inference.predict(threshold_match_probability=person["predict_threshold"])
    run.seconds["predict"] = time.perf_counter() - started
    return predictions.physical_name, model


def no_predictions(con: duckdb.DuckDBPyConnection, person: dict) -> str:
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


def parameter_rows(model: dict[str, Any] | None) -> list[tuple]:
    """What each comparison level is worth, for the Data quality page's explanations: comparison,
    level (Splink's comparison vector value), order, label, m, u and match weight."""
    if model is None:
        return []
    rows = []
    dialect = model.get("sql_dialect", "duckdb")
    for comparison in model["comparisons"]:
        for order, level in enumerate(scored_levels(comparison, dialect)):
            if level.is_null_level:
                continue
            rows.append(
                (
                    comparison["output_column_name"],
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


def drop_splink_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Splink's working tables must not be saved into the model file: SPLINK_WORK let go of,
    and any made in the model itself dropped."""
    con.execute(f"detach database if exists {SPLINK_WORK}")
    for (name,) in con.execute(
        "select table_name from information_schema.tables where table_name like '__splink__%'"
    ).fetchall():
        con.execute(f'drop table if exists "{name}"')
    for (name,) in con.execute(
        "select view_name from duckdb_views() where view_name like '__splink__%'"
    ).fetchall():
        con.execute(f'drop view if exists "{name}"')
