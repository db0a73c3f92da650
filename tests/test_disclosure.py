"""Disclosure control (data_model/disclosure.py) on hand-made adversarial districts, proved by the
tests' own audit (tests/wards_audit.py): for every suppressed cell, the interval of values
consistent with everything published is at least the threshold wide, and no published count lies
between 1 and the threshold. Also the perturbation tables, the record keys and the settings."""

from __future__ import annotations

import hashlib
import hmac
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from data_model import disclosure
from data_model.disclosure import (
    DisclosureSettingsError,
    Group,
    make_ptable_threshold_5,
    package_perturbed_table,
    parse_disclosure_settings,
    perturbed,
    protect,
    ptable_for,
    record_key_secret,
    record_keys,
    shows_exact_counts,
)
from tests.wards_audit import Knowledge, PublishedCell, add_table, narrowest

# --- Hand-made districts -------------------------------------------------------------------------


def district_table(
    committees: dict[str, dict[str, int]],
) -> tuple[pd.DataFrame, list[Group], dict[str, tuple[str, ...]]]:
    """A table of wards, committees and the district from counts by committee and ward, its
    additive groups, and the wards each cell adds up."""
    rows, wards_of = [], {}
    for committee, wards in committees.items():
        for ward, count in wards.items():
            rows.append((ward, count))
            wards_of[ward] = (ward,)
        rows.append((committee, sum(wards.values())))
        wards_of[committee] = tuple(wards)
    rows.append(("district", sum(sum(w.values()) for w in committees.values())))
    wards_of["district"] = tuple(ward for wards in committees.values() for ward in wards)
    table = pd.DataFrame(rows, columns=["area_code", "count"]).assign(cell_key=0)
    groups = [Group(committee, tuple(wards)) for committee, wards in committees.items()]
    groups.append(Group("district", tuple(committees)))
    return table, groups, wards_of


def published_cells(
    protected: pd.DataFrame, wards_of: dict[str, tuple[str, ...]]
) -> list[PublishedCell]:
    return [
        PublishedCell(code, wards_of[code], None if pd.isna(value) else int(value))
        for code, value in zip(protected["area_code"], protected["published"], strict=True)
    ]


def assert_protected(
    cells: list[PublishedCell], knowledge: Knowledge, table: str, threshold: int
) -> None:
    for cell in cells:
        assert cell.count is None or not 1 <= cell.count <= threshold, (
            f"{cell.key} published as {cell.count}"
        )
    for key, low, high in narrowest(knowledge, table, cells):
        assert high - low >= threshold, f"{key} is known to lie in [{low:g}, {high:g}]"


BIG = {"b1": 40, "b2": 35, "b3": 52}

ADVERSARIAL = {
    "a ward with one family": {
        "North": {"n1": 1, "n2": 44, "n3": 38},
        "South": {"s1": 60, "s2": 25},
        "East": dict(BIG),
    },
    "a committee where all but one ward are large": {
        "North": {"n1": 3, "n2": 400, "n3": 380, "n4": 420},
        "South": {"s1": 60, "s2": 25},
        "East": dict(BIG),
    },
    "a measure with zeros": {
        "North": {"n1": 0, "n2": 0, "n3": 2, "n4": 0},
        "South": {"s1": 0, "s2": 0},
        "East": {"e1": 0, "e2": 9, "e3": 0},
    },
    "zeros around a committee's only family": {
        "North": {"n1": 0, "n2": 0, "n3": 4},
        "South": {"s1": 70, "s2": 55},
        "East": {"e1": 12, "e2": 9},
    },
    "every ward one family": {
        "North": {f"n{i}": 1 for i in range(6)},
        "South": {"s1": 30, "s2": 28},
        "East": dict(BIG),
    },
    "a tiny district": {
        "North": {"n1": 1, "n2": 0},
        "South": {"s1": 2, "s2": 0},
        "East": {"e1": 0, "e2": 1},
    },
    "a small committee total over large neighbours": {
        "North": {"n1": 2, "n2": 2, "n3": 1},
        "South": {"s1": 300, "s2": 250},
        "East": {"e1": 280, "e2": 6},
    },
    "secondary cells that are small": {
        "North": {"n1": 5, "n2": 6, "n3": 7, "n4": 100},
        "South": {"s1": 6, "s2": 6},
        "East": {"e1": 6, "e2": 8},
    },
}


@pytest.mark.parametrize("threshold", [5, 10])
@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_suppression_holds_on_adversarial_districts(case: str, threshold: int) -> None:
    table, groups, wards_of = district_table(ADVERSARIAL[case])
    protected = protect(table, groups, threshold, "suppression")
    cells = published_cells(protected, wards_of)
    knowledge = Knowledge()
    add_table(knowledge, "t", cells)
    assert_protected(cells, knowledge, "t", threshold)
    # zeros are published as zeros, and every count from 1 to the threshold is suppressed
    exact = dict(zip(table["area_code"], table["count"], strict=True))
    assert all(cell.count == 0 for cell in cells if exact[cell.key] == 0)
    assert all(cell.count is None for cell in cells if 1 <= exact[cell.key] <= threshold)


def test_a_single_small_ward_takes_the_smallest_large_ward_with_it() -> None:
    table, groups, _ = district_table(ADVERSARIAL["a committee where all but one ward are large"])
    protected = protect(table, groups, 5, "suppression").set_index("area_code")
    hidden = set(protected.index[protected["suppressed"]])
    assert hidden == {"n1", "n3"}  # 380 is North's smallest published ward


def test_suppression_is_the_same_every_time() -> None:
    table, groups, _ = district_table(ADVERSARIAL["secondary cells that are small"])
    first = protect(table, groups, 5, "suppression")
    for _ in range(3):
        again = protect(table.sample(frac=1, random_state=3), groups, 5, "suppression")
        pd.testing.assert_frame_equal(
            first.set_index("area_code").sort_index(), again.set_index("area_code").sort_index()
        )


def test_random_small_districts_hold() -> None:
    """Many small random districts (skewed counts with zeros), each audited."""
    rng = np.random.default_rng(13)
    for trial in range(60):
        committees = {
            f"C{c}": {
                f"C{c}w{w}": int(rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 12, 30, 90]))
                for w in range(int(rng.integers(1, 6)))
            }
            for c in range(int(rng.integers(2, 5)))
        }
        threshold = int(rng.choice([5, 10]))
        table, groups, wards_of = district_table(committees)
        cells = published_cells(protect(table, groups, threshold, "suppression"), wards_of)
        knowledge = Knowledge()
        add_table(knowledge, "t", cells)
        assert all(cell.count is None or not 1 <= cell.count <= threshold for cell in cells)
        for key, low, high in narrowest(knowledge, "t", cells):
            assert high - low >= threshold, (trial, committees, key, low, high)


def test_the_direct_intervals_are_the_linear_programmes() -> None:
    """two_level_intervals (what suppress uses for wards, committees and a district) gives the
    same interval as the linear programmes for every suppressed cell of random small districts."""
    rng = np.random.default_rng(29)
    compared = 0
    for _ in range(80):
        committees = {
            f"C{c}": {
                f"C{c}w{w}": int(rng.choice([0, 0, 1, 2, 3, 5, 6, 9, 14, 40]))
                for w in range(int(rng.integers(1, 5)))
            }
            for c in range(int(rng.integers(2, 5)))
        }
        table, groups, _ = district_table(committees)
        counts = dict(zip(table["area_code"], table["count"], strict=True))
        hidden = disclosure.suppress(counts, groups, int(rng.choice([5, 10])))
        direct = disclosure.two_level_intervals(counts, hidden, groups)
        if direct is None:
            continue
        programmes = disclosure.suppression_intervals(counts, hidden, groups)
        for code, (low, high) in programmes.items():
            assert direct[code] == pytest.approx((low, high)), (committees, code)
            compared += 1
    assert compared > 100


# --- Perturbation -------------------------------------------------------------------------------


def test_the_package_table_for_ten_is_the_one_it_ships() -> None:
    shipped = Path(sys.prefix) / "ptable_10_5_rule.csv"  # the wheel's data file
    if not shipped.exists():
        pytest.skip(f"the package's CSV is not at {shipped}")
    ours = ptable_for(10).sort_values(["pcv", "ckey"]).reset_index(drop=True)
    theirs = pd.read_csv(shipped).sort_values(["pcv", "ckey"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[["pcv", "ckey", "pvalue"]], theirs, check_dtype=False)


def test_the_projects_table_for_five() -> None:
    table = make_ptable_threshold_5()
    assert len(table) == 750 * 256
    assert set(table["ckey"]) == set(range(256)) and set(table["pcv"]) == set(range(1, 751))
    result = table["pcv"] + table["pvalue"]
    small = table["pcv"] <= 5
    assert (result[small] == 0).all()  # counts of 1 to 5 are removed
    assert (result[~small] > 5).all()  # and nothing larger lands among them
    assert table["pvalue"].abs().max() <= 5
    away = table[table["pcv"] >= 8].groupby("pcv")["pvalue"]
    assert (away.mean() == 0).all()  # unbiased away from the threshold
    assert (away.apply(lambda v: (v == 0).mean()) == 0.5).all()


@pytest.mark.parametrize("threshold", [5, 10])
def test_perturbed_counts_are_the_packages(threshold: int) -> None:
    """perturbed() against the package's own create_perturbed_table on record-level data."""
    rng = np.random.default_rng(5)
    sizes = [0, 1, 3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 18, 27, 64, 500, 760, 1003]
    rows = []
    for area, size in enumerate(sizes):
        rows += [(f"a{area:02d}", int(rng.integers(0, 256))) for _ in range(size)]
    microdata = pd.DataFrame(rows, columns=["area", "record_key"])
    theirs = package_perturbed_table(microdata, "area", "record_key", threshold).set_index("area")
    for area, group in microdata.groupby("area"):
        ours = perturbed(len(group), int(group["record_key"].sum()) % 256, threshold)
        expected = theirs.loc[area, "count"]
        assert ours == (None if pd.isna(expected) else int(expected)), area
        assert ours is None or ours > threshold


def test_perturbation_protect_publishes_the_table_values() -> None:
    table = pd.DataFrame(
        {"area_code": ["a", "b", "c"], "count": [3, 17, 250], "cell_key": [9, 200, 77]}
    )
    protected = protect(table, [], 10, "perturbation").set_index("area_code")
    assert protected.loc["a", "suppressed"]
    assert protected.loc["b", "published"] == perturbed(17, 200, 10) == 15
    assert protected.loc["c", "published"] == 250


# --- Record keys and settings ---------------------------------------------------------------------


def test_record_keys_are_a_keyed_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(disclosure.RECORD_KEY_SECRET_ENV, raising=False)
    model = tmp_path / "model.duckdb"
    first = record_key_secret(model)  # no model yet: a new random secret each time
    assert len(first) == 64 and first != record_key_secret(model)
    with duckdb.connect(str(model)) as previous:  # the model being replaced kept its secret
        previous.execute(f"create table {disclosure.RECORD_KEY_SECRET_TABLE} (secret varchar)")
        previous.execute(
            f"insert into {disclosure.RECORD_KEY_SECRET_TABLE} values (?)", [first.decode()]
        )
    assert record_key_secret(model) == first
    keys = record_keys(["ehm_people:P1", "ehm_people:P2"], first)
    assert keys[0] == hmac.new(first, b"ehm_people:P1", hashlib.sha256).digest()[0]
    assert all(0 <= key <= 255 for key in keys)
    monkeypatch.setenv(disclosure.RECORD_KEY_SECRET_ENV, "council secret")
    assert record_key_secret(model) == b"council secret"
    ids = [f"ehm_people:P{i}" for i in range(50)]
    assert record_keys(ids, b"council secret") != record_keys(ids, first)
    (tmp_path / "not_a_model.duckdb").write_bytes(b"previous model")
    monkeypatch.delenv(disclosure.RECORD_KEY_SECRET_ENV)
    assert len(record_key_secret(tmp_path / "not_a_model.duckdb")) == 64


def test_settings_are_checked() -> None:
    settings = parse_disclosure_settings({"method": "suppression", "threshold": 10})
    assert settings.threshold == 10
    for bad, words in (
        ({"method": "rounding"}, "method"),
        ({"threshold": 3}, "threshold"),
        ({"exact_counts_on_screen": ["councillor"]}, "councillor"),
    ):
        with pytest.raises(DisclosureSettingsError, match=words):
            parse_disclosure_settings(bad)


def test_councillors_never_see_exact_counts() -> None:
    settings = parse_disclosure_settings({"exact_counts_on_screen": ["analyst", "manager"]})
    assert shows_exact_counts("analyst", settings)
    assert not shows_exact_counts("councillor", settings)
    assert not shows_exact_counts("practitioner", settings)
    assert not shows_exact_counts(None, settings)
    shipped = disclosure.disclosure_settings()
    assert shipped.method in disclosure.METHODS and shipped.threshold in disclosure.THRESHOLDS
    assert not shows_exact_counts("councillor")
