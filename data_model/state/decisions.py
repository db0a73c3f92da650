"""Analysts' clerical linkage decisions, kept in the application-state database.

Each decision is a row of linkage_decision (appended; the latest on a pair counts), attributed
to the user who made it and audited (a clerical_decision event, written in the same transaction:
both or neither). Every build reads them (read_for_build) and honours them. Two analysts deciding
at once cannot overwrite each other, as they could the CSV file this replaces; that file is
imported once with `python -m data_model decisions import FILE`, and a build that finds an
un-imported linkage_decisions.csv beside the model stops and says so, so no decision is lost.

The rules are data_model.linkage.decisions': what a decision is, and which decisions a build
cannot use (DecisionProblem); this module only stores and reads them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from data_model.linkage.decisions import (
    DECISIONS_FILE_NAME,
    Decision,
    DecisionProblem,
    DecisionsFile,
    DecisionsFileError,
    load_decisions,
    problem_with,
)
from data_model.state import audit
from data_model.state.store import (
    StateStoreError,
    Store,
    connect,
    first_line,
    linkage_decision,
    sqlite_file,
)


def _next_id(conn: Connection) -> int:
    return (conn.execute(select(func.max(linkage_decision.c.decision_id))).scalar() or 0) + 1


def record_decision(
    store: Store,
    registration_l: str,
    registration_r: str,
    decision: str,
    *,
    user: str,
    role: str | None,
    session: str,
    reason: str | None = None,
) -> Decision:
    """Save an analyst's decision, with its clerical_decision audit event; the next build honours
    it (and every build after). Raises ValueError for a decision that is not one, and
    audit.AuditWriteError when it cannot be saved (nothing is saved then)."""
    registration_l, registration_r = registration_l.strip(), registration_r.strip()
    problem = problem_with(registration_l, registration_r, decision)
    if problem:
        raise ValueError(problem)
    made = Decision(
        registration_l,
        registration_r,
        decision,
        datetime.now().isoformat(timespec="seconds"),  # local time, as the CSV file had it
        user,
    )

    def work(conn: Connection) -> None:
        conn.execute(
            linkage_decision.insert().values(
                decision_id=_next_id(conn),
                registration_l=made.registration_l,
                registration_r=made.registration_r,
                decision=made.decision,
                decided_at=made.decided_at,
                decided_by=made.decided_by,
                origin="app",
            )
        )
        audit.record_in(
            conn, store, "clerical_decision", user=user, role=role, session=session,
            reason=reason, detail={"registration_l": made.registration_l,
                                   "registration_r": made.registration_r,
                                   "decision": made.decision},
        )  # fmt: skip

    audit.write_with(store, work)
    return made


def load_stored(store: Store) -> DecisionsFile:
    """Every stored decision (the latest on each pair counts) and any that cannot be used, with
    its decision number as the line (rows are checked when written; this catches rows put in the
    database by other means)."""
    latest: dict[tuple[str, str], Decision] = {}
    problems: list[DecisionProblem] = []
    names = ("decision_id", "registration_l", "registration_r", "decision", "decided_at",
             "decided_by")  # fmt: skip
    columns = [linkage_decision.c[name] for name in names]
    with store.reading() as conn:
        rows = conn.execute(select(*columns).order_by(linkage_decision.c.decision_id)).all()
    for number, left, right, decision, decided_at, decided_by in rows:
        left, right, decision = (left or "").strip(), (right or "").strip(), decision or ""
        problem = problem_with(left, right, decision)
        if problem:
            problems.append(DecisionProblem(number, left, right, decision, problem))
            continue
        made = Decision(left, right, decision, decided_at or "", decided_by or "")
        latest[made.pair] = made
    return DecisionsFile(list(latest.values()), problems)


def read_decisions(store: Store) -> list[Decision]:
    """The decisions in force, oldest first (the latest on each pair)."""
    return load_stored(store).decisions


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _imported_digests(store: Store) -> set[str]:
    with store.reading() as conn:
        origins = conn.execute(
            select(linkage_decision.c.origin)
            .where(linkage_decision.c.origin.like("import %"))
            .distinct()
        ).scalars()
        return {origin.rsplit(" ", 1)[-1] for origin in origins}


@dataclass(frozen=True)
class Imported:
    path: Path
    decisions: int  # rows added to the state database
    already: bool  # the same file was imported before: nothing added


def import_csv(store: Store, path: Path, *, user: str, session: str) -> Imported:
    """Import a linkage_decisions.csv (the file analysts kept before): every decision with the
    time and reviewer it was saved with, and one clerical_decision audit event saying who imported
    what. A file with a row that is not a decision is refused whole (DecisionsFileError naming the
    line), so nothing is half-imported; importing the same file again adds nothing."""
    path = Path(path)
    if not path.exists():
        raise DecisionsFileError(f"{path}: no such file")
    read = load_decisions(path)
    if read.problems:
        first = read.problems[0]
        more = len(read.problems) - 1
        raise DecisionsFileError(
            f"{path}, line {first.line}: {first.problem}"
            + (f" (and {more} more such rows)" if more else "")
            + ": mend or remove these rows, then import again; nothing was imported"
        )
    digest = _digest(path)
    if digest in _imported_digests(store):
        return Imported(path, 0, True)
    rows = read.history  # every decision row, in file order: a pair's history is kept
    origin = f"import {path.name} sha256 {digest}"

    def work(conn: Connection) -> int:
        first_id = _next_id(conn)
        if rows:
            conn.execute(
                linkage_decision.insert(),
                [
                    {
                        "decision_id": first_id + i,
                        "registration_l": d.registration_l,
                        "registration_r": d.registration_r,
                        "decision": d.decision,
                        "decided_at": d.decided_at,
                        "decided_by": d.decided_by,
                        "origin": origin,
                    }
                    for i, d in enumerate(rows)
                ],
            )
        audit.record_in(
            conn, store, "clerical_decision", user=user, role=None, session=session,
            reason="import of the clerical decisions file",
            detail={"imported_from": path.name, "sha256": digest, "decisions": len(rows)},
        )  # fmt: skip
        return len(rows)

    return Imported(path, audit.write_with(store, work), False)


def read_for_build(model_path: Path, url: str | None = None) -> DecisionsFile:
    """The decisions a build honours: from the state database at `url`, else app_state.sqlite
    beside the model being built (none when there is none yet). A linkage_decisions.csv beside the
    model that was never imported stops the build (DecisionsFileError) rather than being ignored.
    """
    legacy = Path(model_path).with_name(DECISIONS_FILE_NAME)
    file = sqlite_file(model_path, url)
    if file is not None and not file.exists():  # no state database yet: no decisions
        if legacy.exists():
            raise _not_imported(legacy)
        return DecisionsFile([], [])
    try:
        store = connect(model_path, url, create=False)
        try:
            if legacy.is_file() and _digest(legacy) not in _imported_digests(store):
                raise _not_imported(legacy)
            return load_stored(store)
        finally:
            store.dispose()
    except (StateStoreError, SQLAlchemyError) as error:
        where = file or "the state database"
        raise DecisionsFileError(
            f"{where}: the clerical decisions cannot be read ({first_line(error)})"
        ) from error


def _not_imported(legacy: Path) -> DecisionsFileError:
    return DecisionsFileError(
        f"{legacy}: clerical decisions are now kept in the state database beside the model; "
        f"import this file once with: python -m data_model decisions import {legacy}"
    )
