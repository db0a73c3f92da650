"""The ward profile made from a built model (the tests' 600-household synthetic district), as the
page's download and the ward-profile command make it: its figures are read back from the PDF and
held to the tests' own SQL on mart_ward_measure, and every small count is shown as c.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from data_model.__main__ import main
from data_model.profile import pdf, profile_downloads, profile_html, profile_pdf
from data_model.read import open_model
from data_model.read.wards import ward_measures, ward_profile, ward_table
from tests.ward_profile_records import weasyprint_missing

ROOT = Path(__file__).resolve().parents[1]
WARDS_SETTINGS = ROOT / "data_model" / "wards.yaml"


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def model_con(synthetic_model: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_model(synthetic_model)
    yield con
    con.close()


@pytest.fixture(scope="module")
def threshold() -> int:
    return int(yaml.safe_load(WARDS_SETTINGS.read_text())["disclosure"]["threshold"])


@pytest.fixture(scope="module")
def small_ward(model_con: duckdb.DuckDBPyConnection, threshold: int) -> str:
    """The ward with the most small counts (1 to the threshold) in the latest quarter, by the
    tests' own SQL: the one whose profile has the most to withhold."""
    return model_con.execute(
        """
        select ward_code from mart_ward_measure
        where quarter_end = (select max(quarter_end) from mart_ward_measure)
        group by ward_code
        order by count(*) filter (where families between 1 and ?) desc, ward_code
        limit 1
        """,
        [threshold],
    ).fetchone()[0]


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


def _exact(
    con: duckdb.DuckDBPyConnection, measure_id: str, unit: str, quarter, ward: str | None
) -> tuple[int, int]:  # noqa: ANN001
    """(count, denominator) of one ward, or of the district (ward None: the sum of its wards),
    from mart_ward_measure."""
    denominator = "families_known" if "families known" in unit else "population_0_15"
    return con.execute(
        f"""
        select coalesce(sum(families), 0)::bigint, coalesce(sum({denominator}), 0)::bigint
        from mart_ward_measure
        where measure_id = ? and quarter_end = ? and (? is null or ward_code = ?)
        """,
        [measure_id, quarter, ward, ward],
    ).fetchone()


def _check_published(text: str, count: int, denominator: int, threshold: int) -> None:
    """A published rate is the exact one; a count from 1 to the threshold is never published."""
    if 1 <= count <= threshold:
        assert text == "c", (text, count)
    if text not in ("c", "z"):
        assert denominator > 0
        assert text == f"{round(count * 1000 / denominator, 1):,.1f}", (text, count, denominator)


def test_the_profiles_figures_are_the_protected_ones_and_true(
    model_con: duckdb.DuckDBPyConnection, small_ward: str, threshold: int
):
    _need_pdf()
    from pypdf import PdfReader

    made = profile_pdf(model_con, small_ward)
    reader = PdfReader(io.BytesIO(made))
    assert len(reader.pages) == 1
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    text = flat(reader.pages[0].extract_text())

    profile = ward_profile(model_con, small_ward, protected=True)
    measures = ward_measures(model_con).set_index("label")
    assert f"{profile.area_name} ward profile" in text
    assert "Synthetic data." in text
    assert flat(profile.attribution) in text
    withheld = 0
    for measure in profile.measures:
        row = [measure.label, measure.value_text, measure.district_text]
        row += [measure.difference_text, measure.rank_text, measure.direction_words]
        assert flat(" ".join(part for part in row if part)) in text, measure.label
        measure_id = measures.loc[measure.label, "measure_id"]
        count, denominator = _exact(model_con, measure_id, measure.unit, profile.as_at, small_ward)
        _check_published(measure.value_text, count, denominator, threshold)
        district = _exact(model_con, measure_id, measure.unit, profile.as_at, None)
        _check_published(measure.district_text, *district, threshold)
        table = ward_table(model_con, measure_id, profile.as_at, protected=True)
        ward_row = table[(table["level"] == "ward") & (table["area_code"] == small_ward)].iloc[0]
        assert measure.rank_text == ward_row["rank_text"]
        withheld += measure.value_text == "c"
    assert withheld >= 1, "the chosen ward should have something to withhold"


def test_a_committees_profile_outlines_its_wards_by_the_tests_own_sql(
    model_con: duckdb.DuckDBPyConnection,
):
    committee, wards = model_con.execute(
        "select area_committee, count(*) from mart_ward group by 1 order by 1 limit 1"
    ).fetchone()
    html = profile_html(model_con, committee).decode("utf-8")
    assert f"<h1>{committee} area committee profile</h1>" in html
    drawn = model_con.execute(
        "select count(*) from ref_ward_boundary join mart_ward using (ward_code)"
        " where area_committee = ?",
        [committee],
    ).fetchone()[0]
    assert drawn == wards
    assert len(re.findall(r'fill="none" stroke="#000000"', html)) == wards
    assert not re.search(r"https?://", html)


def test_the_command_writes_a_wards_profile_by_name(
    synthetic_model: Path, model_con: duckdb.DuckDBPyConnection, tmp_path: Path, capsys
):  # noqa: ANN001
    name = model_con.execute("select min(ward_name) from mart_ward").fetchone()[0]
    out = tmp_path / "profile.html"
    code = main(
        ["ward-profile", "--ward", name.upper(), "--out", str(out), "--model", str(synthetic_model)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.startswith(f"wrote {out}: the {name} ward profile, protected figures")
    assert f"<h1>{name} ward profile</h1>" in out.read_text(encoding="utf-8")


def test_the_downloads_are_one_page_as_html_and_pdf(
    model_con: duckdb.DuckDBPyConnection, small_ward: str
):
    _need_pdf()
    from pypdf import PdfReader

    name = model_con.execute(
        "select ward_name from mart_ward where ward_code = ?", [small_ward]
    ).fetchone()[0]
    made = profile_downloads(model_con, small_ward)
    quarter = ward_profile(model_con, small_ward, protected=True).as_at
    words = re.findall(r"[a-z0-9]+", f"{name} ward profile {quarter:%d %b %Y}".lower())
    assert made.file_stem == "-".join(words) and made.pdf_reason is None
    html = made.html.decode("utf-8")
    title = re.search(r"<title>(.*?)</title>", html)[1]
    assert PdfReader(io.BytesIO(made.pdf)).metadata.title == title.replace("&#39;", "'")


def test_without_weasyprint_the_downloads_offer_the_html_and_say_why(
    no_weasyprint, model_con: duckdb.DuckDBPyConnection, small_ward: str
):  # noqa: ANN001
    made = profile_downloads(model_con, small_ward)
    assert made.pdf is None and "Save as PDF" in made.pdf_reason
    assert made.html.startswith(b"<!DOCTYPE html>")
    assert profile_pdf(model_con, small_ward) is None
