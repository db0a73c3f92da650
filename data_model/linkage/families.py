"""Families: persons joined by living at one dwelling at overlapping times, by relationships
recorded in case management and by sharing an early help case. A family is a connected group.

Communal dwellings (hostels, refuges, care homes, blocks recorded without flat numbers: more
people or more surnames at one address than linkage.yaml's family limits) make no one family, so
they cannot chain households into mega-families; one definition (family_dwelling) both sets them
aside and lists them. Every joining piece of evidence is kept, so each member carries the reason
they are in the family.

Reads int_linkage_record, int_person_link, stg_ehm_relationships and stg_ehm_people; writes
int_family_link (person_key → family_key), int_family_link_evidence (one row per person and
piece of evidence) and int_family_link_communal (the dwellings set aside).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from data_model.linkage.clustering import connected_groups
from data_model.linkage.settings import linkage_settings


def _create_family_records(con: duckdb.DuckDBPyConnection, family: dict) -> None:
    """family_record: each linkage record with an address, with its person and its dwelling.

    A dwelling is an address key and postcode, with three allowances for how records are kept:
    - an address without a postcode is at the one postcode the data holds for that address key,
      when it holds exactly one;
    - keys that differ only by a slip are one dwelling: the same address key in one postcode
      district with postcodes `postcode_slip_characters` apart (HW5 5QU / HW5 5UU), or the same
      flat and house number in one postcode with the rest at most `address_slip_characters`
      apart (31 CLOUGH STERET / 31 CLOUGH STREET);
    - where numbered flats are known at a building (at least `flats_known_at_least` of them at
      its building key and postcode), a record of the building alone ("WHARF HOUSE", "51 NETHER
      CLOSE" when Flats 1-6 are recorded there) does not say which flat. It is placed at the
      one flat there where people of its surname are recorded; where no flat or several have
      them it places its person in no dwelling, as a placeholder postcode does not, and they
      join their family by their other records. A building whose flats no record names is
      one dwelling."""
    con.execute(
        """
        create or replace temp table family_address as
        with one_postcode as (
            select address_key, min(postcode) as postcode
            from int_linkage_record
            where address_key is not null and postcode is not null
            group by address_key
            having count(distinct postcode) = 1
        )
        select
            link.person_key,
            record.address_key,
            coalesce(record.postcode, one_postcode.postcode) as postcode,
            record.address_flat,
            record.building_key,
            record.stay_from,
            record.stay_to,
            record.day_first,
            record.day_last,
            record.source,
            record.last_name_skeleton
        from int_linkage_record as record
        inner join int_person_link as link using (unique_id)
        left join one_postcode
            on record.postcode is null and one_postcode.address_key = record.address_key
        where record.address_key is not null
          and coalesce(record.postcode, one_postcode.postcode) is not null
        """
    )
    # One dwelling per group of keys a slip apart, named by the group's first key.
    con.execute(
        """
        create or replace temp table family_dwelling_key as
        select address_key, postcode, row_number() over (order by address_key, postcode) - 1
            as node
        from (select distinct address_key, postcode from family_address)
        """
    )
    slips = con.execute(
        """
        with numbered as (
            select *, regexp_extract(address_key, '^([0-9]+[A-Z]?(?: [0-9]+[A-Z]?)*) ', 1)
                as numbers
            from family_dwelling_key
        )
        select a.node as node_a, b.node as node_b
        from numbered as a
        inner join numbered as b
            on a.address_key = b.address_key and a.node < b.node
            and split_part(a.postcode, ' ', 1) = split_part(b.postcode, ' ', 1)
        where damerau_levenshtein(a.postcode, b.postcode) <= $postcode_slip
        union all
        select a.node, b.node
        from numbered as a
        inner join numbered as b
            on a.postcode = b.postcode and a.numbers = b.numbers and a.node < b.node
        where a.numbers <> ''
          and damerau_levenshtein(a.address_key, b.address_key) <= $address_slip
        """,
        {
            "postcode_slip": family["postcode_slip_characters"],
            "address_slip": family["address_slip_characters"],
        },
    ).fetchnumpy()
    keys = con.execute("select count(*) from family_dwelling_key").fetchall()[0][0]
    con.register(
        "family_dwelling_group",
        pa.table(
            {
                "node": np.arange(keys),
                "group_node": connected_groups(
                    keys, np.column_stack([slips["node_a"], slips["node_b"]])
                ),
            }
        ),
    )
    con.execute(
        """
        create or replace temp table family_dwelling_key as
        select key.address_key, key.postcode,
               first_key.address_key || ' | ' || first_key.postcode as dwelling
        from family_dwelling_key as key
        inner join family_dwelling_group as dwelling_group using (node)
        inner join family_dwelling_key as first_key on first_key.node = dwelling_group.group_node
        """
    )
    con.unregister("family_dwelling_group")
    con.execute(
        """
        create or replace temp table family_record as
        with located as (
            select address.*, key.dwelling,
                   address.address_flat is null and (address.address_key, address.postcode) in (
                       select (building_key, postcode) from family_address
                       where address_flat is not null
                       group by all
                       having count(distinct address_flat) >= $flats_known_at_least
                   ) as building_alone
            from family_address as address
            inner join family_dwelling_key as key using (address_key, postcode)
        ),
        flat_of_surname as (
            select building_key, postcode, last_name_skeleton, min(dwelling) as dwelling
            from located
            where address_flat is not null and last_name_skeleton is not null
            group by all
            having count(distinct dwelling) = 1
        )
        select located.* replace (coalesce(flat.dwelling, located.dwelling) as dwelling)
        from located
        left join flat_of_surname as flat
            on located.building_alone
            and flat.building_key = located.address_key
            and flat.postcode = located.postcode
            and flat.last_name_skeleton = located.last_name_skeleton
        where not located.building_alone or flat.dwelling is not null
        """,
        {"flats_known_at_least": family["flats_known_at_least"]},
    )


def _create_dwellings(con: duckdb.DuckDBPyConnection, family: dict) -> None:
    """family_dwelling_period: each person's time at each dwelling; family_dwelling: each
    dwelling's people and surnames, and whether it is communal (the one definition of it).

    A person's time at a dwelling runs over the periods their records there cover (tenancies,
    spells, episodes) and `one_day_reach_days` either side of each one-day record (an event, a
    census day, a GP address as it stands on the day of the data share): `reach_from` to
    `reach_to`. `period_start` and `period_end` are the days the records themselves cover."""
    _create_family_records(con, family)
    con.execute(
        """
        create or replace temp table family_dwelling_period as
        select
            person_key,
            dwelling,
            least(min(stay_from), min(day_first)) as period_start,
            greatest(max(stay_to), max(day_last)) as period_end,
            least(min(stay_from), min(day_first) - to_days($reach_days)) as reach_from,
            greatest(max(stay_to), max(day_last) + to_days($reach_days)) as reach_to,
            string_agg(distinct source, ', ' order by source) as sources,
            min(last_name_skeleton) as surname_skeleton
        from family_record
        group by all
        """,
        {"reach_days": family["one_day_reach_days"]},
    )
    con.execute(
        """
        create or replace temp table family_dwelling as
        select dwelling, people, surnames,
               people > $max_people or surnames > $max_surnames as communal
        from (
            select dwelling, count(distinct person_key) as people,
                   count(distinct surname_skeleton) as surnames
            from family_dwelling_period group by dwelling
        )
        """,
        {
            "max_people": family["communal_max_people"],
            "max_surnames": family["communal_max_surnames"],
        },
    )


def _edges_sql() -> str:
    """Every pair of persons joined by evidence, with what the evidence is."""
    return """
        with household_dwelling as (
            select dwelling_period.*
            from family_dwelling_period as dwelling_period
            inner join family_dwelling as dwelling using (dwelling)
            where not dwelling.communal
        ),
        shared_dwelling as (
            select
                a.person_key as person_a,
                b.person_key as person_b,
                'shared address' as evidence,
                a.dwelling as detail,
                a.sources || ' / ' || b.sources as sources,
                -- the days both were there; when they were there only within reach of each
                -- other, the days between them, in order
                least(
                    greatest(a.period_start, b.period_start), least(a.period_end, b.period_end)
                ) as valid_from,
                greatest(
                    greatest(a.period_start, b.period_start), least(a.period_end, b.period_end)
                ) as valid_to
            from household_dwelling as a
            inner join household_dwelling as b
                on a.dwelling = b.dwelling and a.person_key < b.person_key
            where a.reach_from <= b.reach_to and b.reach_from <= a.reach_to
        ),
        ehm_person as (
            select distinct
                substr(link.registration_id, length('ehm_people:') + 1) as person_id,
                link.person_key
            from int_person_link as link
            where link.registration_id like 'ehm_people:%'
        ),
        recorded_relationship as (
            select
                person.person_key as person_a,
                related.person_key as person_b,
                'recorded relationship' as evidence,
                relationship.relationship as detail,
                'ehm_relationships' as sources,
                relationship.start_date as valid_from,
                relationship.end_date as valid_to
            from stg_ehm_relationships as relationship
            inner join ehm_person as person on person.person_id = relationship.person_id
            inner join ehm_person as related on related.person_id = relationship.related_person_id
            where person.person_key <> related.person_key
              and not list_contains($ignore_relationships, relationship.relationship)
        ),
        case_member as (
            select distinct people.case_id, ehm_person.person_key, people.record_date
            from stg_ehm_people as people
            inner join ehm_person on ehm_person.person_id = people.source_person_id
        ),
        shared_case as (
            select
                a.person_key as person_a,
                b.person_key as person_b,
                'same early help case' as evidence,
                a.case_id as detail,
                'ehm_people' as sources,
                least(a.record_date, b.record_date) as valid_from,
                cast(null as date) as valid_to
            from case_member as a
            inner join case_member as b
                on a.case_id = b.case_id and a.person_key < b.person_key
        )
        select * from shared_dwelling
        union all select * from recorded_relationship
        union all select * from shared_case
    """


def _postcode_surname_edges_sql() -> str:
    return """
        with address_known as (
            select distinct link.person_key
            from int_linkage_record as record
            inner join int_person_link as link using (unique_id)
            where record.address_key is not null
        ),
        -- GP records: the practice a person is registered with at a postcode, and when
        gp_registration as (
            select
                link.person_key,
                health.postcode,
                health.gp_practice_code,
                name_skeleton(name_std(health.last_name)) as last_name_skeleton,
                min(health.event_date) as period_start,
                max(health.event_date) as period_end
            from stg_health_events as health
            inner join int_person_link as link
                on link.registration_id = 'health_events:' || health.source_person_id
            where health.postcode is not null and health.gp_practice_code is not null
            group by all
        ),
        postcode_only as (
            select * from gp_registration
            where person_key not in (select person_key from address_known)
        ),
        household_member as (
            select gp_registration.*, household_groups.group_root
            from gp_registration
            inner join household_groups using (person_key)
            where person_key in (select person_key from address_known)
        ),
        candidates as (
            select
                postcode_only.person_key as person_a,
                household_member.person_key as person_b,
                household_member.group_root,
                postcode_only.postcode,
                postcode_only.period_start,
                postcode_only.period_end,
                household_member.period_start as member_start,
                household_member.period_end as member_end
            from postcode_only
            inner join household_member
                on household_member.postcode = postcode_only.postcode
                and household_member.gp_practice_code = postcode_only.gp_practice_code
                and household_member.last_name_skeleton = postcode_only.last_name_skeleton
            where postcode_only.period_start
                    <= household_member.period_end + to_days($tolerance_days)
              and household_member.period_start
                    <= postcode_only.period_end + to_days($tolerance_days)
        ),
        unambiguous as (
            select person_a from candidates group by person_a
            having count(distinct group_root) = 1
        )
        select
            least(candidates.person_a, candidates.person_b) as person_a,
            greatest(candidates.person_a, candidates.person_b) as person_b,
            'same surname, postcode and GP practice' as evidence,
            candidates.postcode as detail,
            'health_events' as sources,
            greatest(candidates.period_start, candidates.member_start) as valid_from,
            least(candidates.period_end, candidates.member_end) as valid_to
        from candidates
        inner join unambiguous using (person_a)
        qualify row_number() over (
            partition by candidates.person_a order by candidates.person_b
        ) = 1
    """


def build_families(con: duckdb.DuckDBPyConnection) -> None:
    family = linkage_settings()["family"]
    _create_dwellings(con, family)
    con.execute(
        f"create or replace temp table family_edge as {_edges_sql()}",
        {"ignore_relationships": family["ignore_relationships"]},
    )

    # Persons numbered 0..n-1, so that families are connected components of the edges.
    con.execute(
        "create or replace temp table family_person as"
        " select person_key, row_number() over (order by person_key) - 1 as node"
        " from (select distinct person_key from int_person_link)"
    )
    persons = con.execute("select person_key from family_person order by node").fetchnumpy()[
        "person_key"
    ]

    def groups() -> np.ndarray:
        edges = con.execute(
            """
            select person_a.node as node_a, person_b.node as node_b
            from (select distinct person_a, person_b from family_edge) as edge
            inner join family_person as person_a on person_a.person_key = edge.person_a
            inner join family_person as person_b on person_b.person_key = edge.person_b
            """
        ).fetchnumpy()
        return connected_groups(len(persons), np.column_stack([edges["node_a"], edges["node_b"]]))

    group_root = groups()
    if family["join_by_gp_practice_postcode_and_surname"]:
        # Second pass: people known only from GP records without an address join the one
        # household at their postcode registered with the same practice under the same surname
        # at the same time, when exactly one does.
        con.register(
            "household_groups", pa.table({"person_key": persons, "group_root": group_root})
        )
        con.execute(
            f"insert into family_edge {_postcode_surname_edges_sql()}",
            # GP records are one-day records: two within reach of each other
            {"tolerance_days": 2 * family["one_day_reach_days"]},
        )
        con.unregister("household_groups")
        group_root = groups()
    con.register("family_groups", pa.table({"person_key": persons, "group_root": group_root}))
    con.execute(
        """
        create or replace table int_family_link as
        with keyed as (
            select group_root, 'FK-' || left(md5(min(person_key)), 12) as family_key
            from family_groups group by group_root
        )
        select family_groups.person_key, keyed.family_key
        from family_groups inner join keyed using (group_root)
        """
    )
    con.unregister("family_groups")
    con.execute(
        """
        create or replace table int_family_link_evidence as
        select link.family_key, edge.person_a as person_key, edge.person_b as other_person_key,
               edge.evidence, edge.detail, edge.sources, edge.valid_from, edge.valid_to
        from family_edge as edge
        inner join int_family_link as link on link.person_key = edge.person_a
        union all
        select link.family_key, edge.person_b, edge.person_a,
               edge.evidence, edge.detail, edge.sources, edge.valid_from, edge.valid_to
        from family_edge as edge
        inner join int_family_link as link on link.person_key = edge.person_b
        """
    )
    con.execute(
        "create or replace table int_family_link_communal as"
        " select dwelling, people, surnames from family_dwelling where communal"
    )
