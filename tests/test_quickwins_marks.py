"""Analysts' marks on the quick-wins lists in the application-state database (SQLite, and
PostgreSQL where it is installed: FFI_REQUIRE_POSTGRES=1 makes its absence a failure): stored,
attributed, audited in the same transaction, the latest counting, append-only, and a mark that is
not one refused with nothing saved."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from data_model.state import audit, marks
from data_model.state.store import Store

KEY = "marks-test-key-" + "k" * 32
ANN = {"user": "ann@council.example", "role": "analyst", "session": "session-1"}
BOB = {"user": "bob@council.example", "role": "admin", "session": "session-2"}


@pytest.fixture
def store(state_target):
    model, url = state_target
    opened = audit.open_store(model, url, key=KEY)
    yield opened
    opened.dispose()


def stored_rows(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text("select * from quickwin_mark order by mark_id"))
                .mappings()]  # fmt: skip


def events(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text("select * from audit_event order by seq"))
                .mappings()]  # fmt: skip


def test_a_mark_is_stored_attributed_and_audited_together(store: Store) -> None:
    made = marks.record_mark(store, "FK-1", "attached", marks.PUSHED, model_version="ranking-1",
                             rank=3, data_as_at=date(2020, 3, 31), **ANN,
                             access_reason="Case work")  # fmt: skip
    [row] = stored_rows(store)
    names = ("family_key", "list_name", "mark", "reason", "model_version", "rank", "data_as_at",
             "marked_by", "role")  # fmt: skip
    assert tuple(row[n] for n in names) == (
        "FK-1", "attached", "pushed", None, "ranking-1", 3, "2020-03-31", "ann@council.example",
        "analyst",
    )  # fmt: skip
    assert row["mark_id"] == made.mark_id == 1
    [event] = events(store)
    assert (event["kind"], event["user_id"], event["role"], event["reason"]) == (
        "quickwin_mark",
        "ann@council.example",
        "analyst",
        "Case work",
    )
    assert json.loads(event["detail"]) == {"family_id": "FK-1", "list": "attached",
                                           "mark": "pushed", "model_version": "ranking-1",
                                           "mark_id": 1}  # fmt: skip
    assert audit.verify(store).ok


def test_the_latest_mark_on_a_family_in_a_list_counts_and_the_history_is_kept(
    store: Store,
) -> None:
    marks.record_mark(store, "FK-1", "attached", marks.PUSHED, **ANN)
    marks.record_mark(store, "FK-2", "unreferred", marks.PUSHED, **ANN)
    marks.record_mark(store, "FK-1", "attached", marks.NOT_APPROPRIATE,
                      reason="moved out of the district", **BOB)  # fmt: skip
    marks.record_mark(store, "FK-1", "unreferred", marks.PUSHED, **BOB)  # another list
    latest = marks.latest_marks(store)
    assert sorted(zip(latest["family_key"], latest["list_name"], latest["mark"],
                      latest["marked_by"], strict=True)) == [
        ("FK-1", "attached", "not_appropriate", "bob@council.example"),
        ("FK-1", "unreferred", "pushed", "bob@council.example"),
        ("FK-2", "unreferred", "pushed", "ann@council.example"),
    ]  # fmt: skip
    assert latest.set_index(["family_key", "list_name"]).loc[("FK-1", "attached"), "reason"] == (
        "moved out of the district"
    )
    assert len(marks.mark_history(store)) == 4
    assert [e["kind"] for e in events(store)] == ["quickwin_mark"] * 4


@pytest.mark.parametrize(
    ("family", "list_name", "mark", "reason", "why"),
    [
        ("FK-1", "attached", marks.NOT_APPROPRIATE, "  ", "why it is not appropriate"),
        ("FK-1", "attached", "maybe", None, "no such mark"),
        ("FK-1", "everyone", marks.PUSHED, None, "no such list"),
        (" ", "attached", marks.PUSHED, None, "no family"),
        ("FK-1", "attached", marks.NOT_APPROPRIATE, "x" * 301, "longer than 300"),
    ],
)
def test_a_mark_that_is_not_one_is_refused_and_nothing_is_saved(
    store: Store, family: str, list_name: str, mark: str, reason: str | None, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        marks.record_mark(store, family, list_name, mark, reason=reason, **ANN)
    assert stored_rows(store) == [] and events(store) == []


def test_marks_cannot_be_changed_or_deleted(store: Store) -> None:
    marks.record_mark(store, "FK-1", "attached", marks.PUSHED, **ANN)
    for statement in ("update quickwin_mark set mark = 'not_appropriate'",
                      "delete from quickwin_mark"):  # fmt: skip
        with pytest.raises(SQLAlchemyError, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert [r["mark"] for r in stored_rows(store)] == ["pushed"]


def test_a_mark_the_audit_trail_cannot_record_is_not_saved(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise SQLAlchemyError("disk full")

    monkeypatch.setattr(audit, "record_in", refuse)
    with pytest.raises(audit.AuditWriteError):
        marks.record_mark(store, "FK-1", "attached", marks.PUSHED, **ANN)
    assert stored_rows(store) == []
