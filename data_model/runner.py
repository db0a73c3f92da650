"""Runs the layered models in dependency order.

Each model is one file under `models/<layer>/<domain>/`, named for its layer (`stg_`, `int_`,
`mart_`). The runner materialises it as a table of that name, or, for a SQL model that says
`{{ config(materialized='view') }}` as dbt's do, a view: for a model that is cheap to compute
and costly to write (a union of staging tables, millions of rows), read where it is used.

Inputs are declared, never guessed:
- a SQL model names every table it reads as dbt does: `{{ ref('stg_ehm_referrals') }}` for another
  model, `{{ source('raw', 'raw_ehm_referrals') }}` for a table made in Python before the models
  run (declared as a source in `models/sources.yml`);
- a Python model (a step SQL cannot do well, such as person linkage) declares `INPUTS`, the models
  and sources it reads, and `OUTPUTS`, any tables it makes besides the one named after it; its
  `build(con, context)` creates them.

SQL models are Jinja templates, as dbt's are: besides ref() and source() they may call the Jinja
macros of `models/macros/*.sql` files that define `{% macro %}`s (e.g. person_identity, the
identity columns every person-bearing staging model gives linkage). The other files there hold
DuckDB macros (`create macro`), created in the model before the models run, so the pages' read
layer calls the same functions.

The run order follows from the declarations (graphlib raises on a cycle), and a reference to a
model or source that does not exist stops the build before anything runs. The build runs models
whose inputs are made side by side, on two connections (settings.yaml build.model_workers).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cache
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb
import jinja2
import yaml

MODELS_DIR = Path(__file__).with_name("models")
MACROS_DIR = "macros"
LAYERS = ("staging", "intermediate", "marts")
SOURCES_FILE = "sources.yml"
_PREFIX_OF_LAYER = {"staging": "stg_", "intermediate": "int_", "marts": "mart_"}
REF_CALL = re.compile(r"\{\{\s*ref\(\s*'([a-z0-9_]+)'\s*\)\s*\}\}")
SOURCE_CALL = re.compile(r"\{\{\s*source\(\s*'([a-z0-9_]+)'\s*,\s*'([a-z0-9_]+)'\s*\)\s*\}\}")
CONFIG_CALL = re.compile(r"\{\{\s*config\(\s*materialized\s*=\s*'([a-z_]+)'\s*\)\s*\}\}")
MATERIALIZATIONS = ("table", "view")


class ModelDefinitionError(ValueError):
    """A model names an input that does not exist, or is not where its name says it belongs."""


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str  # the SQL as written (with ref()/source()), or the Python source of a Python model
    refs: frozenset[str]  # the models and model outputs it reads, as declared
    sources: frozenset[str]  # the source tables it reads, as declared
    outputs: tuple[str, ...] = ()  # tables a Python model makes besides <name>
    materialized: str = "table"  # or "view" ({{ config(materialized='view') }})

    @property
    def is_python(self) -> bool:
        return self.path.suffix == ".py"


@cache
def _declared_sources(models_dir: Path) -> dict[str, str]:
    """Source table name → its source group, from sources.yml (tables made in Python)."""
    with (models_dir / SOURCES_FILE).open(encoding="utf-8") as f:
        document = yaml.safe_load(f)
    return {
        table["name"]: source["name"]
        for source in document["sources"]
        for table in source["tables"]
    }


def _python_declarations(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """INPUTS and OUTPUTS of a Python model, read as literals without importing it."""
    found = {"INPUTS": (), "OUTPUTS": ()}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in found:
                found[target.id] = tuple(ast.literal_eval(node.value))
    return found["INPUTS"], found["OUTPUTS"]


def _is_jinja_macro_file(path: Path) -> bool:
    return "{% macro" in path.read_text(encoding="utf-8")


@cache
def _jinja(models_dir: Path) -> jinja2.Environment:
    """Jinja as dbt sets it up for a model: ref(), source() and the project's macros."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    environment.globals["ref"] = lambda name: name
    environment.globals["source"] = lambda group, table: table
    environment.globals["config"] = lambda **settings: ""  # read by discover_models
    for path in sorted((models_dir / MACROS_DIR).glob("*.sql")):
        if _is_jinja_macro_file(path):
            module = environment.from_string(path.read_text(encoding="utf-8")).module
            environment.globals.update(
                {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}
            )
    return environment


def render(sql: str, models_dir: Path = MODELS_DIR) -> str:
    """The SQL DuckDB runs: the Jinja template rendered, each ref() and source() as its table."""
    return _jinja(models_dir).from_string(sql).render()


def model_files(models_dir: Path = MODELS_DIR) -> list[tuple[str, Path]]:
    """(layer, path) of every model file, in a stable order."""
    return [
        (layer, path)
        for layer in LAYERS
        for path in sorted((models_dir / layer).rglob("*"))
        if path.suffix in (".sql", ".py") and not path.name.startswith("_")
    ]


def discover_models(models_dir: Path = MODELS_DIR) -> dict[str, Model]:
    sources = _declared_sources(models_dir)
    models: dict[str, Model] = {}
    for layer, path in model_files(models_dir):
        name = path.stem
        if not name.startswith(_PREFIX_OF_LAYER[layer]):
            raise ModelDefinitionError(
                f"{path}: a {layer} model's name starts with {_PREFIX_OF_LAYER[layer]}"
            )
        if name in models:
            raise ModelDefinitionError(f"{path}: a second model called {name}")
        text = path.read_text(encoding="utf-8")
        materialized = "table"
        if path.suffix == ".py":
            inputs, outputs = _python_declarations(path)
            refs = frozenset(i for i in inputs if i not in sources)
            used_sources = frozenset(i for i in inputs if i in sources)
        else:
            outputs = ()
            refs = frozenset(REF_CALL.findall(text))
            used_sources = frozenset(table for _, table in SOURCE_CALL.findall(text))
            for group, table in SOURCE_CALL.findall(text):
                if sources.get(table) != group:
                    raise ModelDefinitionError(
                        f"{path}: source('{group}', '{table}') is not declared in {SOURCES_FILE}"
                    )
            try:
                render(text, models_dir)
            except jinja2.TemplateError as error:
                raise ModelDefinitionError(f"{path}: cannot render: {error}") from error
            configured = CONFIG_CALL.findall(text)
            if "config(" in text and not configured:
                raise ModelDefinitionError(f"{path}: config() takes only materialized='...'")
            materialized = configured[-1] if configured else "table"
            if materialized not in MATERIALIZATIONS:
                allowed = " or ".join(f"'{m}'" for m in MATERIALIZATIONS)
                raise ModelDefinitionError(f"{path}: materialized='{materialized}': {allowed}?")
        models[name] = Model(name, layer, path, text, refs, used_sources, outputs, materialized)

    made_by = {out: model.name for model in models.values() for out in (model.name, *model.outputs)}
    for model in models.values():
        unknown = sorted(ref for ref in model.refs if ref not in made_by)
        if unknown:
            raise ModelDefinitionError(f"{model.path}: ref('{unknown[0]}') names no model")
    return models


def dependencies(models: dict[str, Model]) -> dict[str, frozenset[str]]:
    """Each model's upstream models (a Python model's extra outputs count as the model)."""
    made_by = {out: model.name for model in models.values() for out in (model.name, *model.outputs)}
    return {
        name: frozenset(made_by[ref] for ref in model.refs) - {name}
        for name, model in models.items()
    }


def run_order(models: dict[str, Model]) -> list[str]:
    """Models sorted so each runs after the models it reads (graphlib raises on a cycle)."""
    return list(TopologicalSorter(dependencies(models)).static_order())


def _run_python_model(con: duckdb.DuckDBPyConnection, model: Model, context: dict) -> None:
    spec = importlib.util.spec_from_file_location(f"ffi_model_{model.name}", model.path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(con, context)


def create_macros(con: duckdb.DuckDBPyConnection, models_dir: Path = MODELS_DIR) -> None:
    """The DuckDB macros the models (and the read layer) share: models/macros/*.sql other than
    the Jinja macro files."""
    for path in sorted((models_dir / MACROS_DIR).glob("*.sql")):
        if not _is_jinja_macro_file(path):
            con.execute(path.read_text(encoding="utf-8"))


def run_models(
    con: duckdb.DuckDBPyConnection,
    on_model: Callable[[Model], None] | None = None,
    models_dir: Path = MODELS_DIR,
    context: dict | None = None,
    workers: int = 1,
    seconds: dict[str, float] | None = None,
) -> list[str]:
    """Create the macros, then every model as a table (or a view, where the model says so).
    Returns the model names in run order.

    `context` is handed to Python models (e.g. where the clerical decisions file is).
    `workers` > 1 runs models whose inputs are ready side by side, each on a connection of its
    own to the same database (on_model is still called from this thread, as each starts).
    `seconds`, when given, gets each model's seconds.
    """
    create_macros(con, models_dir)
    models = discover_models(models_dir)
    order = run_order(models)
    timings = {} if seconds is None else seconds
    if workers <= 1:
        for name in order:
            if on_model:
                on_model(models[name])
            timings[name] = _run_model(con, models[name], models_dir, context or {})
        return order
    _run_side_by_side(con, models, order, on_model, models_dir, context or {}, workers, timings)
    return order


def _run_model(
    con: duckdb.DuckDBPyConnection, model: Model, models_dir: Path, context: dict
) -> float:
    """Materialise one model; its seconds."""
    started = time.perf_counter()
    try:
        if model.is_python:
            _run_python_model(con, model, context)
        else:
            con.execute(
                f"create or replace {model.materialized} {model.name} as\n"
                f"{render(model.sql, models_dir)}"
            )
    except duckdb.Error as error:
        raise RuntimeError(f"model {model.path.relative_to(models_dir)} failed: {error}") from error
    return time.perf_counter() - started


def _run_side_by_side(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, Model],
    order: list[str],
    on_model: Callable[[Model], None] | None,
    models_dir: Path,
    context: dict,
    workers: int,
    timings: dict[str, float],
) -> None:
    """Run the models on `workers` connections, a model as soon as the models it reads are
    made: of those ready, the one with the longest chain of models after it first, so the
    longest chain never waits (among equals, the one reading the most rows, likely the longest
    to run; then run order). A Python step (person linkage's clustering, say)
    holds one core; a SQL model uses the other meanwhile. After a failure nothing more starts,
    and the failure of the model first in run order is raised (as running them one by one
    would)."""
    inputs = dependencies(models)
    readers: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for upstream in inputs[name]:
            readers[upstream].append(name)
    chain: dict[str, int] = {}
    for name in reversed(order):
        chain[name] = 1 + max((chain[reader] for reader in readers[name]), default=0)
    position = {name: index for index, name in enumerate(order)}
    rows_read: dict[str, int] = {}

    def input_rows(name: str) -> int:
        """Rows in the tables a ready model reads (DuckDB's estimate; a view counts none)."""
        if name not in rows_read:
            tables = sorted(models[name].refs | models[name].sources)
            (rows_read[name],) = con.execute(
                "select coalesce(sum(estimated_size), 0)::bigint from duckdb_tables()"
                " where database_name = current_database()"
                " and table_name in (select unnest(?::varchar[]))",
                [tables],
            ).fetchone()
        return rows_read[name]

    waiting, made = list(order), set()
    failures: dict[str, BaseException] = {}
    connections = [con.cursor() for _ in range(workers)]
    free = list(connections)
    running: dict[Future, tuple[str, duckdb.DuckDBPyConnection]] = {}
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while waiting or running:
                ready = sorted(
                    (name for name in waiting if inputs[name] <= made),
                    key=lambda name: (-chain[name], -input_rows(name), position[name]),
                )
                while ready and free and not failures:
                    name = ready.pop(0)
                    waiting.remove(name)
                    if on_model:
                        on_model(models[name])
                    connection = free.pop()
                    running[pool.submit(_run_model, connection, models[name], models_dir,
                                        context)] = (name, connection)  # fmt: skip
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name, connection = running.pop(future)
                    free.append(connection)
                    try:
                        timings[name] = future.result()
                    except BaseException as error:
                        failures[name] = error
                    else:
                        made.add(name)
    finally:
        for connection in connections:
            connection.close()
    if failures:
        raise failures[min(failures, key=position.__getitem__)]
    if waiting:  # cannot happen with run_order's graph; never leave a model silently unmade
        raise RuntimeError(f"models not run: {', '.join(waiting)}")
