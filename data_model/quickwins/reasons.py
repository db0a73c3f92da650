"""A feature's value and its part in a family's score, in plain words: "lowest attendance last
term 88%", "attendance up 3.1 points over the last two terms"."""

from __future__ import annotations

import math

from data_model.quickwins.features import Feature


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def _unit(unit: str, value: float) -> str:
    """'incidents' for 2, 'incident' for 1 (the plan's units are plural)."""
    if abs(value - 1) < 1e-9 and unit.endswith("s") and not unit.endswith("points"):
        return unit[:-1]
    if abs(value - 1) < 1e-9 and unit.endswith("points"):
        return unit[:-1]
    return unit


def reason_text(
    feature: Feature, value: float, was_missing: bool, never_attached: bool = False
) -> str:
    """What the family's value of the feature is, in words (`never_attached`: a family on the
    referrals list, scored as it is today)."""
    if was_missing or value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{feature.label}: not applicable"
    name = feature.name
    if name == "attendance_lowest":
        return f"lowest attendance last term {value:.0f}%"
    if name == "attendance_trend":
        if abs(value) < 0.05:
            return "attendance level over the last two terms"
        way = "up" if value > 0 else "down"
        return f"attendance {way} {abs(value):.1f} points over the last two terms"
    if name.startswith("problem__"):
        title = feature.label.removeprefix("has the problem: ")
        return f"{title}: a problem for this family" if value else f"{title}: not a problem"
    if name == "eligible_when_attached":
        if never_attached:  # on the referrals list because it is eligible today
            rule = feature.label.split(" (", 1)[1]
            return f"meets the plan's eligibility today ({rule}"
        return feature.label if value else "did not meet " + feature.label.removeprefix("met ")
    if name.startswith("progress_only__"):
        title = feature.label.split(": ", 1)[1]
        if value:
            return f"{title}: a problem, and only progress on every problem can make a claim"
        return f"{title}: not a problem, or another route to a claim is open"
    if name.startswith("records__"):
        title = feature.label.removeprefix("records showing: ")
        if value == 0:  # "0 records showing: ..." read as if something were shown
            return f"{title}: no records"
        return f"{title}: {_number(value)} record{'s' if value != 1 else ''}"
    if name.startswith("distance__"):
        title = feature.label.removeprefix("distance to threshold, in near margins: ")
        if value <= 0:
            return f"at its threshold or not applicable: {title}"
        if feature.margin_size:  # in the measure's own unit: "7 percentage points from..."
            own = value * feature.margin_size
            return f"{_number(own)} {_unit(feature.margin_unit, own)} from the threshold: {title}"
        return f"{_number(value)} near margin{'s' if value != 1 else ''} to go on: {title}"
    if name.startswith("referral__"):
        source = name.removeprefix("referral__")
        return f"referred by {source}" if value else f"not referred by {source}"
    if feature.unit == "years":  # in whole years, as ages are said: 17.9 is 17
        return f"{feature.label} {math.floor(value + 1e-9):.0f} years"
    if feature.unit:
        return f"{feature.label} {_number(value)} {feature.unit}"
    return f"{feature.label}: {_number(value)}"
