"""The ward profile's writers: the HTML page, its map, its PDF, and the ward-profile command.

The page is made from hand-made profile records (tests/ward_profile_records.py) and the shipped
Bradford ward boundaries, so every figure it should show is known here. The PDF is read back with
pypdf and pdftotext (not WeasyPrint, which wrote it). PDF tests need WeasyPrint's libraries: they
skip without them, unless FFI_REQUIRE_PDF is set (as .ci/run sets it).
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from data_model.__main__ import main
from data_model.profile import document, pdf, static_map
from data_model.profile.document import ONS_ATTRIBUTION, render_html
from data_model.profile.static_map import (
    WardRate,
    class_breaks,
    class_of,
    outlines,
    profile_map,
)
from tests.ward_profile_records import (
    MADE_ON,
    PER_CHILD,
    committee_profile,
    hand_rates,
    shipped_boundaries,
    ward_profile,
    weasyprint_missing,
)

# The Bradford West area committee's wards (the wards reference)
BRADFORD_WEST = {
    "City", "Clayton and Fairweather Green", "Heaton", "Manningham", "Thornton and Allerton",
    "Toller",
}  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The tags of a page with their attributes and text, for structural checks."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: dict[int, list[str]] = {}
        self._open: list[int] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in {"meta", "br", "img", "link", "path", "rect", "use", "clippath"}:
            self._open.append(len(self.tags) - 1)

    def handle_endtag(self, tag: str) -> None:
        for position in range(len(self._open) - 1, -1, -1):
            if self.tags[self._open[position]][0] == tag:
                del self._open[position:]
                break

    def handle_data(self, data: str) -> None:
        for index in self._open:
            self.texts.setdefault(index, []).append(data)

    def all(self, tag: str) -> list[tuple[dict, str]]:
        return [
            (attrs, " ".join("".join(self.texts.get(i, [])).split()))
            for i, (name, attrs) in enumerate(self.tags)
            if name == tag
        ]


BOUNDARY_NAME = "ONS ward boundaries, December 2022 (generalised)"


@pytest.fixture(scope="module")
def shapes() -> list[static_map.WardOutline]:
    return outlines(shipped_boundaries("bng"))


def make_page(shapes, profile, outlined: set[str]) -> str:  # noqa: ANN001
    codes = {s.code for s in shapes if s.name in outlined}
    area_map = profile_map(
        shapes,
        hand_rates(shapes),
        codes,
        area_name=profile.area_name,
        measure="Families engaged",
        unit=PER_CHILD,
    )
    return render_html(profile, area_map, MADE_ON, boundary_name=BOUNDARY_NAME)


@pytest.fixture(scope="module")
def page_html(shapes) -> str:  # noqa: ANN001
    return make_page(shapes, ward_profile(), {"Manningham"})


def flat(text: str) -> str:
    """Whitespace collapsed, as text extracted from a PDF may break lines anywhere."""
    return " ".join(text.split())


# --- the HTML page ---------------------------------------------------------------------------


def test_the_page_makes_no_request_and_carries_its_fonts(page_html: str):
    assert not re.search(r"(https?|ftp)://|//[a-z0-9.-]+\.[a-z]{2,}/", page_html, re.I)
    page = _Page(page_html)
    for _tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href"):
            if name in attrs:
                assert attrs[name].startswith(("data:", "#")), (name, attrs[name])
    urls = re.findall(r"url\(([^)]*)\)", page_html)
    assert urls and all(u.strip("'\"").startswith(("data:", "#")) for u in urls), urls
    embedded = re.findall(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", page_html)
    bundled = sorted(document.FONTS.glob("*.woff"))
    assert len(bundled) == 4 and (document.FONTS / "OFL.txt").exists()
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(f.read_bytes() for f in bundled)


def test_the_page_is_structured_for_assistive_technology(page_html: str):
    page = _Page(page_html)
    assert page.all("html")[0][0]["lang"] == "en-GB"
    assert page.all("title")[0][1] == "Manningham ward profile: quarter ending 31 Mar 2026"
    assert [text for _, text in page.all("h1")] == ["Manningham ward profile"]
    assert [text for _, text in page.all("h2")] == [
        "At a glance",
        "Manningham against the district",
        "About these figures",
    ]
    headers = page.all("th")
    assert all(attrs.get("scope") in {"col", "row", "rowgroup"} for attrs, _ in headers)
    columns = [text for attrs, text in headers if attrs["scope"] == "col"]
    assert columns == ["Measure", "Manningham", "District", "Difference", "Rank", "Direction"]
    rows = [text for attrs, text in headers if attrs["scope"] == "row"]
    assert rows == [m.label for m in ward_profile().measures]
    # each run of one unit is a row group headed by the unit, so every figure has its unit
    groups = [text for attrs, text in headers if attrs["scope"] == "rowgroup"]
    assert groups == [
        "Per 1,000 children aged 0–15",
        "Per 1,000 families known",
        "Per 1,000 children aged 0–15",
    ]
    assert page.all("caption")[0][1].startswith("Rates for the quarter ending 31 Mar 2026")


def test_each_measure_shows_area_district_difference_rank_and_direction(page_html: str):
    page = _Page(page_html)
    cells = [text for _, text in page.all("td")]
    shown = [tuple(cells[i : i + 5]) for i in range(0, len(cells), 5)]
    expected = [
        (m.value_text, m.district_text, m.difference_text, m.rank_text, m.direction_words)
        for m in ward_profile().measures
    ]
    assert shown == expected
    assert ("4.0", "c") not in shown  # the hand-made suppressed value stays "c"
    assert shown[5][0] == "c" and shown[5][4] == "not published"
    tones = [a["class"] for a, _ in page.all("td") if "direction" in a.get("class", "")]
    assert tones == [f"direction tone-{m.direction_tone}" for m in ward_profile().measures]


def test_the_map_has_alt_text_naming_the_highest_and_lowest_wards(shapes, page_html: str):  # noqa: ANN001
    rates = [r for r in hand_rates(shapes) if r.rate is not None]
    highest = max(rates, key=lambda r: r.rate)
    lowest = min(rates, key=lambda r: r.rate)
    svg = _Page(page_html).all("svg")
    assert len(svg) == 1 and svg[0][0]["role"] == "img"
    title = _Page(page_html).all("title")[1][1]  # the SVG's own title, after the page's
    assert svg[0][0]["aria-labelledby"] == "map-title"
    assert f"Highest: {highest.name} ({highest.rate_text})" in title
    assert f"lowest: {lowest.name} ({lowest.rate_text})" in title
    withheld = sum(r.rate is None for r in hand_rates(shapes))
    assert f"{withheld} wards not published (c), in grey" in title
    assert "Manningham outlined in black" in title


def test_text_from_the_data_is_text_never_markup(shapes):  # noqa: ANN001
    profile = ward_profile(
        area_name='<b>Man & "ning"</b>',
        plan_name="<script>alert(1)</script>",
        glance=["<img src=x onerror=alert(1)>"],
    )
    html = make_page(shapes, profile, {"Manningham"})
    assert "<script>" not in html and "<b>Man" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Man &amp; &#34;ning&#34;&lt;/b&gt; ward profile" in html


def test_dates_are_written_dd_mon_yyyy(page_html: str):
    text = " ".join(t for _, t in _Page(page_html).all("p"))
    assert "Figures for the quarter ending 31 Mar 2026" in text
    assert "Data current to 27 Mar 2026" in text
    assert "Made 02 Apr 2026" in text
    assert not re.search(r"\d{4}-\d\d-\d\d", page_html)


def test_the_synthetic_mark_is_there_when_the_model_is_synthetic(shapes, page_html: str):  # noqa: ANN001
    def text(html: str) -> str:
        return " ".join(t for _, t in _Page(html).all("body"))

    assert "Synthetic data. These figures come from the project's made-up district" in text(
        page_html
    )
    real = make_page(shapes, ward_profile(is_synthetic=False), {"Manningham"})
    assert "ynthetic" not in text(real) and "made-up" not in text(real)


def test_disclosure_note_sources_and_attribution_are_on_the_page(page_html: str):
    text = " ".join(t for _, t in _Page(page_html).all("p"))
    profile = ward_profile()
    assert profile.disclosure_note in text
    assert "Sources: " + "; ".join(profile.sources) in text
    assert f"Ward boundaries: {BOUNDARY_NAME}." in text
    assert ONS_ATTRIBUTION in text
    assert ONS_ATTRIBUTION == (
        "Source: Office for National Statistics licensed under the Open Government Licence "
        "v.3.0. Contains OS data © Crown copyright and database right 2022."
    )


def test_a_committee_profile_outlines_all_its_wards(shapes):  # noqa: ANN001
    html = make_page(shapes, committee_profile(), BRADFORD_WEST)
    page = _Page(html)
    assert [t for _, t in page.all("h1")] == ["Bradford West area committee profile"]
    assert "with Bradford West's wards outlined in black" in page.all("title")[1][1]
    outlined = re.findall(r'fill="none" stroke="#000000"', html)
    assert len(outlined) == len(BRADFORD_WEST)
    # a committee is not ranked among wards: no rank column, no empty cells
    columns = [text for attrs, text in page.all("th") if attrs.get("scope") == "col"]
    assert columns == ["Measure", "Bradford West", "District", "Difference", "Direction"]
    cells = [row.count("<td ") for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)]
    assert [n for n in cells if n] == [4] * len(committee_profile().measures)
    assert "Rank 1" not in page.all("caption")[0][1]


# --- the map ---------------------------------------------------------------------------------


def test_the_map_is_drawn_in_metres_so_wards_are_not_stretched(shapes, page_html: str):  # noqa: ANN001
    lonlat = shipped_boundaries("lonlat")
    points = [
        point
        for feature in lonlat["features"]
        for polygon in (
            feature["geometry"]["coordinates"]
            if feature["geometry"]["type"] == "MultiPolygon"
            else [feature["geometry"]["coordinates"]]
        )
        for ring in polygon
        for point in ring
    ]
    lon_span = max(p[0] for p in points) - min(p[0] for p in points)
    lat_span = max(p[1] for p in points) - min(p[1] for p in points)
    rings = [ring for s in shapes for polygon in s.polygons for ring in polygon]
    east_span = max(r[:, 0].max() for r in rings) - min(r[:, 0].min() for r in rings)
    north_span = max(r[:, 1].max() for r in rings) - min(r[:, 1].min() for r in rings)
    attrs = _Page(page_html).all("svg")[0][0]
    width, height = float(attrs["width"][:-2]), float(attrs["height"][:-2])
    # the drawing has the shape of the district on the ground (metres), with its small margin
    assert width / height == pytest.approx(east_span / north_span, rel=0.02)
    # and not the shape of its longitudes and latitudes, which is ~1.7 times wider here
    assert lon_span / lat_span > 1.5 * (east_span / north_span)


def test_wards_are_shaded_by_class_and_suppressed_wards_grey(shapes, page_html: str):  # noqa: ANN001
    rates = hand_rates(shapes)
    breaks = class_breaks(r.rate for r in rates)
    fills = re.findall(r'fill="(#[0-9a-f]{6})" stroke="#ffffff" stroke-width="0\.6"', page_html)
    expected = [
        static_map.SUPPRESSED_COLOUR
        if r.rate is None
        else static_map.PALETTE[class_of(r.rate, breaks)]
        for r in rates
    ]
    assert fills == expected
    legend = re.findall(r'<span class="swatch"[^>]*></span>([^<]*)</li>', page_html)
    assert len(breaks) == 5 and len(legend) == 6
    assert legend[0] == f"{min(r.rate for r in rates if r.rate is not None):.1f} to {breaks[0]:.1f}"
    assert legend[-1] == "c: not published (small numbers)"


def test_class_breaks_are_quantiles_without_repeats():
    breaks = class_breaks([float(v) for v in range(1, 11)])
    assert breaks == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert [class_of(v, breaks) for v in (1.0, 2.0, 2.1, 9.9, 10.0)] == [0, 0, 1, 4, 4]
    assert class_breaks([5.0, 5.0, None, 5.0]) == [5.0]
    assert class_breaks([None, None]) == []


def test_a_map_with_no_published_rate_says_so(shapes):  # noqa: ANN001
    rates = [WardRate(s.code, s.name, None, "c") for s in shapes]
    area_map = profile_map(
        shapes, rates, {shapes[0].code}, area_name="X", measure="M", unit=PER_CHILD
    )
    assert "No ward's rate can be published." in area_map.alt
    assert [e.label for e in area_map.legend] == ["c: not published (small numbers)"]


# --- the PDF ---------------------------------------------------------------------------------


@pytest.fixture
def no_weasyprint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with weasyprint_missing(monkeypatch):
        yield


def _need_pdf() -> None:
    reason = pdf.pdf_unavailable_reason()
    if reason:
        if os.environ.get("FFI_REQUIRE_PDF"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def profile_pdf_bytes(page_html: str) -> bytes:
    _need_pdf()
    return pdf.html_to_pdf(page_html)


def _pdftotext(data: bytes, tmp_path: Path) -> str:
    if not shutil.which("pdftotext"):
        if os.environ.get("FFI_REQUIRE_PDF"):
            pytest.fail("pdftotext missing (apt-get install poppler-utils; .ci/run does it)")
        pytest.skip("pdftotext missing")
    path = tmp_path / "profile.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_the_pdf_is_one_a4_page_tagged_pdf_ua(profile_pdf_bytes: bytes):
    from pypdf import PdfReader
    from pypdf.generic import BooleanObject

    reader = PdfReader(io.BytesIO(profile_pdf_bytes))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    catalogue = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalogue
    assert catalogue["/MarkInfo"]["/Marked"] == BooleanObject(True)
    assert catalogue["/Lang"] == "en-GB"
    assert reader.metadata.title == "Manningham ward profile: quarter ending 31 Mar 2026"
    fonts = {
        str(font.get_object()["/BaseFont"])
        for font in reader.pages[0]["/Resources"]["/Font"].values()
    }
    assert fonts and all("+Atkinson-Hyperlegible" in name for name in fonts), fonts


def test_the_pdf_text_has_the_figures_the_protected_values_and_the_attribution(
    profile_pdf_bytes: bytes, tmp_path: Path
):
    from pypdf import PdfReader

    text = flat(PdfReader(io.BytesIO(profile_pdf_bytes)).pages[0].extract_text())
    profile = ward_profile()
    assert "Manningham ward profile" in text
    assert "Synthetic data." in text
    for measure in profile.measures:
        row = [measure.value_text, measure.district_text, measure.difference_text]
        assert " ".join(row) in text, measure.label
        if measure.rank_text != "–":
            assert measure.rank_text in text
    suppressed = profile.measures[5]
    assert f"{suppressed.label} c {suppressed.district_text} c" in text
    assert flat(ONS_ATTRIBUTION) in text
    for sentence in profile.glance:
        assert flat(sentence) in text
    # poppler reads the same page independently
    layout = flat(_pdftotext(profile_pdf_bytes, tmp_path))
    assert "Manningham ward profile" in layout and flat(ONS_ATTRIBUTION) in layout
    assert "Synthetic data." in layout


def test_a_real_models_pdf_has_no_synthetic_mark(shapes):  # noqa: ANN001
    _need_pdf()
    from pypdf import PdfReader

    html = make_page(shapes, ward_profile(is_synthetic=False), {"Manningham"})
    text = PdfReader(io.BytesIO(pdf.html_to_pdf(html))).pages[0].extract_text()
    assert "Manningham ward profile" in text and "ynthetic" not in text


def test_a_committee_profile_fits_one_page(shapes):  # noqa: ANN001
    _need_pdf()
    from pypdf import PdfReader

    html = make_page(shapes, committee_profile(), BRADFORD_WEST)
    reader = PdfReader(io.BytesIO(pdf.html_to_pdf(html)))
    assert len(reader.pages) == 1
    assert "Bradford West area committee profile" in reader.pages[0].extract_text()


def test_the_pdf_never_fetches_from_the_network(shapes, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001
    _need_pdf()
    fetcher = pdf.offline_fetcher()
    for address in (
        "https://example.org/logo.png",
        "http://example.org/a.css",
        "file:///etc/hosts",
    ):
        with pytest.raises(pdf.FetchRefusedError, match="made offline"):
            fetcher(address)
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"

    tried: list = []

    def no_connection(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        tried.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", no_connection)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    html = make_page(shapes, ward_profile(), {"Manningham"}).replace(
        "</main>",
        '<img src="https://example.org/logo.png" alt="logo">'
        '<link rel="stylesheet" href="http://example.org/a.css"></main>',
    )
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(pdf.html_to_pdf(html))).pages) >= 1
    assert tried == []


def test_without_weasyprint_the_reason_says_how_to_print_the_html(no_weasyprint, page_html: str):  # noqa: ANN001
    reason = pdf.pdf_unavailable_reason()
    assert "Pango" in reason and "libpango-1.0-0" in reason
    assert 'Edge or Chrome, press Ctrl+P and choose "Save as PDF"' in reason
    with pytest.raises(pdf.PdfUnavailableError) as raised:
        pdf.html_to_pdf(page_html)
    assert str(raised.value) == reason


# --- the command -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wards_only_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model file holding only mart_ward (what the command looks names up in), by hand."""
    path = tmp_path_factory.mktemp("wards") / "wards.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table mart_ward (ward_code varchar, ward_name varchar, cluster varchar,"
            " area_committee varchar)"
        )
        con.executemany(
            "insert into mart_ward values (?, ?, ?, ?)",
            [
                ["E05001352", "Manningham", "West", "Bradford West"],
                ["E05001353", "Queensbury", "South", "Bradford South"],
                ["E05001342", "Bingley", "North", "Shipley"],
                ["E05001347", "Clayton and Fairweather Green", "West", "Bradford West"],
            ],
        )
    return path


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["ward-profile", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_unknown_ward_is_one_line_naming_it_and_the_nearest(
    wards_only_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
):
    out = tmp_path / "p.html"
    code, _, err = _run(
        capsys, "--ward", "Maningham", "--out", str(out), "--model", str(wards_only_model)
    )
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1
    # only names that resemble it: not every ward, not the alphabet's first
    assert err == 'error: there is no ward "Maningham" in the model; nearest: Manningham\n'
    code, _, err = _run(
        capsys, "--committee", "Bradford Wset", "--out", str(out), "--model", str(wards_only_model)
    )
    assert code == 2 and err.count("\n") == 1
    assert 'no area committee "Bradford Wset"' in err and "nearest: Bradford West" in err


def test_wards_are_found_by_code_or_name_whatever_the_case_and_spacing(wards_only_model: Path):
    from data_model.profile import find_area
    from data_model.read import open_model

    con = open_model(wards_only_model)
    try:
        by_name = find_area(con, "  clayton  AND fairweather green ")
        assert find_area(con, "e05001347") == by_name
        assert (by_name.level, by_name.key, by_name.name) == (
            "ward", "E05001347", "Clayton and Fairweather Green",
        )  # fmt: skip
        committee = find_area(con, "bradford west", "committee")
        assert committee.key == "Bradford West"
        assert committee.ward_codes == {"E05001352", "E05001347"}
    finally:
        con.close()


def test_the_command_refuses_bad_output_names_and_missing_models(
    wards_only_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
):
    code, _, err = _run(
        capsys, "--ward", "Manningham", "--out", str(tmp_path / "p.docx"),
        "--model", str(wards_only_model),
    )  # fmt: skip
    assert code == 2 and "must end .pdf or .html" in err
    missing = tmp_path / "none.duckdb"
    code, _, err = _run(
        capsys, "--ward", "Manningham", "--out", str(tmp_path / "p.html"), "--model", str(missing)
    )
    assert code == 2 and err == f"error: {missing}: there is no model file there\n"


def test_the_command_says_how_to_get_a_pdf_without_weasyprint(
    no_weasyprint, wards_only_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
):  # noqa: ANN001
    out = tmp_path / "p.pdf"
    code, _, err = _run(
        capsys, "--ward", "Manningham", "--out", str(out), "--model", str(wards_only_model)
    )
    assert code == 1 and not out.exists()
    assert "Save as PDF" in err and "--out FILE.html writes that file" in err
    assert err.count("\n") == 1


def test_the_bundled_font_licence_is_the_ofl():
    licence = (document.FONTS / "OFL.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Braille Institute" in licence


def test_ties_at_the_top_and_bottom_are_counted_not_all_named(shapes):  # noqa: ANN001
    equal = [WardRate(s.code, s.name, 0.0, "0.0") for s in shapes]
    area_map = profile_map(
        shapes, equal, {shapes[0].code}, area_name="X", measure="M", unit=PER_CHILD
    )
    assert "Every ward published has the same rate, 0.0." in area_map.alt
    assert [e.label for e in area_map.legend] == ["0.0"]
    tied = [WardRate(s.code, s.name, 1.0 if i < 5 else 2.0 + i, "r") for i, s in enumerate(shapes)]
    names = [s.name for s in shapes]
    area_map = profile_map(shapes, tied, {shapes[0].code}, area_name="X", measure="M", unit="u")
    assert f"lowest: {names[0]}, {names[1]}, {names[2]} and 2 other wards (r)." in area_map.alt
