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

# The names the rest of the code uses; each module's own names stay in that module.
from data_model.plan.definitions import Indicator, Measure, Plan
from data_model.plan.errors import PlanError
from data_model.plan.evidence import SOURCES, TERM_FIGURES, record_selections, selection_sql
from data_model.plan.loading import DEFAULT_PLAN, PLANS_DIR, available_plans, load_plan
from data_model.plan.tables import create_plan_tables

__all__ = [
    "DEFAULT_PLAN",
    "PLANS_DIR",
    "SOURCES",
    "TERM_FIGURES",
    "Indicator",
    "Measure",
    "Plan",
    "PlanError",
    "available_plans",
    "create_plan_tables",
    "load_plan",
    "record_selections",
    "selection_sql",
]
