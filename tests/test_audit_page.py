"""The Audit page in AppTest: the chain's state, who viewed whom, the filters and the downloads,
read back against rows the test wrote itself. The page is opened as the app opens it for an
administrator: signed in, a reason for access given (the gate's own events are written to the
trail before the page draws, so the checks below look at the test's users)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_model.state import audit
from pages import registry
from pages.ui.formats import plain
from tests.access_helpers import give_reason, signed_in

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
    """The Audit page, signed in as an administrator, the reason for access given. The audit key
    is FFI_AUDIT_KEY's (the secrets give none)."""
    at = signed_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), "admin")
    at.secrets = {k: v for k, v in at.secrets.items() if k != "audit"}
    at.run()
    at.switch_page(registry.BY_KEY["audit"].file).run()
    give_reason(at)
    assert not at.exception, [e.value for e in at.exception]
    return at


def theirs(events):  # noqa: ANN001, ANN201
    """The events the test wrote (not the administrator's own, written by the page's gate)."""
    return events[events["user_id"].isin(["ann", "bob"])]


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
    # The test's 3, and the administrator's: signed in, the Overview (the home page) opened, the
    # reason given, this page opened.
    rows = audit.head(store).rows
    assert rows == 7
    assert any("The chain is intact" in s.value and f"{rows} rows" in s.value for s in at.success)
    viewed = frame(at, "viewed")
    assert sorted(zip(viewed["user_id"], viewed["viewed"], strict=True)) == [
        ("ann", "person P1"), ("ann", "person P2"), ("bob", "person P2"),
    ]  # fmt: skip
    assert set(viewed["reason"]) == {"safeguarding concern", odd}  # kept as typed, in a grid
    events = theirs(frame(at, "session_id"))
    assert events["seq"].tolist() == [3, 2, 1]
    assert events["kind"].tolist() == ["Download", "Person viewed", "Results shown"]
    assert '"table":"near families"' in events["detail"].iloc[0]
    assert {b.proto.label for b in at.get("download_button")} == {"Download CSV", "Download Excel"}
    (anchor,) = [json.loads(c.value) for c in at.code if '"head_seq"' in c.value]
    assert anchor["head_seq"] == rows and anchor["head_hash"] == audit.head(store).head_hash

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


def test_without_a_key_the_page_shows_nothing_on_a_council_model(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    # A council's model (not synthetic) and no key: no view of people can be recorded, so the
    # page (who viewed whom) shows nothing, and says why.
    with duckdb.connect(str(served)) as con:
        con.execute("update mart_model_info set is_synthetic = false")
    monkeypatch.delenv("FFI_AUDIT_KEY")
    at = open_audit_page(tmp_path)
    assert any("audit trail could not be written" in e.value for e in at.error)
    assert not at.dataframe and not at.code
