"""Wards: a ward-by-ward picture of the programme for councillors and area committees.

The page reads top to bottom as it draws: the choices (measure, quarter, area committee, ward,
and a postcode box that finds the ward); the chosen ward against the district with its rank and
direction of travel, in numbers and in words; the map, with its key and the ranking table as its
accessible alternative; the trend by quarter; the area committee's wards side by side; every
measure for the ward; and how families are placed in wards and how figures are protected.

Every figure comes from data_model.read.wards, protected (data_model.disclosure) unless the role
may see exact counts on screen; the boundaries from data_model.geography.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data_model import geography
from data_model.read import wards
from pages.ui import access, charts, model
from pages.ui.charts import Series
from pages.ui.filters import pick
from pages.ui.formats import fmt_date, plain
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import Col, table
from pages.ui.ward_map import draw_ward_map

access.require("wards")  # first: who may open this page (data_model/access.yaml)

ALL_WARDS = "All wards"
TONE_COLOURS = {"good": "green", "bad": "red", "neutral": "gray"}
WARD_KEY, COMMITTEE_KEY, POSTCODE_KEY = "ward", "ward_committee", "ward_postcode"
FOUND_KEY = "ward_postcode_found"

info = model.info()
protected = not access.shows_exact_counts()
measures = model.query(wards.ward_measures)
quarters = model.query(wards.ward_quarters)
boundary = model.query(geography.boundary_set)

st.title("Wards")
st.markdown(
    "How each ward compares with the district, measure by measure: to take to a ward meeting or "
    "an area committee. Choose a measure and a ward, or find the ward by postcode."
)
if not quarters:
    st.info("The model has no complete quarter yet, so there are no ward figures to show.")
    st.stop()

# --- Choices -------------------------------------------------------------------------------------
measure_labels = {row.measure_id: row.label for row in measures.itertuples()}
quarter_labels = {q.isoformat(): f"Quarter ending {fmt_date(q)}" for q in reversed(quarters)}
left, right = st.columns(2)
with left:
    measure_id = pick("Measure", measure_labels, key="ward_measure")
with right:
    quarter_end = pd.Timestamp(pick("Quarter", quarter_labels, key="ward_quarter")).date()
measure = measures.set_index("measure_id").loc[measure_id]
unit = str(measure["unit"])

figures = model.query(wards.ward_table, measure_id, quarter_end, protected=protected)
ward_rows = figures[figures["level"] == "ward"]
district = figures[figures["level"] == "district"].iloc[0]
committees = sorted(ward_rows["area_committee"].dropna().unique())
ward_names = dict(zip(ward_rows["area_code"], ward_rows["area_name"], strict=True))


def find_postcode() -> None:
    """The postcode box's callback: choose the ward the postcode is in, before the widgets draw."""
    typed = st.session_state.get(POSTCODE_KEY, "").strip()
    if not typed:
        st.session_state[FOUND_KEY] = None
        return
    found = model.query(wards.ward_of_postcode, typed)
    if found is None:
        st.session_state[FOUND_KEY] = ("missing", typed)
        return
    code, name = found
    st.session_state[FOUND_KEY] = ("found", typed, name)
    if code in ward_names:
        if st.session_state.get(COMMITTEE_KEY) not in (ALL_WARDS, _committee_of(code)):
            st.session_state[COMMITTEE_KEY] = ALL_WARDS
        st.session_state[WARD_KEY] = code


def _committee_of(code: str) -> str | None:
    match = ward_rows.loc[ward_rows["area_code"] == code, "area_committee"]
    return None if match.empty else match.iloc[0]


def choose_ward(code: str) -> None:
    """A click on the map: that ward, in its committee's list or all wards'."""
    if st.session_state.get(COMMITTEE_KEY) not in (ALL_WARDS, _committee_of(code)):
        st.session_state[COMMITTEE_KEY] = ALL_WARDS
    st.session_state[WARD_KEY] = code


left, middle, right = st.columns(3)
with left:
    committee = pick(
        "Area committee",
        {ALL_WARDS: ALL_WARDS, **{c: c for c in committees}},
        key=COMMITTEE_KEY,
        help="Narrow the ward list to one area committee's wards; the committee's section below "
        "compares them side by side.",
    )
in_committee = ward_rows if committee == ALL_WARDS else ward_rows[
    ward_rows["area_committee"] == committee
]  # fmt: skip
with middle:
    ward_code = pick(
        "Ward",
        dict(sorted(zip(in_committee["area_code"], in_committee["area_name"], strict=True),
                    key=lambda item: item[1])),
        key=WARD_KEY,
        help="Or click a ward on the map.",
    )  # fmt: skip
with right:
    st.text_input(
        "Find the ward of a postcode",
        key=POSTCODE_KEY,
        on_change=find_postcode,
        placeholder="e.g. BD8 7DY",
        help="The postcode to ward lookup (reference/postcode_ward.csv) of the district.",
    )
    found = st.session_state.get(FOUND_KEY)
    if found and found[0] == "found":
        st.caption(f"{plain(found[1].upper())} is in **{plain(found[2])}**.")
    elif found:
        st.caption(f"{plain(found[1])} is not a postcode of the district's lookup.")
ward = ward_rows[ward_rows["area_code"] == ward_code].iloc[0]
ward_name = str(ward["area_name"])
st.caption(
    f"Showing {plain(measure['label'])} ({plain(unit)}), quarter ending {fmt_date(quarter_end)}; "
    + ("figures protected: `c` marks a small number withheld." if protected else
       "**exact figures**, unprotected: not for publication.")
)  # fmt: skip

# --- The chosen ward against the district --------------------------------------------------------
profile = model.query(wards.ward_profile, ward_code, quarter_end, protected=protected)
summary = next(m for m in profile.measures if m.measure_id == measure_id)
st.header(f"{ward_name}: {measure['label']}")
metric_row(
    [
        Metric(
            ward_name,
            str(ward["rate_text"]),
            f"{measure['label']} {unit}, quarter ending {fmt_date(quarter_end)}: "
            f"{ward['count_text']} families.",
        ),
        Metric(
            "District",
            str(district["rate_text"]),
            f"The whole district, {unit}: {district['count_text']} families.",
        ),
        Metric("Difference", summary.difference_text, f"{ward_name} minus the district, {unit}."),
        Metric(
            "Rank",
            str(ward["rank_text"]) or "Not ranked",
            "Among the wards, 1st with the highest rate. A ward whose figure is withheld is not "
            "ranked.",
        ),
    ]
)
tone = TONE_COLOURS.get(summary.direction_tone, "gray")
st.markdown(
    f"Direction of travel over the last four quarters: :{tone}-badge[{plain(summary.direction_words)}]"
    f" ({plain(_polarity_words := wards.polarity_words(measure['polarity']))})."
)
st.subheader("At a glance")
st.markdown("\n".join(f"- {plain(sentence)}" for sentence in profile.glance))

# --- The map -------------------------------------------------------------------------------------
st.subheader(f"{measure['label']} in every ward")
outlines = model.query(geography.ward_boundaries)
if boundary["problem"]:
    st.warning(plain(boundary["problem"]))
if outlines["features"]:
    draw_ward_map(
        outlines,
        ward_rows,
        ward_code,
        title=str(measure["label"]),
        unit=unit,
        alt=f"Map of the district's wards shaded by {measure['label']} {unit}, "
        f"{ward_name} outlined. The table below ranks every ward.",
        key="ward_map",
        on_pick=choose_ward,
        note="Darker: a higher rate. Each shade holds about a fifth of the wards.",
    )
    st.caption(
        f"{plain(boundary['set_name'])} ({boundary['boundary_year']} boundaries). "
        f"{plain(boundary['attribution'])}"
    )

# --- The ranking ---------------------------------------------------------------------------------
ranked = ward_rows.sort_values(["rank", "area_name"], na_position="last")
NOTES = (
    f"{measure['label']}: {measure['definition']}",
    f"Quarter ending {fmt_date(quarter_end)}.",
    profile.disclosure_note,
)
table(
    ranked,
    "Wards ranked",
    {
        "rank_text": Col("Rank", help="1st: the highest rate. Withheld figures are not ranked."),
        "area_name": Col("Ward"),
        "area_committee": Col("Area committee"),
        "count_text": Col("Families"),
        "rate_text": Col(f"Rate {unit}"),
    },
    title=f"Every ward ranked by {measure['label']} {unit}, quarter ending "
    f"{fmt_date(quarter_end)}",
    notes=NOTES,
)
