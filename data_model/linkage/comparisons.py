"""Splink comparisons made from linkage.yaml's `comparisons`, each level by a named kind and its
parameters.

Every level is one of Splink's comparison levels (splink.comparison_level_library), or built from
them, so that Splink writes its SQL for whichever backend runs it (DuckDB today, Spark later).
Values a level needs that a plain comparison cannot make (name groups, consonant skeletons, date
parts) are columns of int_linkage_record, computed once per record.

A level in linkage.yaml is a mapping with a `label` and one kind, e.g.
`{label: same postcode, exact: postcode}`; `all:` and `any:` combine kinds. The kinds:

- `missing`: a column (either record lacks it), or a list of columns (either record lacks all)
- `exact`: a column; the two records' values are equal
- `swapped`: [a, b]; a of each record equals b of the other (forename and surname swapped)
- `swapped_jaro_winkler`: {columns: [a, b], at_least}; as `swapped`, by Jaro-Winkler similarity
- `shares_any`: an array column; the two arrays share an element
- `either_equals`: [a, b]; a of one record equals b of the other, either way round
- `initial`: a column; one record's value is a single letter, the other's first letter (J, JOHN)
- `either_true`: a true/false column; it is true of either record (a year-only date of birth)
- `jaro_winkler`: {column, at_least}; Jaro-Winkler similarity at least that
- `damerau_levenshtein`: {column, at_most}; at most that many edits apart
- `days_apart`: {column, at_most}; dates at most that many days apart
- `min_length`: {column, at_least}; both records' values are at least that many letters long
- `all` / `any`: a list of kinds; every one / any one holds
- `else`: true; anything else (the last level)

`missing` levels are Splink's null levels (no evidence either way); `recorded_as` adds a value
that means missing (sex 'U'). `term_frequency: true` on an `exact` level weighs agreement on a
rare value above agreement on a common one.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression

# A Splink comparison level creator: one of splink.comparison_level_library's classes (their
# common base class is not part of Splink's public API).
LevelCreator = Any


class SwappedJaroWinklerLevel(cll.CustomLevel):
    """Column a of each record like column b of the other, both ways round (e.g. forename and
    surname recorded in each other's place, one of them mistyped).

    Splink's library compares a column with the same column only; this level asks each backend
    for its own Jaro-Winkler function, as Splink's JaroWinklerLevel does, so that it runs on
    DuckDB and on Spark alike.
    """

    def __init__(self, column_a: str, column_b: str, at_least: float) -> None:
        description = f"Jaro-Winkler of {column_a} and {column_b} swapped ≥ {at_least}"
        # the condition is written per backend by create_sql; this one only describes it
        super().__init__(sql_condition=description, label_for_charts=description)
        self.column_a, self.column_b, self.at_least = column_a, column_b, at_least

    def create_sql(self, sql_dialect: Any) -> str:
        """The condition in `sql_dialect` (a Splink dialect: DuckDB's, Spark's...)."""
        similarity = sql_dialect.jaro_winkler_function_name
        a, b = ColumnExpression(self.column_a), ColumnExpression(self.column_b)
        a.sql_dialect = b.sql_dialect = sql_dialect
        return (
            f"{similarity}({a.name_l}, {b.name_r}) >= {self.at_least}"
            f" AND {similarity}({b.name_l}, {a.name_r}) >= {self.at_least}"
        )


class WithinEditsLevel(cll.DamerauLevenshteinLevel):
    """Splink's Damerau-Levenshtein level, written for DuckDB so that at most one edit costs
    little: DuckDB's damerau_levenshtein was the costliest part of scoring candidate pairs (about
    0.8 µs a pair, and most pairs reach a date of birth, first name or postcode test). One edit
    between values of one length is one or two differing bytes (a change, or two neighbours
    swapped), so the cheap Hamming distance settles most pairs and damerau_levenshtein sees only
    those two bytes apart or one byte longer. The same pairs hold as with damerau_levenshtein
    alone (both count bytes); other backends and distances get Splink's SQL."""

    def create_sql(self, sql_dialect: Any) -> str:
        if sql_dialect.sql_dialect_str != "duckdb" or self.distance_threshold != 1:
            return super().create_sql(sql_dialect)
        self.col_expression.sql_dialect = sql_dialect
        a, b = self.col_expression.name_l, self.col_expression.name_r
        # Nested CASEs, not AND: DuckDB may reorder a conjunction's terms, and hamming() fails
        # on values of different lengths.
        return (
            f"(CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL"
            f" WHEN strlen({a}) = strlen({b}) THEN (CASE WHEN hamming({a}, {b}) <= 1 THEN TRUE"
            f" WHEN hamming({a}, {b}) = 2 THEN damerau_levenshtein({a}, {b}) <= 1 ELSE FALSE END)"
            f" WHEN abs(strlen({a}) - strlen({b})) = 1 THEN damerau_levenshtein({a}, {b}) <= 1"
            " ELSE FALSE END)"
        )


class SharesAnyLevel(cll.ArrayIntersectLevel):
    """Splink's array intersection level (at least one element shared), written for DuckDB as
    list_has_any, which does not build the intersection (a third of the cost, the same pairs);
    other backends get Splink's SQL."""

    def create_sql(self, sql_dialect: Any) -> str:
        if sql_dialect.sql_dialect_str != "duckdb" or self.min_intersection != 1:
            return super().create_sql(sql_dialect)
        self.col_expression.sql_dialect = sql_dialect
        return f"list_has_any({self.col_expression.name_l}, {self.col_expression.name_r})"


def none_recorded_level(columns: list[str]) -> cll.CustomLevel:
    """Either record holds none of the columns (e.g. neither an address nor a postcode).

    Splink's NullLevel asks of one column whether either record lacks it; no library level asks
    it of one record's columns together, so this is plain ANSI SQL, which Splink translates for
    each backend.
    """
    sides = (
        "(" + " AND ".join(f"{column}_{side} IS NULL" for column in columns) + ")"
        for side in ("l", "r")
    )
    return cll.CustomLevel(" OR ".join(sides), base_dialect_str="duckdb")


def initial_level(column: str) -> cll.CustomLevel:
    """One record holds only an initial, and it is the other's first letter ("J" and "JOHN").

    No library level compares a value with another's first letter; plain ANSI SQL (length,
    substr), which Splink translates for each backend.
    """
    left, right = f"{column}_l", f"{column}_r"
    return cll.CustomLevel(
        f"(length({left}) = 1 OR length({right}) = 1)"
        f" AND substr({left}, 1, 1) = substr({right}, 1, 1)",
        base_dialect_str="duckdb",
    )


def either_equals_level(column_a: str, column_b: str) -> cll.CustomLevel:
    """Column a of one record equals column b of the other, either way round (a second given
    name recorded where the other system has only it: "MARY JANE" and "JANE"). Splink's
    ColumnsReversedLevel asks both ways at once; plain ANSI SQL, translated for each backend."""
    return cll.CustomLevel(
        f"({column_a}_l = {column_b}_r OR {column_b}_l = {column_a}_r)", base_dialect_str="duckdb"
    )


def min_length_level(column: str, at_least: int) -> cll.CustomLevel:
    """Both records' values are at least `at_least` letters long (a name, not an initial). Plain
    ANSI SQL (length), translated for each backend."""
    return cll.CustomLevel(
        f"(length({column}_l) >= {int(at_least)} AND length({column}_r) >= {int(at_least)})",
        base_dialect_str="duckdb",
    )


def either_true_level(column: str) -> cll.CustomLevel:
    """A true/false column holds for either record (e.g. one date of birth stands for a year
    alone). Plain ANSI SQL, translated for each backend."""
    return cll.CustomLevel(f"({column}_l OR {column}_r)", base_dialect_str="duckdb")


def missing_level(columns: str | list[str], recorded_as: str | None = None) -> LevelCreator:
    """Either record lacks the value (or holds `recorded_as`, which means missing: sex 'U')."""
    if isinstance(columns, list):
        return none_recorded_level(columns)
    if recorded_as is None:
        return cll.NullLevel(columns)
    return cll.Or(
        *(
            cll.LiteralMatchLevel(
                columns,
                literal_value=recorded_as,
                literal_datatype="string",
                side_of_comparison=side,
            )
            for side in ("left", "right")
        ),
        cll.NullLevel(columns),
    )


def _level(spec: dict[str, Any]) -> LevelCreator:
    """One level (or a part of an `all`/`any` level) from its linkage.yaml mapping."""
    kinds = [key for key in spec if key not in ("label", "term_frequency", "recorded_as")]
    if len(kinds) != 1:
        raise ValueError(f"a comparison level names one kind, not {kinds}: {spec}")
    (kind,) = kinds
    argument = spec[kind]
    if kind == "missing":
        return missing_level(argument, spec.get("recorded_as"))
    if kind == "exact":
        return cll.ExactMatchLevel(
            argument, term_frequency_adjustments=bool(spec.get("term_frequency"))
        )
    if kind == "swapped":
        return cll.ColumnsReversedLevel(*argument, symmetrical=True)
    if kind == "swapped_jaro_winkler":
        return SwappedJaroWinklerLevel(*argument["columns"], argument["at_least"])
    if kind == "shares_any":
        return SharesAnyLevel(argument, min_intersection=1)
    if kind == "either_equals":
        return either_equals_level(*argument)
    if kind == "initial":
        return initial_level(argument)
    if kind == "either_true":
        return either_true_level(argument)
    if kind == "jaro_winkler":
        return cll.JaroWinklerLevel(argument["column"], argument["at_least"])
    if kind == "damerau_levenshtein":
        return WithinEditsLevel(argument["column"], argument["at_most"])
    if kind == "min_length":
        return min_length_level(argument["column"], argument["at_least"])
    if kind == "days_apart":
        return cll.AbsoluteDateDifferenceLevel(
            argument["column"], input_is_string=False, threshold=argument["at_most"], metric="day"
        )
    if kind == "all":
        return cll.And(*(_level(part) for part in argument))
    if kind == "any":
        return cll.Or(*(_level(part) for part in argument))
    if kind == "else":
        return cll.ElseLevel()
    raise ValueError(f"unknown comparison level kind {kind!r}: {spec}")


def level_label(spec: dict[str, Any]) -> str:
    """The level's label as the Data quality page shows it; a Jaro-Winkler level's says its
    threshold, so that the label follows the setting."""
    if "label" in spec:
        return spec["label"]
    if "jaro_winkler" in spec:
        return f"Jaro-Winkler ≥ {spec['jaro_winkler']['at_least']:.2f}"
    raise ValueError(f"a comparison level needs a label: {spec}")


def comparison_level(spec: dict[str, Any]) -> LevelCreator:
    """A level of linkage.yaml as a Splink comparison level creator, labelled; a `missing` level
    is the comparison's null level (no evidence either way)."""
    level = _level(spec).configure(label_for_charts=level_label(spec))
    return level.configure(is_null_level=True) if "missing" in spec else level


def comparison(spec: dict[str, Any]) -> cl.CustomComparison:
    """One comparison of linkage.yaml (`name` and `levels`, most alike first)."""
    return cl.CustomComparison(
        output_column_name=spec["name"],
        comparison_levels=[comparison_level(level) for level in spec["levels"]],
    )


def comparisons(person: dict) -> list[cl.CustomComparison]:
    """Every comparison of linkage.yaml's person section, in order."""
    return [comparison(spec) for spec in person["comparisons"]]
