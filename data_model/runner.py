"""Runs the layered SQL models in dependency order.

Each model is one file, `models/<layer>/<name>.sql`, holding one select. The runner materialises it
as a table called <name>. A model's dependencies are the other models it names, so the order is
derived from the SQL itself and a new model needs no registration.
"""

from __future__ import annotations

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
    sql: str
    depends_on: frozenset[str]


def discover_models(models_dir: Path = MODELS_DIR) -> dict[str, Model]:
    files = {
        p.stem: (layer, p) for layer in LAYERS for p in sorted((models_dir / layer).glob("*.sql"))
    }
    models = {}
    for name, (layer, path) in files.items():
        sql = path.read_text(encoding="utf-8")
        code = re.sub(r"--[^\n]*", "", sql)  # names in comments are not dependencies
        depends_on = frozenset(m for m in _MODEL_NAME.findall(code) if m in files and m != name)
        models[name] = Model(name, layer, path, sql, depends_on)
    return models


def run_order(models: dict[str, Model]) -> list[str]:
    """Models sorted so each runs after the models it reads (graphlib raises on a cycle)."""
    graph = {name: model.depends_on for name, model in models.items()}
    return list(TopologicalSorter(graph).static_order())


def run_models(
    con: duckdb.DuckDBPyConnection,
    on_model: Callable[[Model], None] | None = None,
    models_dir: Path = MODELS_DIR,
) -> list[str]:
    """Create the macros, then every model as a table. Returns the model names in run order."""
    con.execute((models_dir / "macros.sql").read_text(encoding="utf-8"))
    models = discover_models(models_dir)
    order = run_order(models)
    for name in order:
        model = models[name]
        if on_model:
            on_model(model)
        try:
            con.execute(f"create or replace table {name} as\n{model.sql}")
        except duckdb.Error as error:
            raise RuntimeError(
                f"model {model.path.relative_to(models_dir)} failed: {error}"
            ) from error
    return order
