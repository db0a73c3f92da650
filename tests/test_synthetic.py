"""The synthetic district generator: determinism, the input contract, the truth, the dirt and the
programme's story. Small districts (a few hundred to 3,000 households) in temporary folders."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from loaders.contracts import BY_SOURCE, CLUSTERS, CONTRACTS, Contract
from loaders.synthetic import names as nm
from loaders.synthetic import unknown_dirt
from loaders.synthetic.common import BANK_HOLIDAYS
from loaders.synthetic.generate import GENERATED, NOT_GENERATED, generate
from loaders.synthetic.geography import WARDS
from loaders.synthetic.unknown_dirt import KINDS as STAND_IN_KINDS
from loaders.synthetic.unknown_dirt import MONTH_FIRST

DOC = Path(__file__).resolve().parents[1] / "loaders" / "synthetic" / "SYNTHETIC.md"
PERSON_SOURCES = (
    "ehm_people",
    "school_census",
    "police_incidents",
    "dwp_spells",
    "housing_tenancies",
    "health_events",
    "csc_episodes",
    "service_involvement",
)
EXTRACT_DATE = pd.Timestamp("2020-03-31")


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("district")
    generate(800, 11, out)
    return out


@pytest.fixture(scope="module")
def larger(tmp_path_factory) -> Path:
    """Big enough for monthly patterns and rates (about 1.5 s to make)."""
    out = tmp_path_factory.mktemp("larger")
    generate(3000, 2016, out)
    return out


def path_of(folder: Path, contract: Contract) -> Path:
    return folder / contract.subfolder / f"{contract.file_stem}.{contract.usual_format}"


def read_text_table(folder: Path, contract: Contract) -> pd.DataFrame:
    """An extract as text cells (blank = ''), whatever its format; dates as the file holds them."""
    path = path_of(folder, contract)
    if contract.usual_format == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=contract.usual_encoding)
    if contract.usual_format == "parquet":
        table = pq.read_table(path)
        cols = {}
        for name in table.column_names:
            values = table.column(name).to_pylist()
            cols[name] = ["" if v is None else str(v) for v in values]
        return pd.DataFrame(cols)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header, body = rows[0], rows[1:]
    cells = [[_cell(v) for v in r] for r in body]
    return pd.DataFrame(cells, columns=header)


def _cell(v) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def truth(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / "_truth" / f"{name}.csv", dtype=str, keep_default_na=False)


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- determinism, layout, headers -----------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(200, 5, a)
    generate(200, 5, b)
    generate(200, 6, c)
    ha, hb, hc = file_hashes(a), file_hashes(b), file_hashes(c)
    assert len(ha) >= len(GENERATED) + 5
    assert ha == hb  # every file, the workbook and the Parquet file included
    differing = [name for name in ha if ha[name] != hc.get(name)]
    assert "school_census.csv" in differing and "housing_tenancies.xlsx" in differing


def test_small_district_is_quick_and_reports_progress(tmp_path):
    calls: list[tuple[float, str]] = []
    summary = generate(200, 1, tmp_path, progress=lambda f, m: calls.append((f, m)))
    assert summary["seconds"] < 3
    fractions = [f for f, _ in calls]
    assert len(calls) >= 8 and fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(isinstance(m, str) and m for _, m in calls)
    assert summary["rows"]["school_census.csv"] > 1000
    meta = json.loads((tmp_path / "_truth" / "generator.json").read_text())
    assert meta["households"] == 200 and meta["seed"] == 1


def test_every_contract_has_its_file_with_the_contract_headers(district):
    for contract in GENERATED:
        path = path_of(district, contract)
        assert path.is_file(), path
        if contract.usual_format == "csv":
            raw = path.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf") == (contract.usual_encoding == "utf-8-sig")
            first = raw.decode(contract.usual_encoding).splitlines()[0]
            header = first.split(",")
        elif contract.usual_format == "parquet":
            header = pq.read_schema(path).names
        else:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
            header = sheet.to_python()[0]
        assert header == [c.header for c in contract.columns], contract.source


def test_only_optional_sources_are_left_out(district):
    left_out = [c for c in CONTRACTS if c not in GENERATED]
    assert {c.source for c in left_out} == NOT_GENERATED
    assert all(c.optional for c in left_out)
    for contract in left_out:
        assert not path_of(district, contract).exists(), contract.source


def test_encodings_and_native_types(district):
    police = path_of(district, BY_SOURCE["police_incidents"]).read_bytes()
    text = police.decode("cp1252")
    assert re.search("[éëáóšžÉËÁÓŠŽ’]", text)  # accents and curly apostrophes, in cp1252
    with pytest.raises(UnicodeDecodeError):
        police.decode("utf-8")
    schema = pq.read_schema(path_of(district, BY_SOURCE["health_events"]))
    assert str(schema.field("birth_date").type) == "date32[day]"
    assert str(schema.field("event_date").type) == "date32[day]"
    assert str(schema.field("patient_id").type) == "string"
    csc = path_of(district, BY_SOURCE["csc_episodes"]).read_text(encoding="utf-8")
    assert re.search(r'"[^"\n]+\n[^"\n]+\n[^"]+"', csc)  # addresses span lines inside quotes


def test_housing_dates_are_excel_dates_except_a_few_plain_serials(larger):
    contract = BY_SOURCE["housing_tenancies"]
    rows = CalamineWorkbook.from_path(str(path_of(larger, contract))).get_sheet_by_index(0)
    rows = rows.to_python()
    header, body = rows[0], rows[1:]
    date_cols = [header.index(c.header) for c in contract.columns if c.type == "date"]
    kinds = [type(r[j]).__name__ for r in body for j in date_cols if r[j] not in ("", None)]
    dates = sum(k in ("date", "datetime") for k in kinds)
    numbers = sum(k in ("float", "int") for k in kinds)
    dirt = truth(larger, "dirt")
    serials = dirt[dirt["dirt_kind"] == "excel_serial_date"]
    assert numbers == len(serials) > 0
    assert 0.001 < numbers / (dates + numbers) < 0.02


# --- the contract, and the rows that deliberately break it ----------------------------------------

ROW_CHECKS = {  # the contracts' row checks, in Python
    "end_date is null or start_date is null or end_date >= start_date": lambda r: _le(
        r, "start_date", "end_date"
    ),
    "decision_date is null or decision_date >= received_date": lambda r: _le(
        r, "received_date", "decision_date"
    ),
    "(decision is null) = (decision_date is null)": lambda r: (
        (r["decision"] == "") == (r["decision_date"] == "")
    ),
    "first_contact_date is null or first_contact_date >= allocated_date": lambda r: _le(
        r, "allocated_date", "first_contact_date"
    ),
    "closure_date is null or closure_date >= allocated_date": lambda r: _le(
        r, "allocated_date", "closure_date"
    ),
    "sessions_authorised_absence + sessions_unauthorised_absence <= sessions_possible": lambda r: (
        int(r["sessions_authorised_absence"]) + int(r["sessions_unauthorised_absence"])
        <= int(r["sessions_possible"])
    ),
    "end_date is null or end_date >= start_date": lambda r: _le(r, "start_date", "end_date"),
    "(spell_type = 'Employment') = (benefit_type is null)": lambda r: (
        (r["spell_type"] == "Employment") == (r["benefit_type"] == "")
    ),
    "tenancy_end is null or tenancy_end >= tenancy_start": lambda r: _le(
        r, "tenancy_start", "tenancy_end"
    ),
    "population_0_15 <= population": lambda r: int(r["population_0_15"]) <= int(r["population"]),
    "end_date > start_date": lambda r: r["__d_start_date"] < r["__d_end_date"],
}


def _parse_date(text: str, fmt: str) -> dt.datetime | None:
    if fmt == "excel" and re.fullmatch(r"\d{1,5}", text):  # a serial number in a workbook
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=int(text))
    for f in (fmt, "%Y-%m-%d", "%d/%m/%Y", "%d/%m/%Y %H:%M"):
        try:
            return dt.datetime.strptime(text, f)
        except ValueError:
            continue
    return None


def _le(row, a: str, b: str) -> bool:
    if row[a] == "" or row[b] == "":
        return True
    return row["__d_" + a] <= row["__d_" + b]


def contract_failures(
    df: pd.DataFrame, contract: Contract, stand_ins: pd.DataFrame | None = None
) -> set[int]:
    """Row positions that break a column rule or a row check of the contract. A date of birth,
    sex or postcode that is the stand-in for "not known" dirt.csv records for that person (which
    the loader sets aside, by design) breaks nothing."""
    written = MONTH_FIRST.get(contract.source, contract.usual_date_format)
    fmt = {"csv": written, "xlsx": "excel"}.get(contract.usual_format, "%Y-%m-%d")
    bad: set[int] = set()
    ids = row_person_ids(df, contract)
    df = df.rename(columns={c.header: c.field for c in contract.columns})
    for c in contract.columns:
        v = df[c.field].str.strip()
        blank = v == ""
        if stand_ins is not None and c.field in ("dob", "sex", "postcode"):
            mine = stand_ins[stand_ins["field"] == c.field]
            recorded = dict(zip(mine["source_person_id"], mine["recorded_value"], strict=True))
            blank |= (ids.map(recorded) == df[c.field]).to_numpy()
        if c.required:
            bad |= set(np.flatnonzero(blank))
        filled = ~blank
        if c.allowed:
            ok = v.str.lower().isin([a.lower() for a in c.allowed])
            bad |= set(np.flatnonzero(filled & ~ok))
        if c.pattern:
            ok = v.str.fullmatch(c.pattern)
            bad |= set(np.flatnonzero(filled & ~ok))
        if c.type == "int":
            ok = v.str.fullmatch(r"-?\d+")
            bad |= set(np.flatnonzero(filled & ~ok))
            if c.minimum is not None:
                num = pd.to_numeric(v.where(ok & filled), errors="coerce")
                bad |= set(np.flatnonzero(num < c.minimum))
        if c.type in ("date", "datetime"):
            parsed = [_parse_date(x, fmt) if f else None for x, f in zip(v, filled, strict=True)]
            bad |= set(np.flatnonzero(filled & np.array([p is None for p in parsed], bool)))
            df["__d_" + c.field] = parsed
    for check in contract.row_checks:
        rule = ROW_CHECKS[check.sql]
        for i, row in enumerate(df.to_dict("records")):
            if i in bad:
                continue
            try:
                ok = rule(row)
            except (ValueError, TypeError):
                ok = False
            if not ok:
                bad.add(i)
    return bad


def row_person_ids(df: pd.DataFrame, contract: Contract) -> pd.Series:
    """Each row's person id in its system (housing: tenancy ref and tenant number)."""
    if contract.source == "housing_tenancies":
        return df["Tenancy Ref"] + "-" + df["Tenant No"]
    if contract.person_id_field is None:
        return pd.Series([""] * len(df), index=df.index)
    return df[contract.column(contract.person_id_field).header]


def key_of(df: pd.DataFrame, contract: Contract) -> pd.Series:
    headers = [contract.column(f).header for f in contract.unique_key or (contract.fields[0],)]
    return df[headers].astype(str).agg("|".join, axis=1)


@pytest.mark.parametrize("source", [c.source for c in GENERATED])
def test_rows_meet_the_contract_unless_tagged_as_breaking_it(larger, source):
    contract = BY_SOURCE[source]
    df = read_text_table(larger, contract)
    dirt = truth(larger, "dirt")
    mine = dirt[dirt["source"] == source]
    violations = set(mine.loc[mine["dirt_kind"] == "contract_violation", "row_key"])
    duplicates = set(mine.loc[mine["dirt_kind"] == "duplicate_row", "row_key"])
    keys = key_of(df, contract)
    failing = contract_failures(df, contract, mine[mine["dirt_kind"].isin(STAND_IN_KINDS)])
    assert set(keys.iloc[sorted(failing)]) == violations
    # Exact repeats: each tagged row appears twice, identically; no other key repeats.
    repeated = keys[keys.duplicated(keep=False)]
    assert set(repeated) == duplicates
    for key in list(duplicates)[:20]:
        rows = df[keys == key]
        assert len(rows) == 2 and rows.iloc[0].equals(rows.iloc[1])
    if source in ("school_census", "police_incidents", "health_events", "service_involvement"):
        assert duplicates and violations  # this size has both in the big files


# --- truth ----------------------------------------------------------------------------------------


def person_ids_in_file(folder: Path, source: str) -> pd.Series:
    contract = BY_SOURCE[source]
    return row_person_ids(read_text_table(folder, contract), contract)


def test_truth_covers_every_person_bearing_row(district):
    sp = truth(district, "source_persons")
    persons = truth(district, "persons")
    assert set(sp["true_person_id"]) <= set(persons["true_person_id"])
    for source in PERSON_SOURCES:
        ids = person_ids_in_file(district, source)
        known = sp[sp["source"] == source]
        assert not known["source_person_id"].duplicated().any(), source  # one id, one person
        assert set(ids) == set(known["source_person_id"]), source
    fam = dict(zip(persons["true_person_id"], persons["true_family_id"], strict=True))
    assert (sp["true_family_id"] == sp["true_person_id"].map(fam)).all()


def test_a_person_can_have_two_ids_in_one_system(larger):
    sp = truth(larger, "source_persons")
    dirt = truth(larger, "dirt")
    dups = dirt[dirt["dirt_kind"] == "duplicate_registration"]
    assert len(dups) >= 10 and set(dups["source"]) >= {"police_incidents", "health_events"}
    who = sp.set_index(["source", "source_person_id"])["true_person_id"]
    for row in dups.itertuples():
        assert who[(row.source, row.source_person_id)] == who[(row.source, row.detail)]
        assert row.source_person_id != row.detail


# --- dirt rates and realism -----------------------------------------------------------------------


def documented_rates() -> dict[tuple[str, str], float]:
    """The registration-level rate table in SYNTHETIC.md (between its markers)."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- dirt-rates:start -->")[1].split("<!-- dirt-rates:end -->")[0]
    lines = [ln for ln in block.strip().splitlines() if ln.startswith("|")]
    sources = [s.strip() for s in lines[0].strip("|").split("|")[1:]]
    rates = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for source, cell in zip(sources, cells[1:], strict=True):
            rates[(source, cells[0])] = 0.0 if cell == "–" else float(cell.rstrip("%")) / 100
    block = text.split("<!-- row-rates:start -->")[1].split("<!-- row-rates:end -->")[0]
    for line in [ln for ln in block.strip().splitlines() if ln.startswith("|")][2:]:
        kind, rate, where = (c.strip() for c in line.strip("|").split("|")[:3])
        for source in re.split(r",\s*", where):
            rates[(source, kind)] = float(rate.rstrip("%")) / 100
    return rates


def test_documented_rates_are_the_ones_the_generator_uses(larger):
    doc = documented_rates()
    measured = pd.read_csv(larger / "_truth" / "dirt_rates.csv")
    for row in measured.itertuples():
        assert doc.get((row.source, row.dirt_kind), 0.0) == pytest.approx(row.target_rate), row


def test_measured_dirt_rates_are_within_the_documented_bounds(larger):
    doc = documented_rates()
    measured = pd.read_csv(larger / "_truth" / "dirt_rates.csv")
    dirt = truth(larger, "dirt")
    own = dirt[~dirt["detail"].str.startswith("inherited:")]
    counted = own.groupby(["source", "dirt_kind"]).size()
    checked = 0
    for row in measured.itertuples():
        # The summary counts what dirt.csv holds ...
        assert counted.get((row.source, row.dirt_kind), 0) == row.applied, row
        # ... at the documented rate: within 4 binomial standard deviations (+3).
        r, n = doc.get((row.source, row.dirt_kind), 0.0), row.eligible
        tolerance = 4 * math.sqrt(n * r * (1 - r)) + 3
        assert abs(row.applied - n * r) <= tolerance, row
        checked += n * r >= 10
    assert checked >= 60


def test_rate_denominators_are_honest(larger):
    """Recount who a kind could apply to, from the truth and the name tables."""
    measured = pd.read_csv(larger / "_truth" / "dirt_rates.csv").set_index(["source", "dirt_kind"])
    sp = truth(larger, "source_persons")
    persons = truth(larger, "persons").set_index("true_person_id")
    dirt = truth(larger, "dirt")
    for source in ("police_incidents", "health_events", "ehm_people"):
        people = persons.loc[sp.loc[sp["source"] == source, "true_person_id"]]
        first_dirt = dirt[(dirt["source"] == source) & (dirt["field"] == "first")]
        before_translit = set(
            first_dirt.loc[first_dirt["dirt_kind"] == "nickname", "source_person_id"]
        )
        nick = people["first_name"].isin(list(nm.NICKNAMES)).sum()
        assert measured.loc[(source, "nickname"), "eligible"] == nick
        ids = sp.loc[sp["source"] == source, "source_person_id"].to_numpy()
        variant = people["first_name"].isin(list(nm.VARIANTS)).to_numpy()
        expected = int(
            sum(v and i not in before_translit for v, i in zip(variant, ids, strict=True))
        )
        assert measured.loc[(source, "transliteration_first"), "eligible"] == expected
        dob = pd.to_datetime(people["dob"])
        prior = set(dirt.loc[(dirt["source"] == source) & (dirt["dirt_kind"] == "dob_missing"),
                             "source_person_id"])  # fmt: skip
        swappable = ((dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)).to_numpy()
        expected = int(sum(s and i not in prior for s, i in zip(swappable, ids, strict=True)))
        assert measured.loc[(source, "dob_swapped"), "eligible"] == expected


def test_recorded_dirt_is_what_it_says(larger):
    dirt = truth(larger, "dirt")
    persons = truth(larger, "persons").set_index("true_person_id")
    sp = truth(larger, "source_persons").set_index(["source", "source_person_id"])
    reg = dirt[dirt["row_key"] == ""]
    seen = set()
    for row in reg.itertuples():
        person = persons.loc[sp.loc[(row.source, row.source_person_id), "true_person_id"]]
        true, rec, kind = row.true_value, row.recorded_value, row.dirt_kind
        seen.add(kind)
        if row.field == "first":
            assert true == person["first_name"]
        if row.field == "last" and kind != "previous_surname":
            assert true == person["last_name"]
        if kind in ("typo_first", "typo_last"):
            assert nm.edit_distance(true.lower(), rec.lower()) == 1
        elif kind == "nickname":
            assert rec in nm.NICKNAMES[true]
        elif kind.startswith("transliteration"):
            assert rec in nm.VARIANTS[true]
        elif kind.startswith("diacritics"):
            assert rec == nm.strip_diacritics(true) != true
        elif kind == "previous_surname":
            assert rec == person["previous_last_name"] != "" and true == person["last_name"]
        elif kind == "hyphen_part":
            assert "-" in true and rec in true.split("-")
        elif kind == "hyphen_space":
            assert rec == true.replace("-", " ")
        elif kind == "apostrophe_variant":
            assert rec in (true.replace("'", "’"), true.replace("'", ""))
        elif kind == "dob_swapped":
            y, m, d = (int(x) for x in true.split("-"))
            assert d <= 12 and d != m and rec == f"{y:04d}-{d:02d}-{m:02d}"
            assert true == person["dob"]
        elif kind == "dob_shifted":
            gap = pd.Timestamp(rec) - pd.Timestamp(true)
            assert abs(gap.days) == 1
        elif kind == "dob_missing":
            assert rec == "" and true == person["dob"]
        elif kind == "postcode_no_space":
            assert rec == true.replace(" ", "")
        elif kind == "postcode_typo":
            assert (
                len(rec) == len(true) and sum(a != b for a, b in zip(rec, true, strict=True)) == 1
            )
        elif kind in ("postcode_missing", "nino_missing", "nhs_number_missing"):
            assert rec == ""
        elif kind == "title":
            title, _, rest = rec.partition(" ")
            assert title in ("Mr", "Mrs", "Miss", "Ms", "Dr", "Master") and rest == true
        elif kind == "initial_first":
            assert rec in (true[0], true[0] + ".")
        elif kind == "second_given_name":
            given, _, second = rec.partition(" ")
            assert given == true and second and second != true
        elif kind == "names_swapped":
            assert rec == person["last_name"] and true == person["first_name"]
        elif kind == "flat_format":
            assert row.detail.rpartition("|")[2] in ("flat_no_comma", "flat_bare", "flat_no")
        elif kind in STAND_IN_KINDS:
            if row.field == "postcode":  # the postcode the system held before
                assert re.fullmatch(r"[A-Z]{2}\d{1,2} \d[A-Z]{2}", true), row
            else:
                assert true == person[row.field], row
            assert rec in _stand_ins_of(row.source, row.detail, kind, true), row
    assert seen >= {
        "typo_first", "typo_last", "nickname", "transliteration_first", "transliteration_last",
        "diacritics_first", "previous_surname", "hyphen_part", "hyphen_space", "dob_swapped",
        "dob_shifted", "dob_missing", "postcode_no_space", "postcode_typo", "postcode_missing",
        "address_format", "duplicate_registration", "sex_unknown", "apostrophe_variant",
        "title", "initial_first", "second_given_name", "names_swapped", "flat_format",
        *STAND_IN_KINDS,
    }  # fmt: skip


def _stand_ins_of(source: str, detail: str, kind: str, true: str) -> set[str]:
    """What the system (a linked one for an inherited record) writes for "not known"."""
    system = detail.removeprefix("inherited:") if detail.startswith("inherited:") else source
    if kind == "dob_year_only":
        return {true[:4] + "-01-01"} if true[5:] != "01-01" else set()
    table = {
        "dob_placeholder": unknown_dirt.DOB_VALUES,
        "sex_placeholder": unknown_dirt.SEX_VALUES,
        "postcode_placeholder": unknown_dirt.POSTCODE_VALUES,
    }[kind]
    return {str(v) if isinstance(v, str) else str(np.datetime64(v, "D")) for v in table[system]}


def test_files_carry_the_recorded_dirt(larger):
    """What dirt.csv says a system recorded is what its extract holds."""
    dirt = truth(larger, "dirt")
    broken = set(dirt.loc[dirt["dirt_kind"] == "contract_violation", "row_key"])
    school = read_text_table(larger, BY_SOURCE["school_census"])
    school = school[~key_of(school, BY_SOURCE["school_census"]).isin(broken)].set_index("UPN")
    police = read_text_table(larger, BY_SOURCE["police_incidents"]).drop_duplicates("NOMINAL_ID")
    police = police.set_index("NOMINAL_ID")
    checks = {
        ("school_census", "first"): lambda i: school.loc[[i], "Forename"].iloc[0],
        ("school_census", "last"): lambda i: school.loc[[i], "Surname"].iloc[0],
        ("school_census", "dob"): lambda i: school.loc[[i], "DOB"].iloc[0],
        ("police_incidents", "first"): lambda i: police.loc[i, "FORENAMES"],
        ("police_incidents", "last"): lambda i: police.loc[i, "SURNAME"].upper(),
        ("police_incidents", "dob"): lambda i: _iso(police.loc[i, "DOB"]),
    }
    n = 0
    registration_dirt = dirt[dirt["row_key"] == ""]
    for row in registration_dirt[
        registration_dirt["source"].isin(["school_census", "police_incidents"])
    ].itertuples():
        check = checks.get((row.source, row.field))
        if check is None:
            continue
        expected = row.recorded_value
        if row.source == "police_incidents" and row.field == "last":
            expected = expected.upper()
        assert check(row.source_person_id) == expected, row
        n += 1
    assert n > 50


def _iso(text: str) -> str:
    """A police date as ISO; a value that is no date (a stand-in for "not known") as written."""
    try:
        return dt.datetime.strptime(text, "%d/%m/%Y %H:%M").strftime("%Y-%m-%d")
    except ValueError:
        return text


def test_twins_share_birthday_and_home_but_not_a_name(larger):
    persons = truth(larger, "persons")
    twins = persons[persons["is_twin"] == "Y"]
    children = (persons["role"] == "child").sum()
    assert 0.008 < len(twins) / children < 0.03
    pairs = twins.groupby(["true_family_id", "dob"])
    assert pairs.ngroups >= 10
    for _, pair in pairs:
        assert len(pair) == 2 and pair["first_name"].nunique() == 2
    # In the school census, twins in the same term are at the same postcode (bar typos).
    sp = truth(larger, "source_persons")
    school = read_text_table(larger, BY_SOURCE["school_census"])
    school = school.merge(
        sp[sp["source"] == "school_census"], left_on="UPN", right_on="source_person_id"
    )
    tw = school[school["true_person_id"].isin(twins["true_person_id"])]
    same = tw.groupby(["true_family_id", "DOB", "AcademicYear", "Term"])["Postcode"].agg(
        lambda s: s.str.replace(" ", "").nunique() == 1 if len(s) == 2 else None
    )
    same = same.dropna()
    assert len(same) > 20 and same.mean() > 0.9


def test_some_children_share_a_parents_first_name_and_home(larger):
    """Namesakes: a son named after his father (a daughter after her mother), decades apart."""
    persons = truth(larger, "persons")
    persons["dob"] = pd.to_datetime(persons["dob"])
    parents = persons[persons["household_role"].isin(["father", "mother"])]
    children = persons[persons["role"] == "child"]
    pairs = children.merge(parents, on=["true_family_id", "first_name", "sex"], suffixes=("", "_p"))
    assert len(pairs) >= 5
    assert ((pairs["dob"] - pairs["dob_p"]).dt.days > 10 * 365).all()
    # one a household, and never two siblings of one name
    assert not pairs["true_family_id"].duplicated().any()
    assert not children.duplicated(["true_family_id", "first_name"]).any()


def test_flats_are_written_each_way_in_the_files(larger):
    """flat_format shows in the files: Flat 2 14 Oak Road; 2, 14 Oak Road; Flat No 2, 14 ..."""
    police = read_text_table(larger, BY_SOURCE["police_incidents"])
    text = police.filter(like="ADDRESS").fillna("").agg(" ".join, axis=1)
    assert text.str.contains(r"^Flat \d+[A-Z]? \d", regex=True).any()
    assert text.str.contains(r"^\d+[A-Z]?, \d", regex=True).any()
    assert text.str.contains(r"^Flat No \d", regex=True).any()


def test_families_that_move_change_address_and_those_that_leave_vanish(larger):
    fam = truth(larger, "families")
    sp = truth(larger, "source_persons")
    school = read_text_table(larger, BY_SOURCE["school_census"])
    school = school.merge(
        sp[sp["source"] == "school_census"], left_on="UPN", right_on="source_person_id"
    ).merge(fam, on="true_family_id")
    census = pd.to_datetime(school["CensusDate"])
    left = school[school["moved_out"] != ""]
    assert len(left) and (census[left.index] < pd.to_datetime(left["moved_out"])).all()
    moved = school[school["moved_within_district"] != ""]
    after = moved[census[moved.index] >= pd.to_datetime(moved["moved_within_district"])]
    before = moved[census[moved.index] < pd.to_datetime(moved["moved_within_district"])]
    norm = lambda s: s.str.replace(" ", "").str.upper()  # noqa: E731
    assert (norm(after["Postcode"]) == norm(after["new_postcode"])).mean() > 0.95
    assert (norm(before["Postcode"]) == norm(before["postcode"])).mean() > 0.95


# --- the programme's story ------------------------------------------------------------------------


def referrals(folder: Path) -> pd.DataFrame:
    ref = read_text_table(folder, BY_SOURCE["ehm_referrals"])
    ref["received"] = pd.to_datetime(ref["Date Received"], format="%d/%m/%Y")
    return ref


def test_referrals_peak_in_september_and_january(larger):
    month = referrals(larger)["received"].dt.month.value_counts()
    assert month[9] > 1.6 * month[8] and month[1] > 1.4 * month[12]
    assert min(month[9], month[1]) > max(month[8], month[12])


def test_decisions_sources_and_volume(larger):
    ref = referrals(larger)
    fam = truth(larger, "families")
    share = (fam["referred"] == "Y").mean()
    assert 0.12 < share < 0.22  # about 17% of families referred at least once
    assert ref["Case ID"].duplicated().any()  # some families are referred again
    decided = ref["Decision"].value_counts(normalize=True)
    assert 0.58 < decided["Accepted"] < 0.72
    sources = ref["Referral Source"].value_counts()
    assert sources.index[0] == "School" and sources["Police"] > sources["Housing"]


def test_a_backlog_waits_for_allocation_at_the_extract_date(larger):
    ref = referrals(larger)
    ep = read_text_table(larger, BY_SOURCE["ehm_episodes"])
    waiting = ref[(ref["Decision"] == "Accepted") & ~ref["Referral ID"].isin(ep["Referral ID"])]
    days = np.busday_count(
        waiting["received"].to_numpy().astype("datetime64[D]"),
        np.datetime64("2020-03-31"),
        holidays=BANK_HOLIDAYS,
    )
    assert len(waiting) >= 3 and days.max() > 20
    assert ref["Decision"].eq("").any()  # a few still awaiting a decision
    allocated = pd.to_datetime(ep["Allocated Date"], format="%d/%m/%Y", errors="coerce")
    assert allocated.max() <= EXTRACT_DATE


def test_allocation_waits_grow_after_the_peaks(larger):
    ref = referrals(larger)
    ep = read_text_table(larger, BY_SOURCE["ehm_episodes"])
    m = ref.merge(ep[["Referral ID", "Allocated Date"]], on="Referral ID")
    allocated = pd.to_datetime(m["Allocated Date"], format="%d/%m/%Y", errors="coerce")
    ok = allocated.notna() & (m["received"] < "2019-10-01")
    lag = np.busday_count(
        m.loc[ok, "received"].to_numpy().astype("datetime64[D]"),
        allocated[ok].to_numpy().astype("datetime64[D]"),
        holidays=BANK_HOLIDAYS,
    )
    month = m.loc[ok, "received"].dt.month.to_numpy()
    after_peaks = np.median(lag[np.isin(month, (1, 2, 10, 11))])
    quiet = np.median(lag[np.isin(month, (5, 6, 7))])
    assert 5 <= quiet <= 20 and after_peaks > quiet


def test_attachment_follows_the_family_plan_for_eligible_families(larger):
    ep = read_text_table(larger, BY_SOURCE["ehm_episodes"])
    ref = read_text_table(larger, BY_SOURCE["ehm_referrals"])
    attached = ep[ep["Attached to Programme Date"] != ""]
    assert (attached["Attached to Programme Date"] == attached["Family Plan Date"]).all()
    assert not attached["Case ID"].duplicated().any()  # attached once per family
    fam = truth(larger, "families")
    eligible_attached = fam[fam["attached"] != ""]["eligible"]
    assert (eligible_attached == "Y").all() and len(eligible_attached) == len(attached)
    per_month = len(attached) / 67 * 70_000 / 3000  # Bradford: about 80 a month
    assert 55 < per_month < 110
    never = fam[(fam["eligible"] == "Y") & (fam["referred"] == "N")]
    assert len(never) > 0.05 * len(fam)  # eligible families nobody has referred
    assert set(ep["Cluster"]) <= set(CLUSTERS)  # Bradford's, as the wards reference names them
    assert ep["Key Worker"].str.fullmatch(r"KW\d{4}").mean() > 0.99
    assert len(ref) > len(ep)


def test_attendance_improves_for_families_helped_with_it(larger):
    fam = truth(larger, "families")
    sp = truth(larger, "source_persons")
    sc = read_text_table(larger, BY_SOURCE["school_census"])
    sc = sc[sc["SessionsPossible"].str.fullmatch(r"\d+") & (sc["SessionsPossible"] != "0")]
    absent = sc["SessionsAuthorisedAbsence"].astype(int) + sc["SessionsUnauthorisedAbsence"].astype(
        int
    )
    sc = sc.assign(att=1 - absent / sc["SessionsPossible"].astype(int))
    sc = sc.merge(sp[sp["source"] == "school_census"], left_on="UPN", right_on="source_person_id")
    sc = sc.merge(fam, on="true_family_id")
    helped = sc[(sc["improved_school"] == "Y")]
    when = pd.to_datetime(helped["CensusDate"]) - pd.to_datetime(helped["attached"])
    before = helped[(when.dt.days < -30) & (when.dt.days > -400)]["att"].mean()
    after = helped[when.dt.days > 300]["att"].mean()
    assert before < 0.9 < after
    assert sc[sc["problem_school"] == "N"]["att"].mean() > 0.93


def test_reference_files(district):
    wards = read_text_table(district, BY_SOURCE["ref_wards"])
    assert list(wards["ward_code"]) == [w.code for w in WARDS] and len(wards) == 30
    cluster = dict(zip(wards["ward_name"], wards["early_help_cluster"], strict=True))
    assert (
        cluster["Keighley Central"] == "Keighley" and cluster["Ilkley"] == "Airedale & Wharfedale"
    )
    assert cluster["Manningham"] == "Lister Park" and cluster["Toller"] == "Lister Park"
    assert set(cluster.values()) == set(CLUSTERS)
    pcs = read_text_table(district, BY_SOURCE["ref_postcode_ward"])
    assert 300 <= len(pcs) <= 5000 and not pcs["postcode"].duplicated().any()
    assert pcs["postcode"].str.fullmatch(r"(BD\d{1,2}|LS29) \d[A-Z]{2}").all()
    centre = wards.set_index("ward_code")[["lat", "lon"]].astype(float)
    gap = pcs[["lat", "lon"]].astype(float).to_numpy() - centre.loc[pcs["ward_code"]].to_numpy()
    assert np.abs(gap).max() < 0.06
    prog = read_text_table(district, BY_SOURCE["ref_programme"])
    assert prog.iloc[0].tolist() == [
        "Families First (synthetic)", "01/09/2014", "31/03/2020", str(round(5990 * 800 / 70000)),
    ]  # fmt: skip
