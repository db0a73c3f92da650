"""The model card (Mitchell et al., 2019) and the UK Algorithmic Transparency Recording Standard
record, generated from the stored run (model_version, coefficients, metrics, calibration,
fairness) and the council's own fields (data_model/quickwins.yaml, model_card), as Markdown and
HTML for the Help page to show and offer for download."""

from __future__ import annotations

import json
import math
from datetime import date, datetime

import pandas as pd

from data_model.quickwins.document import Data, Document, Section

MODEL_NAME = "Quick-wins ranking"
DOCUMENTS = {
    "model card": "Model card: the quick-wins ranking",
    "transparency record": "Algorithmic transparency record: the quick-wins ranking",
}
RANKERS = {"model": "the model", "rule": "the rule", "challenger": "the challenger (not in use)"}
METRIC_WORDS = {
    "precision_at_k": "Precision in the top k",
    "outcomes_in_top_k": "Outcomes in the top k",
    "expected_outcomes_in_top_k": "Outcomes the probabilities expected in the top k",
    "recall_at_k": "Recall in the top k",
    "lift_at_k": "Lift over the base rate in the top k",
    "roc_auc": "ROC AUC",
    "average_precision": "Average precision",
    "brier": "Brier score (lower is better)",
    "calibration_error": "Expected calibration error, 10 bins (lower is better)",
}
THE_FIELD = (
    "Predictive tools for families have a poor public record: Hackney's Early Help Profiling "
    "System was dropped after £361,400 without the expected benefits, and its supplier refused "
    "auditors access; Thurrock's produced all its Troubled Families referrals while the council "
    "could provide no evaluation; Bristol's models were later found unfit for use with no code "
    "or variable list to be found; and What Works for Children's Social Care (2020) found models "
    "in four councils wrong about 6 times in 10 when they flagged a child and missing about 4 in "
    "5 at-risk children. This ranking is built to be the opposite: advisory, published with its "
    "features, coefficients and code, compared with a simple rule on a later cohort, explained "
    "family by family, checked by group, and switched off by one setting."
)


def _day(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "not known"
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y %H:%M UTC")
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return pd.Timestamp(value).strftime("%d %b %Y")


def _share(value: object) -> str:
    if value is None or pd.isna(value):
        return "not defined"
    return f"{float(value):.1%}"


def _number(value: object, places: int = 3) -> str:
    if value is None or pd.isna(value):
        return "not defined"
    return f"{float(value):,.{places}f}"


def _count(value: object) -> str:
    return "0" if value is None or pd.isna(value) else f"{int(value):,}"


class _Run:
    """The stored run, read once."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.version = tables["model_version"].iloc[0].to_dict()
        self.trained = self.version["status"] == "trained"
        self.coefficients = tables.get("ranking_coefficient", pd.DataFrame())
        self.metrics = tables.get("ranking_metric", pd.DataFrame())
        self.calibration = tables.get("ranking_calibration", pd.DataFrame())
        self.fairness = tables.get("ranking_fairness", pd.DataFrame())
        self.scores = tables.get("ranking_score", pd.DataFrame())
        self.settings = json.loads(self.version["settings_json"])

    def metric(self, ranker: str, metric: str) -> tuple[float, float, float] | None:
        rows = self.metrics[(self.metrics["ranker"] == ranker) & (self.metrics["metric"] == metric)]
        if not len(rows):
            return None
        row = rows.iloc[0]
        return float(row["value"]), float(row["lower"]), float(row["upper"])

    def metric_words(self, ranker: str, metric: str) -> str:
        found = self.metric(ranker, metric)
        if found is None:
            return "not measured"
        value, lower, upper = found
        as_share = metric in ("precision_at_k", "recall_at_k")
        shown = _share if as_share else (lambda v: _number(v, 1 if "outcomes" in metric else 3))
        return f"{shown(value)} (95% interval {shown(lower)} to {shown(upper)})"

    @property
    def k(self) -> int:
        return int(self.version["team_capacity"])

    @property
    def is_synthetic_note(self) -> str:
        if self.version.get("is_synthetic"):
            return (
                "This model was trained on the synthetic district: it learns the generator's "
                "mechanism (loaders/synthetic/SYNTHETIC.md), not how real families fare. Its "
                "figures say whether the method works, not how well it would work on a "
                "council's data."
            )
        return (
            "Trained on the council's own data: the figures describe the later cohort of this "
            "council's families, and may not hold for another council or another period."
        )


def _cohort_rows(run: _Run) -> list[list]:
    v = run.version
    return [
        ["Fit (training)", f"{_day(v.get('fit_from'))} to {_day(v['fit_to'])}",
         _count(v.get("fit_families")), _count(v.get("fit_outcomes"))],
        ["Calibration (training)",
         f"{_day(v['calibration_from'])} to {_day(v['calibration_to'])}",
         _count(v.get("calibration_families")), _count(v.get("calibration_outcomes"))],
        ["Later cohort (test)", f"{_day(v['test_from'])} to {_day(v['test_to'])}",
         _count(v.get("test_families")), _count(v.get("test_outcomes"))],
    ]  # fmt: skip


def _flagged(run: _Run) -> pd.DataFrame:
    if not len(run.fairness):
        return run.fairness
    return run.fairness[run.fairness["is_flagged"].astype(bool)]


def _fairness_rows(run: _Run, population: str = "later cohort") -> list[list]:
    frame = run.fairness[run.fairness["population"] == population] if len(run.fairness) else []
    rows = []
    for r in frame.itertuples() if len(frame) else []:
        ratio = "not defined" if r.ratio is None or pd.isna(r.ratio) else f"{r.ratio:.2f}"
        flag = "outside tolerance" if r.is_flagged else ""
        if r.is_small_group:
            flag = (flag + "; " if flag else "") + "small group"
        value = _number(r.value, 2) if r.metric == "calibration" else _share(r.value)
        rows.append(
            [r.attribute_label, Data(str(r.group_name)), _count(r.families), r.metric_label,
             value, ratio, flag]
        )  # fmt: skip
    return rows


def _coverage_words(run: _Run) -> list:
    if not len(run.fairness):
        return ["No fairness check was run."]
    cohort = run.fairness[run.fairness["population"] == "later cohort"]
    covered = cohort.drop_duplicates("attribute")
    return [
        f"{r.attribute_label}: recorded for {_share(r.attribute_coverage)} of the later cohort's "
        "families."
        for r in covered.itertuples()
    ]


_UNIT_WORDS = {"flag": "1 yes, 0 no", "category": "1 yes, 0 no"}


def _feature_rows(run: _Run) -> list[list]:
    return [
        [Data(r.feature_label), _UNIT_WORDS.get(r.kind) or r.unit or "count",
         _number(r.coefficient, 3),
         _number(r.scaler_mean, 2), _number(r.scaler_scale, 2)]
        for r in run.coefficients.itertuples()
    ]  # fmt: skip


def _performance_rows(run: _Run) -> list[list]:
    rows = []
    rankers = [r for r in RANKERS if len(run.metrics) and (run.metrics["ranker"] == r).any()]
    for metric, words in METRIC_WORDS.items():
        cells = [run.metric_words(r, metric) if run.metric(r, metric) else "" for r in rankers]
        if any(cells):
            rows.append([words, *cells])
    return rows


def _status_paragraph(run: _Run) -> list:
    v = run.version
    if run.trained:
        return [
            f"Version {v['model_version']}, trained {_day(v['trained_at'])} on the model's data "
            f"as at {_day(v['as_at_date'])}."
        ]
    return [
        f"No model is in use ({v['status']}): {v['status_reason']}. The lists of families stay "
        "unranked; every figure below that needs a trained model says so."
    ]


def outcome_words(pays_results: bool) -> str:
    """The outcome in words: a results claim only where the plan pays for results (a plan
    without payments speaks of its sustained outcome, and of no money). The label's words
    (cohorts.label_words) and the pages' start from it."""
    return "a results claim" if pays_results else "the plan's sustained outcome"


def _regularisation(version: dict) -> str:
    """The logistic regression's C, from the run's own settings."""
    try:
        return str(json.loads(version["settings_json"])["ranking"]["regularisation_c"])
    except (KeyError, TypeError, ValueError):
        return "not recorded"


def model_card(run: _Run, council: dict) -> Document:
    v = run.version
    k = run.k
    details = Section("Model details").fields(
        [
            ("Name", MODEL_NAME),
            ("Version", Data(v["model_version"])),
            ("Status", Data(v["status"] + (f": {v['status_reason']}" * bool(v["status_reason"])))),
            ("Trained", _day(v["trained_at"])),
            ("Kind", v["estimator"] + "; scikit-learn " + v["scikit_learn_version"]),
            ("Predicts", Data(f"the probability of {v['label']}")),
            ("Outcomes plan", Data(str(v["plan_id"]))),
            ("Owner", Data(council["organisation"])),
            ("Contact", Data(council["contact"])),
            ("Stored as", "coefficients, scaler and calibration as numbers in the model's "
             "tables (no pickle); every ranked row stamped with the version"),
        ]
    )  # fmt: skip
    intended = Section("Intended use").bullets(
        [
            "To help an analyst or practitioner choose, among attached families not yet at a "
            "sustained outcome, which may be helped most by a final push, and, among families "
            "who meet the plan's eligibility rule but were never referred, which to consider "
            "offering support.",
            f"The ranking is advisory: it orders lists that exist without it; a practitioner "
            f"decides, and each decision is recorded beside the flag. k = {k} is the team's "
            "capacity (data_model/quickwins.yaml).",
            "Out of scope: deciding eligibility (a rule does that), deciding on a family without "
            "a practitioner, safeguarding or social care risk assessment, any use outside the "
            "programme, and any use that withholds or withdraws support.",
        ]
    )
    factors = Section("Factors").bullets(
        [
            "Audit groups, used only to check the ranking and never as features: ethnicity "
            "group (the ONS's five high-level groups, from the early help system and, where "
            "the extract has it, the school census), sex of the eldest child, area committee "
            "and ward.",
            "No protected characteristic is a feature: not ethnicity, religion, sex or "
            "disability. Ages of the household's children are (age is itself a protected "
            "characteristic under the Equality Act 2010: they stand for the household's "
            "make-up, and school-age children for attendance). Ward, cluster caseload and "
            "referral source may act as proxies for ethnicity; the results by group are the "
            "check on that.",
        ]
    )
    features = (
        Section("Features")
        .para(
            "Every feature is known on the day of attachment (on the as-at date when today's "
            "families are scored). Coefficients are per standard deviation of the feature, before "
            "calibration; a positive one raises the chance of the outcome."
        )
        .para(
            "A results claim is not the sum of a family's problems: the plan asks for its "
            "eligibility, then either a route of its own (an adult into continuous employment) or "
            "progress on every problem. The claim-shape features give the model that shape, each "
            "still one coefficient times one value: whether the family met the eligibility when "
            "attached, and for each other problem whether the family has it with no route to a "
            "claim but progress on every problem."
        )
    )
    if len(run.coefficients):
        features.table(
            ["Feature", "Unit", "Coefficient", "Training mean", "Standard deviation"],
            _feature_rows(run),
        )
    else:
        features.para("No model was trained, so no coefficients.")
    metrics = Section("Metrics").bullets(
        [
            f"Precision in the top k: of the k = {k} families ranked highest in the later "
            "cohort, the share who reached the outcome; recall in the top k: of the cohort's "
            "families who reached it, the share in the top k; expected outcomes: the sum of "
            "the probabilities of the top k.",
            "ROC AUC and average precision (how well the whole order separates families who "
            "reached the outcome), the Brier score and the expected calibration error over 10 "
            "equal bins (how close the probabilities are to what happened).",
            f"Each with a 95% interval from {run.settings['ranking']['bootstrap_resamples']:,} "
            "bootstrap resamples of the later cohort's families; the model and the rule are "
            "compared on the same resamples.",
            "The rule: smallest total distance to threshold first, over the plan's measures of "
            "the problems the family has, each distance in the plan's near margins (points, "
            "weeks and records then add up); ties in a seeded random order.",
        ]
    )
    evaluation = Section("Evaluation data").para(
        "The later cohort: families attached in the months before follow-up was last complete "
        f"(the as-at date less {v['horizon_months']} months), each labelled with whether it "
        f"reached {v['label']}."
    )
    training = (
        Section("Training data")
        .para(
            "Earlier attachment cohorts, split by explicit dates, not by rows: the fit cohorts "
            "train the logistic regression, the calibration cohorts the sigmoid calibration over "
            f"the frozen model. Training ends {v['horizon_months']} months (the horizon) before "
            "the later cohort starts, so every training label was known when the first family "
            "of the later cohort was attached."
        )
        .table(["Cohort", "Attached", "Families", "With the outcome"], _cohort_rows(run))
    )
    training.para("Data hash (SHA-256 of the labelled families' features): ",
                  Data(str(v.get("data_hash") or "none")), ".")  # fmt: skip
    results = Section("Quantitative analyses")
    if run.trained:
        rankers = [RANKERS[r] for r in RANKERS if (run.metrics["ranker"] == r).any()]
        results.table(["Metric", *[r.capitalize() for r in rankers]], _performance_rows(run))
        results.para(
            "Model minus rule, precision in the top k: "
            + run.metric_words("difference: model − rule", "precision_at_k")
            + ". Base rate in the later cohort: "
            + _share(run.metric("base rate", "rate")[0])
            + "."
        )
        results.para("Challenger: ", Data(str(v.get("challenger_verdict") or "")), ".")
        curve = run.calibration[run.calibration["ranker"] == "model"]
        results.table(
            ["Probability", "Families", "Mean probability", "Observed rate"],
            [
                [f"{r.bin_from:.1f} to {r.bin_to:.1f}", _count(r.families),
                 _share(r.mean_probability), _share(r.observed_rate)]
                for r in curve.itertuples() if r.families
            ],
        )  # fmt: skip
    else:
        results.para("No model was trained: nothing was measured.")
    by_group = Section("Results by group")
    tolerance = run.settings["fairness"]
    by_group.para(
        f"On the later cohort, per group: selection rate, precision and recall in the top k, "
        "and outcomes observed ÷ expected, each divided by the whole cohort's figure. A ratio "
        f"outside {tolerance['tolerance_low']} to {tolerance['tolerance_high']} is flagged; a "
        f"group of fewer than {tolerance['small_group']} families is marked small (its ratios "
        "move a lot with one family)."
    )
    by_group.bullets(_coverage_words(run))
    flagged = _flagged(run)
    if len(flagged):
        by_group.para(f"{len(flagged):,} figures are outside the tolerance:")
        by_group.bullets(
            [
                [f"{r.population}, {r.attribute_label}: ", Data(str(r.group_name)),
                 f", {r.metric_label.lower()}: ratio {r.ratio:.2f} ({_count(r.families)} "
                 "families)"]
                for r in flagged.itertuples()
            ]
        )  # fmt: skip
    elif run.trained:
        by_group.para("No figure is outside the tolerance.")
    rows = _fairness_rows(run)
    if rows:
        by_group.table(
            ["Attribute", "Group", "Families", "Metric", "Value", "Ratio to whole", "Flag"], rows
        )
    ethics = (
        Section("Ethical considerations")
        .para(THE_FIELD)
        .bullets(
            [
                "Every flag is reviewed by a person, who can mark it referred or pushed, or not "
                "appropriate with a reason; the decision is attributed and audited.",
                "A family's reasons are exact: each feature's part in its score, adding up to the "
                "logit of its probability.",
                "The ranking can be switched off in data_model/quickwins.yaml (ranking: enabled); "
                "the lists then stay, unranked.",
                "Under payment by results the Public Accounts Committee (2016) found councils "
                "moving families through quickly: the ranking is framed around families close to a "
                "sustained outcome, with money as context only where the plan pays.",
            ]
        )
    )
    caveats = Section("Caveats and recommendations").bullets(
        [
            "Unreferred eligible families were never attached: the model learnt from attached "
            "families, and its scores for them say how similar families fared once attached, "
            "not what would happen to them.",
            "Training uses each family's features on its day of attachment; today's families "
            "are scored on their features today, which for a family attached months ago "
            "already reflect some of its progress.",
            run.is_synthetic_note,
            "The gradient-boosting challenger is evaluated at every training but never stored. "
            "If it were adopted, it would be saved with skops, loaded only with a pinned list "
            "of trusted types and after a SHA-256 check of the file, and its per-family reasons "
            "would need a method of their own (its contributions are not exact as a logistic "
            "regression's are) before it could be used.",
            "Retrained at every build: compare the version, the data hash and the metrics "
            "between builds, and look again at the results by group each time.",
        ]
    )
    return Document(
        DOCUMENTS["model card"],
        [_status_paragraph(run)],
        [
            details,
            intended,
            factors,
            features,
            metrics,
            evaluation,
            training,
            results,
            by_group,
            ethics,
            caveats,
        ],  # fmt: skip
    )


def transparency_record(run: _Run, council: dict) -> Document:
    v = run.version
    k = run.k
    summary = Section("Tier 1: summary information").fields(
        [
            ("Name", MODEL_NAME),
            ("Description", "A ranking of families in the Families First programme: attached "
             "families who may be close to a sustained outcome and need a final push, and "
             "eligible families nobody has referred. It orders lists that exist without it, "
             "gives each family's reasons, and a practitioner decides."),
            ("Website", Data(council.get("website") or "not published yet")),
            ("Contact", Data(council["contact"])),
        ]
    )  # fmt: skip
    owner = Section("Owner and responsibility").fields(
        [
            ("Organisation", Data(council["organisation"])),
            ("Team", Data(council["team"])),
            ("Senior responsible owner", Data(council["senior_responsible_owner"])),
            ("Third parties", Data(council["third_parties"])),
        ]
    )
    rationale = Section("Description and rationale").fields(
        [
            ("Detailed description", Data(
                f"A logistic regression estimates for each family the probability of "
                f"{v['label']}, from the council's own extracts as linked in the model; the "
                f"families are ordered by it and the top {k} (the team's capacity) marked.")),
            ("Scope", "Attached families without the outcome yet, and families eligible under "
             "the outcomes plan who were never referred, in the council's area."),
            ("Benefit", "Finite key-worker time goes first where a final push is most likely "
             "to secure a sustained outcome; eligible families the service has missed are "
             "found; every suggestion comes with its reasons."),
            ("Previous process", "Analysts listed families near a claim by hand or with the "
             "Near threshold page's rule."),
            ("Alternatives considered", "The rule alone (smallest total distance to threshold "
             "first), measured beside the model on the same cohort; and a gradient-boosting "
             "model, measured the same way: "
             + str(v.get("challenger_verdict") or "not trained") + "."),
        ]
    )  # fmt: skip
    adopted = v.get("is_adopted")
    in_use = (
        "Not recorded (a model stored before the adoption check)."
        if adopted is None or (isinstance(adopted, float) and math.isnan(adopted))
        else ("Yes: " if adopted else "No: the lists are shown in the rule's order, because ")
        + str(v.get("adoption_reason") or "")
        + "."
    )
    context = Section("Deployment context").fields(
        [
            ("Whether the lists use the model", in_use),
            ("Integration into the process", "The Quick wins page shows the ranked lists to "
             "analysts and administrators; the lists, their evidence and the Near threshold "
             "engine's needs stay visible when the ranking is off."),
            ("Information given to decision makers", "Each family's probability, rank, its "
             "top three reasons in words, what it still needs, and a banner that the ranking "
             "is advisory."),
            ("Human review", "Every flag: a practitioner marks it referred or pushed, or not "
             "appropriate with a reason, attributed and audited."),
            ("Required training", Data(council["training_given"])),
            ("Appeals and review", Data(council["appeals"])),
        ]
    )  # fmt: skip
    tool = Section("Tool specification").fields(
        [
            ("System architecture", "Part of the Families First Insight dashboard: trained "
             "inside each build of the council's DuckDB analysis model, on the council's own "
             "machine, with nothing sent elsewhere."),
            ("Maintenance", "Retrained at every build; each run recorded in the model_version "
             "table with its training window, metrics, data hash and time."),
            ("System-level input", "The council's extracts: early help referrals and episodes, "
             "school census, police, DWP, housing, health and social care records, linked into "
             "families."),
            ("System-level output", "A probability, rank and reasons for each family in the "
             "two lists, stamped with the model version."),
        ]
    )  # fmt: skip
    features = ", ".join(run.coefficients["feature_label"]) if len(run.coefficients) else "none"
    model = Section("Model specification").fields(
        [
            ("Model name", MODEL_NAME),
            ("Version", Data(v["model_version"])),
            ("Task", Data(f"estimate the probability of {v['label']}")),
            ("Input", Data(f"features known at attachment: {features}")),
            ("Output", "a calibrated probability per family, the rank it gives, and each "
             "feature's exact part in the score"),
            ("Architecture", v["estimator"] + " (missing values → training mean, "
             f"standardised, L2-regularised with C = {_regularisation(v)}); calibrated with "
             "CalibratedClassifierCV (sigmoid) over the frozen fitted model"),
            ("Performance", (
                f"on the later cohort, precision in the top {k}: "
                f"{run.metric_words('model', 'precision_at_k')} against the rule's "
                f"{run.metric_words('rule', 'precision_at_k')}; recall in the top {k}: "
                f"{run.metric_words('model', 'recall_at_k')}; ROC AUC "
                f"{run.metric_words('model', 'roc_auc')}") if run.trained
             else "not measured: no model was trained"),
            ("Performance by subgroup", f"{len(_flagged(run)):,} group figures outside the "
             "tolerance; the model card's results by group list every one"),
            ("Datasets and their purposes", "fit cohorts (training), calibration cohorts "
             "(calibration), the later cohort (evaluation), today's families (scoring)"),
        ]
    )  # fmt: skip
    data = Section("Development and operational data").fields(
        [
            ("Name", "the council's Families First analysis model (DuckDB)"),
            ("Modality", "tabular records"),
            ("Quantities", "{} families with complete follow-up for training and evaluation; "
             "{} scored today".format(
                 sum(int(v.get(f"{c}_families") or 0) for c in ("fit", "calibration", "test")),
                 f"{len(run.scores):,}")),
            ("Sensitive attributes", "ethnicity and sex of the eldest child are read for the "
             "fairness check only; ages of the children are features; ward, caseload and "
             "referral source may be proxies for protected characteristics"),
            ("Completeness and representativeness", _coverage_words(run)[0] if run.trained
             else "not assessed: no model was trained"),
            ("Collection", "the council's own systems, extracted for the programme"),
            ("Cleaning", "each extract checked against its declared contract; rejected rows "
             "kept with their reasons (the Data quality page)"),
            ("Sharing agreements", "the council's information sharing agreements for the "
             "programme"),
            ("Access and storage", "the model file on the council's machine, readable by its "
             "owner; pages by role (analysts and administrators for the ranking); every view "
             "audited"),
        ]
    )  # fmt: skip
    risks = Section("Risks, mitigations and impact assessments").bullets(
        [
            "Risk: the ranking is followed without thought. Mitigation: advisory banner, "
            "reasons for every family, a human decision recorded beside every flag.",
            "Risk: it works worse for some groups. Mitigation: selection, precision, recall "
            "and calibration by ethnicity group, sex of the eldest child, area committee and "
            "ward at every training, flagged outside the tolerance.",
            "Risk: families never referred are judged by what happened to others. Mitigation: "
            "the caveat on the page; the list itself is a rule, and the ranking can be off.",
            "Risk: it drifts as the service changes. Mitigation: retrained and re-measured at "
            "every build against the rule on the latest complete cohort.",
            ["Data protection impact assessment: ", Data(council["dpia"])],
            ["Equality impact assessment: ", Data(council["equality_impact_assessment"])],
        ]
    )
    return Document(
        DOCUMENTS["transparency record"],
        ["Following the UK Algorithmic Transparency Recording Standard's fields (tier 1 and "
         "tier 2).", _status_paragraph(run)],
        [summary, owner, rationale, context, tool, model, data, risks],
    )  # fmt: skip


def documents(tables: dict[str, pd.DataFrame], settings: dict) -> pd.DataFrame:
    """Both documents, Markdown and HTML, as rows of ranking_document."""
    run = _Run(tables)
    council = settings["model_card"]
    rows = []
    for name, document in (("model card", model_card(run, council)),
                           ("transparency record", transparency_record(run, council))):  # fmt: skip
        for fmt, text in (("markdown", document.markdown()), ("html", document.html())):
            rows.append(
                {"model_version": run.version["model_version"], "document": name,
                 "format": fmt, "title": document.title, "text": text}
            )  # fmt: skip
    return pd.DataFrame(rows)


LIST_WORDS = {"attached": "Families to push", "unreferred": "Referrals to make"}


def follow_up_section(followed: pd.DataFrame, fared: pd.DataFrame, version: dict) -> Section:
    """The model card's last section, made when it is shown (the marks live in the application
    state, not in the model): how often the ranking was followed (the share of each list's top
    k marked referred or pushed) and how the families marked so fared in the data since."""
    section = Section("How the ranking was followed")
    if not len(followed):
        status = version.get("status") or "not trained"
        return section.para(
            f"No model ranks the lists ({status}), so there is no top k to follow; the marks "
            "analysts make on the unranked lists are kept all the same."
        )
    k = version.get("team_capacity")
    section.para(
        f"Of the families in each list's top k (k = {k}) of version ",
        Data(str(version.get("model_version"))),
        ", how many a person marked referred or pushed (the ranking followed), not appropriate, "
        "or not yet.",
    )
    section.table(
        ["List", "In the top k", "Referred or pushed", "Not appropriate", "Not marked",
         "Followed"],
        [
            [LIST_WORDS.get(r.list_name, r.list_name), _count(r.in_top_k),
             _count(r.marked_pushed), _count(r.marked_not_appropriate), _count(r.not_marked),
             _share(r.followed_share)]
            for r in followed.itertuples()
        ],
    )  # fmt: skip
    if not len(fared):
        return section.para("No family has been marked referred or pushed yet.")
    counts = fared.groupby(["list_name", "fared"]).size().reset_index(name="families")
    section.para(
        "How the families marked referred or pushed fared, from the data as at "
        f"{_day(version.get('as_at_date'))} (an attached family: whether it reached "
        f"{version.get('label') or 'the outcome'} after the data it was marked on; a family "
        "never referred: whether it has since been referred or attached):"
    )
    section.table(
        ["List", "Since", "Families"],
        [[LIST_WORDS.get(r.list_name, r.list_name), r.fared, _count(r.families)]
         for r in counts.itertuples()],
    )  # fmt: skip
    return section
