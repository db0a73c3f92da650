"""The search keys of the family lookup, written by the build's "lookup" stage after linkage and
families: every name any source recorded for each person, folded into tokens (lookup_person_name)
with each distinct token's phonetic keys and name groups (lookup_name_token); each person's
dates of birth, postcodes and addresses as recorded (lookup_person_place); the sources, in plain
words (lookup_source); and the identifiers practitioners hold (lookup_person_identifier).

It starts from linkage's records (int_linkage_record: one row per registration and distinct
name, date of birth and place, about a quarter of the source rows) and folds each distinct first
name, surname, postcode and address once. Keys are kept once per distinct token (some 20,000 at
Bradford scale), not once per name row, and nothing is aggregated into lists that need not be:
the stage is a small part of a build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd

from data_model.lookup.names import name_tokens, phonetic_keys
from data_model.lookup.settings import search_settings

LOOKUP_TABLES = (
    "lookup_source",
    "lookup_person_name",
    "lookup_name_token",
    "lookup_person_place",
    "lookup_person_identifier",
)

_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# An identifier as compared (names.compact): capitals and digits only.
_COMPACT_SQL = (
    "nullif(regexp_replace(upper(strip_accents(cast({} as varchar))), '[^A-Z0-9]', '', 'g'), '')"
)
# The sources that know a person (or give a name) are a set of bits, one a source label
# (lookup_source): a bitwise or is far cheaper to aggregate than a list. Labels past the 63rd
# share the last bit.
_LAST_BIT = 63


def create_lookup_tables(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Write the lookup tables (LOOKUP_TABLES) from the linked registrations
    (int_linkage_record, int_person_link), mart_person and the staging models' identifiers;
    returns their row counts."""
    settings = search_settings()
    _create_sources(con, settings["source_labels"])
    _create_records(con)
    _create_names(con)
    with _uncompressed(con):
        _create_places(con)
        _create_identifiers(con, settings["identifiers"])
    for table in ("lookup_record", "lookup_name_key", "lookup_source_of"):
        con.execute(f"drop table {table}")
    return {
        table: con.execute(f"select count(*) from {table}").fetchall()[0][0]
        for table in LOOKUP_TABLES
    }


@contextmanager
def _uncompressed(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Tables written meanwhile are not compressed: compressing half a million to a million
    short, distinct strings takes twice as long as writing them (about 0.5 s of the stage at
    Bradford scale, for 64 MB more in a 900 MB model; measured 05 Dec 2026)."""
    (compression,) = con.execute("select current_setting('force_compression')").fetchall()[0]
    con.execute("set force_compression = 'uncompressed'")
    try:
        yield
    finally:
        con.execute("set force_compression = ?", [compression or "auto"])


def _create_sources(con: duckdb.DuckDBPyConnection, labels: dict[str, str]) -> None:
    """lookup_source: each source label in plain words (lookup.yaml source_labels; a
    service-involvement registration is labelled by its service) and its bit; and which bit each
    source's records, or each service-involvement registration's, take."""
    services = [
        service
        for (service,) in con.execute(
            "select distinct service from stg_service_involvement where service is not null"
        ).fetchall()
    ]
    names = sorted({*labels.values(), *services})
    bits = {label: min(number, _LAST_BIT) for number, label in enumerate(names)}
    shown: dict[int, str] = {}
    for label, bit in bits.items():
        shared = bit == _LAST_BIT and len(names) > _LAST_BIT + 1
        shown.setdefault(bit, "Other services" if shared else label)
    con.execute("create or replace table lookup_source (bit integer, label varchar)")
    con.executemany("insert into lookup_source values (?, ?)", sorted(shown.items()))
    con.execute(
        "create or replace temp table lookup_source_of"
        " (source varchar, source_person_id varchar, bit integer)"
    )
    con.executemany(
        "insert into lookup_source_of values (?, null, ?)",
        [(source, bits[label]) for source, label in labels.items()],
    )
    con.execute("create or replace temp table lookup_service_bit (service varchar, bit integer)")
    if services:  # none when the council sends no service-involvement extract
        con.executemany(
            "insert into lookup_service_bit values (?, ?)", [(s, bits[s]) for s in services]
        )
    con.execute(
        """
        insert into lookup_source_of
        select 'service_involvement', involvement.source_person_id, min(service_bit.bit)
        from stg_service_involvement as involvement
        inner join lookup_service_bit as service_bit using (service)
        group by involvement.source_person_id
        """
    )
    con.execute("drop table lookup_service_bit")


def _create_records(con: duckdb.DuckDBPyConnection) -> None:
    """How each person's registrations recorded them (int_linkage_record: one row per
    registration and distinct name, date of birth and place, so the school census's termly rows
    are one; postcodes already in one form, placeholders gone), with the bit of the source's
    label."""
    con.execute(
        f"""
        create or replace temp table lookup_record as
        select
            link.person_key, record.source, record.source_person_id, record.first_name,
            record.last_name, record.dob, record.postcode, record.address,
            (1::ubigint << coalesce(service.bit, source.bit, {_LAST_BIT}))::ubigint as sources,
            record.source_rows as records
        from int_linkage_record as record
        inner join int_person_link as link using (unique_id)
        left join lookup_source_of as source
            on source.source = record.source and source.source_person_id is null
        left join lookup_source_of as service
            on record.source = 'service_involvement'
            and service.source = 'service_involvement'
            and service.source_person_id = record.source_person_id
        """
    )


def _create_names(con: duckdb.DuckDBPyConnection) -> None:
    """lookup_name_token and lookup_person_name: every distinct recorded first name and surname
    folded into tokens in Python, once each, and every distinct token's keys."""
    titles = frozenset(
        title for (title,) in con.execute("select title from cfg_name_title").fetchall()
    )
    groups: dict[str, list[str]] = {}
    for name, group in con.execute(
        "select name_std, name_group from cfg_name_variant order by name_std, name_group"
    ).fetchall():
        groups.setdefault(name, []).append(group)
    raw_names = [
        name
        for (name,) in con.execute(
            "select distinct first_name from lookup_record where first_name is not null"
            " union select distinct last_name from lookup_record where last_name is not null"
        ).fetchall()
    ]
    folded = [(raw, name_tokens(raw, titles)) for raw in raw_names]
    tokens = sorted({token for _, name in folded for token in name})
    con.register("lookup_name_key_frame", pd.DataFrame(folded, columns=["raw_name", "tokens"]))
    con.register(
        "lookup_name_token_frame",
        pd.DataFrame(
            [(t, list(phonetic_keys(t)), groups.get(t, [])) for t in tokens],
            columns=["token", "phonetic_keys", "name_groups"],
        ),
    )
    try:
        con.execute(
            "create or replace temp table lookup_name_key as"
            " select raw_name, tokens::varchar[] as tokens from lookup_name_key_frame"
        )
        con.execute(
            """
            create or replace table lookup_name_token as
            select token, phonetic_keys::varchar[] as phonetic_keys,
                   name_groups::varchar[] as name_groups
            from lookup_name_token_frame
            """
        )
    finally:
        con.unregister("lookup_name_key_frame")
        con.unregister("lookup_name_token_frame")
    con.execute(
        """
        create or replace table lookup_person_name as
        with names as (
            select
                person_key, first_name, last_name,
                bit_or(sources) as sources,
                sum(records) as records
            from lookup_record
            where first_name is not null or last_name is not null
            group by person_key, first_name, last_name
        )
        select
            names.person_key,
            names.first_name,
            names.last_name,
            coalesce(given.tokens, []) as given_tokens,
            coalesce(surname.tokens, []) as surname_tokens,
            names.sources,
            names.records
        from names
        left join lookup_name_key as given on given.raw_name = names.first_name
        left join lookup_name_key as surname on surname.raw_name = names.last_name
        where len(coalesce(given.tokens, [])) + len(coalesce(surname.tokens, [])) > 0
        """
    )


def _create_places(con: duckdb.DuckDBPyConnection) -> None:
    """lookup_person_place: every date of birth, postcode and address the person's records give
    (addresses as recorded: the search folds the few it compares), one row per distinct
    combination, with the sources giving it; the sources that know a person are all of its
    rows'."""
    con.execute(
        """
        create or replace table lookup_person_place as
        select person_key, dob, postcode, address, bit_or(sources) as sources
        from lookup_record
        group by person_key, dob, postcode, address
        """
    )


def _create_identifiers(con: duckdb.DuckDBPyConnection, identifiers: list[dict]) -> None:
    """Each identifier a registration holds, with the registration's person (linkage never
    splits a registration): its own id in its source (`source:` entries, from linkage's records)
    or a column of a staging model (`model:` entries, found through the registration)."""
    own: list[tuple[str, str]] = []
    selects, kinds = [], []
    for entry in identifiers:
        if "source" in entry:
            own.append((entry["source"], entry["kind"]))
            continue
        model, column = entry["model"], entry["column"]
        kind_column, system_column = entry.get("kind_column"), entry.get("system_column")
        for name in (model, column, kind_column, system_column):
            if name is not None and not _SQL_NAME.match(name):
                raise ValueError(
                    f"lookup.yaml search.identifiers: {name!r} is not a column or model name"
                )
        kind = "?" if kind_column is None else f"{kind_column} || ' ' || ?"
        # a system whose ids another source already gives (linkage.yaml same_identifier_systems)
        loaded = (
            f" and {system_column} not in (select system_name from cfg_system_source)"
            if system_column
            else ""
        )
        selects.append(
            f"""
            select distinct {kind} as kind, source || ':' || source_person_id as registration_id,
                   {column} as held
            from {model} where {column} is not null{loaded}
            """
        )
        kinds.append(entry["kind"])
    con.execute("create or replace temp table lookup_own_id (source varchar, kind varchar)")
    if own:
        con.executemany("insert into lookup_own_id values (?, ?)", own)
    columns = " union all ".join(selects) or (
        "select null::varchar as kind, null::varchar as registration_id, null::varchar as held"
        " where false"
    )
    fold = f"""case when regexp_matches(upper(held), '[^A-Z0-9]')
        then {_COMPACT_SQL.format("held")} else upper(held) end"""
    # Materialized: folded once per distinct value, not pushed down to every row of a model;
    # the regular expression only where something is to remove.
    con.execute(
        f"""
        create or replace table lookup_person_identifier as
        with held as materialized ({columns}),
        folded as materialized (
            select kind, registration_id, {fold} as value from held
        ),
        own as (
            select own.kind, {fold.replace("held", "record.source_person_id")} as value,
                   record.person_key
            from lookup_record as record
            inner join lookup_own_id as own using (source)
            where record.source_person_id is not null
        )
        -- a registration is one person (int_person_link: one row per way it was recorded, so a
        -- value may repeat for a person: the search takes it once)
        select folded.kind, folded.value, link.person_key
        from folded
        inner join int_person_link as link using (registration_id)
        where folded.value is not null and folded.value <> ''
        union all
        select kind, value, person_key from own where value is not null and value <> ''
        """,
        kinds,
    )
    con.execute("drop table lookup_own_id")
