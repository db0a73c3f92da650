"""What checks.yaml says a value may plausibly be, and which values stand for "not known".

    plausible:        per field: earliest and latest dates (latest may be `current_to`), maximum
    date_of_birth:    days_after_own_event (a date of birth after the person's own event)
    date_order:       min_dates_to_detect (a file's slash dates found to be month first)
    placeholders:     any / dob / sex / name values, and postcode prefixes, that mean "not known"

Read once, on import; loaders/base.py applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from loaders.contracts import NAME_FIELDS, Column
from loaders.extract_manifest import CHECKS

CURRENT_TO = "current_to"


@dataclass(frozen=True)
class Plausible:
    """The range a column's values may take: dates from earliest, to latest (a date, or the
    source's current-to date), or numbers up to maximum."""

    earliest: date | None = None
    latest: date | str | None = None
    maximum: float | None = None


def _plausible(settings: dict | None) -> Plausible:
    settings = settings or {}
    return Plausible(settings.get("earliest"), settings.get("latest"), settings.get("maximum"))


_PLAUSIBLE: dict = CHECKS.get("plausible") or {}
_EVERY_DATE = _plausible(_PLAUSIBLE.get("every_date"))

DATE_ORDER_MIN_DATES = int((CHECKS.get("date_order") or {}).get("min_dates_to_detect", 10))

DOB_DAYS_AFTER_OWN_EVENT = int((CHECKS.get("date_of_birth") or {}).get("days_after_own_event", 0))

_PLACEHOLDERS: dict = CHECKS.get("placeholders") or {}


def plausible(column: Column) -> Plausible:
    """The column's range: its field's own settings, else every_date's for a date column."""
    own = _PLAUSIBLE.get(column.field)
    if own is not None:
        return _plausible(own)
    if column.type in ("date", "datetime"):
        return _EVERY_DATE
    return Plausible()


def placeholders(column: Column) -> tuple[str, ...]:
    """Values (in capitals) that stand for "not known" in an identity column, less any value
    its contract allows. A name column takes the `name` list alone: some of `any` are real
    names (NA is a surname)."""
    if not column.identity:
        return ()
    if column.field in NAME_FIELDS:
        values = [*_PLACEHOLDERS.get("name", ())]
    else:
        values = [*_PLACEHOLDERS.get("any", ()), *_PLACEHOLDERS.get(column.field, ())]
    allowed = {v.upper() for v in column.allowed or ()}
    return tuple(dict.fromkeys(str(v).upper() for v in values if str(v).upper() not in allowed))


def placeholder_dates(column: Column) -> tuple[date, ...]:
    """The dates among a date column's placeholders (01/01/1900, 1900-01-01...), so that the
    same day written with a time ("01/01/1900 00:00"), or typed as a date in a spreadsheet or
    Parquet file, is "not known" too, not only the exact text."""
    if column.type not in ("date", "datetime"):
        return ()
    days = []
    for value in placeholders(column):
        for form in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                days.append(datetime.strptime(value, form).date())
            except ValueError:
                continue
    return tuple(dict.fromkeys(days))


def placeholder_prefixes(column: Column) -> tuple[str, ...]:
    """Prefixes (capitals, no spaces) that stand for "not known": NHS pseudo-postcodes."""
    if column.identity and column.field == "postcode":
        prefixes = _PLACEHOLDERS.get("postcode_prefixes", ())
        return tuple(str(p).upper().replace(" ", "") for p in prefixes)
    return ()


_SEX_SYNONYMS: dict = CHECKS.get("sex_synonyms") or {}


def sex_synonyms(column: Column) -> dict[str, str]:
    """For an identity sex column: other systems' codes (lower case) and the column's own code
    each stands for, e.g. {"female": "F", "2": "F", ...} for a column of M and F."""
    if not (column.identity and column.field == "sex" and column.allowed):
        return {}
    mapping: dict[str, str] = {}
    for words in _SEX_SYNONYMS.values():
        spelled = {str(w).lower() for w in words}
        own = [a for a in column.allowed if a.lower() in spelled]
        if len(own) == 1:
            mapping.update(
                {w: own[0] for w in spelled if w not in {a.lower() for a in column.allowed}}
            )
    return mapping
