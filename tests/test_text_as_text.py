"""Text from data is shown as text: never rendered as Markdown or HTML.

A district whose programme, wards, area committees, teams, key workers, a rejected value and the
outcomes plan's name, council, notes and titles are all Markdown and HTML images pointing at
127.0.0.1:9 (tests/text_payloads.py). Every page is run with AppTest, with the filters that put
wards and area committees on screen, and every element that Streamlit renders as Markdown (text,
captions, alerts, headings, metrics, expander and widget labels and help, radio options, st.table
cells) must hold the payload only escaped; every Plotly chart (which reads HTML in titles, names,
ticks and hover text) must hold no <img tag. The browser test of the same district is
tests/e2e/test_text_as_text_e2e.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from data_model.read import plan
from pages import registry
from pages.ui.charts import label
from pages.ui.formats import plain
from tests.access_helpers import give_reason
from tests.conftest import model_copy
from tests.text_payloads import (
    HTML,
    MARKDOWN,
    PAYLOAD,
    SHORTCODE,
    as_shown,
)

ROOT = Path(__file__).resolve().parents[1]
RAW_TAG = re.compile(r"(?<!\\)<img", re.I)  # an <img not escaped for Markdown
# The planted web and email addresses where GitHub's autolinks would make them links: not after
# a word joiner.
AUTOLINKED = re.compile(r"(?<!\u2060)(http\\?://127|@beacon)")
# Widgets whose options Streamlit shows as plain text: their options are not Markdown.
PLAIN_OPTIONS = {"selectbox", "multiselect"}
OPTION_FIELDS = {"options", "default", "rawValues", "rawValue", "value", "setValue"}
# Elements whose text is never read as Markdown: table cells are arrow data, code is code.
NOT_MARKDOWN = {"dataframe", "code", "plotly_chart", "table"}


@pytest.fixture(scope="module")
def planted_model(text_district: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    model = model_copy(text_district, tmp_path_factory.mktemp("text_payloads"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FFI_MODEL", str(model))
        yield model


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _markdown_texts(node: Any) -> Iterator[str]:
    """Every string of an element that Streamlit may render as Markdown."""
    proto = getattr(node, "proto", None)
    if proto is None or node.type in NOT_MARKDOWN:
        return
    fields = MessageToDict(proto)
    if node.type in PLAIN_OPTIONS:
        fields = {k: v for k, v in fields.items() if k not in OPTION_FIELDS}
    yield from _strings(fields)


def _table_cells(node: Any) -> Iterator[str]:
    """st.table's cells and index (it renders Markdown in them)."""
    frame: pd.DataFrame = node.value
    yield from (str(v) for v in frame.to_numpy().ravel())
    yield from (str(v) for v in frame.index)


def _chart_texts(node: Any) -> Iterator[str]:
    yield from _strings(json.loads(node.proto.spec))


def _check_page(at: AppTest, where: str) -> dict[str, int]:
    """Fail on a payload a page would render; count the escaped payloads it shows instead."""
    seen = {"escaped markdown": 0, "escaped in charts": 0}
    for node in _nodes(at._tree):
        kind = getattr(node, "type", None)
        if kind == "plotly_chart":
            for text in _chart_texts(node):
                assert "<img" not in text.lower(), f"{where}: chart text {text!r}"
                seen["escaped in charts"] += "&lt;img" in text
            continue
        if kind == "deck_gl_json_chart":
            # A map's features carry data (ward names) as data; Streamlit puts them into the
            # tooltip's template HTML-escaped (WARDS_NOTES.md). The template itself must hold
            # none of it, only {placeholders}.
            template = node.proto.tooltip
            assert MARKDOWN not in template and not RAW_TAG.search(template), where
            continue
        if kind == "html":
            # st.html renders HTML, not Markdown: data in it must be HTML-escaped, and Markdown,
            # links and shortcodes in it are only text
            for text in _markdown_texts(node):
                assert not RAW_TAG.search(text), f"{where}: html renders {text!r}"
            continue
        texts = _table_cells(node) if kind == "table" else _markdown_texts(node)
        for text in texts:
            assert MARKDOWN not in text, f"{where}: {kind} renders {text!r}"
            assert not RAW_TAG.search(text), f"{where}: {kind} renders {text!r}"
            assert not AUTOLINKED.search(text), f"{where}: {kind} links {text!r}"
            assert SHORTCODE[:-1] not in text, f"{where}: {kind} draws an emoji: {text!r}"
            seen["escaped markdown"] += plain(MARKDOWN) in text
    return seen


def _a_ward(model: Path) -> str:
    """The code of a ward the Near threshold page offers (its name is planted)."""
    with duckdb.connect(str(model), read_only=True) as con:
        con.execute("use model")
        return next(iter(plan.plan_filter_options(con)["wards"]))


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def test_every_page_shows_planted_text_as_typed(planted_model: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    _run(at)
    seen: dict[str, dict[str, int]] = {}
    for page in registry.PAGES:
        at.switch_page(page.file)
        _run(at)
        give_reason(at)  # before Data quality (the demo's default role is admin)
        seen[page.key] = _check_page(at, page.title)

    # The clerical review's side-by-side table reads Markdown: its record ids show escaped.
    at.switch_page(registry.BY_KEY["data_quality"].file)
    _run(at)
    cells = [str(v) for v in at.table[0].value.to_numpy().ravel()]
    assert any("\\:" in cell for cell in cells), cells  # source:id, its colon escaped

    # Referrals over the whole programme, tab by tab (only the open tab is drawn): every team's
    # allocation lag is charted.
    at.switch_page(registry.BY_KEY["referrals"].file)
    _run(at)
    period = at.radio(key="period")
    period.set_value(next(o for o in period.options if o.startswith("Whole programme")))
    _run(at)
    whole = {"escaped markdown": 0, "escaped in charts": 0}
    for tab in [t.label for t in at.tabs]:
        at.session_state["referrals_tab"] = tab
        _run(at)
        for count, n in _check_page(at, f"Referrals, whole programme, {tab}").items():
            whole[count] += n
    seen["referrals: whole programme"] = whole

    # The Near threshold page with a planted ward chosen, and barriers by ward, area committee.
    at.switch_page(registry.BY_KEY["near_threshold"].file)
    _run(at)
    at.multiselect(key="near_wards").set_value([_a_ward(planted_model)])
    _run(at)
    seen["near_threshold: ward chosen"] = _check_page(at, "Near threshold, a ward chosen")
    assert any(plain(MARKDOWN) in caption.value for caption in at.caption)  # "Showing … · ward"
    at.multiselect(key="near_wards").set_value([])
    for group in ("Ward", "Area committee"):
        at.radio(key="near_barrier_group").set_value(group)
        _run(at)
        seen[f"near_threshold: by {group}"] = _check_page(at, f"Near threshold by {group}")

    # Every page shows the programme's name in the sidebar, escaped; the plan's pages show more.
    for key, counts in seen.items():
        assert counts["escaped markdown"] >= 1, (key, counts)
    for key in ("overview", "near_threshold", "claims", "outcomes_plan"):
        assert seen[key]["escaped markdown"] >= 3, (key, seen[key])
    assert seen["referrals: whole programme"]["escaped in charts"] >= 1, seen  # teams
    assert seen["near_threshold"]["escaped in charts"] >= 1, seen  # measures
    assert seen["near_threshold: by Ward"]["escaped in charts"] >= 1, seen


def test_the_escapes_show_the_text_as_typed() -> None:
    """plain() and charts.label() only add escapes (and invisible word joiners): taking them away
    gives the text back."""
    assert as_shown(plain(PAYLOAD)) == PAYLOAD
    assert label(HTML).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == HTML
    assert "<" not in label(PAYLOAD) and ">" not in label(PAYLOAD)
