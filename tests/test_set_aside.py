"""Values set aside and plausibility checks (issue 10, items 4-6): an identity field that cannot be
used (unreadable, implausible, a placeholder for "not known") loads as blank and is recorded in
load_set_aside, never rejecting its row; an implausible value in a required column rejects the row;
cross-field checks; and the per-column set-aside gate before the model is replaced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from data_model.build import build_model
from loaders.base import load_all
from loaders.contracts import BY_SOURCE
from tests.extract_files import write_district
from tests.fixtures_extracts import load_checked, rejects, set_aside, valid, write_csv
from tests.test_build import digest, run_cli


def raw(con, source: str, columns: str) -> list[tuple]:
    return con.execute(f"select {columns} from raw_{source} order by line").fetchall()


# --- Identity fields: set aside, never a reason to reject ---------------------------------------


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("school_census", "dob"),
        ("dwp_spells", "dob"),
        ("police_incidents", "dob"),
        ("housing_tenancies", "dob"),
        ("health_events", "dob"),
        ("csc_episodes", "dob"),
        ("ehm_people", "dob"),
    ],
)
def test_an_unreadable_date_of_birth_never_costs_the_row(con, tmp_path, source, field) -> None:
    write_csv(tmp_path, source, [valid(source, **{field: "NOT KNOWN"})])
    result = load_checked(con, tmp_path, source)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1, 1, 0)
    assert raw(con, source, "dob") == [(None,)]
    header = BY_SOURCE[source].column("dob").header
    assert set_aside(con, source) == [(2, header, "NOT KNOWN", "'NOT KNOWN' stands for not known")]


def test_a_placeholder_date_of_birth_is_not_known_whatever_time_is_written_with_it(
    con, tmp_path
) -> None:
    """01/01/1900 stands for "not known" however a system writes it: with a time, as ISO with a
    time, or as the bare text; 02/01/1900 is a (just plausible) date of birth and loads."""
    written = ["01/01/1900 00:00", "1900-01-01 00:00:00", "01/01/1901", "02/01/1900"]
    rows = [
        valid("police_incidents", incident_ref=f"INC/2015/{i:04d}", dob=v)
        for i, v in enumerate(written)
    ]
    write_csv(tmp_path, "police_incidents", rows)
    result = load_checked(con, tmp_path, "police_incidents")
    assert (result.rows_loaded, result.rows_rejected) == (4, 0)
    assert raw(con, "police_incidents", "dob") == [
        (None,),
        (None,),
        (None,),
        (dt.date(1900, 1, 2),),
    ]
    assert [r[2:] for r in set_aside(con, "police_incidents")] == [
        (value, f"'{value}' stands for not known") for value in written[:3]
    ]


def test_sex_placeholders_are_set_aside_but_allowed_values_kept(con, tmp_path) -> None:
    rows = [valid("school_census", upn=f"A1234567890{i}B", sex=v) for i, v in enumerate("UFIX")]
    write_csv(tmp_path, "school_census", rows)
    load_checked(con, tmp_path, "school_census")
    assert raw(con, "school_census", "sex") == [(None,), ("F",), (None,), (None,)]
    assert [r[2:] for r in set_aside(con, "school_census")] == [
        ("U", "'U' stands for not known"),
        ("I", "'I' stands for not known"),
        ("X", "'X' stands for not known"),
    ]
    # Police allow U: it is a value there, kept as sent.
    write_csv(tmp_path, "police_incidents", [valid("police_incidents", sex="u")])
    load_checked(con, tmp_path, "police_incidents")
    assert raw(con, "police_incidents", "sex") == [("U",)]
    assert set_aside(con, "police_incidents") == []


def test_postcodes_that_name_no_place_are_set_aside(con, tmp_path) -> None:
    values = ["BD5 0AA", "bd50aa", "NOT KNOWN", "N/K", "ZZ99 3VZ", "BD5", "12345"]
    rows = [valid("police_incidents", nominal_id=f"N0000000{i}", postcode=v) for i, v in
            enumerate(values)]  # fmt: skip
    write_csv(tmp_path, "police_incidents", rows)
    result = load_checked(con, tmp_path, "police_incidents")
    assert result.rows_loaded == len(values)
    assert raw(con, "police_incidents", "postcode") == [("BD5 0AA",), ("bd50aa",)] + [(None,)] * 5
    assert [r[2:] for r in set_aside(con, "police_incidents")] == [
        ("NOT KNOWN", "'NOT KNOWN' stands for not known"),
        ("N/K", "'N/K' stands for not known"),
        ("ZZ99 3VZ", "'ZZ99 3VZ' is a pseudo-postcode, which names no address"),
        ("BD5", "does not match the expected pattern"),
        ("12345", "does not match the expected pattern"),
    ]


# --- Plausible ranges ----------------------------------------------------------------------------


def test_a_date_of_birth_after_the_extract_or_the_rows_own_event_is_set_aside(con, tmp_path):
    rows = [
        valid("police_incidents", nominal_id="N00000001", dob="01/01/2099"),
        # born the day after the incident
        valid("police_incidents", nominal_id="N00000002", dob="02/10/2015"),
        valid("police_incidents", nominal_id="N00000003", dob="01/10/2015"),  # the same day
        valid("police_incidents", nominal_id="N00000004", incident_datetime="01/06/2016 10:00"),
    ]
    write_csv(tmp_path, "police_incidents", rows)
    load_checked(con, tmp_path, "police_incidents")
    assert raw(con, "police_incidents", "nominal_id, dob") == [
        ("N00000001", None),
        ("N00000002", None),
        ("N00000003", dt.date(2015, 10, 1)),
        ("N00000004", dt.date(1980, 12, 12)),
    ]
    assert [r[2:] for r in set_aside(con, "police_incidents")] == [
        ("01/01/2099", "'01/01/2099' is after the extract's current-to date 01 Jun 2016"),
        ("02/10/2015", "'02/10/2015' is after the row's own INCIDENT_DATETIME"),
    ]


def test_a_date_of_birth_after_the_childs_own_referral_is_set_aside(con, tmp_path) -> None:
    write_district(
        tmp_path,
        {
            "ehm_people": [
                # born after the referral received on 01 Oct 2015; recorded later
                valid(
                    "ehm_people", person_id="P0000001", dob="03/04/2016", recorded_date="01/05/2016"
                ),
                valid("ehm_people", person_id="P0000002", dob="03/04/2010"),
            ],
            "ehm_referrals": [
                valid("ehm_referrals", referral_id="R0000001", person_id="P0000001"),
                valid("ehm_referrals", referral_id="R0000002", person_id="P0000002"),
            ],
        },
    )
    results = load_all(con, tmp_path)
    assert raw(con, "ehm_people", "person_id, dob") == [
        ("P0000001", None),
        ("P0000002", dt.date(2010, 4, 3)),
    ]
    assert set_aside(con, "ehm_people") == [
        (
            2,
            "Date of Birth",
            "03/04/2016",
            "'03/04/2016' is after the person's own first referral, received 01 Oct 2015"
            " (ehm_referrals.csv)",
        )
    ]
    people = next(r for r in results if r.source == "ehm_people")
    assert people.values_set_aside == 1


def test_implausible_values_in_required_columns_reject_the_row(con, tmp_path) -> None:
    write_csv(
        tmp_path,
        "school_census",
        [
            valid("school_census", upn="A12345678901B", sessions_possible="99999999"),
            valid("school_census", upn="A12345678902B", census_date="1899-09-01"),
            valid("school_census", upn="A12345678903B"),
        ],
    )
    result = load_checked(con, tmp_path, "school_census")
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert [r[:2] + r[3:] for r in rejects(con, "school_census")] == [
        (2, "SessionsPossible", "'99999999' is more than 400, the most plausible"),
        (3, "CensusDate", "'1899-09-01' is before 01 Jan 1900, the earliest plausible"),
    ]


def test_an_optional_event_date_out_of_range_is_set_aside(con, tmp_path) -> None:
    write_csv(
        tmp_path,
        "dwp_spells",
        [
            valid("dwp_spells", spell_id="S1", start_date="2015-01-05", end_date="2035-06-30"),
            valid("dwp_spells", spell_id="S2", start_date="2015-03-01", end_date="2015-04-01"),
        ],
    )
    result = load_checked(con, tmp_path, "dwp_spells")
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert raw(con, "dwp_spells", "spell_id, end_date") == [
        ("S1", None),
        ("S2", dt.date(2015, 4, 1)),
    ]
    assert result.data_current_as_of == dt.date(2015, 4, 1)  # 2035 is after the build day
    assert [r[2:] for r in set_aside(con, "dwp_spells")] == [
        ("2035-06-30", "'2035-06-30' is after the extract's current-to date 01 Apr 2015")
    ]


def test_cross_field_checks_on_the_reference_files(con, tmp_path) -> None:
    wards = BY_SOURCE["ref_wards"].fields
    write_csv(
        tmp_path,
        "ref_wards",
        [
            dict(zip(wards, ("E05001341", "Baildon", "Shipley", "Keighley", "100", "101", "", ""),
                     strict=True)),
        ],
    )  # fmt: skip
    load_checked(con, tmp_path, "ref_wards")
    assert [r[1:2] + r[3:] for r in rejects(con, "ref_wards")] == [
        ("population_0_15", "the population aged 0 to 15 is more than the whole population")
    ]
    write_csv(tmp_path, "ref_programme", [valid("ref_programme", end_date="2015-03-31")])
    load_checked(con, tmp_path, "ref_programme")
    assert [r[1:2] + r[3:] for r in rejects(con, "ref_programme")] == [
        ("end_date", "the programme ends before it starts")
    ]


# --- The set-aside gate --------------------------------------------------------------------------


def census(n: int, bad: int) -> list[dict[str, str]]:
    """n pupils, the last `bad` of them with a date of birth that cannot be read."""
    rows = [valid("school_census", upn=f"A{i:011d}B") for i in range(n)]
    for row in rows[n - bad :]:
        row["dob"] = "2008-02-30"
    return rows


def test_a_column_over_its_set_aside_limit_stops_the_build(tmp_path: Path) -> None:
    model = tmp_path / "model.duckdb"
    referrals = [valid("ehm_referrals")]
    build_model(write_district(tmp_path / "good", {"ehm_referrals": referrals}), model)
    before = digest(model)
    district = write_district(
        tmp_path / "extracts", {"ehm_referrals": referrals, "school_census": census(20, 3)}
    )
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: school_census.csv: DOB: 3 of 20 values set aside (15.0%, more than 10%):"
        " DOB is not a date (3)"
    ]
    assert digest(model) == before
    # Knowingly: the model is built, the pupils loaded with their dates of birth blank.
    accepted = run_cli("build", "--sources", str(district), "--out", str(model), "--accept-rejects")
    assert accepted.returncode == 0, accepted.stderr
    assert "accepted (--accept-rejects): school_census.csv: DOB: 3 of 20" in accepted.stdout


def test_a_column_at_its_set_aside_limit_builds(tmp_path: Path) -> None:
    district = write_district(
        tmp_path / "extracts",
        {"ehm_referrals": [valid("ehm_referrals")], "school_census": census(20, 2)},
    )
    report = build_model(district, tmp_path / "model.duckdb")
    assert report.values_set_aside == 2 and report.accepted == []


def test_a_sex_in_another_systems_code_is_read_as_the_columns_own(con, tmp_path) -> None:
    values = ["Female", "male", "2", "Boy", "Femle"]
    rows = [valid("school_census", upn=f"A1234567890{i}B", sex=v) for i, v in enumerate(values)]
    write_csv(tmp_path, "school_census", rows)
    load_checked(con, tmp_path, "school_census")
    assert raw(con, "school_census", "sex") == [("F",), ("M",), ("F",), ("M",), (None,)]
    assert [r[2:] for r in set_aside(con, "school_census")] == [
        ("Femle", "'Femle' is not one of: M, F")
    ]
