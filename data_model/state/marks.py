"""Analysts' marks on the quick-wins lists, kept in the application-state database: the human
decision beside every family the ranking flags.

A mark says what a person decided about one family in one list ("attached": a family to push;
"unreferred": an eligible family nobody has referred): referred or pushed, or not appropriate
with a reason. Each is a row of quickwin_mark (appended; the latest on a family in a list
counts), attributed to the user and audited (a quickwin_mark event written in the same
transaction: both or neither), with the ranking version and rank the family was seen at and the
as-at date of its data, so the model card can say how often the ranking was followed and how the
families fared after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import Connection, func, select

from data_model.state import audit
from data_model.state.store import Store, quickwin_mark

PUSHED = "pushed"
NOT_APPROPRIATE = "not_appropriate"
MARKS = {PUSHED: "Referred or pushed", NOT_APPROPRIATE: "Not appropriate"}
LISTS = ("attached", "unreferred")
REASON_MAX_CHARACTERS = 300
MARK_COLUMNS = ["mark_id", "family_key", "list_name", "mark", "reason", "model_version", "rank",
                "data_as_at", "marked_at", "marked_by", "role"]  # fmt: skip


@dataclass(frozen=True)
class Mark:
    mark_id: int
    family_key: str
    list_name: str
    mark: str
    reason: str | None
    model_version: str | None
    rank: int | None
    data_as_at: str | None
    marked_at: str
    marked_by: str


def problem_with(family_key: str, list_name: str, mark: str, reason: str | None) -> str | None:
    """Why this is not a mark that can be saved, in words; None when it is one."""
    if not family_key.strip():
        return "no family given"
    if list_name not in LISTS:
        return f"no such list: {list_name!r}"
    if mark not in MARKS:
        return f"no such mark: {mark!r} (one of {', '.join(MARKS)})"
    reason = (reason or "").strip()
    if mark == NOT_APPROPRIATE and not reason:
        return "say in a few words why it is not appropriate"
    if len(reason) > REASON_MAX_CHARACTERS:
        return f"the reason is longer than {REASON_MAX_CHARACTERS} characters"
    return None


def record_mark(
    store: Store,
    family_key: str,
    list_name: str,
    mark: str,
    *,
    reason: str | None = None,
    model_version: str | None = None,
    rank: int | None = None,
    data_as_at: date | None = None,
    user: str,
    role: str | None,
    session: str,
    access_reason: str | None = None,
) -> Mark:
    """Save a person's mark on a family, with its quickwin_mark audit event (the reason for a
    'not appropriate' stays in the mark's row, not in the event). Raises ValueError for a mark
    that is not one, and audit.AuditWriteError when it cannot be saved (nothing is saved then)."""
    family_key, reason = family_key.strip(), (reason or "").strip() or None
    problem = problem_with(family_key, list_name, mark, reason)
    if problem:
        raise ValueError(problem)
    at = datetime.now(UTC).isoformat(timespec="seconds")

    def work(conn: Connection) -> Mark:
        mark_id = (conn.execute(select(func.max(quickwin_mark.c.mark_id))).scalar() or 0) + 1
        made = Mark(mark_id, family_key, list_name, mark, reason, model_version,
                    None if rank is None else int(rank),
                    data_as_at.isoformat() if data_as_at else None, at, user)  # fmt: skip
        conn.execute(
            quickwin_mark.insert().values(
                mark_id=made.mark_id, family_key=made.family_key, list_name=made.list_name,
                mark=made.mark, reason=made.reason, model_version=made.model_version,
                rank=made.rank, data_as_at=made.data_as_at, marked_at=made.marked_at,
                marked_by=made.marked_by, role=role,
            )
        )  # fmt: skip
        audit.record_in(
            conn, store, "quickwin_mark", user=user, role=role, session=session,
            reason=access_reason, detail={"family_id": family_key, "list": list_name,
                                          "mark": mark, "model_version": model_version,
                                          "mark_id": made.mark_id},
        )  # fmt: skip
        return made

    return audit.write_with(store, work)


def mark_history(store: Store) -> pd.DataFrame:
    """Every mark ever made, oldest first (MARK_COLUMNS)."""
    with store.reading() as conn:
        rows = conn.execute(
            select(*[quickwin_mark.c[name] for name in MARK_COLUMNS]).order_by(
                quickwin_mark.c.mark_id
            )
        ).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=MARK_COLUMNS)
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


def latest_marks(store: Store) -> pd.DataFrame:
    """The mark in force on each family in each list (the latest), MARK_COLUMNS."""
    history = mark_history(store)
    return (
        history.drop_duplicates(["family_key", "list_name"], keep="last")
        .sort_values("mark_id")
        .reset_index(drop=True)
    )
