"""Rows without a name (issue 11, item 1): a row of people is rejected only when nothing says who it
is about (no name and no identifier); a name that stands for "not known" is set aside like a
placeholder date of birth; a nameless row's person exists and joins the same person's named rows
through its system's id and shared identifiers, and person linkage treats the missing name as
unknown, never as a reason to link someone unrelated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from data_model.build import build_model
from loaders.contracts import BY_SOURCE
from loaders.synthetic.generate import generate
from tests.extract_files import write_district
from tests.fixtures_extracts import load_checked, rejects, set_aside, valid, write_csv
from tests.test_build import digest, run_cli

# The person-bearing sources with a valid row in tests/fixtures_extracts.py, and the unique key
# of their i-th row.
KEYS = {
    "ehm_people": lambda i: {"person_id": f"P000000{i}"},
    "school_census": lambda i: {"upn": f"A1234567890{i}B"},
    "police_incidents": lambda i: {"incident_ref": f"I{i}"},
    "dwp_spells": lambda i: {"spell_id": f"S{i}"},
    "housing_tenancies": lambda i: {"tenant_no": str(i + 1)},
    "health_events": lambda i: {"event_id": f"EV{i}"},
    "csc_episodes": lambda i: {"episode_id": f"CSC{i}"},
}


def raw(con: duckdb.DuckDBPyConnection, source: str, columns: str) -> list[tuple]:
    return con.execute(f"select {columns} from raw_{source} order by line").fetchall()


# --- Loading: who a row is about ----------------------------------------------------------------


@pytest.mark.parametrize("source", KEYS)
def test_a_row_is_rejected_only_when_it_has_no_name_and_no_identifier(con, tmp_path, source):
    contract = BY_SOURCE[source]
    names, identifiers = contract.name_fields, contract.identifier_fields
    no_name = {field: "" for field in names}
    changes = [
        # each name part alone is enough
        *({**no_name, field: "Khan"} for field in names),
        no_name,  # no name, but the system's own person id
        {**no_name, **{field: "" for field in identifiers}},  # neither
    ]
    rows = [valid(source, **{**KEYS[source](i), **change}) for i, change in enumerate(changes)]
    write_csv(tmp_path, source, rows)
    result = load_checked(con, tmp_path, source)  # loaded + rejected = read, from the tables
    # the last row's line (a CSC address runs over lines)
    (neither,) = {line for line, *_ in rejects(con, source)}
    assert all(line < neither for (line,) in raw(con, source, "line"))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (
        len(rows),
        len(rows) - 1,
        1,
    )
    loaded_names = raw(con, source, ", ".join(names))
    assert loaded_names[-1] == (None,) * len(names)  # the nameless row, names null
    header = {field: contract.column(field).header for field in (*names, *identifiers)}
    listed = [header[f] for f in (*names, *identifiers)]
    reason = (
        f"no name and no identifier: {', '.join(listed[:-1])} and {listed[-1]} are blank or"
        " stand for not known"
    )
    required = sorted(header[f] for f in identifiers if contract.column(f).required)
    assert rejects(con, source) == sorted(
        [(neither, header[names[0]], "", reason)]
        + [(neither, h, "", f"blank, but {h} is required") for h in required]
    )


def test_police_rows_without_a_name(con, tmp_path) -> None:
    """The whole story for one source, as an analyst reads it in load_rejects."""
    rows = [
        valid("police_incidents", incident_ref="I1", nominal_id="N00000001"),
        valid("police_incidents", incident_ref="I2", nominal_id="N00000001", last_name="",
              first_name=""),
        valid("police_incidents", incident_ref="I3", nominal_id="", last_name="",
              first_name="NOT KNOWN"),
        valid("police_incidents", incident_ref="I4", nominal_id="", last_name="Khan",
              first_name=""),
    ]  # fmt: skip
    write_csv(tmp_path, "police_incidents", rows)
    load_checked(con, tmp_path, "police_incidents")
    assert raw(con, "police_incidents", "incident_ref, nominal_id, last_name, first_name") == [
        ("I1", "N00000001", "O'BRIEN", "Sean"),
        ("I2", "N00000001", None, None),
    ]
    assert rejects(con, "police_incidents") == [
        (4, "NOMINAL_ID", "", "blank, but NOMINAL_ID is required"),
        # a placeholder name is no name
        (4, "SURNAME", "", "no name and no identifier: SURNAME, FORENAMES and NOMINAL_ID are"
         " blank or stand for not known"),
        # a name, but no nominal id: the source cannot do without its person id
        (5, "NOMINAL_ID", "", "blank, but NOMINAL_ID is required"),
    ]  # fmt: skip
    assert set_aside(con, "police_incidents") == []  # only loaded rows have values set aside


def test_a_health_event_without_a_patient_name_loads_on_its_patient_id(con, tmp_path) -> None:
    rows = [
        valid("health_events", event_id="EV1", first_name="", last_name="", nhs_number=""),
        valid("health_events", event_id="EV2", first_name="", last_name="", patient_id="",
              nhs_number="9434765919"),
    ]  # fmt: skip
    write_csv(tmp_path, "health_events", rows)
    load_checked(con, tmp_path, "health_events")
    assert raw(con, "health_events", "event_id, patient_id, first_name, last_name") == [
        ("EV1", "H00000001", None, None)
    ]
    # An NHS number says who, but the data share's own key cannot be done without.
    assert rejects(con, "health_events") == [
        (3, "patient_id", "", "blank, but patient_id is required")
    ]


# --- Names that stand for "not known" -----------------------------------------------------------


def test_placeholder_names_are_set_aside_and_real_names_kept(con, tmp_path) -> None:
    names = [
        ("BABY", "KHAN"),
        ("Baby of", "Khan"),
        (" unborn ", "KHAN"),
        ("Adam", "UNKNOWN"),
        ("NOT KNOWN", "N/K"),
        # real names, or not wholly a placeholder: kept
        ("Baby Jane", "Na"),
        ("Babette", "Unknowles"),
    ]
    rows = [
        valid("health_events", event_id=f"EV{i}", patient_id=f"H0000000{i}", first_name=first,
              last_name=last)
        for i, (first, last) in enumerate(names)
    ]  # fmt: skip
    write_csv(tmp_path, "health_events", rows)
    result = load_checked(con, tmp_path, "health_events")
    assert (result.rows_loaded, result.rows_rejected, result.values_set_aside) == (7, 0, 6)
    assert raw(con, "health_events", "first_name, last_name") == [
        (None, "KHAN"),
        (None, "Khan"),
        (None, "KHAN"),
        ("Adam", None),
        (None, None),  # still loaded: the patient id says who
        ("Baby Jane", "Na"),
        ("Babette", "Unknowles"),
    ]
    assert set_aside(con, "health_events") == [
        (2, "patient_forename", "BABY", "'BABY' stands for not known"),
        (3, "patient_forename", "Baby of", "'Baby of' stands for not known"),
        (4, "patient_forename", " unborn ", "'unborn' stands for not known"),
        (5, "patient_surname", "UNKNOWN", "'UNKNOWN' stands for not known"),
        (6, "patient_forename", "NOT KNOWN", "'NOT KNOWN' stands for not known"),
        (6, "patient_surname", "N/K", "'N/K' stands for not known"),
    ]
    # recorded as a placeholder date of birth is: the file, and nothing loaded in its place
    assert con.execute(
        "select distinct source, file, loaded_as from load_set_aside"
    ).fetchall() == [("health_events", "health_events.csv", None)]


def test_a_tenant_name_that_stands_for_not_known_is_set_aside(con, tmp_path) -> None:
    rows = [
        valid("housing_tenancies", tenant_no="1", tenant_name="UNKNOWN"),
        valid("housing_tenancies", tenant_no="2", tenant_name="KHAN, Baby"),
    ]
    write_csv(tmp_path, "housing_tenancies", rows)
    load_checked(con, tmp_path, "housing_tenancies")
    # the whole value is checked: a part of it is not
    assert raw(con, "housing_tenancies", "tenant_name") == [(None,), ("KHAN, Baby",)]
    assert set_aside(con, "housing_tenancies") == [
        (2, "Tenant Name", "UNKNOWN", "'UNKNOWN' stands for not known")
    ]


def test_a_file_whose_names_are_all_placeholders_stops_the_build(tmp_path: Path) -> None:
    model = tmp_path / "model.duckdb"
    referrals = [valid("ehm_referrals")]
    build_model(write_district(tmp_path / "good", {"ehm_referrals": referrals}), model)
    before = digest(model)
    incidents = [
        valid(
            "police_incidents", incident_ref=f"I{i}", nominal_id=f"N{i:08d}", first_name="UNKNOWN"
        )
        for i in range(20)
    ]
    district = write_district(
        tmp_path / "extracts", {"ehm_referrals": referrals, "police_incidents": incidents}
    )
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: police_incidents.csv: FORENAMES: 20 of 20 values set aside (100.0%, more than"
        " 10%): FORENAMES stands for not known (20)"
    ]
    assert digest(model) == before


# --- The model: a nameless row's person ---------------------------------------------------------


@pytest.fixture(scope="module")
def hand_made_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nameless")
    police = [
        valid("police_incidents", incident_ref="I1", nominal_id="N00000001"),
        # the same nominal, no name
        valid("police_incidents", incident_ref="I2", nominal_id="N00000001", last_name="",
              first_name="", incident_datetime="02/10/2015 10:00"),
        # known only without a name
        valid("police_incidents", incident_ref="I3", nominal_id="N00000002", last_name="",
              first_name="UNKNOWN", dob="05/05/1990", address="9 Mill Lane, Keighley",
              postcode="BD21 3ZZ"),
        # a surname alone
        valid("police_incidents", incident_ref="I4", nominal_id="N00000003", last_name="PATEL",
              first_name="", dob="06/06/1991"),
        # nothing says who: rejected
        valid("police_incidents", incident_ref="I5", nominal_id="", last_name="", first_name=""),
    ]  # fmt: skip
    health = [
        valid("health_events", event_id="EV1", patient_id="H00000001"),
        # another patient key, no name, the same NHS number: the same person
        valid("health_events", event_id="EV2", patient_id="H00000002", first_name="BABY OF",
              last_name=""),
    ]  # fmt: skip
    district = write_district(
        folder / "extracts",
        {"ehm_referrals": [valid("ehm_referrals")], "police_incidents": police,
         "health_events": health},
    )  # fmt: skip
    model = folder / "model.duckdb"
    # A handful of rows, so one reject or one name set aside is over the gates' shares.
    build_model(district, model, accept_rejects=True)
    return model


def _query(model: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(model), read_only=True)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def _persons(model: Path) -> dict[str, str]:
    return dict(
        _query(
            model, "select registration_id, any_value(person_key) from int_person_link group by 1"
        )
    )


def test_nameless_rows_keep_their_person_and_join_the_named_rows(hand_made_model) -> None:
    person = _persons(hand_made_model)
    # the nameless incident is the named nominal's: one registration, one person
    assert _query(
        hand_made_model,
        "select count(*), count(distinct person_key) from int_person_link"
        " where registration_id = 'police_incidents:N00000001'",
    ) == [(2, 1)]
    # the nameless patient shares the named one's NHS number
    assert person["health_events:H00000002"] == person["health_events:H00000001"]
    # a person known only without a name exists, apart from everyone else
    alone = person["police_incidents:N00000002"]
    assert [r for r, p in person.items() if p == alone] == ["police_incidents:N00000002"]
    assert len(set(person.values())) == 4  # Sean, Tom, the nameless nominal, Patel


def test_loaded_and_rejected_reconcile_in_the_model(hand_made_model) -> None:
    assert _query(
        hand_made_model,
        "select source, rows_read, rows_loaded, rows_rejected from load_manifest"
        " where source in ('police_incidents', 'health_events') order by source",
    ) == [("health_events", 2, 2, 0), ("police_incidents", 5, 4, 1)]
    assert _query(
        hand_made_model,
        "select line, reason from load_rejects where source = 'police_incidents'"
        " and reason like 'no name%'",
    ) == [
        (6, "no name and no identifier: SURNAME, FORENAMES and NOMINAL_ID are blank or stand for"
         " not known")
    ]  # fmt: skip


def test_the_person_mart_names_whoever_it_can_and_leaves_the_rest_blank(hand_made_model) -> None:
    person = _persons(hand_made_model)
    names = dict(
        (key, (first, last))
        for key, first, last in _query(
            hand_made_model, "select person_key, first_name, last_name from mart_person"
        )
    )
    assert names[person["police_incidents:N00000001"]] == ("Sean", "O'BRIEN")
    assert names[person["health_events:H00000002"]] == ("Tom", "Brown")
    assert names[person["police_incidents:N00000002"]] == (None, None)
    assert names[person["police_incidents:N00000003"]] == (None, "PATEL")


# --- Person linkage: a missing name is unknown ----------------------------------------------------


@pytest.fixture(scope="module")
def linked_district(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The synthetic district (enough records for Splink to score), with a Family Context file of
    two children's social care records without a name: one at a person's home with their date of
    birth and sex (no one else there was born that day), one at another person's home born on a
    day no one near there was. Returns the model and the Cms Id each record was given."""
    folder = tmp_path_factory.mktemp("nameless_linkage")
    extracts = folder / "extracts"
    generate(300, 11, extracts)
    model = folder / "model.duckdb"
    build_model(extracts, model)
    candidates = _query(
        model,
        """
        with records as (
            select record.*, link.person_key
            from int_linkage_record as record join int_person_link as link using (unique_id)
        ),
        homes as (
            select person_key, dob, sex, address, postcode, address_key
            from records
            where dob is not null and sex in ('M', 'F') and address_key is not null
                and postcode is not null and first_name_std is not null
        )
        select (select min(registration_id) from records as own
                where own.person_key = homes.person_key), dob, sex, address, postcode
        from homes
        where not exists (
            select 1 from records as other
            where other.person_key <> homes.person_key and other.dob = homes.dob
                and (other.address_key = homes.address_key or other.postcode = homes.postcode)
        )
        order by person_key, address
        """,
    )
    assert len(candidates) > 2
    same, other = candidates[0], candidates[-1]
    assert same[0] != other[0]
    unrelated_dob = dt.date(1931, 5, 17)
    assert not _query(
        model,
        "select 1 from int_linkage_record where postcode = ?"
        " and abs(date_diff('day', dob, ?::date)) < 3650",
        [other[4], unrelated_dob],
    )
    sexes = {"M": "Male", "F": "Female"}

    def nameless(cms_id: str, dob: dt.date, sex: str, address: str, postcode: str) -> dict:
        return {
            "cms_id": cms_id,
            "first_name": "",
            "last_name": "",
            "dob": dob.isoformat(),
            "sex": sexes[sex],
            "address": f"{address}\n{postcode}",
            "service_involvement": "Current",
            "date_current_as_of": "2016-03-31 00:00:00",
            "coverage_start_date": "2010-04-01 00:00:00",
            "coverage_geographic_area": "Bradford",
        }

    write_csv(
        extracts,
        "family_context_csc",
        [
            nameless("FC-SAME", same[1], same[2], same[3], same[4]),
            nameless("FC-UNRELATED", unrelated_dob, other[2], other[3], other[4]),
        ],
    )
    build_model(extracts, model)
    return model, {"same": same[0], "other": other[0]}  # a registration of each person


def test_a_nameless_record_links_on_its_date_of_birth_and_home(linked_district) -> None:
    """The missing name is unknown, not a disagreement: the date of birth and the home, which
    no one else shares, carry the record to its person by score."""
    model, chosen = linked_district
    person = _persons(model)
    assert person["family_context_csc:FC-SAME"] == person[chosen["same"]]
    assert _query(
        model,
        "select first_name_std, last_name_std from int_linkage_record"
        " where registration_id = 'family_context_csc:FC-SAME'",
    ) == [(None, None)]


def test_a_nameless_record_does_not_link_to_someone_unrelated_at_its_home(linked_district):
    """At another person's home with a date of birth no one there has: nothing but the place
    agrees, so it stays a person of its own."""
    model, chosen = linked_district
    person = _persons(model)
    unrelated = person["family_context_csc:FC-UNRELATED"]
    assert [r for r, p in person.items() if p == unrelated] == ["family_context_csc:FC-UNRELATED"]
    # it was there to be compared: it shares a dwelling with the person whose home it names
    assert (
        _query(
            model,
            """
        select count(*) from int_linkage_record as nameless
        join int_linkage_record as resident using (address_key)
        join int_person_link as link on link.unique_id = resident.unique_id
        where nameless.registration_id = 'family_context_csc:FC-UNRELATED'
            and link.person_key = ?
        """,
            [person[chosen["other"]]],
        )[0][0]
        > 0
    )
