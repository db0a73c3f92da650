"""Outcomes plans: reading a plan file, checking it, and handing it to the model as tables.

A plan (data_model/plans/<name>.yaml, schema in data_model/plans/README.md) is data: the headline
problems, the indicators that evidence each, the eligibility rule, the outcome measures with their
thresholds and sustain windows, the claim routes, payments and the "near" settings. This module
checks a plan against the evidence the model holds (sources, fields, allowed values) and stops the
build with one message naming the file and the line of the first mistake. The evaluation itself is
the int_plan_* and mart_plan_* / mart_claim* models, which read the cfg_plan_* tables written here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml

from loaders.contracts import BY_SOURCE

PLANS_DIR = Path(__file__).with_name("plans")
DEFAULT_PLAN = "bradford_2015"


class PlanError(ValueError):
    """A plan that cannot be used. The message names the plan file and the line."""


# --- The evidence a plan may refer to ------------------------------------------------------------


@dataclass(frozen=True)
class SourceField:
    column: str  # the staging column
    kind: Literal["text", "flag", "number"]
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class EvidenceSource:
    """A staging table whose rows are dated records about a person."""

    title: str
    table: str
    dates: tuple[str, ...]  # columns a record may be dated by; the first is the default
    end_date: str | None  # a spell or episode runs from its date to this (blank: still open)
    fields: dict[str, SourceField]
    value_sql: str  # the record in plain words, for the evidence trail
    nouns: tuple[str, str] = ("record", "records")  # one, many: how a measure counts them


def _allowed(source: str, raw_field: str) -> tuple[str, ...] | None:
    return BY_SOURCE[source].column(raw_field).allowed


# Record sources, by the contract source name. Fields are staging columns; allowed values come from
# the extract contracts, so a misspelt value in a plan is caught before the build.
SOURCES: dict[str, EvidenceSource] = {
    "police_incidents": EvidenceSource(
        title="Police incidents",
        table="stg_police_incidents",
        dates=("record_date",),
        end_date=None,
        fields={
            "offence_category": SourceField("offence_category", "text"),
            "person_role": SourceField(
                "person_role", "text", _allowed("police_incidents", "person_role")
            ),
            "is_domestic_violence": SourceField("is_domestic_violence", "flag"),
            "is_anti_social_behaviour": SourceField("is_anti_social_behaviour", "flag"),
            "outcome": SourceField("outcome", "text"),
        },
        nouns=("incident", "incidents"),
        value_sql="offence_category || ' (' || lower(person_role) || ')'"
        " || case when is_domestic_violence then ', domestic abuse' else '' end",
    ),
    "dwp_spells": EvidenceSource(
        title="DWP benefit and employment spells",
        table="stg_dwp_spells",
        dates=("start_date",),
        end_date="end_date",
        fields={
            "spell_type": SourceField("spell_type", "text", _allowed("dwp_spells", "spell_type")),
            "benefit_type": SourceField(
                "benefit_type", "text", _allowed("dwp_spells", "benefit_type")
            ),
        },
        nouns=("spell", "spells"),
        value_sql="spell_type || coalesce(' (' || benefit_type || ')', '')"
        " || ' from ' || strftime(start_date, '%d %b %Y')"
        " || coalesce(' to ' || strftime(end_date, '%d %b %Y'), ', continuing')",
    ),
    "health_events": EvidenceSource(
        title="Health events",
        table="stg_health_events",
        dates=("event_date",),
        end_date="event_end_date",
        fields={
            "event_type": SourceField(
                "event_type", "text", _allowed("health_events", "event_type")
            ),
        },
        nouns=("health event", "health events"),
        value_sql="event_type",
    ),
    "csc_episodes": EvidenceSource(
        title="Children's social care episodes",
        table="stg_csc_episodes",
        dates=("start_date",),
        end_date="end_date",
        fields={
            "episode_type": SourceField(
                "episode_type", "text", _allowed("csc_episodes", "episode_type")
            ),
            "category_of_need": SourceField("category_of_need", "text"),
        },
        nouns=("episode", "episodes"),
        value_sql="episode_type || coalesce(': ' || category_of_need, '')"
        " || ' from ' || strftime(start_date, '%d %b %Y')"
        " || coalesce(' to ' || strftime(end_date, '%d %b %Y'), ', open')",
    ),
    "housing_tenancies": EvidenceSource(
        title="Housing tenancies",
        table="stg_housing_tenancies",
        # a tenancy row is dated by what the indicator is about: the notice, the eviction, or the
        # arrears owed on the extract date
        dates=("nosp_served_date", "eviction_date", "extract_date", "tenancy_start"),
        end_date=None,
        fields={
            "rent_arrears": SourceField("rent_arrears", "number"),
        },
        nouns=("housing record", "housing records"),
        value_sql="'tenancy ' || tenancy_ref"
        " || coalesce('; notice seeking possession ' || strftime(nosp_served_date, '%d %b %Y'), '')"
        " || coalesce('; evicted ' || strftime(eviction_date, '%d %b %Y'), '')"
        " || '; arrears £' || format('{:,.2f}', rent_arrears)"
        " || ' on ' || strftime(extract_date, '%d %b %Y')",
    ),
    "service_involvement": EvidenceSource(
        title="Service involvement",
        table="stg_service_involvement",
        dates=("start_date", "last_interaction_date"),
        end_date="end_date",
        fields={
            "service": SourceField("service", "text", _allowed("service_involvement", "service")),
            "system_name": SourceField("system_name", "text"),
        },
        nouns=("involvement", "involvements"),
        value_sql="service || ' (' || system_name || ')'",
    ),
}

# The school census is read term by term; a plan names one of these figures per pupil and term.
# Rates are a share of the sessions possible; counts are summed over the terms.
TERM_FIGURES: dict[str, tuple[str, Literal["rate", "count"], str, str]] = {
    # figure: (column of int_plan_term, kind, plain words for many, for one)
    "attendance": ("sessions_attended", "rate", "sessions attended", "session attended"),
    "absence": ("sessions_missed", "rate", "sessions missed", "session missed"),
    "unauthorised_absence": (
        "sessions_unauthorised", "rate", "unauthorised absences", "unauthorised absence",
    ),
    "fixed_term_exclusions": (
        "fixed_term_exclusions", "count", "fixed-term exclusions", "fixed-term exclusion",
    ),
    "permanent_exclusions": (
        "permanent_exclusions", "count", "permanent exclusions", "permanent exclusion",
    ),
}  # fmt: skip
TERM_SOURCE = "school_census"

WHO = ("anyone", "child", "adult")
ANCHORS = ("attachment", "closure")
COMPARISONS = {"at_least": ">=", "at_most": "<=", "above": ">", "below": "<"}


def direction_and_slack(comparison: str | None) -> tuple[int | None, float | None]:
    """A comparison as the models apply it: value meets threshold when
    direction * (value - threshold) >= slack. Direction is 1 when more is better; the slack lets
    a rate that is exactly the threshold (117 of 130 is 90%) meet a non-strict comparison."""
    if comparison not in COMPARISONS:
        return None, None
    direction = 1 if comparison in ("at_least", "above") else -1
    return direction, 1e-9 if comparison in ("above", "below") else -1e-9


# --- The plan ----------------------------------------------------------------------------------


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


# --- Reading YAML with line numbers --------------------------------------------------------------

KeyPath = tuple[Any, ...]  # keys and list positions from the top of the plan


class _Doc:
    """The plan's values with the line each key or item is on, for messages."""

    def __init__(self, file: Path, text: str) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            self.data = self._value(loader, node, ()) if node is not None else None
        except yaml.MarkedYAMLError as error:
            # where the unclosed bracket or quote began, else where the parser gave up
            mark = error.context_mark or error.problem_mark
            line = mark.line + 1 if mark else 1
            raise PlanError(f"{file}, line {line}: not valid YAML: {error.problem}") from None
        finally:
            loader.dispose()

    def _value(self, loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node)
                if key in out:
                    raise PlanError(
                        f"{self.file}, line {key_node.start_mark.line + 1}: '{key}' is given twice"
                    )
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self._value(loader, value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(loader, item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return loader.construct_object(node)
        except (ValueError, yaml.YAMLError) as error:  # 2014-13-01 looks like a date but is not
            raise PlanError(
                f"{self.file}, line {node.start_mark.line + 1}: '{node.value}' cannot be read"
                f" ({error})"
            ) from None

    def line(self, path: KeyPath) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: KeyPath, message: str) -> PlanError:
        return PlanError(f"{self.file}, line {self.line(path)}: {message}")


class _Node:
    """A mapping in the plan, read key by key with checks; every mistake names its line."""

    def __init__(self, doc: _Doc, path: KeyPath, value: Any, what: str) -> None:
        self.doc, self.path, self.what = doc, path, what
        if not isinstance(value, dict):
            raise doc.error(path, f"{what} must be a mapping of settings")
        self.value = value

    def only(self, *allowed: str) -> None:
        for key in self.value:
            if key not in allowed:
                raise self.doc.error(
                    (*self.path, key),
                    f"unknown setting '{key}' in {self.what}; expected one of: "
                    + ", ".join(allowed),
                )

    def error(self, key: str | None, message: str) -> PlanError:
        return self.doc.error((*self.path, key) if key else self.path, message)

    def has(self, key: str) -> bool:
        return key in self.value

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.value:
            if default is ...:
                raise self.error(None, f"{self.what} needs '{key}'")
            return default
        return self.value[key]

    def text(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"'{key}' in {self.what} must be text")
        return value.strip()

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> str:
        value = self.raw(key, default)
        if value not in choices:
            raise self.error(key, f"'{key}' must be one of: {', '.join(choices)} (not {value!r})")
        return value

    def number(
        self,
        key: str,
        default: Any = ...,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        whole: bool = False,
        hint: str = "",
    ) -> Any:
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or (whole and not float(value).is_integer()):
            kind = "a whole number" if whole else "a number"
            raise self.error(key, f"'{key}' in {self.what} must be {kind} (not {value!r})")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = (
                f"between {minimum:g} and {maximum:g}"
                if maximum is not None
                else (f"at least {minimum:g}")
            )
            raise self.error(key, f"'{key}' must be {bounds} (not {value!r}){hint}")
        return int(value) if whole else value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"'{key}' must be true or false (not {value!r})")
        return value

    def date(self, key: str) -> dt.date:
        value = self.raw(key)
        if not isinstance(value, dt.date):
            raise self.error(key, f"'{key}' must be a date written YYYY-MM-DD (not {value!r})")
        return value

    def child(self, key: str, what: str) -> _Node:
        return _Node(self.doc, (*self.path, key), self.raw(key), what)

    def items(self, key: str, what: str, *, allow_empty: bool = False) -> list[_Node]:
        value = self.raw(key, [] if allow_empty else ...)
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.error(key, f"'{key}' must be a list of {what}s")
        return [_Node(self.doc, (*self.path, key, i), item, what) for i, item in enumerate(value)]


# --- Checking the plan -------------------------------------------------------------------------

_ID = "lower-case letters, digits and underscores, starting with a letter"


def _identifier(node: _Node, key: str = "id") -> str:
    value = node.text(key)
    if not (value[0].isalpha() and value.replace("_", "").isalnum() and value == value.lower()):
        raise node.error(key, f"'{value}' is not a usable id ({_ID})")
    return value


def _where(node: _Node, source_name: str) -> tuple[Condition, ...]:
    source = SOURCES[source_name]
    if not node.has("where"):
        return ()
    where = node.child("where", f"the 'where' of {node.what}")
    conditions = []
    for name, wanted in where.value.items():
        if name not in source.fields:
            raise where.error(
                name,
                f"unknown field '{name}' for source {source_name}; fields are: "
                + ", ".join(sorted(source.fields)),
            )
        spec = source.fields[name]
        if spec.kind == "flag":
            if not isinstance(wanted, bool):
                raise where.error(name, f"'{name}' is a flag: write true or false")
            conditions.append(Condition(spec.column, "=", (wanted,)))
        elif spec.kind == "number":
            bound = _Node(where.doc, (*where.path, name), wanted, f"the condition on '{name}'")
            if len(bound.value) != 1 or next(iter(bound.value)) not in COMPARISONS:
                raise where.error(
                    name,
                    f"'{name}' is a number: compare it with one of "
                    + ", ".join(COMPARISONS)
                    + " (e.g. {at_least: 500})",
                )
            key = next(iter(bound.value))
            conditions.append(Condition(spec.column, COMPARISONS[key], (bound.number(key),)))
        else:
            values = wanted if isinstance(wanted, list) else [wanted]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise where.error(name, f"'{name}' must be a value or a list of values")
            if spec.allowed:
                for value in values:
                    if value not in spec.allowed:
                        raise where.error(
                            name,
                            f"'{value}' is never a {name} in {source_name}; allowed: "
                            + ", ".join(spec.allowed),
                        )
            conditions.append(Condition(spec.column, "in", tuple(values)))
    return tuple(conditions)


def _source(node: _Node, allowed: tuple[str, ...]) -> str:
    name = node.text("source")
    if name not in allowed:
        raise node.error("source", f"unknown source '{name}'; sources are: {', '.join(allowed)}")
    return name


def _selector(node: _Node, default_who: str) -> Selector:
    source = _source(node, tuple(SOURCES))
    dates = SOURCES[source].dates
    date_column = node.choice("date", dates, dates[0])
    return Selector(source, date_column, _where(node, source), node.choice("who", WHO, default_who))


def _comparison(node: _Node, choices: tuple[str, ...]) -> tuple[str, Any]:
    given = [key for key in choices if node.has(key)]
    if len(given) != 1:
        raise node.error(None, f"{node.what} needs exactly one of: {', '.join(choices)}")
    return given[0], node.raw(given[0])


def _term_rule(node: _Node) -> TermRule:
    figure = node.choice("figure", tuple(TERM_FIGURES))
    kind = TERM_FIGURES[figure][1]
    comparison, _ = _comparison(node, tuple(COMPARISONS))
    if kind == "rate":
        threshold = node.number(
            comparison,
            minimum=0,
            maximum=1,
            hint=f": {figure} is a share of sessions possible, so 90% is 0.9",
        )
        over = node.choice("over", ("all_terms", "each_term", "any_term"))
    else:
        threshold = node.number(comparison, minimum=0, whole=True)
        over = node.choice("over", ("all_terms",), "all_terms")
    terms = node.number("terms", minimum=1, maximum=12, whole=True)
    return TermRule(figure, over, terms, comparison, float(threshold))


def _indicator(node: _Node, problem_id: str) -> Indicator:
    source = _source(node, (*SOURCES, TERM_SOURCE))
    indicator_id, title = _identifier(node), node.text("title")
    if source == TERM_SOURCE:
        node.only("id", "title", "source", "figure", "over", "terms", *COMPARISONS)
        return Indicator(indicator_id, problem_id, title, "terms", term_rule=_term_rule(node))
    node.only("id", "title", "source", "where", "who", "date", "look_back_months", "at_least")
    return Indicator(
        indicator_id,
        problem_id,
        title,
        "records",
        selector=_selector(node, "anyone"),
        look_back_months=node.number("look_back_months", minimum=1, maximum=120, whole=True),
        at_least=node.number("at_least", 1, minimum=1, maximum=100, whole=True),
    )


def _measure(node: _Node, problem_id: str, near: Near) -> Measure:
    measure_id, title = _identifier(node), node.text("title")
    kind = node.choice("kind", ("records", "terms", "continuous_spell"))
    after = node.choice("after", ANCHORS, "attachment")
    common = {"id": measure_id, "problem_id": problem_id, "title": title, "after": after}
    if kind == "terms":
        node.only(
            "id", "title", "kind", "after", "source", "figure", "over", "terms",
            "children", "near_within", *COMPARISONS,
        )  # fmt: skip
        _source(node, (TERM_SOURCE,))  # terms are the school census's
        rule = _term_rule(node)
        if rule.over == "any_term":
            raise node.error("over", "a measure must hold in all_terms or each_term")
        is_rate = TERM_FIGURES[rule.figure][1] == "rate"
        unit = "percentage points" if is_rate else TERM_FIGURES[rule.figure][2]
        default_near = near.rate_points if is_rate else near.count
        within = node.number("near_within", default_near, minimum=0)
        return Measure(
            **common,
            kind="terms",
            unit=unit,
            near_within=float(within),
            term_rule=rule,
            children=node.choice("children", ("all", "with_problem"), "all"),
        )
    if kind == "continuous_spell":
        node.only(
            "id", "title", "kind", "after", "source", "where", "who", "weeks",
            "weeks_after_benefit", "near_within",
        )  # fmt: skip
        if node.raw("source") != "dwp_spells":
            raise node.error("source", "a continuous spell is read from dwp_spells")
        selector = _selector(node, "adult")
        weeks = node.number("weeks", minimum=1, maximum=260, whole=True)
        shorter = {}
        if node.has("weeks_after_benefit"):
            table = node.child("weeks_after_benefit", "weeks_after_benefit")
            allowed = SOURCES["dwp_spells"].fields["benefit_type"].allowed or ()
            for benefit in table.value:
                if benefit not in allowed:
                    raise table.error(
                        benefit, f"'{benefit}' is not a benefit type; allowed: {', '.join(allowed)}"
                    )
                shorter[benefit] = table.number(benefit, minimum=1, maximum=260, whole=True)
        within = node.number("near_within", round(weeks * near.weeks_share, 2), minimum=0)
        return Measure(
            **common,
            kind="continuous_spell",
            unit="weeks",
            near_within=float(within),
            selector=selector,
            weeks=weeks,
            weeks_after_benefit=shorter,
        )
    node.only(
        "id", "title", "kind", "after", "source", "where", "who", "date", "window_months",
        "window", "count", "at_most", "at_least", "reduction", "near_within",
    )  # fmt: skip
    comparison, _ = _comparison(node, ("at_most", "at_least", "reduction"))
    if comparison == "reduction":
        threshold = node.number(
            "reduction", minimum=0.01, maximum=1, hint=": a 33% reduction is 0.33"
        )
    else:
        threshold = node.number(comparison, minimum=0, maximum=1000, whole=True)
    selector = _selector(node, "anyone")
    return Measure(
        **common,
        kind="records",
        unit=SOURCES[selector.source].nouns[1],
        near_within=float(node.number("near_within", near.records, minimum=0)),
        selector=selector,
        window_months=node.number("window_months", minimum=1, maximum=60, whole=True),
        window=node.choice("window", ("rolling", "first"), "rolling"),
        count=node.choice("count", ("dated", "open"), "dated"),
        comparison=comparison,
        threshold=float(threshold),
    )


def _near(node: _Node) -> Near:
    node.only("max_blocking_measures", "all_met_but_one", "within")
    within = node.child("within", "near.within")
    within.only("percentage_points", "share_of_weeks", "records", "count")
    return Near(
        max_blocking_measures=node.number(
            "max_blocking_measures", minimum=1, maximum=10, whole=True
        ),
        all_met_but_one=node.flag("all_met_but_one", False),
        rate_points=within.number("percentage_points", minimum=0, maximum=100),
        weeks_share=within.number("share_of_weeks", minimum=0, maximum=1),
        records=within.number("records", minimum=0, maximum=100, whole=True),
        count=within.number("count", minimum=0, maximum=100, whole=True),
    )


def _check_plan(doc: _Doc, plan_id: str, text: str) -> Plan:
    top = _Node(doc, (), doc.data, "the plan")
    top.only(
        "name", "council", "notes", "programme", "payments", "eligibility", "near", "claims",
        "problems",
    )  # fmt: skip
    programme = top.child("programme", "programme")
    programme.only("start_date", "end_date", "target_families")
    start, end = programme.date("start_date"), programme.date("end_date")
    if end <= start:
        raise programme.error("end_date", "the programme must end after it starts")
    payments = top.child("payments", "payments")
    payments.only("attachment_fee", "results_payment")
    eligibility = top.child("eligibility", "eligibility")
    eligibility.only("at_least")
    near = _near(top.child("near", "near"))

    problems: list[Problem] = []
    seen: dict[str, KeyPath] = {}

    def unique(item_id: str, node: _Node, kind: str) -> None:
        if item_id in seen:
            raise node.error(
                "id", f"{kind} id '{item_id}' is already used (line {doc.line(seen[item_id])})"
            )
        seen[item_id] = (*node.path, "id")

    for problem_node in top.items("problems", "problem"):
        problem_node.only("id", "title", "note", "indicators", "progress")
        problem_id = _identifier(problem_node)
        unique(problem_id, problem_node, "problem")
        indicators = []
        for indicator_node in problem_node.items("indicators", "indicator", allow_empty=True):
            indicator = _indicator(indicator_node, problem_id)
            unique(indicator.id, indicator_node, "indicator")
            indicators.append(indicator)
        progress = problem_node.child("progress", f"the progress of problem '{problem_id}'")
        progress.only("rule", "measures")
        measures = []
        for measure_node in progress.items("measures", "measure", allow_empty=not indicators):
            measure = _measure(measure_node, problem_id, near)
            unique(measure.id, measure_node, "measure")
            measures.append(measure)
        problems.append(
            Problem(
                problem_id,
                problem_node.text("title"),
                tuple(indicators),
                progress.choice("rule", ("all", "any"), "all"),
                tuple(measures),
                problem_node.text("note", ""),
            )
        )

    at_least = eligibility.number("at_least", minimum=1, maximum=len(problems), whole=True)
    claims = top.child("claims", "claims")
    claims.only("invalid_if_another_member_develops", "assume_claimed_through", "routes")
    problem_ids = [p.id for p in problems]
    invalidating = claims.raw("invalid_if_another_member_develops", [])
    if not isinstance(invalidating, list):
        raise claims.error(
            "invalid_if_another_member_develops", "must be a list of problem ids (or [])"
        )
    for i, problem_id in enumerate(invalidating):
        if problem_id not in problem_ids:
            raise doc.error(
                (*claims.path, "invalid_if_another_member_develops", i),
                f"unknown problem '{problem_id}'; problems are: {', '.join(problem_ids)}",
            )
    claimed_through = claims.raw("assume_claimed_through", "last_complete_quarter")
    if isinstance(claimed_through, dt.date):
        claimed_through = claimed_through.isoformat()
    elif claimed_through not in ("last_complete_quarter", "never"):
        raise claims.error(
            "assume_claimed_through",
            "'assume_claimed_through' must be last_complete_quarter, never or a date YYYY-MM-DD",
        )
    measure_ids = {m.id for p in problems for m in p.measures}
    routes = []
    for route_node in claims.items("routes", "claim route"):
        route_node.only("id", "title", "requires")
        route_id = _identifier(route_node)
        unique(route_id, route_node, "claim route")
        requires = route_node.text("requires")
        if requires != "every_problem" and requires not in measure_ids:
            raise route_node.error(
                "requires",
                f"a route requires every_problem or a measure id; no problem defines a measure "
                f"'{requires}' (measures: {', '.join(sorted(measure_ids))})",
            )
        routes.append(Route(route_id, route_node.text("title"), requires))

    target = programme.number("target_families", None, minimum=1, whole=True)
    return Plan(
        id=plan_id,
        name=top.text("name"),
        file=doc.file,
        text=text,
        council=top.text("council"),
        notes=top.text("notes", ""),
        programme_start=start,
        programme_end=end,
        target_families=target,
        attachment_fee=float(payments.number("attachment_fee", minimum=0)),
        results_payment=float(payments.number("results_payment", minimum=0)),
        eligibility_at_least=at_least,
        near=near,
        invalidating_problems=tuple(invalidating),
        assume_claimed_through=claimed_through,
        routes=tuple(routes),
        problems=tuple(problems),
    )


def available_plans() -> list[str]:
    return sorted(p.stem for p in PLANS_DIR.glob("*.yaml"))


def resolve_plan(name_or_path: str | Path | None) -> Path:
    """A shipped plan's name (bradford_2015) or a path to a plan file."""
    given = str(name_or_path or DEFAULT_PLAN)
    path = Path(given)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise PlanError(f"{given}: no such plan file")
        return path
    shipped = PLANS_DIR / f"{given}.yaml"
    if not shipped.is_file():
        raise PlanError(f"{given}: no such plan; shipped plans: {', '.join(available_plans())}")
    return shipped


def _display_path(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def load_plan(name_or_path: str | Path | None = None) -> Plan:
    """Read and check a plan; raises PlanError naming the file and line of the first mistake."""
    path = resolve_plan(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(f"{path}: cannot be read ({error})") from None
    doc = _Doc(_display_path(path), text)
    return _check_plan(doc, path.stem, text)


# --- The plan as tables the models read ----------------------------------------------------------


def _selector_columns(selector: Selector | None) -> tuple[str | None, str | None]:
    return (selector.source, selector.who) if selector else (None, None)


def create_plan_tables(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """cfg_plan, cfg_plan_problem, cfg_plan_indicator, cfg_plan_measure and cfg_plan_route."""
    con.execute(
        """
        create or replace table cfg_plan as select
            ?::varchar as plan_id, ?::varchar as plan_name, ?::varchar as plan_file,
            ?::varchar as plan_text, ?::varchar as council, ?::varchar as notes,
            ?::date as programme_start, ?::date as programme_end, ?::bigint as target_families,
            ?::double as attachment_fee, ?::double as results_payment,
            ?::integer as eligibility_at_least, ?::integer as near_max_blocking_measures,
            ?::boolean as near_all_met_but_one, ?::varchar as assume_claimed_through
        """,
        [
            plan.id, plan.name, str(plan.file), plan.text, plan.council, plan.notes,
            plan.programme_start, plan.programme_end, plan.target_families,
            plan.attachment_fee, plan.results_payment, plan.eligibility_at_least,
            plan.near.max_blocking_measures, plan.near.all_met_but_one,
            plan.assume_claimed_through,
        ],
    )  # fmt: skip
    con.execute(
        "create or replace table cfg_plan_problem (problem_id varchar, problem_order integer,"
        " title varchar, note varchar, progress_rule varchar,"
        " another_member_invalidates boolean)"
    )
    con.executemany(
        "insert into cfg_plan_problem values (?, ?, ?, ?, ?, ?)",
        [
            (p.id, i, p.title, p.note, p.progress_rule, p.id in plan.invalidating_problems)
            for i, p in enumerate(plan.problems, 1)
        ],
    )
    con.execute(
        """
        create or replace table cfg_plan_indicator (
            indicator_id varchar, problem_id varchar, title varchar, kind varchar,
            source varchar, who varchar, look_back_months integer, at_least integer,
            figure varchar, figure_column varchar, figure_kind varchar, over varchar,
            terms integer, comparison varchar, threshold double, direction integer,
            slack double)
        """
    )
    rows = []
    for i in plan.indicators:
        source, who = _selector_columns(i.selector)
        rule = i.term_rule
        rows.append(
            (
                i.id, i.problem_id, i.title, i.kind, source or TERM_SOURCE, who or "child",
                i.look_back_months, i.at_least, rule and rule.figure,
                rule and TERM_FIGURES[rule.figure][0], rule and TERM_FIGURES[rule.figure][1],
                rule and rule.over, rule and rule.terms, rule and rule.comparison,
                rule and rule.threshold, *direction_and_slack(rule and rule.comparison),
            )
        )  # fmt: skip
    if rows:
        con.executemany(f"insert into cfg_plan_indicator values ({', '.join('?' * 17)})", rows)
    con.execute(
        """
        create or replace table cfg_plan_measure (
            measure_id varchar, problem_id varchar, measure_order integer, title varchar,
            kind varchar, after varchar, unit varchar, unit_one varchar, near_within double,
            source varchar, who varchar, window_months integer, window_mode varchar,
            count_mode varchar, comparison varchar, threshold double,
            figure varchar, figure_column varchar, figure_kind varchar, figure_words varchar,
            figure_words_one varchar,
            over varchar, terms integer, children varchar,
            weeks integer, weeks_after_benefit varchar, direction integer, slack double)
        """
    )
    rows = []
    for order, m in enumerate(plan.measures, 1):
        source, who = _selector_columns(m.selector)
        rule = m.term_rule
        figure = TERM_FIGURES[rule.figure] if rule else (None, None, None, None)
        rows.append(
            (
                m.id, m.problem_id, order, m.title, m.kind, m.after, m.unit,
                m.unit.removesuffix("s"), m.near_within,
                source or (TERM_SOURCE if rule else None), who or ("child" if rule else None),
                m.window_months, m.window, m.count,
                rule.comparison if rule else m.comparison,
                rule.threshold if rule else (m.weeks if m.weeks else m.threshold),
                rule and rule.figure, *figure,
                rule and rule.over, rule and rule.terms, m.children,
                m.weeks, json.dumps(m.weeks_after_benefit) if m.weeks else None,
                *direction_and_slack(rule and rule.comparison),
            )
        )  # fmt: skip
    if rows:
        con.executemany(f"insert into cfg_plan_measure values ({', '.join('?' * 28)})", rows)
    con.execute(
        "create or replace table cfg_plan_route (route_id varchar, route_order integer,"
        " title varchar, requires varchar)"
    )
    con.executemany(
        "insert into cfg_plan_route values (?, ?, ?, ?)",
        [(r.id, i, r.title, r.requires) for i, r in enumerate(plan.routes, 1)],
    )
    shorter = [
        (m.id, benefit, weeks)
        for m in plan.measures
        for benefit, weeks in m.weeks_after_benefit.items()
    ]
    con.execute(
        "create or replace table cfg_plan_shorter_weeks (measure_id varchar,"
        " benefit_type varchar, weeks integer)"
    )
    if shorter:
        con.executemany("insert into cfg_plan_shorter_weeks values (?, ?, ?)", shorter)


# --- Record evidence: the SQL behind each indicator's and measure's records ---------------------


def record_selections(plan: Plan) -> list[tuple[str, str, Selector]]:
    """(item id, kind, selector) for every indicator and measure that reads records."""
    out = [(i.id, "indicator", i.selector) for i in plan.indicators if i.selector]
    out += [(m.id, "measure", m.selector) for m in plan.measures if m.selector]
    return out


def selection_sql(item_id: str, selector: Selector) -> tuple[str, list[Any]]:
    """One select of a source's records that an indicator or measure counts, with parameters.

    Column names come from the checked catalogue above, never from the plan text; the plan's values
    go in as parameters.
    """
    source = SOURCES[selector.source]
    where, params = [f"{selector.date_column} is not null"], [item_id]
    for condition in selector.conditions:
        if condition.operator == "in":
            where.append(f"{condition.column} in ({', '.join('?' * len(condition.values))})")
        else:
            where.append(f"{condition.column} {condition.operator} ?")
        params.extend(condition.values)
    # a record without an end (an incident) lasts its day; a spell with a blank end is open
    end = source.end_date or selector.date_column
    sql = f"""
        select
            ?::varchar as item_id,
            source,
            source_record_id,
            {selector.date_column}::date as record_date,
            {end}::date as end_date,
            {source.value_sql} as value
        from {source.table}
        where {" and ".join(where)}
    """
    return sql, params
