"""The named periods the pages count over, ending at the data's as-at date."""

from __future__ import annotations

from datetime import date, timedelta


def quarter_start(day: date) -> date:
    """The first day of the calendar quarter `day` is in."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def last_complete_quarter(as_at: date) -> tuple[date, date]:
    """The quarter ending on `as_at` if that is a quarter end, else the one before it."""
    next_day = as_at + timedelta(days=1)
    end = as_at if quarter_start(next_day) == next_day else quarter_start(as_at) - timedelta(1)
    return quarter_start(end), end


def last_complete_month(as_at: date) -> tuple[date, date]:
    """The month ending on `as_at` if that is a month end, else the one before it."""
    next_day = as_at + timedelta(days=1)
    end = as_at if next_day.day == 1 else as_at.replace(day=1) - timedelta(1)
    return end.replace(day=1), end
