"""The extract loaders: reading every format and encoding, typing, rejecting with exact lines and
reasons, and never losing a row (loaded + rejected = read is checked on every load here)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from loaders import reading
from loaders.base import (
    ExtractError,
    LoadInvariantError,
    LoadResult,
    find_extract,
    load_all,
    load_source,
    normalise_header,
)
from loaders.contracts import BY_SOURCE, CONTRACTS
from tests.fixtures_extracts import (
    VALID,
    as_cells,
    csv_text,
    headers,
    load_checked,
    load_wards,
    rejects,
    set_aside,
    valid,
    write_bytes,
    write_csv,
    write_parquet,
    write_xlsx,
)

DATE_REASON = "is not a date (expected DD/MM/YYYY, YYYY-MM-DD or an Excel serial number)"


def raw(con: duckdb.DuckDBPyConnection, source: str, columns: str = "*") -> list[tuple]:
    return con.execute(f"select {columns} from raw_{source} order by line").fetchall()


# --- Typing ------------------------------------------------------------------------------------


def test_valid_rows_load_typed_and_canonical(con, tmp_path: Path) -> None:
    rows = [
        valid("ehm_referrals"),
        valid(
            "ehm_referrals",
            referral_id="  R0000002 ",
            person_id="   ",
            referral_source="school",
            cluster="AIREDALE & WHARFEDALE",
            decision="",
            decision_date="",
            received_date="2015-10-07",
        ),
    ]
    write_csv(tmp_path, "ehm_referrals", rows)
    load_wards(con, tmp_path)  # the clusters, spelled as the wards reference spells them
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    assert (result.file_format, result.encoding) == ("csv", "utf-8")
    assert result.data_current_as_of == dt.date(2015, 10, 7)  # latest received or decision date
    assert raw(con, "ehm_referrals") == [
        (
            2,
            "R0000001",
            "C000001",
            "P0000001",
            dt.date(2015, 10, 1),
            "School",
            "Attendance; Behaviour",
            "Accepted",
            dt.date(2015, 10, 5),
            "Keighley",
        ),
        (3, "R0000002", "C000001", None, dt.date(2015, 10, 7), "School")
        + ("Attendance; Behaviour", None, None, "Airedale & Wharfedale"),
    ]
    manifest = con.execute(
        "select source, title, file, file_format, encoding, data_current_as_of from load_manifest"
        " where source <> 'ref_wards'"
    ).fetchall()
    assert manifest == [
        (
            "ehm_referrals",
            "Early help: referrals",
            "ehm_referrals.csv",
            "csv",
            "utf-8",
            dt.date(2015, 10, 7),
        )
    ]


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.source)
def test_header_only_gives_an_empty_typed_table(con, tmp_path: Path, contract) -> None:
    write_csv(tmp_path, contract.source, [])
    result = load_checked(con, tmp_path, contract.source)
    assert (result.rows_read, result.rows_loaded, result.data_current_as_of) == (0, 0, None)
    types = {
        "text": "VARCHAR",
        "int": "BIGINT",
        "decimal": "DOUBLE",
        "date": "DATE",
        "datetime": "TIMESTAMP",
        "flag": "VARCHAR",
    }
    described = con.execute(f"describe raw_{contract.source}").fetchall()
    assert [(row[0], row[1]) for row in described] == [("line", "BIGINT")] + [
        (c.field, types[c.type]) for c in contract.columns
    ]


def test_dates_in_every_accepted_form(con, tmp_path: Path) -> None:
    accepted = {
        "01/02/2016": dt.date(2016, 2, 1),
        "1/2/2016": dt.date(2016, 2, 1),
        "01-02-2016": dt.date(2016, 2, 1),
        "01/02/2016 10:30": dt.date(2016, 2, 1),
        "01/02/2016 10:30:15": dt.date(2016, 2, 1),
        "2016-02-01": dt.date(2016, 2, 1),
        "2016-02-01T10:30:00": dt.date(2016, 2, 1),
        "42401": dt.date(2016, 2, 1),  # Excel serial number
        "42401.0": dt.date(2016, 2, 1),
        "1": dt.date(1900, 1, 1),
        "59": dt.date(1900, 2, 28),
        "61": dt.date(1900, 3, 1),
        "13/12/2016": dt.date(2016, 12, 13),  # day first, always
    }
    rows = [
        valid("ehm_people", person_id=f"P{i:07d}", recorded_date=v) for i, v in enumerate(accepted)
    ]
    write_csv(tmp_path, "ehm_people", rows)
    load_checked(con, tmp_path, "ehm_people")
    assert raw(con, "ehm_people", "recorded_date") == [(d,) for d in accepted.values()]
    assert rejects(con, "ehm_people") == []


BAD_DATES = [
    "31/02/2016",  # impossible
    "2016-13-01",
    "01/02/16",  # two-digit year
    "1st Feb 2016",
    "60",  # Excel's 29 February 1900, which never was
    "99999",
    "2016/02/01",
    "01/02/0016",  # a slip for 2016, not the year 16
    "0000-01-01",
]


def test_bad_dates_in_a_required_column_reject_the_row_with_the_value(con, tmp_path: Path) -> None:
    rows = [
        valid("ehm_people", person_id=f"P{i:07d}", recorded_date=v) for i, v in enumerate(BAD_DATES)
    ]
    write_csv(tmp_path, "ehm_people", rows)
    result = load_checked(con, tmp_path, "ehm_people")
    assert result.rows_rejected == len(BAD_DATES)
    assert rejects(con, "ehm_people") == [
        (line, "Date Recorded", value, f"'{value}' {DATE_REASON}")
        for line, value in enumerate(BAD_DATES, start=2)
    ]


def test_a_bad_date_of_birth_is_set_aside_and_the_row_kept(con, tmp_path: Path) -> None:
    values = [*BAD_DATES, "0", "N/K", "01/01/1900", "31/12/1899", "01/01/2099"]
    rows = [valid("ehm_people", person_id=f"P{i:07d}", dob=v) for i, v in enumerate(values)]
    write_csv(tmp_path, "ehm_people", rows)
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.rows_loaded, result.rows_rejected) == (len(values), 0)
    assert result.values_set_aside == len(values)
    assert raw(con, "ehm_people", "dob") == [(None,)] * len(values)
    current_to = max(r[0] for r in raw(con, "ehm_people", "recorded_date"))
    assert set_aside(con, "ehm_people") == [
        *[
            (line, "Date of Birth", value, f"'{value}' {DATE_REASON}")
            for line, value in enumerate(BAD_DATES, start=2)
        ],
        (11, "Date of Birth", "0", "'0' stands for not known"),
        (12, "Date of Birth", "N/K", "'N/K' stands for not known"),
        (13, "Date of Birth", "01/01/1900", "'01/01/1900' stands for not known"),
        (
            14,
            "Date of Birth",
            "31/12/1899",
            "'31/12/1899' is before 01 Jan 1900, the earliest plausible",
        ),
        (
            15,
            "Date of Birth",
            "01/01/2099",
            f"'01/01/2099' is after the extract's current-to date {current_to:%d %b %Y}",
        ),
    ]


def test_datetimes(con, tmp_path: Path) -> None:
    values = [
        "01/10/2015 22:15",
        "2015-10-01T22:15:30",
        "42278.5",
        "01/10/2015",
        "01/10/2015 25:00",
    ]
    rows = [
        valid("police_incidents", incident_ref=f"I{i}", incident_datetime=v)
        for i, v in enumerate(values)
    ]
    write_csv(tmp_path, "police_incidents", rows)
    load_checked(con, tmp_path, "police_incidents")
    assert raw(con, "police_incidents", "line, incident_datetime") == [
        (2, dt.datetime(2015, 10, 1, 22, 15)),
        (3, dt.datetime(2015, 10, 1, 22, 15, 30)),
        (4, dt.datetime(2015, 10, 1, 12, 0)),
        (5, dt.datetime(2015, 10, 1, 0, 0)),
    ]
    assert rejects(con, "police_incidents") == [
        (
            6,
            "INCIDENT_DATETIME",
            "01/10/2015 25:00",
            "'01/10/2015 25:00' is not a date and time"
            " (expected DD/MM/YYYY HH:MM, YYYY-MM-DD HH:MM or an Excel serial number)",
        )
    ]
    assert con.execute("select data_current_as_of from load_manifest").fetchall() == [
        (dt.date(2015, 10, 1),)
    ]


def test_whole_numbers_and_minimums(con, tmp_path: Path) -> None:
    rows = [
        valid("school_census", upn="A00000000001B", sessions_possible="140.0", school_urn="1,234"),
        valid("school_census", upn="A00000000002B", sessions_possible="abc"),
        valid("school_census", upn="A00000000003B", sessions_possible="140.5"),
        valid("school_census", upn="A00000000004B", fixed_term_exclusions="-1"),
    ]
    write_csv(tmp_path, "school_census", rows)
    load_checked(con, tmp_path, "school_census")
    assert raw(con, "school_census", "line, school_urn, sessions_possible") == [(2, 1234, 140)]
    assert rejects(con, "school_census") == [
        (3, "SessionsPossible", "abc", "'abc' is not a whole number"),
        (4, "SessionsPossible", "140.5", "'140.5' is not a whole number"),
        (5, "FixedTermExclusions", "-1", "'-1' is below the minimum of 0"),
    ]


def test_whole_numbers_that_a_plain_cast_would_misread(con, tmp_path: Path) -> None:
    values = ["+5", "007", " 12 ", "1e3", "0x1F", "1_000", "12.5", "1,23"]
    rows = [
        valid("housing_tenancies", tenancy_ref=f"T00000{i}", tenant_no=v)
        for i, v in enumerate(values)
    ]
    write_csv(tmp_path, "housing_tenancies", rows)
    load_checked(con, tmp_path, "housing_tenancies")
    assert raw(con, "housing_tenancies", "tenant_no") == [(5,), (7,), (12,)]
    assert [(line, value) for line, _, value, _ in rejects(con, "housing_tenancies")] == [
        (5, "1e3"),
        (6, "0x1F"),
        (7, "1_000"),
        (8, "12.5"),
        (9, "1,23"),
    ]


def test_decimals_accept_pounds_and_thousands(con, tmp_path: Path) -> None:
    values = ["£1,234.50", "1234.5", "-£12", "£ 0.5", "", "1,2", "abc", "£"]
    rows = [
        valid("housing_tenancies", tenant_no=str(i + 1), rent_arrears=v)
        for i, v in enumerate(values)
    ]
    write_csv(tmp_path, "housing_tenancies", rows)
    load_checked(con, tmp_path, "housing_tenancies")
    assert raw(con, "housing_tenancies", "rent_arrears") == [
        (1234.5,),
        (1234.5,),
        (-12.0,),
        (0.5,),
        (None,),
    ]
    assert rejects(con, "housing_tenancies") == [
        (7, "Rent Arrears", "1,2", "'1,2' is not a number"),
        (8, "Rent Arrears", "abc", "'abc' is not a number"),
        (9, "Rent Arrears", "£", "'£' is not a number"),
    ]


def test_allowed_values_match_any_case_and_are_stored_canonically(con, tmp_path: Path) -> None:
    rows = [
        valid("ehm_people", person_id="P0000001", sex="male"),
        valid("ehm_people", person_id="P0000002", sex="FEMALE"),
        valid("ehm_people", person_id="P0000003", sex="Femle"),
    ]
    write_csv(tmp_path, "ehm_people", rows)
    load_checked(con, tmp_path, "ehm_people")
    # Gender is an identity field: a value not allowed is set aside, the row kept.
    assert raw(con, "ehm_people", "sex") == [("Male",), ("Female",), (None,)]
    assert rejects(con, "ehm_people") == []
    assert set_aside(con, "ehm_people") == [
        (4, "Gender", "Femle", "'Femle' is not one of: Male, Female, Unknown")
    ]


def test_patterns_and_required_values(con, tmp_path: Path) -> None:
    rows = [
        valid("ehm_referrals", referral_id="R12"),
        valid("ehm_referrals", referral_id="r0000002"),
        valid("ehm_referrals", referral_id="R0000003", received_date=""),
        valid("ehm_referrals", referral_id="R0000004", received_date="   "),
    ]
    write_csv(tmp_path, "ehm_referrals", rows)
    load_checked(con, tmp_path, "ehm_referrals")
    assert rejects(con, "ehm_referrals") == [
        (2, "Referral ID", "R12", "does not match the expected pattern"),
        (3, "Referral ID", "r0000002", "does not match the expected pattern"),
        (4, "Date Received", "", "blank, but Date Received is required"),
        (5, "Date Received", "   ", "blank, but Date Received is required"),
    ]


def test_row_failing_two_columns_is_one_rejected_row_with_two_reasons(con, tmp_path: Path) -> None:
    rows = [
        valid("ehm_referrals", referral_id="X", cluster="Leeds"),
        valid("ehm_referrals", referral_id="R0000002"),
    ]
    write_csv(tmp_path, "ehm_referrals", rows)
    load_wards(con, tmp_path)
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert rejects(con, "ehm_referrals") == [
        (
            2,
            "Cluster",
            "Leeds",
            "'Leeds' is not one of: Airedale & Wharfedale, BD5, East Bradford, Keighley,"
            " Lister Park, South Bradford, West Bradford",
        ),
        (2, "Referral ID", "X", "does not match the expected pattern"),
    ]


def test_row_checks(con, tmp_path: Path) -> None:
    rows = [
        valid("ehm_referrals", referral_id="R0000001", decision_date="30/09/2015"),
        valid("ehm_referrals", referral_id="R0000002", decision=""),
        # A value that failed is not also blamed on a row check it made misfire.
        valid("ehm_referrals", referral_id="R0000003", decision_date="not a date"),
        valid("ehm_referrals", referral_id="R0000004"),
    ]
    write_csv(tmp_path, "ehm_referrals", rows)
    load_checked(con, tmp_path, "ehm_referrals")
    assert rejects(con, "ehm_referrals") == [
        (2, "Decision Date", "30/09/2015", "decision date is before the date received"),
        (
            3,
            "Decision Date",
            "05/10/2015",
            "a decision needs a decision date, and a decision date needs a decision",
        ),
        (4, "Decision Date", "not a date", f"'not a date' {DATE_REASON}"),
    ]
    assert raw(con, "ehm_referrals", "line") == [(5,)]


def test_row_check_on_a_blank_optional_value(con, tmp_path: Path) -> None:
    rows = [
        valid("dwp_spells", spell_id="S1", spell_type="Employment", benefit_type=""),
        valid("dwp_spells", spell_id="S2", spell_type="Employment", benefit_type="JSA"),
        valid("dwp_spells", spell_id="S3", benefit_type=""),
        valid("dwp_spells", spell_id="S4", end_date=""),
    ]
    write_csv(tmp_path, "dwp_spells", rows)
    load_checked(con, tmp_path, "dwp_spells")
    reason = "a benefit spell needs a benefit type; an employment spell has none"
    assert rejects(con, "dwp_spells") == [
        (3, "benefit_type", "JSA", reason),
        (4, "benefit_type", "", reason),
    ]
    assert raw(con, "dwp_spells", "spell_id, end_date") == [
        ("S1", dt.date(2015, 6, 30)),
        ("S4", None),
    ]


# --- Duplicates --------------------------------------------------------------------------------


def test_duplicate_rows_and_keys_keep_the_first(con, tmp_path: Path) -> None:
    first = valid("ehm_referrals", referral_id="R0000123")
    rows = [
        valid("ehm_referrals", referral_id="R0000123", received_date="bad"),  # line 2: rejected
        first,  # line 3: kept, the first valid one
        valid("ehm_referrals", referral_id="R0000200"),  # line 4
        dict(first),  # line 5: the same row again
        valid("ehm_referrals", referral_id="R0000123", cluster="BD5"),  # line 6: same key
        valid("ehm_referrals", referral_id=" R0000123", cluster="bd5"),  # line 7: same once cleaned
    ]
    write_csv(tmp_path, "ehm_referrals", rows)
    load_wards(con, tmp_path)
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_loaded, result.rows_rejected) == (2, 4)
    assert rejects(con, "ehm_referrals") == [
        (2, "Date Received", "bad", f"'bad' {DATE_REASON}"),
        (5, None, None, "duplicate row: same as line 3"),
        (6, "Referral ID", "R0000123", "duplicate key (Referral ID R0000123) also on line 3"),
        (7, None, None, "duplicate row: same as line 6"),
    ]
    assert raw(con, "ehm_referrals", "line") == [(3,), (4,)]


def test_duplicate_key_over_several_columns(con, tmp_path: Path) -> None:
    rows = [valid("school_census"), valid("school_census", sessions_possible="150")]
    write_csv(tmp_path, "school_census", rows)
    load_checked(con, tmp_path, "school_census")
    assert rejects(con, "school_census") == [
        (
            3,
            "UPN, AcademicYear, Term",
            "A12345678901B, 2015/16, Autumn",
            "duplicate key (UPN A12345678901B, AcademicYear 2015/16, Term Autumn) also on line 2",
        )
    ]


def test_duplicate_rows_without_a_unique_key(con, tmp_path: Path) -> None:
    write_csv(tmp_path, "ref_programme", [valid("ref_programme")] * 3)
    load_checked(con, tmp_path, "ref_programme")
    assert rejects(con, "ref_programme") == [
        (3, None, None, "duplicate row: same as line 2"),
        (4, None, None, "duplicate row: same as line 2"),
    ]


def test_record_json_keeps_the_whole_original_row(con, tmp_path: Path) -> None:
    header = [*headers("ehm_people"), "Notes"]
    row = as_cells("ehm_people", [valid("ehm_people", case_id=" C12 ")])[0] + ["see file, p.2"]
    write_csv(tmp_path, "ehm_people", [row], header=header)
    result = load_checked(con, tmp_path, "ehm_people")
    assert result.ignored_columns == ("Notes",)
    (record,) = con.execute("select record_json from load_rejects").fetchone()
    assert json.loads(record) == dict(zip(header, row, strict=True))


# --- Header and files --------------------------------------------------------------------------


def test_missing_columns_name_the_file_and_every_column(tmp_path: Path, con) -> None:
    header = [h for h in headers("ehm_referrals") if h not in ("Decision Date", "Cluster")]
    write_csv(tmp_path, "ehm_referrals", [], header=header)
    with pytest.raises(ExtractError) as error:
        load_source(con, BY_SOURCE["ehm_referrals"], tmp_path)
    assert str(error.value) == "ehm_referrals.csv: missing required columns: Decision Date, Cluster"


def test_a_column_the_contract_lets_a_file_leave_out_loads_blank(tmp_path: Path, con) -> None:
    """NHS shares that send postcodes only leave patient_address out: the rows still load."""
    contract = BY_SOURCE["health_events"]
    assert [c.header for c in contract.columns if c.may_be_absent] == ["patient_address"]
    header = [h for h in headers("health_events") if h != "patient_address"]
    cells = [
        [
            valid("health_events", event_id=f"EV{i}", address="1 Oak Road").get(c.field, "")
            for c in contract.columns
            if c.header != "patient_address"
        ]
        for i in (1, 2)
    ]
    write_csv(tmp_path, "health_events", cells, header=header)
    result = load_checked(con, tmp_path, "health_events")
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert con.execute("select count(address) from raw_health_events").fetchall() == [(0,)]

    # Sent with the column, the address is kept.
    write_csv(
        tmp_path,
        "health_events",
        as_cells("health_events", [valid("health_events", address="1 Oak Road, Bradford")]),
        header=headers("health_events"),
    )
    load_checked(con, tmp_path, "health_events")
    assert con.execute("select address from raw_health_events").fetchall() == [
        ("1 Oak Road, Bradford",)
    ]


def test_missing_column_in_a_reference_file(tmp_path: Path, con) -> None:
    header = [h for h in headers("ref_wards") if h != "population"]
    write_csv(tmp_path, "ref_wards", [], header=header)
    with pytest.raises(
        ExtractError, match=r"^reference/wards\.csv: missing required column: population$"
    ):
        load_source(con, BY_SOURCE["ref_wards"], tmp_path)


def test_headers_match_ignoring_case_spaces_and_punctuation(con, tmp_path: Path) -> None:
    header = [
        "REFERRAL_ID",
        "case id",
        "Person-ID",
        "DateReceived",
        "referral source",
        "Referral.Reasons",
        "\ufeffDECISION",
        "decision_date",
        "CLUSTER ",
        "Worker",
    ]
    row = as_cells("ehm_referrals", [valid("ehm_referrals")])[0] + ["KW0001"]
    write_csv(tmp_path, "ehm_referrals", [row], header=header)
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_loaded, result.ignored_columns) == (1, ("Worker",))


def test_columns_in_another_order(con, tmp_path: Path) -> None:
    header = list(reversed(headers("ehm_people")))
    row = list(reversed(as_cells("ehm_people", [valid("ehm_people")])[0]))
    write_csv(tmp_path, "ehm_people", [row], header=header)
    load_checked(con, tmp_path, "ehm_people")
    assert raw(con, "ehm_people", "person_id, dob") == [("P0000001", dt.date(2010, 4, 3))]


def test_a_missing_file_stops_naming_it(con, tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match=r"^police_incidents\.csv: not found in "):
        load_source(con, BY_SOURCE["police_incidents"], tmp_path)
    with pytest.raises(
        ExtractError, match=r"^ehm_people\.csv, ehm_relationships\.csv, .*not found"
    ):
        load_all(con, tmp_path)
    assert load_source(con, BY_SOURCE["ref_programme"], tmp_path) is None  # optional


def test_file_extension_is_matched_in_any_case(con, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "ehm_people", [valid("ehm_people")])
    path.rename(path.with_name("ehm_people.CSV"))
    assert find_extract(tmp_path, BY_SOURCE["ehm_people"]) == tmp_path / "ehm_people.CSV"
    assert load_checked(con, tmp_path, "ehm_people").rows_loaded == 1


def test_two_files_for_one_source_stop(con, tmp_path: Path) -> None:
    write_csv(tmp_path, "ehm_people", [])
    write_xlsx(tmp_path, "ehm_people", [])
    with pytest.raises(ExtractError, match=r"^ehm_people\.csv: more than one file .*keep only one"):
        find_extract(tmp_path, BY_SOURCE["ehm_people"])


@pytest.mark.parametrize(
    "content", [b"", b"\n\n\r\n", b"\xef\xbb\xbf"], ids=["0 bytes", "blank lines", "BOM only"]
)
def test_an_empty_file_stops(con, tmp_path: Path, content: bytes) -> None:
    write_bytes(tmp_path, "ehm_people", content)
    with pytest.raises(ExtractError, match=r"^ehm_people\.csv: the file is empty$"):
        load_source(con, BY_SOURCE["ehm_people"], tmp_path)


def test_unreadable_files_stop_naming_the_file(con, tmp_path: Path) -> None:
    write_bytes(tmp_path, "housing_tenancies", b"PK\x03\x04 not really a workbook", "xlsx")
    with pytest.raises(
        ExtractError, match=r"^housing_tenancies\.xlsx: cannot be read as XLSX \(.+\)$"
    ):
        load_source(con, BY_SOURCE["housing_tenancies"], tmp_path)
    write_bytes(tmp_path, "health_events", b"PAR1 broken", "parquet")
    with pytest.raises(ExtractError, match=r"^health_events\.parquet: cannot be read as PARQUET"):
        load_source(con, BY_SOURCE["health_events"], tmp_path)
    (tmp_path / "ehm_people.csv").mkdir()
    with pytest.raises(ExtractError, match=r"^ehm_people\.csv: is a folder, not a file$"):
        load_source(con, BY_SOURCE["ehm_people"], tmp_path)


def test_error_messages_are_one_line(con, tmp_path: Path) -> None:
    write_bytes(tmp_path, "health_events", b"PAR1\n\nbroken\n", "parquet")
    with pytest.raises(ExtractError) as error:
        load_source(con, BY_SOURCE["health_events"], tmp_path)
    assert "\n" not in str(error.value)


# --- Encodings ---------------------------------------------------------------------------------


def test_cp1252_file_loads_with_curly_quotes_and_accents(con, tmp_path: Path) -> None:
    rows = [
        valid("police_incidents", last_name="O’BRIEN", first_name="Zoé", outcome="Fine – £50 €"),
    ]
    write_csv(tmp_path, "police_incidents", rows, encoding="cp1252")
    result = load_checked(con, tmp_path, "police_incidents")
    assert result.encoding == "cp1252"
    assert raw(con, "police_incidents", "last_name, first_name, outcome") == [
        ("O’BRIEN", "Zoé", "Fine – £50 €")
    ]


def test_utf8_with_bom(con, tmp_path: Path) -> None:
    write_csv(tmp_path, "ehm_people", [valid("ehm_people", first_name="Zoë")], encoding="utf-8-sig")
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.encoding, result.rows_loaded) == ("utf-8-sig", 1)
    assert raw(con, "ehm_people", "first_name") == [("Zoë",)]
    assert con.execute("select encoding from load_manifest").fetchall() == [("utf-8-sig",)]


def test_a_byte_that_is_neither_utf8_nor_cp1252_stops_with_its_line(con, tmp_path: Path) -> None:
    # 0x81 is one of the five bytes Windows-1252 leaves undefined: guessing would corrupt names.
    text = csv_text(
        headers("police_incidents"), as_cells("police_incidents", [valid("police_incidents")] * 2)
    )
    data = text.encode("cp1252").replace(b"Sean", b"Se\x81n", 2).replace(b"Se\x81n", b"Sean", 1)
    write_bytes(tmp_path, "police_incidents", data)
    with pytest.raises(ExtractError) as error:
        load_source(con, BY_SOURCE["police_incidents"], tmp_path)
    assert str(error.value) == (
        "police_incidents.csv: line 3 has byte 0x81, which is not UTF-8 or Windows-1252 (cp1252)"
        " text; save the file as CSV UTF-8"
    )


def test_utf16_with_bom(con, tmp_path: Path) -> None:
    write_csv(tmp_path, "ehm_people", [valid("ehm_people", first_name="Zoë")], encoding="utf-16")
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.encoding, raw(con, "ehm_people", "first_name")) == ("utf-16", [("Zoë",)])


# --- CSV structure and line numbers ------------------------------------------------------------


def test_a_quote_never_closed_does_not_hide_the_lines_after_it(con, tmp_path: Path) -> None:
    rows = as_cells("ehm_people", [valid("ehm_people", person_id=f"P000000{i}") for i in (1, 2, 3)])
    lines = csv_text(headers("ehm_people"), rows).splitlines()
    lines[2] = lines[2].replace("Aisha", '"Aisha')  # line 3 opens a quote that never closes
    write_bytes(tmp_path, "ehm_people", "\n".join(lines) + "\n")
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.rows_read, result.rows_loaded) == (3, 2)
    assert rejects(con, "ehm_people") == [
        (
            3,
            None,
            None,
            "has a quote that is never closed, so it was not loaded; reading resumed on line 4",
        )
    ]
    assert raw(con, "ehm_people", "line, person_id") == [(2, "P0000001"), (4, "P0000003")]


def test_malformed_lines_are_rejected_and_later_lines_stay_right(con, tmp_path: Path) -> None:
    good = csv_text(
        headers("ehm_people"), as_cells("ehm_people", [valid("ehm_people")])
    ).splitlines()
    row = good[1]
    text = (
        "\n".join(
            [
                good[0],
                row,  # 2
                "P0000002,C000001,Too,Few",  # 3
                row.replace("P0000001", "P0000003") + ",extra,fields",  # 4
                "",  # 5: a blank line is not a row
                row.replace("P0000001", "P0000004").replace("Aisha", '"Ai,sha"'),  # 6
                "just a note",  # 7
            ]
        )
        + "\n"
    )
    write_bytes(tmp_path, "ehm_people", text)
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 2, 3)
    assert rejects(con, "ehm_people") == [
        (3, None, None, "has 4 fields, but the header has 12"),
        (4, None, None, "has 14 fields, but the header has 12"),
        (7, None, None, "has 1 field, but the header has 12"),
    ]
    assert raw(con, "ehm_people", "line, person_id, first_name") == [
        (2, "P0000001", "Aisha"),
        (6, "P0000004", "Ai,sha"),
    ]
    records = [
        json.loads(r)
        for (r,) in con.execute("select record_json from load_rejects order by line").fetchall()
    ]
    assert records[0] == {
        "Person ID": "P0000002",
        "Case ID": "C000001",
        "Forename": "Too",
        "Surname": "Few",
    }
    assert records[1]["(extra field 1)"] == "extra" and records[1]["(extra field 2)"] == "fields"
    assert records[2] == {"Person ID": "just a note"}


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_multiline_quoted_addresses_keep_line_numbers(con, tmp_path: Path, newline: str) -> None:
    rows = [
        valid("csc_episodes", episode_id="E1"),  # lines 2-4 (three-line address)
        valid("csc_episodes", episode_id="E2", address="1 Low Lane"),  # line 5
        valid("csc_episodes", episode_id="E3", episode_type="CIN"),  # lines 6-8
        valid("csc_episodes", episode_id="E4", address="a\n\nb", start_date="x"),  # lines 9-11
        valid("csc_episodes", episode_id="E5", address=""),  # line 12
    ]
    path = write_csv(tmp_path, "csc_episodes", rows, newline=newline)
    if newline == "\r\n":  # csv writes embedded newlines as given: make them CRLF too
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    load_checked(con, tmp_path, "csc_episodes")
    assert rejects(con, "csc_episodes") == [
        (
            6,
            "Episode Type",
            "CIN",
            "'CIN' is not one of: Child in Need, Child Protection Plan, Looked After",
        ),
        (9, "Start Date", "x", f"'x' {DATE_REASON}"),
    ]
    lines = raw(con, "csc_episodes", "line, episode_id, address")
    assert [(line, episode) for line, episode, _ in lines] == [(2, "E1"), (5, "E2"), (12, "E5")]
    assert lines[0][2].replace("\r\n", "\n") == "Flat 2\n10 Manor Row\nBradford"


def test_malformed_line_after_multiline_fields_many_rows(con, tmp_path: Path) -> None:
    """Thousands of rows, so the fast reader splits the work; one bad line far down."""
    rows = [valid("csc_episodes", episode_id=f"E{i}") for i in range(5000)]
    text = csv_text(headers("csc_episodes"), as_cells("csc_episodes", rows))
    lines = text.split("\n")
    # Each row takes 3 lines; row 4000 (0-based) starts on line 2 + 3 * 4000.
    bad_line = 2 + 3 * 4000
    lines.insert(bad_line - 1, "oops,not,enough")
    write_bytes(tmp_path, "csc_episodes", "\n".join(lines))
    result = load_checked(con, tmp_path, "csc_episodes")
    assert (result.rows_read, result.rows_rejected) == (5001, 1)
    assert rejects(con, "csc_episodes") == [
        (bad_line, None, None, "has 3 fields, but the header has 13")
    ]
    assert raw(con, "csc_episodes", "line, episode_id")[3999:4001] == [
        (bad_line - 3, "E3999"),
        (bad_line + 1, "E4000"),
    ]


def test_quotes_inside_words_are_kept_as_characters(con, tmp_path: Path, monkeypatch) -> None:
    """Not valid CSV, but common: a quote inside a value that is not quoted is a character."""
    monkeypatch.setattr(reading, "_read_csv_python", None)  # the fast reader handles this
    header = ",".join(headers("police_incidents"))
    row = ",".join(
        as_cells("police_incidents", [valid("police_incidents", address="1 High St")])[0]
    )
    text = "\n".join(
        [
            header,
            row.replace("O'BRIEN", 'O"BRIEN'),  # 2
            row.replace("INC/2015/0001", "INC2").replace("Sean", '"Se\nan"'),  # 3-4
            row.replace("INC/2015/0001", "INC3").replace("Sean", 'Sean "Jack" 12" tall'),  # 5
            "short,line",  # 6
            row.replace("INC/2015/0001", "INC5"),  # 7
        ]
    )
    write_bytes(tmp_path, "police_incidents", text)
    load_checked(con, tmp_path, "police_incidents")
    assert raw(con, "police_incidents", "line, incident_ref, last_name, first_name") == [
        (2, "INC/2015/0001", 'O"BRIEN', "Sean"),
        (3, "INC2", "O'BRIEN", "Se\nan"),
        (5, "INC3", "O'BRIEN", 'Sean "Jack" 12" tall'),
        (7, "INC5", "O'BRIEN", "Sean"),
    ]
    assert rejects(con, "police_incidents") == [
        (6, None, None, "has 2 fields, but the header has 14")
    ]


@pytest.mark.parametrize(
    ("text", "second"),
    [
        ("A,B\r1,2\r3,4\r", "2"),  # old Mac line endings
        ('A,B\n1,12"\n3,4\n', '12"'),  # a quote that looks as if it closes a value
    ],
    ids=["CR line endings", "quote before a newline"],
)
def test_files_the_fast_reader_cannot_split_are_read_exactly(text: str, second: str) -> None:
    extract = reading._read_csv(text.encode(), "x.csv")
    assert extract.headers == ["A", "B"]
    assert extract.table.to_pylist() == [
        {"line": 2, "c0": "1", "c1": second},
        {"line": 3, "c0": "3", "c1": "4"},
    ]


# --- XLSX and Parquet --------------------------------------------------------------------------


HOUSING_TYPED = [
    (
        2,
        "T000001",
        1,
        "SMITH, Jane",
        dt.date(1975, 2, 2),
        "4 Park Road, Bradford",
        "BD5 0AA",
        dt.date(2010, 4, 1),
        None,
        1234.5,
        None,
        None,
        dt.date(2016, 3, 31),
    ),
    (
        3,
        "T000001",
        2,
        "SMITH, John",
        None,
        "4 Park Road, Bradford",
        "BD5 0AA",
        dt.date(2010, 4, 1),
        dt.date(2016, 1, 31),
        0.0,
        dt.date(2015, 11, 2),
        None,
        dt.date(2016, 3, 31),
    ),
]


def test_csv_xlsx_and_parquet_give_the_same_raw_table(con, tmp_path: Path) -> None:
    rows = [
        valid("housing_tenancies"),
        valid(
            "housing_tenancies",
            tenant_no="2",
            tenant_name="SMITH, John",
            dob="",
            tenancy_end="31/01/2016",
            rent_arrears="0",
            nosp_served_date="02/11/2015",
        ),
    ]
    write_csv(tmp_path / "csv", "housing_tenancies", rows)
    cells = [
        ["T000001", 1, "SMITH, Jane", dt.date(1975, 2, 2), "4 Park Road, Bradford", "BD5 0AA"]
        + [dt.date(2010, 4, 1), None, 1234.5, None, None, dt.date(2016, 3, 31)],
        ["T000001", 2.0, "SMITH, John", None, "4 Park Road, Bradford", "BD5 0AA"]
        + [40269, dt.date(2016, 1, 31), 0, dt.date(2015, 11, 2), None, 42460],  # serials too
    ]
    write_xlsx(tmp_path / "xlsx", "housing_tenancies", cells)
    columns = list(zip(*cells, strict=True))
    write_parquet(
        tmp_path / "parquet",
        "housing_tenancies",
        {
            h: pa.array(
                [
                    dt.date(1899, 12, 30) + dt.timedelta(days=v)
                    if isinstance(v, int) and v > 40000
                    else v
                    for v in col
                ],
                type={"Tenant No": pa.int64(), "Rent Arrears": pa.float64()}.get(h),
            )
            for h, col in zip(headers("housing_tenancies"), columns, strict=True)
        },
    )
    results = {}
    for kind in ("csv", "xlsx", "parquet"):
        results[kind] = load_checked(con, tmp_path / kind, "housing_tenancies")
        assert raw(con, "housing_tenancies") == HOUSING_TYPED, kind
        assert rejects(con, "housing_tenancies") == [], kind
    assert [r.file_format for r in results.values()] == ["csv", "xlsx", "parquet"]
    assert results["xlsx"].encoding is None
    assert con.execute("select count(*) from load_manifest").fetchone()[0] == 1  # replaced


def test_xlsx_rows_are_worksheet_rows_and_the_named_sheet_is_read(con, tmp_path: Path) -> None:
    cells = as_cells(
        "ehm_people", [valid("ehm_people", person_id=f"P000000{i}") for i in range(1, 4)]
    )
    cells[2][11] = "31/02/2010"  # text that is not a date
    cells[2][4] = "31/02/2010"  # nor is this: a date of birth, set aside
    cells[0][4] = 40271  # an Excel serial number in a number cell: 3 April 2010
    write_xlsx(
        tmp_path,
        "ehm_people",
        cells,
        sheet="Early help - people",
        before=["Read me"],
        blank_rows_after=[0],
    )
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.file_format, result.rows_read) == ("xlsx", 3)
    assert raw(con, "ehm_people", "line, person_id, dob") == [
        (2, "P0000001", dt.date(2010, 4, 3)),
        (4, "P0000002", dt.date(2010, 4, 3)),
    ]
    assert rejects(con, "ehm_people") == [
        (5, "Date Recorded", "31/02/2010", f"'31/02/2010' {DATE_REASON}")
    ]


def test_xlsx_first_sheet_when_no_sheet_is_named_for_the_source(con, tmp_path: Path) -> None:
    write_xlsx(
        tmp_path, "ehm_people", as_cells("ehm_people", [valid("ehm_people")]), sheet="Export"
    )
    assert load_checked(con, tmp_path, "ehm_people").rows_loaded == 1


def test_an_empty_worksheet_stops(con, tmp_path: Path) -> None:
    write_xlsx(tmp_path, "ehm_people", [], header=[])
    with pytest.raises(ExtractError, match=r"^ehm_people\.xlsx: the file is empty"):
        load_source(con, BY_SOURCE["ehm_people"], tmp_path)


def test_parquet_lines_are_row_index_plus_two(con, tmp_path: Path) -> None:
    rows = [valid("health_events", event_id=f"EV{i}") for i in range(3)]
    rows[1]["event_date"] = "yesterday"
    columns = {
        h: [c[i] for c in as_cells("health_events", rows)]
        for i, h in enumerate(headers("health_events"))
    }
    columns["event_date"] = pa.array([dt.date(2015, 11, 11), None, dt.date(2015, 11, 12)])
    columns["nhs_number"] = pa.array([9434765919.0, 9434765919.0, None])  # numbers, not text
    columns["gender_code"] = pa.array([1, 2, 9])
    write_parquet(tmp_path, "health_events", columns)
    result = load_checked(con, tmp_path, "health_events")
    assert (result.file_format, result.data_current_as_of) == ("parquet", dt.date(2015, 11, 12))
    assert raw(con, "health_events", "line, event_id, event_date, nhs_number, sex") == [
        (2, "EV0", dt.date(2015, 11, 11), "9434765919", "1"),
        (4, "EV2", dt.date(2015, 11, 12), None, "9"),
    ]
    assert rejects(con, "health_events") == [
        (3, "event_date", None, "blank, but event_date is required")
    ]


# --- load_all and the invariant ----------------------------------------------------------------


def test_load_all_reports_progress_and_skips_an_absent_optional_source(con, tmp_path: Path) -> None:
    for contract in CONTRACTS:
        if not contract.optional:
            write_csv(tmp_path, contract.source, [])
    write_csv(tmp_path, "ehm_people", [valid("ehm_people")])
    seen: list[tuple[str, LoadResult | None]] = []
    results = load_all(con, tmp_path, progress=lambda source, result: seen.append((source, result)))
    # the wards reference first: referrals' and episodes' clusters are checked against its own
    in_order = ["ref_wards", *(c.source for c in CONTRACTS if c.source != "ref_wards")]
    # the largest file loads alongside the others and is reported last
    largest = max(
        (c for c in CONTRACTS if find_extract(tmp_path, c) is not None),
        key=lambda c: find_extract(tmp_path, c).stat().st_size,
    ).source
    assert [source for source, _ in seen] == [s for s in in_order if s != largest] + [largest]
    assert dict(seen)["ref_programme"] is None
    assert [r.source for r in results] == [s for s in in_order if not BY_SOURCE[s].optional]
    assert con.execute("select sum(rows_loaded) from load_manifest").fetchone()[0] == 1


def _every_required_file(folder: Path, census_rows: int) -> None:
    """Every required file with one valid row, and a school census of `census_rows` pupils (the
    largest file, which loads on a connection of its own alongside the others)."""
    for contract in CONTRACTS:
        if not contract.optional:
            write_csv(
                folder,
                contract.source,
                [valid(contract.source)] if contract.source in VALID else [],
            )
    write_csv(
        folder,
        "school_census",
        [valid("school_census", upn=f"A{n:012d}") for n in range(census_rows)],
    )


def test_the_largest_file_loads_alongside_the_others_with_the_same_rows(
    con, tmp_path: Path
) -> None:
    _every_required_file(tmp_path, 2_000)
    results = {r.source: r for r in load_all(con, tmp_path)}
    assert results["school_census"].rows_read == 2_000
    # the same rows and counts as the census loaded on its own, on this connection
    together = con.execute("select * from raw_school_census order by line").fetchall()
    manifest = con.execute(
        "select source, rows_read, rows_loaded, rows_rejected from load_manifest"
        " where absent is null order by source"
    ).fetchall()
    alone = duckdb.connect()
    try:
        load_source(alone, BY_SOURCE["school_census"], tmp_path)
        assert alone.execute("select * from raw_school_census order by line").fetchall() == together
    finally:
        alone.close()
    assert {source for source, *_ in manifest} == set(results)
    read = {source: rows_read for source, rows_read, _, _ in manifest}
    assert read["school_census"] == 2_000 and read["police_incidents"] == 1
    assert all(rows_read == loaded + rejected for _, rows_read, loaded, rejected in manifest)


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        # both broken: the error is the one loading file by file would meet first
        (("ehm_people", "school_census"), "ehm_people.csv"),
        (("school_census", "health_events"), "school_census.csv"),
        (("school_census",), "school_census.csv"),
        (("health_events",), "health_events.csv"),
    ],
)
def test_a_broken_file_stops_the_load_naming_the_first_in_load_order(
    con, tmp_path: Path, broken: tuple[str, ...], named: str
) -> None:
    _every_required_file(tmp_path, 500)
    for source in broken:
        # its header without its first column: a missing required column
        write_csv(tmp_path, source, [], header=headers(source)[1:])
    with pytest.raises(ExtractError, match=rf"{named}: missing required column"):
        load_all(con, tmp_path)


def test_loading_a_source_again_replaces_its_rows(con, tmp_path: Path) -> None:
    write_csv(tmp_path, "ehm_people", [valid("ehm_people", case_id="x", sex="x")])
    load_checked(con, tmp_path, "ehm_people")
    load_checked(con, tmp_path, "ehm_people")
    assert len(rejects(con, "ehm_people")) == 1
    assert len(set_aside(con, "ehm_people")) == 0  # set aside only from rows loaded


def test_a_broken_invariant_raises(con, tmp_path: Path, monkeypatch) -> None:
    write_csv(tmp_path, "ehm_people", [valid("ehm_people")])
    monkeypatch.setattr(reading.Extract, "rows_read", property(lambda self: 2))
    with pytest.raises(LoadInvariantError, match="loaded 1 \\+ rejected 0 ≠ read 2"):
        load_source(con, BY_SOURCE["ehm_people"], tmp_path)


def test_xlsx_date_and_time_cells(con, tmp_path: Path) -> None:
    row = as_cells("police_incidents", [valid("police_incidents")])[0]
    row[8] = dt.datetime(2015, 10, 1, 22, 15)  # INCIDENT_DATETIME as a date-time cell
    row[4] = dt.date(1980, 12, 12)  # DOB as a date cell
    write_xlsx(tmp_path, "police_incidents", [row])
    load_checked(con, tmp_path, "police_incidents")
    assert raw(con, "police_incidents", "dob, incident_datetime") == [
        (dt.date(1980, 12, 12), dt.datetime(2015, 10, 1, 22, 15))
    ]


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.source)
def test_contracts_name_only_their_own_fields(contract) -> None:
    """The loader builds SQL from these names: a typo would fail every load of the source."""
    fields = set(contract.fields)
    assert len(fields) == len(contract.fields)
    assert set(contract.unique_key) <= fields
    assert set(contract.currency_fields) <= fields
    assert {check.column for check in contract.row_checks} <= fields
    assert all(contract.column(f).type in ("date", "datetime") for f in contract.currency_fields)
    assert len({normalise_header(c.header) for c in contract.columns}) == len(contract.columns)


def test_clusters_are_the_councils_own_from_its_wards_reference(con, tmp_path: Path) -> None:
    """Another council's early help clusters: a referral's cluster is one its wards reference
    names (spelled as the reference spells it), not one of Bradford's."""
    load_wards(con, tmp_path, clusters=("Leeds North", "Leeds South"))
    rows = [
        valid("ehm_referrals", referral_id="R0000001", cluster="leeds north"),
        valid("ehm_referrals", referral_id="R0000002", cluster="Keighley"),
    ]
    write_csv(tmp_path, "ehm_referrals", rows)
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert raw(con, "ehm_referrals", "referral_id, cluster") == [("R0000001", "Leeds North")]
    assert rejects(con, "ehm_referrals") == [
        (3, "Cluster", "Keighley", "'Keighley' is not one of: Leeds North, Leeds South")
    ]
