"""The app's pages in AppTest, checked against the model with the tests' own SQL and arithmetic.

Independence: the figures a page shows come from data_model.read over the marts. These tests
recompute them from the raw tables the loaders wrote (raw_ehm_referrals, raw_ehm_episodes) with
their own SQL, and count working days with numpy's business-day counter and GOV.UK's list of
England and Wales bank holidays typed into tests/gov_uk.py, not with the model's calendar table.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pages import registry
from pages.ui.formats import fmt_date, fmt_int, fmt_number
from pages.ui.tables import Col, to_csv, to_excel
from tests.access_helpers import give_reason
from tests.gov_uk import working_days_after
from tests.text_payloads import as_shown

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
# The pages this file checks (the plan and data quality pages have their own test files).
PAGES = {
    page.file: page.heading
    for page in registry.PAGES
    if page.key in ("overview", "referrals", "user_guide", "accessibility")
}
THRESHOLD = 20
REFERRALS_TABS = [
    "Lag by cluster", "Who is waiting", "Lag by month and team", "What the lag costs",
    "What more capacity would buy", "Referrals and decisions", "Caseloads",
]  # fmt: skip
LAG_COLUMNS = ("cluster", "allocated", "median_working_days", "p90_working_days", "caution")


def percent(share: float) -> str:
    """A share as the pages write it, worked out here: to one decimal place from its exact value,
    a tie away from nought (as the browser rounds; Python's % format rounds 0.6815 up)."""
    exact = Decimal(share).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    return f"{exact * 100:.1f}%"


def share_as_shown(share: float | Fraction) -> float:
    """A share as a table holds it: to the tenth of a percentage point (0.619 for 61.9%),
    rounded from its exact value, a tie away from nought."""
    if isinstance(share, Fraction):  # exactly, as the table's own rounding sees it
        share = Decimal(share.numerator) / Decimal(share.denominator)
    return float(Decimal(share).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def as_int(text: str) -> int:
    return int(str(text).replace(",", ""))


def last_complete_quarter(as_at: date) -> tuple[date, date]:
    """The quarter ending on as_at if it ends a quarter, else the one before it."""
    quarter_ends = [date(as_at.year, m, 1) - timedelta(days=1) for m in (1, 4, 7, 10)]
    quarter_ends.append(date(as_at.year, 12, 31))
    end = max(d for d in quarter_ends if d <= as_at)
    start_month = end.month - 2
    return date(end.year, start_month, 1), end


# --- Helpers for AppTest -------------------------------------------------------------------------


def open_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page:
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        give_reason(at)  # before a person-level page (the demo's default role is admin)
    return at


def leaves(node) -> Iterator:
    """Every element under a node of the AppTest tree, in the order drawn."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for key in sorted(children):
        yield from leaves(children[key])


def frame_with(at: AppTest, *columns: str) -> pd.DataFrame:
    """The one table on the page with exactly these columns."""
    found = [d.value for d in at.dataframe if list(d.value.columns) == list(columns)]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def metric(at: AppTest, label_start: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(label_start)]
    assert len(found) == 1, [m.label for m in at.metric]
    return found[0]


def choose_period(at: AppTest, name: str) -> str:
    radio = at.radio(key="period")
    label = next(o for o in radio.options if o.startswith(name))
    radio.set_value(label).run()
    assert not at.exception, [e.value for e in at.exception]
    return label


REFERRALS_TAB = "referrals_tab"  # the Referrals page's tabs: only the open one is drawn


def open_tab(at: AppTest, label: str) -> None:
    """Open one of the Referrals page's tabs, as a click on it does."""
    assert label in [t.label for t in at.tabs], [t.label for t in at.tabs]
    at.session_state[REFERRALS_TAB] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def plotly_traces(at: AppTest, key_part: str) -> list[dict]:
    import json

    charts = [c for c in at.get("plotly_chart") if key_part in c.proto.id]
    assert len(charts) == 1, [c.proto.id for c in at.get("plotly_chart")]
    traces = json.loads(charts[0].proto.spec)["data"]
    for trace in traces:  # a long legend entry is drawn over two lines: its name is one text
        if trace.get("name"):
            trace["name"] = trace["name"].replace("<br>", " ")
    return traces


def decode(values) -> np.ndarray:
    """Plotly ≥ 6 stores arrays as base64 with a dtype."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


# --- Independent figures from the raw tables -----------------------------------------------------


def as_at_date(con: duckdb.DuckDBPyConnection) -> date:
    return con.execute("select as_at_date from mart_model_info").fetchall()[0][0]


def referrals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Referrals as loaded, with the allocation date of their episode (if any)."""
    frame = con.execute(
        """
        select r.referral_id, r.cluster, r.referral_source, r.received_date, r.decision,
               r.decision_date, e.allocated_date
        from raw_ehm_referrals r
        left join raw_ehm_episodes e on e.referral_id = r.referral_id
        """
    ).df()
    assert frame["referral_id"].is_unique
    for column in ("received_date", "decision_date", "allocated_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def lag_by_cluster(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    allocated = frame[frame["allocated_date"].between(pd.Timestamp(start), pd.Timestamp(end))]
    allocated = allocated.assign(
        lag=working_days_after(allocated["received_date"], allocated["allocated_date"])
    )
    return allocated.groupby("cluster")["lag"].agg(
        allocated="count",
        median=lambda s: float(np.median(s)),
        p90=lambda s: float(np.percentile(s, 90)),
    )


def waiting_at(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """Waiting at the end of `day`: received, not allocated, not decided other than Accepted."""
    at = pd.Timestamp(day)
    waiting = frame[
        (frame["received_date"] <= at)
        & (frame["allocated_date"].isna() | (frame["allocated_date"] > at))
        & (
            frame["decision_date"].isna()
            | (frame["decision_date"] > at)
            | (frame["decision"] == "Accepted")
        )
    ]
    return waiting.assign(waited=working_days_after(waiting["received_date"], day))


# --- Every page ----------------------------------------------------------------------------------


def test_every_page_runs_with_banner_and_sidebar(app_model: Path, model_sql) -> None:
    synthetic, as_at = model_sql.execute(
        "select is_synthetic, as_at_date from mart_model_info"
    ).fetchall()[0]
    programme = model_sql.execute("select programme_name from mart_programme").fetchall()[0][0]
    at = open_app()
    for page, title in PAGES.items():
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title[0].value == title
        banners = [w.value for w in at.warning if "Synthetic data" in w.value]
        assert len(banners) == (1 if synthetic else 0), page
        sidebar = as_shown(" ".join(m.value for m in at.sidebar.markdown))
        assert f"Data current to **{as_at:%d %b %Y}**" in sidebar
        assert programme in sidebar


def test_user_guide_gives_the_definitions(app_model: Path) -> None:
    at = open_app("pages/user_guide.py")
    text = " ".join(m.value for m in at.markdown)
    for term in ("**Working days**", "**Allocation lag**", "**Waiting**", "How the filters work"):
        assert term in text or term in " ".join(h.value for h in at.header), term
    assert "## Referrals & allocation" in text


def test_every_table_has_csv_and_excel_downloads(app_model: Path) -> None:
    at = open_app()
    total = 0
    views = [
        (file, tab)
        for file in PAGES
        for tab in (REFERRALS_TABS if file == "pages/referrals.py" else [None])
    ]
    for page, tab in views:
        at.switch_page(page).run()
        if tab:
            open_tab(at, tab)
        elements = list(leaves(at.main))
        kinds = [type(e).__name__ for e in elements]
        tables = kinds.count("Dataframe")
        total += tables
        buttons = [e for e in elements if type(e).__name__ == "DownloadButton"]
        assert len(buttons) == 2 * tables, page
        for i, kind in enumerate(kinds):
            if kind != "Dataframe":
                continue
            after = [e for e in elements[i + 1 :] if type(e).__name__ == "DownloadButton"][:2]
            assert [b.label for b in after] == ["Download CSV", "Download Excel"], page
            csv_key, xlsx_key = (b.key for b in after)
            assert csv_key.startswith("download_csv_") and xlsx_key.startswith("download_xlsx_")
            assert csv_key.removeprefix("download_csv_") == xlsx_key.removeprefix("download_xlsx_")
    assert total >= 11  # 2 on the Overview, the rest on Referrals & allocation's tabs


def test_downloads_carry_labels_and_real_dates() -> None:
    frame = pd.DataFrame(
        {
            "received_date": [date(2020, 1, 2), date(2020, 3, 31)],
            "waiting": [3, 21],
            "over": [False, True],
        }
    )
    spec = {
        "received_date": Col("Received", "date"),
        "waiting": Col("Working days waiting", "count"),
        "over": Col("Over 20 working days", "flag"),
    }
    csv = to_csv(frame, spec).decode("utf-8-sig")
    assert csv.splitlines() == [
        "Received,Working days waiting,Over 20 working days",
        "2020-01-02,3,No",
        "2020-03-31,21,Yes",
    ]
    workbook = to_excel(frame, spec, "Waiting list", notes=("A note.",))
    table = pd.read_excel(io.BytesIO(workbook), sheet_name="Table", engine="calamine")
    assert list(table.columns) == ["Received", "Working days waiting", "Over 20 working days"]
    assert pd.to_datetime(table["Received"]).dt.date.tolist() == frame["received_date"].tolist()
    notes = pd.read_excel(io.BytesIO(workbook), sheet_name="Notes", engine="calamine")
    assert notes.iloc[:, 0].tolist() == ["Waiting list", "A note."]


def test_dates_are_formatted_dd_mon_yyyy() -> None:
    assert fmt_date(date(2020, 3, 1)) == "01 Mar 2020"
    assert fmt_date(None) == "–"
    assert fmt_int(5990) == "5,990"
    assert fmt_number(12.0) == "12" and fmt_number(12.25) == "12.2"


# --- Overview ------------------------------------------------------------------------------------


def test_overview_numbers_match_independent_sql(app_model: Path, model_sql) -> None:
    as_at = as_at_date(model_sql)
    referred, attached = model_sql.execute(
        """
        select
            (select count(distinct case_id) from raw_ehm_referrals where received_date <= $1),
            (select count(distinct case_id) from raw_ehm_episodes
             where attached_date is not null and attached_date <= $1)
        """,
        [as_at],
    ).fetchall()[0]
    at = open_app("pages/overview.py")
    assert as_int(metric(at, "Families referred")) == referred
    assert as_int(metric(at, "Families attached")) == attached

    traces = {t["name"]: t for t in plotly_traces(at, "chart_trajectory")}
    cumulative = decode(traces["Families attached (cumulative)"]["y"])
    assert cumulative[-1] == attached

    # Data currency: rows loaded per source equal the rows in its raw table.
    currency = frame_with(
        at, "source", "title", "system", "file", "rows_read", "rows_loaded", "rows_rejected",
        "data_current_as_of",
    )  # fmt: skip
    for row in currency.itertuples():
        in_raw = model_sql.execute(f'select count(*) from "raw_{row.source}"').fetchall()[0][0]
        assert row.rows_loaded == in_raw, row.source
        assert row.rows_loaded + row.rows_rejected == row.rows_read, row.source


def test_overview_shows_eligibility_claims_and_income_under_the_plan(
    app_model: Path, model_sql
) -> None:
    # Eligible: at least the plan's number of problems on the as-at date, counted from the
    # problem mart (not the eligibility mart the page reads); claims and income from the claims.
    eligible = model_sql.execute(
        """
        with held as (
            select family_key, count(distinct problem_id) as problems_held
            from mart_plan_family_problem
            where date_kind = 'as at'
            group by family_key
        )
        select count(*) from held, mart_plan where problems_held >= eligibility_at_least
        """
    ).fetchall()[0][0]
    near, results, income, target_income, name = model_sql.execute(
        """
        select
            (select count(*) from mart_plan_family_status where is_current and state = 'near'),
            (select count(*) from mart_claim where claim_type = 'results'),
            (select sum(amount) from mart_claim),
            (select target_families * (attachment_fee + results_payment) from mart_plan),
            (select plan_name from mart_plan)
        """
    ).fetchall()[0]
    at = open_app("pages/overview.py")
    assert "Eligibility, claims and income" in [h.value for h in at.header]
    assert as_int(metric(at, "Families eligible now")) == eligible
    assert as_int(metric(at, "Families near a claim")) == near
    assert as_int(metric(at, "Results claims")) == results
    assert metric(at, "Income so far") == f"£{round(income):,}"
    text = as_shown(" ".join(m.value for m in at.markdown))
    assert (
        f"**{percent(income / target_income)}** of the £{round(target_income):,} the plan's "
        "target of" in text
    )
    assert f"*{name}*" in text
    # Another target typed in: the income line names it, and what it would earn.
    per_family = target_income / as_int(at.number_input(key="target").value)
    at.number_input(key="target").set_value(1000).run()
    text = as_shown(" ".join(m.value for m in at.markdown))
    assert (
        f"**{percent(income / (1000 * per_family))}** of the £{round(1000 * per_family):,} a "
        "target of 1,000 families would earn" in text
    )
    assert "the plan's target of" not in text
    at.number_input(key="target").set_value(round(target_income / per_family)).run()
    links = [link.proto.label for link in at.main.get("page_link")]
    assert any(label.startswith("Claims & returns") for label in links)
    assert any(label.startswith("Near threshold") for label in links)
    # Nothing the Overview showed before is lost.
    assert [h.value for h in at.header] == [
        "Families attached against the target",
        "Eligibility, claims and income",
        "How current the data is",
    ]
    assert len(at.metric) == 8 and len(at.dataframe) == 2


def test_overview_target_can_be_changed(app_model: Path, model_sql) -> None:
    at = open_app("pages/overview.py")
    target = model_sql.execute("select target_families from mart_programme").fetchall()[0][0]
    assert at.number_input(key="target").value == target
    at.number_input(key="target").set_value(1234).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "1,234" in text
    traces = {t["name"]: t for t in plotly_traces(at, "chart_trajectory")}
    trajectory = decode(traces["Trajectory to the target of 1,234"]["y"])
    assert trajectory[-1] == 1234


# --- Referrals & allocation ----------------------------------------------------------------------


def test_last_quarter_lag_by_cluster_matches_independent_working_days(
    app_model: Path, model_sql
) -> None:
    as_at = as_at_date(model_sql)
    start, end = last_complete_quarter(as_at)
    expected = lag_by_cluster(referrals(model_sql), start, end)
    assert len(expected), "the test model should allocate referrals in its last quarter"

    at = open_app("pages/referrals.py")
    label = choose_period(at, "Last quarter")
    assert label == f"Last quarter ({start:%d %b %Y} to {end:%d %b %Y})"
    shown = frame_with(at, *LAG_COLUMNS).set_index("cluster")
    assert sorted(shown.index) == sorted(expected.index)
    for cluster, row in expected.iterrows():
        assert shown.loc[cluster, "allocated"] == row["allocated"], cluster
        assert shown.loc[cluster, "median_working_days"] == pytest.approx(row["median"]), cluster
        assert shown.loc[cluster, "p90_working_days"] == pytest.approx(row["p90"]), cluster
        # a median from fewer than 10 referrals carries a caution beside it (settings.yaml)
        caution = "Fewer than 10 referrals: use with caution" if row["allocated"] < 10 else ""
        assert shown.loc[cluster, "caution"] == caution, cluster

    # One cluster chosen: its own row, the same numbers.
    busiest = expected["allocated"].idxmax()
    at.multiselect(key="clusters").set_value([busiest]).run()
    assert not at.exception
    one = frame_with(at, *LAG_COLUMNS)
    assert one["cluster"].tolist() == [busiest]
    assert one["median_working_days"].iloc[0] == pytest.approx(expected.loc[busiest, "median"])
    assert as_int(metric(at, "Referrals allocated")) == expected.loc[busiest, "allocated"]


def test_waiting_more_than_20_working_days_matches_independent_count(
    app_model: Path, model_sql
) -> None:
    as_at = as_at_date(model_sql)
    start, end = last_complete_quarter(as_at)
    waiting = waiting_at(referrals(model_sql), end)

    at = open_app("pages/referrals.py")
    choose_period(at, "Last quarter")
    open_tab(at, "Who is waiting")
    assert as_int(metric(at, f"Waiting at {end:%d %b %Y}")) == len(waiting)
    assert as_int(metric(at, "Waiting over 20 working days")) == int(
        (waiting["waited"] > THRESHOLD).sum()
    )
    listed = frame_with(
        at, "referral_id", "cluster", "referral_source", "received_date", "decision_date",
        "status", "waiting_working_days", "over_threshold",
    ).set_index("referral_id")  # fmt: skip
    assert sorted(listed.index) == sorted(waiting["referral_id"])
    ages = waiting.set_index("referral_id")["waited"]
    assert (listed["waiting_working_days"] == ages.reindex(listed.index)).all()


def test_source_filter_changes_the_counts(app_model: Path, model_sql) -> None:
    as_at = as_at_date(model_sql)
    start, end = date(as_at.year - 1, as_at.month, as_at.day) + timedelta(days=1), as_at
    frame = referrals(model_sql)
    received = frame[frame["received_date"].between(pd.Timestamp(start), pd.Timestamp(end))]
    source = received["referral_source"].value_counts().index[-1]  # the smallest source
    assert 0 < (received["referral_source"] == source).sum() < len(received)

    at = open_app("pages/referrals.py")
    choose_period(at, "Last 12 months")
    assert as_int(metric(at, "Referrals received")) == len(received)

    at.multiselect(key="sources").set_value([source]).run()
    assert not at.exception
    assert as_int(metric(at, "Referrals received")) == (received["referral_source"] == source).sum()
    open_tab(at, "Referrals and decisions")
    weekly = frame_with(at, "week_start", "referral_source", "referrals")
    assert set(weekly["referral_source"]) == {source}
    waiting = waiting_at(frame[frame["referral_source"] == source], end)
    assert as_int(metric(at, f"Waiting at {end:%d %b %Y}")) == len(waiting)
    assert as_int(metric(at, "Waiting over 20")) == int((waiting["waited"] > 20).sum())
    caption = as_shown(" ".join(c.value for c in at.caption))
    assert f"· {source}." in caption


def test_custom_period(app_model: Path, model_sql) -> None:
    as_at = as_at_date(model_sql)
    start, end = as_at - timedelta(days=200), as_at - timedelta(days=100)
    frame = referrals(model_sql)
    received = frame["received_date"].between(pd.Timestamp(start), pd.Timestamp(end)).sum()

    at = open_app("pages/referrals.py")
    choose_period(at, "Custom dates")
    at.date_input(key="custom_period").set_value((start, end)).run()
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    assert f"Showing {start:%d %b %Y} to {end:%d %b %Y}" in caption
    assert as_int(metric(at, "Referrals received")) == received
    assert as_int(metric(at, f"Waiting at {end:%d %b %Y}")) == len(waiting_at(frame, end))


def test_the_key_question_is_answered_near_the_top(app_model: Path) -> None:
    """The backlog by cluster and the over-20 count come before any other table on the page, and
    the lag by cluster is the first tab (two clicks: the period, then the tab)."""
    at = open_app("pages/referrals.py")
    first_table = at.dataframe[0].value
    assert list(first_table.columns)[:3] == ["cluster", "waiting", "waiting_over_threshold"]
    second_table = at.dataframe[1].value
    assert list(second_table.columns)[:2] == ["cluster", "allocated"]
    headers = [h.value for h in at.header]
    assert headers[:2] == ["Backlog by cluster", "How long allocation takes, by cluster"]
    assert re.match(r"Waiting over \d+ working days", at.metric[3].label)
    assert [t.label for t in at.tabs] == REFERRALS_TABS


# --- The model file: built when missing, picked up when rebuilt -----------------------------------


def test_a_missing_model_is_built_with_progress_then_shown(
    synthetic_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, int]] = []

    def fake_build_synthetic(out_path: Path, households: int = 10_000, seed: int = 2016,
                             progress=None) -> None:  # fmt: skip
        calls.append((Path(out_path), households))
        progress(0.5, "Halfway")
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(synthetic_model, out_path)

    monkeypatch.setattr("data_model.build.build_synthetic", fake_build_synthetic)
    # No council model configured: the demo, at its own path (relative to where the app runs).
    monkeypatch.delenv("FFI_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert calls == [(Path("data/demo.duckdb"), 10_000)]
    assert (tmp_path / "data" / "demo.duckdb").exists()
    assert at.title[0].value == "Overview"


def test_a_rebuilt_model_is_picked_up(
    synthetic_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "model.duckdb"
    shutil.copy(synthetic_model, served)
    monkeypatch.setenv("FFI_MODEL", str(served))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    before = " ".join(w.value for w in at.warning)

    # A rebuild elsewhere: a new file moved over the served one, as build_model does.
    rebuilt = tmp_path / "model.duckdb.building"
    shutil.copy(synthetic_model, rebuilt)
    with duckdb.connect(str(rebuilt)) as con:
        con.execute("update mart_model_info set is_synthetic = true, households = 123456")
    os.replace(rebuilt, served)
    at.run()
    assert not at.exception
    after = " ".join(w.value for w in at.warning)
    assert "123,456 households" in after and "123,456 households" not in before


def waiting_band(waited: int) -> str:
    """Five working days a band up to 60 ("0–5", "6–10", ...), then "Over 60"."""
    if waited > 60:
        return "Over 60"
    upper = max(5, -(-waited // 5) * 5)
    return f"{0 if upper == 5 else upper - 4}–{upper}"


def test_waiting_time_chart_counts_the_waiting_list_in_bands(app_model: Path, model_sql) -> None:
    import json

    as_at = as_at_date(model_sql)
    waiting = waiting_at(referrals(model_sql), as_at)
    assert len(waiting), "the test model should have referrals waiting at its as-at date"
    labels = [waiting_band(upper) for upper in range(5, 61, 5)] + ["Over 60"]
    expected = waiting["waited"].map(waiting_band).value_counts().reindex(labels, fill_value=0)

    at = open_app("pages/referrals.py")
    choose_period(at, "Last 12 months")
    open_tab(at, "Who is waiting")
    traces = plotly_traces(at, "chart_waiting_ages")
    assert [t["name"] for t in traces] == [
        f"Up to {THRESHOLD} working days",
        f"More than {THRESHOLD} working days",
    ]
    shown = {band: int(n) for t in traces for band, n in zip(t["x"], decode(t["y"]), strict=True)}
    assert shown == expected.to_dict()
    assert list(traces[0]["x"]) == labels[: THRESHOLD // 5]  # every band within the threshold
    charts = [c for c in at.get("plotly_chart") if "chart_waiting_ages" in c.proto.id]
    layout = json.loads(charts[0].proto.spec)["layout"]
    assert layout["xaxis"]["categoryarray"] == labels


def test_weekly_chart_shows_the_five_largest_sources_then_the_rest(
    app_model: Path, model_sql
) -> None:
    at = open_app("pages/referrals.py")
    label = choose_period(at, "Whole programme")
    open_tab(at, "Referrals and decisions")
    start, end = (
        pd.Timestamp(d) for d in re.findall(r"\d\d \w\w\w \d{4}", label)
    )  # the period's dates, from its label
    frame = referrals(model_sql)
    received = frame[frame["received_date"].between(start, end)]
    totals = received.groupby("referral_source").size()
    assert len(totals) > 6, "the test model should have more than six referral sources"

    traces = plotly_traces(at, "chart_referrals_weekly")
    *top, rest = [t["name"] for t in traces]
    assert rest == "All other sources" and len(top) == 5
    # The five with the most referrals, most first (sources with equal totals in either order).
    assert totals[top].tolist() == sorted(totals, reverse=True)[:5]
    group = received["referral_source"].where(
        received["referral_source"].isin(top), "All other sources"
    )
    monday = received["received_date"] - pd.to_timedelta(received["received_date"].dt.weekday, "D")
    expected = received.groupby([group, monday]).size()
    for trace in traces:
        weeks = pd.to_datetime(pd.Series(trace["x"]))
        counts = dict(zip(weeks, decode(trace["y"]).astype(int), strict=True))
        assert counts == expected.loc[trace["name"]].to_dict(), trace["name"]


def test_a_target_reached_says_by_how_many_families(app_model: Path, model_sql) -> None:
    attached = model_sql.execute(
        "select count(distinct case_id) from raw_ehm_episodes"
        " where attached_date is not null and attached_date <= ?",
        [as_at_date(model_sql)],
    ).fetchall()[0][0]
    assert attached > 10, "the test model should attach families"
    at = open_app("pages/overview.py")
    at.number_input(key="target").set_value(attached - 10).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert (
        f"The target of {attached - 10:,} families has been reached: **{attached:,} attached**"
        ", 10 more than the target" in text
    )
