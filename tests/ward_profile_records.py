"""Hand-made ward profile records for the profile's writers (template, map, PDF).

They have the fields of the read layer's WardProfile and MeasureSummary (the contract in
data_model/read/wards.py), filled in by hand, so the writers are tested on known values: the
figures, the suppressed ones ("c"), long labels, and a ward name that is not markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date

import pytest

from data_model.profile import pdf
from data_model.profile.static_map import WardOutline, WardRate

PER_CHILD = "per 1,000 children aged 0–15"
PER_FAMILY = "per 1,000 families known"
AS_AT = date(2026, 3, 31)
CURRENT_TO = date(2026, 3, 27)
MADE_ON = date(2026, 4, 2)

# Supporting Families 2022's ten headline problems: as many measures as the profile will carry.
PROBLEMS = [
    "Getting a good education",
    "Good early years development",
    "Improved mental and physical health",
    "Promoting recovery and reducing harm from substance use",
    "Improved family relationships",
    "Children safe from abuse and exploitation",
    "Crime prevention and tackling crime",
    "Safe from domestic abuse",
    "Secure housing",
    "Financial stability",
]
SUPPRESSED_PROBLEM = 3  # its ward value is "c"


@dataclass
class HandMeasure:
    label: str
    unit: str
    polarity: str
    value_text: str
    district_text: str
    difference_text: str
    rank_text: str
    direction_words: str
    direction_tone: str
    glance: str = ""


@dataclass
class HandProfile:
    area_name: str
    level: str
    as_at: date
    plan_name: str
    data_current_to: date
    boundary_year: int
    is_synthetic: bool
    measures: list[HandMeasure]
    glance: list[str]
    disclosure_note: str
    sources: list[str]
    highest_ward: str = ""
    lowest_ward: str = ""
    extra: dict = field(default_factory=dict)


def _measures() -> list[HandMeasure]:
    measures = [
        HandMeasure("Families engaged", PER_CHILD, "higher_is_better", "14.2", "8.1", "+6.1",
                    "2nd of 30", "improving", "good"),
        HandMeasure("Families eligible under the plan", PER_FAMILY, "none", "402.7", "388.5",
                    "+14.2", "9th of 30", "increasing", "neutral"),
    ]  # fmt: skip
    for i, problem in enumerate(PROBLEMS):
        hidden = i == SUPPRESSED_PROBLEM
        measures.append(
            HandMeasure(
                label=f"Families with: {problem}",
                unit=PER_CHILD,
                polarity="higher_is_worse",
                value_text="c" if hidden else f"{3.4 + 1.3 * i:.1f}",
                district_text=f"{4.0 + i:.1f}",
                difference_text="c" if hidden else f"{-0.6 + 0.3 * i:+.1f}",
                rank_text="–" if hidden else f"{i + 3}th of 30",
                direction_words="not published" if hidden else ("worsening", "improving")[i % 2],
                direction_tone="neutral" if hidden else ("bad", "good")[i % 2],
            )
        )
    measures.append(
        HandMeasure("Results claimed", PER_CHILD, "higher_is_better", "3.1", "2.7", "+0.4",
                    "11th of 30", "no change", "neutral")
    )  # fmt: skip
    return measures


def ward_profile(**changes) -> HandProfile:  # noqa: ANN003
    """Manningham's profile, by hand: 13 measures, one suppressed; synthetic."""
    profile = HandProfile(
        area_name="Manningham",
        level="ward",
        as_at=AS_AT,
        plan_name="Supporting Families 2022 to 2025",
        data_current_to=CURRENT_TO,
        boundary_year=2022,
        is_synthetic=True,
        measures=_measures(),
        glance=[
            "Manningham has the 2nd highest rate of families engaged of 30 wards: 14.2 per "
            "1,000 children aged 0–15 against 8.1 across the district.",
            "Manningham has the 10th highest rate of families affected by domestic abuse of 30 "
            "wards: 12.5 per 1,000 children aged 0–15 against 11.0 across the district.",
        ],
        disclosure_note=(
            "Counts from 1 to 5 are shown as c, and so are any figures from which they could be "
            "worked out; a rate is not published where its count is not."
        ),
        sources=["Early help module extract, 27 Mar 2026", "ONS mid-2020 population estimates"],
        highest_ward="Queensbury",
        lowest_ward="Wharfedale",
    )
    return replace(profile, **changes)


def committee_profile(**changes) -> HandProfile:  # noqa: ANN003
    """Bradford West's profile: as Manningham's, but a committee has no rank among wards."""
    measures = [replace(m, rank_text="") for m in _measures()]
    return ward_profile(area_name="Bradford West", level="committee", measures=measures, **changes)


def hand_rates(shapes: list[WardOutline]) -> list[WardRate]:
    """A rate for every ward, rising with its place in the file; every seventh suppressed."""
    rates = []
    for i, shape in enumerate(shapes):
        rate = None if i % 7 == 3 else round(2.0 + 0.7 * i, 1)
        rates.append(WardRate(shape.code, shape.name, rate, "c" if rate is None else f"{rate}"))
    return rates


def shipped_boundaries(system: str = "bng") -> dict:
    """The shipped Bradford ward boundaries as the build stores them (data_model.geography: read
    and simplified as wards.yaml says), as a FeatureCollection in British National Grid ("bng")
    or longitude and latitude ("lonlat"), properties ward_code and ward_name."""
    from data_model.geography import boundary_settings, read_boundary_file

    settings = boundary_settings()
    read = read_boundary_file(settings.file, settings.year, settings.simplify_metres)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": getattr(ward, system),
                "properties": {"ward_code": ward.code, "ward_name": ward.name},
            }
            for ward in read.wards
        ],
    }


@contextmanager
def weasyprint_missing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a Windows laptop without the GTK runtime: loading WeasyPrint fails in Pango."""

    def missing() -> None:
        raise OSError("cannot load library 'libpango-1.0-0': error 0x7e")

    pdf.pdf_unavailable_reason.cache_clear()
    monkeypatch.setattr(pdf, "_load_weasyprint", missing)
    try:
        yield
    finally:
        monkeypatch.undo()
        pdf.pdf_unavailable_reason.cache_clear()
