"""The application-state database: where it is, its tables, and one writer at a time.

Apart from the DuckDB analysis model, which every build replaces and the app opens read-only,
the app keeps what it writes itself here: the audit trail, analysts' clerical decisions and their
marks on the quick-wins lists. By default a SQLite file beside the model (`app_state.sqlite`,
readable by its owner only); for a deployment with several app replicas, PostgreSQL by a
connection URL. SQLAlchemy speaks both
dialects; the few places they differ (starting a write, the append-only triggers) are here.

Writes are serialised so that two writers cannot both append after the same row: SQLite starts
every write with BEGIN IMMEDIATE (the file's write lock, taken before the head is read), and
PostgreSQL takes a transaction-scoped advisory lock. The audit table's UNIQUE previous-hash
column is the backstop: a writer that somehow raced would fail on it and try again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

# Beside the model file, outside it, so a rebuild never touches it.
STATE_FILE_NAME = "app_state.sqlite"

# The advisory lock every PostgreSQL writer takes ("FFIA" in ASCII): one writer at a time.
PG_WRITE_LOCK = 0x46464941

# Seconds a SQLite writer waits for another's write lock before giving up.
SQLITE_BUSY_SECONDS = 30

metadata = MetaData()

# One row per event. `seq` numbers rows 1, 2, 3... and is never reused (a purge removes the
# oldest rows; the chain goes on from the last of them). Times are UTC ISO text, stored exactly
# as they were hashed.
audit_event = Table(
    "audit_event",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_utc", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("user_id", Text, nullable=False),
    Column("role", Text),
    Column("session_id", Text, nullable=False),
    Column("reason", Text),
    Column("detail", Text, nullable=False),  # canonical JSON: sorted keys, no spaces
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("row_hash", String(64), nullable=False),
)
Index("audit_event_at", audit_event.c.at_utc)
Index("audit_event_user", audit_event.c.user_id)

# Analysts' clerical decisions on pairs of registrations, appended; the latest on a pair counts.
# `decision_id` is assigned under the write lock (not a database sequence), so the app's database
# user needs INSERT and SELECT only.
linkage_decision = Table(
    "linkage_decision",
    metadata,
    Column("decision_id", BigInteger, primary_key=True, autoincrement=False),
    Column("registration_l", Text, nullable=False),
    Column("registration_r", Text, nullable=False),
    Column("decision", String(40), nullable=False),
    Column("decided_at", String(40), nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("origin", Text, nullable=False),  # "app", or "import <file name> sha256 <digest>"
)

# Analysts' marks on the quick-wins lists (data_model/state/marks.py): a person's decision beside
# each family the ranking flags, appended; the latest on a family in a list counts.
quickwin_mark = Table(
    "quickwin_mark",
    metadata,
    Column("mark_id", BigInteger, primary_key=True, autoincrement=False),
    Column("family_key", Text, nullable=False),
    Column("list_name", String(40), nullable=False),  # attached, unreferred
    Column("mark", String(40), nullable=False),  # pushed, not_appropriate
    Column("reason", Text),  # why not appropriate (required then)
    Column("model_version", Text),  # the ranking the family was seen in (None: unranked)
    Column("rank", BigInteger),  # its rank in that ranking's whole list
    Column("data_as_at", String(10)),  # the as-at date (ISO) of the data it was seen in
    Column("marked_at", String(40), nullable=False),  # UTC ISO
    Column("marked_by", Text, nullable=False),
    Column("role", Text),
)
Index("quickwin_mark_family", quickwin_mark.c.family_key)

APPEND_ONLY_TABLES = ("audit_event", "linkage_decision", "quickwin_mark")

_SQLITE_GUARDS = (
    """create trigger if not exists {table}_no_update before update on {table}
       begin select raise(abort, '{table} is append-only: rows cannot be changed'); end""",
    """create trigger if not exists {table}_no_delete before delete on {table}
       begin select raise(abort, '{table} is append-only: rows cannot be deleted'); end""",
)
_PG_GUARD_FUNCTION = """
create or replace function ffi_append_only() returns trigger language plpgsql as $$
begin
    raise exception using
        message = tg_table_name || ' is append-only: rows cannot be changed or deleted';
end
$$
"""
_PG_GUARDS = (
    """create trigger {table}_append_only before update or delete on {table}
       for each row execute function ffi_append_only()""",
    """create trigger {table}_no_truncate before truncate on {table}
       for each statement execute function ffi_append_only()""",
)


class StateStoreError(RuntimeError):
    """The state database cannot be opened or its tables made; str(error) is one line with no
    personal data in it."""


@dataclass
class Store:
    """An open state database. `where` names it for people (a file path, or the URL without its
    password)."""

    engine: Engine
    where: str
    path: Path | None  # the SQLite file, or None for PostgreSQL
    key: bytes | None = None  # the audit key; without one the store can be read, not written
    demo_key: bool = False  # keyed with the public demo key (the synthetic demo only)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction; a database error comes out as StateStoreError (one line)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as error:
            raise StateStoreError(
                f"the state database {self.where} cannot be read: {first_line(error)}"
            ) from error

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One transaction as the only writer: the head read in it stays the head until commit."""
        with self.engine.connect() as conn:
            conn.execution_options(ffi_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(
                        text("select pg_advisory_xact_lock(:lock)"), {"lock": PG_WRITE_LOCK}
                    )
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def state_path(model_path: Path) -> Path:
    """The default state database: app_state.sqlite beside the model file."""
    return Path(model_path).with_name(STATE_FILE_NAME)


def sqlite_file(model_path: Path | None, url: str | None) -> Path | None:
    """The SQLite file the state database is (beside the model, or a sqlite:/// URL's), or None
    for a server database."""
    if not url:
        return state_path(model_path) if model_path is not None else None
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError):
        return None
    return Path(parsed.database or "") if parsed.get_backend_name() == "sqlite" else None


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": SQLITE_BUSY_SECONDS},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # noqa: ANN001 (SQLAlchemy's signature)
        # SQLAlchemy, not the sqlite3 module, starts transactions (BEGIN IMMEDIATE for writers).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers (the Audit page) never wait for a writer, nor a writer for them.
        cursor.execute("pragma journal_mode=wal")
        cursor.execute("pragma foreign_keys=on")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("ffi_write")
        conn.exec_driver_sql("begin immediate" if write else "begin")

    return engine


def _create_owner_only(path: Path) -> None:
    """Create the SQLite file readable and writable by its owner only (0600; its folder 0700 when
    made here): it holds who looked at whom, and decisions naming people's records. SQLite gives
    its -wal and -shm files the same permissions."""
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(descriptor)


def connect(model_path: Path | None, url: str | None = None, *, create: bool = True) -> Store:
    """Open the state database: `url` (a SQLAlchemy URL, e.g. postgresql+psycopg://...) when
    given, else app_state.sqlite beside the model. Makes its tables (and the append-only triggers)
    when they are missing and the database lets us; `create=False` opens an existing SQLite file
    only (returns a store whose tables may be absent)."""
    if url:
        try:
            parsed = make_url(url)
        except (SQLAlchemyError, ValueError) as error:
            raise StateStoreError("the state database URL cannot be read") from error
        if parsed.drivername == "postgresql":  # psycopg 3, not psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        where = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite":
            path = Path(parsed.database or "")
            if create:
                _create_owner_only(path)
            engine, store_path = _sqlite_engine(path), path
        else:
            engine, store_path = create_engine(parsed, pool_pre_ping=True), None
    else:
        if model_path is None:
            raise StateStoreError("no model path and no state database URL")
        path = state_path(model_path)
        if create:
            _create_owner_only(path)
        engine, store_path, where = _sqlite_engine(path), path, str(path)
    store = Store(engine, where, store_path)
    if create or store_path is None or store_path.exists():
        ensure_schema(store)
    return store


def ensure_schema(store: Store) -> None:
    """The tables and their append-only triggers, made when missing. A PostgreSQL app user with
    INSERT and SELECT only finds them made (by `python -m data_model audit init` as the owner)."""
    try:
        with store.writing() as conn:
            metadata.create_all(conn, checkfirst=True)
            if store.dialect == "sqlite":
                for table in APPEND_ONLY_TABLES:
                    for guard in _SQLITE_GUARDS:
                        conn.exec_driver_sql(guard.format(table=table))
            elif store.dialect == "postgresql":
                present = {
                    name
                    for (name,) in conn.execute(
                        text("select tgname from pg_trigger where not tgisinternal")
                    )
                }
                missing = [
                    guard.format(table=table)
                    for table in APPEND_ONLY_TABLES
                    for guard in _PG_GUARDS
                    if guard.split()[2].format(table=table) not in present
                ]
                if missing:
                    conn.exec_driver_sql(_PG_GUARD_FUNCTION)
                    for sql in missing:
                        conn.exec_driver_sql(sql)
    except SQLAlchemyError as error:
        raise StateStoreError(
            f"the state database {store.where} cannot be opened or its tables made: "
            f"{first_line(error)}"
        ) from error


@contextmanager
def guards_lifted(conn: Connection, table: str) -> Iterator[None]:
    """Within one write transaction, lift the append-only triggers on `table` and put them back
    (the purge's one permitted delete). Both dialects undo DDL with the transaction, so a purge
    that fails leaves the guards in place."""
    if conn.dialect.name == "sqlite":
        for which in ("update", "delete"):
            conn.exec_driver_sql(f"drop trigger if exists {table}_no_{which}")
        yield
        for guard in _SQLITE_GUARDS:
            conn.exec_driver_sql(guard.format(table=table))
    else:
        conn.exec_driver_sql(f"alter table {table} disable trigger {table}_append_only")
        yield
        conn.exec_driver_sql(f"alter table {table} enable trigger {table}_append_only")


def first_line(error: BaseException) -> str:
    """A database error's own first line, without the SQL or its parameters (which may hold
    search terms or record ids): safe for a log or a message."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:300]
