"""Bank holidays and working days: the unit every wait on the Referrals page is counted in."""

from datetime import date

import pytest

from loaders.reference.calendar import bank_holidays, easter_sunday
from tests.gov_uk import HOLIDAY_YEARS, bank_holidays_in


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


@pytest.mark.parametrize("year", HOLIDAY_YEARS)
def test_bank_holidays_match_gov_uk(year: int) -> None:
    assert [d.isoformat() for d in bank_holidays(year)] == bank_holidays_in(year)
