"""Writes small hand-made extract folders for tests: given rows for some sources, the others
declared absent, so a build sees a complete, exactly known set of extracts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from data_model.settings import settings
from loaders.contracts import BY_SOURCE, CONTRACTS
from tests.fixtures_extracts import write_csv

WARDS = [
    # ward_code, ward_name, area_committee, cluster, population, population_0_15, lat, lon
    ("E05001341", "Baildon", "Shipley", "Airedale & Wharfedale", "15263", "2648", "53.85", "-1.76"),
    ("E05001351", "Keighley Central", "Keighley", "Keighley", "18000", "5000", "53.86", "-1.91"),
]
# postcode, ward_code, lat, lon: a postcode no hand-made record uses, so no family gets a ward
POSTCODE = ("BD21 9ZZ", "E05001351", "53.86", "-1.91")


def write_district(
    folder: Path,
    rows_by_source: dict[str, list[dict[str, str]]],
    absent: Sequence[str] = (),
) -> Path:
    """A complete extract folder: the given rows (an empty list: a header-only file), two wards,
    a one-postcode lookup and a header-only relationships file, and every other source declared
    absent in the folder's extracts.yaml, as a council without it would.

    `absent`: sources declared absent even though rows were given (no file is written)."""
    wards = [dict(zip(BY_SOURCE["ref_wards"].fields, w, strict=True)) for w in WARDS]
    postcodes = [dict(zip(BY_SOURCE["ref_postcode_ward"].fields, POSTCODE, strict=True))]
    defaults = {"ref_wards": wards, "ref_postcode_ward": postcodes, "ehm_relationships": []}
    declared = list(absent)
    for contract in CONTRACTS:
        if contract.source in absent:
            continue
        if contract.source in rows_by_source or contract.source in defaults:
            rows = rows_by_source.get(contract.source, defaults.get(contract.source, []))
            write_csv(folder, contract.source, rows)
        elif not contract.optional:
            declared.append(contract.source)
    if declared:
        text = "".join(f"{source}: {{available: false}}\n" for source in declared)
        (folder / "extracts.yaml").write_text(text, encoding="utf-8")
    return folder


def declare(folder: Path, text: str) -> Path:
    """Write `text` as the folder's extracts.yaml, followed by what write_district declared
    absent (one line each) for the sources `text` does not declare itself."""
    path = folder / "extracts.yaml"
    own = {line.split(":")[0] for line in text.splitlines() if line and not line[0].isspace()}
    before = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    absent = [line for line in before if line.split(":")[0] not in own]
    separator = "" if not text or text.endswith("\n") else "\n"
    path.write_text(text + separator + "".join(f"{a}\n" for a in absent), encoding="utf-8")
    return path


@contextmanager
def sources_may_be_empty() -> Iterator[None]:
    """For builds of districts whose tests are not about the gates (the outcomes-plan rules): a
    source sent with no rows counts as present and empty, as it would with may_be_empty: true in
    settings.yaml, rather than stopping the build."""
    defaults = settings()["gates"]["defaults"]
    before = defaults["may_be_empty"]
    defaults["may_be_empty"] = True
    try:
        yield
    finally:
        defaults["may_be_empty"] = before
