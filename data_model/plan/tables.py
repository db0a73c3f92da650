"""The plan as the tables the models read: cfg_plan and the cfg_plan_* tables.

Each table's columns and DuckDB types are listed once (PLAN_TABLES); a row is a dict naming every
column, and is inserted with an explicit column list, so a column cannot land in another's place.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from data_model.plan.definitions import COMPARISONS, Indicator, Measure, Plan, Selector
from data_model.plan.evidence import TERM_FIGURES, TERM_SOURCE

Row = dict[str, Any]

# table: ((column, DuckDB type), ...) in the table's order
PLAN_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "cfg_plan": (
        ("plan_id", "varchar"),
        ("plan_name", "varchar"),
        ("plan_file", "varchar"),
        ("plan_text", "varchar"),
        ("council", "varchar"),
        ("notes", "varchar"),
        ("programme_start", "date"),
        ("programme_end", "date"),
        ("target_families", "bigint"),
        ("attachment_fee", "double"),
        ("results_payment", "double"),
        ("eligibility_at_least", "integer"),
        ("near_max_blocking_measures", "integer"),
        ("near_all_met_but_one", "boolean"),
        ("assume_claimed_through", "varchar"),
    ),
    "cfg_plan_problem": (
        ("problem_id", "varchar"),
        ("problem_order", "integer"),
        ("title", "varchar"),
        ("note", "varchar"),
        ("progress_rule", "varchar"),
        ("another_member_invalidates", "boolean"),
    ),
    "cfg_plan_indicator": (
        ("indicator_id", "varchar"),
        ("problem_id", "varchar"),
        ("title", "varchar"),
        ("kind", "varchar"),
        ("source", "varchar"),
        ("who", "varchar"),
        ("look_back_months", "integer"),
        ("at_least", "integer"),
        ("figure", "varchar"),
        ("figure_column", "varchar"),
        ("figure_kind", "varchar"),
        ("over", "varchar"),
        ("terms", "integer"),
        ("comparison", "varchar"),
        ("threshold", "double"),
        ("direction", "integer"),
        ("slack", "double"),
    ),
    "cfg_plan_measure": (
        ("measure_id", "varchar"),
        ("problem_id", "varchar"),
        ("measure_order", "integer"),
        ("title", "varchar"),
        ("kind", "varchar"),
        ("after", "varchar"),
        ("unit", "varchar"),
        ("unit_one", "varchar"),
        ("near_within", "double"),
        ("source", "varchar"),
        ("who", "varchar"),
        ("window_months", "integer"),
        ("window_mode", "varchar"),
        ("count_mode", "varchar"),
        ("comparison", "varchar"),
        ("threshold", "double"),
        ("figure", "varchar"),
        ("figure_column", "varchar"),
        ("figure_kind", "varchar"),
        ("figure_words", "varchar"),
        ("figure_words_one", "varchar"),
        ("over", "varchar"),
        ("terms", "integer"),
        ("children", "varchar"),
        ("weeks", "integer"),
        ("weeks_after_benefit", "varchar"),
        ("direction", "integer"),
        ("slack", "double"),
    ),
    "cfg_plan_route": (
        ("route_id", "varchar"),
        ("route_order", "integer"),
        ("title", "varchar"),
        ("requires", "varchar"),
    ),
    "cfg_plan_shorter_weeks": (
        ("measure_id", "varchar"),
        ("benefit_type", "varchar"),
        ("weeks", "integer"),
    ),
}


def direction_and_slack(comparison: str | None) -> tuple[int | None, float | None]:
    """A comparison as the models apply it: value meets threshold when
    direction * (value - threshold) >= slack. Direction is 1 when more is better; the slack lets
    a rate that is exactly the threshold (117 of 130 is 90%) meet a non-strict comparison."""
    if comparison not in COMPARISONS:
        return None, None
    direction = 1 if comparison in ("at_least", "above") else -1
    return direction, 1e-9 if comparison in ("above", "below") else -1e-9


def _selector_columns(selector: Selector | None) -> tuple[str | None, str | None]:
    return (selector.source, selector.who) if selector else (None, None)


def _plan_row(plan: Plan) -> Row:
    return {
        "plan_id": plan.id,
        "plan_name": plan.name,
        "plan_file": str(plan.file),
        "plan_text": plan.text,
        "council": plan.council,
        "notes": plan.notes,
        "programme_start": plan.programme_start,
        "programme_end": plan.programme_end,
        "target_families": plan.target_families,
        "attachment_fee": plan.attachment_fee,
        "results_payment": plan.results_payment,
        "eligibility_at_least": plan.eligibility_at_least,
        "near_max_blocking_measures": plan.near.max_blocking_measures,
        "near_all_met_but_one": plan.near.all_met_but_one,
        "assume_claimed_through": plan.assume_claimed_through,
    }


def _problem_rows(plan: Plan) -> list[Row]:
    return [
        {
            "problem_id": problem.id,
            "problem_order": order,
            "title": problem.title,
            "note": problem.note,
            "progress_rule": problem.progress_rule,
            "another_member_invalidates": problem.id in plan.invalidating_problems,
        }
        for order, problem in enumerate(plan.problems, 1)
    ]


def _indicator_row(indicator: Indicator) -> Row:
    source, who = _selector_columns(indicator.selector)
    rule = indicator.term_rule
    direction, slack = direction_and_slack(rule and rule.comparison)
    return {
        "indicator_id": indicator.id,
        "problem_id": indicator.problem_id,
        "title": indicator.title,
        "kind": indicator.kind,
        # a terms indicator reads the school census, child by child
        "source": source or TERM_SOURCE,
        "who": who or "child",
        "look_back_months": indicator.look_back_months,
        "at_least": indicator.at_least,
        "figure": rule and rule.figure,
        "figure_column": rule and TERM_FIGURES[rule.figure].column,
        "figure_kind": rule and TERM_FIGURES[rule.figure].kind,
        "over": rule and rule.over,
        "terms": rule and rule.terms,
        "comparison": rule and rule.comparison,
        "threshold": rule and rule.threshold,
        "direction": direction,
        "slack": slack,
    }


def _measure_row(order: int, measure: Measure) -> Row:
    source, who = _selector_columns(measure.selector)
    rule = measure.term_rule
    figure = TERM_FIGURES[rule.figure] if rule else None
    direction, slack = direction_and_slack(rule and rule.comparison)
    # a terms measure's threshold is its rule's; a continuous spell's, its weeks
    threshold = rule.threshold if rule else (measure.weeks or measure.threshold)
    return {
        "measure_id": measure.id,
        "problem_id": measure.problem_id,
        "measure_order": order,
        "title": measure.title,
        "kind": measure.kind,
        "after": measure.after,
        "unit": measure.unit,
        "unit_one": measure.unit.removesuffix("s"),
        "near_within": measure.near_within,
        "source": source or (TERM_SOURCE if rule else None),
        "who": who or ("child" if rule else None),
        "window_months": measure.window_months,
        "window_mode": measure.window,
        "count_mode": measure.count,
        "comparison": rule.comparison if rule else measure.comparison,
        "threshold": threshold,
        "figure": rule and rule.figure,
        "figure_column": figure and figure.column,
        "figure_kind": figure and figure.kind,
        "figure_words": figure and figure.words,
        "figure_words_one": figure and figure.words_one,
        "over": rule and rule.over,
        "terms": rule and rule.terms,
        "children": measure.children,
        "weeks": measure.weeks,
        "weeks_after_benefit": json.dumps(measure.weeks_after_benefit) if measure.weeks else None,
        "direction": direction,
        "slack": slack,
    }


def plan_table_rows(plan: Plan) -> dict[str, list[Row]]:
    """Every cfg_plan* table's rows for a plan, each row a dict by column name."""
    return {
        "cfg_plan": [_plan_row(plan)],
        "cfg_plan_problem": _problem_rows(plan),
        "cfg_plan_indicator": [_indicator_row(i) for i in plan.indicators],
        "cfg_plan_measure": [_measure_row(order, m) for order, m in enumerate(plan.measures, 1)],
        "cfg_plan_route": [
            {
                "route_id": route.id,
                "route_order": order,
                "title": route.title,
                "requires": route.requires,
            }
            for order, route in enumerate(plan.routes, 1)
        ],
        "cfg_plan_shorter_weeks": [
            {"measure_id": m.id, "benefit_type": benefit, "weeks": weeks}
            for m in plan.measures
            for benefit, weeks in m.weeks_after_benefit.items()
        ],
    }


def _write_table(con: duckdb.DuckDBPyConnection, table: str, rows: list[Row]) -> None:
    columns = PLAN_TABLES[table]
    names = [name for name, _ in columns]
    for row in rows:
        if set(row) != set(names):
            raise ValueError(
                f"{table}: a row names {sorted(set(row) ^ set(names))} unlike the table's columns"
            )
    definition = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
    con.execute(f"create or replace table {table} ({definition})")
    if rows:
        column_list = ", ".join(f'"{name}"' for name in names)
        placeholders = ", ".join("?" * len(names))
        con.executemany(
            f"insert into {table} ({column_list}) values ({placeholders})",
            [[row[name] for name in names] for row in rows],
        )


def create_plan_tables(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """cfg_plan, cfg_plan_problem, cfg_plan_indicator, cfg_plan_measure, cfg_plan_route and
    cfg_plan_shorter_weeks."""
    for table, rows in plan_table_rows(plan).items():
        _write_table(con, table, rows)
