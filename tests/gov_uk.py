"""England and Wales bank holidays as published on GOV.UK, typed in for the tests, and a
working-day counter built on numpy: an implementation independent of the model's calendar."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

BANK_HOLIDAYS = [
    "2012-01-02", "2012-04-06", "2012-04-09", "2012-05-07", "2012-06-04", "2012-06-05",
    "2012-08-27", "2012-12-25", "2012-12-26",
    "2013-01-01", "2013-03-29", "2013-04-01", "2013-05-06", "2013-05-27", "2013-08-26",
    "2013-12-25", "2013-12-26",
    "2014-01-01", "2014-04-18", "2014-04-21", "2014-05-05", "2014-05-26", "2014-08-25",
    "2014-12-25", "2014-12-26",
    "2015-01-01", "2015-04-03", "2015-04-06", "2015-05-04", "2015-05-25", "2015-08-31",
    "2015-12-25", "2015-12-28",
    "2016-01-01", "2016-03-25", "2016-03-28", "2016-05-02", "2016-05-30", "2016-08-29",
    "2016-12-26", "2016-12-27",
    "2017-01-02", "2017-04-14", "2017-04-17", "2017-05-01", "2017-05-29", "2017-08-28",
    "2017-12-25", "2017-12-26",
    "2018-01-01", "2018-03-30", "2018-04-02", "2018-05-07", "2018-05-28", "2018-08-27",
    "2018-12-25", "2018-12-26",
    "2019-01-01", "2019-04-19", "2019-04-22", "2019-05-06", "2019-05-27", "2019-08-26",
    "2019-12-25", "2019-12-26",
    "2020-01-01", "2020-04-10", "2020-04-13", "2020-05-08", "2020-05-25", "2020-08-31",
    "2020-12-25", "2020-12-28",
    "2021-01-01", "2021-04-02", "2021-04-05", "2021-05-03", "2021-05-31", "2021-08-30",
    "2021-12-27", "2021-12-28",
    "2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02", "2022-06-03",
    "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27",
]  # fmt: skip
HOLIDAY_YEARS = range(2012, 2023)


def bank_holidays_in(year: int) -> list[str]:
    return [day for day in BANK_HOLIDAYS if day.startswith(f"{year}-")]


def working_days_after(start, end) -> np.ndarray | int:
    """Working days after `start`, up to and including `end` (same day = 0). Takes dates, ISO
    strings or Series; returns an int for single dates."""
    starts = np.atleast_1d(np.asarray(pd.to_datetime(start), dtype="datetime64[D]"))
    ends = np.asarray(pd.to_datetime(end), dtype="datetime64[D]")
    years = pd.DatetimeIndex(np.concatenate([starts, np.atleast_1d(ends)])).year
    assert years.min() in HOLIDAY_YEARS and years.max() in HOLIDAY_YEARS, "add bank holidays"
    one = np.timedelta64(1, "D")
    counts = np.busday_count(starts + one, ends + one, holidays=BANK_HOLIDAYS)
    single = isinstance(start, str | date) and isinstance(end, str | date)
    return int(counts[0]) if single else counts
