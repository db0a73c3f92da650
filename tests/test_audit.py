"""The audit trail: every kind of event is written, the chain verifies, and tampering is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from data_model.state import audit

KEY = "k" * 40


@pytest.fixture
def store(tmp_path: Path):
    opened = audit.open_store(tmp_path / "model.duckdb", key=KEY)
    yield opened
    opened.dispose()


def write_some(store, n: int = 5) -> None:
    for i in range(n):
        audit.record(store, "person_viewed", user=f"user{i % 2}", role="analyst", session="s1",
                     reason="case work", detail={"person_id": f"P{i}"})  # fmt: skip


def test_every_kind_is_written_with_who_when_and_why(store) -> None:
    kinds = [k for k in audit.KINDS if k != "purge"]
    for kind in kinds:
        audit.record(store, kind, user="ann@council.example", role="analyst", session="abc",
                     reason="safeguarding concern", detail={"z": 1, "a": [2, 1]})  # fmt: skip
    with store.reading() as conn:
        rows = conn.execute(text("select seq, kind, user_id, role, session_id, reason, detail"
                                 " from audit_event order by seq")).all()  # fmt: skip
    assert [r.kind for r in rows] == kinds
    assert [r.seq for r in rows] == list(range(1, len(kinds) + 1))
    assert {(r.user_id, r.role, r.session_id, r.reason) for r in rows} == {
        ("ann@council.example", "analyst", "abc", "safeguarding concern")
    }
    assert {r.detail for r in rows} == {'{"a":[2,1],"z":1}'}  # canonical: sorted keys
    assert audit.verify(store).ok


def test_an_edited_row_is_named(store) -> None:
    write_some(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("drop trigger audit_event_no_update")
        conn.exec_driver_sql('update audit_event set detail = \'{"person_id":"P9"}\' where seq = 3')
    checked = audit.verify(store)
    assert not checked.ok and checked.broken_seq == 3
    assert checked.problem.startswith("row 3:")
