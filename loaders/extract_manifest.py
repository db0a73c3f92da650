"""The optional manifest of a sources folder, `extracts.yaml`: when each extract was taken.

    # extracts.yaml, beside the extract files
    ehm_referrals:
      current_to: 2020-03-31        # the day the data is current to (YYYY-MM-DD or DD/MM/YYYY)
      system: Early Help Module     # optional: the system's name
      coverage: Bradford district   # optional: what the extract covers
      date_order: month-first       # optional: how its slash dates are written (else detected)
      values:                       # optional: the council's codes for a coded column's values
        Referral Source:            #   the column, by its header (or field name)
          Health Visitor: Health    #   the council's value: the contract's value it stands for
    dwp_spells:
      available: false              # the council has no such extract (no current_to then)

Keys are the contracts' source names (loaders/contracts.py). A source the manifest does not
declare has its current-to date inferred from the latest date in its table, never later than the
build day. A source declared `available: false` is one the council does not have: its file is not
looked for (the build stops if it is there after all: the folder and the manifest disagree), its
tables are empty and the pages say it is not available. Reference files every model needs (wards,
postcode lookup) cannot be declared absent. A mistake in the file stops the build with one line
naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from loaders.contracts import BY_SOURCE
from loaders.reading import ExtractError

MANIFEST_NAME = "extracts.yaml"
CHECKS = yaml.safe_load(Path(__file__).with_name("checks.yaml").read_text(encoding="utf-8"))
TOLERANCE_DAYS = int(CHECKS["current_to"]["tolerance_days"])

DECLARED = "declared"
INFERRED = "inferred"
INFERRED_CAPPED = "inferred, capped at the build day"

_FIELDS = ("current_to", "system", "coverage", "date_order", "available", "values")
DATE_ORDERS = ("day-first", "month-first")
_YES, _NO = ("true", "yes"), ("false", "no")
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass(frozen=True)
class Declared:
    """What extracts.yaml says of one source. `available` false: the council has no such extract
    (current_to is then None)."""

    current_to: date | None
    system: str | None = None
    coverage: str | None = None
    date_order: str | None = None  # day-first | month-first; None: found from the file
    available: bool = True
    # per coded column (its field name): (the council's value in lower case, the contract's value)
    values: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()


def absent_sources(manifest: dict[str, Declared]) -> set[str]:
    """The sources the manifest declares the council does not have."""
    return {source for source, declared in manifest.items() if not declared.available}


def declare_absent_hint(source: str) -> str:
    """How to tell the build a council has no such extract, for a missing file's message."""
    return (
        f"if the council has no such extract, say so in {MANIFEST_NAME}:"
        f" `{source}: {{available: false}}`"
    )


def _problem(name: str, node: yaml.Node | None, text: str) -> ExtractError:
    where = f", line {node.start_mark.line + 1}" if node is not None else ""
    return ExtractError(f"{name}{where}: {text}")


def _date(value: str, name: str, source: str, node: yaml.Node) -> date:
    text = value.strip()
    try:
        match = _UK_DATE.fullmatch(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise _problem(
            name,
            node,
            f"{source}: current_to '{text}' is not a date (expected YYYY-MM-DD or DD/MM/YYYY)",
        ) from None


def read_manifest(sources_dir: Path, build_day: date | None = None) -> dict[str, Declared]:
    """The declarations of sources_dir/extracts.yaml by source ({} when there is no file).

    Raises ExtractError (one line: the file, the line and what is wrong) for a file that is not
    YAML, an unknown source or setting, a missing or unreadable date, or a date after the build
    day (an extract cannot be current to a day that has not come).
    """
    path = Path(sources_dir) / MANIFEST_NAME
    if not path.is_file():
        return {}
    name = MANIFEST_NAME
    build_day = build_day or date.today()
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _problem(name, None, "is not UTF-8 text; save it as UTF-8") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}" if mark else ""
        raise ExtractError(f"{name}{where}: not valid YAML ({error.problem})") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise _problem(name, root, "expected one entry per source (source: then its settings)")
    declared: dict[str, Declared] = {}
    for key, body in root.value:
        source = str(key.value)
        if source not in BY_SOURCE:
            raise _problem(name, key, f"'{source}' is not a source (see loaders/EXTRACTS.md)")
        if source in declared:
            raise _problem(name, key, f"'{source}' is declared twice")
        if not isinstance(body, yaml.MappingNode):
            raise _problem(
                name, body, f"{source}: expected current_to: and a date (or available: false)"
            )
        values: dict[str, tuple[str, yaml.Node]] = {}
        value_map: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
        for field_node, value_node in body.value:
            field = str(field_node.value)
            if field not in _FIELDS:
                raise _problem(
                    name, field_node, f"{source}: unknown setting '{field}' (expected one of: "
                    + ", ".join(_FIELDS) + ")",
                )  # fmt: skip
            if field == "values":
                value_map = _value_map(value_node, name, source)
                continue
            if not isinstance(value_node, yaml.ScalarNode) or not str(value_node.value).strip():
                raise _problem(name, value_node, f"{source}: {field} needs a value")
            values[field] = (str(value_node.value), value_node)
        available = _available(values, name, source)
        if not available:
            declared[source] = _absent(values, name, source, key)
            continue
        if "current_to" not in values:
            raise _problem(name, key, f"{source}: current_to (the day its data is current to) is"
                           " missing")  # fmt: skip
        text, node = values["current_to"]
        current_to = _date(text, name, source, node)
        if current_to > build_day:
            raise _problem(
                name, node, f"{source}: current_to {current_to:%d %b %Y} is after today"
                f" ({build_day:%d %b %Y})",
            )  # fmt: skip
        order = None
        if "date_order" in values:
            text, node = values["date_order"]
            order = text.strip().lower()
            if order not in DATE_ORDERS:
                raise _problem(
                    name, node, f"{source}: date_order '{text.strip()}' is not one of: "
                    + ", ".join(DATE_ORDERS),
                )  # fmt: skip
        declared[source] = Declared(
            current_to,
            values["system"][0].strip() if "system" in values else None,
            values["coverage"][0].strip() if "coverage" in values else None,
            order,
            values=value_map,
        )
    return declared


def _value_map(
    node: yaml.Node, name: str, source: str
) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """A source's `values`: per coded column (named by its header or field name), the council's
    values and the contract's value each stands for, which must be one the column allows."""
    contract = BY_SOURCE[source]
    if not isinstance(node, yaml.MappingNode):
        raise _problem(name, node, f"{source}: values needs a column, then its values under it")
    by_name = {c.header.lower(): c for c in contract.columns} | {
        c.field.lower(): c for c in contract.columns
    }
    columns = []
    for column_node, mapping_node in node.value:
        column = by_name.get(str(column_node.value).strip().lower())
        if column is None:
            raise _problem(name, column_node, f"{source}: values: '{column_node.value}' is not a "
                           "column of this extract (see loaders/EXTRACTS.md)")  # fmt: skip
        if not column.allowed:
            raise _problem(name, column_node, f"{source}: values: {column.header} takes any "
                           "value; only a coded column's values can be mapped")  # fmt: skip
        if not isinstance(mapping_node, yaml.MappingNode) or not mapping_node.value:
            raise _problem(name, mapping_node, f"{source}: values: {column.header} needs the "
                           "council's values, each with the value it stands for")  # fmt: skip
        allowed = {a.lower(): a for a in column.allowed}
        pairs = []
        for theirs, ours in mapping_node.value:
            target = allowed.get(str(ours.value).strip().lower())
            if not isinstance(ours, yaml.ScalarNode) or target is None:
                said = f"'{ours.value}' is not one of: " + ", ".join(column.allowed)
                raise _problem(name, ours, f"{source}: values: {column.header}: {said}")
            pairs.append((str(theirs.value).strip().lower(), target))
        columns.append((column.field, tuple(pairs)))
    return tuple(columns)


def _available(values: dict[str, tuple[str, yaml.Node]], name: str, source: str) -> bool:
    if "available" not in values:
        return True
    text, node = values["available"]
    word = text.strip().lower()
    if word not in _YES + _NO:
        raise _problem(name, node, f"{source}: available '{text.strip()}' is not true or false")
    return word in _YES


def _absent(
    values: dict[str, tuple[str, yaml.Node]], name: str, source: str, key: yaml.Node
) -> Declared:
    """A source declared `available: false`: nothing to be current to, and never a file the
    model cannot do without."""
    contract = BY_SOURCE[source]
    if contract.subfolder == "reference" and not contract.optional:
        raise _problem(
            name, key, f"{source}: {contract.title} is needed by every model; it cannot be"
            " declared not available (send the file, header-only if need be)",
        )  # fmt: skip
    if "current_to" in values:
        raise _problem(
            name, values["current_to"][1], f"{source}: declared not available, so it has no"
            " current_to; remove one of the two",
        )  # fmt: skip
    return Declared(
        None,
        values["system"][0].strip() if "system" in values else None,
        values["coverage"][0].strip() if "coverage" in values else None,
        available=False,
    )


def as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value
