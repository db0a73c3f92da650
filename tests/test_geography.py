"""Ward boundaries (data_model/geography.py): the shipped Bradford file, a British National Grid
copy the test makes, another council's file, and files that cannot be used.

The shipped file must always work. The other councils' files are in ../shared/reference beside
the repository, where the project's shared folder is; those tests skip cleanly without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pyproj
import pytest
from shapely.geometry import shape

from data_model import geography
from data_model.__main__ import main
from data_model.geography import (
    BNG,
    LONLAT,
    BoundaryFileError,
    BoundarySettings,
    create_boundary_tables,
    match_reference,
    read_boundary_file,
)
from loaders.synthetic.geography import WARDS
from tests.extract_files import WARDS as TWO_WARDS
from tests.extract_files import write_district
from tests.test_build import REFERRAL

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "loaders" / "reference" / "boundaries" / "wards_bradford_2022.geojson"
SHARED = ROOT.parent / "shared" / "reference"
BRADFORD = {ward.code: ward.name for ward in WARDS}


def shared_file(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is not here (the project's shared folder is beside the repository)")
    return path


def bng_copy(source: Path, target: Path, *, with_crs: bool) -> Path:
    """The source file with every coordinate in British National Grid metres (as ONS's own
    downloads come), with or without the `crs` member that names it."""
    collection = json.loads(source.read_text(encoding="utf-8"))
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def convert(coordinates):
        if isinstance(coordinates[0], int | float):
            x, y = to_bng.transform(coordinates[0], coordinates[1])
            return [round(x, 2), round(y, 2)]
        return [convert(part) for part in coordinates]

    for feature in collection["features"]:
        feature["geometry"]["coordinates"] = convert(feature["geometry"]["coordinates"])
    if with_crs:
        collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    target.write_text(json.dumps(collection), encoding="utf-8")
    return target


def test_the_shipped_bradford_file_has_every_ward_of_the_demo_district() -> None:
    read = read_boundary_file(SHIPPED, 2022)
    assert read.year == 2022 and read.code_property == "WD22CD" and read.read_in == LONLAT
    assert {ward.code: ward.name for ward in read.wards} == BRADFORD
    kept, message = match_reference(read, BRADFORD)
    assert message is None and len(kept) == 30
    # Every ward's outline holds the ward's published centroid, in both coordinate systems.
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    by_code = {ward.code: ward for ward in read.wards}
    for ward in WARDS:
        centroid = shape({"type": "Point", "coordinates": [ward.lon, ward.lat]})
        assert shape(by_code[ward.code].lonlat).buffer(0.01).contains(centroid), ward.name
        x, y = to_bng.transform(ward.lon, ward.lat)
        point = shape({"type": "Point", "coordinates": [x, y]})
        assert shape(by_code[ward.code].bng).buffer(1000).contains(point), ward.name


@pytest.mark.parametrize("with_crs", [True, False], ids=["crs named", "crs from coordinates"])
def test_a_british_national_grid_file_is_reprojected_to_longitude_and_latitude(
    tmp_path: Path, with_crs: bool
) -> None:
    copy = bng_copy(SHIPPED, tmp_path / "wards_bng.geojson", with_crs=with_crs)
    read = read_boundary_file(copy, 2022)
    original = {w.code: w for w in read_boundary_file(SHIPPED, 2022).wards}
    assert read.read_in == BNG and len(read.wards) == 30
    for ward in read.wards:
        ours = np.array(ward.lonlat["coordinates"][0][0])
        theirs = np.array(original[ward.code].lonlat["coordinates"][0][0])
        assert ours.shape == theirs.shape
        # Within 0.00002 degrees: about a metre, the rounding of the copy and of the model.
        assert np.abs(ours - theirs).max() < 2e-5, ward.name
        assert -2.1 < ours[:, 0].min() < ours[:, 0].max() < -1.6  # Bradford's longitudes
        assert 53.7 < ours[:, 1].min() < ours[:, 1].max() < 54.0  # and latitudes


def test_simplifying_keeps_each_ward_within_the_tolerance(tmp_path: Path) -> None:
    full = {w.code: shape(w.bng) for w in read_boundary_file(SHIPPED, 2022).wards}
    simple = read_boundary_file(SHIPPED, 2022, simplify_metres=200)
    fewer = sum(len(np.array(w.bng["coordinates"][0][0])) for w in simple.wards)
    assert fewer < sum(len(np.array(g.geoms[0].exterior.coords)) for g in full.values())
    for ward in simple.wards:
        assert full[ward.code].hausdorff_distance(shape(ward.bng)) <= 200 + 1, ward.name


def test_codes_of_any_year_are_found_and_the_year_setting_chooses(tmp_path: Path) -> None:
    collection = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for feature in collection["features"]:
        props = feature["properties"]
        feature["properties"] = {"wd23cd": props["WD22CD"], "wd23nm": props["WD22NM"]}
    renamed = tmp_path / "wards_2023.geojson"
    renamed.write_text(json.dumps(collection), encoding="utf-8")
    read = read_boundary_file(renamed)  # no year set: the one code property there is
    assert (read.year, read.code_property) == (2023, "wd23cd")
    assert {w.name for w in read.wards} == set(BRADFORD.values())
    with pytest.raises(BoundaryFileError) as raised:
        read_boundary_file(renamed, 2022)
    assert "no WD22CD property for 2022" in str(raised.value)
    assert "wd23cd" in str(raised.value) and "year" in str(raised.value)


def test_another_councils_file_lists_its_codes_in_one_message() -> None:
    leeds = read_boundary_file(shared_file("wards_leeds_2022.geojson"), 2022)
    kept, message = match_reference(leeds, BRADFORD)
    assert kept == []
    assert message is not None and "\n" not in message
    assert "wards_leeds_2022.geojson" in message and "cannot be drawn" in message
    assert f"none of its {len(leeds.wards)} ward codes matches" in message
    # The codes are listed (the first twelve, then how many more).
    listed = [w.code for w in leeds.wards[:12]]
    assert all(code in message for code in listed)
    assert f"and {len(leeds.wards) - 12} more" in message


def test_a_partial_match_lists_both_sides_and_keeps_the_rest() -> None:
    read = read_boundary_file(SHIPPED, 2022)
    reference = {code: BRADFORD[code] for code in list(BRADFORD)[:28]}
    reference["E05999999"] = "Nowhere"
    kept, message = match_reference(read, reference)
    assert {w.code for w in kept} == set(list(BRADFORD)[:28])
    left_off = list(BRADFORD)[28:]
    assert message is not None
    assert "2 of its ward codes match no ward of the wards reference" in message
    assert all(f"{code} {BRADFORD[code]}" in message for code in left_off)
    assert "1 wards of the reference have no boundary in it" in message
    assert "E05999999 Nowhere" in message


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _feature(geometry: dict, code: str = "E05001341") -> dict:
    return {"type": "Feature", "properties": {"WD22CD": code, "WD22NM": "A"}, "geometry": geometry}


def _collection(*features: dict) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-1.8, 53.8], [-1.7, 53.8], [-1.7, 53.9], [-1.8, 53.8]]],
}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("missing.geojson", None, "there is no such file"),
        ("broken.geojson", '{"type": "FeatureCollection",\n "features": [',
         "not valid JSON (line 2"),
        ("wards.shp", b"\x00\x00\x27\x0a\xff\xfe\x00", "not GeoJSON text (is it a shapefile"),
        ("list.geojson", "[1, 2]", "not a GeoJSON FeatureCollection"),
        ("empty.geojson", _collection(), "holds no features"),
        (
            "lsoa.geojson",
            json.dumps({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"LSOA21CD": "E01"}, "geometry": SQUARE}]}),
            "no WD22CD property for 2022; it has no ward code property",
        ),
        (
            "points.geojson",
            _collection(_feature({"type": "Point", "coordinates": [-1.8, 53.8]})),
            "feature 1 (E05001341) is Point, not a Polygon or MultiPolygon",
        ),
        (
            "bad_ring.geojson",
            _collection(_feature({"type": "Polygon", "coordinates": [[[-1.8, 53.8]]]})),
            "feature 1 (E05001341): its coordinates are not a polygon",
        ),
        (
            "mercator.geojson",
            _collection(
                _feature({"type": "Polygon", "coordinates": [[[-2e5, 7e6], [-1e5, 7e6],
                                                              [-1e5, 7.1e6], [-2e5, 7e6]]]})
            ),
            "are neither British National Grid",
        ),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_used_is_named_with_its_reason(
    tmp_path: Path, name: str, content: str | bytes | None, reason: str
) -> None:
    path = tmp_path / name if content is None else write(tmp_path, name, content)
    with pytest.raises(BoundaryFileError) as raised:
        read_boundary_file(path, 2022)
    message = str(raised.value)
    assert message.startswith(f"ward boundary file {path} (data_model/wards.yaml, boundaries.file)")
    assert reason in message and "\n" not in message


def test_the_build_stores_the_wards_of_the_reference_and_says_what_did_not_match() -> None:
    con = duckdb.connect()
    con.execute("create table raw_ref_wards (ward_code varchar, ward_name varchar)")
    con.executemany("insert into raw_ref_wards values (?, ?)", [w[:2] for w in TWO_WARDS])
    said: list[str] = []
    settings = BoundarySettings(SHIPPED, 2022, "ONS 2022", "Source: ONS", 20.0)
    message = create_boundary_tables(con, settings, say=said.append)
    assert said == [message] and "28 of its ward codes match no ward" in message
    stored = geography.ward_boundaries(con)
    # The reference's names, not the file's ("Keighley Central" is the hand-made reference's
    # name for E05001351, which the file calls Great Horton).
    assert [
        (f["properties"]["ward_code"], f["properties"]["ward_name"]) for f in stored["features"]
    ] == [(code, name) for code, name, *_ in TWO_WARDS]
    assert stored["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # Baildon in British National Grid metres: about 410 to 420 km east, 437 to 443 km north.
    west, south, east, north = shape(
        geography.bng_boundaries(con)["features"][0]["geometry"]
    ).bounds
    assert 405_000 < west < east < 425_000 and 430_000 < south < north < 450_000
    info = geography.boundary_set(con)
    assert info["boundary_year"] == geography.boundary_year(con) == 2022
    assert (info["wards_in_file"], info["wards_drawn"], info["problem"]) == (30, 2, message)
    assert info["attribution"] == "Source: ONS" and info["read_in"] == LONLAT


def test_a_council_still_on_the_shipped_file_builds_with_no_ward_drawn_and_says_why() -> None:
    """Another council's wards against the shipped Bradford file: nothing matches, the build goes
    on (an empty boundary table, not a crash) and the message says to name the right file."""
    con = duckdb.connect()
    con.execute("create table raw_ref_wards (ward_code varchar, ward_name varchar)")
    con.execute("insert into raw_ref_wards values ('E05099999', 'Nowhere Ward')")
    settings = BoundarySettings(SHIPPED, 2022, "ONS 2022", "Source: ONS", 20.0)
    message = create_boundary_tables(con, settings)
    assert "has no ward of the wards reference" in message and "Name the right file" in message
    assert geography.ward_boundaries(con)["features"] == []
    info = geography.boundary_set(con)
    assert (info["wards_in_file"], info["wards_drawn"], info["problem"]) == (30, 0, message)


def test_a_model_without_boundary_tables_draws_nothing_and_says_why() -> None:
    con = duckdb.connect()
    assert geography.ward_boundaries(con) == {"type": "FeatureCollection", "features": []}
    assert "rebuild" in geography.boundary_set(con)["problem"]


def test_the_settings_ship_the_bradford_file_with_its_attribution() -> None:
    settings = geography.boundary_settings()
    assert settings.file == SHIPPED and settings.year == 2022
    assert settings.attribution == (
        "Source: Office for National Statistics licensed under the Open Government Licence "
        "v.3.0. Contains OS data © Crown copyright and database right 2022."
    )
    licence = (SHIPPED.parent / "README.md").read_text(encoding="utf-8")
    assert settings.attribution in " ".join(licence.split())


def test_a_build_whose_boundary_file_cannot_be_read_stops_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    district = write_district(tmp_path / "extracts", {"ehm_referrals": [REFERRAL]})
    broken = write(tmp_path, "wards.geojson", "{not json")
    monkeypatch.setattr(
        geography, "boundary_settings", lambda: BoundarySettings(broken, 2022, "x", "", 0.0)
    )
    out = tmp_path / "model.duckdb"
    code = main(["build", "--sources", str(district), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        f"error: ward boundary file {broken} (data_model/wards.yaml, boundaries.file): it is "
        "not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)"
    ]
    assert not out.exists() and not list(tmp_path.glob("model.duckdb.building-*"))


def test_each_wards_label_point_is_inside_it() -> None:
    for ward in read_boundary_file(SHIPPED, 2022, simplify_metres=20).wards:
        point = shape({"type": "Point", "coordinates": list(ward.label_position)})
        assert shape(ward.lonlat).buffer(1e-5).contains(point), ward.name
