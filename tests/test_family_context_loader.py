"""The Family Context "live" extracts (family_context/csc.csv and education.csv): loading them as
the public Family Context code ships them, rejecting broken rows with exact lines, and staging the
multi-line address into a one-line address and a postcode."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from data_model.runner import create_macros, discover_models, render
from loaders.base import create_load_tables, load_source
from loaders.contracts import BY_SOURCE
from tests.fixtures_extracts import csv_text, headers, load_checked, write_csv

CSC, EDUCATION = "family_context_csc", "family_context_education"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "family_context_live"
PERSON_COLUMNS = [
    ("source", "VARCHAR"),
    ("source_record_id", "VARCHAR"),
    ("source_person_id", "VARCHAR"),
    ("first_name", "VARCHAR"),
    ("last_name", "VARCHAR"),
    ("dob", "DATE"),
    ("sex", "VARCHAR"),
    ("address", "VARCHAR"),
    ("postcode", "VARCHAR"),
    ("record_date", "DATE"),
]
DATE_REASON = "is not a date (expected DD/MM/YYYY, YYYY-MM-DD or an Excel serial number)"
DATETIME_REASON = (
    "is not a date and time (expected DD/MM/YYYY HH:MM, YYYY-MM-DD HH:MM or an Excel serial number)"
)
EXTRACT_DATES = {
    "date_current_as_of": "2022-10-15 00:00:00",
    "coverage_start_date": "2018-01-01 00:00:00",
    "coverage_end_date": "2022-09-30 00:00:00",
    "coverage_geographic_area": "Bradford",
}


def csc_row(**changes: str) -> dict[str, str]:
    row = {
        "cms_id": "7190247",
        "first_name": "Martin",
        "last_name": "Taylor",
        "dob": "2011-12-13",
        "sex": "Male",
        "address": "Flat 78m\nSally mall\nDaviesmouth\nbd8 7ab",  # four lines, postcode last
        "service_involvement": "Historic",
        "local_authority_organisation": "Bradford Council",
        "contact_name": "Mrs Jacqueline O'Brien",
        "contact_role": "Social Worker",
        "contact_phone": "(01274) 960 320",
        "contact_email": "jobrien@bradford.gov.uk",
        **EXTRACT_DATES,
        "date_of_most_recent_interaction": "2022-07-07",
        "start_date_of_last_involvement": "2018-08-23",
    }
    return {**row, **changes}


def education_row(**changes: str) -> dict[str, str]:
    row = {
        "cms_id": "1551378",
        "first_name": "Damian",
        "last_name": "Taylor",
        "dob": "2011-12-13",
        "sex": "Male",
        "address": "639 Adam glens\nLake Stephenbury\nB86 0LF",
        "service_involvement": "Current",
        "school_name": "Allan, School",  # a comma: quoted, as in the sample
        "contact_number": "+44121 496 0491",
        "admission_type": "Full time",
        **EXTRACT_DATES,
        "date_of_most_recent_interaction": "2021-01-04",
        "start_date_of_last_involvement": "2021-12-09",
    }
    return {**row, **changes}


@pytest.fixture
def con():
    connection = duckdb.connect()
    create_load_tables(connection)
    create_macros(connection)
    yield connection
    connection.close()


def stage(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Run the source's staging model over its raw table, as the build does."""
    model = discover_models()[f"stg_{source}"]
    con.execute(f"create or replace table {model.name} as\n{render(model.sql)}")


def rows(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> list[tuple]:
    return con.execute(f"select {columns} from {table} order by source_record_id").fetchall()


# --- the format ----------------------------------------------------------------------------------


def test_contracts_take_the_sample_headers_in_order() -> None:
    assert headers(CSC)[:6] == headers(EDUCATION)[:6]
    assert headers(CSC)[6:12] == [
        "Service Involvement",
        "Local Authority Organisation",
        "Contact Name",
        "Contact Role",
        "Contact Phone",
        "Contact Email",
    ]
    assert headers(EDUCATION)[6:10] == [
        "Service Involvement",
        "School Name",
        "Contact Number",
        "Admission Type",
    ]
    for source in (CSC, EDUCATION):
        contract = BY_SOURCE[source]
        assert (contract.subfolder, contract.optional) == ("family_context", True)
        assert contract.person_id_field == "cms_id" and contract.unique_key == ("cms_id",)
        assert contract.currency_fields == ("date_current_as_of",)


def test_csc_fixture_loads_and_stages_address_postcode_and_dates(con, tmp_path: Path) -> None:
    write_csv(
        tmp_path,
        CSC,
        [
            csc_row(),  # lines 2-5
            csc_row(
                cms_id="5466968",
                first_name="Leanne",
                last_name="Clarke",
                dob="2014-07-28",
                sex="female",
                address="639 Adam glens\nLake Stephenbury\nB86 0LF",
                date_of_most_recent_interaction="",
            ),  # lines 6-8
            csc_row(
                cms_id="6320131",
                sex="Other",
                address="12 Oak Road\nKeighley",  # no postcode on the last line
                service_involvement="",
                date_of_most_recent_interaction="",
                start_date_of_last_involvement="",
                coverage_end_date="",
            ),  # lines 9-10
        ],
    )
    path = tmp_path / "family_context" / "csc.csv"
    assert path.read_text(encoding="utf-8").count("\n") == 10  # header + 4 + 3 + 2 lines

    result = load_checked(con, tmp_path, CSC)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    assert result.data_current_as_of == dt.date(2022, 10, 15)
    assert con.execute(
        "select line, sex, date_current_as_of, coverage_end_date, dob from raw_family_context_csc"
        " order by line"
    ).fetchall() == [
        (2, "Male", dt.datetime(2022, 10, 15), dt.datetime(2022, 9, 30), dt.date(2011, 12, 13)),
        (6, "Female", dt.datetime(2022, 10, 15), dt.datetime(2022, 9, 30), dt.date(2014, 7, 28)),
        (9, "Other", dt.datetime(2022, 10, 15), None, dt.date(2011, 12, 13)),
    ]

    stage(con, CSC)
    described = con.execute("describe stg_family_context_csc").fetchall()
    assert [(c[0], c[1]) for c in described[: len(PERSON_COLUMNS)]] == PERSON_COLUMNS
    assert [c[0] for c in described[len(PERSON_COLUMNS) :]] == [
        "service",
        "involvement",
        "organisation",
        "contact_name",
        "contact_role",
        "contact_phone",
        "contact_email",
        "current_as_of",
        "coverage_start",
        "coverage_end",
        "coverage_area",
        "last_interaction_date",
        "start_date",
    ]
    person = "source, source_record_id, source_person_id, first_name, last_name, dob, sex"
    assert rows(con, "stg_family_context_csc", person) == [
        (CSC, "5466968", "5466968", "Leanne", "Clarke", dt.date(2014, 7, 28), "F"),
        (CSC, "6320131", "6320131", "Martin", "Taylor", dt.date(2011, 12, 13), "U"),
        (CSC, "7190247", "7190247", "Martin", "Taylor", dt.date(2011, 12, 13), "M"),
    ]
    # the postcode comes off the last line, normalised; the address keeps the other lines
    assert rows(con, "stg_family_context_csc", "address, postcode, record_date") == [
        ("639 Adam glens, Lake Stephenbury", "B86 0LF", dt.date(2018, 8, 23)),  # involvement start
        ("12 Oak Road, Keighley", None, dt.date(2022, 10, 15)),  # current as of
        ("Flat 78m, Sally mall, Daviesmouth", "BD8 7AB", dt.date(2022, 7, 7)),  # interaction
    ]
    service = (
        "service, involvement, organisation, contact_name, contact_email, current_as_of,"
        " coverage_start, coverage_end, coverage_area, last_interaction_date, start_date"
    )
    assert rows(con, "stg_family_context_csc", service)[1:] == [
        ("Children's social care", None, "Bradford Council", "Mrs Jacqueline O'Brien")
        + ("jobrien@bradford.gov.uk", dt.date(2022, 10, 15), dt.date(2018, 1, 1), None)
        + ("Bradford", None, None),
        ("Children's social care", "Historic", "Bradford Council", "Mrs Jacqueline O'Brien")
        + ("jobrien@bradford.gov.uk", dt.date(2022, 10, 15), dt.date(2018, 1, 1))
        + (dt.date(2022, 9, 30), "Bradford", dt.date(2022, 7, 7), dt.date(2018, 8, 23)),
    ]


def test_education_fixture_stages_school_and_contact_number(con, tmp_path: Path) -> None:
    write_csv(
        tmp_path,
        EDUCATION,
        [
            education_row(),
            education_row(
                cms_id="9199977",
                address="Flat 46\r\nEvans lock\r\nJustinchester\r\n  n2   4eg  ",  # CRLF, spaces
                sex="Not Specified",
            ),
        ],
    )
    result = load_checked(con, tmp_path, EDUCATION)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    stage(con, EDUCATION)
    described = con.execute("describe stg_family_context_education").fetchall()
    assert [(c[0], c[1]) for c in described[: len(PERSON_COLUMNS)]] == PERSON_COLUMNS
    assert [c[0] for c in described[len(PERSON_COLUMNS) :]] == [
        "service",
        "involvement",
        "school_name",
        "contact_phone",
        "current_as_of",
        "coverage_start",
        "coverage_end",
        "coverage_area",
        "last_interaction_date",
        "start_date",
        "admission_type",
    ]
    assert rows(
        con,
        "stg_family_context_education",
        "source_person_id, sex, address, postcode, record_date, service, involvement,"
        " school_name, contact_phone, admission_type",
    ) == [
        ("1551378", "M", "639 Adam glens, Lake Stephenbury", "B86 0LF", dt.date(2021, 1, 4))
        + ("School", "Current", "Allan, School", "+44121 496 0491", "Full time"),
        ("9199977", "U", "Flat 46, Evans lock, Justinchester", "N2 4EG", dt.date(2021, 1, 4))
        + ("School", "Current", "Allan, School", "+44121 496 0491", "Full time"),
    ]


# --- rejects -------------------------------------------------------------------------------------


def test_broken_rows_are_rejected_or_set_aside_with_file_line_column_and_reason(
    con, tmp_path: Path
) -> None:
    write_csv(
        tmp_path,
        CSC,
        [
            csc_row(cms_id="1000001"),  # lines 2-5, good
            csc_row(cms_id="1000002", dob="2011-02-30"),  # lines 6-9
            csc_row(cms_id="1000003", address="1 Mill Lane\nBD1 1AA"),  # lines 10-11, good
            csc_row(cms_id="1000004", sex="Femle"),  # lines 12-15
            csc_row(cms_id="", address="2 Mill Lane\nBD1 1AA"),  # lines 16-17
            csc_row(cms_id="1000001", first_name="Another"),  # lines 18-21, repeats line 2's id
            csc_row(cms_id="1000005", date_current_as_of="2022-13-15 00:00:00"),  # lines 22-25
            csc_row(cms_id="1000006", coverage_end_date="2017-12-31 00:00:00"),  # lines 26-29
            csc_row(cms_id="1000007"),  # lines 30-33, good
        ],
    )
    result = load_checked(con, tmp_path, CSC)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (9, 5, 4)
    loaded = con.execute("select line, cms_id, dob, sex from raw_family_context_csc order by line")
    assert [row[:2] for row in loaded.fetchall()] == [
        (2, "1000001"),
        (6, "1000002"),
        (10, "1000003"),
        (12, "1000004"),
        (30, "1000007"),
    ]
    # A date of birth or gender that cannot be used is set aside; the row still loads.
    aside = con.execute(
        "select file, line, column_name, value, reason from load_set_aside where source = ?"
        " order by line",
        [CSC],
    ).fetchall()
    file = "family_context/csc.csv"
    assert aside == [
        (file, 6, "Date Of Birth", "2011-02-30", f"'2011-02-30' {DATE_REASON}"),
        (file, 12, "Gender", "Femle")
        + ("'Femle' is not one of: Male, Female, Other, Not Specified, Unknown",),
    ]
    found = con.execute(
        "select file, line, column_name, value, reason from load_rejects where source = ?"
        " order by line",
        [CSC],
    ).fetchall()
    assert found == [
        (file, 16, "Cms Id", "", "blank, but Cms Id is required"),
        (file, 18, "Cms Id", "1000001", "duplicate key (Cms Id 1000001) also on line 2"),
        (file, 22, "Date Current As Of", "2022-13-15 00:00:00")
        + (f"'2022-13-15 00:00:00' {DATETIME_REASON}",),
        (file, 26, "Coverage End Date", "2017-12-31 00:00:00", "coverage ends before it starts"),
    ]
    # the whole original row is kept, the multi-line address included
    record = json.loads(
        con.execute("select record_json from load_rejects where line = 16").fetchone()[0]
    )
    assert (record["Cms Id"], record["Address"]) == ("", "2 Mill Lane\nBD1 1AA")


# --- absent, as the build leaves it ---------------------------------------------------------------


@pytest.mark.parametrize("source", [CSC, EDUCATION])
def test_an_absent_source_stages_to_an_empty_table(con, tmp_path: Path, source: str) -> None:
    # imported here so that only this test depends on the build module importing
    from data_model.build import _create_empty_raw_table

    assert load_source(con, BY_SOURCE[source], tmp_path) is None  # optional: no file, no error
    _create_empty_raw_table(con, BY_SOURCE[source])  # what the build does for an absent source
    stage(con, source)
    described = con.execute(f"describe stg_{source}").fetchall()
    assert [(c[0], c[1]) for c in described[: len(PERSON_COLUMNS)]] == PERSON_COLUMNS
    assert con.execute(f"select count(*) from stg_{source}").fetchone()[0] == 0


# --- the public sample files ----------------------------------------------------------------------


@pytest.fixture
def samples() -> Path:
    if not (SAMPLES / "csc.csv").is_file() or not (SAMPLES / "education.csv").is_file():
        pytest.skip(f"the Family Context sample extracts are not at {SAMPLES}")
    return SAMPLES


def test_the_public_sample_files_load_with_no_rejects(con, tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "family_context"
    folder.mkdir()
    for name in ("csc.csv", "education.csv"):
        raw = (samples / name).read_bytes()
        # the fixtures above are written in the samples' own format, byte for byte
        cells = list(csv.reader(raw.decode("utf-8").splitlines(keepends=True)))
        assert csv_text(cells[0], cells[1:]).encode("utf-8") == raw
        (folder / name).write_bytes(raw)

    for source in (CSC, EDUCATION):
        result = load_checked(con, tmp_path, source)
        assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (500, 500, 0)
        assert result.data_current_as_of == dt.date(2022, 10, 15)
        stage(con, source)
        summary = con.execute(
            f"""select count(*), count(distinct source_person_id), count(postcode),
                       count(*) filter (where address like '%' || postcode || '%'),
                       count(*) filter (where address like '%' || chr(10) || '%'),
                       count(record_date), count(*) filter (where sex = 'U')
                from stg_{source}"""
        ).fetchone()
        assert summary == (500, 500, 500, 0, 0, 500, 9)  # 9 rows have Gender "Other"
    assert con.execute(
        "select address, postcode from stg_family_context_csc where source_record_id = '7190247'"
    ).fetchall() == [("Flat 78m, Sally mall, Daviesmouth", "G6T 3BF")]
