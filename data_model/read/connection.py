"""Opening a built model read-only, and the two ways the read layer runs a parameterised query.

The model file holds the SQL macros of models/macros/functions.sql (the build creates them in the
model's catalog), so a query here can call `measure_is_near(...)` and `route_is_near(...)` as the
models do: the pages' what-ifs and the model share one definition of each rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd


def open_model(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open a built model read-only: pages can never change it.

    The file is ATTACHed to a fresh in-memory database rather than opened with duckdb.connect(path):
    DuckDB reuses an open database for the same path, so after a rebuild replaced the file a new
    connect() would still see the old one. `use model` makes the model's tables and macros the
    ones unqualified names find.
    """
    con = duckdb.connect()
    escaped = str(path).replace("'", "''")  # the path is configuration, never user input
    con.execute(f"attach '{escaped}' as model (read_only)")
    con.execute("use model")
    return con


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pd.DataFrame:
    """The rows of a parameterised query as a DataFrame."""
    return con.execute(sql, params or []).df()


def query_row(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> dict:
    """The first row of a parameterised query as a dict of column → value ({} when none)."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()  # fetchall, not fetchone: it leaves no open result behind
    return dict(zip(names, rows[0], strict=True)) if rows else {}


def model_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables and views in the model (a model built by an older release may lack some)."""
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables"
            " where table_catalog = current_database() order by 1"
        ).fetchall()
    ]
