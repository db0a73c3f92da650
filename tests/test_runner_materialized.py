"""A SQL model that says `{{ config(materialized='view') }}` is made a view, read where it is
used; every other model a table; a materialisation the runner does not know stops the build."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from data_model.runner import ModelDefinitionError, discover_models, run_models
from tests.runner_fixtures import STAGING, write_models


def _models(tmp_path: Path, union_sql: str) -> Path:
    return write_models(
        tmp_path,
        {
            **STAGING,
            "intermediate/int_numbers.sql": union_sql,
            "marts/mart_total.sql": "select sum(n) as total from {{ ref('int_numbers') }}",
        },
    )


def test_a_model_configured_as_a_view_is_a_view_with_the_same_rows(tmp_path: Path) -> None:
    union = (
        "select n from {{ ref('stg_numbers') }}"
        " union all select n * 10 from {{ ref('stg_numbers') }}"
    )
    view_dir = _models(tmp_path / "view", "{{ config(materialized='view') }}\n" + union)
    table_dir = _models(tmp_path / "table", union)
    kinds, rows = {}, {}
    for label, models_dir in (("view", view_dir), ("table", table_dir)):
        con = duckdb.connect()
        con.execute("create table raw_numbers as select * from range(1, 4) as t(n)")
        run_models(con, models_dir=models_dir)
        kinds[label] = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables"
                " where table_name like 'int_%' or table_name like 'mart_%'"
            ).fetchall()
        )
        rows[label] = (
            sorted(con.execute("select n from int_numbers").fetchall()),
            con.execute("select total from mart_total").fetchall(),
        )
    assert kinds["view"] == {"int_numbers": "VIEW", "mart_total": "BASE TABLE"}
    assert kinds["table"] == {"int_numbers": "BASE TABLE", "mart_total": "BASE TABLE"}
    assert rows["view"] == rows["table"] == ([(1,), (2,), (3,), (10,), (20,), (30,)], [(66,)])
    assert discover_models(view_dir)["int_numbers"].materialized == "view"
    assert discover_models(table_dir)["int_numbers"].materialized == "table"


@pytest.mark.parametrize(
    "config", ["{{ config(materialized='incremental') }}", "{{ config(tags=['x']) }}"]
)
def test_an_unknown_materialisation_stops_the_build(tmp_path: Path, config: str) -> None:
    models_dir = _models(tmp_path, config + "\nselect n from {{ ref('stg_numbers') }}")
    with pytest.raises(ModelDefinitionError, match="int_numbers.sql"):
        discover_models(models_dir)
