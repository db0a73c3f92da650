"""Analysts' clerical decisions on pairs of registrations: what a decision is, which decisions a
build cannot use and why (DecisionProblem), and the CSV file analysts kept before the decisions
moved into the application-state database (data_model.state.decisions stores them; this module's
load_decisions reads an old file for its one-off import)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

# The clerical decisions file analysts kept beside the model before the state database.
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


class DecisionsFileError(ValueError):
    """The decisions file cannot be read at all (a folder in its place, a wrong header, not text);
    str(error) is one line naming the file and what is wrong."""


@dataclass(frozen=True)
class DecisionProblem:
    """A decision the build could not use, and why: a bad row of the file, a registration that is
    not in the extracts, or a decision that contradicts others."""

    line: int | None  # the file's line, for a bad row
    registration_l: str
    registration_r: str
    decision: str
    problem: str


@dataclass
class DecisionsFile:
    decisions: list[Decision]  # usable decisions; a later one on the same pair replaces the earlier
    problems: list[DecisionProblem]
    history: list[Decision] = field(default_factory=list)  # every usable row, in order


def problem_with(registration_l: str, registration_r: str, decision: str) -> str | None:
    """Why a decision cannot be used (wherever it was kept), or None when it can."""
    if decision not in (ACCEPT, REJECT):
        return f"the decision {decision!r} is neither {ACCEPT!r} nor {REJECT!r}"
    if not registration_l or not registration_r:
        return "a registration is missing"
    if registration_l == registration_r:
        return "both sides are the same registration"
    return None


_REQUIRED = ("registration_l", "registration_r", "decision")


def _decoded(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise DecisionsFileError(f"{path}: not a text file (it holds NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # re-saved by Excel on Windows


def load_decisions(path: Path | None) -> DecisionsFile:
    """Every decision in the file, and the rows that could not be used (with their line)."""
    if path is None or not Path(path).exists():
        return DecisionsFile([], [])
    path = Path(path)
    if not path.is_file():
        raise DecisionsFileError(f"{path}: is not a file (the clerical decisions file is a CSV)")
    try:
        text = _decoded(path)
    except OSError as error:
        raise DecisionsFileError(f"{path}: cannot be read ({error.strerror or error})") from error
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in _REQUIRED if column not in header]
    if missing:
        raise DecisionsFileError(
            f"{path}: the header must name {', '.join(_REQUIRED)}; it has "
            f"{', '.join(header) or 'nothing'} (missing {', '.join(missing)})"
        )
    latest: dict[tuple[str, str], Decision] = {}
    problems = []
    history = []
    try:
        for row in reader:
            line = reader.line_num
            left, right = (
                (row.get("registration_l") or "").strip(),
                (row.get("registration_r") or "").strip(),
            )
            decision = (row.get("decision") or "").strip()
            problem = problem_with(left, right, decision)
            if problem:
                problems.append(DecisionProblem(line, left, right, decision, problem))
                continue
            made = Decision(left, right, decision, row.get("decided_at") or "",
                            row.get("decided_by") or "")  # fmt: skip
            latest[made.pair] = made
            history.append(made)
    except csv.Error as error:
        raise DecisionsFileError(f"{path}, line {reader.line_num}: {error}") from error
    return DecisionsFile(list(latest.values()), problems, history)
