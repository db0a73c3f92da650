"""Outcomes plans: reading a plan file, checking it, and handing it to the model as tables.

A plan (data_model/plan/plans/<name>.yaml, schema in data_model/plan/plans/README.md) is data: the
headline problems, the indicators that evidence each, the eligibility rule, the outcome measures
with their thresholds and sustain windows, the claim routes, payments and the "near" settings. The
build checks a plan against the evidence the model holds (sources, fields, allowed values) and stops
with one message naming the file and the line of the first mistake. The evaluation itself is the
int_plan_* and mart_plan_* / mart_claim* models, which read the cfg_plan_* tables written here.

- yaml_lines: the plan's YAML with the line of every key, for messages
- definitions: the checked plan as dataclasses
- evidence: the evidence catalogue (evidence_catalogue.yaml) and the SQL selecting a plan's records
- validation: checking a plan against the catalogue and the extract contracts
- loading: finding a shipped plan or a plan file, and reading it
- tables: writing the cfg_plan* tables the models read
"""

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
from data_model.plan.errors import PlanError
from data_model.plan.evidence import (
    SOURCES,
    TERM_FIGURES,
    TERM_SOURCE,
    EvidenceSource,
    SourceField,
    TermFigure,
    record_selections,
    selection_sql,
)
from data_model.plan.loading import (
    DEFAULT_PLAN,
    PLANS_DIR,
    available_plans,
    load_plan,
    resolve_plan,
)
from data_model.plan.tables import PLAN_TABLES, create_plan_tables, direction_and_slack

__all__ = [
    "ANCHORS",
    "COMPARISONS",
    "DEFAULT_PLAN",
    "PLANS_DIR",
    "PLAN_TABLES",
    "SOURCES",
    "TERM_FIGURES",
    "TERM_SOURCE",
    "WHO",
    "Condition",
    "EvidenceSource",
    "Indicator",
    "Measure",
    "Near",
    "Plan",
    "PlanError",
    "Problem",
    "Route",
    "Selector",
    "SourceField",
    "TermFigure",
    "TermRule",
    "available_plans",
    "create_plan_tables",
    "direction_and_slack",
    "load_plan",
    "record_selections",
    "resolve_plan",
    "selection_sql",
]
