"""The audit trail in the application-state database, against SQLite and PostgreSQL alike
(state_target, tests/conftest.py): every kind of event is written with who, when and why; the
append-only guards refuse changes; tampering of each kind makes verify fail naming the row; two
writers at once (threads, processes) leave one unbroken chain; export and purge; the command line.

Rows are read and tampered with through the tests' own SQL, not through the module under test.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import multiprocessing
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from data_model.linkage.decisions import ACCEPT, REJECT
from data_model.state import audit
from data_model.state.decisions import import_csv, read_decisions, record_decision
from data_model.state.store import Store
from tests.test_build import run_cli

KEY = "audit-test-key-" + "k" * 32
SOMEONE = {"user": "ann@council.example", "role": "analyst", "session": "session-1"}


@pytest.fixture
def store(state_target):
    model, url = state_target
    opened = audit.open_store(model, url, key=KEY)
    yield opened
    opened.dispose()


def write_some(store: Store, n: int = 6) -> None:
    for i in range(n):
        audit.record(store, "person_viewed", **SOMEONE, reason="case work",
                     detail={"person_id": f"P{i + 1:04d}"})  # fmt: skip


def rows(store: Store) -> list:
    with store.engine.connect() as conn:
        return conn.execute(text("select * from audit_event order by seq")).mappings().all()


def owner_sql(store: Store, *statements: str) -> None:
    """Statements as the database's owner would run them: someone with the file, or the DBA."""
    with store.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def drop_guards(store: Store) -> None:
    """What anyone who can write the database can do: take the append-only triggers away."""
    if store.dialect == "sqlite":
        owner_sql(store, "drop trigger audit_event_no_update", "drop trigger audit_event_no_delete")
    else:
        owner_sql(store, "drop trigger audit_event_append_only on audit_event")


def broken(store: Store, **kwargs) -> audit.Verification:
    checked = audit.verify(store, **kwargs)
    assert not checked.ok
    assert checked.problem.startswith(f"row {checked.broken_seq:,}:")
    return checked


# --- Writing ---------------------------------------------------------------------------------


def test_every_kind_is_written_with_who_when_and_why(store: Store) -> None:
    kinds = [kind for kind in audit.KINDS if kind != "purge"]
    started = datetime.now(UTC)
    for kind in kinds:
        audit.record(store, kind, **SOMEONE, reason="safeguarding concern",
                     detail={"z": 1, "a": [2, 1], "terms": {"surname": "Smith"}})  # fmt: skip
    written = rows(store)
    assert [r["kind"] for r in written] == kinds
    assert [r["seq"] for r in written] == list(range(1, len(kinds) + 1))
    assert {(r["user_id"], r["role"], r["session_id"], r["reason"]) for r in written} == {
        ("ann@council.example", "analyst", "session-1", "safeguarding concern")
    }
    # canonical JSON: sorted keys, no spaces, so the same detail always hashes the same
    assert {r["detail"] for r in written} == {'{"a":[2,1],"terms":{"surname":"Smith"},"z":1}'}
    times = [datetime.fromisoformat(r["at_utc"]) for r in written]
    assert times == sorted(times) and started <= times[0] <= datetime.now(UTC)
    # The chain, recomputed here from its definition: row 1 from 64 zeros, then each from the last.
    previous = "0" * 64
    for r in written:
        content = json.dumps(
            {"seq": r["seq"], "at": r["at_utc"], "kind": r["kind"], "user": r["user_id"],
             "role": r["role"], "session": r["session_id"], "reason": r["reason"],
             "detail": r["detail"]},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip
        expected = hmac.new(KEY.encode(), f"{previous}\n{content}".encode(), hashlib.sha256)
        assert r["prev_hash"] == previous and r["row_hash"] == expected.hexdigest()
        previous = r["row_hash"]
    checked = audit.verify(store)
    assert checked.ok and checked.rows == len(kinds) and checked.head_hash == previous


def test_an_unknown_kind_or_a_missing_user_is_a_mistake_not_an_event(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown audit event kind"):
        audit.record(store, "peeked", **SOMEONE)
    with pytest.raises(ValueError, match="needs the user"):
        audit.record(store, "search", user=" ", role=None, session="s")
    with pytest.raises(ValueError, match="cannot go into an audit record"):
        audit.record(store, "search", **SOMEONE, detail={"terms": object()})
    assert rows(store) == []


def test_the_guards_refuse_changes_and_deletions(store: Store) -> None:
    write_some(store, 3)
    for statement in ("update audit_event set reason = 'x' where seq = 2",
                      "delete from audit_event where seq = 2"):  # fmt: skip
        with pytest.raises(SQLAlchemyError, match="append-only"):
            owner_sql(store, statement)
    if store.dialect == "postgresql":
        with pytest.raises(SQLAlchemyError, match="append-only"):
            owner_sql(store, "truncate audit_event")
    assert len(rows(store)) == 3 and audit.verify(store).ok


def test_without_a_key_nothing_is_written(state_target, monkeypatch: pytest.MonkeyPatch) -> None:
    model, url = state_target
    monkeypatch.delenv("FFI_AUDIT_KEY", raising=False)
    keyless = audit.open_store(model, url)
    with pytest.raises(audit.AuditKeyError, match="no audit key"):
        audit.record(keyless, "sign_in", **SOMEONE)
    with pytest.raises(audit.AuditKeyError, match="at least 32 characters"):
        audit.open_store(model, url, key="short")
    # The synthetic demo may use the public demo key, and says so.
    demo = audit.open_store(model, url, demo=True)
    audit.record(demo, "sign_in", **SOMEONE)
    checked = audit.verify(demo)
    assert checked.ok and checked.demo_key and "demo key" in checked.message()
    # A council's key does not verify a trail written with the demo key.
    council = audit.open_store(model, url, key=KEY)
    assert not audit.verify(council).ok
    for opened in (keyless, demo, council):
        opened.dispose()


def test_a_write_that_fails_raises_audit_write_error_naming_no_one(store: Store) -> None:
    if store.dialect == "sqlite":
        owner_sql(store, "create trigger refuse before insert on audit_event"
                         " begin select raise(abort, 'disk I/O error'); end")  # fmt: skip
    else:
        owner_sql(
            store,
            "create function refuse() returns trigger language plpgsql as $$ begin"
            " raise exception using message = 'could not extend file: No space left on device';"
            " end $$",
            "create trigger refuse before insert on audit_event for each row"
            " execute function refuse()",
        )
    with pytest.raises(audit.AuditWriteError) as raised:
        audit.record(store, "search", **SOMEONE, detail={"terms": {"surname": "Oduya"}})
    assert "Oduya" not in str(raised.value) and "\n" not in str(raised.value)


def test_an_unreachable_server_is_an_audit_write_error(tmp_path: Path) -> None:
    url = f"postgresql://nobody@/nothing?host={tmp_path}&port=1"
    with pytest.raises(audit.AuditWriteError, match="cannot be opened"):
        audit.open_store(None, url, key=KEY)


# --- Tampering -------------------------------------------------------------------------------


def test_an_edited_row_is_named(store: Store) -> None:
    write_some(store)
    drop_guards(store)
    owner_sql(store, 'update audit_event set detail = \'{"person_id":"P0009"}\' where seq = 3')
    checked = broken(store)
    assert checked.broken_seq == 3 and "does not match its hash" in checked.problem


def test_an_edited_file_is_named(tmp_path: Path) -> None:
    """The SQLite file edited byte for byte, triggers and all untouched."""
    store = audit.open_store(tmp_path / "model.duckdb", key=KEY)
    write_some(store)
    store.dispose()  # the last connection's close folds the WAL into the file
    path = tmp_path / "app_state.sqlite"
    data = path.read_bytes()
    assert data.count(b"P0004") == 1
    path.write_bytes(data.replace(b"P0004", b"P0005"))
    reopened = audit.open_store(tmp_path / "model.duckdb", key=KEY)
    assert broken(reopened).broken_seq == 4
    reopened.dispose()


def test_a_deleted_row_is_named_in_the_middle_or_at_the_start(store: Store) -> None:
    write_some(store, 8)
    drop_guards(store)
    owner_sql(store, "delete from audit_event where seq = 5")
    checked = broken(store)
    assert checked.broken_seq == 5 and "missing (deleted)" in checked.problem
    owner_sql(store, "delete from audit_event where seq = 1")
    checked = broken(store)
    assert checked.broken_seq == 1 and "missing (deleted)" in checked.problem
    assert "the trail starts at row 2" in checked.problem


def test_rows_cut_from_the_end_are_caught_against_an_anchor(store: Store, tmp_path: Path) -> None:
    write_some(store, 8)
    anchor_file = tmp_path / "anchor.json"
    anchor_file.write_text(audit.anchor(store).to_json())
    drop_guards(store)
    owner_sql(store, "delete from audit_event where seq >= 7")
    assert audit.verify(store).ok  # the chain alone cannot tell: it is why anchors are kept
    checked = broken(store, anchor=audit.Anchor.read(anchor_file))
    assert checked.broken_seq == 7 and "cut from the end" in checked.problem
    assert "row 8" in checked.problem and "ends at row 6" in checked.problem


def test_a_later_anchor_still_verifies_and_a_rewritten_head_does_not(store: Store) -> None:
    write_some(store, 4)
    kept = audit.anchor(store)
    write_some(store, 2)  # the trail goes on after the anchor
    checked = audit.verify(store, anchor=kept)
    assert checked.ok and "row 4, matches" in checked.message()
    forged = audit.Anchor(kept.head_seq, "f" * 64, kept.rows, kept.taken_at)
    assert broken(store, anchor=forged).broken_seq == 4


def test_a_chain_rewritten_and_re_hashed_without_the_key_is_named(store: Store) -> None:
    """Someone edits row 3 and re-hashes it and every row after, consistently, with a key of
    their own: each row links to the one before, and still row 3 fails."""
    write_some(store, 6)
    drop_guards(store)
    wrong = b"not-the-councils-key-" + b"x" * 32
    previous = None
    for row in rows(store):
        if row["seq"] < 3:
            previous = row["row_hash"]
            continue
        new = dict(row, prev_hash=previous)
        if row["seq"] == 3:
            new["detail"] = '{"person_id":"P0099"}'
        content = audit.row_content(new)
        new_hash = hmac.new(wrong, f"{previous}\n{content}".encode(), hashlib.sha256).hexdigest()
        owner_sql(
            store,
            f"update audit_event set prev_hash = 'tmp{row['seq']}' where seq = {row['seq']}",
            f"update audit_event set detail = '{new['detail']}', prev_hash = '{previous}', "
            f"row_hash = '{new_hash}' where seq = {row['seq']}",
        )
        previous = new_hash
    checked = broken(store)
    assert checked.broken_seq == 3 and "re-hashed without the key" in checked.problem


# --- Two writers at once ---------------------------------------------------------------------


def _write_events(
    model: str, url: str | None, who: str, count: int, shared: Store | None = None
) -> None:
    """One writer, `count` events in order: on a store of its own (its own connections, as
    another replica would have), or on one shared with other threads (as the app's sessions
    share one)."""
    store = shared or audit.open_store(Path(model), url, key=KEY)
    try:
        for i in range(count):
            audit.record(store, "search", user=who, role="analyst", session=who,
                         detail={"n": i})  # fmt: skip
    finally:
        if shared is None:
            store.dispose()


def test_a_writer_holds_the_write_lock_until_it_commits(store: Store) -> None:
    """BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL: taken before the head is read,
    so no other writer can read the same head; readers are not held up."""
    import sqlite3

    import psycopg

    from data_model.state.store import PG_WRITE_LOCK

    def other_writer_can_start() -> bool:
        if store.dialect == "sqlite":
            other = sqlite3.connect(store.path, timeout=0, isolation_level=None)
            try:
                other.execute("begin immediate")
                other.execute("rollback")
                return True
            except sqlite3.OperationalError:
                return False
            finally:
                other.close()
        url = store.engine.url
        with psycopg.connect(host=url.query["host"], port=int(url.query["port"]),
                             dbname=url.database, user=url.username) as other:  # fmt: skip
            return other.execute(
                "select pg_try_advisory_xact_lock(%s)", [PG_WRITE_LOCK]
            ).fetchone()[0]

    with store.writing():
        assert not other_writer_can_start()
    with store.reading():
        assert other_writer_can_start()
    assert other_writer_can_start()


def _one_unbroken_chain(store: Store, writers: list[str], count: int) -> None:
    checked = audit.verify(store)
    assert checked.ok, checked.problem
    written = rows(store)
    assert [r["seq"] for r in written] == list(range(1, len(writers) * count + 1))
    for who in writers:  # every event of every writer, each writer's in its order
        assert [json.loads(r["detail"])["n"] for r in written if r["user_id"] == who] == list(
            range(count)
        )


def test_writers_in_threads_leave_one_unbroken_chain(state_target, store: Store) -> None:
    model, url = state_target
    writers, count = [f"thread-{i}" for i in range(4)], 30
    threads = [  # two with stores of their own, two sharing the test's
        threading.Thread(
            target=_write_events, args=(str(model), url, who, count, store if i % 2 else None)
        )
        for i, who in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _one_unbroken_chain(store, writers, count)


def test_writers_in_two_processes_leave_one_unbroken_chain(state_target, store: Store) -> None:
    model, url = state_target
    writers, count = ["process-a", "process-b"], 60
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_write_events, args=(str(model), url, who, count)) for who in writers
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
        assert process.exitcode == 0
    _one_unbroken_chain(store, writers, count)


def test_the_unique_previous_hash_alone_keeps_one_chain(
    state_target, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the write lock taken away (no BEGIN IMMEDIATE, no advisory lock), writers race for
    the head; the UNIQUE previous hash refuses all but one, and the others try again."""
    from contextlib import contextmanager

    @contextmanager
    def unlocked(self: Store):
        with self.engine.connect() as conn, conn.begin():
            yield conn

    monkeypatch.setattr(Store, "writing", unlocked)
    model, url = state_target
    writers, count = [f"racer-{i}" for i in range(3)], 20
    threads = [
        threading.Thread(target=_write_events, args=(str(model), url, who, count))
        for who in writers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _one_unbroken_chain(store, writers, count)


# --- Export and purge ------------------------------------------------------------------------


def _at(moment: datetime):
    return lambda: moment.isoformat(timespec="microseconds")


def write_dated(store: Store, monkeypatch: pytest.MonkeyPatch, days: list[date]) -> None:
    for i, day in enumerate(days):
        moment = datetime(day.year, day.month, day.day, 9, 30, i, tzinfo=UTC)
        monkeypatch.setattr(audit, "_now", _at(moment))
        audit.record(store, "results_shown", **SOMEONE, reason="case work",
                     detail={"person_ids": [f"P{i}", "=HYPERLINK(1)"]})  # fmt: skip
    monkeypatch.undo()


def test_export_writes_the_days_asked_for(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dated(store, monkeypatch, [date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29),
                                     date(2024, 3, 1)])  # fmt: skip
    out = tmp_path / "ig" / "audit.csv"
    assert audit.export_csv(store, date(2024, 2, 1), date(2024, 2, 29), out) == 2
    with out.open(encoding="utf-8-sig", newline="") as file:
        exported = list(csv.DictReader(file))
    assert [r["seq"] for r in exported] == ["2", "3"]
    assert (
        exported[0]["at_utc"].startswith("2024-02-01") and exported[1]["user_id"] == SOMEONE["user"]
    )
    assert json.loads(exported[0]["detail"])["person_ids"] == ["P1", "=HYPERLINK(1)"]
    assert exported[0]["row_hash"] == rows(store)[1]["row_hash"]
    with out.open(encoding="utf-8-sig", newline="") as file:
        assert not any(cell.startswith("=") for line in csv.reader(file) for cell in line)
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_purge_removes_the_oldest_rows_records_itself_and_the_chain_still_verifies(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dated(store, monkeypatch, [date(2010, 1, 5)] * 3 + [date(2015, 6, 1)] * 2)
    write_some(store, 2)  # today
    old_anchor = audit.anchor(store)
    first = audit.purge(store, date(2012, 1, 1), user="admin (command line)", session="cli-1")
    assert (first.rows_removed, first.first_kept_seq, first.purge_seq) == (3, 4, 8)
    assert audit.verify(store).ok
    second = audit.purge(store, date(2016, 1, 1), user="admin (command line)", session="cli-2")
    assert (second.rows_removed, second.first_kept_seq, second.purge_seq) == (2, 6, 9)
    checked = audit.verify(store, anchor=old_anchor)
    assert checked.ok and [r["seq"] for r in rows(store)] == [6, 7, 8, 9]
    assert checked.first_seq == 6 and checked.head_seq == 9
    purges = [json.loads(r["detail"]) for r in rows(store) if r["kind"] == "purge"]
    assert [(p["before"], p["rows_removed"], p["first_kept_seq"]) for p in purges] == [
        ("2012-01-01", 3, 4), ("2016-01-01", 2, 6),
    ]  # fmt: skip
    # The guards are back after the purge.
    with pytest.raises(SQLAlchemyError, match="append-only"):
        owner_sql(store, "delete from audit_event where seq = 6")
    # A purge with nothing to remove is recorded too, and changes nothing else.
    third = audit.purge(store, date(2016, 1, 1), user="admin", session="cli-3")
    assert (third.rows_removed, third.first_kept_seq) == (0, 6) and audit.verify(store).ok
    # Rows younger than the retention period stay.
    with pytest.raises(audit.AuditError, match="kept 6 years"):
        audit.purge(store, date.today(), user="admin", session="cli-4")
    # After a purge, deleting the first kept row, or the purge row itself, is still caught.
    drop_guards(store)
    owner_sql(store, "delete from audit_event where seq = 6")
    assert broken(store).broken_seq == 6


def test_deleting_rows_and_the_purge_row_that_covers_them_is_caught(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dated(store, monkeypatch, [date(2010, 1, 5)] * 2)
    write_some(store, 2)
    audit.purge(store, date(2012, 1, 1), user="admin", session="cli")  # rows 3, 4, purge 5
    drop_guards(store)
    owner_sql(store, "delete from audit_event where seq <= 3")
    assert broken(store).broken_seq == 3  # the purge (row 5) says the trail starts at row 3
    owner_sql(store, "delete from audit_event where seq = 5")
    assert not audit.verify(store).ok  # no purge row left: the trail should start at row 1


# --- PostgreSQL: the app's own user has INSERT and SELECT only --------------------------------


def test_the_app_user_can_write_and_read_but_not_change_or_purge(
    postgres_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.postgres_server import APP_USER

    database = postgres_cluster.new_database()
    owner = audit.open_store(None, postgres_cluster.url(database), key=KEY)  # as `audit init`
    for grant in ("grant usage on schema public to {user}",
                  "grant select, insert on audit_event, linkage_decision to {user}"):  # fmt: skip
        postgres_cluster.sql(grant.format(user=APP_USER), database)
    app = audit.open_store(None, postgres_cluster.url(database, APP_USER), key=KEY)
    write_dated(app, monkeypatch, [date(2010, 1, 5)])
    write_some(app, 2)
    record_decision(app, "a:1", "b:2", ACCEPT, user="ann", role="analyst", session="s")
    assert audit.verify(app).ok and audit.head(app).rows == 4
    for statement in ("delete from audit_event", "update audit_event set reason = 'x'",
                      "drop trigger audit_event_append_only on audit_event",
                      "delete from linkage_decision"):  # fmt: skip
        with pytest.raises(SQLAlchemyError, match="permission denied|must be owner"):
            owner_sql(app, statement)
    with pytest.raises(audit.AuditWriteError):
        audit.purge(app, date(2012, 1, 1), user="app", session="s")
    assert audit.head(app).rows == 4
    owner.dispose()
    app.dispose()


# --- Clerical decisions, on both databases ---------------------------------------------------


def test_decisions_round_trip_and_import(store: Store, tmp_path: Path) -> None:
    record_decision(store, "a:1", "b:2", ACCEPT, user="ann", role="analyst", session="s")
    record_decision(store, "b:2", "a:1", REJECT, user="bob", role="analyst", session="t")
    old = tmp_path / "linkage_decisions.csv"
    old.write_text(
        "registration_l,registration_r,decision,decided_at,decided_by\n"
        f"c:3,d:4,{ACCEPT},2026-01-02T10:00:00,CD\n",
        encoding="utf-8",
    )
    assert import_csv(store, old, user="admin", session="cli").decisions == 1
    assert import_csv(store, old, user="admin", session="cli").already
    latest = {d.pair: (d.decision, d.decided_by) for d in read_decisions(store)}
    assert latest == {("a:1", "b:2"): (REJECT, "bob"), ("c:3", "d:4"): (ACCEPT, "CD")}
    decided = audit.events(store, kinds=["clerical_decision"])
    assert [e["user_id"] for e in decided] == ["admin", "bob", "ann"]  # newest first
    assert decided[1]["detail"] == {"decision": REJECT, "registration_l": "b:2",
                                    "registration_r": "a:1"}  # fmt: skip
    assert audit.verify(store).ok


# --- Reading for the Audit page --------------------------------------------------------------


def test_events_filter_by_user_person_kind_and_day(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dated(store, monkeypatch, [date(2026, 1, 5), date(2026, 1, 6)])
    audit.record(store, "person_viewed", user="bob", role="practitioner", session="b",
                 reason="case work", detail={"person_id": "P12"})  # fmt: skip
    audit.record(store, "family_viewed", user="bob", role="practitioner", session="b",
                 detail={"family_id": 12})  # fmt: skip
    assert [e["seq"] for e in audit.events(store, person="P1")] == [2]  # not P12
    assert [e["seq"] for e in audit.events(store, person="12")] == [4]  # the family, not P12
    assert [e["seq"] for e in audit.events(store, person="P12")] == [3]
    assert [e["seq"] for e in audit.events(store, users=["bob"])] == [4, 3]
    assert [e["seq"] for e in audit.events(store, kinds=["results_shown"])] == [2, 1]
    assert [e["seq"] for e in audit.events(store, start=date(2026, 1, 6),
                                           end=date(2026, 1, 6))] == [2]  # fmt: skip
    assert audit.events(store, person="P0")[0]["persons"] == ["P0", "=HYPERLINK(1)"]
    assert audit.users(store) == ["ann@council.example", "bob"]


# --- The command line ------------------------------------------------------------------------


def test_the_command_line_verifies_anchors_exports_and_purges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.duckdb"
    store = audit.open_store(model, key=KEY)
    write_some(store, 5)
    where = ("--model", str(model))
    monkeypatch.delenv("FFI_AUDIT_KEY", raising=False)
    no_key = run_cli("audit", "verify", *where)
    assert no_key.returncode == 2
    assert no_key.stderr.strip().splitlines() == [
        "error: the audit trail cannot be checked without its key (FFI_AUDIT_KEY)"
    ]
    monkeypatch.setenv("FFI_AUDIT_KEY", KEY)
    good = run_cli("audit", "verify", *where)
    assert good.returncode == 0 and "intact: 5 rows" in good.stdout
    anchor = tmp_path / "kept" / "anchor.json"
    assert run_cli("audit", "anchor", *where, "--out", str(anchor)).returncode == 0
    assert json.loads(anchor.read_text())["head_seq"] == 5
    today = datetime.now(UTC).date()
    out = tmp_path / "export.csv"
    exported = run_cli("audit", "export", *where, "--from", str(today - timedelta(days=1)),
                       "--to", str(today), "--out", str(out))  # fmt: skip
    assert exported.returncode == 0 and "5 audit events" in exported.stdout
    bad_date = run_cli("audit", "export", *where, "--from", "31/01/2026", "--to", str(today),
                       "--out", str(out))  # fmt: skip
    assert bad_date.returncode == 2 and "not a date (YYYY-MM-DD): '31/01/2026'" in bad_date.stderr
    too_soon = run_cli("audit", "purge", *where, "--before", str(today))
    assert too_soon.returncode == 2 and "kept 6 years" in too_soon.stderr
    purged = run_cli("audit", "purge", *where)  # the default: as old as retention allows
    assert purged.returncode == 0 and "purged 0 audit events" in purged.stdout

    drop_guards(store)
    owner_sql(store, "delete from audit_event where seq >= 5")
    cut = run_cli("audit", "verify", *where, "--anchor", str(anchor))
    assert cut.returncode == 2
    (line,) = cut.stderr.strip().splitlines()
    assert line.startswith("error: audit trail broken: row 5:") and "cut from the end" in line
    drop_guards(store)  # opening the store put them back
    owner_sql(store, "delete from audit_event where seq = 2")
    gone = run_cli("audit", "verify", *where)
    assert gone.returncode == 2 and "row 2: missing (deleted)" in gone.stderr
    store.dispose()


def test_the_command_line_reaches_postgresql_by_url(postgres_cluster, monkeypatch) -> None:
    url = postgres_cluster.url(postgres_cluster.new_database())
    init = run_cli("audit", "init", "--state-url", url, "--app-user", "insight_app")
    assert init.returncode == 0, init.stderr
    assert "GRANT SELECT, INSERT ON audit_event, linkage_decision TO insight_app;" in init.stdout
    store = audit.open_store(None, url, key=KEY)
    write_some(store, 3)
    monkeypatch.setenv("FFI_AUDIT_KEY", KEY)
    monkeypatch.setenv("FFI_STATE_URL", url)
    checked = run_cli("audit", "verify")
    assert checked.returncode == 0 and "intact: 3 rows" in checked.stdout, checked.stderr
    store.dispose()


def test_the_demo_key_is_for_a_synthetic_model_only(
    tmp_path: Path, synthetic_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    monkeypatch.delenv("FFI_AUDIT_KEY", raising=False)
    demo = tmp_path / "demo" / "model.duckdb"
    demo.parent.mkdir()
    shutil.copy(synthetic_model, demo)
    audit.record(audit.open_store(demo, demo=True), "sign_in", **SOMEONE)
    ok = run_cli("audit", "verify", "--model", str(demo), "--demo-key")
    assert ok.returncode == 0 and "public demo key" in ok.stdout
    council = tmp_path / "council" / "model.duckdb"
    council.parent.mkdir()
    refused = run_cli("audit", "verify", "--model", str(council), "--demo-key")
    assert refused.returncode == 2 and "only for the synthetic demo" in refused.stderr
