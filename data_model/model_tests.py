"""The model's data tests, as dbt writes them, run against the built model.

Generic tests are declared in the property files (`models/**/*.yml`, dbt's `version: 2` format) on
a model's or a source table's columns: `unique`, `not_null`, `accepted_values` (`values:`) and
`relationships` (`to: ref('model')`, `field:`), each with dbt's optional `config: {where: ...}`.
Singular tests are `models/tests/*.sql`: a select returning the rows that break a rule, reading
tables through ref()/source() as models do.

Each test compiles to one query counting its failing rows, as dbt counts them: for `unique` the
values that repeat, for `accepted_values` the values not accepted, otherwise rows. A test passes
when that count is 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from data_model.runner import MODELS_DIR, REF_CALL, SOURCE_CALL, render

SINGULAR_TESTS_DIR = "tests"
GENERIC_TESTS = ("unique", "not_null", "accepted_values", "relationships")
# dbt's `to:` in a relationships test: ref('model') or source('group', 'table').
_TO_REF = re.compile(r"^\s*ref\(\s*['\"]([a-z0-9_]+)['\"]\s*\)\s*$")
_TO_SOURCE = re.compile(
    r"^\s*source\(\s*['\"][a-z0-9_]+['\"]\s*,\s*['\"]([a-z0-9_]+)['\"]\s*\)\s*$"
)


class ModelTestDefinitionError(ValueError):
    """A property file or singular test that cannot be compiled (unknown test kind, bad `to:`)."""


@dataclass(frozen=True)
class DataTest:
    """One compiled test: what it checks and the query counting its failing rows."""

    table: str  # the model or source table tested (for a singular test, the first it reads)
    column: str | None  # None for a singular test
    kind: str  # unique, not_null, accepted_values, relationships, or the singular test's name
    count_sql: str  # select count(*) of the failing rows
    defined_in: Path

    @property
    def label(self) -> str:
        target = f"{self.table}.{self.column}" if self.column else self.table
        return f"{target} {self.kind}"


@dataclass(frozen=True)
class FailedTest:
    test: DataTest
    failing_rows: int

    def __str__(self) -> str:
        rows = "row" if self.failing_rows == 1 else "rows"
        return f"{self.test.label}: {self.failing_rows} failing {rows}"


def property_files(models_dir: Path = MODELS_DIR) -> list[Path]:
    """Every property file under models/ (schema.yml, sources.yml and any other *.yml)."""
    return sorted(models_dir.rglob("*.yml"))


# libyaml's loader when installed: the property files are long and parsed on every build.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=_YAML_LOADER) or {}


def model_entries(models_dir: Path = MODELS_DIR) -> list[tuple[Path, dict]]:
    """(property file, entry) for every `models:` entry, duplicates included (a test finds them)."""
    return [
        (path, entry)
        for path in property_files(models_dir)
        for entry in _load(path).get("models") or []
    ]


def source_tables(models_dir: Path = MODELS_DIR) -> list[tuple[Path, str, dict]]:
    """(property file, source group, table entry) for every table under `sources:`."""
    return [
        (path, source["name"], table)
        for path in property_files(models_dir)
        for source in _load(path).get("sources") or []
        for table in source.get("tables") or []
    ]


def _literal(value: Any, quote: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not quote or isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _split(test: str | dict) -> tuple[str, dict, str | None]:
    """A test as written → (kind, arguments, where), in dbt's classic or `arguments:` form."""
    if isinstance(test, str):
        return test, {}, None
    if len(test) != 1:
        raise ModelTestDefinitionError(f"a test is one kind with its arguments, not {test}")
    ((kind, body),) = test.items()
    body = dict(body or {})
    config = body.pop("config", None) or {}
    arguments = {**(body.pop("arguments", None) or {}), **body}
    return kind, arguments, config.get("where")


def compile_generic_test(
    table: str, column: str, test: str | dict, defined_in: Path = Path("?")
) -> DataTest:
    """One generic test on table.column as a query counting its failing rows (dbt's semantics)."""
    kind, arguments, where = _split(test)
    filtered = f"(select * from {table} where {where})" if where else table
    quoted = f'"{column}"'
    if kind == "unique":
        sql = (
            f"select count(*) from (select {quoted} from {filtered} where {quoted} is not null"
            f" group by {quoted} having count(*) > 1)"
        )
    elif kind == "not_null":
        sql = f"select count(*) from {filtered} where {quoted} is null"
    elif kind == "accepted_values":
        values = arguments.get("values")
        if not values:
            raise ModelTestDefinitionError(f"{table}.{column} accepted_values: no values")
        quote = arguments.get("quote", True)
        listed = ", ".join(_literal(v, quote) for v in values)
        sql = (
            f"select count(distinct {quoted}) from {filtered}"
            f" where {quoted} is not null and {quoted} not in ({listed})"
        )
    elif kind == "relationships":
        to, field = str(arguments.get("to", "")), arguments.get("field")
        match = _TO_REF.match(to) or _TO_SOURCE.match(to)
        if not match or not field:
            raise ModelTestDefinitionError(
                f"{table}.{column} relationships: needs `to: ref('model')` and `field:`"
            )
        sql = (
            f"select count(*) from {filtered} as child where child.{quoted} is not null"
            f" and not exists (select 1 from {match.group(1)} as parent"
            f' where parent."{field}" = child.{quoted})'
        )
    else:
        raise ModelTestDefinitionError(
            f"{defined_in}: {table}.{column}: unknown test {kind!r}"
            f" (known: {', '.join(GENERIC_TESTS)})"
        )
    return DataTest(table, column, kind, sql, defined_in)


def compile_singular_test(path: Path) -> DataTest:
    """A singular test (a select of the failing rows) as a query counting them."""
    text = path.read_text(encoding="utf-8")
    # Named after the first table it reads, as a failure message names a model.
    reads = [(m.start(), m.group(1)) for m in REF_CALL.finditer(text)]
    reads += [(m.start(), m.group(2)) for m in SOURCE_CALL.finditer(text)]
    tables = [table for _, table in sorted(reads)]
    body = render(text).strip().rstrip(";")
    # The newline keeps a trailing -- comment from swallowing the closing parenthesis.
    sql = f"select count(*) from (\n{body}\n)"
    return DataTest(tables[0] if tables else path.stem, None, path.stem, sql, path)


def compile_tests(models_dir: Path = MODELS_DIR) -> list[DataTest]:
    """Every generic test in the property files, then every singular test, in a stable order."""
    tests = []
    tested = model_entries(models_dir) + [
        (path, table) for path, _, table in source_tables(models_dir)
    ]
    for path, entry in tested:
        for column in entry.get("columns") or []:
            for test in column.get("data_tests") or column.get("tests") or []:
                tests.append(compile_generic_test(entry["name"], column["name"], test, path))
    for path in sorted((models_dir / SINGULAR_TESTS_DIR).glob("*.sql")):
        tests.append(compile_singular_test(path))
    return tests


def run_tests(con: duckdb.DuckDBPyConnection, models_dir: Path = MODELS_DIR) -> list[FailedTest]:
    """Run every test against the model in con; the tests that found failing rows."""
    failures = []
    for test in compile_tests(models_dir):
        try:
            (failing,) = con.execute(test.count_sql).fetchone()
        except duckdb.Error as error:
            raise ModelTestDefinitionError(
                f"{test.defined_in.name}: {test.label} cannot run: {error}"
            ) from error
        if failing:
            failures.append(FailedTest(test, failing))
    return failures
