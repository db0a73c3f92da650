"""The refactor check: two model files compared table by table."""

from __future__ import annotations

from pathlib import Path

import duckdb

from data_model.tools.compare_models import compare_models


def _model(path: Path, *statements: str) -> Path:
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return path


def test_the_same_rows_in_another_order_and_float_noise_are_the_same(tmp_path: Path) -> None:
    old = _model(tmp_path / "old.duckdb",
                 "create table t as select * from (values (1, 0.1 + 0.2, 'a; b'), (2, 1.0, 'c'))"
                 " v(id, p, reason)")  # fmt: skip
    new = _model(tmp_path / "new.duckdb",
                 "create table t as select * from (values (2, 1.0, 'c'), (1, 0.3, 'b; a'))"
                 " v(id, p, reason)")  # fmt: skip
    result = compare_models(old, new)
    assert (result.compared, result.differing) == (1, {})


def test_a_changed_row_a_new_column_and_missing_tables_are_reported(tmp_path: Path) -> None:
    old = _model(tmp_path / "old.duckdb",
                 "create table t as select * from (values (1, 'x'), (2, 'y')) v(id, name)",
                 "create table u as select 1 as id",
                 "create table gone as select 1 as id")  # fmt: skip
    new = _model(tmp_path / "new.duckdb",
                 "create table t as select * from (values (1, 'x'), (2, 'z')) v(id, name)",
                 "create table u as select 1 as id, 2 as extra",
                 "create table added as select 1 as id")  # fmt: skip
    result = compare_models(old, new)
    assert result.only_in_old == ["gone"] and result.only_in_new == ["added"]
    assert result.differing == {
        "t": "1 rows only in old, 1 only in new",
        "u": "columns ['extra']",
    }
