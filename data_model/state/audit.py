"""The audit trail: who looked at whom, when and why, in rows that cannot be quietly edited.

The API the pages call (keep it so)::

    from data_model.state import audit

    store = audit.open_store(model_path, url=None, key=..., demo=...)  # cache it per process
    audit.record(store, kind, *, user, role, session, reason=None, detail=None) -> None
        # raises audit.AuditWriteError when the event cannot be written: the caller then shows
        # nothing person-level and tells the user
    audit.KINDS  # the event kinds record() accepts

- `open_store(model_path, url)` opens the application-state database: `url` (a SQLAlchemy URL,
  `postgresql://user:password@host/db` for PostgreSQL: st.secrets["state"]["url"] in the app,
  --state-url or FFI_STATE_URL on the command line) or else app_state.sqlite beside the model
  (created 0600). `key` is the audit key (st.secrets["audit"]["key"] in the app; FFI_AUDIT_KEY
  is read when no key is given). Without a key the store can be read but record() refuses to
  write, except with `demo=True` (the synthetic demo's model), which uses a fixed, public demo
  key and says so (`store.demo_key`). Raises AuditWriteError when the database cannot be opened.
- `record()` writes one event, before anything person-level is shown. `user` is the signed-in
  user's stable id (Entra `oid`, or email), `role` the product role, `session` the app session's
  id, `reason` the reason for access given in the session. `detail` is any JSON object, stored as
  canonical JSON (sorted keys, no spaces). By kind:

  ============================  ========================================================
  sign_in, sign_out             {} (or {"method": ...})
  page_opened                   {"page": key}
  search                        {"terms": {...}} the terms exactly as typed
  results_shown                 {"person_ids": [...]} (and "family_ids" when families)
  family_viewed                 {"family_id": ...}
  person_viewed                 {"person_id": ...}
  service_detail_opened         {"person_id": ..., "service": ...}
  download                      {"table": name, "rows": n, "role": role}
  clerical_decision             {"registration_l", "registration_r", "decision"}
  quickwin_mark                 {"family_id", "list", "mark", "model_version", "mark_id"}
  access_refused                {"page": key, "why": ...}
  reason_given                  {"reason_code": ..., "family_id"?: ...}
  purge                         written by purge() only
  ============================  ========================================================

How the chain works: row n stores the row_hash of row n-1 as its prev_hash (row 1: 64 zeros), and
its own row_hash = HMAC-SHA-256(key, prev_hash + "\\n" + canonical JSON of its seq, time, kind,
user, role, session, reason and detail). Editing a row breaks its own hash; deleting one breaks
the next row's link; rewriting and re-hashing the chain needs the key; cutting rows from the end
is caught against an anchor (`anchor()`, kept by the council elsewhere). prev_hash is UNIQUE, so
two writers can never both append after the same row; writes are also serialised (store.py).

A purge removes the rows before a date (retention: settings.yaml `audit.retention_years`) and
appends a `purge` row whose detail names the first row kept and the hash of the last row removed
(`base_hash`): verify() then starts the chain there, and the purge row itself is in the chain.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import random
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from data_model.settings import settings
from data_model.state.store import (
    StateStoreError,
    Store,
    audit_event,
    connect,
    first_line,
    guards_lifted,
)

KINDS: tuple[str, ...] = (
    "sign_in",
    "sign_out",
    "page_opened",
    "search",
    "results_shown",
    "family_viewed",
    "person_viewed",
    "service_detail_opened",
    "download",
    "clerical_decision",
    "quickwin_mark",
    "access_refused",
    "reason_given",
    "purge",
)

# Row 1's previous hash: nothing came before it.
GENESIS = "0" * 64

# The synthetic demo's key: public, so a trail written with it proves nothing. Never for a model
# built from a council's extracts (open_store allows it only with demo=True).
DEMO_KEY = "families-first-insight: synthetic demo only; this key is public"
MIN_KEY_LENGTH = 32
KEY_ENV = "FFI_AUDIT_KEY"

# A writer that lost a race for the head (the UNIQUE prev_hash refused it) or met a busy
# database tries again this many times.
WRITE_ATTEMPTS = 20


class AuditError(StateStoreError):
    """Something about the audit trail went wrong; str(error) is one line, no personal data."""


class AuditWriteError(AuditError):
    """An event could not be written: show nothing person-level, and say so."""


class AuditKeyError(AuditWriteError):
    """No usable audit key: the trail is not written without one."""


# --- Opening ---------------------------------------------------------------------------------


def open_store(
    model_path: Path | None,
    url: str | None = None,
    *,
    key: str | None = None,
    demo: bool = False,
) -> Store:
    """The state database for the model at model_path (or at `url`), ready to record events.

    Cache the result per process (st.cache_resource in the app): it holds a connection pool.
    """
    try:
        store = connect(model_path, url)
    except StateStoreError as error:
        raise AuditWriteError(str(error)) from error
    given = key if key is not None else os.environ.get(KEY_ENV)
    if given:
        if len(given) < MIN_KEY_LENGTH:
            raise AuditKeyError(
                f"the audit key must be at least {MIN_KEY_LENGTH} characters (make one with "
                'python -c "import secrets; print(secrets.token_hex(32))")'
            )
        store.key = given.encode("utf-8")
    elif demo:
        store.key, store.demo_key = DEMO_KEY.encode("utf-8"), True
    return store


# --- Writing ---------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same object always gives the same text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_value
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy and pandas scalars
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} cannot go into an audit record")


def row_content(row: Mapping[str, Any]) -> str:
    """The canonical text a row's hash covers: everything but the hashes themselves."""
    return canonical_json(
        {
            "seq": int(row["seq"]),
            "at": row["at_utc"],
            "kind": row["kind"],
            "user": row["user_id"],
            "role": row["role"],
            "session": row["session_id"],
            "reason": row["reason"],
            "detail": row["detail"],
        }
    )


def row_hash(key: bytes, prev_hash: str, content: str) -> str:
    return hmac.new(key, f"{prev_hash}\n{content}".encode(), hashlib.sha256).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _append(conn: Connection, key: bytes, event: dict[str, Any]) -> dict[str, Any]:
    """Append one event after the current head, inside a write transaction; returns the row."""
    head = conn.execute(
        select(audit_event.c.seq, audit_event.c.row_hash)
        .order_by(audit_event.c.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (head.seq + 1, head.row_hash) if head else (1, GENESIS)
    row = {"seq": seq, "at_utc": _now(), **event, "prev_hash": prev}
    row["row_hash"] = row_hash(key, prev, row_content(row))
    conn.execute(audit_event.insert().values(**row))
    return row


def _event(
    kind: str,
    user: str,
    role: str | None,
    session: str,
    reason: str | None,
    detail: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown audit event kind {kind!r} (one of {', '.join(KINDS)})")
    if not isinstance(user, str) or not user.strip():
        raise ValueError("an audit event needs the user who did it")
    if not isinstance(session, str) or not session:
        raise ValueError("an audit event needs the session it happened in")
    if detail is not None and not isinstance(detail, Mapping):
        raise ValueError("an audit event's detail is a mapping (a JSON object)")
    return {
        "kind": kind,
        "user_id": user,
        "role": role,
        "session_id": session,
        "reason": reason,
        "detail": canonical_json(dict(detail or {})),
    }


def write_with(store: Store, work, *, attempts: int = WRITE_ATTEMPTS):  # noqa: ANN001, ANN201
    """Run work(conn) in a write transaction, again if another writer won the head (the UNIQUE
    prev_hash refused the row) or the database was busy; AuditWriteError when it cannot."""
    if store.key is None:
        raise AuditKeyError(
            "no audit key is configured ([audit] key in the app's secrets, FFI_AUDIT_KEY on the "
            "command line): nothing person-level is shown until the trail can be written"
        )
    last: SQLAlchemyError | None = None
    for attempt in range(attempts):
        try:
            with store.writing() as conn:
                return work(conn)
        except (IntegrityError, OperationalError) as error:
            last = error
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # apart, not in step
        except SQLAlchemyError as error:
            raise AuditWriteError(
                f"the audit trail in {store.where} could not be written: {first_line(error)}"
            ) from error
    assert last is not None
    raise AuditWriteError(
        f"the audit trail in {store.where} could not be written: {first_line(last)}"
    ) from last


def record(
    store: Store,
    kind: str,
    *,
    user: str,
    role: str | None,
    session: str,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Write one audit event (see the module's docstring for each kind's detail). Raises
    AuditWriteError when it cannot: the caller then shows nothing person-level."""
    try:
        event = _event(kind, user, role, session, reason, detail)
    except TypeError as error:  # a detail value JSON cannot hold: the caller's mistake
        raise ValueError(str(error)) from error
    write_with(store, lambda conn: _append(conn, store.key, event))


def record_in(
    conn: Connection,
    store: Store,
    kind: str,
    *,
    user: str,
    role: str | None,
    session: str,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """record() inside a write transaction the caller holds (write_with), so that an event and
    what it records (a clerical decision) are written together or not at all."""
    assert store.key is not None
    return _append(conn, store.key, _event(kind, user, role, session, reason, detail))


# --- Checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The head of the trail at one moment, kept by the council away from the database."""

    head_seq: int
    head_hash: str
    rows: int
    taken_at: str

    def to_json(self) -> str:
        return json.dumps(
            {"head_seq": self.head_seq, "head_hash": self.head_hash, "rows": self.rows,
             "taken_at": self.taken_at}, indent=2,
        ) + "\n"  # fmt: skip

    @classmethod
    def read(cls, path: Path) -> Anchor:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(int(data["head_seq"]), str(data["head_hash"]), int(data["rows"]),
                       str(data.get("taken_at", "")))  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AuditError(f"{path}: not an audit anchor file ({error})") from error


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int  # rows checked
    first_seq: int | None
    head_seq: int | None
    head_hash: str | None
    broken_seq: int | None = None  # the first row that fails
    problem: str = ""  # one line: which row and what is wrong
    notes: tuple[str, ...] = ()
    demo_key: bool = False

    def message(self) -> str:
        if not self.ok:
            return f"audit trail broken: {self.problem}"
        if not self.rows:
            return "audit trail empty: nothing to check"
        said = (
            f"audit trail intact: {self.rows:,} rows (rows {self.first_seq:,} to "
            f"{self.head_seq:,}), head {self.head_hash}"
        )
        return "; ".join([said, *self.notes])


def _latest_purge(conn: Connection) -> dict[str, Any] | None:
    found = conn.execute(
        select(audit_event.c.seq, audit_event.c.detail)
        .where(audit_event.c.kind == "purge")
        .order_by(audit_event.c.seq.desc())
        .limit(1)
    ).first()
    return {"seq": found.seq, **json.loads(found.detail)} if found else None


def verify(store: Store, anchor: Anchor | None = None, *, batch: int = 5_000) -> Verification:
    """Check every row's link and keyed hash in order, the chain's start (row 1, or where the
    latest purge says it now starts) and, with an anchor, that the anchored head is still there.
    Names the first row that fails."""
    if store.key is None:
        raise AuditKeyError("the audit trail cannot be checked without its key (FFI_AUDIT_KEY)")
    key = store.key
    columns = [c for c in audit_event.c]
    notes: list[str] = []
    with store.reading() as conn:
        purge = _latest_purge(conn)
        rows, first_seq = 0, None
        expected_seq, expected_prev = None, None
        last: Any = None
        anchored_hash = None
        result = conn.execution_options(yield_per=batch).execute(
            select(*columns).order_by(audit_event.c.seq)
        )
        broken: tuple[int, str] | None = None
        for row in result.mappings():
            seq = row["seq"]
            if first_seq is None:
                first_seq = seq
                if purge is not None and purge["seq"] >= seq:
                    start_seq, start_prev = purge["first_kept_seq"], purge["base_hash"]
                    why = f"where the purge at row {purge['seq']:,} says the trail starts"
                else:
                    start_seq, start_prev, why = 1, GENESIS, "the trail's first row"
                if seq != start_seq:
                    broken = (
                        start_seq,
                        (f"missing (deleted): it is {why}, but the trail starts at row {seq:,}"),
                    )
                    break
                expected_seq, expected_prev = seq, start_prev
            if seq != expected_seq:
                broken = (
                    expected_seq,
                    (f"missing (deleted): the rows jump from {expected_seq - 1:,} to {seq:,}"),
                )
                break
            if row["prev_hash"] != expected_prev:
                broken = (
                    seq,
                    (
                        "its link to the row before does not match (the row before it was deleted, "
                        "replaced or edited)"
                    ),
                )
                break
            expected_hash = row_hash(key, expected_prev, row_content(row))
            if not hmac.compare_digest(row["row_hash"], expected_hash):
                broken = (
                    seq,
                    ("its content does not match its hash (edited, or re-hashed without the key)"),
                )
                break
            if anchor is not None and seq == anchor.head_seq:
                anchored_hash = row["row_hash"]
            rows += 1
            last = row
            expected_seq, expected_prev = seq + 1, row["row_hash"]
        result.close()
    head_seq = last["seq"] if last else None
    head_hash = last["row_hash"] if last else None
    if broken is not None:
        at, problem = broken
        return Verification(
            False, rows, first_seq, head_seq, head_hash, at, f"row {at:,}: {problem}",
            demo_key=store.demo_key,
        )  # fmt: skip
    if first_seq is None and purge is None and anchor is None:
        return Verification(True, 0, None, None, None, demo_key=store.demo_key)
    if anchor is not None:
        if anchored_hash is None:
            if head_seq is None or anchor.head_seq > head_seq:
                ends = f"row {head_seq:,}" if head_seq else "no rows at all"
                return Verification(
                    False, rows, first_seq, head_seq, head_hash, (head_seq or 0) + 1,
                    f"row {(head_seq or 0) + 1:,}: rows were cut from the end: the anchor of "
                    f"{anchor.taken_at or 'an earlier day'} has its head at row "
                    f"{anchor.head_seq:,}, but the trail ends at {ends}",
                )  # fmt: skip
            notes.append(
                f"the anchor's head, row {anchor.head_seq:,}, has since been purged as older "
                "than the retention period: take a new anchor"
            )
        elif anchored_hash != anchor.head_hash:
            return Verification(
                False, rows, first_seq, head_seq, head_hash, anchor.head_seq,
                f"row {anchor.head_seq:,}: its hash is not the one the anchor of "
                f"{anchor.taken_at or 'an earlier day'} recorded (the chain was rewritten)",
            )  # fmt: skip
        else:
            notes.append(f"the anchor's head, row {anchor.head_seq:,}, matches")
    if store.demo_key:
        notes.append("keyed with the public demo key (synthetic demo only)")
    return Verification(
        True, rows, first_seq, head_seq, head_hash, notes=tuple(notes), demo_key=store.demo_key
    )


@dataclass(frozen=True)
class Head:
    rows: int
    first_seq: int | None
    head_seq: int | None
    head_hash: str | None
    head_at: str | None


def head(store: Store) -> Head:
    """The trail's size and head, without checking it (cheap)."""
    with store.reading() as conn:
        count, first, last = conn.execute(
            select(func.count(), func.min(audit_event.c.seq), func.max(audit_event.c.seq))
        ).one()
        top = conn.execute(
            select(audit_event.c.row_hash, audit_event.c.at_utc).where(audit_event.c.seq == last)
        ).first()
    return Head(count, first, last, top.row_hash if top else None, top.at_utc if top else None)


def anchor(store: Store) -> Anchor:
    """The trail's head now: write it to a file the council keeps elsewhere (verify(anchor=...)
    then detects rows cut from the end)."""
    now = head(store)
    if now.head_seq is None:
        raise AuditError("the audit trail is empty: there is no head to anchor")
    return Anchor(now.head_seq, now.head_hash or "", now.rows, _now())


# --- Export and purge ------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "seq", "at_utc", "kind", "user_id", "role", "session_id", "reason", "detail", "prev_hash",
    "row_hash",
)  # fmt: skip

# A cell a spreadsheet would run as a formula (OWASP's CSV injection list): search terms are typed
# by users, so the export makes them inert with a leading apostrophe, as the pages' downloads do.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def _day_start(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat(timespec="microseconds")


def export_csv(store: Store, start: date, end: date, out: Path) -> int:
    """The events from `start` to `end` (whole UTC days, both included) as CSV for the council's
    information governance team, with each row's hashes so it can be checked against the trail.
    The file is created readable by its owner only. Returns the number of rows."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    query = (
        select(*[audit_event.c[name] for name in EXPORT_COLUMNS])
        .where(audit_event.c.at_utc >= _day_start(start))
        .where(audit_event.c.at_utc < _day_start(end + timedelta(days=1)))
        .order_by(audit_event.c.seq)
    )
    written = 0
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with store.reading() as conn, open(descriptor, "w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        for row in conn.execution_options(yield_per=5_000).execute(query):
            writer.writerow([_inert(value) for value in row])
            written += 1
    return written


def retention_years() -> int:
    return int(settings()["audit"]["retention_years"])


def earliest_purge_date(today: date | None = None) -> date:
    """The latest --before date the retention period allows: rows younger stay."""
    today = today or datetime.now(UTC).date()
    years = retention_years()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


@dataclass(frozen=True)
class Purge:
    rows_removed: int
    first_kept_seq: int
    purge_seq: int


def purge(store: Store, before: date, *, user: str, session: str) -> Purge:
    """Remove the rows written before `before` (UTC) and record the purge in the chain.

    The rows removed are the oldest, up to the first row written on or after `before`. The purge
    row names the first row kept and carries the hash of the last row removed (base_hash), from
    which verify() starts the chain. Refuses a date the retention period does not allow yet.
    Needs the table owner's rights on PostgreSQL (the app's user cannot delete).
    """
    allowed = earliest_purge_date()
    if before > allowed:
        raise AuditError(
            f"rows are kept {retention_years()} years (settings.yaml audit.retention_years): "
            f"purge before {allowed:%d %b %Y} at the latest, not {before:%d %b %Y}"
        )
    cutoff = _day_start(before)

    def work(conn: Connection) -> Purge:
        first_new = conn.execute(
            select(func.min(audit_event.c.seq)).where(audit_event.c.at_utc >= cutoff)
        ).scalar()
        top = conn.execute(select(func.max(audit_event.c.seq))).scalar()
        if first_new is None:  # every row is older: the purge row will be the trail's only row
            first_new = (top or 0) + 1
        previous = conn.execute(
            select(audit_event.c.row_hash).where(audit_event.c.seq == first_new - 1)
        ).scalar()
        first_now = conn.execute(select(func.min(audit_event.c.seq))).scalar()
        if previous is None:  # nothing to remove: the chain keeps the start it has
            first_new = first_now or 1
            start = conn.execute(
                select(audit_event.c.prev_hash).where(audit_event.c.seq == first_new)
            ).scalar()
            base = start or GENESIS
        else:
            base = previous
        removed = 0
        if first_now is not None and first_new > first_now:
            with guards_lifted(conn, "audit_event"):
                removed = conn.execute(
                    audit_event.delete().where(audit_event.c.seq < first_new)
                ).rowcount
        row = record_in(
            conn,
            store,
            "purge",
            user=user,
            role="admin",
            session=session,
            reason=f"retention: {retention_years()} years",
            detail={
                "before": before.isoformat(),
                "rows_removed": removed,
                "first_kept_seq": first_new,
                "base_hash": base,
            },
        )
        return Purge(removed, first_new, row["seq"])

    return write_with(store, work, attempts=1)


# --- Reading for the Audit page --------------------------------------------------------------

# The detail fields that name a person or a family, for "who viewed whom".
PERSON_FIELDS = ("person_id", "person_ids")
FAMILY_FIELDS = ("family_id", "family_ids")
# The detail fields holding what a user typed to find someone (a search's terms: names, dates of
# birth, addresses), withheld from a view below person level (a manager's team view).
TYPED_FIELDS = ("terms",)
WITHHELD = "(withheld)"


def _ids(detail: Mapping[str, Any], fields: Iterable[str]) -> list[str]:
    found: list[str] = []
    for field in fields:
        value = detail.get(field)
        if value is None:
            continue
        found.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return found


def events(
    store: Store,
    *,
    start: date | None = None,
    end: date | None = None,
    users: Iterable[str] = (),
    kinds: Iterable[str] = (),
    person: str | None = None,
    team: Collection[str] | None = None,
    search_terms: bool = True,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Events newest first, filtered: UTC days `start` to `end` (both included), any of `users`,
    any of `kinds`, and those naming `person` (a person or family id in their detail). Each event
    has its detail parsed and `persons` / `families` listed. At most `limit` events.

    `team`: only events by these users, whatever the other filters say (a manager's view of their
    own team: an empty team sees no event); None, everyone's. `search_terms=False` withholds what
    users typed into searches (TYPED_FIELDS), which may be people's names or dates of birth."""
    if team is not None and not team:
        return []
    query = select(*audit_event.c).order_by(audit_event.c.seq.desc())
    if team is not None:
        query = query.where(audit_event.c.user_id.in_(sorted(team)))
    if start:
        query = query.where(audit_event.c.at_utc >= _day_start(start))
    if end:
        query = query.where(audit_event.c.at_utc < _day_start(end + timedelta(days=1)))
    users, kinds = list(users), list(kinds)
    if users:
        query = query.where(audit_event.c.user_id.in_(users))
    if kinds:
        query = query.where(audit_event.c.kind.in_(kinds))
    wanted = str(person).strip() if person else None
    if wanted:
        # Narrowed in SQL by the id's JSON text, then checked exactly below.
        as_json = json.dumps(wanted)[1:-1]
        query = query.where(audit_event.c.detail.contains(as_json, autoescape=True))
    out: list[dict[str, Any]] = []
    with store.reading() as conn:
        for row in conn.execution_options(yield_per=2_000).execute(query).mappings():
            detail = json.loads(row["detail"])
            persons = _ids(detail, PERSON_FIELDS)
            families = _ids(detail, FAMILY_FIELDS)
            if wanted and wanted not in persons and wanted not in families:
                continue
            if not search_terms:
                detail = {k: WITHHELD if k in TYPED_FIELDS else v for k, v in detail.items()}
            out.append({**row, "detail": detail, "persons": persons, "families": families})
            if len(out) >= limit:
                break
    return out


def users(store: Store, team: Collection[str] | None = None) -> list[str]:
    """Everyone who appears in the trail (of `team` only, when given), for the Audit page's
    filter."""
    if team is not None and not team:
        return []
    query = select(audit_event.c.user_id).distinct().order_by(audit_event.c.user_id)
    if team is not None:
        query = query.where(audit_event.c.user_id.in_(sorted(team)))
    with store.reading() as conn:
        return [u for (u,) in conn.execute(query)]


# Person-level events: those that show or name people, for "who viewed whom".
PERSON_LEVEL_KINDS = (
    "search",
    "results_shown",
    "family_viewed",
    "person_viewed",
    "service_detail_opened",
    "download",
)

EVENT_COLUMNS = (
    "seq", "at_utc", "kind", "user_id", "role", "reason", "whom", "detail", "session_id",
)  # fmt: skip


def event_table(
    store: Store, *, team: Collection[str] | None = None, search_terms: bool = True, **filters: Any
) -> pd.DataFrame:
    """events() as a table for the Audit page, newest first: `at_utc` as a UTC time, `whom` the
    persons and families the event names (P1, family 12), `detail` as canonical JSON text. Only
    `team`'s events when given (see events()), search terms withheld unless `search_terms`."""
    found = events(store, team=team, search_terms=search_terms, **filters)
    frame = pd.DataFrame(
        [
            {
                **{name: event[name] for name in EVENT_COLUMNS if name in event},
                "at_utc": pd.Timestamp(event["at_utc"]).tz_convert("UTC").tz_localize(None),
                "whom": ", ".join([*event["persons"], *(f"family {f}" for f in event["families"])]),
                "detail": canonical_json(event["detail"]),
            }
            for event in found
        ],
        columns=list(EVENT_COLUMNS),
    )
    return frame


def viewed_table(
    store: Store, *, team: Collection[str] | None = None, **filters: Any
) -> pd.DataFrame:
    """Who viewed whom: one row per person or family named by a person-level event (a results
    list of 20 persons gives 20 rows), newest first, with when, the kind of view and the reason.
    Only `team`'s events when given (see events())."""
    filters.setdefault("kinds", PERSON_LEVEL_KINDS)
    wanted = str(filters["person"]).strip() if filters.get("person") else None
    rows = []
    for event in events(store, team=team, **filters):
        named = [("person", p) for p in event["persons"]]
        named += [("family", f) for f in event["families"]]
        for what, who in named:
            if wanted and who != wanted:  # the one asked about, not the rest of its list
                continue
            rows.append(
                {
                    "at_utc": pd.Timestamp(event["at_utc"]).tz_convert("UTC").tz_localize(None),
                    "user_id": event["user_id"],
                    "role": event["role"],
                    "viewed": f"{what} {who}",
                    "kind": event["kind"],
                    "reason": event["reason"],
                    "seq": event["seq"],
                }
            )
    return pd.DataFrame(
        rows, columns=["at_utc", "user_id", "role", "viewed", "kind", "reason", "seq"]
    )
