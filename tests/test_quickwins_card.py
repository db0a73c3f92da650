"""The model card and the transparency record: made from the run's stored rows, with every
section and field the model card literature and the UK Algorithmic Transparency Recording
Standard ask for, and text from data rendered as text in Markdown and HTML."""

from __future__ import annotations

import json
from datetime import date, datetime
from html.parser import HTMLParser

import pandas as pd

from data_model.quickwins import card
from data_model.quickwins.config import quickwins_settings
from data_model.quickwins.document import WORD_JOINER

HOSTILE = "[Click me](http://evil.example) <script>alert(1)</script> # **bold** :smile: |x|"

MODEL_CARD_SECTIONS = [
    "Model details", "Intended use", "Factors", "Features", "Metrics", "Evaluation data",
    "Training data", "Quantitative analyses", "Results by group", "Ethical considerations",
    "Caveats and recommendations",
]  # fmt: skip
ATRS_FIELDS = [
    # tier 1
    "Name", "Description", "Website", "Contact",
    # tier 2
    "Organisation", "Team", "Senior responsible owner", "Third parties",
    "Detailed description", "Scope", "Benefit", "Previous process", "Alternatives considered",
    "Integration into the process", "Information given to decision makers", "Human review",
    "Required training", "Appeals and review",
    "System architecture", "Maintenance", "System-level input", "System-level output",
    "Model name", "Version", "Task", "Input", "Output", "Architecture", "Performance",
    "Performance by subgroup", "Datasets and their purposes",
    "Modality", "Quantities", "Sensitive attributes", "Completeness and representativeness",
    "Collection", "Cleaning", "Sharing agreements", "Access and storage",
]  # fmt: skip


# as train._challenger_verdict words it
VERDICT = (
    "not adopted: the challenger's precision in the top k (50.0%) did not beat the logistic "
    "regression's (55.0%) and the rule's (35.0%) by 5%"
)


def _run_tables(settings: dict) -> dict[str, pd.DataFrame]:
    """A trained run's rows, made by hand, with hostile text where data can put text."""
    version = {
        "model_version": "ranking-20200331-abc", "status": "trained", "status_reason": "",
        "trained_at": datetime(2026, 12, 4, 9, 30), "seed": 1, "plan_id": HOSTILE,
        "pays_results": True, "label": "a results claim within 12 months of attachment",
        "horizon_months": 12, "as_at_date": date(2020, 3, 31), "fit_from": date(2014, 10, 1),
        "fit_to": date(2016, 9, 30), "calibration_from": date(2016, 10, 1),
        "calibration_to": date(2017, 3, 31), "test_from": date(2018, 4, 1),
        "test_to": date(2019, 3, 31), "fit_families": 900, "fit_outcomes": 200,
        "calibration_families": 200, "calibration_outcomes": 50, "test_families": 420,
        "test_outcomes": 100, "team_capacity": 60, "estimator": "logistic regression",
        "challenger_verdict": VERDICT, "data_hash": "d" * 64,
        "scikit_learn_version": "1.9.1", "fairlearn_version": "0.15.0",
        "settings_json": json.dumps(settings),
    }  # fmt: skip
    metrics = pd.DataFrame(
        [
            ("model", "precision_at_k", 0.55, 0.45, 0.65),
            ("rule", "precision_at_k", 0.35, 0.25, 0.45),
            ("difference: model − rule", "precision_at_k", 0.2, 0.08, 0.31),
            ("model", "roc_auc", 0.71, 0.66, 0.76),
            ("model", "recall_at_k", 0.33, 0.27, 0.4),
            ("base rate", "rate", 0.24, 0.2, 0.28),
        ],
        columns=["ranker", "metric", "value", "lower", "upper"],
    )
    coefficients = pd.DataFrame(
        {"feature": ["problem_count"], "feature_label": [HOSTILE], "unit": [""],
         "kind": ["number"], "coefficient": [-0.4], "scaler_mean": [2.0],
         "scaler_scale": [1.0]}
    )  # fmt: skip
    calibration = pd.DataFrame(
        {"ranker": ["model"], "bin": [3], "bin_from": [0.2], "bin_to": [0.3], "families": [420],
         "mean_probability": [0.24], "observed_rate": [0.24]}
    )  # fmt: skip
    fairness = pd.DataFrame(
        {"population": ["later cohort"], "attribute": ["ward_name"], "attribute_label": ["Ward"],
         "group_name": [HOSTILE], "families": [12], "attribute_coverage": [0.97],
         "metric": ["selection_rate"], "metric_label": ["Selection rate in the top k"],
         "value": [0.5], "whole": [0.14], "ratio": [3.5], "is_flagged": [True],
         "is_small_group": [True]}
    )  # fmt: skip
    return {
        "model_version": pd.DataFrame([version]),
        "ranking_metric": metrics,
        "ranking_coefficient": coefficients,
        "ranking_calibration": calibration,
        "ranking_fairness": fairness,
        "ranking_score": pd.DataFrame({"family_key": ["FK-1", "FK-2"]}),
    }


def _documents(contact: str = HOSTILE) -> pd.DataFrame:
    settings = json.loads(json.dumps(quickwins_settings()))
    settings["model_card"] = {**settings["model_card"], "contact": contact,
                              "organisation": HOSTILE}  # fmt: skip
    return card.documents(_run_tables(settings), settings)


def _text(documents: pd.DataFrame, name: str, fmt: str) -> str:
    rows = documents[(documents["document"] == name) & (documents["format"] == fmt)]
    assert len(rows) == 1
    return rows.iloc[0]["text"]


def test_the_model_card_has_every_section_and_the_runs_figures():
    text = _text(_documents(), "model card", "markdown")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == MODEL_CARD_SECTIONS
    assert "ranking\\-20200331\\-abc" in text  # the version, from the run
    assert "55.0% (95% interval 45.0% to 65.0%)" in text  # the model's precision in the top k
    assert "35.0% (95% interval 25.0% to 45.0%)" in text  # the rule's
    assert "01 Apr 2018 to 31 Mar 2019" in text  # the later cohort, dates as users read them
    assert "ratio 3.50 (12 families)" in text  # the flagged group figure
    assert "recorded for 97.0% of the later cohort" in text  # coverage stated
    assert "trained on the synthetic district" not in text


def test_a_synthetic_models_card_says_it_learns_the_generators_mechanism():
    settings = json.loads(json.dumps(quickwins_settings()))
    tables = _run_tables(settings)
    tables["model_version"]["is_synthetic"] = True
    documents = card.documents(tables, settings)
    assert "trained on the synthetic district: it learns the generator's mechanism" in _text(
        documents, "model card", "markdown"
    )


def test_the_transparency_record_has_the_standards_fields():
    documents = _documents(contact="families.first@example.gov.uk")
    text = _text(documents, "transparency record", "markdown")
    fields = [line.split("**")[1] for line in text.splitlines() if line.startswith("- **")]
    for field in ATRS_FIELDS:
        assert field in fields, field
    assert "Tier 1: summary information" in text
    # the council's own contact, from settings, shown as text and never a link
    assert f"families\\.first{WORD_JOINER}@example\\.gov\\.uk" in text
    # the run's own regularisation, from its settings, and the challenger's verdict said once
    plain_text = text.replace("\\", "")  # Markdown's escapes
    c = quickwins_settings()["ranking"]["regularisation_c"]
    assert f"L2-regularised with C = {c});" in plain_text
    assert f"measured the same way: {VERDICT}." in plain_text
    assert plain_text.count("not adopted") == 1


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_text_from_data_is_text_in_markdown_and_html():
    documents = _documents()
    for name in card.DOCUMENTS:
        markdown = _text(documents, name, "markdown")
        assert "[Click me](http" not in markdown and "<script>" not in markdown
        assert f"\\[Click me\\]\\({WORD_JOINER}http" in markdown and "\\<script\\>" in markdown
        assert ":smile:" not in markdown  # an emoji shortcode stays text
        html = _text(documents, name, "html")
        parsed = _Collector()
        parsed.feed(html)
        assert "script" not in parsed.tags and "a" not in parsed.tags
        assert HOSTILE in "".join(parsed.text)  # shown exactly as typed
    # a hostile group name cannot break the fairness table's row in Markdown
    table_rows = [
        line for line in _text(documents, "model card", "markdown").splitlines()
        if line.startswith("| Ward |")
    ]  # fmt: skip
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 6
