"""Linkage on hand-made records: titles, initials, second given names and swapped names compared
as such; twins and parent-child namesakes kept apart on their own evidence, with no system holding
both; placeholder postcodes and addresses never a dwelling; flats however written one dwelling;
people without an address placed in their family through their other records and recorded
relationships.

The records go through the real standardisation (int_linkage_record's SQL) and the real guards,
clustering and writers; only Splink's scores are given, as the probability it would give a pair
that agrees on everything but the field in question."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest

from data_model.linkage import linkage_settings
from data_model.linkage.clustering import one_slip_apart
from data_model.linkage.families import build_families
from data_model.linkage.link import (
    cluster_persons,
    keep_scored_pairs,
    namesake_span_days,
    twin_guard_pairs,
)
from data_model.linkage.prediction import LinkageRun
from data_model.linkage.settings import create_linkage_reference_tables, street_type_rows
from data_model.linkage.writers import write_person_link, write_review_pairs
from data_model.runner import create_macros, discover_models, render

PERSON = linkage_settings()["person"]
SIMILARITY = PERSON["twin_guard"]["first_name_similarity_below"]
HOME = ("Flat 2, 10 High Street, Heaton, Bradford", "BD9 4AA")
COLUMNS = ("source", "person_id", "first_name", "last_name", "dob", "address", "postcode", "sex")


def linkage_records(rows: list[tuple], shared_ids: dict[int, str] | None = None):
    """A connection holding int_person_record (the rows: source, person id, first name, last
    name, date of birth, address, postcode, and optionally sex, U if not given) and
    int_linkage_record made from it by the model's SQL, one linkage record per row in the order
    given (unique_id 1, 2, ...)."""
    con = duckdb.connect()
    create_macros(con)
    create_linkage_reference_tables(con)
    con.execute(
        "create table int_person_record (source varchar, source_record_id varchar,"
        " source_person_id varchar, first_name varchar, last_name varchar, dob date, sex varchar,"
        " address varchar, postcode varchar, record_date date, known_from date, known_to date,"
        " shared_id varchar, registration_id varchar, address_known_from date)"
    )
    for i, row in enumerate(rows):
        values = dict(zip(COLUMNS, row if len(row) == len(COLUMNS) else (*row, "U"), strict=True))
        con.execute(
            "insert into int_person_record values (?, ?, ?, ?, ?, ?, ?, ?, ?, date '2019-01-01',"
            " date '2019-01-01', date '2019-06-30', ?, ?, date '2019-01-01')",
            [
                values["source"],
                f"row{i}",
                values["person_id"],
                values["first_name"],
                values["last_name"],
                values["dob"],
                values["sex"],
                values["address"],
                values["postcode"],
                (shared_ids or {}).get(i),
                f"{values['source']}:{values['person_id']}",
            ],
        )
    sql = render(discover_models()["int_linkage_record"].sql)
    con.execute(f"create table int_linkage_record as {sql}")
    # one record per row, numbered in the rows' order (the model numbers by registration)
    con.execute(
        "create or replace table int_linkage_record as select * replace ("
        " cast(substr(source_person_id, 2) as bigint) as unique_id) from int_linkage_record"
    )
    return con


def record(
    i: int,
    source: str,
    first: str,
    last: str = "Smith",
    dob="2010-05-01",
    home=HOME,
    sex: str = "U",
):
    """A row whose person id is `P<i>` (so its linkage record is number i)."""
    address, postcode = home if home else (None, None)
    return (source, f"P{i}", first, last, dob, address, postcode, sex)


def standard(con: duckdb.DuckDBPyConnection, column: str) -> list:
    query = f"select {column} from int_linkage_record order by unique_id"
    return [value for (value,) in con.execute(query).fetchall()]


# --- Names ---------------------------------------------------------------------------------------


def test_titles_go_and_a_surname_repeated_in_the_forename_is_the_surname():
    con = linkage_records(
        [
            record(1, "housing_tenancies", "Mrs Jane", "Smith"),
            record(2, "police_incidents", "Master Adam", "MR SMITH"),
            record(3, "health_events", "KHAN Mohammed", "Khan"),
            record(4, "dwp_spells", "Miss", "Jones"),
            record(5, "school_census", "Dr. Priya Kaur", "Sandhu"),
            record(6, "school_census", "Ali", "Ali"),  # one name in both fields stays
        ]
    )
    assert standard(con, "first_name_std") == [
        "JANE",
        "ADAM",
        "MOHAMMED",
        None,
        "PRIYA KAUR",
        "ALI",
    ]
    assert standard(con, "last_name_std") == ["SMITH", "SMITH", "KHAN", "JONES", "SANDHU", "ALI"]
    assert standard(con, "first_name_tokens")[4] == ["PRIYA", "KAUR"]


# --- Year-only dates of birth --------------------------------------------------------------------


def dob_level(con: duckdb.DuckDBPyConnection, left: int, right: int) -> str:
    """The label of the date-of-birth comparison level two linkage records take."""
    return comparison_level(con, "dob", left, right)


def comparison_level(con: duckdb.DuckDBPyConnection, name: str, left: int, right: int) -> str:
    """The label of the comparison level (of comparison `name`) two linkage records take: the
    first level, most alike first, whose condition (as Splink writes it for DuckDB) holds."""
    from data_model.linkage.comparisons import comparisons

    (comparison,) = [
        c
        for c in comparisons(PERSON)
        if c.create_comparison_dict("duckdb")["output_column_name"] == name
    ]
    levels = comparison.create_comparison_dict("duckdb")["comparison_levels"]
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns"
            " where table_name = 'int_linkage_record'"
        ).fetchall()
    ]
    sides = ", ".join(f"l.{c} as {c}_l, r.{c} as {c}_r" for c in columns)
    for level in levels:
        condition = level["sql_condition"]
        if condition == "ELSE":
            return level["label_for_charts"]
        holds = con.execute(
            f"select ({condition}) from (select {sides} from int_linkage_record as l,"
            " int_linkage_record as r where l.unique_id = ? and r.unique_id = ?)",
            [left, right],
        ).fetchone()[0]
        if holds:
            return level["label_for_charts"]
    raise AssertionError("no level held")


def test_a_first_of_january_date_of_birth_is_compared_on_its_year_only():
    """01/01/YYYY is what systems record when only the year is known (linkage.yaml
    standardise.year_only_dates_of_birth): it agrees with any date of its year as a year, and is
    never one day from 31 December or one digit from 01 February."""
    con = linkage_records(
        [
            record(1, "health_events", "Amir", dob="2008-01-01"),
            record(2, "school_census", "Amir", dob="2008-06-14"),
            record(3, "police_incidents", "Amir", dob="2007-12-31"),
            record(4, "housing_tenancies", "Amir", dob="2008-01-02"),
            record(5, "dwp_spells", "Amir", dob="2008-02-01"),
            record(6, "ehm_people", "Amir", dob="2008-01-01"),
            record(7, "csc_episodes", "Amir", dob="2008-06-15"),
        ]
    )
    assert standard(con, "dob_year_only") == [True, False, False, False, False, True, False]
    assert dob_level(con, 1, 2) == "year only, the same year"
    assert dob_level(con, 1, 4) == "year only, the same year"  # not "one day apart"
    assert dob_level(con, 1, 5) == "year only, the same year"  # not "one digit mistyped"
    assert dob_level(con, 1, 3) == "year only, another year"  # not "one day apart"
    assert dob_level(con, 1, 6) == "year only, the same year"  # two placeholders: not "exact"
    # real dates are compared as before
    assert dob_level(con, 2, 7) == "one day apart"
    assert dob_level(con, 3, 4) == "within a year"


# --- Twins ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_a", "first_b", "twins"),
    [
        ("Martin", "Damian", True),
        ("Jaspreet", "Manpreet", True),
        ("Hamza", "Bilal", True),
        ("Aisha", "Ayesha", False),  # spelling variants of one name
        ("Mohammed", "Muhammad", False),  # one consonant skeleton
        ("William", "Bill", False),  # nickname
        ("Nicola", "Nicky", False),
        ("Jonathan", "Jonathon", False),  # typo
        ("Ali", "Ari", False),  # one edit
        ("J", "John", False),  # initial
        ("J.", "John", False),
        ("Mary Jane", "Mary", False),  # a second given name
        ("Mary Jane", "Jane", False),
        ("Nisha Diya", "Bisha", False),  # a second given name and a typo
        ("Chris", "Christopher", False),  # short form
        ("Mr John", "John", False),  # title
        ("Yasmin", "Yasmeen", False),  # a transliteration: one skeleton of two consonants
        ("Zoe", "Zie", False),  # one letter mistyped
        ("Lee-Anne", "Leann", False),  # one name with and without its hyphen
        ("Muhammad Zakariya", "Zakariyya", False),  # a second given name the other's, mistyped
        ("Hasan", "Hassan", False),  # one name's spellings
        # one consonant is too short a skeleton to call a transliteration: the vowels are the name
        ("Ella", "Ellie", True),
        ("Mia", "Maya", True),
        # names name_variants.yaml lists in no common group, however alike their letters
        ("Hassan", "Hussain", True),
        ("Jack", "Jake", True),
        ("Oliver", "Olivia", True),
        # names given in their own right are in no other name's group
        ("Anna", "Hannah", True),
        ("Amy", "Mia", True),
        # known by a second name the other system never recorded: twins, as far as any record
        # shows (an analyst decides)
        ("Yusuf", "Mohammad", True),
    ],
)
def test_the_twin_rule_knows_different_names_from_one_name_written_differently(
    first_a, first_b, twins
):
    # two systems, one record each: no system holds both
    con = linkage_records(
        [record(1, "school_census", first_a), record(2, "police_incidents", first_b)]
    )
    apart, siblings = twin_guard_pairs(con, SIMILARITY)
    assert (apart.tolist() == [[0, 1]]) is twins
    assert siblings.tolist() == []


def test_swapped_names_and_other_birthdays_or_homes_are_not_twins():
    con = linkage_records(
        [
            record(1, "school_census", "Martin", "Smith"),
            record(2, "police_incidents", "Smith", "Martin"),  # forename and surname swapped
            record(3, "health_events", "Damian", dob="2011-05-01"),  # another birthday
            record(4, "health_events", "Daniel", home=("22 Low Lane, Heaton", "BD9 4ZZ")),
        ]
    )
    apart, siblings = twin_guard_pairs(con, SIMILARITY)
    assert apart.tolist() == [] and siblings.tolist() == []


def test_a_home_without_an_address_is_its_postcode_and_a_postcode_alone_needs_a_system():
    con = linkage_records(
        [
            record(1, "school_census", "Martin"),
            record(2, "health_events", "Damian", home=(None, HOME[1])),  # postcode only: one home
            record(3, "police_incidents", "Daniel", home=("99 Other Road", HOME[1])),
        ]
    )
    apart, siblings = twin_guard_pairs(con, SIMILARITY)
    assert apart.tolist() == [[0, 1], [1, 2]]
    # another address at the postcode, the surname shared: kept apart where a system holds both
    assert siblings.tolist() == [[0, 2]]


def test_short_names_are_compared_by_their_letters_not_a_one_consonant_skeleton():
    con = linkage_records(
        [
            record(1, "school_census", "Mia"),
            record(2, "police_incidents", "Maya"),
            record(3, "health_events", "Zoe"),
            record(4, "dwp_spells", "Zie"),
            record(5, "housing_tenancies", "Yasmin"),
            record(6, "ehm_people", "Yasmeen"),
            record(7, "csc_episodes", "J"),
            record(8, "csc_episodes", "K"),
        ]
    )
    assert standard(con, "first_name_skeleton")[:2] == ["M", "M"]
    assert standard(con, "first_name_transliteration_key")[:2] == [None, None]
    assert comparison_level(con, "first_name", 1, 2) == "different"
    assert comparison_level(con, "first_name", 3, 4) == "one letter apart"
    assert comparison_level(con, "first_name", 5, 6) == "same consonant skeleton"
    assert comparison_level(con, "first_name", 7, 8) == "different"  # two initials


def twins_and_siblings(rows: list[tuple], postcode_and_surname: bool = False):
    """The twin guard's pairs (as lists of record-number pairs, 1-based) of the given rows."""
    con = linkage_records(rows)
    apart, siblings = twin_guard_pairs(con, SIMILARITY, postcode_and_surname)
    return (apart + 1).tolist(), (siblings + 1).tolist()


@pytest.mark.parametrize(
    ("address_a", "address_b"),
    [
        ("Flat No 1, 14 Ladywell Vw", "Flat 1, 14 Ladywell View, Calderbrook"),
        ("21 Warley Vw Flat 4 Edgecliffe", "Flat 4 21 Warley View, Edgecliffe"),
        ("9 Mill Wlk, Heaton", "9 MILL WALK"),
        ("3 Brook Gdns", "3 Brook Gardens, Heaton"),
        ("12 Oak Cres", "12 Oak Crescent"),
    ],
)
def test_twins_are_kept_apart_however_their_street_is_abbreviated(address_a, address_b):
    apart, siblings = twins_and_siblings(
        [
            record(1, "school_census", "Umar", home=(address_a, "BD5 5UT")),
            record(2, "health_events", "Kashif", home=(address_b, "BD5 5UT")),
        ]
    )
    assert apart == [[1, 2]] and siblings == []


@pytest.fixture(scope="module")
def street_key():
    """The dwelling key of an address, with the street types of street_types.yaml."""
    con = duckdb.connect()
    create_macros(con)
    create_linkage_reference_tables(con)
    con.execute(
        "create table street_types as select map_from_entries(list((word, street_type)))"
        " as street_types from cfg_street_type"
    )

    class StreetKey:
        def __call__(self, address: str) -> str:
            return self.keys([address])[0]

        def keys(self, addresses: list[str]) -> list[str]:
            return [
                key
                for (key,) in con.execute(
                    "select address_key(address, street_types) from street_types,"
                    " unnest(?::varchar[]) with ordinality as given(address, position)"
                    " order by position",
                    [addresses],
                ).fetchall()
            ]

    return StreetKey()


def test_every_street_type_abbreviation_is_written_out(street_key):
    cases = [
        case
        for word, street_type in street_type_rows()
        for case in (
            (f"7 Long {word.title()}, Heaton", f"7 LONG {street_type}"),
            (f"Flat 2 7 Long {word} Heaton", f"2 7 LONG {street_type}"),
        )
    ]
    keys = street_key.keys([address for address, _ in cases])
    wrong = [
        (address, key)
        for (address, expected), key in zip(cases, keys, strict=True)
        if key != expected
    ]
    assert len(cases) > 200 and wrong == []


def test_a_street_is_named_before_its_type(street_key):
    # "St" after the house number is a saint, not a street; a locality after the type goes
    assert street_key("14 St Marys Rd Heaton") == "14 ST MARYS ROAD"
    assert street_key("14 Park Vw Rd") == "14 PARK VIEW ROAD"
    assert street_key("Shuttle House, Broad Rd") == "SHUTTLE HOUSE"


def test_an_abbreviation_for_two_street_types_is_an_error(tmp_path):
    types = tmp_path / "street_types.yaml"
    types.write_text("fold: [fld]\nfield: [fld]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="FLD is given for both FOLD and FIELD"):
        street_type_rows(types)


def test_the_same_building_with_the_flat_left_out_is_one_home():
    apart, siblings = twins_and_siblings(
        [
            record(1, "school_census", "Chelsea", "Mitchell", home=("20 Carr Avenue", "BD10 5JP")),
            record(
                2, "health_events", "Jade", "Mutchell", home=("Flat 4, 20 Carr Ave", "BD10 5JP")
            ),
            # another flat of the building: a neighbour's, or a sibling's
            record(
                3,
                "police_incidents",
                "Kelly",
                "Mitchell",
                home=("Flat 3 20 Carr Avenue", "BD10 5JP"),
            ),
            # the building in another postcode is another building
            record(4, "dwp_spells", "Leah", "Mitchell", home=("Flat 5 20 Carr Ave", "BD11 1AA")),
        ]
    )
    assert apart == [[1, 2], [1, 3]]
    assert siblings == [[2, 3]]  # the surname shared: kept apart where a system holds both


def test_a_postcode_and_surname_shared_are_a_home_where_the_setting_says_so():
    rows = [
        record(1, "school_census", "Martin", home=("Flat 15 Mercer Court, Larkspur Rd", "BD8 8XT")),
        record(
            2, "health_events", "Damian", home=("Flat 15 Mercer Court Larkspur Road", "BD8 8XT")
        ),
        record(3, "police_incidents", "Daniel", "Jones", home=("40 Larkspur Road", "BD8 8XT")),
    ]
    assert twins_and_siblings(rows, postcode_and_surname=False) == ([], [[1, 2]])
    assert twins_and_siblings(rows, postcode_and_surname=True) == ([[1, 2]], [])
    assert PERSON["twin_guard"]["postcode_and_surname_is_home"] is False


def test_a_boy_and_a_girl_born_together_at_one_home_are_twins_whatever_their_names():
    apart, _ = twins_and_siblings(
        [
            record(1, "school_census", "Daniel", sex="M"),
            record(2, "health_events", "Danielle", sex="F"),
            record(3, "school_census", "Amir", dob="2011-01-01", sex="M"),
            record(4, "health_events", "Amira", dob="2011-01-01", sex="F"),
            record(5, "school_census", "Ali", dob="2012-02-02", sex="M"),
            record(6, "police_incidents", "Aliya", dob="2012-02-02", sex="F"),
            record(7, "school_census", "Oliver", dob="2013-03-03", sex="M"),
            record(8, "dwp_spells", "Olivia", dob="2013-03-03", sex="U"),  # by the names alone
        ]
    )
    assert apart == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_a_sex_keyed_wrongly_makes_no_twins():
    apart, _ = twins_and_siblings(
        [
            # the sex not recorded on one side
            record(1, "school_census", "Daniel", sex="M"),
            record(2, "health_events", "Danielle", sex="U"),
            # one name, two sexes: one child
            record(3, "school_census", "Tracey", dob="2011-01-01", sex="F"),
            record(4, "health_events", "Tracey", dob="2011-01-01", sex="M"),
            # forename and surname swapped
            record(5, "school_census", "Anthony", "Booth", dob="2013-03-03", sex="M"),
            record(6, "health_events", "Booth", "Anthony", dob="2013-03-03", sex="F"),
        ]
    )
    assert apart == []


def test_a_registration_recording_both_sexes_makes_no_twins():
    # The school recorded Agnieszka as a girl and, once, as a boy; her GP calls her Aga.
    con = linkage_records(
        [
            record(1, "school_census", "Agnieszka", sex="F"),
            record(1, "school_census", "Agnieszka", sex="M"),
            record(2, "health_events", "Aga", sex="F"),
        ]
    )
    # (one registration, two records: numbered by sex here, F first)
    con.execute(
        "create or replace table int_linkage_record as select * replace ("
        " row_number() over (order by unique_id, sex) as unique_id) from int_linkage_record"
    )
    assert standard(con, "sex") == ["F", "M", "F"]
    apart, siblings = twin_guard_pairs(con, SIMILARITY, False)
    assert apart.tolist() == [] and siblings.tolist() == []
    # the same records in two registrations are a boy and a girl
    con.execute("update int_linkage_record set registration_id = 'other' where unique_id = 2")
    apart, _ = twin_guard_pairs(con, SIMILARITY, False)
    assert apart.tolist() == [[1, 2]]


def test_a_boy_and_a_girl_are_offered_for_review_as_such():
    con = linkage_records(
        [
            record(1, "school_census", "Daniel", sex="M"),
            record(2, "health_events", "Danielle", sex="F"),
        ]
    )
    roots = cluster(con, [(0, 1, 0.9999)])
    assert roots[0] != roots[1]
    assert queue(con) == [(0, 1, "same date of birth and home, a boy and a girl")]


def cluster(con, scored, accepted=(), rejected=()):
    """Cluster the hand-made records as link_persons does, from the given scored pairs (node_l,
    node_r, probability): the guards from the records, the settings' thresholds and spans; then
    write int_person_link and the review pairs. Returns each record's group root."""
    con.execute(
        "create or replace table given_predictions (unique_id_l bigint, unique_id_r bigint,"
        " match_probability double, match_weight double, mw_first_name double,"
        " mw_tf_adj_first_name double, mw_last_name double, mw_tf_adj_last_name double,"
        " mw_dob double, mw_location double, mw_sex double)"
    )
    for a, b, probability in scored:
        weight = float(np.log2(probability / (1 - probability)))
        con.execute(
            "insert into given_predictions values (?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0)",
            [a + 1, b + 1, probability, weight],
        )
    keep_scored_pairs(con, "given_predictions")
    roots, joined_by = cluster_persons(
        con, PERSON, list(accepted), list(rejected), [], LinkageRun()
    )
    write_person_link(con, roots, joined_by)
    write_review_pairs(
        con,
        "given_predictions",
        PERSON["review_from"],
        [],
        PERSON["one_person_identifiers"],
        namesake_span_days(PERSON),
    )
    return roots.tolist()


def queue(con) -> list[tuple]:
    return con.execute(
        "select unique_id_l - 1, unique_id_r - 1, review_reason from int_person_link_pair"
        " where person_key_l <> person_key_r order by 1, 2"
    ).fetchall()


def test_twins_no_system_holds_apart_are_never_linked_and_go_to_review():
    # Martin at school, Damian in a police record: scored as one person (all but the first name
    # agree). A health record without a first name scores as high with both: it could be either
    # twin, so it joins neither and waits for a reviewer; one with Martin's name is his.
    con = linkage_records(
        [
            record(1, "school_census", "Martin"),
            record(2, "police_incidents", "Damian"),
            record(3, "health_events", None),
            record(4, "housing_tenancies", "Martin"),
        ]
    )
    # (the same first name is worth some 13 bits more than a different one)
    roots = cluster(
        con, [(0, 1, 0.9995), (0, 2, 0.999), (1, 2, 0.998), (0, 3, 0.9999999), (1, 3, 0.9995)]
    )
    assert roots[0] != roots[1]
    assert roots[2] not in (roots[0], roots[1])
    assert roots[3] == roots[0]
    offered = queue(con)
    assert (0, 1, "same date of birth and home, different first names") in offered
    assert {(0, 2), (1, 2)} <= {(a, b) for a, b, _ in offered}


def test_one_child_written_differently_in_two_systems_is_one_person():
    con = linkage_records(
        [
            record(1, "school_census", "Mary Jane"),
            record(2, "police_incidents", "Mrs Mary"),
            record(3, "health_events", "M."),
            record(4, "housing_tenancies", "Smith", "Mary"),
        ]
    )
    roots = cluster(con, [(0, 1, 0.999), (1, 2, 0.999), (2, 3, 0.995)])
    assert len(set(roots)) == 1
    assert queue(con) == []


def test_a_record_as_likely_any_of_several_joins_the_same_way_whatever_order_its_pairs_came_in():
    # Hira and Hora are twins (two names); Hiea is Hira mistyped, Hira one letter from Hora too;
    # an initial "H" scores the same with all three. Which partner counts as its strongest must
    # not depend on the order the scoring engine (DuckDB or Spark) returned the pairs in.
    con = linkage_records(
        [
            record(1, "health_events", "Hiea", sex="F"),
            record(2, "police_incidents", "Hora", sex="F"),
            record(3, "school_census", "Hira", sex="F"),
            record(4, "dwp_spells", "H", home=(None, HOME[1])),
        ]
    )
    pairs = [(0, 1, 0.998), (0, 2, 0.9999999), (1, 2, 0.999999), (3, 0, 0.999996)]
    pairs += [(3, 1, 0.999996), (3, 2, 0.999996)]
    roots = [cluster(con, order) for order in (pairs, pairs[::-1], pairs[3:] + pairs[:3])]
    assert roots[0] == roots[1] == roots[2]
    assert roots[0][0] != roots[0][1]  # the twins


def test_a_parent_and_child_of_one_name_are_never_linked_even_through_a_record_without_a_birthday():
    con = linkage_records(
        [
            record(1, "health_events", "Mohammed", "Khan", dob="1976-03-12"),
            record(2, "school_census", "Mohammed", "Khan", dob="2003-07-25"),
            record(3, "police_incidents", "Mohammed", "Khan", dob=None),
        ]
    )
    roots = cluster(con, [(0, 1, 0.995), (0, 2, 0.999), (1, 2, 0.998)])
    assert roots[0] != roots[1]
    assert (0, 1, "one name, dates of birth years apart") in queue(con)


def test_a_record_that_could_be_the_parent_or_the_child_joins_neither():
    # A tenancy without a date of birth scores as high with the father as with the son of one
    # name: it is no likelier one than the other, so it waits for a reviewer. A police record
    # with the son's date of birth is his.
    con = linkage_records(
        [
            record(1, "health_events", "Oliver", "Wilson", dob="1976-03-12"),
            record(2, "school_census", "Oliver", "Wilson", dob="2007-03-03"),
            record(3, "housing_tenancies", "Oliver", "WILSON", dob=None),
            record(4, "police_incidents", "Oliver", "Wilson", dob="2007-03-03"),
        ]
    )
    roots = cluster(con, [(0, 2, 0.999), (1, 2, 0.999), (1, 3, 0.99999), (0, 3, 0.99)])
    assert roots[2] not in (roots[0], roots[1])
    assert roots[3] == roots[1] != roots[0]
    offered = {(a, b) for a, b, _ in queue(con)}
    assert {(0, 2), (1, 2)} <= offered


def test_a_year_keyed_one_digit_wrong_is_not_a_namesake():
    def days(text: str) -> int:
        return (dt.date.fromisoformat(text) - dt.date(1900, 1, 1)).days

    assert one_slip_apart(days("1976-03-12"), days("1986-03-12"))  # one digit
    assert one_slip_apart(days("1976-03-12"), days("1967-03-12"))  # two neighbours swapped
    assert not one_slip_apart(days("1976-03-12"), days("2003-07-25"))
    con = linkage_records(
        [
            record(1, "health_events", "Mohammed", "Khan", dob="1976-03-12"),
            record(2, "police_incidents", "Mohammed", "Khan", dob="1986-03-12"),
        ]
    )
    assert len(set(cluster(con, [(0, 1, 0.999)]))) == 1


def test_an_analysts_same_person_answers_the_guard_for_those_names_and_no_others():
    # Martin (school) and Damian / Damien (police, health) are one child, as an analyst accepted;
    # Daniel, the real twin, stays apart from all of them.
    con = linkage_records(
        [
            record(1, "school_census", "Martin"),
            record(2, "police_incidents", "Damian"),
            record(3, "health_events", "Damien"),
            record(4, "school_census", "Daniel"),
        ]
    )
    scored = [(0, 2, 0.999), (1, 2, 0.9995), (0, 3, 0.999), (2, 3, 0.9)]
    roots = cluster(con, scored, accepted=[(0, 1)])
    assert roots[0] == roots[1] == roots[2] != roots[3]


# --- Dwellings and families ---------------------------------------------------------------------


@pytest.mark.parametrize("postcode", ["NOT KNOWN", "N/K", "unknown", "ZZ99 3WZ", "zz993vz", "NFA"])
def test_a_placeholder_postcode_is_missing(postcode):
    con = linkage_records([record(1, "police_incidents", "Martin", home=("Not Known", postcode))])
    assert standard(con, "postcode") == [None]
    assert standard(con, "address_key") == [None]


def families(con, persons: dict[int, str], relationships=()) -> dict[str, str]:
    """Build families over the hand-made records: `persons` maps record number to person key;
    `relationships` are (EHM person id, related EHM person id, relationship)."""
    con.execute("create or replace table person_of (unique_id bigint, person_key varchar)")
    con.executemany("insert into person_of values (?, ?)", list(persons.items()))
    con.execute(
        "create or replace table int_person_link as select record.unique_id,"
        " record.registration_id, person_of.person_key, 1.0 as match_probability"
        " from int_linkage_record as record inner join person_of using (unique_id)"
    )
    con.execute(
        "create or replace table stg_ehm_relationships (person_id varchar,"
        " related_person_id varchar, relationship varchar, start_date date, end_date date)"
    )
    for relationship in relationships:
        con.execute("insert into stg_ehm_relationships values (?, ?, ?, null, null)", relationship)
    con.execute(
        "create or replace table stg_ehm_people (case_id varchar, source_person_id varchar,"
        " record_date date)"
    )
    build_families(con)
    return dict(con.execute("select person_key, family_key from int_family_link").fetchall())


def test_a_flat_written_any_way_is_one_dwelling_and_one_family():
    ways = [
        "Flat 2, 10 High Street, Heaton",
        "2/10 High St, Heaton",
        "Flat 2 10 High St",
        "2, 10 High Street",
        "Flat No 2, 10 High Street",
        "10 HIGH STREET FLAT 2",
    ]
    con = linkage_records(
        [
            record(i, "school_census", f"Child{i}", home=(way, "BD9 4AA"))
            for i, way in enumerate(ways, 1)
        ]
        + [record(7, "school_census", "Other", home=("Flat 3, 10 High Street", "BD9 4AA"))]
    )
    family = families(con, {i: f"P{i}" for i in range(1, 8)})
    assert len({family[f"P{i}"] for i in range(1, 7)}) == 1
    assert family["P7"] != family["P1"]  # the flat upstairs is another dwelling


def test_placeholder_postcodes_never_make_a_dwelling_or_a_communal_one():
    # Twenty unrelated people whose address and postcode were "not known": no one family, and no
    # communal dwelling named NOT KNOWN.
    con = linkage_records(
        [
            record(
                i, "police_incidents", f"Name{i}", f"Surname{i}", home=("Not known", "NOT KNOWN")
            )
            for i in range(1, 21)
        ]
    )
    family = families(con, {i: f"P{i:02d}" for i in range(1, 21)})
    assert len(set(family.values())) == 20
    assert con.execute("select count(*) from int_family_link_communal").fetchall()[0][0] == 0


def test_people_without_an_address_join_through_their_other_records_and_relationships():
    con = linkage_records(
        [
            record(1, "school_census", "Adam", dob="2010-01-01"),  # the child, at home
            record(2, "school_census", "Jane", dob="1985-02-02"),  # mother's school-run record
            record(3, "dwp_spells", "Jane", dob="1985-02-02", home=None),  # her claim: no address
            record(4, "dwp_spells", "Paul", dob="1983-03-03", home=None),  # father: DWP only
            record(5, "ehm_people", "Paul", dob="1983-03-03", home=None),  # and case management
            record(6, "ehm_people", "Adam", dob="2010-01-01", home=None),
            record(7, "dwp_spells", "Lone", "Other", home=None),  # no address, no relationship
        ]
    )
    family = families(
        con,
        {1: "ADAM", 2: "JANE", 3: "JANE", 4: "PAUL", 5: "PAUL", 6: "ADAM", 7: "LONE"},
        relationships=[("P6", "P5", "Father")],
    )
    assert family["JANE"] == family["ADAM"]  # through her other record
    assert family["PAUL"] == family["ADAM"]  # through the recorded relationship
    assert family["LONE"] not in {family["ADAM"]}


def dated_records(rows: list[tuple], dates: dict[int, tuple]) -> duckdb.DuckDBPyConnection:
    """linkage_records, with each row's dates given: record number → (known_from, known_to) for
    a period or a one-day record, or (known_from, known_to, address_known_from) where the row
    shows where the person lives from another day (an open GP registration: the data share's)."""
    con = linkage_records(rows)
    for i, (known_from, known_to, *address_from) in dates.items():
        con.execute(
            "update int_person_record set known_from = ?::date, known_to = ?::date,"
            " address_known_from = ?::date where source_person_id = ?",
            [known_from, known_to, (address_from or [known_from])[0], f"P{i}"],
        )
    sql = render(discover_models()["int_linkage_record"].sql)
    con.execute(f"create or replace table int_linkage_record as {sql}")
    con.execute(
        "create or replace table int_linkage_record as select * replace ("
        " cast(substr(source_person_id, 2) as bigint) as unique_id) from int_linkage_record"
    )
    return con


def test_a_record_of_a_building_alone_joins_no_flat_unless_its_surname_names_one():
    block = "51 Nether Close, Wyke End"
    con = linkage_records(
        [
            record(1, "school_census", "Amy", "Khan", home=("Flat 1, " + block, "BD5 7XB")),
            record(2, "health_events", "Sara", "Khan", home=("1/51 Nether Cl", "BD5 7XB")),
            record(3, "school_census", "Ben", "Walsh", home=("Flat 2 " + block, "BD5 7XB")),
            record(4, "health_events", "Tom", "Walsh", home=("Flat 2, 51 Nether Cl", "BD5 7XB")),
            # the building alone: Omar's surname names flat 1; Lee's and Ivy's name no flat
            record(5, "health_events", "Omar", "Khan", home=(block, "BD5 7XB")),
            record(6, "health_events", "Lee", "Brook", home=(block, "BD5 7XB")),
            record(7, "police_incidents", "Ivy", "Moss", home=("51 NETHER CLOSE", "BD5 7XB")),
            # a house next door whose records never name a flat is one dwelling
            record(8, "school_census", "Kit", "Hall", home=("53 Nether Close", "BD5 7XB")),
            record(9, "health_events", "Jo", "Hall", home=("53 Nether Cl", "BD5 7XB")),
            # one stray "flat" at a house does not unseat the household recorded at the house
            record(10, "school_census", "Ann", "Shaw", home=("55 Nether Close", "BD5 7XB")),
            record(11, "health_events", "Rob", "Shaw", home=("55 Nether Close", "BD5 7XB")),
            record(12, "police_incidents", "Rob", "Shaw", home=("2, 55 Nether Cl", "BD5 7XB")),
            # a building whose flats no record names is one dwelling
            record(13, "school_census", "Eve", "Dale", home=("Wharf House, Mill Lane", "BD5 7XB")),
            record(14, "health_events", "Max", "Dale", home=("WHARF HOUSE", "BD5 7XB")),
        ]
    )
    family = families(con, {i: f"P{i:02d}" for i in range(1, 15)} | {12: "P11"})
    assert family["P01"] == family["P02"] == family["P05"]  # Omar is placed in flat 1
    assert family["P03"] == family["P04"] != family["P01"]  # flats 1 and 2 stay apart
    assert len({family["P06"], family["P07"], family["P01"], family["P03"]}) == 4
    assert family["P08"] == family["P09"]
    assert family["P10"] == family["P11"]
    assert family["P13"] == family["P14"]


def test_one_household_moving_out_and_the_next_moving_in_weeks_later_are_two_families():
    home = ("28 Mill Road", "BD4 9UU")
    con = dated_records(
        [
            record(1, "housing_tenancies", "Dawn", "Hirst", dob="1980-01-01", home=home),
            record(2, "school_census", "Kyle", "Hirst", dob="2008-01-01", home=home),
            record(3, "housing_tenancies", "Asha", "Begum", dob="1985-01-01", home=home),
            # the incoming child's GP registration dates from years before the move: the
            # practice updated the address, so it counts on the day of the data share
            record(4, "health_events", "Adam", "Ali", dob="2009-01-01", home=home),
            record(5, "school_census", "Zara", "Ali", dob="2011-01-01", home=home),
        ],
        {
            1: ("2012-03-01", "2019-10-19"),  # tenancy ended
            2: ("2019-05-16", "2019-05-16"),  # the summer census before the move
            3: ("2019-11-01", "2020-03-27"),  # re-let 13 days later
            4: ("2009-05-01", "2020-03-31", "2020-03-31"),
            5: ("2020-01-16", "2020-01-16"),
        },
    )
    family = families(con, {i: f"P{i}" for i in range(1, 6)})
    assert family["P1"] == family["P2"]
    assert family["P3"] == family["P4"] == family["P5"]
    assert family["P1"] != family["P3"]


def test_a_household_whose_members_records_leave_gaps_is_one_family():
    home = ("14 Oak Road", "BD8 7QX")
    con = dated_records(
        [
            record(1, "housing_tenancies", "Jane", "Cole", dob="1985-02-02", home=home),
            record(2, "school_census", "Adam", "Cole", dob="2010-01-01", home=home),
            record(3, "police_incidents", "Paul", "Reid", dob="1983-03-03", home=home),
            record(4, "health_events", "Lily", "Reid", dob="2019-06-01", home=home),
            record(5, "health_events", "Rose", "Cole", dob="1950-04-04", home=home),
            record(6, "ehm_people", "Sam", "Reid", dob="2012-01-01", home=home),
        ],
        {
            1: ("2016-01-10", "2020-03-27"),  # the tenancy
            2: ("2018-10-04", "2018-10-04"),  # one census day, inside it
            3: ("2015-12-01", "2015-12-01"),  # an incident 40 days before the tenancy began
            4: ("2019-06-05", "2020-03-31", "2020-03-31"),  # an open GP registration
            5: ("2014-02-01", "2014-02-01"),  # an event two years before anything else
            6: ("2015-10-10", "2015-10-10"),  # a case record 52 days before the incident
        },
    )
    family = families(con, {i: f"P{i}" for i in range(1, 7)})
    assert family["P1"] == family["P2"] == family["P3"] == family["P4"] == family["P6"]
    assert family["P5"] != family["P1"]  # nothing places her there within reach of them
    # each piece of evidence runs forwards: the days both were there, or the gap between them
    spans = con.execute(
        "select valid_from, valid_to from int_family_link_evidence"
        " where evidence = 'shared address'"
    ).fetchall()
    assert spans and all(start <= end for start, end in spans)
    assert (dt.date(2015, 10, 10), dt.date(2015, 12, 1)) in spans  # P6 and P3: the gap


def test_a_postcode_or_street_one_slip_out_and_an_address_without_a_postcode_are_one_dwelling():
    con = linkage_records(
        [
            record(1, "school_census", "Amy", "Khan", home=("31 Clough Street", "BD6 3DE")),
            record(2, "health_events", "Sara", "Khan", home=("31 Clough Steret", "BD6 3DE")),
            record(3, "police_incidents", "Omar", "Khan", home=("31 Clough Street", "BD6 3ED")),
            # no postcode: the data holds this address at one postcode only
            record(4, "dwp_spells", "Yusuf", "Khan", home=("31, Clough Steret", None)),
            # the same street and number in another postcode district is another house
            record(5, "school_census", "Ben", "Walsh", home=("31 Clough Street", "BD9 3DE")),
            # and the house next door in the same postcode another dwelling
            record(6, "school_census", "Tom", "Hall", home=("33 Clough Street", "BD6 3DE")),
            # an address without a postcode where the data holds it at two is placed nowhere
            record(7, "school_census", "Ivy", "Moss", home=("2 Mill Lane", "BD6 1AA")),
            record(8, "school_census", "Max", "Dale", home=("2 Mill Lane", "BD7 1AA")),
            record(9, "dwp_spells", "Eve", "Moss", home=("2 Mill Lane", None)),
        ]
    )
    family = families(con, {i: f"P{i}" for i in range(1, 10)})
    assert family["P1"] == family["P2"] == family["P3"] == family["P4"]
    assert len({family["P1"], family["P5"], family["P6"]}) == 3
    assert len({family["P7"], family["P8"], family["P9"]}) == 3
