"""A small models folder for the runner's tests: one source table (raw_numbers, numbers 1 to 4
made by numbers_connection) and the model files each test gives."""

from __future__ import annotations

from pathlib import Path

import duckdb

# The staging model every such folder has: the source's numbers.
STAGING = {"staging/stg_numbers.sql": "select n from {{ source('raw', 'raw_numbers') }}"}


def write_models(tmp_path: Path, files: dict[str, str]) -> Path:
    """tmp_path/models with the layer folders, sources.yml declaring raw_numbers, and `files`
    (path under models/ → text)."""
    models_dir = tmp_path / "models"
    for folder in ("staging", "intermediate", "marts", "macros"):
        (models_dir / folder).mkdir(parents=True)
    (models_dir / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: raw_numbers\n",
        encoding="utf-8",
    )
    for name, text in files.items():
        (models_dir / name).write_text(text, encoding="utf-8")
    return models_dir


def numbers_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory database holding raw_numbers (n = 1 to 4)."""
    con = duckdb.connect()
    con.execute("create table raw_numbers as select * from range(1, 5) as t(n)")
    return con
