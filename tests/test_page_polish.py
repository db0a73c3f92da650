"""The shared page vocabulary's rules across the product (issue 16): downloads rounded as the page
shows them, a sentence for a table with no rows, GSS symbols for empty cells, a caution beside
figures from few cases, whole-number ticks for counts and one label per period, and a stand-in
for every page address so that a bookmark opens without "Page not found"."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from data_model.settings import settings
from pages import registry
from pages.ui import charts
from pages.ui.formats import fmt_share, fmt_status, small_base_words
from pages.ui.tables import NOT_APPLICABLE, Col, rounded, to_csv, to_excel
from tests.text_payloads import as_shown

ROOT = Path(__file__).resolve().parents[1]


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- Downloads as the page shows them ------------------------------------------------------------


def test_csv_numbers_are_rounded_as_the_grid_shows_them() -> None:
    frame = pd.DataFrame(
        {
            "lag": [45.199999999999996, 3.04, None],
            "share": [0.61953, 0.144, 0.1],
            "count": [12.0, 3.4, 7.0],
        }
    )
    spec = {"lag": Col("Lag", "decimal"), "share": Col("Share", "share"),
            "count": Col("Count", "count")}  # fmt: skip
    rows = _rows(to_csv(frame, spec))
    assert rows[0] == ["Lag", "Share", "Count"]
    # 45.2 and 0.620 (62.0%), as on screen: no float noise, no more places than shown
    assert rows[1] == ["45.2", "0.62", "12"]
    assert rows[2] == ["3.0", "0.144", "3"]
    assert rows[3] == ["", "0.1", "7"]
    assert rounded(pd.Series([0.46251]), "share").tolist() == [0.463]
    # 0.6815 is really 0.68149999...: the grid shows 68.1%, where numpy's round gives 0.682
    assert pd.Series([0.6815]).round(3).tolist() == [0.682]
    assert rounded(pd.Series([0.6815]), "share").tolist() == [0.681]
    assert fmt_share(0.6815) == "68.1%"
    assert rounded(pd.Series([2.5, -2.5]), "count").tolist() == [3, -3]  # a tie away from nought
    assert fmt_share(0.46251) == "46.3%" and fmt_share(0.5) == "50.0%"


def test_an_empty_cell_carries_the_tables_symbol_in_both_downloads() -> None:
    frame = pd.DataFrame({"quarter": ["Q4", "Q1"], "claims": [3, None]})
    frame["claims"] = frame["claims"].astype("Int64")
    spec = {"quarter": Col("Quarter"), "claims": Col("Claims", "count", missing=NOT_APPLICABLE)}
    assert _rows(to_csv(frame, spec))[1:] == [["Q4", "3"], ["Q1", "z"]]
    book = pd.read_excel(io.BytesIO(to_excel(frame, spec, "Return")), sheet_name="Table")
    assert book["Claims"].tolist() == [3, "z"]


def test_a_figure_from_few_cases_carries_a_caution() -> None:
    limit = settings()["display"]["caution_below_cases"]
    assert small_base_words(limit - 1, "referrals") == (
        f"From {limit - 1} referrals only: use with care"
    )
    assert small_base_words(limit, "referrals") is None
    assert small_base_words(0) is None and small_base_words(None) is None  # no figure at all


def test_statuses_read_as_labels() -> None:
    assert fmt_status("not evidenced") == "Not evidenced"
    assert fmt_status("Results claim") == "Results claim"
    assert fmt_status(None) == ""


# --- Tables drawn on a page ----------------------------------------------------------------------


def _table_script() -> None:
    import pandas as pd

    from pages.ui.tables import NOT_APPLICABLE, Caution, Col, Missing, table

    table(pd.DataFrame({"cluster": []}), "Nothing here", {"cluster": Col("Cluster")},
          empty="No referral was waiting.")  # fmt: skip
    table(
        pd.DataFrame({"cluster": ["BD3", "BD5"], "referrals": [3, 40], "median": [4.5, 6.0],
                      "next": pd.array([None, 2], dtype="Int64")}),
        "Lag by cluster",
        {"cluster": Col("Cluster"), "referrals": Col("Referrals", "count"),
         "median": Col("Median", "decimal"), "next": Col("Next", "count")},
        missing=Missing(NOT_APPLICABLE, "not applicable: no quarter ahead"),
        caution=Caution("referrals", "referrals"),
    )  # fmt: skip


def test_an_empty_table_is_a_sentence_and_a_table_says_its_symbols_and_cautions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("pages.ui.access.may_download", lambda level=None: True)
    monkeypatch.setattr("pages.ui.access.download_recorder", lambda *a: lambda: None)
    at = AppTest.from_function(_table_script).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.markdown][0] == "No referral was waiting."
    assert len(at.dataframe) == 1  # the empty one is not drawn
    keys = [b.key for b in at.get("download_button")]
    assert keys == ["download_csv_lag-by-cluster", "download_xlsx_lag-by-cluster"]
    shown = at.dataframe[0].value
    limit = settings()["display"]["caution_below_cases"]
    assert shown["caution"].tolist() == [
        small_base_words(3, "referrals") if limit > 3 else "",
        small_base_words(40, "referrals") or "",
    ]
    assert any("z: not applicable: no quarter ahead." in as_shown(c.value) for c in at.caption)
    # the caution beside the figures it is about, after the last column of numbers
    assert list(at.dataframe[0].proto.column_order) == [
        "cluster", "referrals", "median", "next", "caution",
    ]  # fmt: skip


# --- Charts --------------------------------------------------------------------------------------


def test_a_count_axis_has_whole_number_ticks() -> None:
    small = charts.count_axis(3, title="Referrals")
    assert small["dtick"] == 1 and small["tickformat"] == ",d" and small["title"] == "Referrals"
    assert "dtick" not in charts.count_axis(250)


def test_a_period_axis_labels_each_period_once() -> None:
    months = pd.date_range("2019-01-01", periods=30, freq="MS")
    axis = charts.period_axis(months, most=8)
    assert len(axis["ticktext"]) <= 8
    assert len(set(axis["ticktext"])) == len(axis["ticktext"])  # never "Jan 2020" twice
    assert axis["ticktext"][-1] == "Jun 2021"  # the latest period is always labelled
    quarters = pd.to_datetime(["2019-04-01", "2019-07-01", "2019-10-01"])
    labelled = charts.period_axis(quarters, ["Q1 2019/20", "Q2 2019/20", "Q3 2019/20"])
    assert labelled["ticktext"] == ["Q1 2019/20", "Q2 2019/20", "Q3 2019/20"]


def test_a_charts_title_is_text_above_it_and_long_labels_wrap() -> None:
    def script() -> None:
        import plotly.graph_objects as go

        from pages.ui import charts

        fig = charts.figure(
            "Families attached so far, against a straight line to the target "
            "of 5,990 families by 31 Mar 2020, month by month",
            height=300,
        )
        fig.add_trace(
            go.Scatter(
                x=[1, 2], y=[1, 2], name="Income so far (attachment fees and results payments)"
            )
        )
        fig.update_yaxes(title="Registrations linked to another source, of all registrations")
        charts.draw(fig, alt="A line.", key="chart_test")  # fmt: skip

    at = AppTest.from_function(script).run()
    assert not at.exception
    assert at.markdown[0].value.startswith("**Families attached so far")
    import json

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert not (spec["layout"].get("title") or {}).get("text")
    assert "<br>" in spec["layout"]["yaxis"]["title"]["text"]
    assert "<br>" in spec["data"][0]["name"]
    assert json.loads(at.get("plotly_chart")[0].proto.config)["displayModeBar"] is False
    assert isinstance(go.Figure(), go.Figure)


# --- Page addresses ------------------------------------------------------------------------------


def test_every_page_address_has_its_stand_in_for_a_fresh_server() -> None:
    """On a fresh server's first request Streamlit reads pages/ as pages by file name: each
    address needs a file of its name that runs app.py instead (pages/ui/model.py)."""
    for entry in registry.PAGES:
        stand_in = ROOT / "pages" / f"{entry.url_path}.py"
        assert stand_in.exists(), f"no stand-in for /{entry.url_path}"
        assert "run_app_instead()" in stand_in.read_text(encoding="utf-8")
    addresses = {entry.url_path for entry in registry.PAGES}
    for path in (ROOT / "pages").glob("*-*.py"):
        assert path.stem in addresses, f"{path.name} stands in for no page"


def test_ci_fails_rather_than_skips_the_accessibility_check_without_axe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.conftest import axe_or_stop

    missing = tmp_path / "axe.min.js"
    monkeypatch.delenv("FFI_REQUIRE_E2E", raising=False)
    with pytest.raises(pytest.skip.Exception):
        axe_or_stop(missing)
    monkeypatch.setenv("FFI_REQUIRE_E2E", "1")  # as .ci/run sets it
    with pytest.raises(pytest.fail.Exception, match="axe-core is not installed"):
        axe_or_stop(missing)
    missing.write_text("/* axe */")
    assert axe_or_stop(missing) == missing
    # .ci/run installs it, and stops when it cannot
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export FFI_REQUIRE_E2E=1" in run and "axe-core@" in run
    install = run.split("axe-core@", 1)[1].split("\nfi\n", 1)[0]  # the install and its failure
    assert "exit 1" in install, install


def test_the_first_start_script_runs_the_readmes_first_command() -> None:
    from data_model.tools.first_start import first_command

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = first_command(ROOT / "README.md")
    assert command == "pip install -r requirements.txt && streamlit run app.py"
    assert readme.index(command) < readme.index("## ")  # the first thing the README says to run
