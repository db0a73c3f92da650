"""The Audit page in AppTest: the chain's state, who viewed whom, the filters and the downloads,
read back against rows the test wrote itself. The page is not yet in the app's navigation (the
sign-in work registers it for admins), so a two-line app registers it here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_model.state import audit
from pages.ui.formats import plain

ROOT = Path(__file__).resolve().parents[1]
KEY = "audit-page-test-key-" + "k" * 32


@pytest.fixture
def served(synthetic_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the test model in this test's folder (its state database beside it)."""
    model = tmp_path / "model.duckdb"
    shutil.copy(synthetic_model, model)
    monkeypatch.setenv("FFI_MODEL", str(model))
    monkeypatch.setenv("FFI_AUDIT_KEY", KEY)
    return model


def open_audit_page(tmp_path: Path) -> AppTest:
    app = tmp_path / "audit_app.py"
    app.write_text(
        "import streamlit as st\n"
        f"st.navigation([st.Page({str(ROOT / 'pages' / 'audit.py')!r}, title='Audit',"
        " url_path='audit')]).run()\n",
        encoding="utf-8",
    )
    at = AppTest.from_file(str(app), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at: AppTest, column: str):
    (found,) = [df.value for df in at.dataframe if column in df.value.columns]
    return found


def test_the_page_shows_who_viewed_whom_and_the_chain(served: Path, tmp_path: Path) -> None:
    store = audit.open_store(served, key=KEY)
    odd = "[click](http://127.0.0.1:9/x) **bold**"
    audit.record(store, "results_shown", user="ann", role="practitioner", session="s1",
                 reason="safeguarding concern", detail={"person_ids": ["P1", "P2"]})  # fmt: skip
    audit.record(store, "person_viewed", user="bob", role="analyst", session="s2",
                 reason=odd, detail={"person_id": "P2"})  # fmt: skip
    audit.record(store, "download", user="bob", role="analyst", session="s2",
                 detail={"table": "near families", "rows": 12, "role": "analyst"})  # fmt: skip

    at = open_audit_page(tmp_path)
    assert any("The chain is intact" in s.value and "3 rows" in s.value for s in at.success)
    viewed = frame(at, "viewed")
    assert sorted(zip(viewed["user_id"], viewed["viewed"], strict=True)) == [
        ("ann", "person P1"), ("ann", "person P2"), ("bob", "person P2"),
    ]  # fmt: skip
    assert set(viewed["reason"]) == {"safeguarding concern", odd}  # kept as typed, in a grid
    events = frame(at, "session_id")
    assert events["seq"].tolist() == [3, 2, 1]
    assert events["kind"].tolist() == ["Download", "Person viewed", "Results shown"]
    assert '"table":"near families"' in events["detail"].iloc[0]
    assert {b.proto.label for b in at.get("download_button")} == {"Download CSV", "Download Excel"}
    (anchor,) = [json.loads(c.value) for c in at.code if '"head_seq"' in c.value]
    assert anchor["head_seq"] == 3 and anchor["head_hash"] == audit.head(store).head_hash

    # Filters: a person, then a user.
    at.text_input(key="audit_person").input("P1").run()
    assert frame(at, "viewed")["viewed"].tolist() == ["person P1"]
    assert frame(at, "session_id")["seq"].tolist() == [1]
    at.text_input(key="audit_person").input("").run()
    at.multiselect(key="audit_users").select("bob").run()
    assert frame(at, "session_id")["seq"].tolist() == [3, 2]
    # Text from the trail in Markdown is shown as text.
    assert all("](http" not in m.value for m in at.markdown)
    store.dispose()


def test_the_page_names_the_broken_row(served: Path, tmp_path: Path) -> None:
    store = audit.open_store(served, key=KEY)
    for i in range(4):
        audit.record(store, "person_viewed", user="ann", role="analyst", session="s",
                     detail={"person_id": f"P{i}"})  # fmt: skip
    with store.engine.begin() as conn:
        conn.exec_driver_sql("drop trigger audit_event_no_delete")
        conn.exec_driver_sql("delete from audit_event where seq = 2")
    store.dispose()
    at = open_audit_page(tmp_path)
    (said,) = [e.value for e in at.error if "The chain is broken" in e.value]
    assert plain("row 2: missing (deleted)") in said  # the trail's words shown as text


def test_without_a_key_the_page_says_the_chain_cannot_be_checked(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    # A council's model (not synthetic) and no key: the page reads, cannot check, says so.
    with duckdb.connect(str(served)) as con:
        con.execute("update mart_model_info set is_synthetic = false")
    monkeypatch.delenv("FFI_AUDIT_KEY")
    at = open_audit_page(tmp_path)
    assert any(
        "cannot be checked" in w.value and plain("FFI_AUDIT_KEY") in w.value for w in at.warning
    )
    assert frame(at, "session_id").empty  # and draws to its end
