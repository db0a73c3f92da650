"""Models run side by side (runner.run_models with workers > 1): each after the models it reads,
with the same tables as run one by one; on_model from the calling thread; a failure stops what
has not started and is the one running them one by one would meet first."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from data_model.runner import discover_models, run_models, run_order
from tests.runner_fixtures import STAGING, numbers_connection, write_models

# Two branches from one staging model; the slow branch is a Python model that sleeps (a step
# holding no core), so the other branch runs meanwhile.
SLOW_PY = """
import time

INPUTS = ("stg_numbers",)
OUTPUTS = ()


def build(con, context):
    time.sleep(0.6)
    con.execute("create or replace table int_slow as select n * 2 as n from stg_numbers")
"""


def _models(tmp_path: Path, broken: tuple[str, ...] = ()) -> Path:
    sql = {
        "intermediate/int_fast.sql": "select n + 1 as n from {{ ref('stg_numbers') }}",
        "intermediate/int_fast_total.sql": "select sum(n) as total from {{ ref('int_fast') }}",
        "marts/mart_both.sql": (
            "select (select sum(n) from {{ ref('int_slow') }}) as slow,"
            " (select total from {{ ref('int_fast_total') }}) as fast"
        ),
    }
    for name in sql:
        if Path(name).stem in broken:
            sql[name] = "select no_such_column from {{ ref('stg_numbers') }}"
    slow = SLOW_PY
    if "int_slow" in broken:
        slow = SLOW_PY.replace("time.sleep(0.6)", "raise ValueError('slow failed')")
    return write_models(tmp_path, {**STAGING, **sql, "intermediate/int_slow.py": slow})


def _run(models_dir: Path, workers: int) -> tuple[duckdb.DuckDBPyConnection, dict, list]:
    con = numbers_connection()
    seconds: dict[str, float] = {}
    started: list[tuple[str, str, float]] = []

    def on_model(model) -> None:
        started.append((model.name, threading.current_thread().name, time.perf_counter()))

    run_models(con, on_model=on_model, models_dir=models_dir, workers=workers, seconds=seconds)
    return con, seconds, started


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    names = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables order by table_name"
        ).fetchall()
    ]
    return {name: sorted(con.execute(f"select * from {name}").fetchall()) for name in names}


def test_side_by_side_makes_the_same_tables_with_the_slow_branch_overlapped(
    tmp_path: Path,
) -> None:
    models_dir = _models(tmp_path)
    one_con, one_seconds, _ = _run(models_dir, workers=1)
    two_con, two_seconds, started = _run(models_dir, workers=2)
    assert _tables(two_con) == _tables(one_con)
    assert _tables(two_con)["mart_both"] == [(20, 14)]
    assert set(two_seconds) == set(one_seconds) == set(discover_models(models_dir))
    # every model started from the calling thread (progress bars must be drawn from it)
    assert {thread for _, thread, _ in started} == {threading.current_thread().name}
    # each after what it reads, and the fast branch while the slow one ran
    at = {name: when for name, _, when in started}
    assert at["stg_numbers"] < at["int_slow"] and at["stg_numbers"] < at["int_fast"]
    assert at["int_slow"] < at["int_fast_total"] < at["int_slow"] + two_seconds["int_slow"]
    assert at["mart_both"] >= at["int_slow"] + two_seconds["int_slow"]


@pytest.mark.parametrize("broken", [("int_fast",), ("int_slow",), ("int_fast", "int_slow")])
def test_a_failing_model_stops_the_run_naming_the_first_in_run_order(
    tmp_path: Path, broken: tuple[str, ...]
) -> None:
    models_dir = _models(tmp_path, broken)
    first = next(name for name in run_order(discover_models(models_dir)) if name in broken)
    con = numbers_connection()
    with pytest.raises((RuntimeError, ValueError)) as raised:
        run_models(con, models_dir=models_dir, workers=2)
    # as one by one: the same error
    alone = numbers_connection()
    with pytest.raises(type(raised.value)) as one_by_one:
        run_models(alone, models_dir=models_dir, workers=1)
    assert str(raised.value) == str(one_by_one.value)
    assert ("slow failed" if first == "int_slow" else f"{first}.sql") in str(raised.value)
    made = {
        name
        for (name,) in con.execute("select table_name from information_schema.tables").fetchall()
    }
    # nothing that reads a failed model was made
    assert "mart_both" not in made
    if "int_fast" in broken:
        assert "int_fast_total" not in made
