"""Dates, calendars and small random helpers shared by the synthetic district modules.

Dates are numpy ``datetime64[D]`` arrays throughout (NaT for "no date"), so whole columns are
generated at once; nothing here loops over rows.
"""

from __future__ import annotations

import numpy as np

D = "datetime64[D]"
NAT = np.datetime64("NaT", "D")


def day(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


# The story's time line.
DATA_START = day("2012-09-01")  # first school year in the extracts (2012/13)
PROGRAMME_START = day("2014-09-01")  # first early help referral
PROGRAMME_END = day("2020-03-31")
EXTRACT_DATE = day("2020-03-31")  # case management is current to this day
SCHOOL_YEARS = tuple(range(2012, 2020))  # 2012/13 ... 2019/20

# Each system is current to its own day, as real extracts are.
CURRENT_AS_OF = {
    "ehm": EXTRACT_DATE,
    "school_census": day("2020-05-21"),  # the summer 2019/20 census day
    "police_incidents": day("2020-02-29"),
    "dwp_spells": day("2020-01-31"),
    "housing_tenancies": day("2020-03-02"),
    "health_events": day("2019-12-31"),
    "csc_episodes": day("2020-03-31"),
}

# England and Wales bank holidays over the years the extracts cover (GOV.UK), so working days
# and allocation meetings fall where a council's would.
BANK_HOLIDAYS = np.array(
    [
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
    ],
    dtype=D,
)  # fmt: skip


def to_workday(dates: np.ndarray) -> np.ndarray:
    """Roll each date forward to a working day; NaT stays NaT."""
    dates = np.asarray(dates, dtype=D)
    out = dates.copy()
    ok = ~np.isnat(dates)
    out[ok] = np.busday_offset(dates[ok], 0, roll="forward", holidays=BANK_HOLIDAYS)
    return out


def add_workdays(dates: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """The working day n working days after each date (rolled forward first); NaT stays NaT."""
    dates = np.asarray(dates, dtype=D)
    n = np.broadcast_to(np.asarray(n, dtype=np.int64), dates.shape)
    out = np.full(dates.shape, NAT)
    ok = ~np.isnat(dates)
    out[ok] = np.busday_offset(dates[ok], n[ok], roll="forward", holidays=BANK_HOLIDAYS)
    return out


def uniform_dates(
    rng: np.random.Generator, start: np.ndarray | np.datetime64, end: np.ndarray | np.datetime64,
    size: int | None = None,
) -> np.ndarray:  # fmt: skip
    """A date drawn uniformly from [start, end] (inclusive); start/end may be arrays."""
    start = np.asarray(start, dtype=D)
    end = np.asarray(end, dtype=D)
    span = (end - start).astype(np.int64)
    span = np.maximum(span, 0)
    shape = size if size is not None else np.broadcast(start, end).shape
    offset = np.floor(rng.random(shape) * (span + 1)).astype(np.int64)
    return start + offset


def split_date(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day (1-31) of each date (NaT gives garbage; mask it yourself)."""
    dates = np.asarray(dates, dtype=D)
    safe = np.where(np.isnat(dates), np.datetime64("1970-01-01"), dates)
    y = safe.astype("datetime64[Y]").astype(np.int64) + 1970
    m = safe.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (safe - safe.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, d


def make_date(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Dates from year, month, day arrays (values must be valid)."""
    ym = (np.asarray(y) - 1970) * 12 + (np.asarray(m) - 1)
    return ym.astype("datetime64[M]").astype(D) + (np.asarray(d) - 1)


def unique_numbers(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """n distinct integers in [low, high): identifiers that do not reveal row order."""
    if n > high - low:
        raise ValueError(f"cannot draw {n} distinct numbers from {high - low}")
    return low + rng.choice(high - low, size=n, replace=False)


def segment_rank(group: np.ndarray) -> np.ndarray:
    """0, 1, 2... within runs of equal values of a sorted group array."""
    group = np.asarray(group)
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, group[1:] != group[:-1]]
    idx = np.arange(n)
    start_idx = np.maximum.accumulate(np.where(starts, idx, 0))
    return idx - start_idx


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
