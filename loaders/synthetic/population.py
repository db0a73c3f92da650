"""The true population of the synthetic district: households with children, their people, where
they live and move, and the problems they have.

Everything is drawn column-wise with numpy (no loop over households), so 70,000 households with
about 250,000 people take a second or two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loaders.synthetic import names as nm
from loaders.synthetic.common import (
    NAT,
    day,
    segment_rank,
    sigmoid,
    uniform_dates,
)
from loaders.synthetic.geography import WARDS, Institutions, build_institutions, build_postcodes

PROBLEMS = ("crime", "school", "children", "work", "dv", "health")
PROBLEM_TITLES = {
    "crime": "Crime or anti-social behaviour",
    "school": "School attendance",
    "children": "Children who need help",
    "work": "Worklessness",
    "dv": "Domestic violence and abuse",
    "health": "Health",
}
TWO_PARENT, STEP_FAMILY, LONE_MOTHER, LONE_FATHER = 0, 1, 2, 3
REFERENCE_DAY = day("2016-01-01")  # ages of children are spread around this day
LAST_BIRTH = day("2019-12-31")
YEAR = 365.25


@dataclass
class Population:
    households: pd.DataFrame
    persons: pd.DataFrame
    postcodes: pd.DataFrame
    institutions: Institutions


def build_population(rng: np.random.Generator, n: int) -> Population:
    postcodes = build_postcodes(rng, n)
    institutions = build_institutions(rng)
    hh = _households(rng, n, postcodes)
    persons = _persons(rng, hh)
    _problems(rng, hh, persons)
    return Population(hh, persons, postcodes, institutions)


# --- households ---------------------------------------------------------------------------------


def _households(rng: np.random.Generator, n: int, postcodes: pd.DataFrame) -> pd.DataFrame:
    pop = np.array([w.population_0_15 for w in WARDS], dtype=float)
    ward = rng.choice(len(WARDS), n, p=pop / pop.sum())
    dep = np.array([w.deprivation for w in WARDS])[ward]
    sa = np.array([w.south_asian for w in WARDS])[ward]
    bangladeshi = np.isin(
        np.array([w.name for w in WARDS])[ward], ["Keighley Central", "Bradford Moor"]
    )

    # Heritage: South Asian share from the ward, then the rest by inner-city-ness.
    east_eu = np.where(dep > 0.8, 0.08, 0.02)
    african = np.where(dep > 0.8, 0.015, 0.004)
    caribbean = np.where(dep > 0.8, 0.01, 0.004)
    white = np.clip(1 - sa - east_eu - african - caribbean, 0.01, 1)
    sa_split = np.array([0.75, 0.09, 0.06, 0.05, 0.05])
    bd_boost = np.where(bangladeshi, 0.25, 0.0)
    probs = np.column_stack(
        [
            white,
            sa * (sa_split[0] - bd_boost),
            sa * (sa_split[1] + bd_boost),
            sa * sa_split[2],
            sa * sa_split[3],
            sa * sa_split[4],
            east_eu,
            african,
            caribbean,
        ]
    )
    heritage = _pick(rng, probs)
    south_asian = np.isin(heritage, nm.SOUTH_ASIAN_HERITAGES)
    black = np.isin(heritage, (nm.BLACK_AFRICAN, nm.BLACK_CARIBBEAN))

    # Mixed-heritage couples: the mother's heritage differs from the father's.
    mixed = rng.random(n) < np.where(south_asian, 0.02, 0.06)
    other_for_mixed = np.where(
        heritage == nm.WHITE_BRITISH,
        rng.choice([nm.PAKISTANI, nm.BLACK_CARIBBEAN, nm.EAST_EUROPEAN], n, p=[0.5, 0.35, 0.15]),
        nm.WHITE_BRITISH,
    )
    mother_heritage = np.where(mixed, other_for_mixed, heritage)

    structure_p = np.where(
        south_asian[:, None],
        [0.82, 0.03, 0.13, 0.02],
        np.where(black[:, None], [0.45, 0.08, 0.43, 0.04], [0.52, 0.12, 0.31, 0.05]),
    )
    structure = _pick(rng, structure_p)
    married = rng.random(n) < np.where(south_asian, 0.97, np.where(black, 0.5, 0.6))
    kids_p = np.where(
        south_asian[:, None], [0.22, 0.30, 0.25, 0.14, 0.09], [0.38, 0.37, 0.16, 0.06, 0.03]
    )
    n_children = _pick(rng, kids_p) + 1
    grandparent = np.where(
        rng.random(n) < np.where(south_asian, 0.15, 0.05),
        np.where(rng.random(n) < 0.75, 1, 2),  # 1 grandmother, 2 grandfather
        0,
    )
    grandparent = np.where(structure == LONE_FATHER, 0, grandparent)

    # Address: a postcode in the ward, a house number on its street, some flats.
    pc0 = _postcode_in_ward(rng, postcodes, ward)
    flat_p = np.where(np.array([w.name for w in WARDS])[ward] == "City", 0.35, 0.08)
    number0, flat0 = _house(rng, postcodes, pc0, flat_p)

    # Moves within the district (a new address from then on) and out of it (no records after).
    moved_out = rng.random(n) < 0.05
    moved_out_date = np.where(
        moved_out, uniform_dates(rng, day("2013-03-01"), day("2019-12-31"), n), NAT
    )
    moves = rng.random(n) < 0.08
    move_date = np.where(moves, uniform_dates(rng, day("2013-01-01"), day("2019-12-31"), n), NAT)
    moves &= ~(moved_out & (move_date >= moved_out_date))
    move_date = np.where(moves, move_date, NAT)
    ward1 = _new_ward(rng, ward)
    pc1 = np.where(moves, _postcode_in_ward(rng, postcodes, ward1), -1)
    number1, flat1 = _house(rng, postcodes, np.where(moves, pc1, pc0), flat_p)
    ward1 = np.where(moves, ward1, -1)
    # One household to a dwelling: house numbers are distinct within a postcode, counting the
    # households that move in as well as those already there.
    number0, number1[moves] = np.split(
        _distinct_numbers(postcodes, np.r_[pc0, pc1[moves]], np.r_[number0, number1[moves]]), [n]
    )

    lone = (structure == LONE_MOTHER) | (structure == LONE_FATHER)
    social = rng.random(n) < (0.10 + 0.32 * dep + 0.12 * lone) * np.where(south_asian, 0.55, 1)
    social1 = np.where(rng.random(n) < 0.75, social, rng.random(n) < 0.3)
    need = 1.9 * dep + 0.7 * lone + 0.35 * (n_children >= 4) + rng.normal(0, 1, n)

    cluster_of = np.array([w.cluster for w in WARDS])
    return pd.DataFrame(
        {
            "hh": np.arange(n),
            "family_id": [f"TF{i + 1:06d}" for i in range(n)],
            "ward": ward,
            "cluster": cluster_of[ward],
            "deprivation": dep,
            "heritage": heritage,
            "mother_heritage": mother_heritage,
            "mixed": mixed,
            "structure": structure,
            "married": married,
            "n_children": n_children,
            "grandparent": grandparent,
            "pc0": pc0,
            "number0": number0,
            "flat0": flat0,
            "move_date": move_date,
            "ward1": ward1,
            "pc1": pc1,
            "number1": number1,
            "flat1": flat1,
            "moved_out_date": moved_out_date,
            "social0": social,
            "social1": social1 & moves,
            "need": need,
        }
    )


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    return np.minimum((rng.random((len(probs), 1)) > cum).sum(axis=1), probs.shape[1] - 1)


def _postcode_in_ward(rng: np.random.Generator, postcodes: pd.DataFrame, ward: np.ndarray):
    """A uniformly chosen postcode of each household's ward."""
    order = np.argsort(postcodes["ward"].to_numpy(), kind="stable")
    pc_ward = postcodes["ward"].to_numpy()[order]
    start = np.searchsorted(pc_ward, ward, side="left")
    end = np.searchsorted(pc_ward, ward, side="right")
    return order[start + np.floor(rng.random(len(ward)) * (end - start)).astype(int)]


def _house(rng, postcodes: pd.DataFrame, pc: np.ndarray, flat_p: np.ndarray):
    number = postcodes["first_number"].to_numpy()[pc] + 2 * rng.integers(0, 20, len(pc))
    flat = np.where(rng.random(len(pc)) < flat_p, rng.integers(1, 9, len(pc)), 0)
    return number, flat


def _distinct_numbers(postcodes: pd.DataFrame, pc: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """House numbers distinct within each postcode, in the order the drawn numbers give."""
    order = np.lexsort((np.arange(len(pc)), drawn, pc))
    sorted_pc = pc[order]
    starts = np.r_[0, np.flatnonzero(sorted_pc[1:] != sorted_pc[:-1]) + 1]
    rank_sorted = np.arange(len(pc)) - np.repeat(starts, np.diff(np.r_[starts, len(pc)]))
    rank = np.empty(len(pc), dtype=np.int64)
    rank[order] = rank_sorted
    return postcodes["first_number"].to_numpy()[pc] + 2 * rank


def _new_ward(rng: np.random.Generator, ward: np.ndarray) -> np.ndarray:
    """Most moves stay close: the same ward, else the same cluster, else anywhere."""
    n = len(ward)
    clusters = np.array([w.cluster for w in WARDS])
    pop = np.array([w.population_0_15 for w in WARDS], dtype=float)
    anywhere = rng.choice(len(WARDS), n, p=pop / pop.sum())
    same_cluster = anywhere.copy()
    for c in dict.fromkeys(clusters):  # ordered, so the draw is deterministic
        members = np.flatnonzero(clusters == c)
        here = clusters[ward] == c
        same_cluster[here] = rng.choice(members, here.sum())
    u = rng.random(n)
    return np.where(u < 0.5, ward, np.where(u < 0.8, same_cluster, anywhere))


# --- persons ------------------------------------------------------------------------------------


def _persons(rng: np.random.Generator, hh: pd.DataFrame) -> pd.DataFrame:
    n = len(hh)
    structure = hh["structure"].to_numpy()
    heritage = hh["heritage"].to_numpy()
    m_her = hh["mother_heritage"].to_numpy()

    # Children's dates of birth: the eldest aged 0-17 on the reference day, then gaps of 1-6
    # years, with about 1.5% of children born as twins (a gap of zero).
    kids = hh["n_children"].to_numpy()
    c_hh = np.repeat(np.arange(n), kids)
    c_rank = segment_rank(c_hh)
    eldest_age = rng.random(n) * 17.5 * YEAR
    gap = np.where(c_rank == 0, 0.0, (1.2 + rng.gamma(2.0, 0.8, len(c_hh))) * YEAR)
    twin = (c_rank > 0) & (rng.random(len(c_hh)) < 0.0145)
    twin &= ~np.r_[False, twin[:-1]]  # no triplets
    gap = np.where(twin, 0.0, gap)
    offset = pd.Series(gap).groupby(c_hh).cumsum().to_numpy()
    c_dob = REFERENCE_DAY - np.round(eldest_age[c_hh] - offset).astype("timedelta64[D]")
    keep = c_dob <= LAST_BIRTH
    c_hh, c_rank, c_dob, twin = c_hh[keep], c_rank[keep], c_dob[keep], twin[keep]
    is_twin = twin | np.r_[twin[1:], False]  # both members of the pair
    kids = np.bincount(c_hh, minlength=n)
    hh["n_children"] = kids

    eldest_dob = np.full(n, NAT)
    youngest_dob = np.full(n, NAT)
    first = np.r_[True, c_hh[1:] != c_hh[:-1]]
    last = np.r_[c_hh[1:] != c_hh[:-1], True]
    eldest_dob[c_hh[first]] = c_dob[first]
    youngest_dob[c_hh[last]] = c_dob[last]

    south_asian = np.isin(heritage, nm.SOUTH_ASIAN_HERITAGES)
    mother_age_first = 17 + rng.gamma(3.0, np.where(south_asian, 2.1, 2.6), n)
    mother_age_first = np.minimum(mother_age_first, 40)
    mother_dob = eldest_dob - np.round(mother_age_first * YEAR).astype("timedelta64[D]")
    father_dob = mother_dob - np.round(np.clip(rng.normal(2.5, 3.5, n), -5, 15) * YEAR).astype(
        "timedelta64[D]"
    )
    step_dob = mother_dob - np.round(rng.normal(1, 5, n) * YEAR).astype("timedelta64[D]")
    grand_gap = 19 + np.minimum(rng.gamma(3, 2.5, n), 18)  # the grandparent's age at the birth
    grand_dob = mother_dob - np.round(grand_gap * YEAR).astype("timedelta64[D]")
    lone_father_dob = eldest_dob - np.round((19 + rng.gamma(3, 3, n)) * YEAR).astype(
        "timedelta64[D]"
    )

    # Step-families: the eldest children are from the mother's earlier relationship, the younger
    # (if any) are the step-father's; he joined the household between the two.
    n_older = np.where(kids > 1, rng.integers(1, np.maximum(kids, 2)), 1)
    older = c_rank < n_older[c_hh]
    last_older = np.full(n, NAT)
    first_younger = np.full(n, NAT)
    lo = older & (np.r_[~older[1:], True] | last)
    last_older[c_hh[lo]] = c_dob[lo]
    fy = ~older & np.r_[True, older[:-1] | first[1:]]
    first_younger[c_hh[fy]] = c_dob[fy]
    join = np.where(
        np.isnat(first_younger),
        last_older + np.round(rng.uniform(1, 6, n) * YEAR).astype("timedelta64[D]"),
        first_younger - rng.integers(300, 1000, n).astype("timedelta64[D]"),
    )
    join = np.maximum(join, last_older + np.timedelta64(60, "D"))
    join = np.minimum(join, day("2019-06-30"))
    hh["stepfather_joined"] = np.where(structure == STEP_FAMILY, join, NAT)

    # One row per person: adults first within each household.
    blocks = []
    has_mother = structure != LONE_FATHER
    has_father = np.isin(structure, (TWO_PARENT, LONE_FATHER))
    has_step = structure == STEP_FAMILY
    for role, mask, dob, sex, her in (
        ("mother", has_mother, mother_dob, "F", m_her),
        ("father", has_father, np.where(structure == LONE_FATHER, lone_father_dob, father_dob),
         "M", heritage),
        ("stepfather", has_step, step_dob, "M", heritage),
        ("grandmother", hh["grandparent"].to_numpy() == 1, grand_dob, "F", m_her),
        ("grandfather", hh["grandparent"].to_numpy() == 2, grand_dob, "M", m_her),
    ):  # fmt: skip
        idx = np.flatnonzero(mask)
        blocks.append(
            pd.DataFrame(
                {
                    "hh": idx,
                    "role": role,
                    "sex": sex,
                    "dob": dob[idx],
                    "heritage": her[idx],
                    "child_rank": -1,
                    "is_twin": False,
                    "from_earlier_relationship": False,
                }
            )
        )
    child_sex = np.where(rng.random(len(c_hh)) < 0.512, "M", "F")
    mixed = hh["mixed"].to_numpy()[c_hh]
    child_her = np.where(mixed & (rng.random(len(c_hh)) < 0.5), m_her[c_hh], heritage[c_hh])
    blocks.append(
        pd.DataFrame(
            {
                "hh": c_hh,
                "role": "child",
                "sex": child_sex,
                "dob": c_dob,
                "heritage": child_her,
                "child_rank": c_rank,
                "is_twin": is_twin,
                "from_earlier_relationship": (structure[c_hh] == STEP_FAMILY) & older,
            }
        )
    )
    p = pd.concat(blocks, ignore_index=True)
    role_order = p["role"].map(
        {"mother": 0, "father": 1, "stepfather": 2, "grandmother": 3, "grandfather": 4, "child": 5}
    )
    p = (
        p.assign(_r=role_order)
        .sort_values(["hh", "_r", "child_rank"], kind="stable")
        .drop(columns="_r")
        .reset_index(drop=True)
    )
    p.insert(0, "pid", np.arange(len(p)))
    p.insert(1, "person_id", [f"TP{i + 1:07d}" for i in range(len(p))])
    _names(rng, hh, p)
    p["ethnicity"] = _ethnicity(hh, p)
    return p


def _draw(rng: np.random.Generator, pool: tuple[str, ...], size: int, power: float = 0.9):
    return np.asarray(pool, dtype=object)[
        rng.choice(len(pool), size, p=nm.zipf_weights(len(pool), power))
    ]


def _first_names(rng, heritage: np.ndarray, sex: np.ndarray) -> np.ndarray:
    out = np.empty(len(heritage), dtype=object)
    for h, (_, _, male, female, _) in enumerate(nm.HERITAGES):
        for s, pool in (("M", male), ("F", female)):
            m = (heritage == h) & (sex == s)
            if m.any():
                out[m] = _draw(rng, pool, int(m.sum()))
    return out


def _surnames(rng, heritage: np.ndarray) -> np.ndarray:
    out = np.empty(len(heritage), dtype=object)
    for h, (_, _, _, _, pool) in enumerate(nm.HERITAGES):
        m = heritage == h
        if m.any():
            out[m] = _draw(rng, pool, int(m.sum()), 0.7)
    return out


def female_form(surname: np.ndarray) -> np.ndarray:
    """Polish surnames change with sex: Kowalski -> Kowalska."""
    s = pd.Series(surname, dtype=object)
    return s.str.replace(r"(sk|ck)i$", r"\1a", regex=True).to_numpy(dtype=object)


def _names(rng: np.random.Generator, hh: pd.DataFrame, p: pd.DataFrame) -> None:
    n = len(hh)
    heritage = hh["heritage"].to_numpy()
    m_her = hh["mother_heritage"].to_numpy()
    structure = hh["structure"].to_numpy()
    married = hh["married"].to_numpy()
    sikh = heritage == nm.SIKH
    muslim = np.isin(heritage, nm.MUSLIM_HERITAGES)
    bangla = heritage == nm.BANGLADESHI
    western = ~np.isin(heritage, nm.SOUTH_ASIAN_HERITAGES)

    fam = _surnames(rng, heritage)  # the father's (or children's father's) family name
    singh = sikh & (rng.random(n) < 0.6)
    fam = np.where(singh, "Singh", fam)
    maiden = _surnames(rng, m_her)
    clash = maiden == fam
    maiden[clash] = _surnames(rng, m_her[clash])
    maiden = np.where(sikh & (rng.random(n) < 0.6), "Kaur", maiden)
    ex = fam  # in lone-mother and step families the children's father is the ex-partner
    step = _surnames(rng, heritage)
    step = np.where(sikh & (rng.random(n) < 0.6), "Singh", step)

    # The mother's surname now, and the one she had before (marriage or separation).
    u = rng.random(n)
    wife_title = np.where(
        bangla, np.where(u < 0.5, "Begum", "Khatun"), np.where(u < 0.7, "Begum", "Bibi")
    )
    takes_title = muslim & (rng.random(n) < np.where(bangla, 0.6, 0.35))
    mother_now = maiden.copy()
    mother_prev = np.full(n, "", dtype=object)
    v = rng.random(n)
    two = structure == TWO_PARENT
    took = two & married & ~takes_title & (v < np.where(muslim, 0.7, 0.85))
    mother_now = np.where(took, female_form(fam), mother_now)
    mother_prev = np.where(took, maiden, mother_prev)
    mother_now = np.where(two & takes_title, wife_title, mother_now)
    mother_now = np.where(sikh & two & (fam == "Singh") & (v < 0.6), "Kaur", mother_now)
    lone_m = structure == LONE_MOTHER
    had_married = lone_m & (rng.random(n) < 0.6) & ~takes_title
    kept = had_married & (v < 0.55)
    reverted = had_married & ~kept
    mother_now = np.where(kept, female_form(ex), mother_now)
    mother_prev = np.where(kept, maiden, mother_prev)
    mother_prev = np.where(reverted, female_form(ex), mother_prev)  # changed back on separation
    mother_now = np.where(lone_m & takes_title, wife_title, mother_now)
    stepf = structure == STEP_FAMILY
    wed_step = stepf & (v < 0.45)
    mother_now = np.where(wed_step, female_form(step), mother_now)
    mother_prev = np.where(wed_step, female_form(ex), mother_prev)
    kept_ex = stepf & ~wed_step & (v < 0.75)
    mother_now = np.where(kept_ex, female_form(ex), mother_now)
    mother_prev = np.where(kept_ex, maiden, mother_prev)

    role = p["role"].to_numpy()
    h = p["hh"].to_numpy()
    sex = p["sex"].to_numpy()
    last = np.empty(len(p), dtype=object)
    prev = np.full(len(p), "", dtype=object)
    is_m = role == "mother"
    last[is_m] = mother_now[h[is_m]]
    prev[is_m] = mother_prev[h[is_m]]
    is_f = role == "father"
    last[is_f] = fam[h[is_f]]
    is_s = role == "stepfather"
    last[is_s] = step[h[is_s]]
    is_g = np.isin(role, ("grandmother", "grandfather"))
    gm = _surnames(rng, m_her[h[is_g]])
    last[is_g] = np.where(
        (role[is_g] == "grandmother") & muslim[h[is_g]] & (rng.random(is_g.sum()) < 0.5),
        "Begum",
        np.where(maiden[h[is_g]] == "Kaur", gm, maiden[h[is_g]]),
    )

    # Children: the father's name mostly; the mother's, or both hyphenated, in some families.
    c = role == "child"
    ch = h[c]
    older = p["from_earlier_relationship"].to_numpy()[c]
    w = rng.random(c.sum())
    hyph_a = np.where(rng.random(c.sum()) < 0.5, maiden[ch], ex[ch])
    hyph_b = np.where(hyph_a == maiden[ch], ex[ch], maiden[ch])
    hyphen = hyph_a + "-" + hyph_b
    st = structure[ch]
    child_last = np.asarray(fam[ch], dtype=object).copy()
    unmarried_two = (st == TWO_PARENT) & ~married[ch] & western[ch]
    child_last = np.where(unmarried_two & (w < 0.25), maiden[ch], child_last)
    child_last = np.where(unmarried_two & (w >= 0.25) & (w < 0.40), hyphen, child_last)
    lone_c = (st == LONE_MOTHER) & western[ch]
    child_last = np.where(lone_c & (w < 0.25), maiden[ch], child_last)
    child_last = np.where(lone_c & (w >= 0.25) & (w < 0.35), hyphen, child_last)
    step_old = (st == STEP_FAMILY) & older
    child_last = np.where(step_old & (w < 0.15), maiden[ch], child_last)
    child_last = np.where(step_old & western[ch] & (w >= 0.15) & (w < 0.25), hyphen, child_last)
    step_young = (st == STEP_FAMILY) & ~older
    child_last = np.where(step_young, step[ch], child_last)
    # Sikh families with the name Singh: sons Singh, daughters Kaur.
    sikh_singh = (child_last == "Singh") & (sex[c] == "F")
    child_last = np.where(sikh_singh, "Kaur", child_last)
    child_last = np.where(sex[c] == "F", female_form(child_last), child_last)
    last[c] = child_last
    last[is_f | is_s] = last[is_f | is_s]

    first = _first_names(rng, p["heritage"].to_numpy(), sex)
    # Siblings (and twins above all) never share a first name.
    for _ in range(8):
        key = pd.Series(h.astype(str)) + "|" + pd.Series(first, dtype=object)
        dup = key.duplicated().to_numpy() & c
        if not dup.any():
            break
        first[dup] = _first_names(rng, p["heritage"].to_numpy()[dup], sex[dup])
    p["first_name"] = first
    p["last_name"] = last
    p["previous_last_name"] = prev


def _ethnicity(hh: pd.DataFrame, p: pd.DataFrame) -> np.ndarray:
    truth = np.array([h[0] for h in nm.HERITAGES], dtype=object)[p["heritage"].to_numpy()]
    mixed_child = hh["mixed"].to_numpy()[p["hh"].to_numpy()] & (p["role"].to_numpy() == "child")
    return np.where(mixed_child, "Mixed", truth)


def ehm_ethnicity_label(ethnicity: np.ndarray, heritage: np.ndarray) -> np.ndarray:
    """How a case management system records ethnicity (Census 2011 categories)."""
    labels = np.array([h[1] for h in nm.HERITAGES], dtype=object)[heritage]
    return np.where(ethnicity == "Mixed", "Mixed - Any other mixed background", labels)


def census_ethnicity_code(
    ethnicity: np.ndarray, heritage: np.ndarray, father_heritage: np.ndarray,
    mother_heritage: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """How the school census codes a pupil's ethnicity (DfE codes): the heritage's code, and for
    a child of a mixed-heritage couple White and Asian (MWAS), White and Black Caribbean (MWBC),
    White and Black African (MWBA) or any other mixed background (MOTH)."""
    codes = np.array(nm.DFE_ETHNICITY, dtype=object)[heritage]
    white = (nm.WHITE_BRITISH, nm.EAST_EUROPEAN)
    pair = np.stack([father_heritage, mother_heritage])
    has_white = np.isin(pair, white).any(axis=0)
    has = lambda group: np.isin(pair, group).any(axis=0)  # noqa: E731
    both_white = np.isin(pair, white).all(axis=0)  # White British and White Other: the child's
    mixed = np.select(
        [
            both_white,
            has_white & has(nm.SOUTH_ASIAN_HERITAGES),
            has_white & has((nm.BLACK_CARIBBEAN,)),
            has_white & has((nm.BLACK_AFRICAN,)),
        ],
        [codes, "MWAS", "MWBC", "MWBA"],
        "MOTH",
    ).astype(object)
    return np.where(ethnicity == "Mixed", mixed, codes)


# --- problems -----------------------------------------------------------------------------------

# Intercepts tuned so that at Bradford scale about a fifth of families have two or more of the
# six headline problems at some point between 2012 and 2020, more in deprived wards.
_PROBLEM_MODEL = {
    #           intercept, need slope, lone-parent, extra
    "crime": (-4.3, 1.05, 0.2),
    "school": (-3.9, 1.0, 0.2),
    "children": (-4.4, 1.0, 0.3),
    "work": (-2.6, 0.95, 0.9),
    "dv": (-4.2, 0.95, 0.2),
    "health": (-3.6, 0.9, 0.3),
}


def _problems(rng: np.random.Generator, hh: pd.DataFrame, persons: pd.DataFrame) -> None:
    n = len(hh)
    need = hh["need"].to_numpy()
    shared = rng.normal(0, 0.8, n)  # what makes one family's problems come together
    lone = np.isin(hh["structure"].to_numpy(), (LONE_MOTHER, LONE_FATHER))
    school_age = _has_school_age_child(hh, persons)
    for k, (a, b, c) in _PROBLEM_MODEL.items():
        p = sigmoid(a + b * need + shared + c * lone)
        has = rng.random(n) < p
        if k == "school":
            has &= school_age
        if k == "dv":
            has &= hh["structure"].to_numpy() != LONE_FATHER
        hh[f"p_{k}"] = has
    hh["n_problems"] = hh[[f"p_{k}" for k in PROBLEMS]].sum(axis=1)
    hh["eligible"] = hh["n_problems"] >= 2


def _has_school_age_child(hh: pd.DataFrame, persons: pd.DataFrame) -> np.ndarray:
    """A child of school age (4-15) at some time in the school years covered."""
    c = persons[persons["role"] == "child"]
    dob = c["dob"].to_numpy().astype("datetime64[D]")
    ok = (dob >= day("1996-09-01")) & (dob <= day("2015-08-31"))
    out = np.zeros(len(hh), dtype=bool)
    out[c["hh"].to_numpy()[ok]] = True
    return out & (hh["hh"].to_numpy() >= 0)


def address_epoch(hh: pd.DataFrame, h: np.ndarray, when: np.ndarray) -> np.ndarray:
    """0 for the first address, 1 once the household has moved within the district."""
    move = hh["move_date"].to_numpy().astype("datetime64[D]")[h]
    return (~np.isnat(move) & (np.asarray(when) >= move)).astype(np.int8)


def present(hh: pd.DataFrame, h: np.ndarray, when: np.ndarray) -> np.ndarray:
    """True while the household still lives in the district (moved-out families vanish)."""
    out = hh["moved_out_date"].to_numpy().astype("datetime64[D]")[h]
    return np.isnat(out) | (np.asarray(when) < out)
