"""Checking a plan against the evidence the model holds: sources, fields, allowed values, ranges.

Every mistake stops with one message naming the plan file and the line (PlanError); the first
mistake found is the one reported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from data_model.plan.definitions import (
    ANCHORS,
    COMPARISONS,
    WHO,
    Condition,
    Indicator,
    Measure,
    Near,
    Plan,
    Problem,
    Route,
    Selector,
    TermRule,
)
from data_model.plan.evidence import SOURCES, TERM_FIGURES, TERM_SOURCE
from data_model.plan.yaml_lines import Document, KeyPath, Section

_ID = "lower-case letters, digits and underscores, starting with a letter"


def _identifier(node: Section, key: str = "id") -> str:
    value = node.text(key)
    if not (value[0].isalpha() and value.replace("_", "").isalnum() and value == value.lower()):
        raise node.error(key, f"'{value}' is not a usable id ({_ID})")
    return value


def _where(node: Section, source_name: str) -> tuple[Condition, ...]:
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
            bound = Section(where.doc, (*where.path, name), wanted, f"the condition on '{name}'")
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


def _source(node: Section, allowed: tuple[str, ...]) -> str:
    name = node.text("source")
    if name not in allowed:
        raise node.error("source", f"unknown source '{name}'; sources are: {', '.join(allowed)}")
    return name


def _selector(node: Section, default_who: str) -> Selector:
    source = _source(node, tuple(SOURCES))
    dates = SOURCES[source].dates
    date_column = node.choice("date", dates, dates[0])
    return Selector(source, date_column, _where(node, source), node.choice("who", WHO, default_who))


def _comparison(node: Section, choices: tuple[str, ...]) -> tuple[str, Any]:
    given = [key for key in choices if node.has(key)]
    if len(given) != 1:
        raise node.error(None, f"{node.what} needs exactly one of: {', '.join(choices)}")
    return given[0], node.raw(given[0])


def _term_rule(node: Section) -> TermRule:
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


def _indicator(node: Section, problem_id: str) -> Indicator:
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


def _measure(node: Section, problem_id: str, near: Near) -> Measure:
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


def _near(node: Section) -> Near:
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


def check_plan(doc: Document, plan_id: str, text: str) -> Plan:
    """The plan read from doc as a checked Plan; raises PlanError at the first mistake."""
    top = Section(doc, (), doc.data, "the plan")
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

    def unique(item_id: str, node: Section, kind: str) -> None:
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
