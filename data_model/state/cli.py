"""`python -m data_model audit ...` and `python -m data_model decisions ...`: the audit trail and
the clerical decisions in the application-state database, from the command line.

Which database: --state-url (or FFI_STATE_URL), else app_state.sqlite beside --model (or
FFI_MODEL). The audit key: FFI_AUDIT_KEY; --demo-key uses the public demo key, and only for a
model built from the synthetic generator. Bad input (a date that is not one, an unreadable anchor
or decisions file, no key) is one line on stderr and exit code 2; so is a broken chain.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from pathlib import Path

from data_model.linkage.decisions import DecisionsFileError
from data_model.state import audit
from data_model.state import decisions as stored_decisions
from data_model.state.store import Store, connect

EXIT_BAD_INPUT = 2
STATE_URL_ENV = "FFI_STATE_URL"
MODEL_ENV = "FFI_MODEL"

# The GRANTs a PostgreSQL app user needs (and all it should have): printed by `audit init`.
APP_GRANTS = (
    "GRANT CONNECT ON DATABASE {database} TO {user};",
    "GRANT USAGE ON SCHEMA public TO {user};",
    "GRANT SELECT, INSERT ON audit_event, linkage_decision TO {user};",
)


class _Refused(Exception):
    """A command that cannot go on: its message is the one line printed."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def _is_synthetic(model: Path) -> bool:
    """Whether the model says it was built from the synthetic generator (mart_model_info)."""
    import duckdb

    try:
        with duckdb.connect(str(model), read_only=True) as con:
            found = con.execute("select is_synthetic from mart_model_info limit 1").fetchone()
    except duckdb.Error:
        return False
    return bool(found and found[0])


def _open(args: argparse.Namespace) -> Store:
    url = args.state_url or os.environ.get(STATE_URL_ENV)
    model = args.model or (Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else None)
    if not url and model is None:
        raise _Refused("say where the state database is: --model MODEL_FILE or --state-url URL")
    demo = getattr(args, "demo_key", False)
    if demo and (model is None or not _is_synthetic(model)):
        raise _Refused(
            "--demo-key is only for the synthetic demo: the model given was not built from the "
            "synthetic generator"
        )
    return audit.open_store(model, url, demo=demo)


def _actor() -> tuple[str, str]:
    """Who runs the command (the operating system's user) and a session for this run."""
    return f"{getpass.getuser()} (command line)", f"cli-{os.getpid()}"


def verify_command(args: argparse.Namespace) -> int:
    store = _open(args)
    anchor = audit.Anchor.read(args.anchor) if args.anchor else None
    checked = audit.verify(store, anchor)
    if not checked.ok:
        print(f"error: {checked.message()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(checked.message())
    return 0


def anchor_command(args: argparse.Namespace) -> int:
    store = _open(args)
    taken = audit.anchor(store)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(taken.to_json(), encoding="utf-8")
    print(
        f"wrote {args.out}: head row {taken.head_seq:,} ({taken.rows:,} rows), hash "
        f"{taken.head_hash}. Keep it away from the database (e.g. with the council's "
        "information governance team); `audit verify --anchor` checks the trail against it."
    )
    return 0


def export_command(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise _Refused(f"--to {args.end} is before --from {args.start}")
    store = _open(args)
    rows = audit.export_csv(store, args.start, args.end, args.out)
    print(
        f"wrote {args.out}: {rows:,} audit events from {args.start:%d %b %Y} to {args.end:%d %b %Y}"
    )
    return 0


def purge_command(args: argparse.Namespace) -> int:
    before = args.before or audit.earliest_purge_date()
    store = _open(args)
    user, session = _actor()
    done = audit.purge(store, before, user=user, session=session)
    print(
        f"purged {done.rows_removed:,} audit events written before {before:%d %b %Y}; the trail "
        f"now starts at row {done.first_kept_seq:,}, and the purge is row {done.purge_seq:,}"
    )
    return 0


def init_command(args: argparse.Namespace) -> int:
    url = args.state_url or os.environ.get(STATE_URL_ENV)
    model = args.model or (Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else None)
    if not url and model is None:
        raise _Refused("say where the state database is: --model MODEL_FILE or --state-url URL")
    store = connect(model, url)
    print(f"the state database {store.where} has its tables and append-only triggers")
    if store.dialect == "postgresql":
        database = store.engine.url.database or "DATABASE"
        print("Give the app's own database user these rights, and no others:")
        for grant in APP_GRANTS:
            print("  " + grant.format(database=database, user=args.app_user))
    return 0


def import_command(args: argparse.Namespace) -> int:
    store = _open(args)
    user, session = _actor()
    done = stored_decisions.import_csv(store, args.file, user=user, session=session)
    if done.already:
        print(f"{args.file} was imported before: nothing added")
    else:
        print(
            f"imported {done.decisions:,} clerical decisions from {args.file} into {store.where}; "
            "the next build honours them (the file is no longer read and may be archived)"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    """Run a state command, turning its refusals into one line and exit code 2."""
    try:
        return args.state_run(args)
    except (_Refused, audit.AuditError, DecisionsFileError, OSError) as error:
        text = f"{error.filename}: {error.strerror}" if isinstance(error, OSError) else str(error)
        print(f"error: {text}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _where(parser: argparse.ArgumentParser, demo: bool = True) -> None:
    parser.add_argument(
        "--model",
        type=Path,
        help="the model file; the state database is app_state.sqlite beside it (default: "
        "FFI_MODEL)",
    )
    parser.add_argument(
        "--state-url",
        help="the state database's URL, e.g. postgresql://user@host/db (default: FFI_STATE_URL)",
    )
    if demo:
        parser.add_argument(
            "--demo-key",
            action="store_true",
            help="use the public demo key (a synthetic model's trail only); otherwise the key is "
            "FFI_AUDIT_KEY",
        )


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `audit` and `decisions` commands, under `python -m data_model`."""
    trail = commands.add_parser("audit", help="check, anchor, export or purge the audit trail")
    trail.set_defaults(run=run)
    actions = trail.add_subparsers(dest="audit_command", required=True)

    verify = actions.add_parser("verify", help="check the chain; names the first broken row")
    _where(verify)
    verify.add_argument("--anchor", type=Path, help="an anchor file from `audit anchor`")
    verify.set_defaults(state_run=verify_command)

    anchor = actions.add_parser("anchor", help="write the trail's head to a file kept elsewhere")
    _where(anchor)
    anchor.add_argument("--out", type=Path, required=True)
    anchor.set_defaults(state_run=anchor_command)

    export = actions.add_parser("export", help="events between two dates as CSV")
    _where(export)
    export.add_argument("--from", dest="start", type=_day, required=True, help="YYYY-MM-DD")
    export.add_argument("--to", dest="end", type=_day, required=True, help="YYYY-MM-DD")
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.set_defaults(state_run=export_command)

    purge = actions.add_parser(
        "purge", help="remove events older than the retention period (settings.yaml)"
    )
    _where(purge)
    purge.add_argument(
        "--before",
        type=_day,
        help="remove events before this day (default, and latest allowed: today less the "
        "retention period)",
    )
    purge.set_defaults(state_run=purge_command)

    init = actions.add_parser(
        "init", help="make the state database's tables (PostgreSQL: as its owner) and show GRANTs"
    )
    _where(init, demo=False)
    init.add_argument("--app-user", default="ffi_app", help="the app's database user")
    init.set_defaults(state_run=init_command)

    decisions = commands.add_parser("decisions", help="clerical linkage decisions")
    decisions.set_defaults(run=run)
    actions = decisions.add_subparsers(dest="decisions_command", required=True)
    imports = actions.add_parser(
        "import", help="import a linkage_decisions.csv into the state database, once"
    )
    imports.add_argument("file", type=Path)
    _where(imports)
    imports.set_defaults(state_run=import_command)
