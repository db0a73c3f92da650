"""`python -m data_model linkage-eval --sources DIR --truth FILE`: any folder of extracts scored
against a truth CSV, as a council would score a clerically reviewed sample of its own data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data_model.linkage.evaluation import pairwise_score
from data_model.tools.linkage_eval import TruthFileError, read_truth
from loaders.synthetic.generate import generate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("eval") / "extracts"
    generate(300, 5, folder)
    return folder


def run_eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "data_model", "linkage-eval", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def test_a_folder_is_scored_against_its_truth_file_whatever_the_headers_are_called(
    district, tmp_path
):
    truth = pd.read_csv(district / "_truth" / "source_persons.csv", dtype=str)
    # Records with a row that breaks the contract may have had every row rejected, and so never
    # reach the model: left out, so the only records missing from it are the two added below.
    dirt = pd.read_csv(district / "_truth" / "dirt.csv", dtype=str, keep_default_na=False)
    broken = dirt.loc[dirt["dirt_kind"] == "contract_violation", ["source", "source_person_id"]]
    truth = truth.merge(broken.drop_duplicates(), how="left", indicator=True)
    truth = truth[truth.pop("_merge") == "left_only"]
    # a council's sample: its own headers, in its own order, a family column, half the records
    sample = (
        truth.sample(frac=0.5, random_state=1)
        .rename(
            columns={
                "source": "Source",
                "source_person_id": "Record ID",
                "true_person_id": "Person ID",
                "true_family_id": "Family ID",
            }
        )[["Person ID", "Source", "Record ID", "Family ID"]]
        .reset_index(drop=True)
    )
    # and one record that never reached the model: a person of its own, costing recall
    sample.loc[len(sample)] = ["TP9999999", "school_census", "NOT-IN-ANY-FILE", "TF9999999"]
    sample.loc[len(sample)] = ["TP9999999", "police_incidents", "N00000000", "TF9999999"]
    path = tmp_path / "sample truth.csv"
    sample.to_csv(path, index=False)

    done = run_eval("--sources", str(district), "--truth", str(path))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["truth_records"] == len(sample)
    assert result["truth_records_not_in_model"] == 2
    assert result["registrations_without_truth"] > 0  # the half not in the sample
    person = result["person"]
    # the two records missing from the model are one true pair, never predicted
    assert person["true_pairs"] == result["person_of_records_in_model"]["true_pairs"] + 1
    assert person["precision"] >= 0.99 and 0.9 <= person["recall"] < 1
    assert 0.9 <= result["family"]["f1"] <= 1
    assert result["review_pairs"] >= 0 and result["linkage_seconds"] > 0


def test_a_truth_file_without_a_person_column_is_refused_in_one_line(district, tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text("source,record_id\nschool_census,X1\n", encoding="utf-8")
    with pytest.raises(TruthFileError, match="no person_id column"):
        read_truth(path)
    done = run_eval("--sources", str(district), "--truth", str(path))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "person_id" in done.stderr
    assert run_eval("--sources", str(district)).returncode == 2  # --truth goes with it


def test_a_blank_person_is_named_by_its_line(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text("source,record_id,person_id\na,1,P1\nb,2,\n", encoding="utf-8")
    with pytest.raises(TruthFileError, match="line 3"):
        read_truth(path)


def test_pairwise_scores_over_truth_records_count_missing_records_as_missed():
    import duckdb

    con = duckdb.connect()
    # items 1-3 are one person; item 3 never reached the model (its own predicted group)
    score = pairwise_score(
        con,
        "select * from (values (1, 'A', 'p'), (2, 'A', 'p'), (3, 'missing:3', 'p'))"
        " as t(item, predicted, truth)",
    )
    assert (score.true_pairs, score.predicted_pairs, score.true_positives) == (3, 1, 1)
