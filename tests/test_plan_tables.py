"""The plan as tables: every cfg_plan* table has the columns and types the models read, in order,
for every shipped plan, and each value lands in its own column."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import duckdb
import pytest

from data_model.plan import SOURCES, TERM_FIGURES, available_plans, create_plan_tables, load_plan
from data_model.plan.tables import PLAN_TABLES, plan_table_rows

# Written out, not read from data_model.plan.tables, so a change there shows up here.
EXPECTED_COLUMNS = {
    "cfg_plan": [
        ("plan_id", "VARCHAR"),
        ("plan_name", "VARCHAR"),
        ("plan_file", "VARCHAR"),
        ("plan_text", "VARCHAR"),
        ("council", "VARCHAR"),
        ("notes", "VARCHAR"),
        ("programme_start", "DATE"),
        ("programme_end", "DATE"),
        ("target_families", "BIGINT"),
        ("attachment_fee", "DOUBLE"),
        ("results_payment", "DOUBLE"),
        ("eligibility_at_least", "INTEGER"),
        ("near_max_blocking_measures", "INTEGER"),
        ("near_all_met_but_one", "BOOLEAN"),
        ("assume_claimed_through", "VARCHAR"),
    ],
    "cfg_plan_problem": [
        ("problem_id", "VARCHAR"),
        ("problem_order", "INTEGER"),
        ("title", "VARCHAR"),
        ("note", "VARCHAR"),
        ("progress_rule", "VARCHAR"),
        ("another_member_invalidates", "BOOLEAN"),
    ],
    "cfg_plan_indicator": [
        ("indicator_id", "VARCHAR"),
        ("problem_id", "VARCHAR"),
        ("title", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("source", "VARCHAR"),
        ("who", "VARCHAR"),
        ("look_back_months", "INTEGER"),
        ("at_least", "INTEGER"),
        ("figure", "VARCHAR"),
        ("figure_column", "VARCHAR"),
        ("figure_kind", "VARCHAR"),
        ("over", "VARCHAR"),
        ("terms", "INTEGER"),
        ("comparison", "VARCHAR"),
        ("threshold", "DOUBLE"),
        ("direction", "INTEGER"),
        ("slack", "DOUBLE"),
    ],
    "cfg_plan_measure": [
        ("measure_id", "VARCHAR"),
        ("problem_id", "VARCHAR"),
        ("measure_order", "INTEGER"),
        ("title", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("after", "VARCHAR"),
        ("unit", "VARCHAR"),
        ("unit_one", "VARCHAR"),
        ("near_within", "DOUBLE"),
        ("source", "VARCHAR"),
        ("who", "VARCHAR"),
        ("window_months", "INTEGER"),
        ("window_mode", "VARCHAR"),
        ("count_mode", "VARCHAR"),
        ("comparison", "VARCHAR"),
        ("threshold", "DOUBLE"),
        ("figure", "VARCHAR"),
        ("figure_column", "VARCHAR"),
        ("figure_kind", "VARCHAR"),
        ("figure_words", "VARCHAR"),
        ("figure_words_one", "VARCHAR"),
        ("over", "VARCHAR"),
        ("terms", "INTEGER"),
        ("children", "VARCHAR"),
        ("weeks", "INTEGER"),
        ("weeks_after_benefit", "VARCHAR"),
        ("direction", "INTEGER"),
        ("slack", "DOUBLE"),
    ],
    "cfg_plan_route": [
        ("route_id", "VARCHAR"),
        ("route_order", "INTEGER"),
        ("title", "VARCHAR"),
        ("requires", "VARCHAR"),
    ],
    "cfg_plan_shorter_weeks": [
        ("measure_id", "VARCHAR"),
        ("benefit_type", "VARCHAR"),
        ("weeks", "INTEGER"),
    ],
}

EVENT_MODEL = Path(__file__).parents[1] / "data_model/models/intermediate/plan/int_plan_event.py"


def tables_of(plan_name: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_plan_tables(con, load_plan(plan_name))
    return con


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[dict]:
    cursor = con.execute(f"select * from {table}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize("plan_name", available_plans())
def test_every_plan_table_has_the_columns_and_types_the_models_read(plan_name: str) -> None:
    con = tables_of(plan_name)
    made = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_name like 'cfg_plan%'"
        ).fetchall()
    }
    assert made == set(EXPECTED_COLUMNS)
    for table, expected in EXPECTED_COLUMNS.items():
        columns = con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        assert columns == expected, table


@pytest.mark.parametrize("plan_name", available_plans())
def test_every_row_names_exactly_its_tables_columns(plan_name: str) -> None:
    for table, table_rows in plan_table_rows(load_plan(plan_name)).items():
        names = {name for name, _ in PLAN_TABLES[table]}
        assert all(set(row) == names for row in table_rows), table


@pytest.mark.parametrize("plan_name", available_plans())
def test_each_value_lands_in_its_own_column(plan_name: str) -> None:
    plan = load_plan(plan_name)
    con = tables_of(plan_name)

    [settings] = rows(con, "cfg_plan")
    assert settings["plan_id"] == plan.id and settings["plan_name"] == plan.name
    assert settings["plan_file"] == str(plan.file) and settings["plan_text"] == plan.text
    assert (settings["programme_start"], settings["programme_end"]) == (
        plan.programme_start,
        plan.programme_end,
    )
    assert settings["target_families"] == plan.target_families
    assert (settings["attachment_fee"], settings["results_payment"]) == (
        plan.attachment_fee,
        plan.results_payment,
    )
    assert settings["eligibility_at_least"] == plan.eligibility_at_least
    assert settings["near_max_blocking_measures"] == plan.near.max_blocking_measures
    assert settings["near_all_met_but_one"] == plan.near.all_met_but_one
    assert settings["assume_claimed_through"] == plan.assume_claimed_through

    problems = rows(con, "cfg_plan_problem")
    assert [(p["problem_id"], p["problem_order"], p["title"]) for p in problems] == [
        (p.id, order, p.title) for order, p in enumerate(plan.problems, 1)
    ]
    assert {p["problem_id"] for p in problems if p["another_member_invalidates"]} == set(
        plan.invalidating_problems
    )

    indicators = {i["indicator_id"]: i for i in rows(con, "cfg_plan_indicator")}
    assert list(indicators) == [i.id for i in plan.indicators]
    for indicator in plan.indicators:
        row = indicators[indicator.id]
        assert (row["problem_id"], row["title"], row["kind"]) == (
            indicator.problem_id,
            indicator.title,
            indicator.kind,
        )
        if indicator.term_rule:
            rule = indicator.term_rule
            assert (row["source"], row["who"]) == ("school_census", "child")
            assert (row["figure"], row["figure_column"], row["figure_kind"]) == (
                rule.figure,
                TERM_FIGURES[rule.figure].column,
                TERM_FIGURES[rule.figure].kind,
            )
            assert (row["over"], row["terms"], row["comparison"], row["threshold"]) == (
                rule.over,
                rule.terms,
                rule.comparison,
                rule.threshold,
            )
            assert row["direction"] == (1 if rule.comparison in ("at_least", "above") else -1)
            assert row["slack"] == (1e-9 if rule.comparison in ("above", "below") else -1e-9)
        else:
            assert (row["source"], row["who"]) == (
                indicator.selector.source,
                indicator.selector.who,
            )
            assert (row["look_back_months"], row["at_least"]) == (
                indicator.look_back_months,
                indicator.at_least,
            )
            assert row["figure"] is None and row["direction"] is None and row["slack"] is None

    measures = {m["measure_id"]: m for m in rows(con, "cfg_plan_measure")}
    assert list(measures) == [m.id for m in plan.measures]
    for order, measure in enumerate(plan.measures, 1):
        row = measures[measure.id]
        assert (row["problem_id"], row["measure_order"], row["title"], row["kind"]) == (
            measure.problem_id,
            order,
            measure.title,
            measure.kind,
        )
        assert (row["after"], row["unit"], row["near_within"]) == (
            measure.after,
            measure.unit,
            measure.near_within,
        )
        if measure.kind == "terms":
            rule = measure.term_rule
            figure = TERM_FIGURES[rule.figure]
            assert (row["source"], row["who"], row["children"]) == (
                "school_census",
                "child",
                measure.children,
            )
            assert (row["comparison"], row["threshold"], row["over"], row["terms"]) == (
                rule.comparison,
                rule.threshold,
                rule.over,
                rule.terms,
            )
            assert (
                row["figure"],
                row["figure_column"],
                row["figure_kind"],
                row["figure_words"],
                row["figure_words_one"],
            ) == (rule.figure, *figure)
            assert row["direction"] in (1, -1) and row["slack"] in (1e-9, -1e-9)
        elif measure.kind == "continuous_spell":
            assert (row["source"], row["who"]) == ("dwp_spells", measure.selector.who)
            assert row["weeks"] == measure.weeks and row["threshold"] == measure.weeks
            assert json.loads(row["weeks_after_benefit"]) == measure.weeks_after_benefit
        else:
            assert (row["source"], row["who"]) == (measure.selector.source, measure.selector.who)
            assert (row["window_months"], row["window_mode"], row["count_mode"]) == (
                measure.window_months,
                measure.window,
                measure.count,
            )
            assert (row["comparison"], row["threshold"]) == (measure.comparison, measure.threshold)
            assert row["weeks"] is None and row["figure"] is None and row["direction"] is None

    routes = rows(con, "cfg_plan_route")
    assert [(r["route_id"], r["route_order"], r["title"], r["requires"]) for r in routes] == [
        (r.id, order, r.title, r.requires) for order, r in enumerate(plan.routes, 1)
    ]

    shorter = rows(con, "cfg_plan_shorter_weeks")
    assert [(s["measure_id"], s["benefit_type"], s["weeks"]) for s in shorter] == [
        (m.id, benefit, weeks)
        for m in plan.measures
        for benefit, weeks in m.weeks_after_benefit.items()
    ]


def test_the_event_model_declares_every_table_the_evidence_catalogue_can_read() -> None:
    declared = None
    for node in ast.parse(EVENT_MODEL.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "INPUTS":
            declared = set(ast.literal_eval(node.value))
    assert declared is not None
    assert {source.table for source in SOURCES.values()} <= declared


def test_fewer_weeks_after_a_benefit_are_a_table_of_their_own(tmp_path: Path) -> None:
    text = load_plan("bradford_2015").text.replace(
        "          weeks: 26\n",
        "          weeks: 26\n          weeks_after_benefit: {JSA: 13, ESA: 8}\n",
    )
    path = tmp_path / "shorter.yaml"
    path.write_text(text, encoding="utf-8")
    plan = load_plan(path)
    [spell] = [m for m in plan.measures if m.kind == "continuous_spell"]
    con = duckdb.connect()
    create_plan_tables(con, plan)

    assert rows(con, "cfg_plan_shorter_weeks") == [
        {"measure_id": spell.id, "benefit_type": "JSA", "weeks": 13},
        {"measure_id": spell.id, "benefit_type": "ESA", "weeks": 8},
    ]
    [row] = [m for m in rows(con, "cfg_plan_measure") if m["measure_id"] == spell.id]
    assert json.loads(row["weeks_after_benefit"]) == {"JSA": 13, "ESA": 8}
    assert (row["weeks"], row["threshold"], row["unit"]) == (26, 26.0, "weeks")
