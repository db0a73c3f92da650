"""Analysts' clerical decisions on pairs of registrations: a CSV file beside the model that every
build reads and none writes."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# The clerical decisions file lives beside the model, outside it, so rebuilding never loses it.
DECISIONS_FILE_NAME = "linkage_decisions.csv"
DECISION_COLUMNS = ("registration_l", "registration_r", "decision", "decided_at", "decided_by")
ACCEPT, REJECT = "same person", "different people"


def pair_key(registration_a: str, registration_b: str) -> tuple[str, str]:
    """A pair of registrations in one order, whichever way round it was given."""
    return (min(registration_a, registration_b), max(registration_a, registration_b))


@dataclass(frozen=True)
class Decision:
    registration_l: str
    registration_r: str
    decision: str  # ACCEPT or REJECT
    decided_at: str = ""
    decided_by: str = ""

    @property
    def pair(self) -> tuple[str, str]:
        return pair_key(self.registration_l, self.registration_r)


def read_decisions(path: Path | None) -> list[Decision]:
    """Decisions in file order; a later decision on the same pair replaces an earlier one."""
    if path is None or not Path(path).exists():
        return []
    latest: dict[tuple[str, str], Decision] = {}
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if row.get("decision") not in (ACCEPT, REJECT):
                continue
            decision = Decision(
                row["registration_l"],
                row["registration_r"],
                row["decision"],
                row.get("decided_at", ""),
                row.get("decided_by", ""),
            )
            latest[decision.pair] = decision
    return list(latest.values())


def record_decision(
    path: Path, registration_l: str, registration_r: str, decision: str, decided_by: str = ""
) -> Decision:
    """Append an analyst's decision; the next build honours it (and every build after)."""
    if decision not in (ACCEPT, REJECT):
        raise ValueError(f"decision must be {ACCEPT!r} or {REJECT!r}, not {decision!r}")
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    new_file = not path.exists()
    made = Decision(
        registration_l,
        registration_r,
        decision,
        datetime.now().isoformat(timespec="seconds"),
        decided_by,
    )
    # Created readable by its owner only: a decision names two people's records.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(descriptor, "a", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        if new_file:
            writer.writerow(DECISION_COLUMNS)
        writer.writerow([getattr(made, column) for column in DECISION_COLUMNS])
    return made
