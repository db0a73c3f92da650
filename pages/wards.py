"""Wards: a ward-by-ward picture of the programme for councillors and area committees.

The page reads top to bottom as it draws: the choices (measure, quarter, area committee, ward,
and a postcode box that finds the ward); the chosen ward against the district with its rank and
direction of travel, in numbers and in words; the map, with its key, and the ranking table as its
accessible alternative; the trend by quarter; the area committee's wards side by side; every
measure for the ward; how families are placed in wards and how figures are protected.

Every figure comes from data_model.read.wards, protected by data_model.disclosure unless the
role may see exact counts on screen (then labelled exact); the outlines from data_model.geography.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data_model import geography
from data_model.read import wards
from pages.ui import access, charts, model
from pages.ui.charts import Series
from pages.ui.filters import pick
from pages.ui.formats import fmt_date, plain, small_base_words
from pages.ui.metrics import Metric, metric_row
from pages.ui.profile import profile_buttons
from pages.ui.tables import Caution, Col, table
from pages.ui.ward_map import draw_ward_map

access.require("wards")  # first: who may open this page (data_model/access.yaml)

ALL_WARDS = "All wards"
TONE_COLOURS = {"good": "green", "bad": "red", "neutral": "gray"}
POLARITY_WORDS = {
    "higher_is_better": "a higher rate is better",
    "higher_is_worse": "a higher rate is worse",
    "none": "neither higher nor lower is better in itself",
}
WARD_KEY, COMMITTEE_KEY, POSTCODE_KEY = "ward", "ward_committee", "ward_postcode"
FOUND_KEY = "ward_postcode_found"
WHICH_WARD = (
    "A family counts in the ward it lived in on the date that matters: the quarter's last day for "
    "families known, families eligible and each problem; the day it was attached for families "
    "engaged and results claims. Where it lived is the address its index child was last recorded "
    "at by that date, placed in a ward by the postcode lookup."
)

model.info()  # stops with a message when there is no model
protected = not access.shows_exact_counts()
measures = model.query(wards.ward_measures)
quarters = model.query(wards.ward_quarters)

st.title("Wards")
st.markdown(
    "How each ward compares with the district, measure by measure: to take to a ward meeting or "
    "an area committee. Choose a measure and a ward, click a ward on the map, or find a ward by "
    "postcode."
)
if not quarters or measures.empty:
    st.info("The model has no complete quarter yet, so there are no ward figures to show.")
    st.stop()

# --- Choices -------------------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    measure_id = pick(
        "Measure",
        {row.measure_id: f"{row.label} ({row.unit})" for row in measures.itertuples()},
        key="ward_measure",
    )
with right:
    quarter_end = pd.Timestamp(
        pick(
            "Quarter",
            {q.isoformat(): wards.quarter_label(q) for q in reversed(quarters)},
            key="ward_quarter",
        )
    ).date()
measure = measures.set_index("measure_id").loc[measure_id]
label, unit = str(measure["label"]), str(measure["unit"])

figures = model.query(wards.ward_table, measure_id, quarter_end, protected=protected)
ward_rows = figures[figures["level"] == "ward"]
committee_rows = figures[figures["level"] == "committee"]
district = figures[figures["level"] == "district"].iloc[0]
district_name = str(district["area_name"])
committee_of = dict(zip(ward_rows["area_code"], ward_rows["area_committee"], strict=True))


def _show_ward(code: str) -> None:
    """Choose a ward, widening the committee filter when the ward is not in the chosen one."""
    if st.session_state.get(COMMITTEE_KEY) not in (ALL_WARDS, committee_of.get(code)):
        st.session_state[COMMITTEE_KEY] = ALL_WARDS
    st.session_state[WARD_KEY] = code


def find_postcode() -> None:
    """The postcode box: choose the ward the postcode is in (before the widgets draw)."""
    typed = str(st.session_state.get(POSTCODE_KEY) or "").strip()
    found = model.query(wards.ward_of_postcode, typed) if typed else None
    st.session_state[FOUND_KEY] = (typed, found[1] if found else None) if typed else None
    if found and found[0] in committee_of:
        _show_ward(found[0])


left, middle, right = st.columns(3)
with left:
    committee = pick(
        "Area committee",
        {ALL_WARDS: ALL_WARDS, **{c: c for c in committee_rows["area_name"]}},
        key=COMMITTEE_KEY,
        help="Narrow the ward list to one area committee's wards; the committee's section below "
        "sets them side by side.",
    )
in_committee = ward_rows if committee == ALL_WARDS else ward_rows[
    ward_rows["area_committee"] == committee
]  # fmt: skip
with middle:
    ward_code = pick(
        "Ward",
        dict(zip(in_committee["area_code"], in_committee["area_name"], strict=True)),
        key=WARD_KEY,
        help="Or click a ward on the map, or find it by postcode.",
    )
with right:
    st.text_input(
        "Find the ward of a postcode",
        key=POSTCODE_KEY,
        on_change=find_postcode,
        placeholder="For example BD8 7DY",
        help="Press Enter to look the postcode up in the district's postcode to ward lookup.",
    )
    searched = st.session_state.get(FOUND_KEY)
    if searched and searched[1]:
        st.caption(f"{plain(searched[0].upper())} is in **{plain(searched[1])}** ward.")
    elif searched:
        st.caption(f"{plain(searched[0])} is not in the district's postcode lookup.")
ward = ward_rows[ward_rows["area_code"] == ward_code].iloc[0]
ward_name = str(ward["area_name"])
st.caption(
    f"Showing {plain(label)} ({plain(unit)}) in the quarter ending {fmt_date(quarter_end)}. "
    + ("Figures are protected: **c** stands for a small number withheld (see below)."
       if protected else
       "**Exact figures**, not protected against disclosure: not for publication or for "
       "councillors.")
)  # fmt: skip

# --- The chosen ward against the district --------------------------------------------------------
profile = model.query(wards.ward_profile, ward_code, quarter_end, protected=protected)
summary = next(m for m in profile.measures if m.measure_id == measure_id)
exact = "" if protected else " (exact)"
st.header(plain(f"{ward_name}: {label}"))
metric_row(
    [
        Metric(
            plain(f"{ward_name}{exact}"),
            summary.value_text,
            plain(
                f"{label} {unit}, quarter ending {fmt_date(quarter_end)}: {summary.count_text} "
                f"families. {measure['definition']}"
            ),
            # a rate from a few families (shown, not withheld) swings a long way
            caution=small_base_words(ward["count"], "families"),
        ),
        Metric(
            plain(f"{district_name}{exact}"),
            summary.district_text,
            plain(f"The whole district, {unit}: {district['count_text']} families."),
        ),
        Metric(
            "Difference",
            summary.difference_text,
            plain(f"{ward_name} against the district, {unit}."),
        ),
        Metric(
            "Rank among the wards",
            summary.rank_text or "Not ranked",
            "1st: the highest rate. A ward whose figure is withheld (c) is not ranked.",
        ),
    ]
)
tone = TONE_COLOURS.get(summary.direction_tone, "gray")
st.markdown(
    f"**Direction of travel** over the last four quarters: "
    f":{tone}-badge[{plain(summary.direction_words.capitalize())}] "
    f"({POLARITY_WORDS.get(str(measure['polarity']), '')}; rate {unit})."
)
if summary.glance:
    st.markdown(f"**At a glance:** {plain(summary.glance)}")
st.markdown(
    f"**To take to a meeting:** {plain(ward_name)}'s profile on one A4 page, every measure "
    "against the district, with protected figures whatever your role."
)
profile_buttons(ward_code, f"{ward_name} ward", quarter_end, key="ward")

# --- The map -------------------------------------------------------------------------------------
st.subheader(plain(f"{label} in every ward, quarter ending {fmt_date(quarter_end)}"))
boundary = model.query(geography.boundary_set)
outlines = model.query(geography.ward_boundaries)
if boundary["problem"]:
    st.warning(plain(boundary["problem"]))
if outlines["features"]:
    draw_ward_map(
        outlines,
        ward_rows,
        ward_code,
        title=label,
        unit=unit,
        alt=f"Map of the district's wards shaded by {label} {unit}, {ward_name} outlined. The "
        "table below ranks every ward with the same figures.",
        key="ward_map",
        on_pick=_show_ward,
        note="Darker: a higher rate; each shade holds about a fifth of the wards ranked. The "
        "table below has every ward's figures.",
    )
    st.caption(
        f"Boundaries: {plain(boundary['set_name'] or '')} ({boundary['boundary_year']}). "
        f"{plain(boundary['attribution'])}"
    )

# --- Every ward ranked ---------------------------------------------------------------------------
NOTES = (
    f"{label}: {measure['definition']}",
    f"Quarter ending {fmt_date(quarter_end)}.",
    profile.disclosure_note,
    WHICH_WARD,
)
table(
    ward_rows.sort_values(["rank", "area_name"], na_position="last"),
    "Wards ranked",
    {
        "rank_text": Col("Rank", help="1st: the highest rate. Withheld figures are not ranked."),
        "area_name": Col("Ward"),
        "area_committee": Col("Area committee"),
        "count_text": Col(f"Families{exact}"),
        "rate_text": Col(f"Rate {unit}{exact}"),
    },
    title=f"Every ward ranked by {label} {unit}, quarter ending {fmt_date(quarter_end)}",
    notes=NOTES,
    caution=Caution("count", "families"),
)

# The rest in tabs: the ward's figures, the map and the ranking above answer the page's question.
trend_tab, committee_tab, every_tab, read_tab = st.tabs(
    ["By quarter", "Area committee", "Every measure", "How to read these figures"]
)

with trend_tab:
    # --- Trend by quarter -------------------------------------------------------------------------
    st.header(plain(f"{label} by quarter"))
    trend = model.query(wards.ward_trend, measure_id, protected=protected)
    ward_committee = committee_of.get(ward_code)
    shown_areas = [
        ("ward", ward_code, ward_name, charts.DARK_BLUE, None),
        ("committee", ward_committee, f"{ward_committee} area committee", charts.TURQUOISE, "dot"),
        ("district", wards.DISTRICT_CODE, district_name, charts.ORANGE, "dash"),
    ]
    lines = []
    for level, code, name, colour, dash in shown_areas:
        rows = trend[(trend["level"] == level) & (trend["area_code"] == code)]
        lines.append(
            Series("rate", name, colour, "%{y:.1f}<extra>" + charts.label(name) + "</extra>",
                   data=rows, dash=dash, markers=True)
        )  # fmt: skip
    charts.draw(
        charts.over_time(
            trend,
            "quarter_end",
            title=f"{label} {unit}, each quarter: {ward_name}, its area committee and the district",
            lines=lines,
            x_axis=charts.period_axis(
                trend["quarter_end"],
                [wards.quarter_label(q).split(" (")[0] for q in trend["quarter_end"]],
                title="Quarter",
                most=6,
            ),
            y_axis={"title": f"Rate {unit}", "rangemode": "tozero"},
            hovermode="x unified",
        ),
        alt=f"Line chart of {label} {unit} in each quarter for {ward_name}, "
        f"{ward_committee} area committee and {district_name}; gaps are figures withheld. The "
        "table below gives every ward's rate in every quarter.",
        key="chart_ward_trend",
    )
    by_quarter = trend[trend["level"] == "ward"].pivot(
        index="area_name", columns="quarter_end", values="rate_text"
    )
    by_quarter.columns = [f"{fmt_date(q)}" for q in by_quarter.columns]
    by_quarter = by_quarter.reset_index()
    table(
        by_quarter,
        "Ward rates by quarter",
        {"area_name": Col("Ward"), **{c: Col(c) for c in by_quarter.columns if c != "area_name"}},
        title=f"{label} {unit}{exact} in every ward, by quarter ending",
        notes=NOTES[:1] + NOTES[2:],
        height=320,
    )

with committee_tab:
    # --- The area committee -----------------------------------------------------------------------
    chosen_committee = ward_committee if committee == ALL_WARDS else committee
    st.header(plain(f"{chosen_committee} area committee"))
    members = ward_rows[ward_rows["area_committee"] == chosen_committee].sort_values("area_name")
    side_by_side = pd.concat(
        [members, committee_rows[committee_rows["area_name"] == chosen_committee],
         figures[figures["level"] == "district"]]
    )  # fmt: skip
    # A committee may share its name with one of its wards (Shipley): the bars are named apart.
    side_by_side["bar_name"] = side_by_side["area_name"].where(
        side_by_side["level"] != "committee", side_by_side["area_name"] + " area committee"
    )
    charts.draw(
        charts.by_category(
            side_by_side,
            "bar_name",
            [
                Series(
                    "rate",
                    None,
                    charts.DARK_BLUE,
                    "%{y}: %{x:.1f}<extra></extra>",
                    text=[str(t) for t in side_by_side["rate_text"]],
                )
            ],
            title=f"{label} {unit}: the wards of {chosen_committee}, the committee and the "
            "district",
            height=140 + 45 * len(side_by_side),
            value_axis={"title": f"Rate {unit}"},
        ),
        alt=f"Bar chart of {label} {unit} in each ward of {chosen_committee} area committee, the "
        "committee as a whole and the district; a withheld figure (c) has no bar. The table below "
        "gives the figures.",
        key="chart_committee",
    )
    table(
        side_by_side,
        "Area committee wards",
        {
            "area_name": Col("Area"),
            "level": Col("Ward, committee or district"),
            "count_text": Col(f"Families{exact}"),
            "rate_text": Col(f"Rate {unit}{exact}"),
            "rank_text": Col("Rank among the wards"),
        },
        title=f"{label} {unit}: {chosen_committee} area committee's wards against the district, "
        f"quarter ending {fmt_date(quarter_end)}",
        notes=NOTES,
        caution=Caution("count", "families"),
    )

    profile_buttons(
        str(chosen_committee), f"{chosen_committee} area committee", quarter_end, key="committee"
    )

with every_tab:
    # --- Every measure for the ward ---------------------------------------------------------------
    st.header(plain(f"{ward_name} at a glance"))
    if profile.glance:
        st.markdown("\n".join(f"- {plain(sentence)}" for sentence in profile.glance))
    every_measure = pd.DataFrame(
        [
            {
                "label": m.label,
                "unit": m.unit,
                "value_text": m.value_text,
                "district_text": m.district_text,
                "difference_text": m.difference_text,
                "rank_text": m.rank_text,
                "direction": m.direction_words,
            }
            for m in profile.measures
        ]
    )
    table(
        every_measure,
        "Ward measures",
        {
            "label": Col("Measure"),
            "unit": Col("Unit"),
            "value_text": Col(f"{ward_name}{exact}"),
            "district_text": Col(f"{district_name}{exact}"),
            "difference_text": Col("Difference"),
            "rank_text": Col("Rank among the wards"),
            "direction": Col("Direction of travel, last four quarters"),
        },
        title=f"{ward_name} against {district_name} on every measure, quarter ending "
        f"{fmt_date(quarter_end)}",
        notes=(profile.disclosure_note, WHICH_WARD),
    )

with read_tab:
    # --- How to read these figures ----------------------------------------------------------------
    st.header("How to read these figures")
    st.markdown(
        f"**Which ward a family counts in.** {WHICH_WARD}\n\n"
        f"**Small numbers.** {plain(profile.disclosure_note)} The symbol **c** is the Government "
        "Statistical Service's mark for a figure withheld to keep people from being identified."
        + (
            ""
            if protected
            else " Your role sees exact figures on screen: do not share them. The ward profile "
            "always uses protected figures."
        )
        + "\n\n**Measures**, each a count of families and a rate with its denominator:\n\n"
        + "\n".join(
            f"- *{plain(row.label)}* ({plain(row.unit)}): {plain(row.definition)}"
            for row in measures.itertuples()
        )
    )
