"""The evidence a plan may refer to, and the SQL that selects the records a plan counts.

The catalogue (evidence_catalogue.yaml, beside this file) lists the record sources: their staging
table, the columns a record may be dated and ended by, and the fields a plan may filter on; and the
school census figures. It is read once, on import. Allowed values come from the extract contracts,
so a misspelt value in a plan is caught before the build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml

from data_model.plan.definitions import Plan, Selector
from loaders.contracts import BY_SOURCE

CATALOGUE_FILE = Path(__file__).with_name("evidence_catalogue.yaml")


@dataclass(frozen=True)
class SourceField:
    column: str  # the staging column
    kind: Literal["text", "flag", "number"]
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class EvidenceSource:
    """A staging table whose rows are dated records about a person."""

    title: str
    table: str
    dates: tuple[str, ...]  # columns a record may be dated by; the first is the default
    end_date: str | None  # a spell or episode runs from its date to this (blank: still open)
    fields: dict[str, SourceField]
    value_sql: str  # the record in plain words, for the evidence trail
    nouns: tuple[str, str] = ("record", "records")  # one, many: how a measure counts them


class TermFigure(NamedTuple):
    """A school-census figure per pupil and term."""

    column: str  # the column of int_plan_term
    kind: Literal["rate", "count"]
    words: str  # plain words for many
    words_one: str  # for one


def _source_field(source: str, name: str, spec: dict[str, Any]) -> SourceField:
    column = spec.get("column", name)
    allowed = spec.get("allowed")
    # the catalogue ships with the code: a mistake in it is the code's, so a plain error will do
    if spec["kind"] not in ("text", "flag", "number"):
        raise ValueError(f"{CATALOGUE_FILE}: {source}.{name}: kind must be text, flag or number")
    if allowed not in (None, "contract"):
        raise ValueError(f"{CATALOGUE_FILE}: {source}.{name}: allowed must be 'contract' or absent")
    return SourceField(
        column,
        spec["kind"],
        BY_SOURCE[source].column(column).allowed if allowed == "contract" else None,
    )


def _read_catalogue(
    path: Path,
) -> tuple[dict[str, EvidenceSource], str, dict[str, TermFigure]]:
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = {
        name: EvidenceSource(
            title=spec["title"],
            table=spec["table"],
            dates=tuple(spec["dates"]),
            end_date=spec["end_date"],
            fields={
                field: _source_field(name, field, field_spec)
                for field, field_spec in spec["fields"].items()
            },
            value_sql=spec["value_sql"],
            nouns=tuple(spec["nouns"]),
        )
        for name, spec in catalogue["sources"].items()
    }
    census = catalogue["school_census"]
    figures = {
        name: TermFigure(spec["column"], spec["kind"], *spec["words"])
        for name, spec in census["figures"].items()
    }
    if any(figure.kind not in ("rate", "count") for figure in figures.values()):
        raise ValueError(f"{CATALOGUE_FILE}: a school census figure's kind is rate or count")
    return sources, census["source"], figures


# Record sources by the contract source name; the school census's source name and its figures.
SOURCES, TERM_SOURCE, TERM_FIGURES = _read_catalogue(CATALOGUE_FILE)


def record_selections(plan: Plan) -> list[tuple[str, str, Selector]]:
    """(item id, kind, selector) for every indicator and measure that reads records."""
    out = [(i.id, "indicator", i.selector) for i in plan.indicators if i.selector]
    out += [(m.id, "measure", m.selector) for m in plan.measures if m.selector]
    return out


def selection_sql(item_id: str, selector: Selector) -> tuple[str, list[Any]]:
    """One select of a source's records that an indicator or measure counts, with parameters.

    Column names come from the checked catalogue, never from the plan text; the plan's values go in
    as parameters.
    """
    source = SOURCES[selector.source]
    where, params = [f"{selector.date_column} is not null"], [item_id]
    for condition in selector.conditions:
        if condition.operator == "in":
            where.append(f"{condition.column} in ({', '.join('?' * len(condition.values))})")
        else:
            where.append(f"{condition.column} {condition.operator} ?")
        params.extend(condition.values)
    # a record without an end (an incident) lasts its day; a spell with a blank end is open
    end = source.end_date or selector.date_column
    sql = f"""
        select
            ?::varchar as item_id,
            source,
            source_record_id,
            {selector.date_column}::date as record_date,
            {end}::date as end_date,
            {source.value_sql} as value
        from {source.table}
        where {" and ".join(where)}
    """
    return sql, params
