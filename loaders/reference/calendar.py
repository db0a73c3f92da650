"""England and Wales bank holidays and working days.

Working days exclude weekends and bank holidays: they are how councils measure waiting (an
allocation target of "20 working days" means four weeks without the bank holiday Mondays).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CALENDAR_FILE = Path(__file__).with_name("calendar.yaml")


@cache
def calendar_settings() -> dict[str, Any]:
    """The years covered and the GOV.UK exceptions to the rules (calendar.yaml)."""
    with CALENDAR_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm, as in Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=last.weekday())


def _next_weekday(day: date, taken: set[date]) -> date:
    while day.weekday() >= 5 or day in taken:
        day += timedelta(days=1)
    return day


def bank_holidays(year: int) -> dict[date, str]:
    """The bank holidays of England and Wales in one year, by rule and the configured exceptions."""
    easter = easter_sunday(year)
    by_rule = {
        _next_weekday(date(year, 1, 1), set()): "New Year's Day",
        easter - timedelta(days=2): "Good Friday",
        easter + timedelta(days=1): "Easter Monday",
        _first_monday(year, 5): "Early May bank holiday",
        _last_monday(year, 5): "Spring bank holiday",
        _last_monday(year, 8): "Summer bank holiday",
    }
    # Christmas and Boxing Day: a day on a weekend is substituted by the next free weekday.
    christmas = _next_weekday(date(year, 12, 25), set())
    boxing = _next_weekday(date(year, 12, 26), {christmas})
    by_rule[christmas] = "Christmas Day"
    by_rule[boxing] = "Boxing Day"

    exceptions = calendar_settings()
    holidays: dict[date, str] = {}
    for day, name in by_rule.items():
        moved_to = exceptions["moved_bank_holidays"].get(day)
        holidays[moved_to or day] = name
    for day, name in exceptions["extra_bank_holidays"].items():
        if day.year == year:
            holidays[day] = name
    return dict(sorted(holidays.items()))


def bank_holiday_rows() -> list[tuple[date, str]]:
    """Every configured year's bank holidays, for the model's calendar table."""
    years = calendar_settings()
    rows: list[tuple[date, str]] = []
    for year in range(years["first_year"], years["last_year"] + 1):
        rows.extend(bank_holidays(year).items())
    return rows
