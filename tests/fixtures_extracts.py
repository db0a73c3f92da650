"""Small extract files for loader tests: valid rows per source, and writers for CSV (any encoding
and line ending, or raw bytes), XLSX and Parquet, so each test states exactly what is broken; and
a loader call that checks no row went missing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from loaders.base import LoadResult, load_source
from loaders.contracts import BY_SOURCE, CLUSTERS

# One valid row per source, keyed by field: tests copy it and change what they test.
VALID: dict[str, dict[str, str]] = {
    "ehm_people": {
        "person_id": "P0000001",
        "case_id": "C000001",
        "first_name": "Aisha",
        "last_name": "Khan",
        "dob": "03/04/2010",
        "sex": "Female",
        "recorded_date": "01/10/2015",
    },
    "ehm_referrals": {
        "referral_id": "R0000001",
        "case_id": "C000001",
        "person_id": "P0000001",
        "received_date": "01/10/2015",
        "referral_source": "School",
        "referral_reasons": "Attendance; Behaviour",
        "decision": "Accepted",
        "decision_date": "05/10/2015",
        "cluster": "Keighley",
    },
    "school_census": {
        "upn": "A12345678901B",
        "first_name": "Jack",
        "last_name": "Smith",
        "dob": "2008-05-01",
        "sex": "M",
        "school_urn": "107300",
        "school_name": "Green Lane Primary",
        "academic_year": "2015/16",
        "term": "Autumn",
        "sessions_possible": "140",
        "sessions_authorised_absence": "6",
        "sessions_unauthorised_absence": "4",
        "fixed_term_exclusions": "0",
        "permanent_exclusion": "N",
        "census_date": "2015-10-01",
    },
    "police_incidents": {
        "incident_ref": "INC/2015/0001",
        "nominal_id": "N00000001",
        "last_name": "O'BRIEN",
        "first_name": "Sean",
        "dob": "12/12/1980",
        "sex": "M",
        "address": "1 High Street, Keighley",
        "postcode": "BD21 1AA",
        "incident_datetime": "01/10/2015 22:15",
        "offence_category": "Violence against the person",
        "person_role": "Perpetrator",
        "dv_flag": "Y",
        "asb_flag": "N",
    },
    "dwp_spells": {
        "spell_id": "S1",
        "nino": "AB123456C",
        "claimant_ref": "D00000001",
        "first_name": "Mary",
        "last_name": "Jones",
        "dob": "1985-02-03",
        "spell_type": "Out-of-work benefit",
        "benefit_type": "JSA",
        "start_date": "2015-01-05",
        "end_date": "2015-06-30",
    },
    "housing_tenancies": {
        "tenancy_ref": "T000001",
        "tenant_no": "1",
        "tenant_name": "SMITH, Jane",
        "dob": "02/02/1975",
        "address": "4 Park Road, Bradford",
        "postcode": "BD5 0AA",
        "tenancy_start": "01/04/2010",
        "rent_arrears": "£1,234.50",
        "extract_date": "31/03/2016",
    },
    "health_events": {
        "event_id": "EV1",
        "patient_id": "H00000001",
        "nhs_number": "9434765919",
        "first_name": "Tom",
        "last_name": "Brown",
        "dob": "2001-07-07",
        "sex": "1",
        "event_type": "A&E attendance",
        "event_date": "2015-11-11",
        "gp_practice_code": "B82001",
    },
    "csc_episodes": {
        "episode_id": "CSC1",
        "child_id": "S0000001",
        "first_name": "Lily",
        "last_name": "Patel",
        "dob": "05/06/2012",
        "sex": "Female",
        "address": "Flat 2\n10 Manor Row\nBradford",
        "postcode": "BD1 4QE",
        "episode_type": "Child in Need",
        "start_date": "01/09/2015",
        "team": "Assessment 1",
    },
    "ref_programme": {
        "programme_name": "Families First",
        "start_date": "2015-04-01",
        "end_date": "2020-03-31",
        "target_families": "5990",
    },
}


def valid(source: str, **changes: str) -> dict[str, str]:
    """The valid row for `source` with some fields changed."""
    return {**VALID[source], **changes}


def headers(source: str) -> list[str]:
    return [c.header for c in BY_SOURCE[source].columns]


def path_for(folder: Path, source: str, extension: str) -> Path:
    contract = BY_SOURCE[source]
    path = folder / contract.subfolder / f"{contract.file_stem}.{extension}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def as_cells(source: str, rows: Sequence[dict[str, object]]) -> list[list[object]]:
    """Rows by field → lists in the contract's column order (missing fields blank)."""
    return [[row.get(c.field, "") for c in BY_SOURCE[source].columns] for row in rows]


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]], newline: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_csv(
    folder: Path,
    source: str,
    rows: Sequence[Any],
    *,
    header: Sequence[str] | None = None,
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    """A CSV for `source`: rows keyed by field in the contract's layout or, when `header` is
    given, rows as lists of cells in that header's order."""
    if header is None:
        header, rows = headers(source), as_cells(source, rows)
    path = path_for(folder, source, "csv")
    path.write_bytes(csv_text(header, rows, newline).encode(encoding))
    return path


def write_bytes(folder: Path, source: str, data: bytes | str, extension: str = "csv") -> Path:
    """Exactly these bytes (str is written as UTF-8) as `source`'s file."""
    path = path_for(folder, source, extension)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def write_xlsx(
    folder: Path,
    source: str,
    rows: Sequence[Sequence[object]],
    *,
    header: Sequence[str] | None = None,
    sheet: str = "Sheet1",
    before: Sequence[str] = (),
    blank_rows_after: Sequence[int] = (),
) -> Path:
    """A workbook whose `sheet` holds header + rows; date/datetime values become date cells.

    `before`: names of empty sheets placed first. `blank_rows_after`: row indexes (0-based,
    within rows) followed by a wholly empty worksheet row.
    """
    path = path_for(folder, source, "xlsx")
    workbook = xlsxwriter.Workbook(str(path))
    for name in before:
        workbook.add_worksheet(name).write(0, 0, "notes")
    worksheet = workbook.add_worksheet(sheet)
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    time_format = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    worksheet.write_row(0, 0, list(headers(source) if header is None else header))
    excel_row = 1
    for index, row in enumerate(rows):
        for col, value in enumerate(row):
            if isinstance(value, dt.datetime):
                worksheet.write_datetime(excel_row, col, value, time_format)
            elif isinstance(value, dt.date):
                worksheet.write_datetime(excel_row, col, value, date_format)
            elif value is None or value == "":
                continue
            else:
                worksheet.write(excel_row, col, value)
        excel_row += 2 if index in blank_rows_after else 1
    workbook.close()
    return path


def write_parquet(folder: Path, source: str, columns: dict[str, pa.Array | list]) -> Path:
    """A Parquet file with these columns (header name → values), types as given or inferred."""
    path = path_for(folder, source, "parquet")
    pq.write_table(pa.table(columns), path)
    return path


def load_checked(con: duckdb.DuckDBPyConnection, folder: Path, source: str) -> LoadResult:
    """Load one source and check that no row went missing, from the tables themselves."""
    result = load_source(con, BY_SOURCE[source], folder)
    assert result is not None
    loaded = con.execute(f"select count(*) from raw_{source}").fetchone()[0]
    rejected = con.execute(
        "select count(distinct line) from load_rejects where source = ?", [source]
    ).fetchone()[0]
    manifest = con.execute(
        "select rows_read, rows_loaded, rows_rejected from load_manifest where source = ?",
        [source],
    ).fetchall()
    assert manifest == [(result.rows_read, loaded, rejected)]
    assert (result.rows_loaded, result.rows_rejected) == (loaded, rejected)
    assert loaded + rejected == result.rows_read
    return result


def load_wards(
    con: duckdb.DuckDBPyConnection, folder: Path, clusters: Sequence[str] = CLUSTERS
) -> None:
    """Load a wards reference with one ward in each of `clusters` (Bradford's by default), so
    that early help files loaded after it are checked against its clusters."""
    rows = [
        {
            "ward_code": f"E0500{i:04d}",
            "ward_name": f"Ward {i}",
            "area_committee": "Committee",
            "cluster": cluster,
            "population": "1000",
            "population_0_15": "200",
        }
        for i, cluster in enumerate(clusters)
    ]
    write_csv(folder, "ref_wards", rows)
    load_checked(con, folder, "ref_wards")


def set_aside(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    """(line, column_name, value, reason) of a source's values set aside, in file order."""
    return con.execute(
        "select line, column_name, value, reason from load_set_aside where source = ?"
        " order by line, column_name, reason",
        [source],
    ).fetchall()


def rejects(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    """(line, column_name, value, reason) of a source's rejects, in file order."""
    return con.execute(
        "select line, column_name, value, reason from load_rejects where source = ?"
        " order by line, column_name nulls first, reason",
        [source],
    ).fetchall()
