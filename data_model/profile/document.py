"""The ward profile as one self-contained HTML page: a Jinja2 template, print CSS, bundled fonts.

Text from the data is text: the template environment escapes everything it is given (autoescape),
so a ward or plan name can never become markup. The only markup passed in is made here: the
inline SVG map (its title escaped) and the fonts' CSS. Nothing in the page refers to another file
or address: fonts are data: URIs, the map is inline, so the file prints the same from Edge or
Chrome on a council laptop with no network.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from data_model.profile.static_map import ProfileMap

HERE = Path(__file__).resolve().parent
FONTS = HERE / "fonts"
TEMPLATE = "ward_profile.html.j2"
DATE_FORMAT = "%d %b %Y"  # 01 Jan 2020, as on every page

ONS_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2022."
)

# The bundled faces (fonts/README.md): file, weight and the characters each subset covers (the
# subsets' own unicode-range), so a browser or WeasyPrint picks the file that has the letter.
LATIN = (
    "U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,"
    "U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD"
)
LATIN_EXT = (
    "U+0100-02BA,U+02BD-02C5,U+02C7-02CC,U+02CE-02D7,U+02DD-02FF,U+1D00-1DBF,U+1E00-1E9F,"
    "U+1EF2-1EFF,U+2020,U+20A0-20AB,U+20AD-20C0,U+2113,U+2C60-2C7F,U+A720-A7FF"
)
FONT_FACES = [
    (f"atkinson-hyperlegible-{subset}-{weight}-normal.woff", weight, ranges)
    for weight in (400, 700)
    for subset, ranges in (("latin", LATIN), ("latin-ext", LATIN_EXT))
]
FONT_FAMILY = "Atkinson Hyperlegible"


class MeasureLine(Protocol):
    """What the profile shows of one measure (the read layer's MeasureSummary)."""

    label: str
    unit: str
    value_text: str
    district_text: str
    difference_text: str
    rank_text: str
    direction_words: str
    direction_tone: str  # "good" | "bad" | "neutral"


class ProfileFigures(Protocol):
    """What the profile shows of an area (the read layer's WardProfile), protected figures."""

    area_name: str
    level: str  # "ward" | "committee"
    as_at: date
    plan_name: str
    data_current_to: date
    boundary_year: int | str
    is_synthetic: bool
    measures: Sequence[MeasureLine]
    glance: Sequence[str]
    disclosure_note: str
    sources: Sequence[str]


def day(value: date) -> str:
    """A date as DD Mon YYYY."""
    return value.strftime(DATE_FORMAT)


@cache
def font_css() -> Markup:
    """@font-face rules for the bundled fonts, each file inline as a data: URI."""
    rules = []
    for file, weight, ranges in FONT_FACES:
        data = base64.b64encode((FONTS / file).read_bytes()).decode("ascii")
        rules.append(
            "@font-face{"
            f"font-family:'{FONT_FAMILY}';font-style:normal;font-weight:{weight};"
            f"src:url(data:font/woff;base64,{data}) format('woff');unicode-range:{ranges}"
            "}"
        )
    return Markup("\n".join(rules))


def template_environment(**filters: Callable) -> Environment:
    """The Jinja2 environment every printable document is rendered in: the templates folder,
    everything escaped (text from data is never markup), a missing value an error; with the
    document's own filters."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(filters)
    return environment


@cache
def _environment() -> Environment:
    return template_environment(day=day, groupby_run=groupby_run, capitalize_first=capitalize_first)


@dataclass(frozen=True)
class UnitGroup:
    """A run of consecutive measures in one unit: one group of table rows under that unit."""

    unit: str
    measures: list


def groupby_run(measures: Sequence[MeasureLine], attribute: str) -> list[UnitGroup]:
    """Consecutive measures with the same unit grouped, in the read layer's order."""
    groups: list[UnitGroup] = []
    for measure in measures:
        unit = getattr(measure, attribute)
        if not groups or groups[-1].unit != unit:
            groups.append(UnitGroup(unit, []))
        groups[-1].measures.append(measure)
    return groups


def capitalize_first(text: str) -> str:
    """The first letter capitalised, the rest left as it is ("Per 1,000 families known")."""
    return text[:1].upper() + text[1:]


def area_title(profile: ProfileFigures) -> str:
    """ "Manningham ward profile", "Bradford West area committee profile"."""
    kind = "ward" if profile.level == "ward" else "area committee"
    return f"{profile.area_name} {kind} profile"


def render_html(
    profile: ProfileFigures,
    area_map: ProfileMap,
    made_on: date,
    *,
    boundary_name: str | None = None,
    attribution: str = ONS_ATTRIBUTION,
) -> str:
    """The profile as one self-contained HTML page (A4 when printed). `boundary_name` names the
    boundary set the map draws (default: its year); `attribution` is the boundaries' licence
    attribution (the settings', by default ONS's)."""
    stylesheet = (HERE / "templates" / "profile.css").read_text(encoding="utf-8")
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            profile=profile,
            title=area_title(profile),
            area_map=area_map,
            map_svg=Markup(area_map.svg),
            made_on=made_on,
            font_css=font_css(),
            stylesheet=Markup(stylesheet),
            boundary_name=boundary_name or f"{profile.boundary_year}",
            attribution=attribution,
        )
    )
