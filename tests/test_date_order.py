"""Month-first dates (issues 10 and 11): a file whose slash dates are written month first is read
so, found from the dates or declared in extracts.yaml; in a day-first file, a date that cannot be
day first is read month first and flagged, never silently swapped."""

from __future__ import annotations

import datetime as dt

import pytest

from loaders.reading import ExtractError
from tests.fixtures_extracts import load_checked, rejects, set_aside, valid, write_csv


def people(dates: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One early help person per (date of birth, date recorded)."""
    return [
        valid("ehm_people", person_id=f"P{i:07d}", dob=dob, recorded_date=recorded)
        for i, (dob, recorded) in enumerate(dates, start=1)
    ]


def loaded(con) -> list[tuple]:
    return con.execute("select dob, recorded_date from raw_ehm_people order by line").fetchall()


def test_a_month_first_file_is_found_and_read_month_first(con, tmp_path) -> None:
    # 12 slash dates; three have a second number above 12, none a first.
    dates = [
        ("04/13/2010", "10/01/2015"),
        ("12/25/2009", "11/02/2015"),
        ("01/02/2011", "12/31/2015"),
    ]
    dates += [("03/04/2012", "05/06/2015")] * 3
    write_csv(tmp_path, "ehm_people", people(dates))
    result = load_checked(con, tmp_path, "ehm_people")
    assert result.rows_rejected == 0
    assert loaded(con)[:4] == [
        (dt.date(2010, 4, 13), dt.date(2015, 10, 1)),
        (dt.date(2009, 12, 25), dt.date(2015, 11, 2)),
        (dt.date(2011, 1, 2), dt.date(2015, 12, 31)),
        (dt.date(2012, 3, 4), dt.date(2015, 5, 6)),
    ]
    assert result.notes == (
        "dates read month first (MM/DD/YYYY): 3 of 12 had a second number above 12 and none a"
        " first",
    )
    assert set_aside(con, "ehm_people") == []


def test_a_swapped_date_in_a_day_first_file_is_read_month_first_and_flagged(con, tmp_path) -> None:
    dates = [
        ("13/04/2010", "01/10/2015"),
        ("02/13/2008", "25/12/2015"),
        ("03/04/2012", "05/06/2015"),
    ]
    write_csv(tmp_path, "ehm_people", people(dates))
    result = load_checked(con, tmp_path, "ehm_people")
    assert result.rows_loaded == 3 and result.notes == ()
    assert loaded(con) == [
        (dt.date(2010, 4, 13), dt.date(2015, 10, 1)),
        (dt.date(2008, 2, 13), dt.date(2015, 12, 25)),  # flagged, not swapped silently
        (dt.date(2012, 4, 3), dt.date(2015, 6, 5)),  # the rest stay day first
    ]
    assert con.execute(
        "select line, column_name, value, reason, loaded_as from load_set_aside"
    ).fetchall() == [
        (
            3,
            "Date of Birth",
            "02/13/2008",
            "'02/13/2008' read month first, as 13 Feb 2008: it cannot be day first",
            "13 Feb 2008",
        )
    ]


def test_too_few_dates_to_tell_are_read_day_first(con, tmp_path) -> None:
    # Five slash dates, none with a first number above 12: a day-first file could look so.
    dates = [("04/13/2010", "01/10/2015"), ("03/04/2012", "05/06/2015")]
    write_csv(tmp_path, "ehm_people", people(dates))
    load_checked(con, tmp_path, "ehm_people")
    assert loaded(con) == [
        (dt.date(2010, 4, 13), dt.date(2015, 10, 1)),
        (dt.date(2012, 4, 3), dt.date(2015, 6, 5)),
    ]
    assert [r[5:] for r in con.execute("select * from load_set_aside").fetchall()] == [
        ("'04/13/2010' read month first, as 13 Apr 2010: it cannot be day first", "13 Apr 2010")
    ]


def test_a_declared_order_is_used(con, tmp_path) -> None:
    dates = [("03/04/2012", "05/06/2015"), ("13/01/2012", "05/06/2015")]
    write_csv(tmp_path, "ehm_people", people(dates))
    (tmp_path / "extracts.yaml").write_text(
        "ehm_people:\n  current_to: 2016-01-01\n  date_order: month-first\n", encoding="utf-8"
    )
    result = load_checked(con, tmp_path, "ehm_people")
    assert result.notes == ("dates read month-first (declared in extracts.yaml)",)
    assert loaded(con) == [(dt.date(2012, 3, 4), dt.date(2015, 5, 6)), (None, dt.date(2015, 5, 6))]
    # 13/01 cannot be month first: a date of birth, so set aside, not the row rejected
    assert rejects(con, "ehm_people") == []
    assert [r[2:] for r in set_aside(con, "ehm_people")] == [
        ("13/01/2012", "'13/01/2012' is not a date (expected DD/MM/YYYY, YYYY-MM-DD or an Excel"
         " serial number)")
    ]  # fmt: skip


def test_an_unknown_declared_order_stops_with_its_line(con, tmp_path) -> None:
    write_csv(tmp_path, "ehm_people", people([("03/04/2012", "05/06/2015")]))
    (tmp_path / "extracts.yaml").write_text(
        "ehm_people:\n  current_to: 2016-01-01\n  date_order: US\n", encoding="utf-8"
    )
    with pytest.raises(ExtractError) as stopped:
        load_checked(con, tmp_path, "ehm_people")
    assert str(stopped.value) == (
        "extracts.yaml, line 3: ehm_people: date_order 'US' is not one of: day-first, month-first"
    )
