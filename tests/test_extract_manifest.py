"""When each extract was taken: extracts.yaml declares a source's current-to date, else it is
inferred from the latest date in the file no later than the build day; an event after it (plus
checks.yaml's tolerance) is rejected with its reason; the model's as-at date comes from these
days, never from a stray date in a table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from data_model.build import build_model
from data_model.read import quality
from loaders.base import ExtractError, load_source
from loaders.contracts import BY_SOURCE
from loaders.extract_manifest import (
    DECLARED,
    INFERRED,
    INFERRED_CAPPED,
    TOLERANCE_DAYS,
    Declared,
    read_manifest,
)
from tests.extract_files import declare, write_district
from tests.fixtures_extracts import load_checked, valid, write_csv
from tests.test_build import run_cli

CURRENT_TO = dt.date(2015, 10, 31)


def referrals(count: int, **last: str) -> list[dict[str, str]]:
    """`count` valid referrals received 1 Oct 2015 (decided 5 Oct), the last one changed."""
    rows = [valid("ehm_referrals", referral_id=f"R{n:07d}") for n in range(1, count + 1)]
    rows[-1] = {**rows[-1], **last}
    return rows


def incidents(count: int, **last: str) -> list[dict[str, str]]:
    rows = [valid("police_incidents", incident_ref=f"INC/{n}") for n in range(1, count + 1)]
    rows[-1] = {**rows[-1], **last}
    return rows


def manifest(folder: Path, text: str) -> Path:
    return declare(folder, text)


def manifest_row(con: duckdb.DuckDBPyConnection, source: str) -> tuple:
    return con.execute(
        "select data_current_as_of, current_to_basis, system_name, coverage from load_manifest"
        " where source = ?",
        [source],
    ).fetchall()[0]


# --- Loading --------------------------------------------------------------------------------------


def test_a_declared_date_is_used_and_a_later_event_is_rejected_with_its_reason(
    con, tmp_path: Path
) -> None:
    write_csv(tmp_path, "ehm_referrals", referrals(3, received_date="01/01/2031", decision="",
                                                    decision_date=""))  # fmt: skip
    manifest(
        tmp_path,
        "ehm_referrals:\n  current_to: 31/10/2015\n  system: Liquidlogic EHM\n"
        "  coverage: Bradford district\n",
    )
    result = load_checked(con, tmp_path, "ehm_referrals")  # loaded + rejected = read
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert (result.data_current_as_of, result.current_to_basis) == (CURRENT_TO, DECLARED)
    assert result.rows_after_current_to == 1
    assert manifest_row(con, "ehm_referrals") == (
        CURRENT_TO, DECLARED, "Liquidlogic EHM", "Bradford district"
    )  # fmt: skip
    assert con.execute("select line, column_name, value, reason from load_rejects").fetchall() == [
        (4, "Date Received", "01/01/2031",
         "'01/01/2031' is after the extract's current-to date 31 Oct 2015"),
    ]  # fmt: skip


def test_the_tolerance_keeps_events_shortly_after_the_current_to_date(con, tmp_path) -> None:
    within = CURRENT_TO + dt.timedelta(days=TOLERANCE_DAYS)
    beyond = within + dt.timedelta(days=1)
    rows = referrals(3)
    rows[1] |= {"received_date": within.isoformat(), "decision": "", "decision_date": ""}
    rows[2] |= {"received_date": beyond.isoformat(), "decision": "", "decision_date": ""}
    write_csv(tmp_path, "ehm_referrals", rows)
    manifest(tmp_path, "ehm_referrals:\n  current_to: 2015-10-31\n")
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    assert con.execute("select line from load_rejects").fetchall() == [(4,)]


def test_an_undeclared_source_is_current_to_its_latest_date_and_a_future_one_is_rejected(
    con, tmp_path: Path
) -> None:
    write_csv(tmp_path, "police_incidents", incidents(3, incident_datetime="01/06/2035 10:00"))
    result = load_checked(con, tmp_path, "police_incidents")
    assert result.data_current_as_of == dt.date(2015, 10, 1)  # not 2035
    assert result.current_to_basis == INFERRED_CAPPED  # a date after the build day was not counted
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    assert con.execute("select column_name, reason from load_rejects").fetchall() == [
        (
            "INCIDENT_DATETIME",
            "'01/06/2035 10:00' is after the extract's current-to date 01 Oct 2015",
        )
    ]


def test_an_inferred_date_is_capped_at_the_build_day(con, tmp_path: Path) -> None:
    rows = referrals(2, received_date="20/10/2015", decision="", decision_date="")
    write_csv(tmp_path, "ehm_referrals", rows)
    build_day = dt.date(2015, 10, 10)
    result = load_source(con, BY_SOURCE["ehm_referrals"], tmp_path, build_day=build_day)
    # the latest date no later than the build day (the first referral's decision), not 20 Oct
    assert result.data_current_as_of == dt.date(2015, 10, 5) <= build_day
    assert result.current_to_basis == INFERRED_CAPPED
    assert result.rows_loaded == 2  # 20 Oct is within the tolerance of 5 Oct: kept

    write_csv(tmp_path, "ehm_referrals", referrals(2))
    result = load_source(con, BY_SOURCE["ehm_referrals"], tmp_path, build_day=build_day)
    assert (result.data_current_as_of, result.current_to_basis) == (dt.date(2015, 10, 5), INFERRED)


def test_a_header_only_file_has_no_current_to_date(con, tmp_path: Path) -> None:
    write_csv(tmp_path, "ehm_referrals", [])
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.data_current_as_of, result.current_to_basis) == (None, None)


# --- extracts.yaml --------------------------------------------------------------------------------


def test_the_manifest_is_read(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) == {}  # no file: every source is inferred
    manifest(
        tmp_path,
        "# when each extract was taken\n"
        "police_incidents:\n  current_to: 2020-02-29\n  system: Niche RMS\n"
        "ehm_referrals:\n  current_to: 31/03/2020\n",
    )
    assert read_manifest(tmp_path) == {
        "police_incidents": Declared(dt.date(2020, 2, 29), "Niche RMS", None),
        "ehm_referrals": Declared(dt.date(2020, 3, 31)),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("police_incidents:\n  current_to: 2020-02-29\n system: x\n",
         "extracts.yaml, line 3: not valid YAML"),
        ("police_incidents:\n  current_to: 2020-02-29\npolice:\n  current_to: 2020-02-29\n",
         "extracts.yaml, line 3: 'police' is not a source"),
        ("police_incidents:\n  current_to: 29/02/2021\n",
         "extracts.yaml, line 2: police_incidents: current_to '29/02/2021' is not a date"),
        ("police_incidents:\n  current_to: 2020-02-29\n  current_as_of: 2020-02-29\n",
         "extracts.yaml, line 3: police_incidents: unknown setting 'current_as_of'"),
        ("police_incidents:\n  system: Niche\n",
         "extracts.yaml, line 1: police_incidents: current_to (the day its data is current to)"
         " is missing"),
        ("police_incidents:\n  current_to: 2099-01-01\n",
         "extracts.yaml, line 2: police_incidents: current_to 01 Jan 2099 is after today"),
        ("- police_incidents\n", "extracts.yaml, line 1: expected one entry per source"),
    ],
)  # fmt: skip
def test_a_malformed_manifest_is_one_line_naming_the_line(tmp_path, text, message) -> None:
    manifest(tmp_path, text)
    with pytest.raises(ExtractError) as error:
        read_manifest(tmp_path)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_cli_stops_on_a_malformed_manifest_leaving_the_model(tmp_path: Path) -> None:
    district = write_district(tmp_path / "extracts", {"ehm_referrals": referrals(1)})
    manifest(district, "ehm_referrals:\n  current_to: sometime\n")
    model = tmp_path / "model.duckdb"
    model.write_bytes(b"previous model")
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: extracts.yaml, line 2: ehm_referrals: current_to 'sometime' is not a date"
        " (expected YYYY-MM-DD or DD/MM/YYYY)"
    ]
    assert model.read_bytes() == b"previous model"


# --- The model's as-at date -----------------------------------------------------------------------


def _build(tmp_path: Path, declared: str | None) -> duckdb.DuckDBPyConnection:
    """30 referrals of October 2015 and one dated 2031; 30 police incidents and one of 2035."""
    district = write_district(
        tmp_path / "extracts",
        {
            "ehm_referrals": referrals(31, received_date="01/01/2031", decision="",
                                       decision_date=""),
            "police_incidents": incidents(31, incident_datetime="01/06/2035 10:00"),
        },
    )  # fmt: skip
    if declared is not None:
        manifest(district, declared)
    model = tmp_path / "model.duckdb"
    build_model(district, model)
    return duckdb.connect(str(model), read_only=True)


def test_a_referral_dated_2031_does_not_move_the_as_at_date_when_inferred(tmp_path) -> None:
    with _build(tmp_path, None) as con:
        assert con.execute("select as_at_date from mart_model_info").fetchall() == [
            (dt.date(2015, 10, 5),)  # the latest decision, not 1 Jan 2031
        ]
        currency = quality.currency(con).set_index("source")
        assert currency.loc["ehm_referrals", "basis"] == INFERRED_CAPPED
        assert currency.loc["police_incidents", "data_current_as_of"].date() == dt.date(2015, 10, 1)
        assert currency.loc["police_incidents", "basis_text"].startswith("Inferred")
        rejects = con.execute(
            "select source, count(*) from mart_load_rejects"
            " where reason like '%after the extract''s current-to date%' group by all order by 1"
        ).fetchall()
        assert rejects == [("ehm_referrals", 1), ("police_incidents", 1)]
        assert con.execute("select count(*) from mart_referral").fetchall() == [(30,)]


def test_a_referral_dated_2031_does_not_move_a_declared_as_at_date(tmp_path) -> None:
    declared = "ehm_referrals:\n  current_to: 2015-10-31\n"
    with _build(tmp_path, declared) as con:
        assert con.execute("select as_at_date from mart_model_info").fetchall() == [(CURRENT_TO,)]
        currency = quality.currency(con).set_index("source")
        assert currency.loc["ehm_referrals", "basis"] == DECLARED
        assert currency.loc["ehm_referrals", "basis_text"] == "Declared in extracts.yaml"
        assert currency.loc["police_incidents", "basis"] == INFERRED_CAPPED
        assert not currency["accepted_over_limit"].any()


def test_the_generators_district_declares_every_dated_source(tmp_path: Path) -> None:
    from loaders.synthetic.common import CURRENT_AS_OF
    from loaders.synthetic.generate import GENERATED, generate

    generate(60, 3, tmp_path)
    declared = read_manifest(tmp_path)
    dated = {c.source for c in GENERATED if c.currency_fields}
    assert set(declared) == dated
    assert declared["police_incidents"].current_to == CURRENT_AS_OF["police_incidents"].item()
    assert declared["ehm_referrals"].current_to == CURRENT_AS_OF["ehm"].item()


# --- The Data quality page ------------------------------------------------------------------------


def test_the_data_quality_page_says_how_current_each_source_is_and_how_we_know(
    app_model: Path, model_sql
) -> None:
    from tests.test_app_pages import open_app
    from tests.test_data_quality_page import PAGE

    at = open_app(PAGE)
    assert "How current each source is" in [s.value for s in at.subheader]
    columns = list(quality.currency(model_sql).columns)
    [shown] = [d.value for d in at.dataframe if list(d.value.columns) == columns]
    expected = model_sql.execute(
        "select source, data_current_as_of, current_to_basis from load_manifest"
        " where data_current_as_of is not null order by source"
    ).fetchall()
    assert (
        sorted(
            zip(shown["source"], shown["data_current_as_of"].dt.date, shown["basis"], strict=True)
        )
        == expected
    )
    # the synthetic district declares every dated source; none went past the gates
    assert set(shown["basis_text"]) == {"Declared in extracts.yaml"}
    assert not [w for w in at.warning if "--accept-rejects" in w.value]


# --- The council's own codes for a coded column (`values`) ----------------------------------------


def test_the_councils_own_codes_are_read_as_the_values_they_stand_for(con, tmp_path) -> None:
    """A council whose case management says "Health Visitor" and "GP" where the contract has
    Health maps them in extracts.yaml; the rows load as Health, the Data quality page is told how
    the file was read, and a value mapped nowhere is still rejected with its reason."""
    manifest(
        tmp_path,
        "ehm_referrals:\n  current_to: 2020-03-31\n  values:\n    Referral Source:\n"
        "      Health Visitor: Health\n      GP: health\n",
    )
    rows = [
        valid("ehm_referrals", referral_id="R0000001", referral_source="Health Visitor"),
        valid("ehm_referrals", referral_id="R0000002", referral_source="gp"),
        valid("ehm_referrals", referral_id="R0000003", referral_source="School"),
        valid("ehm_referrals", referral_id="R0000004", referral_source="Midwife"),
    ]
    write_csv(tmp_path, "ehm_referrals", rows)
    result = load_checked(con, tmp_path, "ehm_referrals")
    assert (result.rows_loaded, result.rows_rejected) == (3, 1)
    loaded = con.execute(
        "select referral_id, referral_source from raw_ehm_referrals order by line"
    ).fetchall()
    assert loaded == [("R0000001", "Health"), ("R0000002", "Health"), ("R0000003", "School")]
    assert any("'health visitor' as Health" in note for note in result.notes)
    reason = con.execute(
        "select reason from load_rejects where source = 'ehm_referrals'"
    ).fetchall()
    assert reason[0][0].startswith("'Midwife' is not one of:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ehm_referrals:\n  current_to: 2020-03-31\n  values:\n    Referer:\n      GP: Health\n",
         "extracts.yaml, line 4: ehm_referrals: values: 'Referer' is not a column"),
        ("ehm_referrals:\n  current_to: 2020-03-31\n  values:\n    Referral Source:\n"
         "      GP: Doctor\n",
         "extracts.yaml, line 5: ehm_referrals: values: Referral Source: 'Doctor' is not one of:"),
        ("ehm_referrals:\n  current_to: 2020-03-31\n  values:\n    Referral ID:\n      X: Y\n",
         "extracts.yaml, line 4: ehm_referrals: values: Referral ID takes any value"),
    ],
)  # fmt: skip
def test_a_value_map_that_cannot_be_used_is_one_line_naming_the_line(
    tmp_path, text, message
) -> None:
    manifest(tmp_path, text)
    with pytest.raises(ExtractError) as error:
        read_manifest(tmp_path)
    assert str(error.value).startswith(message), str(error.value)
