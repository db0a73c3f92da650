"""The search keys of the family lookup, written by the build's "lookup" stage after linkage and
families: every name any source recorded for each person, folded into tokens with their phonetic
keys and name groups (lookup_person_name), what each person is searched by besides their names
(lookup_person), and the identifiers practitioners hold (lookup_person_identifier).

It starts from linkage's records (int_linkage_record: one row per registration and distinct
name, date of birth and place, about a quarter of the source rows) and folds each distinct first
name, surname, postcode and address once.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from data_model.lookup.names import name_tokens, phonetic_keys
from data_model.lookup.settings import search_settings

LOOKUP_TABLES = ("lookup_person", "lookup_person_name", "lookup_person_identifier")

_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# An identifier as compared (names.compact): capitals and digits only.
_COMPACT_SQL = (
    "nullif(regexp_replace(upper(strip_accents(cast({} as varchar))), '[^A-Z0-9]', '', 'g'), '')"
)
# An address as searched (names.address_text): capitals and digits, single spaces.
_ADDRESS_SQL = (
    "nullif(trim(regexp_replace(regexp_replace(upper(translate(strip_accents({}),"
    " 'ŁłØøßĐđ', 'LlOosDd')), '[''’‘`.]', '', 'g'), '[^A-Z0-9]+', ' ', 'g')), '')"
)
# A postcode as searched: "BD5 0LU" whatever spacing the system used; placeholders ("N/K") none.
_POSTCODE_SQL = """
    case when length(regexp_replace(upper({0}), '[^A-Z0-9]', '', 'g')) between 5 and 7 then
        left(regexp_replace(upper({0}), '[^A-Z0-9]', '', 'g'),
             length(regexp_replace(upper({0}), '[^A-Z0-9]', '', 'g')) - 3)
        || ' ' || right(regexp_replace(upper({0}), '[^A-Z0-9]', '', 'g'), 3)
    end
"""


def create_lookup_tables(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Write lookup_person, lookup_person_name and lookup_person_identifier from the linked
    registrations (int_linkage_record, int_person_link), mart_person and the staging models'
    identifiers; returns their row counts."""
    settings = search_settings()
    _create_records(con, settings["source_labels"])
    _create_name_keys(con)
    _create_person_names(con)
    _create_persons(con)
    _create_identifiers(con, settings["identifiers"])
    con.execute("drop table lookup_record")
    con.execute("drop table lookup_name_key")
    return {
        table: con.execute(f"select count(*) from {table}").fetchall()[0][0]
        for table in LOOKUP_TABLES
    }


def _create_records(con: duckdb.DuckDBPyConnection, labels: dict[str, str]) -> None:
    """How each person's registrations recorded them (int_linkage_record: one row per
    registration and distinct name, date of birth and place, so the school census's termly rows
    are one), with the source's label in plain words and the postcode and address as searched
    (each distinct value folded once)."""
    con.execute("create or replace temp table lookup_source_label (source varchar, label varchar)")
    con.executemany("insert into lookup_source_label values (?, ?)", list(labels.items()))
    con.execute(
        f"""
        create or replace temp table lookup_record as
        with services as (
            -- a service-involvement registration is labelled by its service
            select source_person_id, min(service) as service
            from stg_service_involvement group by source_person_id
        ),
        records as (
            select
                link.person_key, record.source, record.source_person_id, record.first_name,
                record.last_name, record.dob, record.postcode, record.address,
                coalesce(services.service, label.label, record.source) as source_label,
                record.source_rows as records
            from int_linkage_record as record
            inner join int_person_link as link using (unique_id)
            left join lookup_source_label as label using (source)
            left join services
                on record.source = 'service_involvement'
                and services.source_person_id = record.source_person_id
        ),
        postcodes as (
            select postcode, {_POSTCODE_SQL.format("postcode")} as postcode_searched
            from (select distinct postcode from records where postcode is not null)
        ),
        addresses as (
            select address, {_ADDRESS_SQL.format("address")} as address_searched
            from (select distinct address from records where address is not null)
        )
        select
            records.* exclude (postcode, address),
            postcodes.postcode_searched as postcode,
            addresses.address_searched as address
        from records
        left join postcodes using (postcode)
        left join addresses using (address)
        """
    )


def _create_name_keys(con: duckdb.DuckDBPyConnection) -> None:
    """The tokens, phonetic keys and name groups of every distinct recorded first name and
    surname, folded in Python once per distinct value."""
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
    token_keys: dict[str, str] = {}
    rows = []
    for raw in raw_names:
        tokens = name_tokens(raw, titles)
        keys = []
        for token in tokens:
            if token not in token_keys:
                token_keys[token] = " ".join(phonetic_keys(token))
            keys.append(token_keys[token])
        rows.append((raw, tokens, keys, [" ".join(groups.get(token, [])) for token in tokens]))
    frame = pd.DataFrame(rows, columns=["raw_name", "tokens", "phonetic_keys", "name_groups"])
    con.register("lookup_name_key_frame", frame)
    con.execute(
        """
        create or replace temp table lookup_name_key as
        select raw_name, tokens::varchar[] as tokens, phonetic_keys::varchar[] as phonetic_keys,
               name_groups::varchar[] as name_groups
        from lookup_name_key_frame
        """
    )
    con.unregister("lookup_name_key_frame")


def _create_person_names(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        create or replace table lookup_person_name as
        with names as (
            select
                person_key, first_name, last_name,
                list(distinct source_label order by source_label) as sources,
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
            coalesce(given.phonetic_keys, []) as given_phonetic_keys,
            coalesce(surname.phonetic_keys, []) as surname_phonetic_keys,
            coalesce(given.name_groups, []) as given_name_groups,
            coalesce(surname.name_groups, []) as surname_name_groups,
            person.dob,
            person.postcode,
            names.sources,
            names.records
        from names
        left join lookup_name_key as given on given.raw_name = names.first_name
        left join lookup_name_key as surname on surname.raw_name = names.last_name
        inner join mart_person as person using (person_key)
        where len(coalesce(given.tokens, [])) + len(coalesce(surname.tokens, [])) > 0
        """
    )


def _create_persons(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        create or replace table lookup_person as
        with recorded as (
            select
                person_key,
                list(distinct dob order by dob) filter (where dob is not null) as dobs,
                list(distinct postcode order by postcode) filter (where postcode is not null)
                    as postcodes,
                list(distinct address order by address) filter (where address is not null)
                    as addresses,
                list(distinct source_label order by source_label) as sources
            from lookup_record
            group by person_key
        )
        select
            person.person_key,
            person.first_name,
            person.last_name,
            person.dob,
            {_POSTCODE_SQL.format("person.postcode")} as postcode,
            coalesce(recorded.dobs, []) as dobs,
            coalesce(recorded.postcodes, []) as postcodes,
            coalesce(recorded.addresses, []) as addresses,
            coalesce(recorded.sources, []) as sources
        from mart_person as person
        left join recorded using (person_key)
        """
    )


def _create_identifiers(con: duckdb.DuckDBPyConnection, identifiers: list[dict]) -> None:
    """Each identifier a person's records hold, found through the record's registration (source
    and the source's person id)."""
    selects, kinds = [], []
    for entry in identifiers:
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
        # distinct first: the census repeats each child's UPN every term
        selects.append(
            f"""
            select {kind} as kind, source, source_person_id,
                   {_COMPACT_SQL.format("held")} as value
            from (
                select distinct source, source_person_id, {column} as held
                    {f", {kind_column}" if kind_column else ""}
                from {model} where {column} is not null{loaded}
            )
            """
        )
        kinds.append(entry["kind"])
    con.execute(
        f"""
        create or replace table lookup_person_identifier as
        with registrations as (
            select distinct source, source_person_id, person_key from lookup_record
        ),
        identifiers as ({" union all ".join(selects)})
        select distinct identifiers.kind, identifiers.value, registrations.person_key
        from identifiers
        inner join registrations using (source, source_person_id)
        where identifiers.value is not null
        """,
        kinds,
    )
