"""Ward boundaries: read once by the build from the GeoJSON file data_model/wards.yaml names,
stored in the model, and read back by the pages and the ward profile.

The build (`create_boundary_tables`) reads the file, finds its ward code and name properties
(ONS's `WDyyCD` and `WDyyNM`, of the year the settings give), reprojects British National Grid
(EPSG:27700) to longitude and latitude (EPSG:4326) or the other way, simplifies the lines in metres,
keeps the wards of the wards reference, and writes `ref_ward_boundary` (one row per ward, both
coordinate systems) and `ref_ward_boundary_set` (one row: which set, its attribution, and what
did not match). A file that cannot be read raises BoundaryFileError (the build stops, exit 2);
codes that match no ward of the reference are listed in one message, which the build reports and
the Wards page shows, and the map draws the wards that do match.

The read functions (`ward_boundaries`, `bng_boundaries`, `boundary_set`, `boundary_year`) take a
connection to a built model and return plain dicts; they never read the file or reproject.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import yaml

WARDS_FILE = Path(__file__).with_name("wards.yaml")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SETTING = "data_model/wards.yaml, boundaries"

LONLAT = "longitude and latitude (EPSG:4326)"
BNG = "British National Grid (EPSG:27700)"
# How far either coordinate system reaches: a file's coordinates say which it is in when the file
# does not (RFC 7946 GeoJSON has no `crs` member; ONS's British National Grid downloads do).
_LONLAT_EXTENT = (-180.0, -90.0, 180.0, 90.0)
_BNG_EXTENT = (-100_000.0, -100_000.0, 800_000.0, 1_400_000.0)
# Decimal places kept: 5 in degrees is about a metre, as is 0 in metres.
_LONLAT_DECIMALS = 5
_BNG_DECIMALS = 0
# Codes a message lists before saying "and N more".
_LISTED = 12

Say = Callable[[str], None]


class BoundaryFileError(ValueError):
    """The ward boundary file cannot be read or used; str(error) is one line naming the file and
    the reason."""


# --- Settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundarySettings:
    """The `boundaries` block of data_model/wards.yaml."""

    file: Path
    year: int | None  # None: the one WDyyCD property the file has
    name: str
    attribution: str
    simplify_metres: float


def parse_boundary_settings(raw: Mapping[str, Any], root: Path = PROJECT_ROOT) -> BoundarySettings:
    """The boundaries block (as YAML gives it), a relative file taken from the project folder."""
    block = raw.get("boundaries") or {}
    file = block.get("file")
    if not file:
        raise BoundaryFileError(f"{SETTING}.file: no ward boundary file is named")
    path = Path(str(file)).expanduser()
    year = block.get("year")
    if year is not None and (not isinstance(year, int) or not 1990 <= year <= 2100):
        raise BoundaryFileError(f"{SETTING}.year: {year!r} is not a year such as 2022")
    simplify = block.get("simplify_metres", 0) or 0
    if not isinstance(simplify, int | float) or simplify < 0:
        raise BoundaryFileError(
            f"{SETTING}.simplify_metres: {simplify!r} is not metres (0 or more)"
        )
    return BoundarySettings(
        file=path if path.is_absolute() else root / path,
        year=year,
        name=str(block.get("name") or (f"Ward boundaries {year}" if year else "Ward boundaries")),
        attribution=" ".join(str(block.get("attribution") or "").split()),
        simplify_metres=float(simplify),
    )


@cache
def boundary_settings() -> BoundarySettings:
    """The ward boundary settings of data_model/wards.yaml (read once)."""
    with WARDS_FILE.open(encoding="utf-8") as f:
        return parse_boundary_settings(yaml.safe_load(f) or {})


# --- Reading a boundary file ---------------------------------------------------------------------


@dataclass(frozen=True)
class WardShape:
    """One ward of a boundary file: its code and name as the file gives them, and its outline as
    GeoJSON geometry in both coordinate systems."""

    code: str
    name: str
    lonlat: dict[str, Any]
    bng: dict[str, Any]
    label_position: tuple[float, float]  # longitude, latitude of a point inside the ward


@dataclass(frozen=True)
class BoundaryFile:
    """What a boundary file held: its wards, the year of its code property, and the coordinate
    system it was in."""

    path: Path
    year: int
    code_property: str
    read_in: str  # LONLAT or BNG
    wards: tuple[WardShape, ...]


def _fail(path: Path, reason: str) -> BoundaryFileError:
    return BoundaryFileError(f"ward boundary file {path} ({SETTING}.file): {reason}")


def _load_json(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise _fail(path, "there is no such file") from None
    except IsADirectoryError:
        raise _fail(path, "it is a folder, not a file") from None
    except OSError as error:
        raise _fail(path, f"cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise _fail(
            path,
            "it is not GeoJSON text (is it a shapefile or a zip? ONS's Open Geography Portal "
            "offers each ward boundary set as GeoJSON)",
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail(
            path, f"it is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None


_CODE_PROPERTY = re.compile(r"^WD(\d{2})CD$", re.IGNORECASE)


def _code_property(path: Path, properties: Mapping[str, Any], year: int | None) -> tuple[str, int]:
    """The property holding the ward codes (WD22CD for 2022, any case) and the year it is of."""
    found = {
        match.group(0): 2000 + int(match.group(1))
        for key in properties
        if (match := _CODE_PROPERTY.match(str(key)))
    }
    if year is not None:
        wanted = [key for key, of in found.items() if of == year]
        if wanted:
            return wanted[0], year
        others = ", ".join(sorted(found))
        hint = (
            f"its ward codes are in {others}: set {SETTING}.year to match"
            if found
            else "it has no ward code property (WDyyCD) at all: is it a ward boundary file?"
        )
        raise _fail(path, f"it has no WD{year % 100:02d}CD property for {year}; {hint}")
    if len(found) == 1:
        key, of = next(iter(found.items()))
        return key, of
    if not found:
        raise _fail(path, "it has no ward code property (WDyyCD): is it a ward boundary file?")
    raise _fail(
        path, f"it has codes of several years ({', '.join(sorted(found))}): set {SETTING}.year"
    )


def _name_property(properties: Mapping[str, Any], code_property: str) -> str | None:
    wanted = code_property[:-2] + "NM"
    return next((str(k) for k in properties if str(k).upper() == wanted.upper()), None)


def _within(box: tuple[float, float, float, float], extent: tuple[float, ...]) -> bool:
    return (
        box[0] >= extent[0] and box[1] >= extent[1] and box[2] <= extent[2] and box[3] <= extent[3]
    )


def _coordinate_system(path: Path, collection: Mapping[str, Any], box: tuple) -> str:
    """LONLAT or BNG: the file's `crs` member when it has one, else what its coordinates fit."""
    named = ((collection.get("crs") or {}).get("properties") or {}).get("name")
    if named:
        text = str(named).upper()
        if "27700" in text:
            return BNG
        if "4326" in text or "CRS84" in text:
            return LONLAT
        raise _fail(
            path, f"its coordinates are in {named}; the map reads {BNG} or {LONLAT} (re-save it)"
        )
    if _within(box, _LONLAT_EXTENT):
        return LONLAT
    if _within(box, _BNG_EXTENT):
        return BNG
    raise _fail(
        path,
        f"its coordinates (from {box[0]:g}, {box[1]:g} to {box[2]:g}, {box[3]:g}) are neither "
        f"{BNG} nor {LONLAT}",
    )


def _rounded(decimals: int) -> Callable[[Any], Any]:
    import numpy as np

    return lambda points: np.round(points, decimals)


def read_boundary_file(
    path: Path, year: int | None = None, simplify_metres: float = 0.0
) -> BoundaryFile:
    """Read an ONS ward boundary GeoJSON file: every ward's code, name and outline, in longitude
    and latitude and in British National Grid, simplified to within `simplify_metres`. A ward
    drawn as several features comes back as one. Raises BoundaryFileError naming the file and
    the reason when it cannot be read or used."""
    import numpy as np
    import pyproj
    import shapely
    from shapely.geometry import MultiPolygon, mapping, shape

    path = Path(path)
    collection = _load_json(path)
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise _fail(path, "it is not a GeoJSON FeatureCollection")
    features = [f for f in collection.get("features") or [] if isinstance(f, dict)]
    if not features:
        raise _fail(path, "it holds no features (no wards)")
    code_property, code_year = _code_property(path, features[0].get("properties") or {}, year)
    name_property = _name_property(features[0].get("properties") or {}, code_property)

    parts: dict[str, list[Any]] = {}
    names: dict[str, str] = {}
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") or {}
        code = str(properties.get(code_property) or "").strip()
        if not code:
            raise _fail(path, f"feature {number} has no {code_property}")
        geometry = feature.get("geometry") or {}
        kind = geometry.get("type")
        if kind not in ("Polygon", "MultiPolygon"):
            raise _fail(
                path,
                f"feature {number} ({code}) is {kind or 'empty'}, not a Polygon or MultiPolygon",
            )
        try:
            outline = shape(geometry)
        except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError) as error:
            raise _fail(
                path, f"feature {number} ({code}): its coordinates are not a polygon ({error})"
            ) from None
        if outline.is_empty:
            raise _fail(path, f"feature {number} ({code}) has no coordinates")
        parts.setdefault(code, []).append(outline)
        names.setdefault(
            code, str(properties.get(name_property) or code) if name_property else code
        )
    boxes = np.array([piece.bounds for pieces in parts.values() for piece in pieces])
    box = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
    read_in = _coordinate_system(path, collection, box)

    to_bng = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    to_lonlat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)

    def through(transformer: pyproj.Transformer) -> Callable[[Any], Any]:
        return lambda points: np.column_stack(transformer.transform(points[:, 0], points[:, 1]))

    wards = []
    for code, pieces in parts.items():
        outline = (
            pieces[0]
            if len(pieces) == 1
            else MultiPolygon([p for piece in pieces for p in getattr(piece, "geoms", [piece])])
        )
        bng = outline if read_in == BNG else shapely.transform(outline, through(to_bng))
        if simplify_metres > 0:
            bng = shapely.simplify(bng, simplify_metres, preserve_topology=True)
        lonlat = shapely.transform(bng, through(to_lonlat))
        inside = lonlat.representative_point()  # for a label: inside, unlike a centroid
        wards.append(
            WardShape(
                code=code,
                name=names[code],
                lonlat=mapping(shapely.transform(lonlat, _rounded(_LONLAT_DECIMALS))),
                bng=mapping(shapely.transform(bng, _rounded(_BNG_DECIMALS))),
                label_position=(
                    round(inside.x, _LONLAT_DECIMALS),
                    round(inside.y, _LONLAT_DECIMALS),
                ),
            )
        )
    return BoundaryFile(path, code_year, code_property, read_in, tuple(wards))


# --- Matching the wards reference ----------------------------------------------------------------


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    more = len(items) - _LISTED
    return shown + (f" and {more:,} more" if more > 0 else "")


def match_reference(
    boundaries: BoundaryFile, reference: Mapping[str, str]
) -> tuple[list[WardShape], str | None]:
    """The boundary file's wards that are in the wards reference (code -> name), and one message
    listing the codes that match no ward of the reference and the reference's wards that have no
    boundary (None when every ward matches)."""
    kept = [ward for ward in boundaries.wards if ward.code in reference]
    stray = [f"{ward.code} {ward.name}" for ward in boundaries.wards if ward.code not in reference]
    drawn = {ward.code for ward in kept}
    missing = [f"{code} {name}" for code, name in sorted(reference.items()) if code not in drawn]
    if not stray and not missing:
        return kept, None
    where = f"The ward boundary file {boundaries.path.name} ({boundaries.code_property})"
    if not kept:
        return kept, (
            f"{where} has no ward of the wards reference (reference/wards.csv), so the map "
            f"cannot be drawn: none of its {len(boundaries.wards):,} ward codes matches ("
            f"{_listed(stray)}). Is it another council's file, or another year's boundaries? "
            f"Name the right file in {SETTING}, and rebuild."
        )
    said = []
    if stray:
        said.append(
            f"{len(stray):,} of its ward codes match no ward of the wards reference "
            f"(reference/wards.csv) and are left off the map: {_listed(stray)}"
        )
    if missing:
        said.append(
            f"{len(missing):,} wards of the reference have no boundary in it and are not drawn: "
            f"{_listed(missing)}"
        )
    return kept, f"{where}: " + "; ".join(said) + "."


# --- The build: the model's boundary tables ------------------------------------------------------


def create_boundary_tables(
    con: duckdb.DuckDBPyConnection,
    settings: BoundarySettings | None = None,
    say: Say | None = None,
) -> str | None:
    """Read the ward boundary file once, at build time, and store what the map draws:
    ref_ward_boundary (the wards of raw_ref_wards with a boundary, in both coordinate systems) and
    ref_ward_boundary_set (one row: the set, its year and attribution, and the message listing
    codes that did not match). Returns that message (None when every ward matched), also given to
    `say`. Raises BoundaryFileError when the file cannot be read."""
    settings = settings or boundary_settings()
    boundaries = read_boundary_file(settings.file, settings.year, settings.simplify_metres)
    reference = dict(
        con.execute(
            "select ward_code, ward_name from raw_ref_wards where ward_code is not null"
        ).fetchall()
    )
    kept, message = match_reference(boundaries, reference)
    con.execute(
        """
        create or replace table ref_ward_boundary (
            ward_code varchar primary key,
            ward_name varchar,
            boundary_name varchar,
            geometry_lonlat json,
            geometry_bng json,
            label_lon double,
            label_lat double
        )
        """
    )
    rows = [
        (
            ward.code,
            reference[ward.code],
            ward.name,
            json.dumps(ward.lonlat, separators=(",", ":")),
            json.dumps(ward.bng, separators=(",", ":")),
            *ward.label_position,
        )
        for ward in kept
    ]
    if rows:  # none when the file is another district's (a council not yet pointing at its own)
        con.executemany("insert into ref_ward_boundary values (?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        """
        create or replace table ref_ward_boundary_set as
        select ?::varchar as file_name, ?::integer as boundary_year, ?::varchar as set_name,
            ?::varchar as attribution, ?::varchar as read_in, ?::integer as wards_in_file,
            ?::integer as wards_drawn, ?::varchar as problem
        """,
        [
            boundaries.path.name,
            boundaries.year,
            settings.name,
            settings.attribution,
            boundaries.read_in,
            len(boundaries.wards),
            len(kept),
            message,
        ],
    )
    if message and say:
        say(message)
    return message


# --- Reading the model ---------------------------------------------------------------------------


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and table_name in ('ref_ward_boundary', 'ref_ward_boundary_set')"
    ).fetchone()[0]
    return found == 2


def _collection(con: duckdb.DuckDBPyConnection, column: str) -> dict[str, Any]:
    if not _has_tables(con):
        return {"type": "FeatureCollection", "features": []}
    rows = con.execute(
        f"select ward_code, ward_name, {column}, label_lon, label_lat from ref_ward_boundary "
        "order by ward_code"
    ).fetchall()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(geometry),
                "properties": {
                    "ward_code": code,
                    "ward_name": name,
                    "label_position": [label_lon, label_lat],
                },
            }
            for code, name, geometry, label_lon, label_lat in rows
        ],
    }


def ward_boundaries(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The model's ward outlines as a GeoJSON FeatureCollection in longitude and latitude (what
    deck.gl draws), one feature per ward with properties ward_code, ward_name (the wards
    reference's name) and label_position ([longitude, latitude] of a point inside the ward), in
    code order; no features for a model built without boundaries."""
    return _collection(con, "geometry_lonlat")


def bng_boundaries(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The same outlines in British National Grid metres (for a printed map that is not
    stretched); label_position stays in longitude and latitude."""
    return _collection(con, "geometry_bng")


def boundary_set(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Which boundary set the model holds: file_name, boundary_year, set_name, attribution,
    read_in, wards_in_file, wards_drawn and problem (the message listing codes that did not
    match, or None). For a model built before boundaries were stored: no year, and a problem
    saying to rebuild."""
    if not _has_tables(con):
        return {
            "file_name": None,
            "boundary_year": None,
            "set_name": None,
            "attribution": "",
            "read_in": None,
            "wards_in_file": 0,
            "wards_drawn": 0,
            "problem": "This model was built without ward boundaries: rebuild it to draw the map.",
        }
    cursor = con.execute("select * from ref_ward_boundary_set")
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def boundary_year(con: duckdb.DuckDBPyConnection | None = None) -> int | None:
    """The year of the ward boundary set: the model's when given a connection, else the
    settings'."""
    if con is None:
        return boundary_settings().year
    return boundary_set(con)["boundary_year"]
