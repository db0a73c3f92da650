"""A checked plan as values: problems, indicators, measures, claim routes and the near settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

WHO = ("anyone", "child", "adult")
ANCHORS = ("attachment", "closure")
COMPARISONS = {"at_least": ">=", "at_most": "<=", "above": ">", "below": "<"}


@dataclass(frozen=True)
class Condition:
    column: str
    operator: str  # in, =, >=, <=, >, <
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Selector:
    """Which records of a source count, and for whom."""

    source: str
    date_column: str
    conditions: tuple[Condition, ...]
    who: str


@dataclass(frozen=True)
class TermRule:
    """A school-census figure over consecutive terms compared with a threshold."""

    figure: str
    over: str  # all_terms | each_term | any_term
    terms: int
    comparison: str  # at_least | at_most | above | below
    threshold: float


@dataclass(frozen=True)
class Indicator:
    id: str
    problem_id: str
    title: str
    kind: Literal["records", "terms"]
    selector: Selector | None = None  # records
    look_back_months: int = 12  # records: a record counts this long after its date (or end)
    at_least: int = 1  # records: this many within the look-back
    term_rule: TermRule | None = None  # terms


@dataclass(frozen=True)
class Measure:
    id: str
    problem_id: str
    title: str
    kind: Literal["records", "terms", "continuous_spell"]
    after: str  # attachment | closure
    unit: str
    near_within: float  # in the measure's unit
    selector: Selector | None = None  # records, continuous_spell
    # records
    window_months: int | None = None
    window: str | None = None  # rolling | first
    count: str | None = None  # dated | open
    comparison: str | None = None  # at_most | at_least | reduction
    threshold: float | None = None  # count, or the reduction as a share
    # terms
    term_rule: TermRule | None = None
    children: str | None = None  # all | with_problem
    # continuous_spell
    weeks: int | None = None
    weeks_after_benefit: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    id: str
    title: str
    indicators: tuple[Indicator, ...]
    progress_rule: str  # all | any
    measures: tuple[Measure, ...]
    note: str = ""


@dataclass(frozen=True)
class Route:
    id: str
    title: str
    requires: str  # every_problem, or a measure id


@dataclass(frozen=True)
class Near:
    max_blocking_measures: int
    all_met_but_one: bool
    rate_points: float
    weeks_share: float
    records: int
    count: int


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    file: Path
    text: str
    council: str
    notes: str
    programme_start: dt.date
    programme_end: dt.date
    target_families: int | None
    attachment_fee: float
    results_payment: float
    eligibility_at_least: int
    near: Near
    # problems whose result is invalid when another member develops them (Phase 1 audit rule)
    invalidating_problems: tuple[str, ...]
    assume_claimed_through: str  # last_complete_quarter | never | an ISO date
    routes: tuple[Route, ...]
    problems: tuple[Problem, ...]

    @property
    def indicators(self) -> list[Indicator]:
        return [i for p in self.problems for i in p.indicators]

    @property
    def measures(self) -> list[Measure]:
        return [m for p in self.problems for m in p.measures]
