"""The family lookup's family and services (data_model/read/lookup_family.py, issue 14).

A hand-made family with records in every service, built through the real build: each service's
status, dates, team and contact, the police and housing details, the "None found" list, the age
rules, the currency header, and the father who moved out shown apart. An analyst's clerical
decisions join each person's records (a hand-made district is too small for linkage to score).

Then a synthetic district, against the generator's truth: the family shown for sampled children
(members found, members wrongly shown, true members shown as gone), and the linkage's unsure
pairs said beside the person.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data_model.build import build_model
from data_model.linkage.decisions import ACCEPT
from data_model.read.connection import open_model
from data_model.read.lookup_family import (
    CURRENT,
    HISTORIC,
    NONE_FOUND,
    LookupSettingsError,
    family_of,
    lookup_settings,
    parse_settings,
    services_for_family,
    services_of,
)
from data_model.state import audit
from data_model.state.decisions import record_decision
from loaders.synthetic.generate import generate
from tests.extract_files import declare, write_district

KEY = "lookup-family-test-key-" + "k" * 32
HOME = {"address": "14 Oak Road, Bradford", "postcode": "BD5 0AA"}
AWAY = {"address": "3 Mill Lane, Keighley", "postcode": "BD21 1AA"}
SI_AREA = "Bradford Metropolitan District"  # the service involvement rows' own area


def _si(record: str, cms: str, system: str, service: str, person: dict, **fields: str) -> dict:
    """A service involvement row for a hand-made person."""
    return {
        "record_id": record,
        "cms_id": cms,
        "system_name": system,
        "service": service,
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "dob": person["dob"],
        "sex": person["sex"],
        "address": "14 Oak Road\nBradford",
        "postcode": HOME["postcode"],
        "coverage_area": SI_AREA,
        **fields,
    }


LILY = {"first_name": "Lily", "last_name": "Patel", "dob": "2012-06-05", "sex": "Female"}
PRIYA = {"first_name": "Priya", "last_name": "Patel", "dob": "1985-03-02", "sex": "Female"}
RAJ = {"first_name": "Raj", "last_name": "Patel", "dob": "1983-08-08", "sex": "Male"}
ARJUN = {"first_name": "Arjun", "last_name": "Patel", "dob": "2004-11-20", "sex": "Male"}
KAMALA = {"first_name": "Kamala", "last_name": "Devi", "dob": "1950-01-15", "sex": "Female"}
DEAN = {"first_name": "Dean", "last_name": "Hurst", "dob": "1980-09-09", "sex": "Male"}


def _ehm(person_id: str, person: dict) -> dict:
    address = {"address_line_1": "14 Oak Road", "town": "Bradford", "postcode": HOME["postcode"]}
    return {
        "person_id": person_id,
        "case_id": "C000001",
        **person,
        **address,
        "recorded_date": "2019-01-10",
    }


def _census(upn: str, person: dict, urn: str, school: str, days: list[str]) -> list[dict]:
    terms = {10: "Autumn", 1: "Spring", 5: "Summer"}
    rows = []
    for day in days:
        when = date.fromisoformat(day)
        year = when.year if when.month >= 9 else when.year - 1
        rows.append(
            {
                "upn": upn,
                **{k: person[k] for k in ("first_name", "last_name", "dob")},
                "sex": person["sex"][0],
                "address_line_1": "14 Oak Road",
                "town": "Bradford",
                "postcode": HOME["postcode"],
                "school_urn": urn,
                "school_name": school,
                "academic_year": f"{year}/{(year + 1) % 100:02d}",
                "term": terms[when.month],
                "sessions_possible": "120",
                "sessions_authorised_absence": "4",
                "sessions_unauthorised_absence": "2",
                "census_date": day,
            }
        )
    return rows


def _incident(
    ref: str,
    nominal: str,
    person: dict,
    when: str,
    category: str,
    role: str,
    dv: str = "N",
    where: dict = HOME,
) -> dict:
    return {
        "incident_ref": ref,
        "nominal_id": nominal,
        "first_name": person["first_name"],
        "last_name": person["last_name"].upper(),
        "dob": person["dob"],
        "sex": person["sex"][0],
        **where,
        "incident_datetime": f"{when} 21:30:00",
        "offence_category": category,
        "person_role": role,
        "dv_flag": dv,
        "asb_flag": "N",
    }


def _tenant(ref: str, no: str, person: dict, start: str, end: str = "", **more: str) -> dict:
    return {
        "tenancy_ref": ref,
        "tenant_no": no,
        "tenant_name": f"{person['last_name'].upper()}, {person['first_name']}",
        "dob": person["dob"],
        **more.pop("where", HOME),
        "tenancy_start": start,
        "tenancy_end": end,
        "extract_date": "2020-03-02",
        **more,
    }


def _health(
    event: str,
    patient: str,
    nhs: str,
    person: dict,
    kind: str,
    day: str,
    end: str = "",
    practice: str = "B82001",
) -> dict:
    return {
        "event_id": event,
        "patient_id": patient,
        "nhs_number": nhs,
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "dob": person["dob"],
        "sex": "2" if person["sex"] == "Female" else "1",
        "address": "14 Oak Road, Bradford",
        "postcode": HOME["postcode"],
        "event_type": kind,
        "event_date": day,
        "event_end_date": end,
        "gp_practice_code": practice,
    }


ROWS: dict[str, list[dict]] = {
    "ehm_people": [
        _ehm("P0000001", LILY),
        _ehm("P0000002", PRIYA),
        _ehm("P0000003", RAJ),
        _ehm("P0000004", ARJUN),
        _ehm("P0000005", DEAN),
    ],
    "ehm_relationships": [
        {
            "person_id": "P0000001",
            "related_person_id": "P0000002",
            "relationship": "Mother",
            "start_date": "2012-06-05",
        },
        {"person_id": "P0000001", "related_person_id": "P0000003", "relationship": "Father"},
        # only Arjun's side was recorded: Lily is his sister
        {"person_id": "P0000004", "related_person_id": "P0000001", "relationship": "Sister"},
        # the mother's partner until the spring of 2018, as early help recorded it
        {
            "person_id": "P0000001",
            "related_person_id": "P0000005",
            "relationship": "Parent's partner",
            "start_date": "2017-01-01",
            "end_date": "2018-04-30",
        },
    ],
    "ehm_referrals": [
        {
            "referral_id": "R0000001",
            "case_id": "C000001",
            "person_id": "P0000001",
            "received_date": "2019-01-05",
            "referral_source": "School",
            "decision": "Accepted",
            "decision_date": "2019-01-08",
            "cluster": "Keighley",
        },
    ],
    "ehm_episodes": [
        {
            "episode_id": "E0000001",
            "referral_id": "R0000001",
            "case_id": "C000001",
            "cluster": "Keighley",
            "team": "BD5 Team A",
            "key_worker": "KW0001",
            "allocated_date": "2019-01-15",
            "first_contact_date": "2019-01-20",
            "family_plan_date": "2019-02-20",
        },
    ],
    "school_census": [
        *_census(
            "A380000000011",
            LILY,
            "107300",
            "Green Lane Primary",
            ["2016-10-06", "2017-10-05", "2018-10-04", "2019-10-03", "2020-01-16"],
        ),
        *_census(
            "A380000000022",
            ARJUN,
            "138000",
            "Bradford Academy",
            ["2016-10-06", "2018-10-04", "2020-01-16"],
        ),
    ],
    "csc_episodes": [
        {
            "episode_id": "CSC1",
            "child_id": "S0000001",
            **LILY,
            "address": "14 Oak Road\nBradford",
            "postcode": HOME["postcode"],
            "episode_type": "Child Protection Plan",
            "category_of_need": "Neglect",
            "start_date": "2019-06-01",
            "team": "BD5 Child Protection Team",
        },
    ],
    "health_events": [
        _health("EV1", "H00000001", "9434765919", LILY, "GP registration", "2012-06-20"),
        _health("EV2", "H00000001", "9434765919", LILY, "A&E attendance", "2014-03-01"),
        _health("EV3", "H00000002", "9434765927", PRIYA, "GP registration", "2010-05-01"),
        _health("EV4", "H00000002", "9434765927", PRIYA, "Mental health referral", "2019-04-01"),
        _health(
            "EV5",
            "H00000005",
            "9434765935",
            KAMALA,
            "GP registration",
            "2016-02-10",
            practice="B82002",
        ),
    ],
    "police_incidents": [
        _incident(
            "I1", "N00000002", PRIYA, "2016-02-01", "Violence against the person", "Victim", "Y"
        ),
        _incident(
            "I1", "N00000003", RAJ, "2016-02-01", "Violence against the person", "Perpetrator", "Y"
        ),
        _incident("I2", "N00000002", PRIYA, "2017-03-03", "Theft", "Victim"),
        _incident(
            "I3", "N00000002", PRIYA, "2018-05-05", "Domestic incident (non-crime)", "Victim", "Y"
        ),
        _incident("I4", "N00000003", RAJ, "2019-06-01", "Criminal damage", "Offender", where=AWAY),
        _incident(
            "I5", "N00000002", PRIYA, "2019-11-20", "Violence against the person", "Victim", "Y"
        ),
        _incident(
            "I6",
            "N00000003",
            RAJ,
            "2019-12-01",
            "Violence against the person",
            "Offender",
            where=AWAY,
        ),
        _incident("I7", "N00000002", PRIYA, "2020-02-10", "Public order", "Victim", "Y"),
        _incident("I7", "N00000001", LILY, "2020-02-10", "Public order", "Witness", "Y"),
        _incident("I8", "N00000004", ARJUN, "2019-02-10", "Theft", "Offender"),
    ],
    "housing_tenancies": [
        # evicted from an earlier home more than ten years before the extract: out of the search
        _tenant(
            "T000009",
            "1",
            PRIYA,
            "2005-01-01",
            "2007-12-01",
            eviction_date="2007-12-01",
            nosp_served_date="2007-06-01",
            where={"address": "9 Low Street, Bradford", "postcode": "BD4 7AA"},
        ),
        _tenant("T000000", "1", PRIYA, "2008-01-01", "2017-08-31"),
        _tenant("T000000", "2", RAJ, "2008-01-01", "2017-08-31"),
        _tenant(
            "T000001",
            "1",
            PRIYA,
            "2017-09-01",
            rent_arrears="1234.50",
            nosp_served_date="2019-05-01",
        ),
    ],
    "dwp_spells": [
        {
            "spell_id": "SP1",
            "nino": "AB123456C",
            "claimant_ref": "D00000002",
            **{k: PRIYA[k] for k in ("first_name", "last_name", "dob")},
            "postcode": HOME["postcode"],
            "spell_type": "Out-of-work benefit",
            "benefit_type": "UC",
            "start_date": "2018-07-01",
        },
    ],
    "service_involvement": [
        _si(
            "SI1",
            "P0000001",
            "Liquidlogic EHM",
            "Early Help",
            LILY,
            team="BD5 Team A",
            contact_name="Sarah Jones",
            contact_role="Key Worker",
            contact_phone="01274 100001",
            contact_email="sarah.jones@bradford.gov.uk",
            start_date="2019-01-15",
            last_interaction_date="2020-03-10",
            current_as_of="2020-03-31",
            coverage_start="2014-09-01",
        ),
        _si(
            "SI2",
            "A380000000011",
            "SIMS",
            "School",
            LILY,
            team="Green Lane Primary",
            contact_name="Tom Hill",
            contact_role="Designated Safeguarding Lead",
            contact_phone="01274 100002",
            start_date="2016-09-05",
            last_interaction_date="2020-01-10",
            current_as_of="2020-01-16",
            coverage_start="2012-09-01",
        ),
        _si(
            "SI3",
            "S0000001",
            "Liquidlogic LCS",
            "Children's Social Care",
            LILY,
            team="BD5 Child Protection Team",
            contact_name="Amy Brook",
            contact_role="Social Worker",
            contact_phone="01274 100003",
            contact_email="amy.brook@bradford.gov.uk",
            start_date="2019-06-01",
            last_interaction_date="2020-03-20",
            current_as_of="2020-03-31",
            coverage_start="2012-04-01",
        ),
        _si(
            "SI4",
            "HV0000001",
            "SystmOne",
            "Health Visitor",
            LILY,
            team="BD5 Health Visiting",
            contact_name="Jo Pike",
            contact_role="Health Visitor",
            start_date="2012-06-17",
            last_interaction_date="2014-09-01",
            end_date="2017-06-05",
            current_as_of="2019-12-31",
            coverage_start="2013-04-01",
        ),
        _si(
            "SI5",
            "YC000001",
            "Carefirst",
            "Young Carers",
            LILY,
            team="Young Carers",
            contact_name="Ben Cole",
            contact_role="Young Carers Worker",
            start_date="2019-09-01",
            last_interaction_date="2020-02-01",
            current_as_of="2020-03-31",
            coverage_start="2015-04-01",
        ),
        _si(
            "SI6",
            "T000001-1",
            "Northgate Housing",
            "Housing",
            PRIYA,
            team="South Housing Office",
            contact_name="Dave Wood",
            contact_role="Housing Officer",
            contact_phone="01274 100006",
            start_date="2017-09-01",
            last_interaction_date="2020-01-15",
            current_as_of="2020-03-02",
            coverage_start="2001-01-01",
        ),
        _si(
            "SI7",
            "N00000002",
            "Niche RMS",
            "Police",
            PRIYA,
            team="Safeguarding Unit",
            contact_name="Kate Lee",
            contact_role="Safeguarding Officer",
            contact_email="kate.lee@westyorkshire.police.uk",
            start_date="2016-02-01",
            last_interaction_date="2020-02-10",
            current_as_of="2020-02-29",
            coverage_start="2012-04-01",
        ),
        _si(
            "SI8",
            "YO000001",
            "ChildView",
            "Youth Offending",
            ARJUN,
            team="Youth Offending Team",
            contact_name="Mark Shaw",
            contact_role="YOT Case Manager",
            contact_phone="01274 100008",
            start_date="2019-03-01",
            last_interaction_date="2020-02-20",
            current_as_of="2020-02-29",
            coverage_start="2012-04-01",
        ),
        _si(
            "SI9",
            "AS0000001",
            "Liquidlogic LAS",
            "Adult Social Care",
            KAMALA,
            team="South Adult Social Work Team",
            contact_name="Joan Firth",
            contact_role="Social Worker",
            start_date="2018-01-01",
            last_interaction_date="2020-03-01",
            current_as_of="2020-03-31",
            coverage_start="2013-04-01",
        ),
    ],
}

MANIFEST = """\
ehm_people: {current_to: 2020-03-31}
ehm_relationships: {current_to: 2020-03-31}
ehm_referrals: {current_to: 2020-03-31}
ehm_episodes: {current_to: 2020-03-31}
school_census: {current_to: 2020-01-16}
police_incidents: {current_to: 2020-02-29, system: Niche}
dwp_spells: {current_to: 2020-01-31, system: DWP data share (Bradford)}
housing_tenancies: {current_to: 2020-03-02}
health_events: {current_to: 2019-12-31}
csc_episodes: {current_to: 2020-03-31}
service_involvement: {current_to: 2020-03-31}
"""

# What an analyst confirmed: each person's records in one system and another are one person
# (the service involvement rows of systems the district also sends join theirs by their ids).
SAME_PERSON = [
    ("ehm_people:P0000001", "school_census:A380000000011"),
    ("ehm_people:P0000001", "csc_episodes:S0000001"),
    ("ehm_people:P0000001", "health_events:H00000001"),
    ("ehm_people:P0000001", "police_incidents:N00000001"),
    ("ehm_people:P0000001", "service_involvement:SystmOne:HV0000001"),
    ("ehm_people:P0000001", "service_involvement:Carefirst:YC000001"),
    ("ehm_people:P0000002", "housing_tenancies:T000000-1"),
    ("ehm_people:P0000002", "housing_tenancies:T000001-1"),
    ("ehm_people:P0000002", "housing_tenancies:T000009-1"),
    ("ehm_people:P0000002", "health_events:H00000002"),
    ("ehm_people:P0000002", "police_incidents:N00000002"),
    ("ehm_people:P0000002", "dwp_spells:D00000002"),
    ("ehm_people:P0000003", "housing_tenancies:T000000-2"),
    ("ehm_people:P0000003", "police_incidents:N00000003"),
    ("ehm_people:P0000004", "school_census:A380000000022"),
    ("ehm_people:P0000004", "police_incidents:N00000004"),
    ("ehm_people:P0000004", "service_involvement:ChildView:YO000001"),
    ("health_events:H00000005", "service_involvement:Liquidlogic LAS:AS0000001"),
]


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("lookup_family")
    extracts = write_district(folder / "extracts", ROWS)
    declare(extracts, MANIFEST)
    model = folder / "model.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FFI_AUDIT_KEY", KEY)
        store = audit.open_store(model, key=KEY)
        for left, right in SAME_PERSON:
            record_decision(store, left, right, ACCEPT, user="ann", role="analyst", session="s")
        store.dispose()
        build_model(extracts, model)
    con = open_model(model)
    yield con
    con.close()


def _key(con: duckdb.DuckDBPyConnection, registration: str) -> str:
    return con.execute(
        "select any_value(person_key) from int_person_link where registration_id = ?",
        [registration],
    ).fetchone()[0]


@pytest.fixture(scope="module")
def family(hand_made):
    view = family_of(hand_made, _key(hand_made, "ehm_people:P0000001"))
    return view, services_for_family(hand_made, view)


def _service(person_services, name: str):
    found = {s.service: s for s in (*person_services.services, *person_services.not_found)}
    return found[name]


def test_the_family_is_the_child_then_children_then_adults_and_the_father_apart(family) -> None:
    view, _ = family
    assert view.as_at == date(2020, 3, 31)
    assert [
        (m.name, m.relationship, m.relationship_recorded, m.age, m.is_child) for m in view.members
    ] == [
        ("Lily Patel", "The child", True, 7, True),
        ("Arjun Patel", "Brother", True, 15, True),
        ("Priya Patel", "Mother", True, 35, False),
        ("Kamala Devi", "Adult at the same address", False, 70, False),
    ]
    raj, dean = view.former_members  # the latest to leave first
    assert (raj.name, raj.relationship, raj.left_on) == ("Raj Patel", "Father", date(2019, 6, 1))
    assert (dean.name, dean.relationship, dean.relationship_recorded, dean.left_on) == (
        "Dean Hurst",
        "Parent's partner",
        True,
        date(2018, 4, 30),
    )
    assert dean.why[0] == (
        "Early help records him as the child's parent's partner since 01 Jan 2017,"
        " until 30 Apr 2018"
    )
    # early help recorded him at the home in January 2019; the police at another in June
    assert (
        "Last at the same address as the child 10 Jan 2019; recorded at another address since"
        " 01 Jun 2019" in raj.why
    )


def test_why_each_member_is_in_the_family_is_said_in_plain_words(family) -> None:
    view, _ = family
    why = {m.name: m.why for m in (*view.members, *view.former_members)}
    assert "Early help records her as the child's mother since 05 Jun 2012" in why["Priya Patel"]
    # recorded the other way round only: Lily is Arjun's sister, so he is her brother
    assert "Early help records the child as his sister" in why["Arjun Patel"]
    (kamala,) = why["Kamala Devi"]
    assert kamala.startswith("At the same address as the child (14 Oak Road, BD5 0AA) since ")
    assert kamala.endswith(", in GP and health and Service involvement records")
    assert "On the same early help case as the child (C000001)" in why["Priya Patel"]


def test_each_service_says_its_status_dates_team_and_contact(family) -> None:
    view, services = family
    lily = services[view.child.person_key]
    early_help = _service(lily, "Early Help")
    assert (
        early_help.status,
        early_help.team,
        early_help.lead_practitioner,
        early_help.role,
        early_help.phone,
        early_help.email,
        early_help.last_start,
        early_help.last_interaction,
        early_help.system,
    ) == (
        CURRENT,
        "BD5 Team A",
        "Sarah Jones",
        "Key Worker",
        "01274 100001",
        "sarah.jones@bradford.gov.uk",
        date(2019, 1, 15),
        date(2020, 3, 10),
        "Liquidlogic EHM",
    )
    school = _service(lily, "School")
    assert (
        school.status,
        school.team,
        school.lead_practitioner,
        school.phone,
        school.last_start,
        school.last_interaction,
        school.system,
    ) == (
        CURRENT,
        "Green Lane Primary",
        "Tom Hill",
        "01274 100002",
        date(2016, 10, 6),
        date(2020, 1, 16),
        "SIMS",
    )
    csc = _service(lily, "Children's social care")
    assert (csc.status, csc.team, csc.lead_practitioner, csc.last_start, csc.last_interaction) == (
        CURRENT,
        "BD5 Child Protection Team",
        "Amy Brook",
        date(2019, 6, 1),
        date(2020, 3, 20),
    )
    health_visitor = _service(lily, "Health Visitor")
    assert (
        health_visitor.status,
        health_visitor.lead_practitioner,
        health_visitor.last_start,
        health_visitor.last_interaction,
    ) == (
        HISTORIC,
        "Jo Pike",
        date(2012, 6, 17),
        date(2014, 9, 1),
    )
    gp = _service(lily, "GP and health")
    assert (gp.status, gp.team, gp.lead_practitioner) == (CURRENT, "Practice B82001", None)
    assert _service(lily, "Young Carers").status == CURRENT


def test_police_shows_up_to_three_safeguarding_records_with_the_nature_of_involvement(
    family,
) -> None:
    view, services = family
    police = _service(services[view.members[2].person_key], "Police")
    assert (police.status, police.system, police.lead_practitioner, police.email) == (
        CURRENT,
        "Niche RMS",
        "Kate Lee",
        "kate.lee@westyorkshire.police.uk",
    )
    assert police.details == (
        ("Police records", "5 in the last 7.9 years, 4 safeguarding-relevant (the latest 3 shown)"),
        ("10 Feb 2020", "Public order, domestic abuse; nature of involvement: victim"),
        (
            "20 Nov 2019",
            "Violence against the person, domestic abuse; nature of involvement: victim",
        ),
        (
            "05 May 2018",
            "Domestic incident (non-crime), domestic abuse; nature of involvement: victim",
        ),
    )
    raj = _service(services[view.former_members[0].person_key], "Police")
    assert raj.details[1:] == (
        ("01 Dec 2019", "Violence against the person; nature of involvement: offender"),
        (
            "01 Feb 2016",
            "Violence against the person, domestic abuse; nature of involvement: offender",
        ),
    )


def test_housing_shows_the_tenancy_arrears_notice_and_eviction_within_the_history(family) -> None:
    view, services = family
    housing = _service(services[view.members[2].person_key], "Housing")
    assert (housing.status, housing.lead_practitioner, housing.last_start) == (
        CURRENT,
        "Dave Wood",
        date(2017, 9, 1),
    )
    assert housing.details == (
        ("Tenancy start", "01 Sep 2017"),
        ("Tenancy address", "14 Oak Road, Bradford"),
        ("Rent arrears", "£1,234.50 at 02 Mar 2020"),
        ("Notice seeking possession", "served 01 May 2019"),
        # the 2007 eviction is more than ten years before the extract: not searched
        ("Eviction", "none recorded"),
    )
    dwp = _service(services[view.members[2].person_key], "DWP")
    assert (dwp.status, dwp.system, dwp.details) == (
        CURRENT,
        "DWP data share (Bradford)",
        (("Latest record", "Universal Credit, from 01 Jul 2018"),),
    )


def test_none_found_names_each_service_and_its_system(family) -> None:
    view, services = family
    lily = services[view.child.person_key]
    assert [(s.service, s.system) for s in lily.not_found] == [
        ("Early Years", "Capita One"),
        ("Youth Offending", "ChildView"),
        ("Anti-Social Behaviour", "ECINS"),
        ("Mental health", "SystmOne (BDCFT)"),
        ("Substance misuse", "Nebula"),
    ]
    assert all(
        (s.status, s.team, s.lead_practitioner, s.last_start, s.details)
        == (NONE_FOUND, None, None, None, ())
        for s in lily.not_found
    )
    priya = services[view.members[2].person_key]
    assert _service(priya, "Mental health").status == CURRENT
    assert _service(priya, "Substance misuse").status == NONE_FOUND


def test_the_age_rules_leave_services_out_in_the_read_layer(family) -> None:
    view, services = family
    lily, arjun, priya = (services[m.person_key] for m in view.members[:3])
    # Lily (7) was a witness to an incident, Arjun (15) an offender: police shows adults only
    assert lily.not_applicable == (
        "Police: shown from age 18",
        "Housing: shown from age 16",
        "DWP: shown from age 16",
        "Adult Social Care: shown from age 15",
    )
    assert arjun.not_applicable == (
        "Police: shown from age 18",
        "Housing: shown from age 16",
        "DWP: shown from age 16",
    )
    assert _service(arjun, "Adult Social Care").status == NONE_FOUND
    assert _service(arjun, "Youth Offending").lead_practitioner == "Mark Shaw"
    assert priya.not_applicable == ("School: shown for ages 4 to 20",)
    kamala = services[view.members[3].person_key]
    assert _service(kamala, "Adult Social Care").status == CURRENT


def test_the_currency_header_comes_from_the_manifest_the_rows_and_the_settings(family) -> None:
    view, services = family
    lily = services[view.child.person_key]

    def reach(current: date, start: date) -> float:
        return int((current - start).days / 365.25 * 10) / 10

    school = _service(lily, "School").currency
    # the census and the service involvement rows are current to 16 Jan 2020; the rows go back
    # to the coverage start they state (01 Sep 2012), short of the ten years the search allows
    assert (school.current_as_of, school.history_years, school.area) == (
        date(2020, 1, 16),
        reach(date(2020, 1, 16), date(2012, 9, 1)),
        SI_AREA,
    )
    gp = _service(lily, "GP and health").currency
    # no row states a coverage start: the records go back to the first GP registration (01 May
    # 2010); no row says which area, so the settings' area
    assert (gp.current_as_of, gp.history_years, gp.area) == (
        date(2019, 12, 31),
        reach(date(2019, 12, 31), date(2010, 5, 1)),
        "Bradford District",
    )
    police = _service(services[view.members[2].person_key], "Police").currency
    assert (police.current_as_of, police.history_years) == (
        date(2020, 2, 29),
        reach(date(2020, 2, 29), date(2012, 4, 1)),
    )
    early_years = _service(lily, "Early Years").currency  # no rows at all: the file's own date
    assert early_years.current_as_of == date(2020, 3, 31)
    assert lookup_settings().services[0].history_years == 10


def test_services_of_one_person_are_those_of_the_family_view(hand_made, family) -> None:
    view, services = family
    assert (
        services_of(hand_made, view.members[2].person_key) == services[view.members[2].person_key]
    )
    assert family_of(hand_made, "PK-nobody") is None


def test_lookup_settings_that_break_the_rules_are_refused_naming_the_entry() -> None:
    good = {
        "services": {
            "history_years": 5,
            "list": [{"name": "Police", "feeds": [{"feed": "police_incidents"}]}],
        }
    }
    assert parse_settings(good).services[0].system == "Police"
    bad_feed = {
        "services": {"history_years": 5, "list": [{"name": "Police", "feeds": [{"feed": "niche"}]}]}
    }
    with pytest.raises(LookupSettingsError, match="service Police: feed 'niche' names no source"):
        parse_settings(bad_feed)
    bad_ages = {
        "services": {
            "history_years": 5,
            "list": [
                {
                    "name": "School",
                    "ages": {"from": 20, "to": 4},
                    "feeds": [{"feed": "school_census"}],
                }
            ],
        }
    }
    with pytest.raises(LookupSettingsError, match="service School: ages to is before from"):
        parse_settings(bad_ages)


# --- The synthetic district, against the generator's truth ----------------------------------------

HOUSEHOLDS, SEED, SAMPLE = 1500, 5, 300


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("lookup_district")
    generate(HOUSEHOLDS, SEED, folder / "extracts")
    build_model(folder / "extracts", folder / "model.duckdb")
    con = open_model(folder / "model.duckdb")
    yield con, folder / "extracts" / "_truth"
    con.close()


def _truth_of_persons(con: duckdb.DuckDBPyConnection, truth: Path) -> pd.Series:
    """Each person_key's true person: the one most of its source records belong to."""
    source_persons = pd.read_csv(truth / "source_persons.csv", dtype=str)
    records = con.execute(
        """
        select source,
               case when source = 'service_involvement'
                    then split_part(source_person_id, ':', 2) else source_person_id end
                   as source_person_id,
               person_key
        from mart_person_source_record
        """
    ).df()
    joined = records.merge(source_persons, on=["source", "source_person_id"])
    counts = joined.groupby(["person_key", "true_person_id"]).size().rename("rows").reset_index()
    counts = counts.sort_values(["rows", "person_key"], ascending=[False, True], kind="stable")
    return counts.drop_duplicates("person_key").set_index("person_key")["true_person_id"]


def test_the_family_shown_matches_the_true_household(district) -> None:
    con, truth = district
    persons = pd.read_csv(truth / "persons.csv", dtype=str)
    family_of_person = persons.set_index("true_person_id")["true_family_id"]
    truth_of = _truth_of_persons(con, truth)
    known = set(truth_of)
    main_key = (
        truth_of.reset_index()
        .drop_duplicates("true_person_id")
        .set_index("true_person_id")["person_key"]
    )
    children = persons[(persons["role"] == "child") & persons["true_person_id"].isin(known)]
    sample = random.Random(SEED).sample(sorted(children["true_person_id"]), SAMPLE)
    expected = found = shown = wrong = gone = 0
    for child in sample:
        family = family_of_person[child]
        view = family_of(con, main_key[child])
        members = set(persons.loc[persons["true_family_id"] == family, "true_person_id"])
        members = (members - {child}) & known  # a true member no record names cannot be shown
        others = (*view.members[1:], *view.former_members)
        shown_truth = [truth_of.get(m.person_key) for m in others]
        expected += len(members)
        found += len(members & set(shown_truth))
        shown += len(others)
        wrong += sum(1 for t in shown_truth if family_of_person.get(t) != family or t == child)
        # no one in the synthetic district leaves a household on their own
        gone += sum(
            1
            for m in view.former_members
            if family_of_person.get(truth_of.get(m.person_key)) == family
        )
    print(
        f"\n{SAMPLE} children: {found} of {expected} true members found ({found / expected:.1%}),"
        f" {wrong} of {shown} shown wrongly ({wrong / shown:.1%}), {gone} shown as gone"
    )
    assert found / expected >= 0.96
    assert wrong / shown <= 0.01
    assert gone / expected <= 0.005


def test_an_unsure_pair_awaiting_review_is_said_beside_the_person(district) -> None:
    con, _ = district
    pairs = con.execute(
        """
        select person_key_l, first_name_r, last_name_r, source_r
        from mart_linkage_review_queue
        where decision is null and not linked_by_last_build
        order by pair_id
        """
    ).fetchall()
    assert pairs, "the district has pairs awaiting review"
    labels = lookup_settings().source_labels
    for person_key, first, last, source in pairs[:10]:
        view = family_of(con, person_key)
        name = " ".join(p for p in (first, last) if p) or "Name not recorded"
        assert f"may also be recorded as {name} ({labels[source]}), not yet confirmed" in (
            view.child.unconfirmed
        )


def test_every_feed_the_settings_name_has_records_in_the_district(district) -> None:
    con, _ = district
    feeds = {feed for (feed,) in con.execute("select feed from mart_lookup_feed").fetchall()}
    named = {f.feed for service in lookup_settings().services for f in service.feeds}
    # the district has no Family Context live-format files
    missing = sorted(named - feeds - {"family_context_csc", "family_context_education"})
    assert missing == []
