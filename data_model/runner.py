"""Runs the layered SQL models in dependency order.

Each model is one file, `models/<layer>/<name>.sql`, holding one select. The runner materialises it
as a table called <name>. A model's dependencies are the other models it names, so the order is
derived from the SQL itself and a new model needs no registration.

A step SQL cannot do well (person linkage, finding families as connected groups) is a Python model,
`models/<layer>/<name>.py`, whose `build(con, context)` creates the table <name> (and may create
others named after it, <name>_*). Its dependencies are the model names its source mentions.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

MODELS_DIR = Path(__file__).with_name("models")
LAYERS = ("staging", "intermediate", "marts")
_MODEL_NAME = re.compile(r"\b((?:stg|int|mart)_[a-z0-9_]+)\b")


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str  # the SQL, or the Python source of a Python model
    depends_on: frozenset[str]

    @property
    def is_python(self) -> bool:
        return self.path.suffix == ".py"


def _owning_model(table: str, files: dict[str, tuple[str, Path]]) -> str | None:
    """The model that makes a table: itself, or the Python model whose name prefixes it."""
    if table in files:
        return table
    for name, (_, path) in files.items():
        if path.suffix == ".py" and table.startswith(f"{name}_"):
            return name
    return None


def discover_models(models_dir: Path = MODELS_DIR) -> dict[str, Model]:
    files = {
        p.stem: (layer, p)
        for layer in LAYERS
        for pattern in ("*.sql", "*.py")
        for p in sorted((models_dir / layer).glob(pattern))
    }
    models = {}
    for name, (layer, path) in files.items():
        sql = path.read_text(encoding="utf-8")
        comment = r"#[^\n]*" if path.suffix == ".py" else r"--[^\n]*"
        code = re.sub(comment, "", sql)  # names in comments are not dependencies
        depends_on = frozenset(_owning_model(m, files) for m in _MODEL_NAME.findall(code)) - {
            None,
            name,
        }
        models[name] = Model(name, layer, path, sql, depends_on)
    return models


def run_order(models: dict[str, Model]) -> list[str]:
    """Models sorted so each runs after the models it reads (graphlib raises on a cycle)."""
    graph = {name: model.depends_on for name, model in models.items()}
    return list(TopologicalSorter(graph).static_order())


def _run_python_model(con: duckdb.DuckDBPyConnection, model: Model, context: dict) -> None:
    spec = importlib.util.spec_from_file_location(f"ffi_model_{model.name}", model.path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(con, context)


def run_models(
    con: duckdb.DuckDBPyConnection,
    on_model: Callable[[Model], None] | None = None,
    models_dir: Path = MODELS_DIR,
    context: dict | None = None,
) -> list[str]:
    """Create the macros, then every model as a table. Returns the model names in run order.

    `context` is handed to Python models (e.g. where the clerical decisions file is).
    """
    con.execute((models_dir / "macros.sql").read_text(encoding="utf-8"))
    models = discover_models(models_dir)
    order = run_order(models)
    for name in order:
        model = models[name]
        if on_model:
            on_model(model)
        try:
            if model.is_python:
                _run_python_model(con, model, context or {})
            else:
                con.execute(f"create or replace table {name} as\n{model.sql}")
        except duckdb.Error as error:
            raise RuntimeError(
                f"model {model.path.relative_to(models_dir)} failed: {error}"
            ) from error
    return order
