"""Dirt in how systems write a person's name and flat, and namesakes in the population.

Kept apart from dirt.py's kinds so each can change on its own. Registration-level, like the name
dirt there (drawn once per registration, so every row of it carries it), and applied only where
the name (or address) is still as the person's true one, so that one field carries one kind:

- `title`: a title written into the first-name field ("Mrs Jane", "Master Adam"), as housing and
  police systems with a single name field do.
- `initial_first`: the first name as its initial ("J" or "J.").
- `second_given_name`: a second given name after the first ("Mary Jane"), as systems that hold a
  person's full forenames record it (the GP, DWP).
- `names_swapped`: forename and surname each in the other's field.
- `flat_format`: a flat written "Flat 2 10 Oak Road", "2, 10 Oak Road" or "Flat No 2, 10 Oak
  Road" (only shows where the dwelling is a flat).

Population: `name_after_parent` gives some children their father's (sons) or mother's
(daughters) first name, so that parent and child of one name live at one address: the namesakes
linkage must keep apart.

Every piece is recorded for `_truth/dirt.csv` with the registrations it could have applied to,
as dirt.py's are (rates in RATES, documented in SYNTHETIC.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loaders.synthetic import names as nm

NAME_FORM_KINDS = ("title", "initial_first", "second_given_name", "names_swapped")
ADDRESS_FORM_KINDS = ("flat_format",)
KINDS = NAME_FORM_KINDS + ADDRESS_FORM_KINDS

_BASE = {
    "title": 0.01,
    "initial_first": 0.005,
    "second_given_name": 0.02,
    "names_swapped": 0.002,
    "flat_format": 0.10,
}
# Each system's habits: titles and initials where one name field is typed from what a person
# says (housing, police); full forenames where a national record supplies them (GP, DWP).
RATES: dict[str, dict[str, float]] = {
    "school_census": _BASE
    | {"title": 0.0, "initial_first": 0.0, "second_given_name": 0.04, "names_swapped": 0.001},
    "police_incidents": _BASE
    | {"title": 0.02, "initial_first": 0.01, "second_given_name": 0.02, "names_swapped": 0.01,
       "flat_format": 0.25},
    "dwp_spells": _BASE | {"title": 0.01, "second_given_name": 0.08, "flat_format": 0.0},
    "housing_tenancies": _BASE
    | {"title": 0.08, "initial_first": 0.03, "names_swapped": 0.005, "flat_format": 0.20},
    "health_events": _BASE | {"second_given_name": 0.06},
    "csc_episodes": _BASE,
    "ehm_people": _BASE | {"initial_first": 0.003},
    "service_involvement": _BASE | {"title": 0.02},
}  # fmt: skip

FLAT_STYLES = ("flat_no_comma", "flat_bare", "flat_no")


def title_for(sex: str, dob: np.datetime64, rng: np.random.Generator) -> str:
    """A title as a system would record it: Master or Miss for children, Mr, Mrs, Ms, Miss or
    Dr for adults (born before 2000)."""
    adult = dob < np.datetime64("2000-01-01") if not np.isnat(dob) else True
    u = rng.random()
    if sex == "M":
        return ("Dr" if u < 0.03 else "Mr") if adult else "Master"
    if not adult:
        return "Miss"
    return "Dr" if u < 0.02 else "Mrs" if u < 0.55 else "Ms" if u < 0.75 else "Miss"


def second_name_pool(heritage: int, sex: str) -> tuple[str, ...]:
    _, _, male, female, _ = nm.HERITAGES[heritage]
    return male if sex == "M" else female


def name_forms(
    rng: np.random.Generator,
    source: str,
    regs: pd.DataFrame,
    true_first: np.ndarray,
    true_last: np.ndarray,
    persons: pd.DataFrame,
    eligible: dict[str, np.ndarray],
) -> list[tuple[int, str, str, str, str, str]]:
    """Titles, initials, second given names and swapped names on registrations whose names are
    still the true ones; changes regs' first and last columns, fills `eligible` and returns the
    dirt records (reg, kind, field, true value, recorded value, detail)."""
    rates = RATES[source]
    n = len(regs)
    first = regs["first"].to_numpy().copy()
    last = regs["last"].to_numpy().copy()
    untouched = (first == true_first) & (last == true_last)
    sex = persons["sex"].to_numpy()
    dob = persons["dob"].to_numpy(dtype="datetime64[D]")
    heritage = persons["heritage"].to_numpy()
    records = []
    taken = np.zeros(n, dtype=bool)
    for kind in NAME_FORM_KINDS:
        elig = untouched & ~taken
        eligible[kind] = elig
        hit = elig & (rng.random(n) < rates.get(kind, 0.0))
        for i in np.flatnonzero(hit):
            if kind == "title":
                first[i] = f"{title_for(sex[i], dob[i], rng)} {first[i]}"
            elif kind == "initial_first":
                first[i] = first[i][0] + ("." if rng.random() < 0.5 else "")
            elif kind == "second_given_name":
                pool = [name for name in second_name_pool(heritage[i], sex[i]) if name != first[i]]
                first[i] = f"{first[i]} {pool[int(rng.integers(0, len(pool)))]}"
            else:
                first[i], last[i] = last[i], first[i]
            records.append((int(i), kind, "first", str(true_first[i]), str(first[i]), ""))
        taken |= hit
    regs["first"] = first
    regs["last"] = last
    return records


def flat_forms(
    rng: np.random.Generator,
    source: str,
    style: np.ndarray,
    has_flat: np.ndarray,
    eligible: dict[str, np.ndarray],
) -> list[tuple[int, str, str, str, str, str]]:
    """`flat_format` on registrations whose address is written the system's usual way and
    whose household lives in a flat (before or after a move); changes `style` in place."""
    elig = (style == "canonical") & has_flat
    eligible["flat_format"] = elig
    hit = elig & (rng.random(len(style)) < RATES[source].get("flat_format", 0.0))
    chosen = np.asarray(FLAT_STYLES, dtype=object)[rng.integers(0, len(FLAT_STYLES), len(style))]
    style[hit] = chosen[hit]
    return [(int(i), "flat_format", "address", "", "", str(style[i])) for i in np.flatnonzero(hit)]


def flat_lines(
    line1: np.ndarray, style: np.ndarray, has_flat: np.ndarray, flat: pd.Series, house: pd.Series
) -> np.ndarray:
    """First address lines in the flat styles ("Flat 2 10 Oak Road", "2, 10 Oak Road", "Flat No
    2, 10 Oak Road"); `house` is the number and street. Other lines are left as they are."""
    out = line1.copy()
    forms = {
        "flat_no_comma": "Flat " + flat + " " + house,
        "flat_bare": flat + ", " + house,
        "flat_no": "Flat No " + flat + ", " + house,
    }
    for name, text in forms.items():
        use = (style == name) & has_flat
        out[use] = text.to_numpy(dtype=object)[use]
    return out


def name_after_parent(rng: np.random.Generator, persons: pd.DataFrame) -> np.ndarray:
    """Some children named after the parent of their sex in the household (a son after his father,
    a daughter after her mother), so parent and child share a first name, a surname often, and an
    address; returns the children renamed (persons' positions). Rates in NAMESAKE_RATES."""
    role = persons["role"].to_numpy()
    hh = persons["hh"].to_numpy()
    sex = persons["sex"].to_numpy()
    first = persons["first_name"].to_numpy().copy()
    chosen, parents = [], []
    for parent_role, child_sex in (("father", "M"), ("mother", "F")):
        parent = pd.Series(np.flatnonzero(role == parent_role), index=hh[role == parent_role])
        parent = parent[~parent.index.duplicated()]
        child = np.flatnonzero((role == "child") & (sex == child_sex))
        has_parent = parent.reindex(hh[child]).notna().to_numpy()
        draw = rng.random(len(child)) < NAMESAKE_RATES[child_sex]
        picked = child[has_parent & draw]
        chosen.append(picked)
        parents.append(parent.reindex(hh[picked]).to_numpy(dtype=np.int64))
    renamed, parent_of = np.concatenate(chosen), np.concatenate(parents)
    # One namesake a household: two would be siblings of one name, which the district never has.
    keep = ~pd.Series(hh[renamed]).duplicated().to_numpy()
    renamed, parent_of = renamed[keep], parent_of[keep]
    first[renamed] = first[parent_of]
    persons["first_name"] = first
    return renamed


# Children named after the parent of their sex, among children with that parent at home.
NAMESAKE_RATES = {"M": 0.03, "F": 0.005}
