"""Writes small hand-made extract folders for tests: given rows for some sources, header-only
files for the rest, so a build sees a complete, exactly known set of extracts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from loaders.contracts import BY_SOURCE, CONTRACTS
from tests.fixtures_extracts import write_csv

WARDS = [
    # ward_code, ward_name, area_committee, cluster, population, population_0_15, lat, lon
    ("E05001341", "Baildon", "Shipley", "Airedale & Wharfedale", "15263", "2648", "53.85", "-1.76"),
    ("E05001351", "Keighley Central", "Keighley", "Keighley", "18000", "5000", "53.86", "-1.91"),
]


def write_district(
    folder: Path,
    rows_by_source: dict[str, list[dict[str, str]]],
    absent: Sequence[str] = (),
) -> Path:
    """A complete extract folder: the given rows, two wards, and header-only files elsewhere.

    `absent`: sources the council does not have: no file, and declared `available: false` in the
    folder's extracts.yaml."""
    wards = [dict(zip(BY_SOURCE["ref_wards"].fields, w, strict=True)) for w in WARDS]
    defaults = {"ref_wards": wards}
    for contract in CONTRACTS:
        if contract.source in absent:
            continue
        if contract.optional and contract.source not in rows_by_source:
            continue
        rows = rows_by_source.get(contract.source, defaults.get(contract.source, []))
        write_csv(folder, contract.source, rows)
    if absent:
        declared = "".join(f"{source}: {{available: false}}\n" for source in absent)
        (folder / "extracts.yaml").write_text(declared, encoding="utf-8")
    return folder
