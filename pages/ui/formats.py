"""How values are written on screen: dates as DD Mon YYYY, counts, money, quantities, shares."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from data_model.settings import caution_below_cases

DATE_FORMAT = "%d %b %Y"  # 01 Jan 2020, everywhere on screen
GRID_DATE_FORMAT = "DD MMM YYYY"  # the same in st.dataframe (momentJS)
GRID_MONTH_FORMAT = "MMM YYYY"
EXCEL_DATE_FORMAT = "dd mmm yyyy"
NONE = "–"  # what a missing value shows

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def fmt_date(value: date | datetime | pd.Timestamp | None) -> str:
    """A date as DD Mon YYYY (01 Jan 2020); a dash when there is none."""
    if value is None or pd.isna(value):
        return NONE
    return pd.Timestamp(value).strftime(DATE_FORMAT)


def fmt_int(value: float | int | None) -> str:
    """A count with thousands separators (5,990)."""
    if value is None or pd.isna(value):
        return NONE
    return f"{int(round(value)):,}"


def fmt_number(value: float | int | None, decimals: int = 1) -> str:
    """A measure such as a median, to one decimal place unless it is whole (12, 12.5)."""
    if value is None or pd.isna(value):
        return NONE
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def fmt_quantity(value: float | int, unit: str) -> str:
    """An amount of a plural unit, singular for one: '1 incident', '1 family', '5.2 weeks', '5
    percentage points'."""
    amount = fmt_number(value)
    return f"{amount} {singular(unit) if amount == '1' else unit}"


def singular(unit: str) -> str:
    """A plural unit for one of it: 'families' → 'family', 'weeks' → 'week'."""
    if unit.endswith("ies"):
        return unit.removesuffix("ies") + "y"
    return unit.removesuffix("s")


def fmt_duration(seconds: float) -> str:
    """A timeout in words, in its largest whole unit: '30 minutes', '10 hours', '90 seconds'."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            amount = round(seconds / size)
            return f"{amount} {unit}{'' if amount == 1 else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def fmt_money(value: float | int | None) -> str:
    """An amount in whole pounds with thousands separators (£649,800)."""
    if value is None or pd.isna(value):
        return NONE
    return f"£{round(value):,}"


SHARE_DECIMALS = 1  # every percentage on screen and in downloads: 46.2%


def round_as_shown(value: float, places: int) -> Decimal:
    """A number rounded as the browser shows it (the table grid and its copies): from its exact
    value, a tie away from nought. Python's round() and numpy's round a tie to even, and numpy
    rounds 0.6815 (really 0.68149999...) up: a download would then say 0.682 where the page says
    0.681."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fmt_share(share: float | None, decimals: int = SHARE_DECIMALS) -> str:
    """A share as a percentage to one decimal place (46.2%); a dash when there is none."""
    if share is None or pd.isna(share):
        return NONE
    return f"{round_as_shown(float(share), decimals + 2).scaleb(2):.{decimals}f}%"


def fmt_status(status: object) -> str:
    """A status or category from the model ('not evidenced') as a label starts: 'Not
    evidenced'. The rest is left as it is, so a name inside keeps its capitals."""
    if not isinstance(status, str):
        return "" if status is None or pd.isna(status) else str(status)
    return status[:1].upper() + status[1:]


def small_base_limit() -> int:
    """Fewer cases than this behind a median, a percentile or a rate, and the figure is shown
    with a caution (data_model/settings.yaml: display.caution_below_cases)."""
    return caution_below_cases()


def is_small_base(cases: float | int | None) -> bool:
    """Whether a figure from this many cases needs a caution beside it (none: no figure)."""
    return cases is not None and not pd.isna(cases) and 0 < cases < small_base_limit()


def small_base_words(cases: float | int | None, what: str = "cases") -> str | None:
    """The caution beside a figure from few cases ('From 3 referrals: use with care'), or None
    when there are enough (or none, and so no figure)."""
    if not is_small_base(cases):
        return None
    return f"From {fmt_quantity(cases, what)} only: use with care"


def fmt_choices(chosen: list[str] | tuple[str, ...], none_chosen: str) -> str:
    """A filter's choices in words: 'BD5, Keighley', or what none chosen means ('all clusters')."""
    return ", ".join(chosen) if chosen else none_chosen


def number_word(number: int) -> str:
    """A small count in words ('two'), else in figures."""
    return NUMBER_WORDS.get(number, str(number))


def blocking_measures_words(most: int) -> str:
    """How many measures may block a claim that is near, in words: 'one or two measures'."""
    return {1: "one measure", 2: "one or two measures"}.get(most, f"up to {most} measures")


def slug(text: str) -> str:
    """Text as a lower-case name for a file or a key: 'Claims & returns' → 'claims-returns'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Markdown's punctuation: a backslash before each makes Streamlit show it as itself.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


# What Streamlit's Markdown changes after the escapes are read, in the text itself: GitHub's
# autolinks (any http://, https:// or www. after a space or punctuation, any name@domain) and
# emoji shortcodes (:word:). A word joiner (U+2060: invisible, neither a space, punctuation nor
# part of a word) before each address and after a shortcode's first colon stops both.
_AUTOLINK_STARTS = re.compile(r"(https?://|www\.|@)", re.IGNORECASE)
_SHORTCODE_START = re.compile(r":(?=[\w+-]+:)")
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """Text from data (a name, a file's header, a programme name) for a widget that renders
    Markdown, escaped so that it shows as typed: never a link, an image or a heading. A web or
    email address or an emoji shortcode in it stays text too (with an invisible word joiner)."""
    unlinked = _AUTOLINK_STARTS.sub(WORD_JOINER + r"\1", str(text))
    unlinked = _SHORTCODE_START.sub(":" + WORD_JOINER, unlinked)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", unlinked)


_DAY_MONTH_YEAR = re.compile(r"^\s*(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})\s*$")
_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_NAMED_MONTH = ("%d %b %Y", "%d %B %Y")


def read_day(text: str) -> date:
    """A date as a person types it in the UK: 03/07/2015, 3.7.2015, 03-07-2015, 3 Jul 2015,
    3 July 2015 or 2015-07-03 (day first, never month first). ValueError saying what to type
    when it is not a date."""
    match = _DAY_MONTH_YEAR.match(text)
    iso = _ISO_DAY.match(text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        if iso:
            year, month, day = (int(part) for part in iso.groups())
            return date(year, month, day)
        for pattern in _NAMED_MONTH:
            try:
                return datetime.strptime(" ".join(text.split()), pattern).date()
            except ValueError:
                continue
    except ValueError:
        pass
    raise ValueError(f"{text.strip()!r} is not a date: type it as day, month, year (03/07/2015)")
