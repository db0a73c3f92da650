"""The outcomes plan's rules that the models (and the Near threshold page) share as SQL macros:
meeting a threshold, the eligibility rule, and what "near" means for a measure and a route."""

from __future__ import annotations

import duckdb
import pytest

from data_model.runner import create_macros


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    create_macros(connection)
    return connection


def ask(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    return con.execute(f"select {sql}", list(params)).fetchone()[0]


@pytest.mark.parametrize(
    ("value", "threshold", "comparison", "meets"),
    [
        (117 / 130, 0.9, "at_least", True),  # exactly 90% meets "at least 90%" despite rounding
        (117 / 130, 0.9, "above", False),
        (0.91, 0.9, "above", True),
        (0.15, 0.15, "at_most", True),
        (0.15, 0.15, "below", False),
        (0.14, 0.15, "below", True),
        (3, 2, "at_most", False),
        (2, 2, "at_least", True),
    ],
)
def test_a_value_meets_a_threshold_as_its_comparison_says(
    con: duckdb.DuckDBPyConnection, value: float, threshold: float, comparison: str, meets: bool
) -> None:
    direction = 1 if comparison in ("at_least", "above") else -1
    slack = 1e-9 if comparison in ("above", "below") else -1e-9
    assert ask(con, "meets_threshold(?, ?, ?, ?)", value, threshold, direction, slack) is meets


def test_eligibility_is_at_least_the_plans_number_of_problems(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert [ask(con, "meets_eligibility_rule(?, 2)", n) for n in (0, 1, 2, 3)] == [
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("can_still_be_met", "distance", "margin", "near"),
    [
        (True, 2.0, 3.0, True),
        (True, 3.0, 3.0, True),
        (True, 3.5, 3.0, False),
        (False, 1.0, 3.0, False),  # a window that has passed is not near however close
        (None, 1.0, 3.0, False),
        (True, None, 3.0, False),  # nothing measured is never near
    ],
)
def test_a_measure_is_near_when_it_can_still_be_met_within_the_margin(
    con: duckdb.DuckDBPyConnection,
    can_still_be_met: bool | None,
    distance: float | None,
    margin: float,
    near: bool,
) -> None:
    sql = "measure_is_near(?::boolean, ?::double, ?::double)"
    assert ask(con, sql, can_still_be_met, distance, margin) is near


@pytest.mark.parametrize(
    ("blockers", "near_blockers", "measure_blockers", "max_blocking", "all_but_one", "near"),
    [
        (1, 1, 1, 2, False, True),
        (2, 2, 2, 2, False, True),
        (3, 3, 3, 2, False, False),  # more blockers than the plan allows
        (2, 1, 2, 2, False, False),  # one blocker is not near
        (0, 0, 0, 2, False, False),  # nothing blocks: achieved, not near
        (None, None, None, 2, False, False),  # no blocker rows at all
        (1, 0, 1, 2, True, True),  # everything met but one measure, however far
        (1, 0, 1, 2, False, False),
        (1, 0, 0, 2, True, False),  # the one blocker is not a measure (e.g. invalid)
        (2, 0, 2, 2, True, False),
    ],
)
def test_a_route_is_near_when_its_few_blockers_are_all_near_or_all_but_one_is_met(
    con: duckdb.DuckDBPyConnection,
    blockers: int | None,
    near_blockers: int | None,
    measure_blockers: int | None,
    max_blocking: int,
    all_but_one: bool,
    near: bool,
) -> None:
    sql = "route_is_near(?::bigint, ?::bigint, ?::bigint, ?::integer, ?::boolean)"
    args = (blockers, near_blockers, measure_blockers, max_blocking, all_but_one)
    assert ask(con, sql, *args) is near
