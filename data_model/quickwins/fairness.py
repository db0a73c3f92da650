"""The fairness check: how the ranking treats groups of families, on the later cohort (and, for
selection alone, on today's lists), with fairlearn's MetricFrame.

The audit groups (ethnicity group, sex of the eldest child, area committee, ward) are read here
and only here: they are never features (data_model/quickwins/features.py).

Per group: families, the share whose attribute is recorded (coverage), selection rate in the top
k, precision and recall in the top k, and calibration (outcomes observed ÷ outcomes the
probabilities expected); each divided by the whole cohort's figure. A ratio outside the
settings' tolerance (0.8 to 1.25 by default) is flagged.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, selection_rate

NOT_RECORDED = "Not recorded"
ATTRIBUTES = {
    "ethnicity_group": "Ethnicity group",
    "eldest_child_sex": "Sex of the eldest child",
    "area_committee": "Area committee",
    "ward_name": "Ward",
}
METRICS = {
    "selection_rate": "Selection rate in the top k",
    "precision": "Precision in the top k",
    "recall": "Recall in the top k",
    "calibration": "Outcomes observed ÷ expected",
}

# The ONS 2021 high-level ethnic groups, from the DfE's four-letter codes (school census) or
# the words early help systems record ("Asian or Asian British - Pakistani"). Refused and not
# obtained are not recorded.
_DFE_GROUPS = {"W": "White", "M": "Mixed", "A": "Asian", "B": "Black", "C": "Asian", "O": "Other"}
_WORD_GROUPS = (
    ("white", "White"),
    ("mixed", "Mixed"),
    ("asian", "Asian"),
    ("chinese", "Asian"),
    ("black", "Black"),
    ("other", "Other"),
    ("any other", "Other"),
    ("arab", "Other"),
)


def ethnicity_group(recorded: object) -> str:
    """The high-level group of one recorded ethnicity (a DfE code or words)."""
    if recorded is None or (isinstance(recorded, float) and np.isnan(recorded)):
        return NOT_RECORDED
    text = str(recorded).strip()
    if text.upper() in ("REFU", "NOBT", ""):
        return NOT_RECORDED
    if len(text) == 4 and text.isalpha() and text.isupper():
        return _DFE_GROUPS.get(text[0], NOT_RECORDED)
    lowered = text.lower()
    for start, group in _WORD_GROUPS:
        if lowered.startswith(start):
            return group
    return NOT_RECORDED


def _ethnicity_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The staged sources that record ethnicity (early help today; the school census where the
    council's extract has the column)."""
    rows = con.execute(
        """
        select table_name from information_schema.columns
        where column_name = 'ethnicity' and table_name like 'stg_%'
          and table_catalog = current_database()
        order by table_name
        """
    ).fetchall()
    return [row[0] for row in rows]


def audit_groups(con: duckdb.DuckDBPyConnection, families: pd.DataFrame) -> pd.DataFrame:
    """Each family's audit groups on its feature date: the index child's recorded ethnicity group
    (else the group most often recorded among the family's members), the sex of the eldest child
    in the household then, and the ward and area committee it lives in."""
    keys = families[["family_key", "feature_date"]].drop_duplicates().copy()
    keys["feature_date"] = pd.to_datetime(keys["feature_date"]).dt.date
    recorded = []
    for table in _ethnicity_sources(con):
        # table names come from the catalogue above, never from a user
        recorded.append(
            f"select source, source_record_id, ethnicity, record_date from {table}"
            " where ethnicity is not null"
        )
    con.register("qw_audit_families", keys)
    try:
        if recorded:
            ethnicity = con.execute(
                f"""
                with recorded as ({" union all ".join(recorded)}),
                latest as (
                    select link.person_key, recorded.ethnicity
                    from recorded
                    inner join mart_person_source_record as link using (source, source_record_id)
                    qualify row_number() over (
                        partition by link.person_key
                        order by recorded.record_date desc, recorded.source_record_id
                    ) = 1
                )
                select member.family_key, latest.person_key, latest.ethnicity,
                       latest.person_key = family.index_person_key as is_index
                from latest
                inner join mart_family_member as member using (person_key)
                inner join mart_family as family using (family_key)
                where member.family_key in (select family_key::varchar from qw_audit_families)
                """
            ).df()
        else:
            ethnicity = pd.DataFrame(columns=["family_key", "person_key", "ethnicity", "is_index"])
        places = con.execute(
            """
            select families.family_key, families.feature_date,
                   coalesce(family.ward_name, ?) as ward_name,
                   coalesce(wards.area_committee, ?) as area_committee,
                   coalesce((
                       select person.sex from mart_family_member as member
                       inner join mart_person as person using (person_key)
                       where member.family_key = families.family_key
                         and families.feature_date between member.valid_from and member.valid_to
                         and person.dob <= families.feature_date
                         and person.dob > families.feature_date - interval 18 year
                       order by person.dob, person.person_key
                       limit 1
                   ), ?) as eldest_child_sex
            from (
                select family_key::varchar as family_key, feature_date::date as feature_date
                from qw_audit_families
            ) as families
            left join mart_family as family using (family_key)
            left join stg_wards as wards using (ward_code)
            """,
            [NOT_RECORDED, NOT_RECORDED, NOT_RECORDED],
        ).df()
    finally:
        con.unregister("qw_audit_families")
    places["feature_date"] = pd.to_datetime(places["feature_date"]).dt.date
    places["eldest_child_sex"] = (
        places["eldest_child_sex"].map({"F": "Female", "M": "Male"}).fillna(NOT_RECORDED)
    )
    ethnicity["group"] = ethnicity["ethnicity"].map(ethnicity_group)
    known = ethnicity[ethnicity["group"] != NOT_RECORDED]
    index_group = known[known["is_index"].astype(bool)].groupby("family_key")["group"].first()
    commonest = (
        known.groupby(["family_key", "group"]).size().reset_index(name="n")
        .sort_values(["family_key", "n", "group"], ascending=[True, False, True])
        .drop_duplicates("family_key").set_index("family_key")["group"]
    )  # fmt: skip
    family_group = index_group.combine_first(commonest)
    places["ethnicity_group"] = places["family_key"].map(family_group).fillna(NOT_RECORDED)
    return (
        families[["family_key", "feature_date"]]
        .assign(feature_date=lambda f: pd.to_datetime(f["feature_date"]).dt.date)
        .merge(places, on=["family_key", "feature_date"], how="left")
    )


def _calibration(y_true: np.ndarray, probability: np.ndarray) -> float:
    expected = float(np.sum(probability))
    return float(np.sum(y_true)) / expected if expected > 0 else float("nan")


def _precision(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Of the group's families in the top k, the share with the outcome (scikit-learn's
    precision_score, without its checks, which cost more than the sum for 30 wards)."""
    chosen = np.asarray(y_pred) == 1
    return float(np.asarray(y_true)[chosen].mean()) if chosen.any() else float("nan")


def _recall(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Of the group's families with the outcome, the share in the top k."""
    reached = np.asarray(y_true) == 1
    return float((np.asarray(y_pred)[reached] == 1).mean()) if reached.any() else float("nan")


class _Figures:
    """by_group (a frame, one column per metric) and overall, as a MetricFrame has them."""

    def __init__(self, by_group: pd.DataFrame, overall: pd.Series) -> None:
        self.by_group, self.overall = by_group, overall


def _metric_frames(
    y: np.ndarray, selected: np.ndarray, probability: np.ndarray, features: np.ndarray
) -> list:
    """fairlearn's MetricFrames: the top k's selection, precision and recall by group, and
    calibration (outcomes observed ÷ the probabilities' sum) by group."""
    return [
        MetricFrame(
            metrics={"selection_rate": selection_rate, "precision": _precision,
                     "recall": _recall},
            y_true=y, y_pred=selected, sensitive_features=features,
        ),
        MetricFrame(
            metrics={"calibration": _calibration}, y_true=y,
            y_pred=np.asarray(probability, dtype=float), sensitive_features=features,
        ),
    ]  # fmt: skip


def fairness_table(
    groups: pd.DataFrame,
    selected: np.ndarray,
    settings: dict,
    y: np.ndarray | None = None,
    probability: np.ndarray | None = None,
    population: str = "later cohort",
) -> pd.DataFrame:
    """One row per attribute, group and metric: the group's figure, the whole's, their ratio and
    whether it is flagged. Without outcomes (today's lists) only the selection rate."""
    low, high = float(settings["tolerance_low"]), float(settings["tolerance_high"])
    small = int(settings["small_group"])
    selected = np.asarray(selected, dtype=int)
    rows = []
    for attribute, attribute_label in ATTRIBUTES.items():
        features = groups[attribute].to_numpy()
        coverage = float(np.mean(features != NOT_RECORDED))
        sizes = pd.Series(features).value_counts()
        if y is None:
            # today's lists: selection alone, a plain group-by (MetricFrame's set-up costs a
            # tenth of a second a frame, and here there is nothing else to compute)
            by_group = pd.Series(selected).groupby(features).mean()
            frames = [_Figures(by_group.to_frame("selection_rate"),
                               pd.Series({"selection_rate": selected.mean()}))]  # fmt: skip
        else:
            frames = _metric_frames(np.asarray(y, dtype=int), selected, probability, features)
        for frame in frames:
            for metric in frame.by_group.columns:
                whole = float(frame.overall[metric])
                for group, value in frame.by_group[metric].items():
                    value = float(value)
                    ratio = (
                        value / whole
                        if whole and np.isfinite(whole) and np.isfinite(value)
                        else None
                    )
                    rows.append(
                        {
                            "population": population,
                            "attribute": attribute,
                            "attribute_label": attribute_label,
                            "group_name": str(group),
                            "families": int(sizes[group]),
                            "attribute_coverage": coverage,
                            "metric": metric,
                            "metric_label": METRICS[metric],
                            "value": value if np.isfinite(value) else None,
                            "whole": whole if np.isfinite(whole) else None,
                            "ratio": ratio,
                            "is_flagged": ratio is not None and not (low <= ratio <= high),
                            "is_small_group": int(sizes[group]) < small,
                        }
                    )
    return pd.DataFrame(rows)
