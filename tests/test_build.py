"""The model build: atomic replacement, clear failures with exit code 2, progress, data tests."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from data_model.build import build_model
from loaders.base import ExtractError
from tests.extract_files import write_district

ROOT = Path(__file__).resolve().parents[1]

REFERRAL = {
    "referral_id": "R0000001",
    "case_id": "C000001",
    "received_date": "01/10/2015",
    "referral_source": "School",
    "decision": "Accepted",
    "decision_date": "02/10/2015",
    "cluster": "Keighley",
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "data_model", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def district(tmp_path: Path) -> Path:
    return write_district(tmp_path / "extracts", {"ehm_referrals": [REFERRAL]})


def test_build_replaces_the_model_only_when_it_succeeds(district: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.duckdb"
    build_model(district, model)
    first = digest(model)
    with duckdb.connect(str(model), read_only=True) as con:
        assert con.execute("select count(*) from mart_referral").fetchall() == [(1,)]

    # Break the extracts: the previous model must survive untouched, with nothing left behind.
    (district / "ehm_referrals.csv").unlink()
    with pytest.raises(ExtractError, match="ehm_referrals"):
        build_model(district, model)
    assert digest(model) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extracts", "model.duckdb"]


def test_cli_missing_file_exits_2_with_one_line(district: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.duckdb"
    model.write_bytes(b"previous model")
    (district / "ehm_referrals.csv").unlink()
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()
    assert len(message) == 1
    assert "ehm_referrals" in message[0]
    assert model.read_bytes() == b"previous model"


def test_cli_missing_column_names_file_and_columns(district: Path, tmp_path: Path) -> None:
    path = district / "ehm_referrals.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    drop = {"Decision Date", "Cluster"}
    keep = [i for i, h in enumerate(header) if h not in drop]
    path.write_text(
        "\n".join(",".join(line.split(",")[i] for i in keep) for line in lines) + "\n",
        encoding="utf-8",
    )
    result = run_cli("build", "--sources", str(district), "--out", str(tmp_path / "m.duckdb"))
    assert result.returncode == 2
    assert "ehm_referrals.csv" in result.stderr
    assert "Decision Date" in result.stderr and "Cluster" in result.stderr
    assert not (tmp_path / "m.duckdb").exists()


def test_cli_shows_progress_per_stage(district: Path, tmp_path: Path) -> None:
    result = run_cli("build", "--sources", str(district), "--out", str(tmp_path / "m.duckdb"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ehm_referrals: 1 rows loaded, 0 rejected" in out
    assert "model mart_referral" in out
    assert "Checking the model" in out
    assert "Built" in out.splitlines()[-1]
    # the bar never goes back (models run side by side; the stages after them overlap)
    shown = [int(m) for m in re.findall(r"^\[\s*[\d.]+s\s+(\d+)%\]", out, flags=re.M)]
    assert len(shown) > 20 and shown == sorted(shown) and shown[-1] == 100


def episode(episode_id: str) -> dict[str, str]:
    return {
        "episode_id": episode_id,
        "referral_id": REFERRAL["referral_id"],
        "case_id": REFERRAL["case_id"],
        "cluster": "Keighley",
        "team": "Keighley Team A",
        "key_worker": "KW0001",
        "allocated_date": "05/10/2015",
    }


def test_cli_failing_data_test_exits_2_naming_model_column_and_test(tmp_path: Path) -> None:
    """Two episodes for one referral fan mart_referral out: its unique test stops the build."""
    district = write_district(
        tmp_path / "extracts",
        {"ehm_referrals": [REFERRAL], "ehm_episodes": [episode("E0000001"), episode("E0000002")]},
    )
    model = tmp_path / "model.duckdb"
    model.write_bytes(b"previous model")
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()
    assert len(message) == 1
    assert message[0].startswith("error: model test failed: ")
    assert "mart_referral.referral_id unique: 1 failing row" in message[0]
    assert model.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extracts", "model.duckdb"]


def test_the_data_tests_are_their_own_stage(district: Path, tmp_path: Path) -> None:
    report = build_model(district, tmp_path / "model.duckdb")
    assert report.stage_seconds["tests"] > 0


@pytest.mark.parametrize("plan", ["bradford_2015", "warwickshire_2015"])
def test_the_programme_target_is_the_plans_unless_the_council_sends_one(
    district: Path, tmp_path: Path, plan: str
) -> None:
    """Overview and plan pages read one target: the plan's, or reference/programme.csv's."""
    from data_model.plan import load_plan

    expected = load_plan(plan)
    model = tmp_path / "model.duckdb"
    build_model(district, model, plan=plan)
    with duckdb.connect(str(model), read_only=True) as con:
        programme = con.execute(
            "select start_date, end_date, target_families, origin from mart_programme"
        ).fetchall()
        in_plan = con.execute("select target_families, programme_origin from mart_plan").fetchall()
    assert programme == [
        (expected.programme_start, expected.programme_end, expected.target_families, "plan")
    ]
    assert in_plan == [(expected.target_families, "plan")]

    sent = write_district(
        tmp_path / "with_programme",
        {
            "ehm_referrals": [REFERRAL],
            "ref_programme": [
                {
                    "programme_name": "Families First",
                    "start_date": "01/04/2015",
                    "end_date": "31/03/2020",
                    "target_families": "4321",
                }
            ],
        },
    )
    build_model(sent, model, plan=plan)
    with duckdb.connect(str(model), read_only=True) as con:
        assert con.execute("select target_families, origin from mart_programme").fetchall() == [
            (4321, "reference/programme")
        ]
        assert con.execute("select target_families from mart_plan").fetchall() == [(4321,)]
