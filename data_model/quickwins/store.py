"""The ranking stored as data in the model, never as a pickle: one table per kind of row, each
row stamped with the model version. `model_version` keeps every run in the model file (the
current one marked); the other tables hold the current run's rows.

Every table has its columns whether or not a model was trained, so the read layer can always
ask (an untrained run leaves them empty).
"""

from __future__ import annotations

import duckdb
import pandas as pd

SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "model_version": [
        ("model_version", "varchar"),
        ("is_current", "boolean"),
        ("status", "varchar"),
        ("status_reason", "varchar"),
        ("is_synthetic", "boolean"),
        ("trained_at", "timestamp"),
        ("seed", "bigint"),
        ("plan_id", "varchar"),
        ("pays_results", "boolean"),
        ("label", "varchar"),
        ("horizon_months", "integer"),
        ("as_at_date", "date"),
        ("fit_from", "date"),
        ("fit_to", "date"),
        ("calibration_from", "date"),
        ("calibration_to", "date"),
        ("test_from", "date"),
        ("test_to", "date"),
        ("fit_families", "bigint"),
        ("fit_outcomes", "bigint"),
        ("calibration_families", "bigint"),
        ("calibration_outcomes", "bigint"),
        ("test_families", "bigint"),
        ("test_outcomes", "bigint"),
        ("team_capacity", "integer"),
        ("estimator", "varchar"),
        ("challenger_verdict", "varchar"),
        ("is_adopted", "boolean"),  # the lists put in the model's order (quickwins.yaml adoption)
        ("adoption_reason", "varchar"),
        ("data_hash", "varchar"),
        ("scikit_learn_version", "varchar"),
        ("fairlearn_version", "varchar"),
        ("intercept", "double"),
        ("calibration_a", "double"),
        ("calibration_b", "double"),
        ("baseline_logit", "double"),
        ("metrics_json", "varchar"),
        ("settings_json", "varchar"),
    ],
    "ranking_coefficient": [
        ("model_version", "varchar"),
        ("feature_order", "integer"),
        ("feature", "varchar"),
        ("feature_label", "varchar"),
        ("unit", "varchar"),
        ("kind", "varchar"),
        ("imputed_mean", "double"),
        ("scaler_mean", "double"),
        ("scaler_scale", "double"),
        ("coefficient", "double"),
    ],
    "ranking_metric": [
        ("model_version", "varchar"),
        ("ranker", "varchar"),
        ("metric", "varchar"),
        ("value", "double"),
        ("lower", "double"),
        ("upper", "double"),
    ],
    "ranking_calibration": [
        ("model_version", "varchar"),
        ("ranker", "varchar"),
        ("bin", "integer"),
        ("bin_from", "double"),
        ("bin_to", "double"),
        ("families", "bigint"),
        ("mean_probability", "double"),
        ("observed_rate", "double"),
    ],
    "ranking_score": [
        ("model_version", "varchar"),
        ("list", "varchar"),
        ("family_key", "varchar"),
        ("feature_date", "date"),
        ("cluster", "varchar"),
        ("ward_code", "varchar"),
        ("ward_name", "varchar"),
        ("area_committee", "varchar"),
        ("attached_date", "date"),
        ("closure_date", "date"),
        ("total_distance", "double"),
        ("probability", "double"),
        ("logit", "double"),
        ("baseline_logit", "double"),
        ("rank", "bigint"),
        ("rule_rank", "bigint"),
        ("in_top_k", "boolean"),
        ("rule_in_top_k", "boolean"),
    ],
    "ranking_reason": [
        ("model_version", "varchar"),
        ("list", "varchar"),
        ("family_key", "varchar"),
        ("feature", "varchar"),
        ("value", "double"),
        ("contribution", "double"),
        ("reason_rank", "integer"),
        ("subject", "varchar"),  # the problem the feature is about (or the feature itself)
        ("top_reason_rank", "integer"),  # 1-3: shown beside the family (one per subject)
        ("reason", "varchar"),
    ],
    "ranking_evaluation": [
        ("model_version", "varchar"),
        ("family_key", "varchar"),
        ("cohort", "varchar"),
        ("attached_date", "date"),
        ("outcome_date", "date"),
        ("label", "integer"),
        ("total_distance", "double"),
        ("probability", "double"),
        ("in_top_k", "boolean"),
        ("rule_in_top_k", "boolean"),
    ],
    "ranking_fairness": [
        ("model_version", "varchar"),
        ("population", "varchar"),
        ("attribute", "varchar"),
        ("attribute_label", "varchar"),
        ("group_name", "varchar"),
        ("families", "bigint"),
        ("attribute_coverage", "double"),
        ("metric", "varchar"),
        ("metric_label", "varchar"),
        ("value", "double"),
        ("whole", "double"),
        ("ratio", "double"),
        ("is_flagged", "boolean"),
        ("is_small_group", "boolean"),
    ],
    "ranking_document": [
        ("model_version", "varchar"),
        ("document", "varchar"),
        ("format", "varchar"),
        ("title", "varchar"),
        ("text", "varchar"),
    ],
}


def _columns_sql(table: str) -> str:
    return ", ".join(f'"{name}" {kind}' for name, kind in SCHEMAS[table])


def write_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, pd.DataFrame]) -> None:
    """Replace every ranking table with this run's rows; add the run to model_version."""
    for table in SCHEMAS:
        frame = tables.get(table)
        if table == "model_version":
            con.execute(f"create table if not exists model_version ({_columns_sql(table)})")
            # a model trained by an earlier version keeps its runs, gaining any new column
            existing = {row[0] for row in con.execute("describe model_version").fetchall()}
            for name, kind in SCHEMAS[table]:
                if name not in existing:
                    con.execute(f'alter table model_version add column "{name}" {kind}')
            con.execute("update model_version set is_current = false")
            frame = frame.assign(is_current=True)
        else:
            con.execute(f"create or replace table {table} ({_columns_sql(table)})")
        if frame is None or not len(frame):
            continue
        columns = [name for name, _ in SCHEMAS[table]]
        frame = frame.reindex(columns=columns)
        con.register("qw_rows", frame)
        try:
            # table and column names are this module's own, never input
            quoted = ", ".join(f'"{c}"' for c in columns)
            con.execute(f"insert into {table} ({quoted}) select {quoted} from qw_rows")
        finally:
            con.unregister("qw_rows")
