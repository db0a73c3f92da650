"""Linkage settings: linkage.yaml (what a council analyst may change), name_variants.yaml (the
nickname and spelling groups) and street_types.yaml (thoroughfare types and their
abbreviations), and the configuration tables the SQL models read from them."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import yaml

SETTINGS_FILE = Path(__file__).with_name("linkage.yaml")
NAME_VARIANTS_FILE = Path(__file__).with_name("name_variants.yaml")
STREET_TYPES_FILE = Path(__file__).with_name("street_types.yaml")


@cache
def linkage_settings(path: Path = SETTINGS_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def name_variant_rows(path: Path = NAME_VARIANTS_FILE) -> list[tuple[str, str]]:
    """(name, group) pairs in linkage's standard form (capitals, no marks)."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = set()
    for canonical, variants in groups.items():
        for name in [canonical, *variants]:
            rows.add((str(name).upper(), str(canonical).upper()))
    return sorted(rows)


def street_type_rows(path: Path = STREET_TYPES_FILE) -> list[tuple[str, str]]:
    """(word, street type) pairs in capitals: each type as itself and each of its abbreviations
    ("VW" -> "VIEW"). An abbreviation given for two types is an error: it could not be written
    out."""
    types = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows: dict[str, str] = {}
    for street_type, abbreviations in types.items():
        for word in [street_type, *(abbreviations or [])]:
            word, full = compact(word), compact(street_type)
            if rows.get(word, full) != full:
                raise ValueError(
                    f"{path.name}: {word} is given for both {rows[word]} and {full}; "
                    "an abbreviation names one street type"
                )
            rows[word] = full
    return sorted(rows.items())


def create_linkage_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Configuration the SQL models read: name groups, street types, systems that share another's
    ids, titles, the placeholder postcodes and addresses and the year-only dates of birth
    (linkage.yaml's `standardise`)."""
    con.execute("create or replace table cfg_name_variant (name_std varchar, name_group varchar)")
    con.executemany("insert into cfg_name_variant values (?, ?)", name_variant_rows())
    con.execute("create or replace table cfg_street_type (word varchar, street_type varchar)")
    con.executemany("insert into cfg_street_type values (?, ?)", street_type_rows())
    con.execute("create or replace table cfg_system_source (system_name varchar, source varchar)")
    systems = linkage_settings()["person"]["same_identifier_systems"]
    con.executemany("insert into cfg_system_source values (?, ?)", list(systems.items()))
    con.execute("create or replace table cfg_name_title (title varchar)")
    con.executemany("insert into cfg_name_title values (?)", [(t,) for t in name_titles()])
    con.execute(
        "create or replace table cfg_placeholder_value"
        " (field varchar, compact_value varchar, is_prefix boolean)"
    )
    con.executemany("insert into cfg_placeholder_value values (?, ?, ?)", placeholder_rows())
    con.execute(
        "create or replace table cfg_year_only_dob (birth_month integer, birth_day integer)"
    )
    con.executemany("insert into cfg_year_only_dob values (?, ?)", year_only_days())


def compact(value: object) -> str:
    """A value as placeholders are compared: capitals, letters and digits only ("N/K" -> "NK")."""
    return re.sub(r"[^A-Z0-9]", "", str(value).upper())


def name_titles() -> list[str]:
    """linkage.yaml's titles in linkage's standard name form (capitals, letters only)."""
    return sorted({compact(title) for title in linkage_settings()["standardise"]["name_titles"]})


def placeholder_rows() -> list[tuple[str, str, bool]]:
    """(field, compact value, is a prefix) for each postcode and address placeholder."""
    settings = linkage_settings()["standardise"]
    rows = {
        *(("postcode", compact(v), False) for v in settings["postcode_placeholders"]),
        *(("postcode", compact(v), True) for v in settings["postcode_placeholder_prefixes"]),
        *(("address", compact(v), False) for v in settings["address_placeholders"]),
    }
    return sorted(rows)


def year_only_days() -> list[tuple[int, int]]:
    """(month, day) of each date of birth that stands for a year alone ("01/01": 1 January)."""
    days = []
    for value in linkage_settings()["standardise"]["year_only_dates_of_birth"]:
        match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})\s*", str(value))
        if match is None:
            raise ValueError(
                f"linkage.yaml standardise.year_only_dates_of_birth: {value!r} is not DD/MM"
            )
        day, month = int(match[1]), int(match[2])
        days.append((month, day))
    return sorted(set(days))
