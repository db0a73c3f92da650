"""Compares two built models table by table, for "behaviour unchanged" checks after a refactor:
the same tables, the same columns, the same rows in any order.

    python -m data_model compare-models OLD.duckdb NEW.duckdb

Doubles are compared to 7 decimal places (parallel aggregation changes the last digits from run
to run), timings, load and training times are left out (and the ranking's documents, which
carry the training time), and a family member's reasons are compared as a set.
Record keys (int_family_record_key, the cell keys of mart_ward_measure) are hashed with a secret
each build passes on to the next, so a first build in a new folder makes its own: build both
models with the same FFI_RECORD_KEY_SECRET to compare them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# Columns that differ from one build of the same extracts to the next.
_RUN_TO_RUN = ("loaded_at", "built_at", "trained_at")
# Tables made from others with the build's time in their text (the ranking's model card and
# transparency record say when the model was trained): their sources are compared instead.
_RUN_TO_RUN_TABLES = ("mart_model_info", "ranking_document")


@dataclass
class Comparison:
    only_in_old: list[str] = field(default_factory=list)
    only_in_new: list[str] = field(default_factory=list)
    # table → what differs: "columns ..." or "N rows only in old, M only in new"
    differing: dict[str, str] = field(default_factory=dict)
    compared: int = 0


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog = ?", [catalog]
    ).fetchall()
    return {name for (name,) in rows}


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = ? and table_name = ? order by ordinal_position",
        [catalog, table],
    ).fetchall()


def _comparable(column: str, data_type: str) -> str:
    quoted = f'"{column}"'
    if "second" in column or column in _RUN_TO_RUN:
        return "null"
    if data_type in ("DOUBLE", "FLOAT"):
        return f"round({quoted}, 7)"
    if column == "reason":
        return f"list_sort(string_split({quoted}, '; '))"
    return quoted


def compare_models(old: Path, new: Path) -> Comparison:
    """Every table of two model files, compared as described above."""
    con = duckdb.connect()
    for alias, path in (("old", old), ("new", new)):
        con.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {alias} (read_only)")
    old_tables, new_tables = _tables(con, "old"), _tables(con, "new")
    result = Comparison(sorted(old_tables - new_tables), sorted(new_tables - old_tables))
    for table in sorted(old_tables & new_tables):
        if table in _RUN_TO_RUN_TABLES:
            continue
        result.compared += 1
        old_columns, new_columns = _columns(con, "old", table), _columns(con, "new", table)
        if [c for c, _ in old_columns] != [c for c, _ in new_columns]:
            moved = {c for c, _ in old_columns} == {c for c, _ in new_columns}
            result.differing[table] = "columns in another order" if moved else (
                f"columns {sorted({c for c, _ in old_columns} ^ {c for c, _ in new_columns})}"
            )  # fmt: skip
            continue
        select = ", ".join(_comparable(c, t) for c, t in old_columns)
        counts = [
            con.execute(
                f'select count(*) from (select {select} from {a}."{table}"'
                f' except all select {select} from {b}."{table}")'
            ).fetchall()[0][0]
            for a, b in (("old", "new"), ("new", "old"))
        ]
        if any(counts):
            result.differing[table] = f"{counts[0]} rows only in old, {counts[1]} only in new"
    con.close()
    return result
