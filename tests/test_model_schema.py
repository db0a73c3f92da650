"""The models are documented and tested as data, in dbt's format: every model and every column has
a YAML entry, every input is declared, MODELS.md follows the YAML, and the test executor catches
what each kind of data test is for."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest
import yaml

from data_model.build import CONTRACT_VIEWS
from data_model.model_docs import DOC_FILE, render_model_reference
from data_model.model_tests import (
    GENERIC_TESTS,
    ModelTestDefinitionError,
    compile_generic_test,
    compile_tests,
    model_entries,
    property_files,
    run_tests,
    source_tables,
)
from data_model.runner import MODELS_DIR, discover_models
from loaders.contracts import CONTRACTS

MODELS = discover_models()
# Every table a model makes: the model's own, and a Python model's OUTPUTS.
MADE_BY = {table: model for model in MODELS.values() for table in (model.name, *model.outputs)}
ENTRIES = model_entries()
SOURCE_TABLES = {table["name"] for _, _, table in source_tables()}
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def entry_of(table: str) -> dict:
    """The table's YAML entry ({} when it has none: another test names it)."""
    return next((entry for _, entry in ENTRIES if entry["name"] == table), {})


def test_every_model_and_python_output_has_exactly_one_entry() -> None:
    counts = Counter(entry["name"] for _, entry in ENTRIES)
    missing = sorted(table for table in MADE_BY if counts[table] == 0)
    repeated = sorted(table for table, count in counts.items() if count > 1)
    assert not missing, f"models with no entry in a models/**/*.yml: {', '.join(missing)}"
    assert not repeated, f"models with more than one entry: {', '.join(repeated)}"


def test_every_entry_names_a_model() -> None:
    unknown = [
        f"{path.relative_to(MODELS_DIR)}: {entry['name']}"
        for path, entry in ENTRIES
        if entry["name"] not in MADE_BY
    ]
    assert not unknown, f"entries naming no model: {'; '.join(unknown)}"


def test_entries_are_dbt_property_files_with_a_grain() -> None:
    """dbt (>= 1.8) reads them: known keys only, version 2, and each model says its grain."""
    problems = []
    for path in property_files():
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document.get("version") != 2 or set(document) - {"version", "models", "sources"}:
            problems.append(f"{path.name}: a property file has version: 2 and models/sources")
    for path, entry in ENTRIES:
        where = f"{path.relative_to(MODELS_DIR)}: {entry.get('name')}"
        unknown = set(entry) - {"name", "description", "config", "columns", "data_tests"}
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if not str(entry.get("description", "")).strip():
            problems.append(f"{where}: no description")
        meta = (entry.get("config") or {}).get("meta") or {}
        if not str(meta.get("grain", "")).startswith("one row"):
            problems.append(f"{where}: config.meta.grain should say 'one row ...'")
        model = MADE_BY.get(entry.get("name"))
        if model and entry["name"] != model.name and meta.get("made_by") != model.name:
            problems.append(f"{where}: config.meta.made_by should be {model.name}")
        if model and path.parent != model.path.parent:
            folder = model.path.parent.relative_to(MODELS_DIR)
            problems.append(f"{where}: belongs in a property file in models/{folder}/")
        for column in entry.get("columns") or []:
            unknown = set(column) - {"name", "description", "data_tests", "data_type", "config"}
            if unknown:
                problems.append(f"{where}.{column.get('name')}: unknown keys {sorted(unknown)}")
            if not str(column.get("description", "")).strip():
                problems.append(f"{where}.{column.get('name')}: no description")
            for test in column.get("data_tests") or []:
                kind = test if isinstance(test, str) else next(iter(test))
                if kind not in GENERIC_TESTS:
                    problems.append(f"{where}.{column['name']}: unknown test {kind}")
    assert not problems, "\n".join(problems)


def test_every_column_of_every_built_model_is_documented(
    model_sql: duckdb.DuckDBPyConnection,
) -> None:
    built: dict[str, list[str]] = {}
    for table, column in model_sql.execute(
        "select table_name, column_name from information_schema.columns"
        " order by table_name, ordinal_position"
    ).fetchall():
        built.setdefault(table, []).append(column)
    problems = []
    for table in sorted(MADE_BY):
        documented = [c["name"] for c in entry_of(table).get("columns") or []]
        if table not in built:
            problems.append(f"{table}: not in the built model")
            continue
        problems += [f"{table}.{c}: not documented" for c in built[table] if c not in documented]
        problems += [
            f"{table}.{c}: documented but not built" for c in documented if c not in built[table]
        ]
        repeated = [c for c, n in Counter(documented).items() if n > 1]
        problems += [f"{table}.{c}: documented twice" for c in repeated]
    assert not problems, "\n".join(problems)


def test_every_table_made_in_python_is_a_declared_source(
    model_sql: duckdb.DuckDBPyConnection,
) -> None:
    """raw_*, load_*, ref_*, cfg_* and mart_model_info are made before or after the models run,
    lookup_* (the family lookup's search keys) and the quick-wins ranking's tables (model_version,
    ranking_*) after them."""
    listed = model_sql.execute("select table_name from information_schema.tables").fetchall()
    tables = {table for (table,) in listed}
    made_in_python = tables - set(MADE_BY) - set(CONTRACT_VIEWS)
    undeclared = sorted(made_in_python - SOURCE_TABLES)
    assert not undeclared, f"tables not declared in sources.yml: {', '.join(undeclared)}"
    raw = {f"raw_{contract.source}" for contract in CONTRACTS}
    assert not raw - SOURCE_TABLES, f"contracts with no raw source: {sorted(raw - SOURCE_TABLES)}"
    assert not SOURCE_TABLES - tables, (
        f"declared sources not built: {sorted(SOURCE_TABLES - tables)}"
    )
    for table in sorted(made_in_python):
        assert table.startswith(("raw_", "load_", "ref_", "cfg_", "lookup_", "ranking_")) or (
            table in ("mart_model_info", "model_version")
        ), f"{table}: made in Python outside the models, not raw_/load_/ref_/cfg_/lookup_/ranking_"


def test_documented_source_columns_are_the_built_ones(
    model_sql: duckdb.DuckDBPyConnection,
) -> None:
    """A source that lists its columns in sources.yml lists every one, and only those."""
    problems = []
    for _, _, table in source_tables():
        documented = [column["name"] for column in table.get("columns") or []]
        if not documented:
            continue
        built = [
            column
            for (column,) in model_sql.execute(
                "select column_name from information_schema.columns where table_name = ?"
                " order by ordinal_position",
                [table["name"]],
            ).fetchall()
        ]
        problems += [f"{table['name']}.{c}: not documented" for c in built if c not in documented]
        problems += [f"{table['name']}.{c}: not built" for c in documented if c not in built]
    assert not problems, "\n".join(problems)


def test_sql_models_read_only_through_ref_and_source() -> None:
    """After removing ref()/source() and comments, no model or source table is named bare."""
    tables = set(MADE_BY) | SOURCE_TABLES
    problems = []
    for model in MODELS.values():
        if model.is_python:
            continue
        bare = _TEMPLATE.sub(" ", _SQL_COMMENT.sub(" ", model.sql))
        named = sorted(set(_IDENTIFIER.findall(bare.lower())) & tables)
        problems += [f"{model.name} names {table} without ref()/source()" for table in named]
    assert not problems, "\n".join(problems)


def test_python_models_declare_every_table_they_name() -> None:
    tables = set(MADE_BY) | SOURCE_TABLES
    problems = []
    for model in MODELS.values():
        if not model.is_python:
            continue
        inputs = {
            name
            for node in ast.parse(model.sql).body
            if isinstance(node, ast.Assign)
            and any(getattr(t, "id", "") == "INPUTS" for t in node.targets)
            for name in ast.literal_eval(node.value)
        }
        declared = inputs | {model.name, *model.outputs}
        named = set(_IDENTIFIER.findall(model.sql)) & tables
        problems += [
            f"{model.name} names {t} not in its INPUTS/OUTPUTS" for t in sorted(named - declared)
        ]
    assert not problems, "\n".join(problems)


def test_the_model_reference_is_up_to_date() -> None:
    assert DOC_FILE.read_text(encoding="utf-8") == render_model_reference(), (
        "run: python -m data_model docs"
    )


def test_every_test_in_the_yaml_compiles() -> None:
    tests = compile_tests()
    assert {test.kind for test in tests} >= set(GENERIC_TESTS)
    assert any(test.column is None for test in tests), "the singular tests are read"


# The executor, on tiny hand-made tables: each kind of test passes on good data and counts the
# failing rows on bad data, as dbt counts them.


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table parent as select * from (values ('a'), ('b'), ('c')) as t(key);"
        "create table child (id integer, parent_key varchar, colour varchar, kept boolean)"
    )
    return con


def failing(con: duckdb.DuckDBPyConnection, rows: str, column: str, test) -> int:
    con.execute("delete from child")
    con.execute(f"insert into child values {rows}")
    return con.execute(compile_generic_test("child", column, test).count_sql).fetchone()[0]


def test_unique_counts_the_values_that_repeat(con: duckdb.DuckDBPyConnection) -> None:
    assert failing(con, "(1, 'a', 'red', true), (2, 'a', 'red', true)", "id", "unique") == 0
    rows = (
        "(1, 'a', 'red', true), (1, 'a', 'red', true), (2, 'a', 'red', true),"
        " (null, 'a', 'red', true), (null, 'a', 'red', true)"
    )
    assert failing(con, rows, "id", "unique") == 1  # nulls are not values that repeat


def test_not_null_counts_the_empty_rows(con: duckdb.DuckDBPyConnection) -> None:
    assert failing(con, "(1, 'a', 'red', true)", "parent_key", "not_null") == 0
    rows = "(1, null, 'red', true), (2, null, 'red', true), (3, 'a', 'red', true)"
    assert failing(con, rows, "parent_key", "not_null") == 2


def test_accepted_values_counts_the_values_not_accepted(con: duckdb.DuckDBPyConnection) -> None:
    test = {"accepted_values": {"values": ["red", "green"]}}
    good = "(1, 'a', 'red', true), (2, 'a', 'green', true), (3, 'a', null, true)"
    assert failing(con, good, "colour", test) == 0
    bad = (
        "(1, 'a', 'red', true), (2, 'a', 'blue', true), (3, 'a', 'blue', true),"
        " (4, 'a', 'Red', true)"
    )
    assert failing(con, bad, "colour", test) == 2
    # dbt 1.10's `arguments:` form reads the same.
    assert (
        failing(
            con, bad, "colour", {"accepted_values": {"arguments": {"values": ["red", "green"]}}}
        )
        == 2
    )


def test_relationships_counts_the_orphan_rows(con: duckdb.DuckDBPyConnection) -> None:
    test = {"relationships": {"to": "ref('parent')", "field": "key"}}
    assert failing(con, "(1, 'a', 'red', true), (2, null, 'red', true)", "parent_key", test) == 0
    rows = "(1, 'a', 'red', true), (2, 'x', 'red', true), (3, 'y', 'red', true)"
    assert failing(con, rows, "parent_key", test) == 2
    as_source = {"relationships": {"to": "source('group', 'parent')", "field": "key"}}
    assert failing(con, rows, "parent_key", as_source) == 2


def test_a_where_config_limits_the_rows_tested(con: duckdb.DuckDBPyConnection) -> None:
    rows = "(1, null, 'red', true), (2, null, 'red', false)"
    assert failing(con, rows, "parent_key", {"not_null": {"config": {"where": "kept"}}}) == 1


def test_an_unknown_test_kind_is_an_error_not_a_pass() -> None:
    with pytest.raises(ModelTestDefinitionError, match="unknown test 'uniqe'"):
        compile_generic_test("child", "id", "uniqe")
    with pytest.raises(ModelTestDefinitionError, match="relationships"):
        compile_generic_test("child", "id", {"relationships": {"to": "parent", "field": "key"}})


def test_run_tests_reads_property_files_and_singular_tests(tmp_path: Path, con) -> None:
    """A models folder of its own: a generic test in any *.yml, a singular test in tests/."""
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "extra.yml").write_text(
        "version: 2\nmodels:\n  - name: child\n    columns:\n      - name: id\n"
        "        data_tests: [unique]\n",
        encoding="utf-8",
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "no_blue_children.sql").write_text(
        "-- ends in a comment on purpose\n"
        "select * from {{ ref('child') }} where colour = 'blue' -- x\n",
        encoding="utf-8",
    )
    con.execute("insert into child values (1, 'a', 'red', true)")
    assert run_tests(con, tmp_path) == []
    con.execute("insert into child values (1, 'a', 'blue', true), (2, 'b', 'blue', true)")
    assert [str(f) for f in run_tests(con, tmp_path)] == [
        "child.id unique: 1 failing row",
        "child no_blue_children: 2 failing rows",
    ]


def test_a_test_that_cannot_run_is_an_error_naming_it(tmp_path: Path, con) -> None:
    """A test on a column a model no longer has stops the build rather than passing."""
    (tmp_path / "extra.yml").write_text(
        "version: 2\nmodels:\n  - name: child\n    columns:\n      - name: gone\n"
        "        data_tests: [not_null]\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ModelTestDefinitionError, match=r"extra.yml: child.gone not_null cannot run"
    ):
        run_tests(con, tmp_path)
