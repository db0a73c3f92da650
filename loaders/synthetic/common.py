"""Dates, calendars and small random helpers shared by the synthetic district modules.

Dates are numpy ``datetime64[D]`` arrays throughout (NaT for "no date"), so whole columns are
generated at once; nothing here loops over rows.
"""

from __future__ import annotations

import numpy as np

from loaders.reference.calendar import bank_holiday_rows

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


def census_dates() -> np.ndarray:
    """School census days, one a term over SCHOOL_YEARS: first Thursday of October, third
    Thursday of January and of May."""
    out = []
    for y in SCHOOL_YEARS:
        for month, year, nth in ((10, y, 1), (1, y + 1, 3), (5, y + 1, 3)):
            first = np.datetime64(f"{year}-{month:02d}-01")
            offset = (3 - (first.astype("datetime64[D]").view("int64") - 4) % 7) % 7
            out.append(first + np.timedelta64(int(offset + 7 * (nth - 1)), "D"))
    return np.array(out, dtype="datetime64[D]")


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

# England and Wales bank holidays (the model's own calendar, one source of truth), so working
# days and allocation meetings fall where a council's would.
BANK_HOLIDAYS = np.array([day for day, _ in bank_holiday_rows()], dtype=D)


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
