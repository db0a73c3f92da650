"""The Wards page in AppTest, against the tests' own SQL on the marts.

Independence: the page's figures come from data_model.read.wards (which adds committees and the
district, protects small numbers and ranks). These tests count from mart_ward_measure and
mart_ward with their own SQL and arithmetic: rates per 1,000, the district's sums, ranks and the
"at a glance" wording. Protected figures are checked for what a councillor may see: every count
either exact or c, never one from 1 to the threshold; every rate from a published count.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data_model.disclosure import disclosure_settings
from pages.ui.formats import plain
from tests.access_helpers import signed_in
from tests.test_app_pages import leaves

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
WARDS_PAGE = "pages/wards.py"
CHILDREN = "per 1,000 children aged 0–15"
KNOWN = "families_known"  # a measure of large counts: every ward published
SMALL = "problem_school_attendance"  # a measure of small counts: many withheld


@pytest.fixture(scope="module")
def served(synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the test model in a folder of its own (its audit trail beside it)."""
    model = tmp_path_factory.mktemp("wards") / "model.duckdb"
    shutil.copy(synthetic_model, model)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FFI_MODEL", str(model))
        yield model


@pytest.fixture(scope="module")
def sql(served: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(served), read_only=True)
    yield con
    con.close()


def open_wards(role: str) -> AppTest:
    at = signed_in(AppTest.from_file(APP, default_timeout=60), role).run()
    at.switch_page(WARDS_PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Wards"]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def latest_quarter(sql: duckdb.DuckDBPyConnection) -> date:
    return sql.execute("select max(quarter_end) from mart_ward_measure").fetchone()[0]


def own_figures(sql: duckdb.DuckDBPyConnection, measure: str, quarter: date) -> pd.DataFrame:
    """Each ward's families and children aged 0–15 for one measure and quarter, from the marts."""
    return sql.execute(
        """
        select ward.ward_code, ward.ward_name, ward.area_committee, measure.families,
               measure.population_0_15
        from mart_ward_measure as measure
        inner join mart_ward as ward using (ward_code)
        where measure.measure_id = ? and measure.quarter_end = ?
        order by ward.ward_name
        """,
        [measure, quarter],
    ).df()


def metric(at: AppTest, label: str) -> str:
    """The value of the metric labelled `label` (labels from data are escaped Markdown)."""
    found = [m.value for m in at.metric if m.label == plain(label)]
    assert len(found) == 1, (label, [m.label for m in at.metric])
    return found[0]


def frame_with(at: AppTest, *columns: str) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert frames, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def close_to(shown: str, rate: float) -> bool:
    """A rate shown to one decimal place is the rate rounded."""
    return abs(float(shown.replace(",", "")) - rate) <= 0.05 + 1e-9


# --- The figures ---------------------------------------------------------------------------------


def test_an_analysts_exact_figures_rank_and_glance_match_the_marts(
    served: Path, sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_wards("analyst")
    quarter = latest_quarter(sql)
    own = own_figures(sql, KNOWN, quarter)
    own["rate"] = own["families"] * 1000 / own["population_0_15"]
    district = own["families"].sum() * 1000 / own["population_0_15"].sum()
    # A ward from the middle of the ranking, chosen by name.
    ward = own.sort_values("rate").iloc[len(own) // 2]
    at.selectbox(key="ward_measure").set_value(KNOWN)
    at.selectbox(key="ward").set_value(ward["ward_code"])
    rerun(at)

    assert close_to(metric(at, f"{ward['ward_name']} (exact)"), ward["rate"])
    assert close_to(metric(at, "Bradford District (exact)"), district)
    higher = int((own["rate"] > ward["rate"]).sum())
    assert metric(at, "Rank among the wards") == f"{ordinal(higher + 1)} of {len(own)}"
    difference = metric(at, "Difference")
    apart = round(round(ward["rate"], 1) - round(district, 1), 1)  # of the rates as shown
    if apart == 0:
        assert difference == "the same"
    else:
        assert difference == f"{abs(apart):.1f} {'higher' if apart > 0 else 'lower'}"

    glance = next(m.value for m in at.markdown if m.value.startswith("**At a glance:**"))
    glance = glance.replace("\\", "")
    from_top, from_bottom = higher + 1, len(own) - higher
    place = (
        f"the {ordinal(from_top)} highest" if from_top <= from_bottom
        else f"the {ordinal(from_bottom)} lowest"
    ).replace("the 1st highest", "the highest").replace("the 1st lowest", "the lowest")  # fmt: skip
    assert f"{ward['ward_name']} has {place} rate of families known of {len(own)} wards" in glance
    numbers = re.search(rf"wards: ([\d.,]+) {CHILDREN} against ([\d.,]+) across", glance)
    assert numbers is not None, glance
    assert close_to(numbers.group(1), ward["rate"]) and close_to(numbers.group(2), district)

    ranked = frame_with(at, "rank_text", "area_name", "count_text", "rate_text")
    by_name = ranked.set_index("area_name")
    for row in own.itertuples():
        assert by_name.loc[row.ward_name, "count_text"] == f"{row.families:,}"
        assert close_to(by_name.loc[row.ward_name, "rate_text"], row.rate)
    assert (
        list(ranked["area_name"])[:3]
        == list(own.sort_values(["rate", "ward_name"], ascending=[False, True])["ward_name"])[:3]
    )


def test_a_councillor_sees_only_protected_figures(
    served: Path, sql: duckdb.DuckDBPyConnection
) -> None:
    threshold = disclosure_settings().threshold
    at = open_wards("councillor")
    at.selectbox(key="ward_measure").set_value(SMALL)
    rerun(at)
    own = own_figures(sql, SMALL, latest_quarter(sql)).set_index("ward_name")
    assert not [m.label for m in at.metric if "exact" in m.label]
    assert not any("Exact figures" in c.value for c in at.caption)
    ranked = frame_with(at, "rank_text", "area_name", "count_text", "rate_text")
    withheld = 0
    published_rates = {}
    for row in ranked.itertuples():
        true = int(own.loc[row.area_name, "families"])
        if row.count_text == "c":
            withheld += 1
            assert row.rate_text == "c" and row.rank_text == ""
            continue
        shown = int(row.count_text.replace(",", ""))
        assert shown == true  # suppression publishes the exact count or nothing
        assert not 1 <= shown <= threshold, (row.area_name, shown)
        rate = true * 1000 / own.loc[row.area_name, "population_0_15"]
        assert close_to(row.rate_text, rate)
        published_rates[row.area_name] = rate
    # Every true count from 1 to the threshold is withheld; something is, on this small measure.
    small = own[(own["families"] >= 1) & (own["families"] <= threshold)]
    assert withheld >= len(small) > 0
    # Ranks are among the published wards only.
    for row in ranked.itertuples():
        if row.area_name in published_rates:
            higher = sum(r > published_rates[row.area_name] for r in published_rates.values())
            assert row.rank_text.endswith(f"{ordinal(higher + 1)} of {len(published_rates)}")
    # The profiles to take to a meeting: the ward's and its committee's.
    ward = at.selectbox(key="ward").value
    name = own.reset_index().set_index("ward_code").loc[ward, "ward_name"]
    labels = [b.proto.label for b in at.get("download_button")]
    assert f"Profile of {name} ward (HTML)" in labels
    assert any(label.endswith("area committee (HTML)") for label in labels)
    # No table on the page shows a count from 1 to the threshold.
    for frame in (d.value for d in at.dataframe):
        for column in [c for c in frame.columns if c == "count_text"]:
            shown = [int(v.replace(",", "")) for v in frame[column] if v != "c"]
            assert not [v for v in shown if 1 <= v <= threshold], column


def test_the_map_has_no_map_style_no_provider_and_no_url(served: Path) -> None:
    at = open_wards("councillor")
    [chart] = at.get("deck_gl_json_chart")
    text = chart.proto.json
    deck = json.loads(text)
    assert deck.get("mapStyle") in (None, "__MAP_STYLE__")  # the placeholder Streamlit deletes
    assert "mapProvider" not in deck
    assert "http" not in text.lower() and "carto" not in text.lower() and "mapbox" not in text
    ward = at.selectbox(key="ward").value
    features = deck["layers"][0]["data"]["features"]
    assert len(features) == 30
    chosen = next(layer for layer in deck["layers"] if layer["id"] == "chosen")
    assert [f["properties"]["ward_code"] for f in chosen["data"]["features"]] == [ward]
    assert all("ward_name" in f["properties"] and "rate_line" in f["properties"]
               for f in features)  # fmt: skip
    # Under the map: the boundary set, its year and the licence's attribution.
    assert any("(2022)" in c.value and "Open Government Licence" in c.value for c in at.caption)


def test_the_area_committee_filter_lists_its_wards_and_sets_them_side_by_side(
    served: Path, sql: duckdb.DuckDBPyConnection
) -> None:
    at = open_wards("manager")
    committee = "Keighley"
    own = own_figures(sql, KNOWN, latest_quarter(sql))
    members = own[own["area_committee"] == committee]
    at.selectbox(key="ward_committee").set_value(committee)
    rerun(at)
    assert at.selectbox(key="ward").options == sorted(members["ward_name"])
    assert f"{committee} area committee" in [h.value for h in at.header]
    [side] = [
        d.value for d in at.dataframe
        if "level" in d.value.columns and (d.value["level"] == "committee").any()
    ]  # fmt: skip
    assert list(side["level"]) == ["ward"] * len(members) + ["committee", "district"]
    assert list(side["area_name"])[: len(members)] == sorted(members["ward_name"])
    total, children = members["families"].sum(), members["population_0_15"].sum()
    committee_row = side[side["level"] == "committee"].iloc[0]
    assert committee_row["count_text"] == f"{total:,}"
    assert close_to(committee_row["rate_text"], total * 1000 / children)


def test_the_postcode_box_finds_the_ward(served: Path, sql: duckdb.DuckDBPyConnection) -> None:
    at = open_wards("councillor")
    first = at.selectbox(key="ward").value
    postcode, code, name = sql.execute(
        """
        select lookup.postcode, lookup.ward_code, ward.ward_name
        from stg_postcode_ward as lookup inner join mart_ward as ward using (ward_code)
        where lookup.ward_code <> ? order by lookup.postcode limit 1
        """,
        [first],
    ).fetchone()
    typed = postcode.replace(" ", "").lower()  # as people type it
    at.text_input(key="ward_postcode").set_value(typed)
    rerun(at)
    assert at.selectbox(key="ward").value == code
    assert any(f"is in **{name}** ward" in c.value for c in at.caption)
    assert at.header[0].value.startswith(plain(f"{name}:"))
    at.text_input(key="ward_postcode").set_value("ZZ99 9ZZ")
    rerun(at)
    assert at.selectbox(key="ward").value == code  # unchanged
    assert any("not in the district's postcode lookup" in c.value for c in at.caption)


def test_the_page_says_which_date_places_a_family_and_what_c_means(served: Path) -> None:
    at = open_wards("councillor")
    text = " ".join(m.value for m in at.markdown)
    assert "the quarter's last day" in text and "the day it was attached" in text
    assert "**c**" in text and "Statistical Service" in text
    assert f"Counts from 1 to {disclosure_settings().threshold} are shown as c" in text
    assert not any(type(e).__name__ == "Exception" for e in leaves(at.main))


# --- The councillor's Overview -------------------------------------------------------------------

OVERVIEW_COUNTS = {
    "Families referred": """
        select count(distinct case_id) from mart_referral
        where received_date <= (select as_at_date from mart_model_info)
    """,
    "Families attached": """
        select count(*) from mart_family_attachment
        where first_attached_date <= (select as_at_date from mart_model_info)
    """,
    "Families eligible now": """
        select count(*) from mart_plan_family_eligibility where date_kind = 'as at' and is_eligible
    """,
    "Families near a claim": """
        select count(*) from mart_plan_family_status where is_current and state = 'near'
    """,
    "Results claims": "select count(*) from mart_claim where claim_type = 'results'",
}


@pytest.mark.parametrize("role", ["councillor", "manager"])
def test_the_overview_protects_a_councillors_figures_and_only_theirs(
    served: Path, sql: duckdb.DuckDBPyConnection, role: str
) -> None:
    threshold = disclosure_settings().threshold
    at = signed_in(AppTest.from_file(APP, default_timeout=60), role).run()
    assert not at.exception and [t.value for t in at.title] == ["Overview"]
    for label, query in OVERVIEW_COUNTS.items():
        (true,) = sql.execute(query).fetchone()
        shown = metric(at, label)
        if role == "councillor" and 1 <= true <= threshold:
            assert shown == "c", (label, true)
        else:
            assert shown == f"{true:,}", (label, true, shown)
    charts, tables = len(at.get("plotly_chart")), len(at.dataframe)
    if role == "councillor":
        # Totals only: no monthly trajectory, nor the recent months' rate.
        assert (charts, tables) == (0, 1)  # the data currency table: rows, not families
        assert not any("a month" in m.value for m in at.markdown)
        assert any("protected against disclosure" in c.value for c in at.caption)
    else:
        assert (charts, tables) == (1, 2)
        assert not any("protected against disclosure" in c.value for c in at.caption)


def test_the_user_guide_has_a_wards_section_on_the_measures_and_their_protection(
    served: Path,
) -> None:
    at = signed_in(AppTest.from_file(APP, default_timeout=60), "councillor").run()
    at.switch_page("pages/user_guide.py").run()
    assert not at.exception
    guide = " ".join(m.value for m in at.markdown)
    section = guide[guide.index("## Wards") :]
    for words in ("Families known", "Families eligible under the plan", "Results claims",
                  "**How figures are protected**", "**c**", "cell key perturbation",
                  "the ward profile always carries protected"):  # fmt: skip
        assert words in section, words


def test_boundaries_that_match_no_ward_are_said_on_the_page_instead_of_a_map(
    served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st

    from data_model import geography

    message = "The ward boundary file wards_leeds_2022.geojson (WD22CD) has no ward of the wards"

    def ward_boundaries(con: duckdb.DuckDBPyConnection) -> dict:
        return {"type": "FeatureCollection", "features": []}

    def boundary_set(con: duckdb.DuckDBPyConnection) -> dict:
        return {"problem": message, "boundary_year": 2022, "set_name": "x", "attribution": ""}

    for stand_in in (ward_boundaries, boundary_set):  # model.query finds them by module and name
        stand_in.__module__ = geography.__name__
        monkeypatch.setattr(geography, stand_in.__name__, stand_in)
    st.cache_data.clear()  # the page reads through a cache kept per model
    try:
        at = open_wards("councillor")
        assert [w for w in at.warning if message in w.value.replace("\\", "")]
        assert not at.get("deck_gl_json_chart")
        assert frame_with(at, "rank_text", "area_name")["area_name"].size == 30  # the table stays
    finally:
        st.cache_data.clear()


def test_a_committee_named_like_one_of_its_wards_has_a_bar_of_its_own(
    served: Path, sql: duckdb.DuckDBPyConnection
) -> None:
    """Shipley is a ward and the area committee it is in: each gets its own bar, at its own rate
    (one shared category stacked the two)."""
    at = open_wards("manager")
    at.selectbox(key="ward_committee").set_value("Shipley")
    rerun(at)
    bars = [
        trace
        for chart in at.get("plotly_chart")
        for trace in json.loads(chart.proto.spec)["data"]
        if trace.get("type") == "bar"
    ]
    # a long name is drawn over lines (<br>): read as one
    names = [name.replace("<br>", " ") for trace in bars for name in trace["y"]]
    assert len(names) == len(set(names))
    assert "Shipley" in names and "Shipley area committee" in names
