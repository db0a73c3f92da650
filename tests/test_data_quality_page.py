"""The Data quality page in AppTest, checked against the model with the tests' own SQL.

Independence: the page reads the marts through data_model.read.quality. These tests recount from the
tables beneath them (load_rejects and the raw_ tables the loaders wrote; int_linkage_record and
int_person_link, the linkage's own output) with their own SQL. Recording a decision writes to the
state database beside a copy of the model in a temporary folder, so the session's model folder
never gets one.
"""

from __future__ import annotations

import html
import json
import logging
import math
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data_model import linkage
from data_model.read import quality as read_quality
from data_model.state import audit
from data_model.state.decisions import read_decisions
from data_model.state.store import STATE_FILE_NAME
from loaders.contracts import BY_SOURCE
from pages import registry
from pages.ui.formats import fmt_number
from tests.access_helpers import give_reason
from tests.test_app_pages import (
    APP,
    as_int,
    decode,
    frame_with,
    leaves,
    metric,
    open_app,
    percent,
    share_as_shown,
)
from tests.text_payloads import as_shown

PAGE = registry.BY_KEY["data_quality"].file
HEADERS = [
    "Rows loaded and rejected",
    "Linkage across sources",
    "Linkage quality from the last build",
    "Clerical review",
]


@pytest.fixture
def own_model(synthetic_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the test model in a folder of this test's own, served as FFI_MODEL.

    The page writes decisions to the state database beside the model it serves: here, tmp_path.
    """
    served = tmp_path / "model.duckdb"
    shutil.copy(synthetic_model, served)
    monkeypatch.setenv("FFI_MODEL", str(served))
    return served


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    give_reason(at)  # the page shows people's records: a reason for access first
    return at


def awaiting_pairs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        """
        select pair_id, registration_l, registration_r, first_name_l, last_name_l,
               first_name_r, last_name_r, match_probability,
               person_key_l = person_key_r as linked, registration_pairs
        from mart_linkage_review_queue
        where decision is null
        order by match_probability desc, pair_id
        """
    ).df()


# --- The page as a whole -------------------------------------------------------------------------


def test_the_page_draws_its_sections_with_downloads_and_a_sidebar_link(
    app_model: Path, model_sql
) -> None:
    at = open_app(PAGE)
    assert at.title[0].value == "Data quality"
    assert [h.value for h in at.header] == HEADERS
    synthetic = model_sql.execute("select is_synthetic from mart_model_info").fetchall()[0][0]
    assert len([w for w in at.warning if "Synthetic data" in w.value]) == (1 if synthetic else 0)
    links = [link.proto.label for link in at.sidebar.get("page_link")]
    assert links.index("Data quality") == links.index("Referrals & allocation") + 1

    # Every table is followed by its CSV and Excel downloads (as on the other pages).
    elements = list(leaves(at.main))
    kinds = [type(e).__name__ for e in elements]
    assert kinds.count("Dataframe") >= 6
    for i, kind in enumerate(kinds):
        if kind != "Dataframe":
            continue
        after = [e for e in elements[i + 1 :] if type(e).__name__ == "DownloadButton"][:2]
        assert [b.label for b in after] == ["Download CSV", "Download Excel"]
    assert kinds.count("DownloadButton") == 2 * kinds.count("Dataframe")

    # The match-weight explanation is there, with positive for and negative against.
    expander = next(e for e in at.expander if e.label == "How the match weights work")
    text = " ".join(m.value for m in expander.markdown)
    assert "**positive** weight" in text and "**negative** weight" in text


# --- Rows loaded and rejected --------------------------------------------------------------------


def test_rejects_per_source_match_independent_sql(app_model: Path, model_sql) -> None:
    rejected = dict(
        model_sql.execute(
            "select source, count(distinct line) from load_rejects group by source"
        ).fetchall()
    )
    problems = dict(
        model_sql.execute("select source, count(*) from load_rejects group by source").fetchall()
    )
    assert rejected, "the synthetic district plants dirt: some rows should be rejected"
    at = open_app(PAGE)

    counts = frame_with(
        at, "source", "title", "file", "rows_read", "rows_loaded", "rows_rejected",
        "rejected_share", "read_as",
    ).set_index("source")  # fmt: skip
    read_as = dict(model_sql.execute("select source, read_as from load_manifest").fetchall())
    for source, row in counts.iterrows():
        assert row["read_as"] == (read_as[source] or "as its contract says"), source
        assert row["rows_rejected"] == rejected.get(source, 0), source
        in_raw = model_sql.execute(f'select count(*) from "raw_{source}"').fetchall()[0][0]
        assert row["rows_loaded"] == in_raw, source
        assert row["rows_read"] == in_raw + rejected.get(source, 0), source
        assert row["rejected_share"] == share_as_shown(row["rows_rejected"] / row["rows_read"])
    assert as_int(metric(at, "Rows rejected")) == sum(rejected.values())
    loaded = sum(
        model_sql.execute(f'select count(*) from "raw_{source}"').fetchall()[0][0]
        for source in counts.index
    )
    read = loaded + sum(rejected.values())
    assert as_int(metric(at, "Rows loaded")) == loaded
    assert as_int(metric(at, "Rows read")) == read
    share = sum(rejected.values()) / read
    summary = " ".join(m.value for m in at.markdown)
    assert (
        f"**{sum(rejected.values()):,} of {read:,} rows** ({percent(share)}) were rejected, from "
        f"{len(rejected)} of {len(counts)} sources." in summary
    )

    def shown_rejects() -> pd.DataFrame:
        return frame_with(at, "source", "title", "file", "line", "column_name", "value", "reason")

    assert len(shown_rejects()) == sum(problems.values())
    caption = " ".join(c.value for c in at.caption)
    assert f"{sum(problems.values()):,} problems in {sum(rejected.values()):,} rejected rows" in (
        caption
    )
    # The filter: one source's rejects only, every one of them.
    source = max(problems, key=problems.get)
    at.selectbox(key="reject_source").set_value(source).run()
    assert not at.exception
    one = shown_rejects()
    assert set(one["source"]) == {source}
    assert len(one) == problems[source]
    assert one["line"].nunique() == rejected[source]
    assert one["reason"].notna().all()
    caption = " ".join(c.value for c in at.caption)
    assert f"{problems[source]:,} problems in {rejected[source]:,} rejected rows" in caption


# --- Linkage across sources ----------------------------------------------------------------------


def test_linked_share_matches_independent_sql(app_model: Path, model_sql) -> None:
    # A registration is linked elsewhere when its person holds a record from another source.
    expected = model_sql.execute(
        """
        with registration as (
            select distinct r.source, r.registration_id, p.person_key
            from int_linkage_record r join int_person_link p on p.unique_id = r.unique_id
        ),
        elsewhere as (
            select distinct a.source, a.registration_id
            from registration a join registration b
              on a.person_key = b.person_key and a.source <> b.source
        )
        select registration.source,
               count(*) as registrations,
               count(distinct person_key) as persons,
               count(elsewhere.registration_id) as linked
        from registration
        left join elsewhere using (source, registration_id)
        group by registration.source
        """
    ).df()
    expected = expected.set_index("source")
    at = open_app(PAGE)
    shown = frame_with(
        at, "source", "title", "source_rows", "registrations", "persons",
        "registrations_linked_elsewhere", "linked_elsewhere_share",
    ).set_index("source")  # fmt: skip
    assert sorted(shown.index) == sorted(expected.index)
    for source, row in expected.iterrows():
        assert shown.loc[source, "registrations"] == row["registrations"], source
        assert shown.loc[source, "persons"] == row["persons"], source
        assert shown.loc[source, "registrations_linked_elsewhere"] == row["linked"], source
        assert shown.loc[source, "linked_elsewhere_share"] == share_as_shown(
            row["linked"] / row["registrations"]
        ), source

    # The chart draws the same shares, one bar per source.
    charts = [c for c in at.get("plotly_chart") if "chart_linked_share" in c.proto.id]
    assert len(charts) == 1
    bars = json.loads(charts[0].proto.spec)["data"][0]
    # a long title is drawn over lines (<br>) so the bars keep their room on a narrow screen
    titles = [html.unescape(y.replace("<br>", " ")) for y in decode(bars["y"])]
    drawn = dict(zip(titles, decode(bars["x"]), strict=True))
    for source, row in shown.iterrows():
        assert share_as_shown(drawn[row["title"]]) == row["linked_elsewhere_share"], source


# --- Linkage quality -----------------------------------------------------------------------------


def test_linkage_figures_match_independent_sql(app_model: Path, model_sql) -> None:
    records, registrations = model_sql.execute(
        "select count(*), count(distinct registration_id) from int_linkage_record"
    ).fetchall()[0]
    persons = model_sql.execute(
        "select count(distinct person_key) from int_person_link"
    ).fetchall()[0][0]
    families = model_sql.execute("select count(distinct family_key) from mart_family").fetchall()[
        0
    ][0]
    at = open_app(PAGE)
    assert as_int(metric(at, "Records compared")) == records
    assert as_int(metric(at, "Persons found")) == persons
    assert as_int(metric(at, "Families found")) == families
    words = " ".join(m.value for m in at.markdown)
    assert f"**{records:,} records**" in words
    assert f"{registrations:,} registrations, became **{persons:,} persons**" in words

    # The weights table: each level's weight is log2(m / u), as Fellegi–Sunter defines it.
    weights = frame_with(
        at, "comparison", "comparison_label", "level_order", "label", "m_probability",
        "u_probability", "match_weight",
    )  # fmt: skip
    levels = model_sql.execute(
        "select comparison, level_order, m_probability, u_probability"
        " from int_person_link_parameter"
    ).df().set_index(["comparison", "level_order"])  # fmt: skip
    assert len(weights) == len(levels)
    for row in weights.itertuples():
        m, u = levels.loc[(row.comparison, row.level_order), ["m_probability", "u_probability"]]
        if m and u:
            assert row.match_weight == pytest.approx(math.log2(m / u))
        # the shares as the page shows them: to the tenth of a percentage point
        assert (row.m_probability, row.u_probability) == (share_as_shown(m), share_as_shown(u))
    assert (weights["match_weight"] > 0).any() and (weights["match_weight"] < 0).any()


# --- Clerical review -----------------------------------------------------------------------------


def test_review_queue_count_and_order_match_independent_sql(own_model: Path) -> None:
    with duckdb.connect(str(own_model), read_only=True) as con:
        pairs = awaiting_pairs(con)
        evidence = con.execute(
            """
            select match_weight, weight_first_name, weight_last_name, weight_dob,
                   weight_location, weight_sex
            from mart_linkage_review_queue where pair_id = ?
            """,
            [pairs["pair_id"].iloc[0]] if len(pairs) else [""],
        ).fetchall()
    at = open_page()
    assert as_int(metric(at, "Pairs awaiting a decision")) == len(pairs)
    assert as_int(metric(at, "Decided since the last build")) == 0
    if pairs.empty:
        assert any("No pair is waiting" in s.value for s in at.success)
        return
    picker = at.selectbox(key="review_pair")
    assert len(picker.options) == len(pairs)
    assert picker.value == pairs["pair_id"].iloc[0]  # strongest first
    first = pairs.iloc[0]
    # To one decimal place, as every percentage; a probability that would round to 100% is
    # "over 99.9%" (no scored pair is certain).
    p = first["match_probability"]
    shown = "over 99.9%" if 0.9995 <= p < 1 else percent(p)
    assert picker.options[0].startswith(f"1. {shown} · ")
    assert first["first_name_l"] in picker.options[0]

    # The pair in detail: both records side by side, with the weight of each comparison.
    detail = at.table[0].value.map(as_shown)  # st.table reads Markdown: its cells are escaped
    assert list(detail.columns) == ["Record 1", "Record 2", "Match weight"]
    assert detail.loc["Record id"].tolist()[:2] == [
        first["registration_l"],
        first["registration_r"],
    ]
    total, *weights = evidence[0]
    assert detail.loc["Date of birth", "Match weight"] == f"{weights[2]:+.1f}"
    standing = next(m.value for m in at.markdown if "The last build" in m.value)
    assert ("**linked**" in standing) == bool(first["linked"])
    assert ("strongest of" in standing) == (first["registration_pairs"] > 1)
    assert "Offered for review because" in standing
    dob = detail.loc["Date of birth", "Record 1"]
    assert dob == "–" or datetime.strptime(dob, "%d %b %Y")
    chart = next(c for c in at.get("plotly_chart") if "chart_pair_weights" in c.proto.id)
    steps = decode(json.loads(chart.proto.spec)["data"][0]["x"])
    assert float(np.sum(steps)) == pytest.approx(total)  # starting weight + comparisons

    # Next and previous move through the queue in order.
    at.button(key="review_next").click().run()
    assert at.selectbox(key="review_pair").value == pairs["pair_id"].iloc[min(1, len(pairs) - 1)]
    at.button(key="review_previous").click().run()
    assert at.selectbox(key="review_pair").value == pairs["pair_id"].iloc[0]

    # The list of pairs awaiting review has every one of them.
    listed = frame_with(
        at, "pair_id", "match_probability", "title_l", "first_name_l", "last_name_l", "dob_l",
        "title_r", "first_name_r", "last_name_r", "dob_r", "rank", "why",
    )  # fmt: skip
    assert listed["pair_id"].tolist() == pairs["pair_id"].tolist()


def test_a_decision_is_saved_in_the_state_database_audited_and_read_back(
    own_model: Path, synthetic_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with duckdb.connect(str(own_model), read_only=True) as con:
        pairs = awaiting_pairs(con)
    if len(pairs) < 2:
        pytest.skip("the test model has fewer than two pairs for review")
    state_file = own_model.with_name(STATE_FILE_NAME)
    assert not state_file.exists()

    at = open_page()
    chosen = pairs.iloc[1]
    at.selectbox(key="review_pair").set_value(chosen["pair_id"]).run()
    at.text_input(key="reviewer").input("AB").run()
    with caplog.at_level(logging.DEBUG):
        at.button(key="decide_different").click().run()
    assert not at.exception, [e.value for e in at.exception]

    # The stored row (both registrations, the decision, when and by whom) and its audit event,
    # read with the tests' own SQL.
    with sqlite3.connect(state_file) as db:
        rows = db.execute(
            "select registration_l, registration_r, decision, decided_at, decided_by, origin"
            " from linkage_decision"
        ).fetchall()
        events = db.execute("select kind, user_id, detail from audit_event").fetchall()
    assert len(rows) == 1
    left, right, decision, decided_at, decided_by, origin = rows[0]
    assert {left, right} == {chosen["registration_l"], chosen["registration_r"]}
    assert decision == linkage.REJECT == "different people"
    assert decided_by == "AB (not signed in)" and origin == "app"
    assert datetime.fromisoformat(decided_at)
    # Before the page showed anything, the gate recorded the reason and the opening (sign-in's).
    decided = [event for event in events if event[0] == "clerical_decision"]
    assert [(kind, user) for kind, user, _ in decided] == [("clerical_decision", decided_by)]
    assert {kind for kind, _, _ in events} == {"reason_given", "page_opened", "clerical_decision"}
    assert json.loads(decided[0][2]) == {
        "decision": decision,
        "registration_l": left,
        "registration_r": right,
    }
    session_state = synthetic_model.with_name(STATE_FILE_NAME)  # other tests' pages open it
    if session_state.exists():
        with sqlite3.connect(session_state) as db:
            assert db.execute("select count(*) from linkage_decision").fetchone() == (0,)

    # Said on screen; the queue moves on to the next pair; no names or ids in the log.
    assert any("different people" in s.value and "next build" in s.value for s in at.success)
    assert as_int(metric(at, "Pairs awaiting a decision")) == len(pairs) - 1
    assert as_int(metric(at, "Decided since the last build")) == 1
    assert at.selectbox(key="review_pair").value == pairs["pair_id"].iloc[2 % len(pairs)]
    assert chosen["pair_id"] not in at.selectbox(key="review_pair").options
    logged = " ".join(r.getMessage() for r in caplog.records)
    for value in chosen[["registration_l", "registration_r", "last_name_l", "last_name_r"]]:
        if value:
            assert value not in logged

    # A reload (a new session) reads the decision back from the state database.
    at = open_page()
    assert as_int(metric(at, "Pairs awaiting a decision")) == len(pairs) - 1
    made = frame_with(
        at, "registration_l", "registration_r", "title_l", "title_r", "name_l", "name_r",
        "decision", "decided_at", "decided_by", "in_model", "status",
    )  # fmt: skip
    assert len(made) == 1
    assert made["decision"].iloc[0] == "different people"
    assert made["status"].iloc[0] == "Decided — takes effect at the next build"
    assert {made["registration_l"].iloc[0], made["registration_r"].iloc[0]} == {
        chosen["registration_l"],
        chosen["registration_r"],
    }
    at.toggle(key="review_show_decided").set_value(True).run()
    at.selectbox(key="review_pair").set_value(chosen["pair_id"]).run()
    assert any(
        "Decided: different people" in i.value and "takes effect at the next build" in i.value
        for i in at.info
    )

    # Changing one's mind: the latest decision on the pair counts.
    at.button(key="decide_same").click().run()
    assert not at.exception
    store = audit.open_store(own_model, demo=True)
    assert [d.decision for d in read_decisions(store)] == [linkage.ACCEPT]
    assert audit.verify(store).ok
    decided = audit.events(store, kinds=["clerical_decision"])
    assert [e["detail"]["decision"] for e in decided] == [linkage.ACCEPT, linkage.REJECT]
    store.dispose()


def test_a_decision_that_cannot_be_saved_says_so(own_model: Path) -> None:
    with duckdb.connect(str(own_model), read_only=True) as con:
        if awaiting_pairs(con).empty:
            pytest.skip("the test model has no pair for review")

    at = open_page()
    # The database goes read-only under the page (a full disk, a revoked grant): nothing saved.
    state_file = own_model.with_name(STATE_FILE_NAME)
    with sqlite3.connect(state_file) as db:
        db.execute("create trigger refuse before insert on linkage_decision"
                   " begin select raise(abort, 'disk I/O error'); end")  # fmt: skip
    at.button(key="decide_same").click().run()
    assert not at.exception
    assert any("could not be saved" in e.value for e in at.error)
    assert as_int(metric(at, "Decided since the last build")) == 0
    with sqlite3.connect(state_file) as db:  # the gate's events only: no clerical decision
        assert db.execute(
            "select count(*) from audit_event where kind = 'clerical_decision'"
        ).fetchone() == (0,)


def test_decisions_made_before_the_build_count_as_in_the_model() -> None:
    built_at = datetime(2026, 6, 1, 12, 0)  # UTC, as the build writes it
    before = (built_at - timedelta(hours=2)).replace(tzinfo=UTC).astimezone().replace(tzinfo=None)
    after = (built_at + timedelta(hours=2)).replace(tzinfo=UTC).astimezone().replace(tzinfo=None)
    decisions = [
        linkage.Decision("b", "a", linkage.ACCEPT, before.isoformat(timespec="seconds")),
        linkage.Decision("c", "d", linkage.REJECT, after.isoformat(timespec="seconds"), "AB"),
    ]
    queue = pd.DataFrame(
        {
            "registration_l": ["a"],
            "registration_r": ["b"],
            "title_l": ["Early help: people"],
            "title_r": ["School census"],
            "first_name_l": ["Ann"],
            "last_name_l": ["Lee"],
            "first_name_r": [None],
            "last_name_r": ["Lee"],
        }
    )
    made = read_quality.recorded_decisions(queue, decisions, built_at).set_index("registration_l")
    assert made.loc["a", "registration_r"] == "b"  # a pair in one order, whichever way given
    assert made.loc["a", "in_model"] and not made.loc["c", "in_model"]
    assert made.loc["a", "name_l"] == "Ann Lee" and made.loc["a", "name_r"] == "Lee"
    assert made.index.tolist() == ["c", "a"]  # newest first
    assert read_quality.recorded_decisions(queue, [], built_at).empty


def test_a_record_without_a_name_is_shown_blank_never_as_none() -> None:
    assert read_quality.record_name("Ann", "Lee") == "Ann Lee"
    assert read_quality.record_name(None, "Lee") == "Lee"
    assert read_quality.record_name(" Ann ", float("nan")) == "Ann"
    for nothing in (None, float("nan"), pd.NA, "", "  "):
        assert read_quality.record_name(nothing, None) is None
    queue = pd.DataFrame(
        {
            "registration_l": ["police_incidents:N00000002"],
            "registration_r": ["health_events:H00000001"],
            "title_l": ["Police: incidents and offences"],
            "title_r": ["Health"],
            "first_name_l": [None],
            "last_name_l": [None],
            "first_name_r": ["Tom"],
            "last_name_r": ["Brown"],
        }
    )
    decision = linkage.Decision(
        "police_incidents:N00000002", "health_events:H00000001", linkage.REJECT, "2026-06-01T10:00"
    )
    made = read_quality.recorded_decisions(queue, [decision], datetime(2026, 6, 2))
    names = dict(zip(made[["registration_l", "registration_r"]].iloc[0],
                     made[["name_l", "name_r"]].iloc[0], strict=True))  # fmt: skip
    assert names == {"police_incidents:N00000002": None, "health_events:H00000001": "Tom Brown"}


def test_decisions_honoured_and_matching_time_add_up(app_model: Path, model_sql) -> None:
    accepted, rejected, train, predict, cluster = model_sql.execute(
        "select decisions_accepted, decisions_rejected, train_seconds, predict_seconds,"
        " cluster_seconds from mart_linkage_summary"
    ).fetchall()[0]
    at = open_app(PAGE)
    words = " ".join(m.value for m in at.markdown)
    honoured = (accepted or 0) + (rejected or 0)
    assert f"**{honoured:,} analysts' decisions** were honoured" in words
    seconds = float(np.float64(train) + np.float64(predict) + np.float64(cluster))
    assert f"Matching took {fmt_number(seconds)} seconds (learning the weights " in words


# --- Values set aside ----------------------------------------------------------------------------


def test_values_set_aside_match_independent_sql(app_model: Path, model_sql) -> None:
    by_column = model_sql.execute(
        """
        select a.source, a.column_name, count(*), any_value(m.rows_loaded)
        from load_set_aside a join load_manifest m using (source)
        group by all
        """
    ).fetchall()
    assert by_column, "the synthetic district plants unreadable dates of birth and sexes"
    at = open_app(PAGE)
    counts = frame_with(
        at, "source", "title", "column_name", "values_set_aside", "rows_loaded",
        "set_aside_share", "top_reason",
    )  # fmt: skip
    shown = {
        (r.source, r.column_name): (r.values_set_aside, r.rows_loaded) for r in counts.itertuples()
    }
    assert shown == {(s, c): (n, loaded) for s, c, n, loaded in by_column}
    assert list(counts["set_aside_share"]) == sorted(counts["set_aside_share"], reverse=True)

    def shown_values() -> pd.DataFrame:
        return frame_with(
            at, "title", "file", "line", "column_name", "value", "reason", "loaded_as"
        )

    assert len(shown_values()) == sum(n for *_, n, _ in by_column)
    source = max(
        {s for s, *_ in by_column}, key=lambda s: sum(n for x, _, n, _ in by_column if x == s)
    )
    at.selectbox(key="set_aside_source").set_value(source).run()
    assert not at.exception
    one = shown_values()
    (expected,) = model_sql.execute(
        "select count(*) from load_set_aside where source = ?", [source]
    ).fetchone()
    assert len(one) == expected
    # A row with a value set aside is loaded, with that value blank.
    line, field_header = model_sql.execute(
        "select line, column_name from load_set_aside where source = ? order by line limit 1",
        [source],
    ).fetchone()
    field = next(c.field for c in BY_SOURCE[source].columns if c.header == field_header)
    (value,) = model_sql.execute(
        f'select "{field}" from "raw_{source}" where line = ?', [line]
    ).fetchone()
    assert value is None
