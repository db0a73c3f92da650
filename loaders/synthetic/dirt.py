"""The dirt of real extracts: how each system records the same people differently.

A *registration* is a person as one system knows them: an id, and the name, date of birth, sex and
address format that system holds. Dirt that belongs to the person's record (a typo, a nickname, a
transliteration, an old surname, a swapped date of birth, a postcode without its space, a second
id for the same person) is drawn once per registration and so repeats on every row of it, as in a
real system. Dirt that belongs to a row (an exact duplicate row, a value that breaks the contract,
an Excel date left as a plain number) is drawn per row.

Every piece of dirt applied is returned as a record for `_truth/dirt.csv`, and the number of
registrations or rows it could have applied to is counted, so tests can measure the rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loaders.synthetic import identity_dirt, unknown_dirt
from loaders.synthetic import names as nm
from loaders.synthetic.common import make_date, split_date
from loaders.synthetic.geography import ABBREVIATIONS
from loaders.synthetic.population import Population, address_epoch
from loaders.synthetic.write import Col, Table

# Rates are per registration the dirt can apply to (e.g. a nickname only where the first name has
# one; a swapped date of birth only where the day is 12 or less and differs from the month).
# Within a field the kinds apply in the order listed, at most one per field.
FIRST_NAME_KINDS = ("nickname", "transliteration_first", "diacritics_first", "typo_first")
LAST_NAME_KINDS = (
    "previous_surname",
    "hyphen_part",
    "hyphen_space",
    "transliteration_last",
    "diacritics_last",
    "apostrophe_variant",
    "typo_last",
)
DOB_KINDS = ("dob_missing", "dob_swapped", "dob_shifted")
ADDRESS_KINDS = ("address_format", "address_missing")
POSTCODE_KINDS = ("postcode_missing", "postcode_no_space", "postcode_typo")
ID_MISSING_KINDS = ("nino_missing", "nhs_number_missing")
REGISTRATION_KINDS = (
    FIRST_NAME_KINDS
    + LAST_NAME_KINDS
    + DOB_KINDS
    + ("sex_unknown",)
    + ADDRESS_KINDS
    + POSTCODE_KINDS
    + ("duplicate_registration",)
    + ID_MISSING_KINDS
)
ROW_KINDS = ("duplicate_row", "contract_violation", "excel_serial_date", "person_id_missing")

_BASE = {
    "nickname": 0.03,
    "transliteration_first": 0.10,
    "diacritics_first": 0.40,
    "typo_first": 0.01,
    "previous_surname": 0.15,
    "hyphen_part": 0.25,
    "hyphen_space": 0.10,
    "transliteration_last": 0.08,
    "diacritics_last": 0.40,
    "apostrophe_variant": 0.30,
    "typo_last": 0.01,
    "dob_missing": 0.0,
    "dob_swapped": 0.005,
    "dob_shifted": 0.002,
    "sex_unknown": 0.005,
    "address_format": 0.20,
    "address_missing": 0.01,
    "postcode_missing": 0.02,
    "postcode_no_space": 0.02,
    "postcode_typo": 0.005,
    "duplicate_registration": 0.01,
}
# Each system's own habits, on top of the base rates.
SOURCE_RATES: dict[str, dict[str, float]] = {
    "school_census": _BASE
    | {
        "nickname": 0.005,
        "transliteration_first": 0.05,
        "diacritics_first": 0.5,
        "diacritics_last": 0.5,
        "typo_first": 0.004,
        "typo_last": 0.004,
        "previous_surname": 0.0,
        "dob_swapped": 0.002,
        "dob_shifted": 0.001,
        "address_format": 0.10,
        "address_missing": 0.005,
        "postcode_missing": 0.01,
        "postcode_no_space": 0.01,
        "duplicate_registration": 0.003,
        "sex_unknown": 0.002,
    },
    "police_incidents": _BASE
    | {
        "nickname": 0.15,
        "transliteration_first": 0.15,
        "transliteration_last": 0.10,
        "diacritics_first": 0.15,
        "diacritics_last": 0.15,
        "apostrophe_variant": 0.60,
        "typo_first": 0.02,
        "typo_last": 0.02,
        "previous_surname": 0.15,
        "hyphen_part": 0.40,
        "dob_missing": 0.04,
        "dob_swapped": 0.015,
        "dob_shifted": 0.005,
        "sex_unknown": 0.01,
        "address_format": 0.35,
        "address_missing": 0.03,
        "postcode_missing": 0.06,
        "postcode_no_space": 0.05,
        "postcode_typo": 0.015,
        "duplicate_registration": 0.025,
    },
    "dwp_spells": _BASE
    | {
        "nickname": 0.01,
        "transliteration_first": 0.08,
        "transliteration_last": 0.06,
        "diacritics_first": 0.6,
        "diacritics_last": 0.6,
        "typo_first": 0.008,
        "typo_last": 0.008,
        "previous_surname": 0.25,
        "hyphen_part": 0.10,
        "hyphen_space": 0.05,
        "dob_swapped": 0.003,
        "address_format": 0.0,
        "address_missing": 0.0,
        "postcode_missing": 0.04,
        "postcode_no_space": 0.03,
        "duplicate_registration": 0.005,
        "sex_unknown": 0.0,
        "nino_missing": 0.05,  # DWP could not supply it
    },
    "housing_tenancies": _BASE
    | {
        "nickname": 0.06,
        "typo_first": 0.015,
        "typo_last": 0.015,
        "dob_missing": 0.08,
        "dob_swapped": 0.01,
        "dob_shifted": 0.003,
        "address_format": 0.30,
        "address_missing": 0.0,  # Property Address is required
        "postcode_missing": 0.03,
        "postcode_no_space": 0.04,
        "postcode_typo": 0.01,
        "duplicate_registration": 0.0,  # a tenancy is its own registration
        "sex_unknown": 0.0,
    },
    "health_events": _BASE
    | {
        "nickname": 0.02,
        "transliteration_first": 0.08,
        "transliteration_last": 0.06,
        "typo_first": 0.006,
        "typo_last": 0.006,
        "previous_surname": 0.30,
        "hyphen_part": 0.30,
        "dob_missing": 0.005,
        "dob_swapped": 0.003,
        "sex_unknown": 0.003,
        "address_format": 0.15,
        "address_missing": 0.05,  # no address on the share for some patients: postcode only
        "postcode_missing": 0.01,
        "postcode_no_space": 0.02,
        "duplicate_registration": 0.01,
        "nhs_number_missing": 0.03,
    },
    "csc_episodes": _BASE
    | {
        "nickname": 0.02,
        "transliteration_first": 0.10,
        "typo_first": 0.01,
        "typo_last": 0.01,
        "dob_missing": 0.02,
        "dob_swapped": 0.005,
        "address_format": 0.20,
        "address_missing": 0.02,
        "duplicate_registration": 0.01,
    },
    "ehm_people": _BASE
    | {
        "nickname": 0.05,
        "transliteration_first": 0.12,
        "typo_first": 0.015,
        "typo_last": 0.015,
        "previous_surname": 0.10,
        "dob_missing": 0.03,
        "dob_swapped": 0.008,
        "dob_shifted": 0.003,
        "sex_unknown": 0.01,
        "address_format": 0.20,
        "address_missing": 0.02,
        "duplicate_registration": 0.01,
    },
    "service_involvement": _BASE
    | {
        "nickname": 0.04,
        "dob_missing": 0.03,
        "address_format": 0.25,
        "duplicate_registration": 0.0,
    },
}
# Titles, initials, second given names, swapped names and flat formats (identity_dirt.py), at
# their own rates.
for _source, _rates in identity_dirt.RATES.items():
    SOURCE_RATES[_source] = SOURCE_RATES[_source] | _rates
# Values standing for "not known" in the date of birth, sex and postcode (unknown_dirt.py).
for _source, _rates in unknown_dirt.RATES.items():
    SOURCE_RATES[_source] = SOURCE_RATES[_source] | _rates
ROW_RATES = {
    "duplicate_row": 0.003,  # exact repeats, in the files where joins in the export cause them
    "contract_violation": 0.0015,
    "excel_serial_date": 0.005,  # of date cells in the housing workbook
    "person_id_missing": 0.02,  # referrals whose child was not linked to a person record
}
ID_MISSING_RATES = {
    "dwp_spells": ("nino_missing", 0.05),
    "health_events": ("nhs_number_missing", 0.03),
}
DUPLICATE_ROW_SOURCES = (
    "school_census",
    "police_incidents",
    "dwp_spells",
    "health_events",
    "service_involvement",
)


@dataclass
class Registry:
    """One system's registrations (each a person as that system records them)."""

    source: str
    regs: pd.DataFrame  # spid, pid, primary, first, last, dob, sex, style, postcode_dirt
    records: pd.DataFrame  # reg, dirt_kind, field, true_value, recorded_value, detail
    eligible: dict[str, np.ndarray]  # kind -> bool per registration (after priority)
    used: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def register(
    rng: np.random.Generator,
    source: str,
    pids: np.ndarray,
    pop: Population,
    make_ids: Callable[[np.random.Generator, int], np.ndarray],
    dob_required: bool = False,
    has_address: bool = True,
    has_postcode: bool = True,
) -> Registry:
    """Registrations for the given people (distinct pids), with this system's dirt."""
    rates = SOURCE_RATES[source]
    persons = pop.persons
    pids = np.asarray(pids)
    dup = rng.random(len(pids)) < rates["duplicate_registration"]
    all_pids = np.r_[pids, pids[dup]]
    primary = np.r_[np.arange(len(pids)), np.flatnonzero(dup)]
    n = len(all_pids)
    p = persons.iloc[all_pids]
    regs = pd.DataFrame(
        {
            "spid": make_ids(rng, n),
            "pid": all_pids,
            "primary": primary,
            "first": p["first_name"].to_numpy(dtype=object),
            "last": p["last_name"].to_numpy(dtype=object),
            "dob": p["dob"].to_numpy(dtype="datetime64[D]"),
            "sex": p["sex"].to_numpy(dtype=object),
            "style": "canonical",
            "postcode_dirt": "",
        }
    )
    true_first = regs["first"].to_numpy().copy()
    true_last = regs["last"].to_numpy().copy()
    prev = p["previous_last_name"].to_numpy(dtype=object)
    records: list[tuple[int, str, str, str, str, str]] = []
    eligible: dict[str, np.ndarray] = {}

    def apply(kinds, column, elig_fn, change_fn, true_values):
        taken = np.zeros(n, dtype=bool)
        values = regs[column].to_numpy().copy()
        for kind in kinds:
            elig = elig_fn(kind) & ~taken
            eligible[kind] = elig
            hit = elig & (rng.random(n) < rates.get(kind, 0.0))
            for i in np.flatnonzero(hit):
                new = change_fn(kind, i, values[i])
                if new is None or new == values[i]:
                    continue
                records.append((i, kind, column, _s(true_values[i]), _s(new), ""))
                values[i] = new
                taken[i] = True
        regs[column] = values

    first_u = _unique_flags(true_first)
    last_u = _unique_flags(true_last)

    def first_elig(kind):
        if kind == "nickname":
            return first_u("nick")
        if kind == "transliteration_first":
            return first_u("variant")
        if kind == "diacritics_first":
            return first_u("accent")
        return np.ones(n, dtype=bool)

    def first_change(kind, i, value):
        if kind == "nickname":
            options = nm.NICKNAMES[value]
            return options[int(rng.integers(0, len(options)))]
        if kind == "transliteration_first":
            options = nm.VARIANTS[value]
            return options[int(rng.integers(0, len(options)))]
        if kind == "diacritics_first":
            return nm.strip_diacritics(value)
        return nm.typo(value, rng)

    apply(FIRST_NAME_KINDS, "first", first_elig, first_change, true_first)

    def last_elig(kind):
        if kind == "previous_surname":
            return prev != ""
        if kind in ("hyphen_part", "hyphen_space"):
            return last_u("hyphen")
        if kind == "transliteration_last":
            return last_u("variant")
        if kind == "diacritics_last":
            return last_u("accent")
        if kind == "apostrophe_variant":
            return last_u("apostrophe")
        return np.ones(n, dtype=bool)

    def last_change(kind, i, value):
        if kind == "previous_surname":
            return prev[i]
        if kind == "hyphen_part":
            parts = value.split("-")
            return parts[int(rng.integers(0, len(parts)))]
        if kind == "hyphen_space":
            return value.replace("-", " ")
        if kind == "transliteration_last":
            options = nm.VARIANTS[value]
            return options[int(rng.integers(0, len(options)))]
        if kind == "diacritics_last":
            return nm.strip_diacritics(value)
        if kind == "apostrophe_variant":
            # Police systems turn ' into a typographic ’; others drop it.
            return (
                value.replace("'", "’") if source == "police_incidents" else value.replace("'", "")
            )
        return nm.typo(value, rng)

    apply(LAST_NAME_KINDS, "last", last_elig, last_change, true_last)
    records.extend(
        identity_dirt.name_forms(rng.spawn(1)[0], source, regs, true_first, true_last, p, eligible)
    )

    # Dates of birth.
    dob = regs["dob"].to_numpy().astype("datetime64[D]").copy()
    true_dob = dob.copy()
    y, m, d = split_date(dob)
    taken = np.zeros(n, dtype=bool)
    for kind in DOB_KINDS:
        if kind == "dob_missing":
            elig = np.full(n, not dob_required)
        elif kind == "dob_swapped":
            elig = (d <= 12) & (d != m)
        else:
            elig = np.ones(n, dtype=bool)
        elig &= ~taken
        eligible[kind] = elig
        hit = elig & (rng.random(n) < rates.get(kind, 0.0))
        if kind == "dob_missing":
            new = np.full(n, np.datetime64("NaT", "D"))
        elif kind == "dob_swapped":
            new = make_date(y, np.where(hit, d, m), np.where(hit, m, d))
        else:
            new = dob + np.where(rng.random(n) < 0.5, -1, 1).astype("timedelta64[D]")
        dob = np.where(hit, new, dob)
        taken |= hit
        for i in np.flatnonzero(hit):
            records.append((i, kind, "dob", _s(true_dob[i]), _s(dob[i]), ""))
    regs["dob"] = dob

    sex = regs["sex"].to_numpy().copy()
    eligible["sex_unknown"] = np.ones(n, dtype=bool)
    hit = rng.random(n) < rates.get("sex_unknown", 0.0)
    for i in np.flatnonzero(hit):
        records.append((i, "sex_unknown", "sex", sex[i], "", ""))
    regs["sex"] = np.where(hit, "U", sex)

    # Address format and postcode habits (applied when rows are rendered).
    style = np.full(n, "canonical", dtype=object)
    eligible["address_format"] = np.full(n, has_address)
    u = rng.random(n)
    fmt = has_address & (u < rates.get("address_format", 0.0))
    style[fmt] = np.where(rng.random(fmt.sum()) < 0.6, "abbreviated", "upper")
    eligible["address_missing"] = np.full(n, has_address) & ~fmt
    missing = eligible["address_missing"] & (rng.random(n) < rates.get("address_missing", 0.0))
    style[missing] = "missing"
    for i in np.flatnonzero(fmt | missing):
        kind = "address_missing" if style[i] == "missing" else "address_format"
        records.append((i, kind, "address", "", "", style[i]))
    home = pop.households.iloc[p["hh"].to_numpy()]
    in_a_flat = (home["flat0"].to_numpy() > 0) | (home["flat1"].to_numpy() > 0)
    records.extend(
        identity_dirt.flat_forms(rng.spawn(1)[0], source, style, has_address & in_a_flat, eligible)
    )
    regs["style"] = style
    pc_dirt = np.full(n, "", dtype=object)
    taken = np.zeros(n, dtype=bool)
    for kind in POSTCODE_KINDS:
        elig = np.full(n, has_postcode) & ~taken
        eligible[kind] = elig
        hit = elig & (rng.random(n) < rates.get(kind, 0.0))
        pc_dirt[hit] = kind
        taken |= hit
    regs["postcode_dirt"] = pc_dirt
    # Postcode records are written when rows are rendered (the value depends on the address).

    eligible["duplicate_registration"] = np.r_[np.ones(len(pids), bool), np.zeros(dup.sum(), bool)]
    for j, i in enumerate(np.flatnonzero(dup)):
        records.append((len(pids) + j, "duplicate_registration", "id", "", "", str(i)))
    rec = pd.DataFrame(
        records, columns=["reg", "dirt_kind", "field", "true_value", "recorded_value", "detail"]
    ).astype({"reg": np.int64})
    return Registry(source, regs, rec, eligible)


def record_missing(
    registry: Registry, kind: str, field: str, missing: np.ndarray, true_values: np.ndarray
) -> None:
    """Note an identifier a system left blank for some registrations (e.g. no NINO supplied)."""
    idx = np.flatnonzero(missing)
    extra = pd.DataFrame(
        {
            "reg": idx.astype(np.int64),
            "dirt_kind": kind,
            "field": field,
            "true_value": [_s(v) for v in true_values[idx]],
            "recorded_value": "",
            "detail": "",
        }
    )
    registry.records = pd.concat([registry.records, extra], ignore_index=True)
    registry.eligible[kind] = np.ones(len(registry.regs), dtype=bool)


def _s(v) -> str:
    if isinstance(v, np.datetime64):
        return "" if np.isnat(v) else str(v)
    return "" if v is None else str(v)


def _unique_flags(names: np.ndarray) -> Callable[[str], np.ndarray]:
    """Per-name properties computed once per distinct name."""
    uniq, inv = np.unique(names.astype(str), return_inverse=True)
    props = {
        "nick": np.array([u in nm.NICKNAMES for u in uniq], dtype=bool),
        "variant": np.array([u in nm.VARIANTS for u in uniq], dtype=bool),
        "accent": np.array([nm.has_diacritics(u) for u in uniq], dtype=bool),
        "hyphen": np.array(["-" in u for u in uniq], dtype=bool),
        "apostrophe": np.array(["'" in u for u in uniq], dtype=bool),
    }
    return lambda key: props[key][inv]


# --- rows -------------------------------------------------------------------------------------


def assign_rows(
    rng: np.random.Generator,
    registry: Registry,
    row_pid: np.ndarray,
    row_when: np.ndarray | None = None,
) -> np.ndarray:
    """The registration each row is recorded under.

    A person with a duplicate registration has some rows under each id: rows from a random date
    on (if the rows are dated) or a random half of the rows.
    """
    regs = registry.regs
    is_primary = regs["primary"].to_numpy() == np.arange(len(regs))
    primary_of_pid = pd.Series(np.flatnonzero(is_primary), index=regs["pid"].to_numpy()[is_primary])
    row_reg = primary_of_pid.reindex(row_pid).to_numpy()
    if np.isnan(row_reg.astype(float)).any():
        raise ValueError(f"{registry.source}: rows for people without a registration")
    row_reg = row_reg.astype(np.int64)
    dups = np.flatnonzero(~is_primary)
    if len(dups):
        dup_of_primary = pd.Series(dups, index=regs["primary"].to_numpy()[dups])
        second = dup_of_primary.reindex(row_reg).to_numpy()
        has = ~np.isnan(second.astype(float))
        if row_when is not None:
            when = np.asarray(row_when).astype("datetime64[D]")
            # Split each person's rows at a random one of their own row dates.
            days = when[has].astype(np.int64)
            cut = pd.Series(days).groupby(row_reg[has]).median()
            use = days > cut.reindex(row_reg[has]).to_numpy()
        else:
            use = rng.random(has.sum()) < 0.5
        idx = np.flatnonzero(has)[use]
        row_reg[idx] = second[idx].astype(np.int64)
    used = np.zeros(len(regs), dtype=bool)
    used[row_reg] = True
    registry.used = registry.used | used if len(registry.used) else used
    # A second id can only show where the person has two or more rows to spread over.
    rows_per_person = np.bincount(regs["primary"].to_numpy()[row_reg], minlength=len(regs))
    registry.eligible["duplicate_registration"] = is_primary & (rows_per_person >= 2)
    return row_reg


# --- addresses ----------------------------------------------------------------------------------


@dataclass
class Addresses:
    codes: np.ndarray  # per row, into the arrays below
    line1: np.ndarray
    line2: np.ndarray
    town: np.ndarray
    postcode: np.ndarray
    one_line: np.ndarray  # "14 Oak Road, Manningham, Bradford"
    multi_line: np.ndarray  # lines and postcode separated by line breaks


def render_addresses(
    rng: np.random.Generator,
    registry: Registry,
    pop: Population,
    row_reg: np.ndarray,
    row_when: np.ndarray,
    records: list | None = None,
) -> Addresses:
    """Each row's address as the registration's system formats it, at the row's date."""
    hh = pop.households
    regs = registry.regs
    h = pop.persons["hh"].to_numpy()[regs["pid"].to_numpy()[row_reg]]
    epoch = address_epoch(hh, h, np.asarray(row_when).astype("datetime64[D]"))
    pair = row_reg.astype(np.int64) * 2 + epoch
    uniq, inv = np.unique(pair, return_inverse=True)
    ureg = uniq // 2
    uep = (uniq % 2).astype(bool)
    uh = pop.persons["hh"].to_numpy()[regs["pid"].to_numpy()[ureg]]
    pc_idx = np.where(uep, hh["pc1"].to_numpy()[uh], hh["pc0"].to_numpy()[uh])
    number = np.where(uep, hh["number1"].to_numpy()[uh], hh["number0"].to_numpy()[uh])
    flat = np.where(uep, hh["flat1"].to_numpy()[uh], hh["flat0"].to_numpy()[uh])
    pcs = pop.postcodes
    stem = pcs["street_stem"].to_numpy()[pc_idx].astype(object)
    suffix = pd.Series(pcs["street_suffix"].to_numpy()[pc_idx])
    locality = pcs["locality"].to_numpy()[pc_idx].astype(object)
    town = pcs["town"].to_numpy()[pc_idx].astype(object)
    postcode = pcs["postcode"].to_numpy()[pc_idx].astype(object)

    num = pd.Series(number).astype(str)
    flat_s = pd.Series(flat).astype(str)
    has_flat = flat > 0
    street = pd.Series(stem) + " " + suffix
    canonical = np.where(has_flat, "Flat " + flat_s + ", " + num + " " + street, num + " " + street)
    abbr_street = pd.Series(stem) + " " + suffix.map(lambda s: ABBREVIATIONS.get(s, s))
    abbreviated = np.where(
        has_flat, flat_s + "/" + num + " " + abbr_street, num + " " + abbr_street
    )
    upper = np.where(
        has_flat,
        (num + " " + street).str.upper() + " FLAT " + flat_s,
        (num + " " + street).str.upper(),
    )
    style = regs["style"].to_numpy()[ureg]
    line1 = np.where(
        style == "abbreviated", abbreviated, np.where(style == "upper", upper, canonical)
    )
    line1 = identity_dirt.flat_lines(
        line1.astype(object), style, has_flat, flat_s, num + " " + street
    )
    up = style == "upper"
    locality = np.where(up, pd.Series(locality).str.upper(), locality).astype(object)
    town = np.where(up, pd.Series(town).str.upper(), town).astype(object)
    missing = style == "missing"
    line1[missing] = None
    locality[missing] = None
    town[missing] = None

    # Postcode habits: left out, typed without the space, or mistyped.
    pdirt = regs["postcode_dirt"].to_numpy()[ureg]
    true_pc = postcode.copy()
    postcode = postcode.copy()
    postcode[pdirt == "postcode_missing"] = None
    nospace = pdirt == "postcode_no_space"
    postcode[nospace] = pd.Series(true_pc[nospace]).str.replace(" ", "").to_numpy(dtype=object)
    for i in np.flatnonzero(pdirt == "postcode_typo"):
        postcode[i] = postcode_typo(true_pc[i], rng)
    if records is not None:
        for i in np.flatnonzero(pdirt != ""):
            records.append((int(ureg[i]), pdirt[i], "postcode", true_pc[i], postcode[i] or "", ""))

    one = (
        pd.Series(line1).fillna("")
        + ", "
        + pd.Series(locality).fillna("")
        + ", "
        + pd.Series(town).fillna("")
    )
    one = one.to_numpy(dtype=object)
    one[missing] = None
    pc_text = pd.Series(postcode).fillna("")
    multi = (
        pd.Series(line1).fillna("")
        + "\n"
        + pd.Series(locality).fillna("")
        + "\n"
        + pd.Series(town).fillna("")
        + "\n"
        + pc_text
    ).str.rstrip("\n")
    multi = multi.to_numpy(dtype=object)
    multi[missing] = None
    return Addresses(inv.astype(np.int64), line1, locality, town, postcode, one, multi)


def postcode_typo(code: str, rng: np.random.Generator) -> str:
    """One character of a postcode mistyped: a digit for a digit, a letter for a letter."""
    chars = list(code)
    positions = [i for i, c in enumerate(chars) if c.isalnum() and i > 1]
    i = positions[int(rng.integers(0, len(positions)))]
    if chars[i].isdigit():
        chars[i] = str((int(chars[i]) + int(rng.integers(1, 9))) % 10)
    else:
        letters = [c for c in "ABDEFGHJLNPQRSTUWXYZ" if c != chars[i]]
        chars[i] = letters[int(rng.integers(0, len(letters)))]
    return "".join(chars)


def finish_records(registry: Registry, extra: list | None = None) -> tuple[pd.DataFrame, dict]:
    """Dirt records and rate counts for the registrations that rows actually use."""
    rec = registry.records
    if extra:
        rec = pd.concat(
            [rec, pd.DataFrame(extra, columns=rec.columns)], ignore_index=True
        ).drop_duplicates(["reg", "dirt_kind"])
    used = registry.used
    if len(rec):
        rec = rec[used[rec["reg"].to_numpy()]]
        # A second id only counts where the first is in the file too.
        dup = rec["dirt_kind"].to_numpy() == "duplicate_registration"
        primary = registry.regs["primary"].to_numpy()[rec["reg"].to_numpy()]
        rec = rec[~dup | used[primary]]
    spid = registry.regs["spid"].to_numpy()
    regs_of = rec["reg"].to_numpy() if len(rec) else np.zeros(0, np.int64)
    detail = rec["detail"].to_numpy(dtype=object).copy() if len(rec) else np.zeros(0, object)
    dup = rec["dirt_kind"].to_numpy() == "duplicate_registration" if len(rec) else detail == ""
    # For a second id, the detail names the first.
    detail[dup] = spid[registry.regs["primary"].to_numpy()[regs_of[dup]]]
    out = pd.DataFrame(
        {
            "source": registry.source,
            "source_person_id": spid[regs_of],
            "row_key": "",
            "dirt_kind": rec["dirt_kind"].to_numpy() if len(rec) else [],
            "field": rec["field"].to_numpy() if len(rec) else [],
            "true_value": rec["true_value"].to_numpy() if len(rec) else [],
            "recorded_value": rec["recorded_value"].to_numpy() if len(rec) else [],
            "detail": detail,
        }
    )
    counts = {}
    applied = out["dirt_kind"].value_counts()
    for kind, elig in registry.eligible.items():
        counts[kind] = (int((elig & used).sum()), int(applied.get(kind, 0)))
    return out, counts


# --- row-level dirt -----------------------------------------------------------------------------


def row_keys(table: Table, rows: np.ndarray) -> list[str]:
    """The contract's unique key of each given row, joined with '|'."""
    key = table.contract.unique_key or tuple(c.field for c in table.contract.columns[:1])
    parts = []
    for f in key:
        parts.append([str(x) for x in table.cols[f].at(rows)])
    return ["|".join(t) for t in zip(*parts, strict=True)]


def person_ids(table: Table, rows: np.ndarray) -> list[str]:
    c = table.contract
    if c.source == "housing_tenancies":
        ref = table.cols["tenancy_ref"].at(rows)
        no = table.cols["tenant_no"].at(rows)
        return [f"{a}-{b}" for a, b in zip(ref, no, strict=True)]
    if c.person_id_field is None:
        return [""] * len(rows)
    return [str(x) for x in table.cols[c.person_id_field].at(rows)]


def add_duplicate_rows(rng: np.random.Generator, table: Table, rate: float) -> list[tuple]:
    """Exact repeats of some rows, next to the original (as a join in an export makes them)."""
    n = table.n
    hit = np.flatnonzero(rng.random(n) < rate)
    counts = np.ones(n, dtype=np.int64)
    counts[hit] = 2
    table.order = np.repeat(np.arange(n), counts)
    keys = row_keys(table, hit)
    ids = person_ids(table, hit)
    return [
        (table.contract.source, pid, key, "duplicate_row", "", "", "", "")
        for pid, key in zip(ids, keys, strict=True)
    ]


# What breaks each contract, as seen in real extracts. Each entry: (kind, field, bad values).
VIOLATIONS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "school_census": (
        ("absences_exceed", "sessions_unauthorised_absence", ()),
        ("bad_date", "dob", ("2009-02-31", "unknown")),
        ("not_allowed", "sex", ("Male", "Female", "X")),
        ("blank_required", "school_name", ("",)),
        ("negative", "sessions_possible", ("-1",)),
    ),
    "police_incidents": (
        ("bad_date", "incident_datetime", ("31/02/2016 14:30", "unknown")),
        ("not_allowed", "person_role", ("Vicitm", "Suspect/Offender", "Informant")),
        ("blank_required", "offence_category", ("",)),
        ("not_allowed", "sex", ("Male", "Femle")),
    ),
    "dwp_spells": (
        ("end_before_start", "end_date", ()),
        ("benefit_on_employment", "benefit_type", ("JSA",)),
        ("bad_pattern", "nino", ("AB 12 34 56 C", "QQ123456C")),
        ("bad_date", "start_date", ("2016-02-30", "unknown")),
    ),
    "housing_tenancies": (
        ("end_before_start", "tenancy_end", ()),
        ("bad_date", "tenancy_start", ("unknown", "31/02/2016")),
        ("blank_required", "address", ("",)),
    ),
    "health_events": (
        ("not_allowed", "sex", ("M", "F", "0")),
        ("blank_required", "event_type", ("",)),
        ("not_allowed", "event_type", ("A & E attendance", "MH referral")),
        ("bad_pattern", "gp_practice_code", ("b8212", "Y02345")),
    ),
    "csc_episodes": (
        ("end_before_start", "end_date", ()),
        ("not_allowed", "episode_type", ("CIN", "CP Plan")),
        # Written month first (unknown_dirt.MONTH_FIRST): 31 April either way round.
        ("bad_date", "start_date", ("04/31/2017", "unknown")),
    ),
    "ehm_people": (
        ("bad_date", "recorded_date", ("unknown", "30/02/2017")),
        ("not_allowed", "sex", ("F", "M", "Not known")),
        ("blank_required", "case_id", ("",)),
    ),
    "ehm_relationships": (
        ("not_allowed", "relationship", ("Mum", "Dad", "Step-dad", "Nan", "Partner")),
    ),
    "ehm_referrals": (
        ("not_allowed", "referral_source", ("Schools", "GP", "Social Care")),
        ("decision_without_date", "decision_date", ()),
    ),
    "ehm_episodes": (
        ("first_contact_before_allocation", "first_contact_date", ()),
        ("bad_pattern", "key_worker", ("KW12", "kw0001x")),
    ),
    "service_involvement": (
        ("not_allowed", "service", ("Social Care", "Health")),
        ("blank_required", "current_as_of", ("",)),
        ("bad_date", "start_date", ("31/06/2018", "unknown")),
    ),
}


def add_violations(rng: np.random.Generator, table: Table, rate: float) -> list[tuple]:
    """Rows that break the contract, so the loader has real rejects to show."""
    source = table.contract.source
    options = VIOLATIONS.get(source, ())
    if not options:
        return []
    n = table.n
    repeated = np.zeros(n, dtype=bool)
    if table.order is not None:
        repeated[np.flatnonzero(np.bincount(table.order, minlength=n) > 1)] = True
    candidates = np.flatnonzero(~repeated)
    k = int(rng.binomial(len(candidates), rate))
    rows = np.sort(rng.choice(candidates, k, replace=False)) if k else np.zeros(0, np.int64)
    out = []
    keys = row_keys(table, rows)
    ids = person_ids(table, rows)
    for j, row in enumerate(rows):
        kind, fld, bad = options[int(rng.integers(0, len(options)))]
        text = _violate(table, int(row), kind, fld, bad, rng)
        if text is None:
            continue
        recorded = text if not isinstance(text, tuple) else text[1]
        out.append((source, ids[j], keys[j], "contract_violation", fld, "", recorded, kind))
    return out


def _violate(table: Table, row: int, kind: str, fld: str, bad: tuple, rng) -> str | None:
    cols = table.cols

    def set_text(f: str, value: str) -> None:
        table.overrides.append((row, f, value))

    def value(f: str):
        return cols[f].at(row)

    if kind in ("bad_date", "not_allowed", "blank_required", "negative", "bad_pattern"):
        choice = bad[int(rng.integers(0, len(bad)))]
        set_text(fld, choice)
        return choice
    if kind == "absences_exceed":
        possible = int(value("sessions_possible"))
        auth = int(value("sessions_authorised_absence"))
        new = max(possible - auth + 1 + int(rng.integers(0, 10)), 1)
        set_text(fld, str(new))
        return str(new)
    if kind in ("end_before_start", "first_contact_before_allocation"):
        start_field = {
            "end_date": "start_date",
            "tenancy_end": "tenancy_start",
            "first_contact_date": "allocated_date",
        }[fld]
        start = value(start_field)
        if start is None or np.isnat(start):
            return None
        new = np.datetime64(start, "D") - np.timedelta64(int(rng.integers(1, 60)), "D")
        col = cols[fld]
        # Replace the cell's date: append the new date to the column's values.
        if col.codes is not None:  # give the row a value of its own
            codes = col.codes.copy()
            codes[row] = len(col.values)
            cols[fld] = Col(np.append(col.values.astype("datetime64[D]"), new), codes)
        else:
            vals = col.values.astype("datetime64[D]").copy()
            vals[row] = new
            cols[fld] = Col(vals)
        return str(new)
    if kind == "benefit_on_employment":
        if value("spell_type") != "Employment":
            set_text("spell_type", "Employment")
        if value("benefit_type") is None:
            set_text(fld, bad[0])
        return bad[0]
    if kind == "decision_without_date":
        if value("decision") in (None, ""):
            set_text("decision", "Accepted")
            return "Accepted"
        set_text(fld, "")
        return ""
    raise ValueError(kind)


def excel_plain_dates(rng: np.random.Generator, table: Table, rate: float) -> list[tuple]:
    """Housing workbook: some date cells stored as bare serial numbers, as an unformatted column
    pasted into the workbook would leave them."""
    out = []
    date_fields = [c.field for c in table.contract.columns if c.type == "date"]
    for f in date_fields:
        blank = table.cols[f].row_blank()
        cand = np.flatnonzero(~blank)
        hit = cand[rng.random(len(cand)) < rate]
        keys = row_keys(table, hit)
        ids = person_ids(table, hit)
        for j, row in enumerate(hit):
            table.plain_serials.append((int(row), f))
            out.append((table.contract.source, ids[j], keys[j], "excel_serial_date", f, "", "", ""))
    return out
