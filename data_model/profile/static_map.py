"""The profile's static map: ward polygons drawn by matplotlib as SVG, in British National Grid.

Printed maps are drawn in British National Grid (metres east and north, as the build stores the
outlines: data_model.geography), not longitude/latitude: at Bradford's latitude a degree of
longitude is ~0.6 of a degree of latitude on the ground, so a map drawn straight from lon/lat is
stretched sideways. The SVG is inlined in the profile's HTML (no file, no request) with its text
alternative; its legend is HTML beside it, in the bundled font.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

# An accessible sequential palette (ColorBrewer Blues, 5 classes): ordered by lightness, so it
# reads in greyscale print and for colour-blind readers.
PALETTE = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
SUPPRESSED_COLOUR = "#d0d0d0"  # a grey outside the palette: "c", not published
EDGE_COLOUR = "#ffffff"
HIGHLIGHT_COLOUR = "#000000"


@dataclass(frozen=True)
class WardOutline:
    """One ward's outline in British National Grid: a list of polygons, each a list of rings
    (the outer ring first, then holes), each an (n, 2) array of eastings and northings."""

    code: str
    name: str
    polygons: list[list[np.ndarray]]


@dataclass(frozen=True)
class MapClass:
    """One class of the legend: its colour and what it means ("8.0 to 12.4")."""

    colour: str
    label: str


@dataclass(frozen=True)
class ProfileMap:
    """The map as the template uses it: the SVG markup (its own text alternative inside), the
    alt text, the legend and the caption."""

    svg: str
    alt: str
    legend: list[MapClass]
    caption: str


def outlines(collection: Mapping) -> list[WardOutline]:
    """The wards of a GeoJSON FeatureCollection in British National Grid (as
    data_model.geography.bng_boundaries reads them from the model, with properties ward_code and
    ward_name), ready to draw."""
    shapes = []
    for feature in collection["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        rings = [[np.asarray(ring, dtype=float)[:, :2] for ring in polygon] for polygon in polygons]
        properties = feature["properties"]
        shapes.append(
            WardOutline(str(properties["ward_code"]), str(properties["ward_name"]), rings)
        )
    return shapes


def class_breaks(rates: Iterable[float], classes: int = len(PALETTE)) -> list[float]:
    """Upper edges of up to `classes` classes of the published rates (quantiles, so each class
    holds about as many wards), without repeats; the last edge is the highest rate."""
    values = np.sort(np.asarray([r for r in rates if r is not None and np.isfinite(r)], float))
    if values.size == 0:
        return []
    # k / classes, not linspace: 3/5 must be exactly 0.6 for the 6th of 10 values to be its edge
    edges = np.quantile(values, np.arange(1, classes + 1) / classes, method="inverted_cdf")
    return sorted({float(e) for e in edges})


def class_of(rate: float, breaks: list[float]) -> int:
    """The class (0 = lowest) a rate falls in: the first break it does not exceed."""
    return next((i for i, edge in enumerate(breaks) if rate <= edge), len(breaks) - 1)


def _colours(breaks: list[float]) -> list[str]:
    """The palette spread over however many classes there are (fewer wards, fewer classes)."""
    if len(breaks) <= 1:
        return [PALETTE[-2]][: len(breaks)]
    picks = np.linspace(0, len(PALETTE) - 1, len(breaks)).round().astype(int)
    return [PALETTE[i] for i in picks]


def _as_attributes(match: re.Match) -> str:
    """style="fill: #fff; stroke-width: 0.6" → fill="#fff" stroke-width="0.6"."""
    pairs = (item.split(":", 1) for item in match[1].split(";") if ":" in item)
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)


def _svg_markup(figure, title: str) -> str:  # noqa: ANN001 (a matplotlib Figure)
    """The figure as inline SVG for HTML: no XML prologue, DOCTYPE, metadata or namespace URLs
    (the HTML parser knows SVG without them), an image role and its title.

    matplotlib writes its styles as CSS (style attributes and a <style> of `*` rules): they
    become SVG presentation attributes, so the page's CSS neither receives nor leaks them (a
    `*` rule would reach the whole page, and WeasyPrint warns about each SVG property in CSS)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>\s*", "", svg, flags=re.S)
    svg = re.sub(r'style="([^"]*)"', _as_attributes, svg)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(
        r"^<svg ",
        '<svg role="img" aria-labelledby="map-title" stroke-linejoin="round" ',
        svg,
        count=1,
    )
    from markupsafe import escape

    return re.sub(
        r"(<svg[^>]*>)", rf'\1<title id="map-title">{escape(title)}</title>', svg, count=1
    )


def draw_map(
    shapes: list[WardOutline],
    rates: Mapping[str, float | None],
    highlight: set[str],
    *,
    alt: str,
    width_mm: float = 80,
) -> tuple[str, list[MapClass]]:
    """The wards shaded by rate (None: suppressed, drawn grey), the highlighted wards outlined in
    black over a white halo; the SVG markup and the legend's classes."""
    # The Figure class alone, never pyplot: no backend chosen, no global state, safe in the app's
    # threads.
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    breaks = class_breaks(rates.values())
    colours = _colours(breaks)
    corners = np.vstack([ring for s in shapes for p in s.polygons for ring in p])
    (min_e, min_n), (max_e, max_n) = corners.min(axis=0), corners.max(axis=0)
    aspect = (max_n - min_n) / (max_e - min_e)
    inches = width_mm / 25.4
    figure = Figure(figsize=(inches, inches * aspect))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()

    def path_of(shape: WardOutline) -> MplPath:
        vertices, codes = [], []
        for polygon in shape.polygons:
            for ring in polygon:
                vertices.append(ring)
                codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 1))
        return MplPath(np.vstack(vertices), np.concatenate(codes))

    for shape in shapes:
        rate = rates.get(shape.code)
        fill = SUPPRESSED_COLOUR if rate is None else colours[class_of(rate, breaks)]
        axes.add_patch(
            PathPatch(path_of(shape), facecolor=fill, edgecolor=EDGE_COLOUR, linewidth=0.6)
        )
    for shape in shapes:
        if shape.code in highlight:
            for colour, width in ((EDGE_COLOUR, 3.6), (HIGHLIGHT_COLOUR, 2.0)):
                axes.add_patch(
                    PathPatch(path_of(shape), facecolor="none", edgecolor=colour, linewidth=width)
                )
    pad = 0.01 * (max_e - min_e)
    axes.set_xlim(min_e - pad, max_e + pad)
    axes.set_ylim(min_n - pad, max_n + pad)
    axes.set_aspect("equal")
    svg = _svg_markup(figure, alt)

    legend = []
    lower = min((r for r in rates.values() if r is not None), default=None)
    for index, (edge, colour) in enumerate(zip(breaks, colours, strict=True)):
        start = lower if index == 0 else breaks[index - 1]
        if index == 0:  # a class of one value reads as that value
            label = f"{edge:,.1f}" if start == edge else f"{start:,.1f} to {edge:,.1f}"
        else:
            label = f"over {start:,.1f} to {edge:,.1f}"
        legend.append(MapClass(colour, label))
    if any(rates.get(shape.code) is None for shape in shapes):
        legend.append(MapClass(SUPPRESSED_COLOUR, "c: not published (small numbers)"))
    return svg, legend


@dataclass(frozen=True)
class WardRate:
    """One ward's published (protected) rate for the map: rate None where it is suppressed."""

    code: str
    name: str
    rate: float | None
    rate_text: str


NAMED = 3  # wards named where several share the highest (or lowest) rate; the rest counted


def _listed(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C", "A, B, C and 4 other wards"."""
    if len(names) > NAMED:
        others = len(names) - NAMED
        return f"{', '.join(names[:NAMED])} and {others} other ward{'s' if others > 1 else ''}"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def profile_map(
    shapes: list[WardOutline],
    wards: list[WardRate],
    highlight: set[str],
    *,
    area_name: str,
    measure: str,
    unit: str,
) -> ProfileMap:
    """The map of every ward shaded by one measure's protected rate, the area outlined, with a
    text alternative naming the highest and lowest wards (the map's message, in words)."""
    published = [w for w in wards if w.rate is not None]
    withheld = len(wards) - len(published)
    outlined = f"{area_name} outlined" if len(highlight) == 1 else f"{area_name}'s wards outlined"
    if published:
        top = max(w.rate for w in published)
        bottom = min(w.rate for w in published)
        highest = _listed([w.name for w in published if w.rate == top])
        lowest = _listed([w.name for w in published if w.rate == bottom])
        top_text = next(w.rate_text for w in published if w.rate == top)
        bottom_text = next(w.rate_text for w in published if w.rate == bottom)
        extremes = (
            f"Every ward published has the same rate, {top_text}."
            if top == bottom
            else f"Highest: {highest} ({top_text}); lowest: {lowest} ({bottom_text})."
        )
    else:
        extremes = "No ward's rate can be published."
    not_shown = (
        f" {withheld} ward{'s' if withheld != 1 else ''} not published (c), in grey."
        if withheld
        else ""
    )
    alt = (
        f"Map of the district's {len(wards)} wards shaded by {measure} ({unit}), darker for "
        f"higher rates, with {outlined} in black. {extremes}{not_shown}"
    )
    svg, legend = draw_map(shapes, {w.code: w.rate for w in wards}, highlight, alt=alt)
    caption = f"{measure} ({unit}) by ward; {outlined} in black. {extremes}"
    return ProfileMap(svg=svg, alt=alt, legend=legend, caption=caption)
