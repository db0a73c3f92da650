"""Bank holidays and working days: the unit every wait on the Referrals page is counted in."""

from datetime import date

import pytest

from data_model.calendar import bank_holidays, easter_sunday


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2015, date(2015, 4, 5)),
        (2016, date(2016, 3, 27)),
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
    ],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


# England and Wales bank holidays as published on GOV.UK.
GOV_UK = {
    2015: [
        "2015-01-01",
        "2015-04-03",
        "2015-04-06",
        "2015-05-04",
        "2015-05-25",
        "2015-08-31",
        "2015-12-25",
        "2015-12-28",
    ],
    2016: [
        "2016-01-01",
        "2016-03-25",
        "2016-03-28",
        "2016-05-02",
        "2016-05-30",
        "2016-08-29",
        "2016-12-26",
        "2016-12-27",
    ],
    2017: [
        "2017-01-02",
        "2017-04-14",
        "2017-04-17",
        "2017-05-01",
        "2017-05-29",
        "2017-08-28",
        "2017-12-25",
        "2017-12-26",
    ],
    2020: [
        "2020-01-01",
        "2020-04-10",
        "2020-04-13",
        "2020-05-08",
        "2020-05-25",
        "2020-08-31",
        "2020-12-25",
        "2020-12-28",
    ],
    2022: [
        "2022-01-03",
        "2022-04-15",
        "2022-04-18",
        "2022-05-02",
        "2022-06-02",
        "2022-06-03",
        "2022-08-29",
        "2022-09-19",
        "2022-12-26",
        "2022-12-27",
    ],
}


@pytest.mark.parametrize("year", sorted(GOV_UK))
def test_bank_holidays_match_gov_uk(year: int) -> None:
    assert [d.isoformat() for d in bank_holidays(year)] == GOV_UK[year]
