"""Loads the source extracts into typed raw tables, keeping every row that breaks the contract.

For each contract in `loaders/contracts.py`: find its file, read it as text (`loaders/reading.py`),
match the header, then type and validate every value in set-based SQL. A row that passes becomes a
row of `raw_<source>`; a row that fails goes to `load_rejects`, once per failing column, with the
line a person would find it at, the reason in plain English and the whole original row as JSON.
`load_manifest` records rows read, loaded and rejected, and how current the data is; after every
file, loaded + rejected = read is checked, so a row can never vanish silently.

How current: the day the folder's extracts.yaml declares for the source
(`loaders/extract_manifest.py`), else the latest date in its currency fields no later than the
build day (`current_to_basis` says which). A loaded row dated more than checks.yaml's tolerance
after that day is then rejected ("after the extract's current-to date"), so one mistyped year can
neither move the model's as-at date nor be counted as an event.

Before typing, rows that cannot be typed at all are rejected whole (`_screen`): values the reader
could not give as text, a NUL character anywhere in the row, or a value longer than its column's
kind allows (reading.yaml: text, code, number, date).

Rules, in the order a value is checked: blank (and required) → type (whole number, number, date,
date and time) → allowed values (case-insensitive, stored in the contract's spelling) → pattern →
minimum. Row checks run only on rows whose values all passed (a value that failed to parse would
make them misfire), except that a row of people with no name and no identifier (the contract's
`identified_check`, after placeholder names are set aside) is always said to be. Duplicates are
looked for among the rows that passed everything else: a row identical in every contract column
to an earlier one is a "duplicate row"; otherwise a repeat of the contract's unique key is a
"duplicate key". The first occurrence is kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pa_compute

from loaders.contracts import BY_SOURCE, CONTRACTS, Column, Contract, RowCheck
from loaders.extract_manifest import (
    DECLARED,
    INFERRED,
    INFERRED_CAPPED,
    MANIFEST_NAME,
    TOLERANCE_DAYS,
    Declared,
    absent_sources,
    declare_absent_hint,
    read_manifest,
)
from loaders.plausibility import (
    CURRENT_TO,
    DATE_ORDER_MIN_DATES,
    DOB_DAYS_AFTER_OWN_EVENT,
    placeholder_dates,
    placeholder_prefixes,
    placeholders,
    plausible,
    sex_synonyms,
)
from loaders.reading import (
    FIELD_MAX_CHARACTERS,
    FORMATS,
    Expected,
    Extract,
    ExtractError,
    Malformed,
    normalise_header,
    read_extract,
    stage_column,
)

__all__ = [
    "ExtractError",
    "LoadInvariantError",
    "LoadResult",
    "create_load_tables",
    "find_extract",
    "load_all",
    "load_source",
    "normalise_header",
]

# Work tables, registered or created in the caller's connection for the length of one load.
_STAGE, _DUPS, _MALFORMED = "__load_stage", "__load_dups", "__load_malformed"

_SET_ASIDE_DDL = """(
    source varchar, file varchar, line bigint, column_name varchar, value varchar,
    reason varchar, loaded_as varchar)"""
_REJECTS_DDL = """(
    source varchar, file varchar, line bigint, column_name varchar, value varchar,
    reason varchar, record_json varchar)"""
_MANIFEST_DDL = """(
    source varchar, title varchar, file varchar, file_format varchar, encoding varchar,
    rows_read bigint, rows_loaded bigint, rows_rejected bigint, data_current_as_of date,
    seconds double, loaded_at timestamp, read_as varchar, current_to_basis varchar,
    system_name varchar, coverage varchar, accepted_over_limit boolean default false,
    absent varchar)"""


# Accepted spellings. UK order only: 03/04/2016 is 3 April, never March 4. Four-digit years only
# (try_strptime would read 01/02/16 as the year 16). Excel serial numbers cover 1900 to 2119.
_ISO = r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
_UK = r"\d{1,2}[/-]\d{1,2}[/-]\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?"
_SERIAL = r"\d{1,5}(?:\.\d+)?"
_WHOLE = r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.0*)?"
_NUMBER = r"[+-]?(?:(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_TRAILING_ZEROS = r"\.0*$"  # "12.0" and "12." are whole numbers
_EARLIEST = "timestamp '1000-01-01'"

_NOT_PARSED = {
    "int": "is not a whole number",
    "decimal": "is not a number",
    "date": "is not a date (expected DD/MM/YYYY, YYYY-MM-DD or an Excel serial number)",
    "datetime": (
        "is not a date and time"
        " (expected DD/MM/YYYY HH:MM, YYYY-MM-DD HH:MM or an Excel serial number)"
    ),
}


class LoadInvariantError(RuntimeError):
    """loaded + rejected ≠ read after a load: a bug in the loader, never a problem in the data."""


@dataclass
class LoadResult:
    source: str
    file: Path
    file_format: str
    encoding: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    data_current_as_of: date | None
    seconds: float
    ignored_columns: tuple[str, ...] = field(default=())  # extra columns in the file
    notes: tuple[str, ...] = field(default=())  # how the file was read, when not the default
    # How data_current_as_of was found: declared (extracts.yaml), inferred (the latest date in the
    # table), or inferred, capped at the build day (later dates were not counted).
    current_to_basis: str | None = None
    rows_after_current_to: int = 0  # rejected for an event after the current-to date (+ tolerance)
    values_set_aside: int = 0  # values loaded as blank, each recorded in load_set_aside


# --- SQL text. Identifiers come from the contracts; literals (rules, headers) are escaped. -----


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- Finding files -----------------------------------------------------------------------------


def _folder(sources_dir: Path, contract: Contract) -> Path:
    return Path(sources_dir) / contract.subfolder if contract.subfolder else Path(sources_dir)


def _expected_name(contract: Contract) -> str:
    folder = f"{contract.subfolder}/" if contract.subfolder else ""
    return f"{folder}{contract.file_stem}.csv"


def _display_name(path: Path, sources_dir: Path) -> str:
    try:
        return path.relative_to(sources_dir).as_posix()
    except ValueError:
        return path.name


def find_extract(sources_dir: Path, contract: Contract) -> Path | None:
    """The contract's file: <sources_dir>/<subfolder>/<file_stem>.csv|.xlsx|.parquet (any case)."""
    folder = _folder(sources_dir, contract)
    if not folder.is_dir():
        return None
    wanted = {f"{contract.file_stem}.{kind}".lower() for kind in FORMATS}
    found = sorted(p for p in folder.iterdir() if p.name.lower() in wanted)
    if len(found) > 1:
        names = ", ".join(_display_name(p, Path(sources_dir)) for p in found)
        raise ExtractError(
            f"{_expected_name(contract)}: more than one file for {contract.title}"
            f" ({names}); keep only one"
        )
    return found[0] if found else None


def _not_found(sources_dir: Path, contracts: Sequence[Contract]) -> ExtractError:
    """Required files that are not there, and how to say the council has no such extract."""
    names = ", ".join(_expected_name(c) for c in contracts)
    hint = declare_absent_hint(contracts[0].source)
    if len(contracts) > 1:
        hint += " (one line per source)"
    return ExtractError(
        f"{names}: not found in {Path(sources_dir)} (each may be .csv, .xlsx or .parquet); {hint}"
    )


def _declared_absent_but_present(path: Path, sources_dir: Path, contract: Contract) -> ExtractError:
    return ExtractError(
        f"{_display_name(path, sources_dir)}: is in {sources_dir}, but {MANIFEST_NAME} says the"
        f" council has no {contract.title} extract ({contract.source}: available: false);"
        " remove the file or that line"
    )


# Why a source has no file, as load_manifest.absent records it (null: loaded).
ABSENT_DECLARED = "declared not available in extracts.yaml"
ABSENT_NOT_SENT = "optional, not sent"


def _record_absent(
    con: duckdb.DuckDBPyConnection, contract: Contract, why: str, declared: Declared | None
) -> None:
    """A load_manifest row for a source without a file: no rows counted (null, not 0: nothing was
    read), so the pages can tell an absent source from one sent empty."""
    _ensure_load_tables(con)
    con.execute("delete from load_rejects where source = ?", [contract.source])
    con.execute("delete from load_manifest where source = ?", [contract.source])
    con.execute(
        "insert into load_manifest (source, title, loaded_at, system_name, coverage, absent)"
        " values (?, ?, ?, ?, ?, ?)",
        [
            contract.source,
            contract.title,
            datetime.now(UTC).replace(tzinfo=None),
            declared.system if declared else None,
            declared.coverage if declared else None,
            why,
        ],
    )


# --- Header ------------------------------------------------------------------------------------


def _match_columns(
    headers: Sequence[str], contract: Contract, name: str, hint: str = ""
) -> list[int]:
    """For each contract column, the index of its column in the file. `hint`: what the reader
    tried (delimiters, sheets, rows), added to the message when columns are missing."""
    positions: dict[str, list[int]] = {}
    for index, header in enumerate(headers):
        positions.setdefault(normalise_header(header), []).append(index)
    keys = [normalise_header(c.header) for c in contract.columns]
    missing = [
        c.header
        for c, key in zip(contract.columns, keys, strict=True)
        if key not in positions and not c.may_be_absent
    ]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        hint = f" {hint}" if hint else ""
        raise ExtractError(f"{name}: missing required {noun}: {', '.join(missing)}{hint}")
    repeated = [
        c.header for c, key in zip(contract.columns, keys, strict=True) if len(positions[key]) > 1
    ]
    if repeated:
        raise ExtractError(f"{name}: more than one column for: {', '.join(repeated)}")
    return [positions[key][0] for key in keys]


def _with_absent_columns(extract: Extract, contract: Contract) -> Extract:
    """A column the contract lets a file leave out is added, blank, where the file has none."""
    present = {normalise_header(header) for header in extract.headers}
    absent = [
        c for c in contract.columns if c.may_be_absent and normalise_header(c.header) not in present
    ]
    table, headers = extract.table, list(extract.headers)
    for column in absent:
        table = table.append_column(
            stage_column(len(headers)), pa.nulls(table.num_rows, type=pa.string())
        )
        headers.append(column.header)
    return replace(extract, table=table, headers=headers)


def _json_keys(headers: Sequence[str]) -> list[str]:
    """Distinct, non-blank names for record_json, in the file's spelling."""
    keys: list[str] = []
    for index, header in enumerate(headers):
        key = header or f"(column {index + 1})"
        while key in keys:
            key = f"{key} (again)"
        keys.append(key)
    return keys


# --- Typing and validation SQL -----------------------------------------------------------------


# How a file's slash dates (03/04/2016) are read: day first (the UK's order, the default), month
# first (a file whose dates show it, or extracts.yaml says so), or day first with a value that
# cannot be day-first read month-first and flagged (a file with both kinds: 13/04 and 04/13).
DAY_FIRST, MONTH_FIRST, DAY_FIRST_OR_MONTH = "day-first", "month-first", "day-first-or-month"


def _slash_formats(order: str) -> tuple[str, str, str]:
    day, month = "%d/%m/%Y", "%m/%d/%Y"
    first = month if order == MONTH_FIRST else day
    return first, f"{first} %H:%M", f"{first} %H:%M:%S"


def _timestamp_sql(s: str, order: str = DAY_FIRST) -> str:
    """The text `s` as a timestamp, or null: ISO, slash dates in the file's order (day first
    unless `order` says), or an Excel serial number.

    The usual exact shapes are tried first with cheap LIKE tests; the regular expressions that
    cover the rest cost more and only see values that are not in a usual shape.
    """
    n = f"cast({s} as double)"
    # Excel counts a 29 February 1900 that never was: serial 60 is invalid; 1 is 1900-01-01.
    serial = (
        f"case when {n} >= 1 and {n} < 80001 and floor({n}) <> 60 then"
        f" (date '1899-12-30' + cast(floor({n}) as integer) + case when {n} < 60 then 1 else 0 end)"
        f"::timestamp + to_microseconds(cast(round(({n} - floor({n})) * 86400000000) as bigint))"
        " end"
    )
    date_only, minutes, seconds = _slash_formats(order)
    slashed = f"replace({s}, '-', '/')"
    any_slash = f"try_strptime({slashed}, [{_lit(date_only)}, {_lit(minutes)}, {_lit(seconds)}])"
    just_date, with_minutes = (
        f"try_strptime({s}, {_lit(date_only)})",
        f"try_strptime({s}, {_lit(minutes)})",
    )
    if order == DAY_FIRST_OR_MONTH:
        other = _slash_formats(MONTH_FIRST)
        any_slash = (
            f"coalesce({any_slash}, try_strptime({slashed},"
            f" [{_lit(other[0])}, {_lit(other[1])}, {_lit(other[2])}]))"
        )
        just_date = f"coalesce({just_date}, try_strptime({s}, {_lit(other[0])}))"
        with_minutes = f"coalesce({with_minutes}, try_strptime({s}, {_lit(other[1])}))"
    parsed = (
        f"case when {s} like '__/__/____' then {just_date}"
        f" when {s} like '____-__-__' then try_strptime({s}, '%Y-%m-%d')"
        f" when {s} like '__/__/____ __:__' then {with_minutes}"
        f" when regexp_full_match({s}, {_lit(_ISO)})"
        f" then try_cast(replace({s}, 'T', ' ') as timestamp)"
        f" when regexp_full_match({s}, {_lit(_UK)}) then {any_slash}"
        f" when regexp_full_match({s}, {_lit(_SERIAL)}) then {serial} end"
    )
    # Years before 1000 are typing slips (01/02/0016), and year 0 would be a date before Christ.
    return f"nullif(greatest({parsed}, {_EARLIEST}), {_EARLIEST})"


def _day_first_fails_sql(s: str) -> str:
    """True when the slash date `s` cannot be read day first (for flagging a month-first read)."""
    formats = ", ".join(_lit(f) for f in _slash_formats(DAY_FIRST))
    return (
        f"(regexp_full_match({s}, {_lit(_UK)})"
        f" and try_strptime(replace({s}, '-', '/'), [{formats}]) is null)"
    )


def _typed_sql(column: Column, s: str, order: str = DAY_FIRST) -> str:
    """The typed value of the cleaned text `s`, or null when it does not parse or is not allowed."""
    if column.type in ("text", "flag"):
        if not column.allowed:
            return s
        spelled = (
            {v.lower(): v for v in column.allowed} | sex_synonyms(column) | dict(column.synonyms)
        )
        whens = " ".join(f"when {_lit(k)} then {_lit(v)}" for k, v in spelled.items())
        return f"cast(case lower({s}) {whens} end as varchar)"
    if column.type == "int":
        # Plain digits convert directly. DuckDB's cast also takes "1e3", "0x1F", "1_000" and
        # rounds "12.5", so anything whose digits do not read back the same is checked in full.
        direct = f"try_cast({s} as bigint)"
        digits = f"regexp_replace(replace({s}, ',', ''), {_lit(_TRAILING_ZEROS)}, '')"
        return (
            f"case when cast({direct} as varchar) = {s} then {direct}"
            f" when regexp_full_match({s}, {_lit(_WHOLE)}) then try_cast({digits} as bigint) end"
        )
    if column.type == "decimal":
        bare = f"replace(replace({s}, '£', ''), ' ', '')"  # "£1,234.50", "- £ 12"
        return (
            f"case when regexp_full_match({bare}, {_lit(_NUMBER)})"
            f" then try_cast(replace({bare}, ',', '') as double) end"
        )
    if column.type == "date":
        return f"cast({_timestamp_sql(s, order)} as date)"
    return _timestamp_sql(s, order)


def _range_whens(column: Column, s: str, typed: str) -> list[str]:
    """Rules for a value outside checks.yaml's plausible range (dates before `earliest` or after
    a fixed `latest`, numbers above `maximum`). A `latest` of current_to is checked after the
    load, once the source's current-to date is known (_Validation.set_aside_after)."""
    quoted = f"'''' || {s} || ''''"
    limits = plausible(column)
    whens = []
    if column.type in ("date", "datetime"):
        as_date = f"cast({typed} as date)"
        if limits.earliest is not None:
            said = f" is before {limits.earliest:%d %b %Y}, the earliest plausible"
            whens.append(
                f"when {as_date} < {_lit(limits.earliest.isoformat())}::date"
                f" then {quoted} || {_lit(said)}"
            )
        if isinstance(limits.latest, date):
            said = f" is after {limits.latest:%d %b %Y}, the latest plausible"
            whens.append(
                f"when {as_date} > {_lit(limits.latest.isoformat())}::date"
                f" then {quoted} || {_lit(said)}"
            )
    if column.type in ("int", "decimal") and limits.maximum is not None:
        said = f" is more than {limits.maximum:,g}, the most plausible"
        whens.append(f"when {typed} > {limits.maximum!r} then {quoted} || {_lit(said)}")
    return whens


def _placeholder_whens(column: Column, s: str, typed: str) -> list[str]:
    """Rules for a value that stands for "not known" (checks.yaml placeholders): the text, and
    for a date the day it reads as, whatever the time or format written with it."""
    quoted = f"'''' || {s} || ''''"
    whens = []
    values = placeholders(column)
    if values:
        listed = ", ".join(_lit(v) for v in values)
        whens.append(f"when upper({s}) in ({listed}) then {quoted} || ' stands for not known'")
    days = placeholder_dates(column)
    if days:
        listed = ", ".join(f"{_lit(day.isoformat())}::date" for day in days)
        whens.append(
            f"when cast({typed} as date) in ({listed}) then {quoted} || ' stands for not known'"
        )
    for prefix in placeholder_prefixes(column):
        whens.append(
            f"when starts_with(upper(replace({s}, ' ', '')), {_lit(prefix)})"
            f" then {quoted} || {_lit(' is a pseudo-postcode, which names no address')}"
        )
    return whens


def _reason_sql(column: Column, header: str, s: str, typed: str) -> tuple[str | None, str | None]:
    """Why the value fails, as two SQL expressions: (rejects its row, is set aside), each null
    when the value passes and None when the column has no such rule.

    An identity field's failures are all set aside (loaded as blank, recorded in
    load_set_aside); a required column's all reject the row; another column's value that reads
    but is out of its plausible range is set aside, and one that does not read rejects the row.
    """
    quoted = f"'''' || {s} || ''''"  # the value, in single quotes
    blank = _lit(f"blank, but {header} is required") if column.required else "null"
    rules = []
    if column.type in _NOT_PARSED:
        rules.append(
            f"when {typed} is null then {quoted} || {_lit(' ' + _NOT_PARSED[column.type])}"
        )
    if column.allowed and column.type in ("text", "flag"):
        allowed = " is not one of: " + ", ".join(column.allowed)
        rules.append(f"when {typed} is null then {quoted} || {_lit(allowed)}")
    if column.pattern:
        rules.append(
            f"when not regexp_full_match({s}, {_lit(column.pattern)})"
            " then 'does not match the expected pattern'"
        )
    if column.minimum is not None and column.type in ("int", "decimal"):
        below = f" is below the minimum of {column.minimum:g}"
        rules.append(f"when {typed} < {column.minimum!r} then {quoted} || {_lit(below)}")
    ranges = _range_whens(column, s, typed)

    def case(whens: list[str]) -> str | None:
        return f"case when {s} is null then null {' '.join(whens)} end" if whens else None

    if column.identity:
        return None, case(_placeholder_whens(column, s, typed) + rules + ranges)
    if column.required:
        return f"case when {s} is null then {blank} {' '.join(rules + ranges)} end", None
    return case(rules), case(ranges)


def _row_check_sql(check: RowCheck, column_ok: str) -> str:
    # Only a false check rejects (a null, from a blank optional value, passes). A check that is
    # not `always` runs only on rows whose values all passed (a failed value would misfire it).
    gate = "" if check.always else f"{column_ok} and "
    return f"case when {gate}not coalesce(({check.sql}), true) then {_lit(check.reason)} end"


@dataclass
class _Validation:
    """The SQL that types and checks one staged file, writing raw_<source> and its rejects.

    raw_<source> is written once, with two working columns beside the typed fields (__ok, and a
    row hash for finding repeats); rejected rows are then deleted and the working columns dropped,
    which saves a second copy of the data. Why a row failed is worked out again afterwards for the
    failing rows only: carrying a reason column per rule through 2M good rows doubled the time.
    """

    con: duckdb.DuckDBPyConnection
    contract: Contract
    positions: Sequence[int]  # file column index of each contract column
    headers: Sequence[str]  # the file's headers, as written
    name: str  # the file, as named in messages
    date_order: str = DAY_FIRST  # how slash dates are read (_date_order)

    @property
    def table(self) -> str:
        return _ident(f"raw_{self.contract.source}")

    @property
    def keys(self) -> list[str]:
        return _json_keys(self.headers)

    def _header(self, field_name: str) -> str:
        index = self.contract.fields.index(field_name)
        return self.headers[self.positions[index]]

    def _raw_value(self, field_name: str) -> str:
        return f"st.{stage_column(self.positions[self.contract.fields.index(field_name)])}"

    @cached_property
    def _rules(self) -> tuple[dict[int, str], dict[int, str]]:
        """SQL for why column i's value rejects its row, and why it is set aside, for the
        columns that have any such rule."""
        rejects, set_asides = {}, {}
        for i, column in enumerate(self.contract.columns):
            reject, set_aside = _reason_sql(
                column, self._header(column.field), f"__s{i}", _ident(column.field)
            )
            if reject is not None:
                rejects[i] = reject
            if set_aside is not None:
                set_asides[i] = set_aside
        return rejects, set_asides

    @property
    def _reasons(self) -> dict[int, str]:
        return self._rules[0]

    @property
    def _set_asides(self) -> dict[int, str]:
        return self._rules[1]

    def _record_json(self) -> str:
        pairs = ", ".join(f"{_lit(k)}, st.{stage_column(i)}" for i, k in enumerate(self.keys))
        return f"json_object({pairs})"

    def run(self, malformed: Sequence[Malformed]) -> None:
        fields = ", ".join(_ident(f) for f in self.contract.fields)
        self.con.execute(
            f"create or replace table {self.table} as"
            f" select line, {fields}, __ok, hash({fields}) as __hash, {self._flag_sql()} as __flag"
            f" from ({self._checked_sql()})"
        )
        self._reject_values()
        self._find_duplicates()
        self._reject_duplicates()
        self._reject_malformed(malformed)
        self.con.execute(
            f"delete from {self.table} where not __ok or line in (select line from {_DUPS})"
        )
        for column in ("__ok", "__hash"):
            self.con.execute(f"alter table {self.table} drop column {column}")
        flagged = f"select line from {self.table} where __flag"
        if self.con.execute(f"select count(*) from ({flagged})").fetchall()[0][0]:
            self._record_set_asides(flagged)
            self._record_month_first_reads(flagged)
        self.con.execute(f"alter table {self.table} drop column __flag")

    def _flag_sql(self) -> str:
        """True for a row with a value set aside or (a file read day first, with month-first
        dates in it) a date read month first: the rows load_set_aside will list, marked while
        the row is typed so that finding them later needs no second pass over the file."""
        flags = [f"__a{i} is not null" for i in self._set_asides]
        if self.date_order == DAY_FIRST_OR_MONTH:
            flags += [
                f"({_ident(c.field)} is not null and {_day_first_fails_sql(f'__s{i}')})"
                for i, c in enumerate(self.contract.columns)
                if c.type in ("date", "datetime")
            ]
        return f"coalesce({' or '.join(flags)}, false)" if flags else "false"

    def _record_month_first_reads(self, flagged: str) -> None:
        """In a file read day first, a slash date that cannot be day first but can be month first
        (04/13/2016) is read month first: loaded, and flagged in load_set_aside with the date it
        was read as."""
        if self.date_order != DAY_FIRST_OR_MONTH:
            return
        for i, column in enumerate(self.contract.columns):
            if column.type not in ("date", "datetime"):
                continue
            field = _ident(column.field)
            self.con.execute(
                f"""
                insert into load_set_aside
                select ?, ?, r.line, ?, st.__t{i},
                       '''' || st.__t{i} || ''' read month first, as '
                       || strftime(r.{field}, '%d %b %Y') || ': it cannot be day first',
                       strftime(r.{field}, '%d %b %Y')
                from {self.table} r join {_STAGE} st on st.line = r.line
                where r.line in ({flagged}) and r.{field} is not null
                      and {_day_first_fails_sql(f"st.__t{i}")}
                order by r.line
                """,
                [self.contract.source, self.name, self._header(column.field)],
            )

    def _record_set_asides(self, flagged: str) -> None:
        """One load_set_aside row per value set aside in a loaded row: the flagged rows (a
        subquery of their lines) are checked again to say why."""
        if not self._set_asides:
            return
        columns = self.contract.columns
        lines = flagged
        items = ", ".join(
            f"struct_pack(column_name := {_lit(self._header(columns[i].field))},"
            f" value := {self._raw_value(columns[i].field)}, reason := t.__a{i})"
            for i in self._set_asides
        )
        self.con.execute(
            f"""
            insert into load_set_aside
            select ?, ?, line, struct_extract(aside, 'column_name'),
                   struct_extract(aside, 'value'), struct_extract(aside, 'reason'), null
            from (
                select t.line, unnest([{items}]) as aside
                from ({self._checked_sql(lines)}) t join {_STAGE} st on st.line = t.line
            )
            where struct_extract(aside, 'reason') is not null
            order by line
            """,
            [self.contract.source, self.name],
        )

    def set_aside_where(
        self,
        field_name: str,
        condition: Callable[[str], str],
        reason: str,
        parameters: Sequence[object] = (),
    ) -> int:
        """Set aside `field_name` in the loaded rows where `condition(prefix)` holds (SQL over
        the raw table's fields, each written prefix + name): the value is recorded in
        load_set_aside, as the file had it, followed by `reason`, then blanked. Returns how many
        were set aside."""
        (found,) = self.con.execute(
            f"select count(*) from {self.table} where {condition('')}", parameters
        ).fetchall()[0]
        if not found:
            return 0
        value = f"trim({self._raw_value(field_name)})"
        self.con.execute(
            f"""
            insert into load_set_aside
            select ?, ?, t.line, {_lit(self._header(field_name))}, {value},
                   '''' || {value} || '''' || {_lit(" " + reason)}, null
            from {self.table} t join {_STAGE} st on st.line = t.line
            where {condition("t.")}
            order by t.line
            """,
            [self.contract.source, self.name, *parameters],
        )
        self.con.execute(
            f"update {self.table} set {_ident(field_name)} = null where {condition('')}",
            parameters,
        )
        return found

    def set_aside_after(self, current_to: date, limit: date) -> int:
        """The checks that need the source's current-to date, setting values aside: a date whose
        plausible latest is current_to (a date of birth) after it; a date of birth after the
        row's own event (contract.dob_not_after); and an optional event date after `limit`
        (current-to plus the tolerance; a required one rejects its row: reject_after).
        Returns how many values were set aside."""
        after_current_to = f"is after the extract's current-to date {current_to:%d %b %Y}"
        count = 0
        for column in self.contract.columns:
            if plausible(column).latest == CURRENT_TO:
                count += self.set_aside_where(
                    column.field,
                    lambda p, f=column.field: f"cast({p}{_ident(f)} as date) > ?::date",
                    after_current_to,
                    [current_to],
                )
        for event in self.contract.dob_not_after:
            count += self.set_aside_where(
                "dob",
                lambda p, e=event: (
                    f"cast({p}dob as date) > cast({p}{_ident(e)} as date)"
                    f" + {DOB_DAYS_AFTER_OWN_EVENT:d}"
                ),
                f"is after the row's own {self._header(event)}",
            )
        for field_name in self.contract.currency_fields:
            if not self.contract.column(field_name).required:
                count += self.set_aside_where(
                    field_name,
                    lambda p, f=field_name: f"cast({p}{_ident(f)} as date) > ?::date",
                    after_current_to,
                    [limit],
                )
        return count

    def _checked_sql(self, only_lines: str | None = None) -> str:
        """The staged text (or the rows at `only_lines`, a subquery) typed and checked: line,
        typed fields, __r<i> (why column i fails), __c<j> (row check j fails) and __ok."""
        columns = self.contract.columns
        where = f" where line in ({only_lines})" if only_lines else ""
        cleaned = ", ".join(f"nullif(__t{i}, '') as __s{i}" for i in range(len(columns)))
        typed = ", ".join(
            f"__s{i}, {_typed_sql(c, f'__s{i}', self.date_order)} as {_ident(c.field)}"
            for i, c in enumerate(columns)
        )
        fields = ", ".join(_ident(f) for f in self.contract.fields)
        reasons = "".join(f", {sql} as __r{i}" for i, sql in self._reasons.items())
        reasons += "".join(f", {sql} as __a{i}" for i, sql in self._set_asides.items())
        if self.date_order == DAY_FIRST_OR_MONTH:  # the text, to flag dates read month first
            reasons += "".join(
                f", __s{i}" for i, c in enumerate(columns) if c.type in ("date", "datetime")
            )
        # A value set aside loads as blank, before the row checks see it.
        blanked = ", ".join(
            f"case when __a{i} is null then {_ident(columns[i].field)} end"
            f" as {_ident(columns[i].field)}"
            for i in self._set_asides
        )
        replace_blanked = f" replace ({blanked})" if blanked else ""
        column_reasons = [f"__r{i}" for i in self._reasons]
        column_ok = f"coalesce({', '.join(column_reasons)}) is null" if column_reasons else "true"
        checks = "".join(
            f", {_row_check_sql(check, column_ok)} as __c{j}"
            for j, check in enumerate(self.contract.checks)
        )
        all_reasons = column_reasons + [f"__c{j}" for j in range(len(self.contract.checks))]
        ok = f"coalesce({', '.join(all_reasons)}) is null" if all_reasons else "true"
        return f"""
            select *, {ok} as __ok from (
                select *{checks} from (
                    select *{replace_blanked} from (
                        select line, {fields}{reasons} from (
                            select line, {typed}
                            from (select line, {cleaned} from {_STAGE}{where})
                        )
                    )
                )
            )"""

    def _reject_values(self) -> None:
        """One reject row per failing column (and per failed row check) of each rejected row."""
        items = [
            f"struct_pack(column_name := {_lit(self._header(c.field))},"
            f" value := {self._raw_value(c.field)}, reason := t.__r{i})"
            for i, c in enumerate(self.contract.columns)
            if i in self._reasons
        ]
        items += [
            f"struct_pack(column_name := {_lit(self._header(check.column))},"
            f" value := {self._raw_value(check.column)}, reason := t.__c{j})"
            for j, check in enumerate(self.contract.checks)
        ]
        if not items:
            return  # no rule at all: no row can fail one
        failing = self._checked_sql(f"select line from {self.table} where not __ok")
        self.con.execute(
            f"""
            insert into load_rejects
            select ?, ?, line, struct_extract(failure, 'column_name'),
                   struct_extract(failure, 'value'), struct_extract(failure, 'reason'), record_json
            from (
                select t.line, unnest([{", ".join(items)}]) as failure,
                       {self._record_json()} as record_json
                from ({failing}) t join {_STAGE} st on st.line = t.line
            )
            where struct_extract(failure, 'reason') is not null
            order by line
            """,
            [self.contract.source, self.name],
        )

    def reject_after(self, fields: Sequence[str], limit: date, current_to: date) -> int:
        """Reject loaded rows with an event in `fields` after `limit` (the current-to date plus
        the tolerance): one reject per such date, the row taken out of raw_<source>. Returns the
        rows rejected."""

        def after(f: str, prefix: str = "t.") -> str:
            return f"cast({prefix}{_ident(f)} as date) > ?::date"

        where = " or ".join(after(f, "") for f in fields)
        (beyond,) = self.con.execute(
            f"select count(*) from {self.table} where {where}", [limit] * len(fields)
        ).fetchall()[0]
        if not beyond:  # the usual case: one scan, nothing to write
            return 0
        said = _lit(f"' is after the extract's current-to date {current_to:%d %b %Y}")
        parts = [
            f"select t.line, {_lit(self._header(f))} as column_name, {self._raw_value(f)} as value,"
            f" '''' || trim({self._raw_value(f)}) || {said} as reason,"
            f" {self._record_json()} as record_json"
            f" from {self.table} t join {_STAGE} st on st.line = t.line where {after(f)}"
            for f in fields
        ]
        before = self.con.execute(f"select count(*) from {self.table}").fetchall()[0][0]
        self.con.execute(
            f"insert into load_rejects select ?, ?, line, column_name, value, reason, record_json"
            f" from ({' union all '.join(parts)}) order by line, column_name",
            [self.contract.source, self.name, *([limit] * len(fields))],
        )
        self.con.execute(f"delete from {self.table} where {where}", [limit] * len(fields))
        self.con.fetchall()
        return before - self.con.execute(f"select count(*) from {self.table}").fetchall()[0][0]

    def _find_duplicates(self) -> None:
        """__load_dups(line, first_line, kind): later repeats among rows that passed the rules."""

        def repeats(columns: Sequence[str], kind: str, candidates: str) -> str:
            cols = ", ".join(_ident(c) for c in columns)
            same = " and ".join(
                f"a.{_ident(c)} is not distinct from b.{_ident(c)}" for c in columns
            )
            return f"""
                with ok as (select line, {cols} from {self.table} where __ok and {candidates}),
                firsts as (select {cols}, min(line) as first_line from ok
                           group by {cols} having count(*) > 1)
                select a.line, b.first_line, {_lit(kind)} as kind
                from ok a join firsts b on {same} where a.line > b.first_line"""

        # Grouping 2M rows by every column is slow. Rows whose hash repeats are few: only they
        # are compared in full (the hash narrows the search; equality decides).
        row_hash = (
            f"__hash in (select __hash from {self.table} where __ok"
            " group by __hash having count(*) > 1)"
        )
        rows = repeats(self.contract.fields, "row", row_hash)
        self.con.execute(f"create or replace temp table {_DUPS} as {rows}")
        key = self.contract.unique_key
        if key:
            key_hash = f"hash({', '.join(_ident(f) for f in key)})"
            candidates = (
                f"line not in (select line from {_DUPS}) and {key_hash} in"
                f" (select {key_hash} from {self.table} where __ok"
                " group by all having count(*) > 1)"
            )
            self.con.execute(f"insert into {_DUPS} {repeats(key, 'key', candidates)}")

    def _reject_duplicates(self) -> None:
        key = self.contract.unique_key
        if key:
            values = [f"coalesce(cast(t.{_ident(f)} as varchar), '')" for f in key]
            described = " || ', ' || ".join(
                f"{_lit(self._header(f) + ' ')} || {v}" for f, v in zip(key, values, strict=True)
            )
            key_column = _lit(", ".join(self._header(f) for f in key))
            key_value = " || ', ' || ".join(values)
        else:
            described = key_column = key_value = "null"
        self.con.execute(
            f"""
            insert into load_rejects
            select ?, ?, d.line,
                   case when d.kind = 'key' then {key_column} end,
                   case when d.kind = 'key' then {key_value} end,
                   case when d.kind = 'row' then 'duplicate row: same as line ' || d.first_line
                        else 'duplicate key (' || {described} || ') also on line ' || d.first_line
                   end,
                   {self._record_json()}
            from {_DUPS} d join {self.table} t on t.line = d.line
                 join {_STAGE} st on st.line = d.line
            order by d.line
            """,
            [self.contract.source, self.name],
        )

    def _reject_malformed(self, malformed: Sequence[Malformed]) -> None:
        if not malformed:
            return
        keys, rows = self.keys, []
        for bad in malformed:
            record = dict(zip(keys, bad.fields, strict=False))
            for extra, value in enumerate(bad.fields[len(keys) :], start=1):
                record[f"(extra field {extra})"] = value
            rows.append((bad.line, None, None, bad.reason, _json(record)))
        _insert_rejects(self.con, self.contract.source, self.name, rows)


def _json(record: dict[str, str | None]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _insert_rejects(
    con: duckdb.DuckDBPyConnection,
    source: str,
    name: str,
    rows: Sequence[tuple[int, str | None, str | None, str, str]],
) -> None:
    """Rejects worked out in Python: (line, column_name, value, reason, record_json)."""
    if not rows:
        return
    line, column, value, reason, record = zip(*rows, strict=True)
    table = pa.table(
        {
            "line": pa.array(line, pa.int64()),
            "column_name": pa.array(column, pa.string()),
            "value": pa.array(value, pa.string()),
            "reason": pa.array(reason, pa.string()),
            "record_json": pa.array(record, pa.string()),
        }
    )
    con.register(_MALFORMED, table)
    try:
        con.execute(
            "insert into load_rejects select ?, ?, line, column_name, value, reason, record_json"
            f" from {_MALFORMED} order by line",
            [source, name],
        )
    finally:
        con.unregister(_MALFORMED)


# --- What the reader read, screened before typing ----------------------------------------------

_CODE_SUFFIXES = ("_id", "_ref", "_code", "_no", "_number")


def _is_code(column: Column) -> bool:
    """An identifier or code: a fraction or a long value in it cannot be right."""
    return bool(
        column.pattern
        or column.allowed
        or column.type == "flag"
        or column.field.endswith(_CODE_SUFFIXES)
        or column.field in ("nino", "upn")
    )


def _length_kind(column: Column) -> str:
    """Which limit of reading.yaml's field_max_characters applies to the column."""
    if column.type in ("date", "datetime"):
        return "date"
    if column.type in ("int", "decimal"):
        return "number"
    return "code" if _is_code(column) else "text"


def expected_columns(contract: Contract) -> list[Expected]:
    return [Expected(c.header, c.type, _is_code(c), not c.may_be_absent) for c in contract.columns]


def _shown(value: str | None, limit: int = 100) -> str | None:
    """A value as a reject shows it: NUL visible, and a long one cut with its length."""
    if value is None:
        return None
    value = value.replace("\0", "\\0")
    if len(value) > limit:
        return f"{value[:limit]}… ({len(value):,} characters)"
    return value


def _screen(
    extract: Extract, contract: Contract, positions: Sequence[int], headers: Sequence[str]
) -> tuple[pa.Table, list[tuple[int, str | None, str | None, str, str]]]:
    """The staged rows without those that cannot be typed at all, and their rejects: values the
    reader could not give as text (extract.problems), NUL characters anywhere in a row, and
    values longer than their column's limit. Cheap when there are none: a NUL search of the
    bytes (CSV) and the longest value of each column, before anything row by row."""
    table = extract.table
    found: list[tuple[int, int, str | None, str]] = [
        (p.line, p.column, p.value, p.reason) for p in extract.problems
    ]
    columns = [stage_column(i) for i in range(len(headers))]
    if not extract.nul_free and table.num_rows:
        for index, name in enumerate(columns):
            has_nul = pa_compute.match_substring(table.column(name), "\0")
            if pa_compute.any(has_nul).as_py():
                rows = table.filter(pa_compute.fill_null(has_nul, False))
                for line, value in zip(
                    rows["line"].to_pylist(), rows[name].to_pylist(), strict=True
                ):
                    reason = "contains a NUL character (byte 0x00), which text never holds"
                    found.append((line, index, value, reason))
    for column, position in zip(contract.columns, positions, strict=True):
        kind = _length_kind(column)
        limit = FIELD_MAX_CHARACTERS[kind]
        values = table.column(stage_column(position))
        longest = pa_compute.max(pa_compute.binary_length(values)).as_py()
        if longest is None or longest <= limit:
            continue  # bytes ≥ characters: nothing can be too long
        lengths = pa_compute.utf8_length(values)
        too_long = pa_compute.fill_null(pa_compute.greater(lengths, limit), False)
        rows = table.filter(too_long)
        for line, length in zip(
            rows["line"].to_pylist(),
            pa_compute.utf8_length(rows[stage_column(position)]).to_pylist(),
            strict=True,
        ):
            reason = f"is {length:,} characters long; a {kind} column takes at most {limit:,}"
            found.append((line, position, None, reason))
    if not found:
        return table, []
    bad_lines = sorted({line for line, *_ in found})
    bad = table.filter(pa_compute.is_in(table["line"], pa.array(bad_lines, pa.int64())))
    by_line = {row["line"]: row for row in bad.to_pylist()}
    keys = _json_keys(headers)
    rejects = []
    for line, index, value, reason in sorted(found, key=lambda f: (f[0], f[1])):
        row = by_line[line]
        if value is None:
            value = row[columns[index]]
        record = {k: _shown(row[c], 1000) for k, c in zip(keys, columns, strict=True)}
        rejects.append((line, headers[index], _shown(value), reason, _json(record)))
    keep = pa_compute.invert(pa_compute.is_in(table["line"], pa.array(bad_lines, pa.int64())))
    return table.filter(keep), rejects


def _date_order(
    con: duckdb.DuckDBPyConnection, contract: Contract, declared: Declared | None
) -> tuple[str, str | None]:
    """How the staged file's slash dates are to be read, and a note saying why when not the
    default: declared in extracts.yaml, else found from the dates themselves. A first number
    above 12 shows day first; a second above 12, month first. A file with only month-first
    evidence and enough slash dates that day-first ones would have shown (checks.yaml
    date_order) is month first; with both, or too few to tell, day first, reading a value that
    cannot be day first month first and flagging it."""
    if declared is not None and declared.date_order is not None:
        return declared.date_order, f"dates read {declared.date_order} (declared in extracts.yaml)"
    dated = [i for i, c in enumerate(contract.columns) if c.type in ("date", "datetime")]
    if not dated:
        return DAY_FIRST, None
    values = ", ".join(f"__t{i}" for i in dated)
    parts = (
        "case when substr(v, 2, 1) not in ('/', '-') and substr(v, 3, 1) not in ('/', '-')"
        " then null when v like '__/__/____%' or v like '__-__-____%' then [substr(v, 1, 2),"
        " substr(v, 4, 2)] when v similar to '[0-9]{1,2}[-/][0-9]{1,2}[-/][0-9]{4}.*' then"
        " [regexp_extract(v, '^([0-9]{1,2})[-/]', 1),"
        " regexp_extract(v, '^[0-9]{1,2}[-/]([0-9]{1,2})', 1)] end"
    )
    slash, day_shown, month_shown = con.execute(
        f"""
        select count(*), count(*) filter (where p[1]::int > 12 and p[2]::int <= 12),
               count(*) filter (where p[2]::int > 12 and p[1]::int <= 12)
        from (select {parts} as p from (select unnest([{values}]) as v from {_STAGE}))
        where p is not null
        """
    ).fetchall()[0]
    if not month_shown:
        return DAY_FIRST, None
    if not day_shown and slash >= DATE_ORDER_MIN_DATES:
        return MONTH_FIRST, (
            f"dates read month first (MM/DD/YYYY): {month_shown:,} of {slash:,} had a second"
            " number above 12 and none a first"
        )
    return DAY_FIRST_OR_MONTH, None


def _data_current_as_of(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    declared: Declared | None = None,
    build_day: date | None = None,
) -> tuple[date | None, str | None]:
    """The day the source's data is current to, and how it was found.

    Declared in extracts.yaml, else inferred: the latest date in the contract's currency fields
    that is not after the build day (a date after it cannot be an event that happened: it is
    never counted, and the basis says the date was capped). None for a source without currency
    fields, or an inferred one with no dates.
    """
    if not contract.currency_fields:
        return None, None
    if declared is not None:
        return declared.current_to, DECLARED
    build_day = build_day or date.today()
    table = _ident(f"raw_{contract.source}")
    as_dates = [f"cast({_ident(f)} as date)" for f in contract.currency_fields]
    latest = ", ".join(f"max({d}) filter (where {d} <= $day)" for d in as_dates)
    beyond = " or ".join(f"{d} > $day" for d in as_dates)
    found, capped = con.execute(
        f"select greatest({latest}), count(*) filter (where {beyond}) > 0 from {table}",
        {"day": build_day},
    ).fetchall()[0]
    if found is None:
        return None, None
    return found, INFERRED_CAPPED if capped else INFERRED


def _set_aside_dob_after_own_referral(con: duckdb.DuckDBPyConnection) -> int:
    """An early help person's date of birth after their own first referral (checks.yaml
    date_of_birth) is set aside: the two files are loaded separately, so this runs once both
    are. Returns how many were set aside."""
    people, referrals = BY_SOURCE["ehm_people"], BY_SOURCE["ehm_referrals"]
    names = dict(
        con.execute(
            "select source, file from load_manifest where source in (?, ?) and absent is null",
            [people.source, referrals.source],
        ).fetchall()
    )
    if set(names) != {people.source, referrals.source}:
        return 0
    after = f"""
        from raw_ehm_people p
        join (select person_id, min(received_date) as first_received from raw_ehm_referrals
              where person_id is not null group by person_id) r using (person_id)
        where p.dob > r.first_received + {DOB_DAYS_AFTER_OWN_EVENT:d}"""
    header = people.column("dob").header
    con.execute(
        f"""
        insert into load_set_aside
        select ?, ?, p.line, ?, strftime(p.dob, '%d/%m/%Y'),
               '''' || strftime(p.dob, '%d/%m/%Y') || ''' is after the person''s own first'
               || ' referral, received ' || strftime(r.first_received, '%d %b %Y')
               || ' (' || ? || ')', null
        {after}
        order by p.line
        """,
        [people.source, names[people.source], header, names[referrals.source]],
    )
    count = con.execute(f"select count(*) {after}").fetchall()[0][0]
    if count:
        con.execute(f"update raw_ehm_people set dob = null where line in (select p.line {after})")
    return count


# --- Loading -----------------------------------------------------------------------------------


def _ensure_load_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists load_rejects {_REJECTS_DDL}")
    con.execute(f"create table if not exists load_manifest {_MANIFEST_DDL}")
    con.execute(f"create table if not exists load_set_aside {_SET_ASIDE_DDL}")


def create_load_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or empty) load_rejects, load_set_aside and load_manifest."""
    con.execute(f"create or replace table load_rejects {_REJECTS_DDL}")
    con.execute(f"create or replace table load_manifest {_MANIFEST_DDL}")
    con.execute(f"create or replace table load_set_aside {_SET_ASIDE_DDL}")


def _with_trimmed_columns(table: pa.Table, positions: Sequence[int]) -> pa.Table:
    """Add __t<i>: the i-th contract column with Unicode whitespace (tab, NBSP…) trimmed.

    Trimmed by Arrow rather than in SQL: DuckDB's trim(value, characters) was the slowest step of
    a load (about 6 s of 2M rows × 19 columns, against 0.5 s here). The untrimmed columns stay for
    load_rejects, so record_json keeps the values exactly as sent.
    """
    for i, p in enumerate(positions):
        table = table.append_column(
            f"__t{i}", pa_compute.utf8_trim_whitespace(table.column(stage_column(p)))
        )
    return table


def load_source(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    sources_dir: Path,
    manifest: dict[str, Declared] | None = None,
    build_day: date | None = None,
) -> LoadResult | None:
    """Load one contract's file into raw_<source>; None when the source has no file (an optional
    one not sent, or one extracts.yaml declares `available: false`): load_manifest then records
    it as absent, with no row counts.

    `manifest`: the folder's extracts.yaml declarations (read from sources_dir when not given).
    The source's current-to date is declared there or inferred (_data_current_as_of); a loaded
    row with an event more than checks.yaml's tolerance after it is then rejected.

    Raises ExtractError when the file is missing, unreadable, empty or lacks a column, when
    extracts.yaml has a mistake, or when it declares absent a source whose file is there.
    """
    started = time.perf_counter()
    sources_dir = Path(sources_dir)
    build_day = build_day or date.today()
    _ensure_load_tables(con)
    contract = _with_allowed_values(con, contract)
    if manifest is None:
        manifest = read_manifest(sources_dir, build_day)
    declared = manifest.get(contract.source)
    path = find_extract(sources_dir, contract)
    if declared is not None and not declared.available:
        if path is not None:
            raise _declared_absent_but_present(path, sources_dir, contract)
        _record_absent(con, contract, ABSENT_DECLARED, declared)
        return None
    if path is None:
        if contract.optional:
            _record_absent(con, contract, ABSENT_NOT_SENT, declared)
            return None
        raise _not_found(sources_dir, [contract])
    name = _display_name(path, sources_dir)
    contract, mapped_note = _with_declared_values(contract, declared)
    extract = read_extract(
        path,
        name,
        sheet_names=(contract.title, contract.source, contract.file_stem),
        expected=expected_columns(contract),
    )
    extract = _with_absent_columns(extract, contract)
    positions = _match_columns(extract.headers, contract, name, extract.header_hint)
    headers = [h.strip() for h in extract.headers]
    used = set(positions)
    ignored = tuple(h for i, h in enumerate(headers) if i not in used and h)
    table, screened = _screen(extract, contract, positions, headers)

    _ensure_load_tables(con)
    con.execute("delete from load_rejects where source = ?", [contract.source])
    con.execute("delete from load_manifest where source = ?", [contract.source])
    con.execute("delete from load_set_aside where source = ?", [contract.source])
    _insert_rejects(con, contract.source, name, screened)
    con.register(_STAGE, _with_trimmed_columns(table, positions))
    try:
        order, order_note = _date_order(con, contract, declared)
        if order_note:
            extract.notes.append(order_note)
        if mapped_note:
            extract.notes.append(mapped_note)
        validation = _Validation(con, contract, positions, headers, name, order)
        validation.run(extract.malformed)
        current_to, basis = _data_current_as_of(con, contract, declared, build_day)
        after = 0
        if current_to is not None:
            limit = current_to + timedelta(days=TOLERANCE_DAYS)
            required = [f for f in contract.currency_fields if contract.column(f).required]
            if required:
                after = validation.reject_after(required, limit, current_to)
            validation.set_aside_after(current_to, limit)
    finally:
        con.unregister(_STAGE)
        con.execute(f"drop table if exists {_DUPS}")

    rows_read = extract.rows_read
    rows_loaded = con.execute(
        f"select count(*) from {_ident(f'raw_{contract.source}')}"
    ).fetchone()[0]
    rows_rejected = con.execute(
        "select count(distinct line) from load_rejects where source = ?", [contract.source]
    ).fetchone()[0]
    values_set_aside = con.execute(
        "select count(*) from load_set_aside where source = ?", [contract.source]
    ).fetchone()[0]
    if rows_loaded + rows_rejected != rows_read:
        raise LoadInvariantError(
            f"{name}: loaded {rows_loaded} + rejected {rows_rejected} ≠ read {rows_read}"
        )
    result = LoadResult(
        source=contract.source,
        file=path,
        file_format=extract.file_format,
        encoding=extract.encoding,
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_rejected=rows_rejected,
        data_current_as_of=current_to,
        seconds=time.perf_counter() - started,
        ignored_columns=ignored,
        notes=tuple(extract.notes),
        current_to_basis=basis,
        rows_after_current_to=after,
        values_set_aside=values_set_aside,
    )
    con.execute(
        "insert into load_manifest"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, null)",
        [
            result.source,
            contract.title,
            name,
            result.file_format,
            result.encoding,
            result.rows_read,
            result.rows_loaded,
            result.rows_rejected,
            result.data_current_as_of,
            result.seconds,
            datetime.now(UTC).replace(tzinfo=None),
            "; ".join(result.notes) or None,
            result.current_to_basis,
            declared.system if declared else None,
            declared.coverage if declared else None,
        ],
    )
    return result


def _with_declared_values(
    contract: Contract, declared: Declared | None
) -> tuple[Contract, str | None]:
    """The contract with the council's own codes for its coded columns (extracts.yaml
    `values`), and a note saying what they were read as, for the Data quality page."""
    if declared is None or not declared.values:
        return contract, None
    mapped = dict(declared.values)
    columns = tuple(
        replace(c, synonyms=mapped[c.field]) if c.field in mapped else c for c in contract.columns
    )
    said = "; ".join(
        f"{contract.column(field).header}: "
        + ", ".join(f"{theirs!r} as {ours}" for theirs, ours in pairs)
        for field, pairs in declared.values
    )
    return replace(contract, columns=columns), f"values read as extracts.yaml maps them ({said})"


def _with_allowed_values(con: duckdb.DuckDBPyConnection, contract: Contract) -> Contract:
    """The contract with each `allowed_from` column's allowed values read from the file that
    gives them (a referral's cluster: one the wards reference names), when that file was loaded
    first (load_all loads it first); a source loaded without it is not checked against it."""
    columns = []
    for column in contract.columns:
        if column.allowed_from:
            source, field = column.allowed_from.split(".")
            loaded = con.execute(
                "select count(*) from load_manifest where source = ? and absent is null", [source]
            ).fetchone()[0]
            if loaded:
                values = con.execute(
                    f"select distinct {_ident(field)} from {_ident('raw_' + source)}"
                    f" where {_ident(field)} is not null order by 1"
                ).fetchall()
                column = replace(column, allowed=tuple(value for (value,) in values))
        columns.append(column)
    return replace(contract, columns=tuple(columns))


def _largest_extract(contracts: Sequence[Contract], sources_dir: Path) -> Contract | None:
    """The contract whose file is largest (None when none has a file)."""
    sized = [
        (path.stat().st_size, position, contract)
        for position, contract in enumerate(contracts)
        if (path := find_extract(sources_dir, contract)) is not None
    ]
    return max(sized, key=lambda item: (item[0], -item[1]))[2] if sized else None


def _load_on_own_connection(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    sources_dir: Path,
    manifest: dict[str, Declared],
    build_day: date,
) -> LoadResult | None:
    """load_source on a connection of its own to the same database (DuckDB runs the two
    connections' statements side by side; each has its own registered stage and temp tables)."""
    with con.cursor() as own:
        return load_source(own, contract, sources_dir, manifest, build_day)


def load_all(
    con: duckdb.DuckDBPyConnection,
    sources_dir: Path,
    contracts: Sequence[Contract] = CONTRACTS,
    progress: Callable[[str, LoadResult | None], None] | None = None,
) -> list[LoadResult]:
    """Load every contract's file; progress(source, result) after each (None: no file, as an
    optional source may have none and extracts.yaml may declare of any but the reference files),
    the largest file's last: it loads alongside the others. Results are in load order.

    Every required file is looked for before anything is loaded, so a missing one stops the build
    at once, naming all that are missing (a source declared `available: false` is not required).
    """
    sources_dir = Path(sources_dir)
    build_day = date.today()
    manifest = read_manifest(sources_dir, build_day)
    absent = absent_sources(manifest)
    missing = [
        c
        for c in contracts
        if not c.optional and c.source not in absent and find_extract(sources_dir, c) is None
    ]
    if missing:
        raise _not_found(sources_dir, missing)
    for contract in contracts:
        path = find_extract(sources_dir, contract) if contract.source in absent else None
        if path is not None:
            raise _declared_absent_but_present(path, sources_dir, contract)
    _ensure_load_tables(con)
    # a file whose values others are checked against (the wards reference's clusters) first
    providers = {
        c.allowed_from.split(".")[0] for k in contracts for c in k.columns if c.allowed_from
    }
    ordered = sorted(contracts, key=lambda c: c.source not in providers)
    first = [c for c in ordered if c.source in providers]
    alongside = _largest_extract(
        [c for c in ordered if c.source not in providers and c.source not in absent], sources_dir
    )
    loaded: dict[str, LoadResult | None] = {}
    failures: dict[str, BaseException] = {}

    def load_here(contract: Contract) -> None:
        try:
            loaded[contract.source] = load_source(con, contract, sources_dir, manifest, build_day)
        except BaseException as error:  # raised below in load order, as loading one by one would
            failures[contract.source] = error
            return
        if progress is not None:
            progress(contract.source, loaded[contract.source])

    for contract in first:
        load_here(contract)
    if not failures:
        # The largest file (the school census at district scale) loads on a second connection
        # while the rest load here: reading and typing it leave part of a core idle, and the
        # others are small. progress is called from this thread only (the app's progress bar
        # must be), the largest file last.
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(_load_on_own_connection, con, alongside, sources_dir, manifest,
                                  build_day) if alongside else None  # fmt: skip
            for contract in ordered:
                if contract in first or contract is alongside:
                    continue
                load_here(contract)
                if failures:
                    break
            if running is not None:
                try:
                    loaded[alongside.source] = running.result()
                except BaseException as error:
                    failures[alongside.source] = error
                else:
                    if progress is not None and not failures:
                        progress(alongside.source, loaded[alongside.source])
    if failures:
        raise next(failures[c.source] for c in ordered if c.source in failures)
    results = [loaded[c.source] for c in ordered if loaded.get(c.source) is not None]
    moved = _set_aside_dob_after_own_referral(con)
    if moved:
        for result in results:
            if result.source == "ehm_people":
                result.values_set_aside += moved
    return results
