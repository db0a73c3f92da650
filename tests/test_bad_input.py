"""Broken extracts, as councils send them: each is written by hand, loaded, and the outcome
checked: the one-line message, or the rejected rows with their lines and reasons, the good rows
around them still loaded, and loaded + rejected = read (load_checked)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import xlsxwriter

from loaders.base import ExtractError, load_source
from loaders.contracts import BY_SOURCE
from tests.fixtures_extracts import (
    as_cells,
    csv_text,
    headers,
    load_checked,
    path_for,
    rejects,
    set_aside,
    valid,
    write_bytes,
    write_parquet,
    write_xlsx,
)


def lines_loaded(con: duckdb.DuckDBPyConnection, source: str) -> list[int]:
    return [
        line for (line,) in con.execute(f"select line from raw_{source} order by line").fetchall()
    ]


def dwp_lines(count: int) -> list[str]:
    rows = [valid("dwp_spells", spell_id=f"S{i}", claimant_ref=f"D{i:08d}") for i in range(count)]
    return csv_text(headers("dwp_spells"), as_cells("dwp_spells", rows)).splitlines()


# --- Quotes ------------------------------------------------------------------------------------


def test_a_quote_closed_many_lines_later_rejects_one_row_not_merges_them(con, tmp_path) -> None:
    lines = dwp_lines(30)  # header on line 1, S0 on line 2 … S29 on line 31
    lines[4] = lines[4].replace("Mary", '"Mary')  # line 5 opens a quote …
    lines[19] = lines[19].replace("Jones", 'Jones"')  # … that line 20 would close
    write_bytes(tmp_path, "dwp_spells", "\n".join(lines) + "\n")
    result = load_checked(con, tmp_path, "dwp_spells")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (30, 29, 1)
    assert rejects(con, "dwp_spells") == [
        (
            5,
            None,
            None,
            "has a quoted value that runs over more than 8 lines, so it was not loaded;"
            " reading resumed on line 6",
        )
    ]
    assert lines_loaded(con, "dwp_spells") == [n for n in range(2, 32) if n != 5]
    longest = con.execute("select max(length(first_name)) from raw_dwp_spells").fetchone()[0]
    assert longest == len("Mary")


def test_a_quoted_value_over_the_character_limit_is_rejected(con, tmp_path) -> None:
    lines = dwp_lines(5)
    long_name = "x" * 600 + "\n" + "y" * 600  # two lines, 1,201 characters
    lines[2] = lines[2].replace("Mary", f'"{long_name}"')
    write_bytes(tmp_path, "dwp_spells", "\n".join(lines) + "\n")
    result = load_checked(con, tmp_path, "dwp_spells")
    assert rejects(con, "dwp_spells") == [
        (
            3,
            None,
            None,
            "has a quoted value that runs over more than 1,000 characters, so it was not loaded;"
            " reading resumed on line 4",
        ),
        # Line 4, the rest of the value, is read again as a record of its own.
        (4, None, None, "has 8 fields, but the header has 11"),
    ]
    assert (result.rows_read, result.rows_loaded) == (6, 4)
    assert lines_loaded(con, "dwp_spells") == [2, 5, 6, 7]


def test_a_multiline_address_within_the_limits_loads(con, tmp_path) -> None:
    rows = [
        valid("csc_episodes", episode_id=f"E{i}", address="1\n2\n3\n4\n5\n6\n7\n8") for i in (1, 2)
    ]
    write_bytes(
        tmp_path, "csc_episodes", csv_text(headers("csc_episodes"), as_cells("csc_episodes", rows))
    )
    result = load_checked(con, tmp_path, "csc_episodes")
    assert (result.rows_loaded, lines_loaded(con, "csc_episodes")) == (2, [2, 10])


def test_an_unclosed_quote_rejects_its_line_and_reading_resumes(con, tmp_path) -> None:
    lines = dwp_lines(10)
    lines[3] = lines[3].replace("Mary", '"Mary')  # line 4: never closed
    write_bytes(tmp_path, "dwp_spells", "\n".join(lines) + "\n")
    result = load_checked(con, tmp_path, "dwp_spells")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (10, 9, 1)
    assert rejects(con, "dwp_spells") == [
        (
            4,
            None,
            None,
            "has a quote that is never closed, so it was not loaded; reading resumed on line 5",
        )
    ]
    assert lines_loaded(con, "dwp_spells") == [2, 3, *range(5, 12)]


# --- Characters --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark(con, tmp_path, encoding: str) -> None:
    rows = [valid("ehm_people", person_id=f"P000000{i}", first_name="Zoë") for i in (1, 2)]
    text = csv_text(headers("ehm_people"), as_cells("ehm_people", rows))
    write_bytes(tmp_path, "ehm_people", text.encode(encoding))
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.encoding, result.rows_loaded, result.rows_rejected) == (encoding, 2, 0)
    assert con.execute("select first_name from raw_ehm_people").fetchall() == [("Zoë",)] * 2


def test_a_nul_character_rejects_its_row(con, tmp_path) -> None:
    rows = [valid("ehm_people", person_id=f"P000000{i}") for i in (1, 2, 3)]
    rows[1]["first_name"] = "Ai\0\0\0sha"
    write_bytes(
        tmp_path, "ehm_people", csv_text(headers("ehm_people"), as_cells("ehm_people", rows))
    )
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.rows_read, result.rows_loaded) == (3, 2)
    assert rejects(con, "ehm_people") == [
        (
            3,
            "Forename",
            "Ai\\0\\0\\0sha",
            "contains a NUL character (byte 0x00), which text never holds",
        )
    ]
    assert lines_loaded(con, "ehm_people") == [2, 4]


def test_values_longer_than_their_column_allows_are_rejected(con, tmp_path) -> None:
    rows = [valid("ehm_people", person_id=f"P000000{i}") for i in (1, 2, 3, 4)]
    rows[1]["first_name"] = "A" * 5_000_000  # a 5 MB field
    rows[2]["case_id"] = "C" * 101  # a code column takes 100
    write_bytes(
        tmp_path, "ehm_people", csv_text(headers("ehm_people"), as_cells("ehm_people", rows))
    )
    result = load_checked(con, tmp_path, "ehm_people")
    assert (result.rows_read, result.rows_loaded) == (4, 2)
    assert [(line, column, reason) for line, column, _, reason in rejects(con, "ehm_people")] == [
        (3, "Forename", "is 5,000,000 characters long; a text column takes at most 1,000"),
        (4, "Case ID", "is 101 characters long; a code column takes at most 100"),
    ]
    value = con.execute("select value from load_rejects where line = 3").fetchone()[0]
    assert value == "A" * 100 + "… (5,000,000 characters)"
    assert lines_loaded(con, "ehm_people") == [2, 5]


# --- Delimiters --------------------------------------------------------------------------------


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_another_delimiter_is_used_when_only_it_matches_the_header(
    con, tmp_path, delimiter: str, name: str
) -> None:
    rows = as_cells(
        "ehm_referrals", [valid("ehm_referrals", referral_reasons="Attendance, Behaviour")]
    )
    text = delimiter.join(headers("ehm_referrals")) + "\n" + delimiter.join(rows[0]) + "\n"
    write_bytes(tmp_path, "ehm_referrals", text)
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_loaded, result.notes) == (1, (f"columns separated by {name}",))
    assert con.execute("select referral_reasons from raw_ehm_referrals").fetchall() == [
        ("Attendance, Behaviour",)
    ]
    # the manifest keeps how the file was read, for the Data quality page
    assert con.execute(
        "select read_as from load_manifest where source = 'ehm_referrals'"
    ).fetchall() == [(f"columns separated by {name}",)]


def test_a_header_no_delimiter_matches_names_the_delimiters_tried(con, tmp_path) -> None:
    write_bytes(tmp_path, "ehm_people", "#".join(headers("ehm_people")) + "\nx\n")
    with pytest.raises(ExtractError) as error:
        load_source(con, BY_SOURCE["ehm_people"], tmp_path)
    message = str(error.value)
    assert message.startswith("ehm_people.csv: missing required columns: Person ID, Case ID")
    assert message.endswith(
        "(the header was split at commas; tried comma, semicolon, tab, pipe:"
        " none gives these columns)"
    )
    assert "\n" not in message


# --- Spreadsheets: where the header is ---------------------------------------------------------


def write_workbook(folder: Path, source: str, sheets: dict[str, list[list[object]]]) -> None:
    workbook = xlsxwriter.Workbook(str(path_for(folder, source, "xlsx")))
    for name, rows in sheets.items():
        worksheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value not in ("", None):
                    worksheet.write(r, c, value)
    workbook.close()


def tenancy_rows(*refs: str) -> list[list[object]]:
    return as_cells("housing_tenancies", [valid("housing_tenancies", tenancy_ref=r) for r in refs])


def test_xlsx_header_below_title_rows_on_another_sheet(con, tmp_path) -> None:
    write_workbook(
        tmp_path,
        "housing_tenancies",
        {
            "Sheet1": [["Notes for the analyst"]],
            "Tenancies": [["Tenancies extract"], ["Run 31/03/2016"], []]
            + [headers("housing_tenancies")]
            + tenancy_rows("T000001", "T00000X"),
        },
    )
    result = load_checked(con, tmp_path, "housing_tenancies")
    assert result.notes == ("header found on sheet 'Tenancies', row 4",)
    assert lines_loaded(con, "housing_tenancies") == [5]
    assert [r[:2] for r in rejects(con, "housing_tenancies")] == [(6, "Tenancy Ref")]


def test_xlsx_header_nowhere_says_what_was_read(con, tmp_path) -> None:
    write_workbook(tmp_path, "housing_tenancies", {"Sheet1": [["Tenancy", "Name"], ["T1", "x"]]})
    with pytest.raises(ExtractError) as error:
        load_source(con, BY_SOURCE["housing_tenancies"], tmp_path)
    assert str(error.value).endswith(
        "(read sheet 'Sheet1', header expected on row 1;"
        " no visible sheet has these columns in its first 20 rows)"
    )


def test_xlsx_header_on_two_sheets_is_ambiguous(con, tmp_path) -> None:
    data = [headers("housing_tenancies"), *tenancy_rows("T000001")]
    write_workbook(
        tmp_path,
        "housing_tenancies",
        {"Sheet1": [["Read me"]], "2015": [[], *data], "2016": [[], [], *data]},
    )
    with pytest.raises(ExtractError) as error:
        load_source(con, BY_SOURCE["housing_tenancies"], tmp_path)
    assert str(error.value) == (
        "housing_tenancies.xlsx: read sheet 'Sheet1', header expected on row 1;"
        " the header is on more than one sheet (sheet '2015' has it on row 2,"
        " sheet '2016' has it on row 3); keep only the sheet with the data"
    )


def test_xlsx_number_cells_as_dates_and_identifiers(con, tmp_path) -> None:
    rows = tenancy_rows("T000001", "T000002", "T000003")
    rows[0][3] = 19870223  # Date of Birth as a number, YYYYMMDD
    rows[1][3] = 19871345  # not a date: left as the digits, set aside by the validator
    rows[2][0] = 12.5  # a fraction in an identifier
    write_xlsx(tmp_path, "housing_tenancies", rows)
    result = load_checked(con, tmp_path, "housing_tenancies")
    assert result.rows_loaded == 2
    assert con.execute("select line, dob from raw_housing_tenancies order by line").fetchall() == [
        (2, dt.date(1987, 2, 23)),
        (3, None),
    ]
    assert [r[:3] for r in set_aside(con, "housing_tenancies")] == [
        (3, "Date of Birth", "19871345"),
    ]
    assert rejects(con, "housing_tenancies") == [
        (
            4,
            "Tenancy Ref",
            "12.5",
            "'12.5' is a number with a fraction, so it cannot be the Tenancy Ref",
        )
    ]


# --- Parquet: typed columns --------------------------------------------------------------------


def test_parquet_typed_columns_are_converted_or_rejected_by_type(con, tmp_path) -> None:
    rows = [valid("health_events", event_id=f"EV{i}") for i in range(5)]
    columns = {
        h: [c[i] for c in as_cells("health_events", rows)]
        for i, h in enumerate(headers("health_events"))
    }
    columns["birth_date"] = pa.array([19870223, 19870224, None, 19870226, 19870227], pa.int64())
    columns["nhs_number"] = pa.array(
        [4857773456.0, 4857773456.5, None, 4857773456.0, 4857773456.0], pa.float64()
    )
    columns["event_date"] = pa.array(
        [dt.datetime(2015, 11, 11, 9, 30)] * 5, pa.timestamp("us", tz="UTC")
    )
    columns["patient_forename"] = pa.array(
        [["Tom"], ["Tom"], ["Maryam"], ["Tom"], None], pa.list_(pa.string())
    )
    write_parquet(tmp_path, "health_events", columns)
    result = load_checked(con, tmp_path, "health_events")
    # a list is not text; the row with no forename at all loads (names are not required)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 1, 4)
    assert con.execute("select line, first_name from raw_health_events").fetchall() == [(6, None)]
    columns["patient_forename"] = ["Tom", "Tom", "Maryam", "Tom", "Tom"]
    write_parquet(tmp_path, "health_events", columns)
    load_checked(con, tmp_path, "health_events")
    assert con.execute(
        "select line, dob, nhs_number, first_name, event_date from raw_health_events order by line"
    ).fetchall() == [
        (2, dt.date(1987, 2, 23), "4857773456", "Tom", dt.date(2015, 11, 11)),
        (4, None, None, "Maryam", dt.date(2015, 11, 11)),
        (5, dt.date(1987, 2, 26), "4857773456", "Tom", dt.date(2015, 11, 11)),
        (6, dt.date(1987, 2, 27), "4857773456", "Tom", dt.date(2015, 11, 11)),
    ]
    assert rejects(con, "health_events") == [
        (
            3,
            "nhs_number",
            "4857773456.5",
            "'4857773456.5' is a number with a fraction, so it cannot be the nhs_number",
        )
    ]


def test_parquet_list_column_is_rejected_naming_its_type(con, tmp_path) -> None:
    rows = [valid("health_events", event_id=f"EV{i}") for i in range(3)]
    columns = {
        h: [c[i] for c in as_cells("health_events", rows)]
        for i, h in enumerate(headers("health_events"))
    }
    columns["patient_forename"] = pa.array(
        [["Maryam"], None, ["Tom", "Ann"]], pa.list_(pa.string())
    )
    write_parquet(tmp_path, "health_events", columns)
    result = load_checked(con, tmp_path, "health_events")
    assert (result.rows_read, result.rows_loaded) == (3, 1)
    assert rejects(con, "health_events") == [
        (2, "patient_forename", "[Maryam]", "patient_forename is a list<string>, not text"),
        (4, "patient_forename", "[Tom, Ann]", "patient_forename is a list<string>, not text"),
    ]
    # no forename, but a surname and the patient id: loaded
    assert con.execute("select line, first_name, last_name from raw_health_events").fetchall() == [
        (3, None, "Brown")
    ]
