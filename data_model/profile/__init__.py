"""The ward profile to take to a meeting: one A4 page for a ward or an area committee.

`profile_html(con, area)` gives the self-contained HTML (fonts and map inside it; prints to one A4
page from Edge or Chrome); `profile_pdf(con, area)` the same page as a tagged PDF/UA-1 made by
WeasyPrint, or None where WeasyPrint cannot run here (`pdf_unavailable_reason()` then says why and
how to get the PDF from the HTML); `profile_downloads(con, area)` both at once, for a page that
offers both (the figures read once). `area` is a ward's code or an area committee's name, as
`data_model.read.wards.ward_profile` takes it; `find_area` turns what a person typed (a ward's
name or code, a committee's name) into one.

Profiles go to public meetings, whoever makes them: their figures are always the protected ones
(`ward_profile(..., protected=True)`), never a role's exact counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from data_model import geography
from data_model.profile.document import ONS_ATTRIBUTION, render_html
from data_model.profile.pdf import PdfUnavailableError, html_to_pdf, pdf_unavailable_reason
from data_model.profile.static_map import ProfileMap, WardRate, outlines, profile_map
from data_model.read import wards as ward_read
from data_model.read.connection import query_frame
from data_model.read.wards import WardProfile

__all__ = [
    "ONS_ATTRIBUTION",
    "Area",
    "AreaNotFoundError",
    "PdfUnavailableError",
    "ProfileDownloads",
    "find_area",
    "pdf_unavailable_reason",
    "profile_downloads",
    "profile_html",
    "profile_pdf",
]

NEAREST = 3  # how many near names an unknown area's message offers, at most
NEAR_ENOUGH = 60  # rapidfuzz's WRatio (0 to 100) a near name must reach, beyond the closest


class AreaNotFoundError(LookupError):
    """No ward or area committee by that name or code; the message names the nearest."""


@dataclass(frozen=True)
class Area:
    """A ward or an area committee: `key` is what ward_profile takes (a ward's code, a
    committee's name); `ward_codes` the wards the map outlines."""

    level: str  # "ward" | "committee"
    key: str
    name: str
    ward_codes: frozenset[str]


def _wards(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return query_frame(
        con, "select ward_code, ward_name, area_committee from mart_ward order by ward_name"
    )


def find_area(con: duckdb.DuckDBPyConnection, text: str, level: str = "ward") -> Area:
    """The ward (by code or name) or area committee (by name) a person typed, whatever its case
    and spacing; AreaNotFoundError naming the nearest names when there is none."""
    wards = _wards(con)
    wanted = " ".join(text.split()).casefold()
    if level == "ward":
        for row in wards.itertuples():
            if wanted in (row.ward_code.casefold(), " ".join(row.ward_name.split()).casefold()):
                return Area("ward", row.ward_code, row.ward_name, frozenset([row.ward_code]))
        names = list(wards["ward_name"])
    else:
        for name, group in wards.groupby("area_committee"):
            if wanted == " ".join(str(name).split()).casefold():
                return Area("committee", str(name), str(name), frozenset(group["ward_code"]))
        names = sorted(wards["area_committee"].unique())
    from rapidfuzz import process
    from rapidfuzz.utils import default_process

    found = process.extract(text, names, processor=default_process, limit=NEAREST)
    # names that resemble what was typed; at least the closest, however far
    near = [name for name, score, _ in found if score >= NEAR_ENOUGH] or [n for n, *_ in found[:1]]
    kind = "ward" if level == "ward" else "area committee"
    raise AreaNotFoundError(
        f'there is no {kind} "{text}" in the model; nearest: {", ".join(near) or "none"}'
    )


def _area_of_key(con: duckdb.DuckDBPyConnection, key: str) -> Area:
    """The Area for ward_profile's own argument: a ward's code, else a committee's name."""
    wards = _wards(con)
    if key in set(wards["ward_code"]):
        return find_area(con, key, "ward")
    return find_area(con, key, "committee")


def _area_map(con: duckdb.DuckDBPyConnection, area: Area, profile: WardProfile) -> ProfileMap:
    """The map of the profile's map measure (wards.yaml: profile.map_measure): every ward shaded
    by its protected rate, the area outlined."""
    measures = ward_read.ward_measures(con)
    named = measures[measures["label"] + " (" + measures["unit"] + ")" == profile.map_measure_label]
    measure = (named if not named.empty else measures).iloc[0]
    table = ward_read.ward_table(con, measure.measure_id, profile.as_at, protected=True)
    rates = [
        WardRate(
            code=row.area_code,
            name=row.area_name,
            rate=None if row.suppressed or pd.isna(row.rate) else float(row.rate),
            rate_text=row.rate_text,
        )
        for row in table[table["level"] == "ward"].itertuples()
    ]
    return profile_map(
        outlines(geography.bng_boundaries(con)),
        rates,
        set(area.ward_codes),
        area_name=area.name,
        measure=measure.label,
        unit=measure.unit,
    )


@dataclass(frozen=True)
class _Page:
    html: str
    file_stem: str


def _page(
    con: duckdb.DuckDBPyConnection, area: str, quarter_end: date | None, made_on: date | None
) -> _Page:
    place = _area_of_key(con, area)
    profile = ward_read.ward_profile(con, place.key, quarter_end, protected=True)
    html = render_html(
        profile,
        _area_map(con, place, profile),
        made_on or date.today(),
        boundary_name=profile.boundary_name or f"{profile.boundary_year or ''}",
        attribution=profile.attribution or ONS_ATTRIBUTION,
    )
    kind = "ward" if place.level == "ward" else "area-committee"
    words = re.findall(
        r"[a-z0-9]+", f"{place.name} {kind} profile {profile.as_at:%d %b %Y}".lower()
    )
    return _Page(html, "-".join(words))


def profile_html(
    con: duckdb.DuckDBPyConnection,
    area: str,
    quarter_end: date | None = None,
    *,
    made_on: date | None = None,
) -> bytes:
    """The profile of a ward (by code) or area committee (by name) as self-contained HTML
    (UTF-8), with protected figures: for the latest quarter unless quarter_end is given."""
    return _page(con, area, quarter_end, made_on).html.encode("utf-8")


@dataclass(frozen=True)
class ProfileDownloads:
    """One profile as the page offers it: the HTML, and the PDF made from that same HTML (None
    where WeasyPrint cannot run here, with `pdf_reason` saying how to print the HTML to PDF);
    `file_stem` names both files ("manningham-ward-profile-31-mar-2026")."""

    html: bytes
    pdf: bytes | None
    pdf_reason: str | None
    file_stem: str


def profile_downloads(
    con: duckdb.DuckDBPyConnection,
    area: str,
    quarter_end: date | None = None,
    *,
    made_on: date | None = None,
) -> ProfileDownloads:
    """The profile's HTML and PDF together, the figures read and the page made once."""
    page = _page(con, area, quarter_end, made_on)
    reason = pdf_unavailable_reason()
    return ProfileDownloads(
        html=page.html.encode("utf-8"),
        pdf=None if reason else html_to_pdf(page.html),
        pdf_reason=reason,
        file_stem=page.file_stem,
    )


def profile_pdf(
    con: duckdb.DuckDBPyConnection,
    area: str,
    quarter_end: date | None = None,
    *,
    made_on: date | None = None,
) -> bytes | None:
    """The same profile as a tagged PDF/UA-1; None where WeasyPrint cannot run on this machine
    (`pdf_unavailable_reason()` says why, and how to make the PDF from the HTML instead)."""
    if pdf_unavailable_reason():
        return None
    return html_to_pdf(_page(con, area, quarter_end, made_on).html)
