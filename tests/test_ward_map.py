"""The Wards page's map component (pages/ui/ward_map.py), without a browser: classes against the
tests' own quantiles, withheld wards, the chosen ward, tooltips, the legend, and a deck that asks
nothing of the internet."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from data_model.geography import BoundarySettings, create_boundary_tables, ward_boundaries
from loaders.synthetic.geography import WARDS
from pages.ui import ward_map
from pages.ui.ward_map import PALETTE, WITHHELD, legend_html, map_data, ward_deck

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "loaders" / "reference" / "boundaries" / "wards_bradford_2022.geojson"
UNIT = "per 1,000 children aged 0–15"


@pytest.fixture(scope="module")
def boundaries() -> dict:
    con = duckdb.connect()
    con.execute("create table raw_ref_wards (ward_code varchar, ward_name varchar)")
    con.executemany("insert into raw_ref_wards values (?, ?)", [(w.code, w.name) for w in WARDS])
    create_boundary_tables(con, BoundarySettings(SHIPPED, 2022, "ONS 2022", "ONS", 20.0))
    return ward_boundaries(con)


def ward_rows(rates: list[float | None]) -> pd.DataFrame:
    """One row per Bradford ward, as the read layer gives them; None: withheld."""
    shown = sorted((r for r in rates if r is not None), reverse=True)
    return pd.DataFrame(
        [
            {
                "area_code": ward.code,
                "area_name": ward.name,
                "rate": rate,
                "rate_text": "c" if rate is None else f"{rate:.1f}",
                "rank_text": "" if rate is None else f"{shown.index(rate) + 1} of {len(shown)}",
                "suppressed": rate is None,
            }
            for ward, rate in zip(WARDS, rates, strict=True)
        ]
    )


def rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def test_wards_fall_in_five_classes_of_about_six_wards_by_the_tests_own_quantiles(
    boundaries: dict,
) -> None:
    rates = [float(r) for r in np.random.default_rng(4).uniform(1, 30, size=30).round(3)]
    data = map_data(boundaries, ward_rows(rates), None, unit=UNIT)
    edges = np.percentile(rates, [20, 40, 60, 80, 100])  # quantile class bounds
    by_code = {f["properties"]["ward_code"]: f["properties"] for f in data.features}
    for ward, rate in zip(WARDS, rates, strict=True):
        expected = int(np.searchsorted(edges, rate, side="left"))
        assert by_code[ward.code]["fill"] == rgb(PALETTE[expected]), ward.name
    assert [c.wards for c in data.legend] == [6, 6, 6, 6, 6]
    assert [c.colour for c in data.legend] == list(PALETTE)
    assert data.legend[0].words == f"{min(rates):.1f} to {edges[0]:.1f}"
    assert data.legend[4].words == f"over {edges[3]:.1f} to {max(rates):.1f}"


def test_withheld_wards_are_grey_labelled_c_and_not_classed(boundaries: dict) -> None:
    rates: list[float | None] = [float(i) for i in range(1, 31)]
    for i in (0, 7, 19):
        rates[i] = None
    data = map_data(boundaries, ward_rows(rates), None, unit=UNIT)
    grey = [f["properties"] for f in data.features if f["properties"]["fill"] == rgb(WITHHELD)]
    assert {p["ward_code"] for p in grey} == {WARDS[i].code for i in (0, 7, 19)}
    assert all(p["rate_line"].startswith("c: withheld") for p in grey)
    assert all(p["rank_line"] == "Not ranked" for p in grey)
    assert len(data.labels) == 3 and {label["text"] for label in data.labels} == {"c"}
    assert sum(c.wards for c in data.legend[:-1]) == 27
    assert data.legend[-1].colour == WITHHELD and data.legend[-1].wards == 3
    assert WITHHELD not in PALETTE


def test_tooltips_and_the_chosen_ward(boundaries: dict) -> None:
    rates = [float(i) for i in range(1, 31)]
    chosen = WARDS[18]  # Manningham
    data = map_data(boundaries, ward_rows(rates), chosen.code, unit=UNIT)
    assert data.chosen is not None and data.chosen["properties"]["ward_code"] == chosen.code
    props = data.chosen["properties"]
    assert props["ward_name"] == "Manningham"
    assert props["rate_line"] == f"19.0 {UNIT}"
    assert props["rank_line"] == "Ranked 12 of 30 (1st: the highest rate)"
    deck = json.loads(ward_deck(data).to_json())
    ids = [layer["id"] for layer in deck["layers"]]
    assert ids == ["wards", "chosen-halo", "chosen"]
    outline = deck["layers"][2]
    assert (
        outline["filled"] is False
        and outline["data"]["features"][0]["properties"]["ward_code"] == chosen.code
    )
    tooltip = ward_map.TOOLTIP["html"]
    assert all(f"{{{key}}}" in tooltip for key in ("ward_name", "rate_line", "rank_line"))


def test_the_deck_has_no_map_style_no_provider_and_no_url(boundaries: dict) -> None:
    rates: list[float | None] = [float(i) for i in range(1, 31)]
    rates[2] = None
    text = ward_deck(map_data(boundaries, ward_rows(rates), WARDS[0].code, unit=UNIT)).to_json()
    deck = json.loads(text)
    # pydeck's placeholder, which Streamlit's frontend deletes; None or "" would fetch Carto's.
    assert deck.get("mapStyle") == "__MAP_STYLE__"
    assert "mapProvider" not in deck
    assert "http" not in text and "//" not in text and "carto" not in text.lower()
    assert all(isinstance(layer["data"], dict | list) for layer in deck["layers"])  # inline


def test_the_view_fits_every_ward(boundaries: dict) -> None:
    view = ward_map.fit_view(boundaries, 760, 520)
    scale = 512 * 2**view.zoom  # pixels across the world at this zoom

    def pixel(lon: float, lat: float) -> tuple[float, float]:
        x = (lon + 180) / 360 * scale
        y = (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2 * scale
        return x, y

    cx, cy = pixel(view.longitude, view.latitude)
    for feature in boundaries["features"]:
        for lon, lat in ward_map._points(feature["geometry"]["coordinates"]):
            x, y = pixel(lon, lat)
            assert abs(x - cx) <= 380 and abs(y - cy) <= 260, feature["properties"]["ward_name"]


def test_few_distinct_rates_make_fewer_classes(boundaries: dict) -> None:
    rates = [0.0] * 20 + [5.0] * 10
    data = map_data(boundaries, ward_rows(rates), None, unit=UNIT)
    assert [(c.words, c.wards) for c in data.legend] == [
        ("0.0", 20),
        ("over 0.0 to 5.0", 10),
    ]
    assert [c.colour for c in data.legend] == [PALETTE[0], PALETTE[-1]]
    single = map_data(boundaries, ward_rows([3.0] * 30), None, unit=UNIT)
    assert [(c.words, c.wards) for c in single.legend] == [("3.0", 30)]


def test_the_legend_escapes_what_it_shows(boundaries: dict) -> None:
    rows = ward_rows([float(i) for i in range(1, 31)])
    rows.loc[0, "area_name"] = "<img src=x onerror=alert(1)>"
    data = map_data(boundaries, rows, WARDS[0].code, unit=UNIT)
    legend = legend_html(data, title="Domestic abuse <b>", unit=UNIT, chosen_name=rows.area_name[0])
    assert "<img" not in legend and "&lt;img src=x" in legend
    assert "Domestic abuse &lt;b&gt;" in legend and "Per 1,000 children aged 0–15" in legend
    assert legend.count("<li") == 6  # five classes and the outline
