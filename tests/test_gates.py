"""Gates before the model is replaced: a source with more of its rows rejected than settings.yaml
allows, or a source that may not be empty arriving header-only, stops the build with exit 2 and one
line naming the file, leaving the previous model as it was; `build --accept-rejects` goes on past
the rejected-share limit, and the model records that it did."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from data_model.build import BuildGateError, build_model, gate_settings
from data_model.read import quality
from loaders.contracts import BY_SOURCE
from tests.extract_files import write_district
from tests.fixtures_extracts import valid
from tests.test_build import digest, run_cli


def referrals(good: int, bad: int = 0) -> list[dict[str, str]]:
    """`good` valid referrals, then `bad` with a referral source the contract does not allow."""
    rows = [valid("ehm_referrals", referral_id=f"R{n:07d}") for n in range(1, good + bad + 1)]
    for row in rows[good:]:
        row["referral_source"] = "Schools"
    return rows


def previous_model(tmp_path: Path) -> tuple[Path, str]:
    """A model built from a good district, and its digest."""
    model = tmp_path / "model.duckdb"
    build_model(write_district(tmp_path / "good", {"ehm_referrals": referrals(3)}), model)
    return model, digest(model)


def test_the_defaults() -> None:
    assert gate_settings("police_incidents") == {
        "max_rejected_share": 0.05,
        "max_set_aside_share": 0.10,
        "may_be_empty": False,
    }
    assert gate_settings("ehm_relationships")["may_be_empty"] is True


def test_a_source_over_the_reject_limit_stops_the_build_with_one_line(tmp_path: Path) -> None:
    model, before = previous_model(tmp_path)
    district = write_district(tmp_path / "extracts", {"ehm_referrals": referrals(8, bad=2)})
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: ehm_referrals.csv: 2 of 10 rows rejected (20.0%, more than 5%): Referral Source"
        " is not one of: School, Police, Health, Children's Social Care, Housing, Jobcentre Plus,"
        " Voluntary sector, Self-referral, Family member, Other (2)"
    ]
    assert digest(model) == before
    assert sorted(p.name for p in model.parent.iterdir()) == ["extracts", "good", "model.duckdb"]


def test_a_source_at_the_limit_builds(tmp_path: Path) -> None:
    district = write_district(tmp_path / "extracts", {"ehm_referrals": referrals(19, bad=1)})
    report = build_model(district, tmp_path / "model.duckdb")  # 1 of 20 is 5%: not more
    assert report.rows_rejected == 1 and report.accepted == []


def test_the_top_reasons_leave_out_values_and_count_rows(tmp_path: Path) -> None:
    rows = referrals(2, bad=3)
    rows[0]["received_date"] = "unknown"
    rows[1] = {**rows[1], "referral_id": rows[0]["referral_id"]}  # a repeated key
    district = write_district(tmp_path / "extracts", {"ehm_referrals": rows})
    with pytest.raises(BuildGateError) as error:
        build_model(district, tmp_path / "model.duckdb")
    assert str(error.value) == (
        "ehm_referrals.csv: 4 of 5 rows rejected (80.0%, more than 5%): Referral Source is not"
        " one of: School, Police, Health, Children's Social Care, Housing, Jobcentre Plus,"
        " Voluntary sector, Self-referral, Family member, Other (3), Date Received is not a date"
        " (1)"
    )
    assert not (tmp_path / "model.duckdb").exists()


def test_every_row_rejected_stops_the_build(tmp_path: Path) -> None:
    bad = [valid("police_incidents", incident_ref=f"INC/{n}", person_role="Informant")
           for n in range(3)]  # fmt: skip
    district = write_district(tmp_path / "extracts", {"ehm_referrals": referrals(3),
                                                      "police_incidents": bad})  # fmt: skip
    model, before = previous_model(tmp_path)
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        "error: police_incidents.csv: 3 of 3 rows rejected (100.0%, more than 5%): PERSON_ROLE is"
        " not one of:"
    )
    assert digest(model) == before


def test_accept_rejects_builds_and_the_model_records_it(tmp_path: Path) -> None:
    model, before = previous_model(tmp_path)
    district = write_district(tmp_path / "extracts", {"ehm_referrals": referrals(8, bad=2)})
    result = run_cli("build", "--sources", str(district), "--out", str(model), "--accept-rejects")
    assert result.returncode == 0, result.stderr
    assert (
        "accepted (--accept-rejects): ehm_referrals.csv: 2 of 10 rows rejected (20.0%, more than"
        " 5%)" in result.stdout
    )
    assert digest(model) != before
    with duckdb.connect(str(model), read_only=True) as con:
        flags = con.execute(
            "select source, accepted_over_limit from load_manifest where accepted_over_limit"
        ).fetchall()
        assert flags == [("ehm_referrals", True)]
        assert con.execute("select count(*) from mart_referral").fetchall() == [(8,)]
        currency = quality.currency(con)
        assert currency.loc[currency["accepted_over_limit"], "source"].tolist() == ["ehm_referrals"]


@pytest.mark.parametrize(
    ("source", "file", "accept"),
    [
        ("ehm_referrals", "ehm_referrals.csv", False),
        ("ehm_referrals", "ehm_referrals.csv", True),
        ("police_incidents", "police_incidents.csv", False),
    ],
)
def test_a_required_source_sent_header_only_stops_the_build(
    tmp_path: Path, source: str, file: str, accept: bool
) -> None:
    model, before = previous_model(tmp_path)
    rows = {"ehm_referrals": referrals(3), source: []}  # the source: its header only
    district = write_district(tmp_path / "extracts", rows)
    flags = ["--accept-rejects"] if accept else []
    result = run_cli("build", "--sources", str(district), "--out", str(model), *flags)
    assert result.returncode == 2
    title = BY_SOURCE[source].title
    assert result.stderr.strip().splitlines() == [
        f"error: {file}: no rows, only a header; {title} may not be empty"
        " (data_model/settings.yaml, gates); if the council has no such extract, say so in"
        f" extracts.yaml: `{source}: {{available: false}}`"
    ]
    assert digest(model) == before


def test_optional_and_relationship_files_may_be_header_only(tmp_path: Path) -> None:
    rows = {"ehm_referrals": referrals(3), "ehm_relationships": [], "family_context_csc": []}
    report = build_model(write_district(tmp_path / "extracts", rows), tmp_path / "model.duckdb")
    assert {load.source: load.rows_read for load in report.loads}["family_context_csc"] == 0


def test_the_generators_district_builds_under_the_default_gates(tmp_path: Path) -> None:
    from loaders.synthetic.generate import generate

    generate(300, 5, tmp_path / "extracts")
    result = run_cli("build", "--sources", str(tmp_path / "extracts"), "--out",
                     str(tmp_path / "model.duckdb"), "--synthetic")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "accepted" not in result.stdout
    with duckdb.connect(str(tmp_path / "model.duckdb"), read_only=True) as con:
        shares = con.execute(
            "select source, rows_rejected / rows_read from load_manifest where rows_read > 0"
        ).fetchall()
        assert max(share for _, share in shares) < 0.02, shares  # well under 5%
        assert con.execute(
            "select count(*) from load_manifest where current_to_basis like 'inferred%'"
        ).fetchall() == [(0,)]  # every dated source declared in extracts.yaml
