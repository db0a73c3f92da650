"""The partner systems' extracts: school census, police, DWP, housing, health and children's social
care. Each function draws the true events for the district's people (driven by their families'
problems and whether the programme helped), registers the people in that system with its own
dirt, and returns a Table ready to write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loaders.contracts import BY_SOURCE
from loaders.synthetic.common import (
    CURRENT_AS_OF,
    NAT,
    SCHOOL_YEARS,
    census_dates,
    day,
    split_date,
    uniform_dates,
    unique_numbers,
)
from loaders.synthetic.dirt import (
    SOURCE_RATES,
    Registry,
    assign_rows,
    record_missing,
    register,
    render_addresses,
)
from loaders.synthetic.geography import WARDS
from loaders.synthetic.population import (
    Population,
    address_epoch,
    census_ethnicity_code,
    present,
)
from loaders.synthetic.programme import SCHOOL_STEP_SHARE, Programme
from loaders.synthetic.write import Col, Table, coded

YEAR = 365.25
POLICE_START = day("2012-04-01")
DWP_START = day("2010-04-01")
UC_FULL_SERVICE = day("2018-06-13")  # Universal Credit full service reaches Bradford (synthetic)


@dataclass
class SourceResult:
    table: Table
    registry: Registry | None
    row_reg: np.ndarray | None  # registration of each table row (None if not person rows)
    records: list  # registration-level records found while rendering (postcodes)
    row_when: np.ndarray | None = None  # the date each row is about, where a caller needs it
    pids: np.ndarray | None = None  # true person of each row, where there is no registry


@dataclass
class Members:
    """Per household: the pid of each kind of member, or -1."""

    mother: np.ndarray
    father: np.ndarray  # father or step-father
    eldest_son: np.ndarray
    eldest_child: np.ndarray
    child_start: np.ndarray  # children of household h are kids[child_start[h]:child_end[h]]
    child_end: np.ndarray
    kids: np.ndarray  # pids of children sorted by household


def members(pop: Population) -> Members:
    p = pop.persons
    n = len(pop.households)
    role = p["role"].to_numpy()
    h = p["hh"].to_numpy()
    pid = p["pid"].to_numpy()

    def first_of(mask):
        out = np.full(n, -1)
        idx = np.flatnonzero(mask)
        hh_idx = h[idx]
        first = np.r_[True, hh_idx[1:] != hh_idx[:-1]]
        out[hh_idx[first]] = pid[idx[first]]
        return out

    kids_mask = role == "child"
    kids = pid[kids_mask]
    kh = h[kids_mask]
    return Members(
        mother=first_of(role == "mother"),
        father=first_of(np.isin(role, ("father", "stepfather"))),
        eldest_son=first_of(kids_mask & (p["sex"].to_numpy() == "M")),
        eldest_child=first_of(kids_mask),
        child_start=np.searchsorted(kh, np.arange(n), side="left"),
        child_end=np.searchsorted(kh, np.arange(n), side="right"),
        kids=kids,
    )


def random_child(rng: np.random.Generator, mem: Members, h: np.ndarray) -> np.ndarray:
    """A child of each given household, at random."""
    start, end = mem.child_start[h], mem.child_end[h]
    return mem.kids[start + np.floor(rng.random(len(h)) * (end - start)).astype(int)]


def _ids(prefix: str, digits: int) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Unique random ids like N12345678, so ids reveal nothing about row order."""

    def make(rng: np.random.Generator, n: int) -> np.ndarray:
        nums = unique_numbers(rng, n, 10 ** (digits - 1), 10**digits)
        return np.array([f"{prefix}{x:0{digits}d}" for x in nums], dtype=object)

    return make


def _upns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique Pupil Numbers: a check letter, Bradford's LA number 380, then digits."""
    nums = unique_numbers(rng, n, 0, 10**8)
    letters = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"))[rng.integers(0, 23, n)]
    last = rng.integers(0, 10, n)
    return np.array(
        [f"{a}380{x:08d}{c}" for a, x, c in zip(letters, nums, last, strict=True)], dtype=object
    )


def person_cols(
    registry: Registry, row_reg: np.ndarray, sex_map: dict[str, str | None]
) -> dict[str, Col]:
    regs = registry.regs
    sex = np.array([sex_map[s] for s in regs["sex"].to_numpy()], dtype=object)
    return {
        "first_name": Col(regs["first"].to_numpy(dtype=object), row_reg),
        "last_name": Col(regs["last"].to_numpy(dtype=object), row_reg),
        "dob": Col(regs["dob"].to_numpy(dtype="datetime64[D]"), row_reg),
        "sex": Col(sex, row_reg),
    }


def _window(hh: pd.DataFrame, k: str, h: np.ndarray, start, end) -> tuple[np.ndarray, np.ndarray]:
    onset = hh[f"{k}_onset"].to_numpy().astype("datetime64[D]")[h]
    stop = hh[f"{k}_end"].to_numpy().astype("datetime64[D]")[h]
    return np.maximum(onset, start), np.minimum(stop, end)


def _events_in_window(rng, lo: np.ndarray, hi: np.ndarray, rate_per_year: float | np.ndarray):
    """Poisson numbers of events uniformly in [lo, hi]: (owner index, date)."""
    span = np.maximum((hi - lo).astype(np.int64), 0)
    n = rng.poisson(np.asarray(rate_per_year) * span / YEAR)
    owner = np.repeat(np.arange(len(lo)), n)
    when = lo[owner] + np.floor(rng.random(len(owner)) * (span[owner] + 1)).astype("timedelta64[D]")
    return owner, when


def _severity_rate(hh: pd.DataFrame, h: np.ndarray, rate: float) -> np.ndarray:
    """A family's yearly rate of events of a problem: more in families whose problems are more
    severe (programme's `severity`), the same on average (exp(0.3 z) has mean exp(0.045))."""
    return rate * np.exp(0.3 * hh["severity"].to_numpy()[h] - 0.045)


def _with_triggers(hh: pd.DataFrame, k: str, fam: np.ndarray, h: np.ndarray, when: np.ndarray):
    """The events drawn for families `fam` (household h, date when) and, for each referred family,
    the recorded event that led to its referral (programme's `<k>_trigger`)."""
    trigger = hh[f"{k}_trigger"].to_numpy().astype("datetime64[D]")[fam]
    has = ~np.isnat(trigger)
    return np.r_[h, fam[has]], np.r_[when, trigger[has]]


def _thin_after_attachment(rng, hh, k: str, h, when, keep_success: float, keep_other: float):
    att = hh["attached_date"].to_numpy().astype("datetime64[D]")[h]
    success = hh[f"{k}_success"].to_numpy()[h]
    after = ~np.isnat(att) & (when > att)
    keep_p = np.where(after, np.where(success, keep_success, keep_other), 1.0)
    return rng.random(len(h)) < keep_p


# --- school census ------------------------------------------------------------------------------

TERM_NAMES = ("Autumn", "Spring", "Summer")
SCHOOL_DEPTH = 0.085  # typical attendance below 90% while a family's school problem lasts
TREND_STEP = 0.025  # attendance change a term before attachment where it was rising or falling
BASE_SESSIONS = (126, 122, 132)


def _index_school_child(hh: pd.DataFrame, kids: pd.DataFrame) -> np.ndarray:
    """Per child: whether it is its family's eldest child of school age (5-15) on the day the
    family's problems are anchored to (the first referral), whose attendance shows a school
    attendance problem for certain."""
    k_hh = kids["hh"].to_numpy()
    anchor = hh["anchor"].to_numpy().astype("datetime64[D]")[k_hh]
    age = (anchor - kids["dob"].to_numpy().astype("datetime64[D]")).astype(float) / YEAR
    school_age = np.flatnonzero((age >= 5) & (age < 16))
    order = school_age[np.lexsort((kids["dob"].to_numpy()[school_age], k_hh[school_age]))]
    _, first = np.unique(k_hh[order], return_index=True)
    out = np.zeros(len(kids), dtype=bool)
    out[order[first]] = True
    return out


def school_census(rng: np.random.Generator, pop: Population, prog: Programme) -> SourceResult:
    hh, p = pop.households, pop.persons
    kids = p[p["role"] == "child"]
    kid_pid = kids["pid"].to_numpy()
    kid_hh = kids["hh"].to_numpy()
    y, m, _ = split_date(kids["dob"].to_numpy().astype("datetime64[D]"))
    reception = np.where(m >= 9, y, y - 1) + 5
    y0 = np.maximum(reception, SCHOOL_YEARS[0])
    y1 = np.minimum(reception + 11, SCHOOL_YEARS[-1])
    in_la = rng.random(len(kids)) < 0.98  # a few are home educated or at independent schools
    n_terms = np.where(in_la, np.maximum(y1 - y0 + 1, 0) * 3, 0)
    kid = np.repeat(np.arange(len(kids)), n_terms)
    start = np.repeat(np.cumsum(n_terms) - n_terms, n_terms)
    rank = np.arange(len(kid)) - start
    t = (y0[kid] - SCHOOL_YEARS[0]) * 3 + rank  # term index 0..23
    dates = census_dates()
    when = dates[t]
    h = kid_hh[kid]
    keep = present(hh, h, when)
    kid, t, when, h = kid[keep], t[keep], when[keep], h[keep]
    n = len(kid)
    year = SCHOOL_YEARS[0] + t // 3
    year_group = year - reception[kid]  # 0 = reception ... 11 = year 11

    # Sessions possible: each term's length varies a little with the calendar.
    base = np.array(BASE_SESSIONS)[np.arange(24) % 3] + rng.integers(-4, 5, 24)
    possible = base[t].astype(np.int64)
    partial = rng.random(n) < 0.04  # joined or left during the term
    possible = np.where(partial, (possible * rng.uniform(0.3, 0.95, n)).astype(np.int64), possible)

    # Attendance: most children attend ~95%. In a family with a school attendance problem the
    # child of school age when it began, and often a sibling, attend much less while it lasts
    # (deeper the more severe the family's problems); over the three terms before attachment it
    # was rising, steady or falling (the family's school_trend); after attachment it moves term
    # by term along the family's path (programme._school_terms) from where it was towards the
    # child's usual attendance (91.5-97.5%).
    child_base = 1 - np.minimum(rng.gamma(2.0, 0.021, len(kids)), 0.3)
    affected = (rng.random(len(kids)) < 0.6) | _index_school_child(hh, kids)
    severity = hh["severity"].to_numpy()[kid_hh]
    depth = SCHOOL_DEPTH * np.exp(0.4 * severity + rng.normal(0, 0.25, len(kids)))
    low = 0.90 - np.clip(depth, 0.025, 0.25) - rng.uniform(0, 0.03, len(kids))
    target = rng.uniform(0.915, 0.975, len(kids))
    k = kid
    on_path = prog.school_levels[h, t] >= 0  # attached, with the problem, after attachment
    step = np.array(SCHOOL_STEP_SHARE)[np.maximum(prog.school_levels[h, t], 0)]
    in_problem = (
        hh["p_school"].to_numpy()[h]
        & affected[k]
        & (when >= hh["school_onset"].to_numpy().astype("datetime64[D]")[h])
        & (when <= hh["school_end"].to_numpy().astype("datetime64[D]")[h])
        & ~on_path
    )
    recovering = on_path & affected[k]
    attach_t = np.searchsorted(
        dates, hh["attached_date"].to_numpy().astype("datetime64[D]")[h], side="right"
    )  # first census after attachment
    before = attach_t - 1 - t  # 0 for the last census before attachment, 1, 2 the two before
    trending = in_problem & (before >= 0) & (before < 3)
    trend = hh["school_trend"].to_numpy()[h]
    att = child_base[k]
    att = np.where(in_problem, low[k] - np.where(trending, trend * TREND_STEP * before, 0), att)
    att = np.where(recovering, low[k] + (target[k] - low[k]) * step, att)
    att = np.clip(att + rng.normal(0, 0.012, n), 0.3, 1.0)
    absent = np.round(possible * (1 - att)).astype(np.int64)
    troubled = in_problem | (recovering & (step < 1))
    unauth = rng.binomial(absent, np.where(troubled, 0.55, 0.25))
    auth = absent - unauth
    secondary = year_group >= 7
    fte = rng.poisson(np.where(troubled & secondary, 0.22, 0.004))
    fte_blank = rng.random(n) < 0.03
    perm = np.where(troubled & secondary & (rng.random(n) < 0.002), "Y", "N").astype(object)
    perm[rng.random(n) < 0.08] = None

    # The school: a primary in the ward the family lives in, a secondary in its cluster.
    epoch = address_epoch(hh, h, when)
    ward = np.where(epoch == 1, hh["ward1"].to_numpy()[h], hh["ward"].to_numpy()[h])
    schools = pop.institutions.schools
    seed = rng.integers(0, 10**6, len(kids))[k]
    prim = schools[schools["phase"] == "Primary"].sort_values("ward", kind="stable")
    p_ward = prim["ward"].to_numpy()
    p_start = np.searchsorted(p_ward, np.arange(len(WARDS)), side="left")
    p_count = np.searchsorted(p_ward, np.arange(len(WARDS)), side="right") - p_start
    sec = schools[schools["phase"] == "Secondary"].reset_index(drop=True)
    cluster_of_ward = np.array([w.cluster for w in WARDS])
    clusters = list(dict.fromkeys(cluster_of_ward))
    sec_cluster = np.array([clusters.index(c) for c in sec["cluster"]])
    order = np.argsort(sec_cluster, kind="stable")
    s_start = np.searchsorted(sec_cluster[order], np.arange(len(clusters)), side="left")
    s_count = np.searchsorted(sec_cluster[order], np.arange(len(clusters)), side="right") - s_start
    w_cluster = np.array([clusters.index(c) for c in cluster_of_ward])[ward]
    prim_row = prim.index.to_numpy()[p_start[ward] + seed % p_count[ward]]
    sec_row = sec.index.to_numpy()[order][s_start[w_cluster] + seed % s_count[w_cluster]]
    prim_pos = schools.index.get_indexer(prim_row)
    sec_pos = len(prim) + sec_row  # secondaries follow primaries in the schools table
    school = np.where(secondary, sec_pos, prim_pos)

    # Rows as the census files come: census by census, school by school.
    row_order = np.lexsort((kid, school, t))
    kid, t, when, h, school = (
        kid[row_order],
        t[row_order],
        when[row_order],
        h[row_order],
        school[row_order],
    )
    possible, auth, unauth = possible[row_order], auth[row_order], unauth[row_order]
    fte, fte_blank, perm = fte[row_order], fte_blank[row_order], perm[row_order]

    pids = kid_pid[kid]
    registry = register(rng, "school_census", np.unique(pids), pop, _upns, dob_required=True)
    row_reg = assign_rows(rng, registry, pids, when)
    records: list = []
    addr = render_addresses(rng, registry, pop, row_reg, when, records)
    cols = person_cols(registry, row_reg, {"M": "M", "F": "F", "U": None})
    years = [f"{yy}/{(yy + 1) % 100:02d}" for yy in SCHOOL_YEARS]
    cols.update(
        {
            "upn": Col(registry.regs["spid"].to_numpy(dtype=object), row_reg),
            "address_line_1": Col(addr.line1, addr.codes),
            "address_line_2": Col(addr.line2, addr.codes),
            "town": Col(addr.town, addr.codes),
            "postcode": Col(addr.postcode, addr.codes),
            "school_urn": Col(schools["urn"].to_numpy(dtype=np.int64), school),
            "school_name": coded(schools["name"].to_numpy(dtype=object), school),
            "academic_year": coded(years, t // 3),
            "term": coded(TERM_NAMES, t % 3),
            "sessions_possible": Col(possible),
            "sessions_authorised_absence": Col(auth),
            "sessions_unauthorised_absence": Col(unauth),
            "fixed_term_exclusions": Col(fte, blank=fte_blank),
            "permanent_exclusion": Col(perm),
            "census_date": Col(dates, t),
            "ethnicity": _census_ethnicity(rng, pop, kids, kid),
        }
    )
    return SourceResult(Table(BY_SOURCE["school_census"], cols), registry, row_reg, records)


def _census_ethnicity(rng: np.random.Generator, pop: Population, kids: pd.DataFrame, kid) -> Col:
    """Each pupil's ethnicity as the census codes it, the same every term: refused (REFU) for
    3% of pupils and not yet obtained (NOBT) for 2%, as parents may decline to say. Drawn last, so
    the census's other draws are what they were without it."""
    hh = pop.households
    k_hh = kids["hh"].to_numpy()
    code = census_ethnicity_code(
        kids["ethnicity"].to_numpy(),
        kids["heritage"].to_numpy(),
        hh["heritage"].to_numpy()[k_hh],
        hh["mother_heritage"].to_numpy()[k_hh],
    )
    u = rng.random(len(kids))
    code = np.where(u < 0.03, "REFU", np.where(u < 0.05, "NOBT", code)).astype(object)
    return Col(code, kid)


# --- police ---------------------------------------------------------------------------------------

CRIME_CATEGORIES = (
    "Theft", "Criminal damage", "Violence against the person", "Public order", "Drugs",
    "Burglary", "Vehicle crime", "Shoplifting",
)  # fmt: skip
CRIME_WEIGHTS = (18, 16, 20, 14, 10, 8, 6, 8)
DV_CATEGORIES = (
    "Violence against the person", "Domestic incident (non-crime)", "Criminal damage",
    "Public order",
)  # fmt: skip
DV_WEIGHTS = (45, 40, 8, 7)
OFFENDER_OUTCOMES = (
    "Charged", "Caution", "Community resolution", "No further action", "Under investigation",
    "Penalty notice",
)  # fmt: skip
ASB_OUTCOMES = (
    "Words of advice",
    "Warning letter",
    "Acceptable behaviour contract",
    "No further action",
)
HOUR_WEIGHTS = np.array(
    [3, 2, 2, 1, 1, 1, 1, 2, 3, 4, 4, 5, 5, 5, 6, 7, 8, 8, 8, 8, 8, 7, 6, 4], dtype=float
)


def police_incidents(rng: np.random.Generator, pop: Population, mem: Members) -> SourceResult:
    hh, p = pop.households, pop.persons
    end = CURRENT_AS_OF["police_incidents"]
    dob = p["dob"].to_numpy().astype("datetime64[D]")
    incidents = []  # frames of (incident, pid, role, category, dv, asb)

    # Crime and anti-social behaviour: one or two offenders in the family.
    fam = np.flatnonzero(hh["p_crime"].to_numpy())
    lo, hi = _window(hh, "crime", fam, POLICE_START, end)
    owner, when = _events_in_window(rng, lo, hi, _severity_rate(hh, fam, 1.6))
    h, when = _with_triggers(hh, "crime", fam, fam[owner], when)
    keep = _thin_after_attachment(rng, hh, "crime", h, when, 0.25, 0.85)
    h, when = h[keep], when[keep]
    u = rng.random(len(fam))
    cand = [mem.father[fam], mem.eldest_son[fam], mem.mother[fam], mem.eldest_child[fam]]
    pick = np.select([u < 0.45, u < 0.8, u < 0.9], [0, 1, 2], 3)
    offender = np.full(len(fam), -1)
    for order in range(4):  # the preferred member, else the next one the family has
        choice = np.choose((pick + order) % 4, cand)
        offender = np.where(offender < 0, choice, offender)
    second = np.where(offender == mem.father[fam], mem.eldest_son[fam], mem.father[fam])
    second = np.where(second == offender, -1, second)
    off = pd.Series(offender, index=fam).reindex(h).to_numpy()
    sec = pd.Series(second, index=fam).reindex(h).to_numpy()
    n = len(h)
    asb = rng.random(n) < 0.35
    cat = np.where(
        asb,
        "Anti-social behaviour",
        np.array(CRIME_CATEGORIES, dtype=object)[_weighted(rng, CRIME_WEIGHTS, n)],
    )
    inc = np.arange(n)
    role1 = np.where(asb, np.where(rng.random(n) < 0.6, "Perpetrator", "Suspect"),
                     np.where(rng.random(n) < 0.45, "Offender", "Suspect"))  # fmt: skip
    with_second = (sec >= 0) & (rng.random(n) < 0.4)
    victim_needed = ~asb & (rng.random(n) < 0.25)
    crime = pd.DataFrame(
        {"inc": inc, "when": when, "cat": cat, "dv": "N", "asb": np.where(asb, "Y", "N")}
    )
    rows = [
        pd.DataFrame({"inc": inc, "pid": off, "role": role1}),
        pd.DataFrame(
            {"inc": inc[with_second], "pid": sec[with_second], "role": role1[with_second]}
        ),
    ]
    victims = _random_people(rng, pop, when[victim_needed], min_age=5)
    rows.append(pd.DataFrame({"inc": inc[victim_needed], "pid": victims, "role": "Victim"}))
    incidents.append((crime, pd.concat(rows, ignore_index=True)))

    # Domestic abuse: the mother as victim (sometimes the father), the partner as perpetrator
    # where he lives in the household, children sometimes as witnesses.
    fam = np.flatnonzero(hh["p_dv"].to_numpy())
    lo, hi = _window(hh, "dv", fam, POLICE_START, end)
    owner, when = _events_in_window(rng, lo, hi, _severity_rate(hh, fam, 1.3))
    h, when = _with_triggers(hh, "dv", fam, fam[owner], when)
    keep = _thin_after_attachment(rng, hh, "dv", h, when, 0.2, 0.8)
    h, when = h[keep], when[keep]
    n = len(h)
    father, mother = mem.father[h], mem.mother[h]
    male_victim = (father >= 0) & (rng.random(n) < 0.1) | (mother < 0)
    victim = np.where(male_victim, father, mother)
    perp = np.where(male_victim, mother, father)
    child = random_child(rng, mem, h)
    child_ok = (when - dob[child]).astype(np.int64) > 3 * YEAR
    witness = child_ok & (rng.random(n) < 0.2)
    base = len(crime)
    inc = base + np.arange(n)
    dv = pd.DataFrame(
        {
            "inc": inc,
            "when": when,
            "cat": np.array(DV_CATEGORIES, dtype=object)[_weighted(rng, DV_WEIGHTS, n)],
            "dv": "Y",
            "asb": "N",
        }
    )
    rows = [
        pd.DataFrame({"inc": inc, "pid": victim, "role": "Victim"}),
        pd.DataFrame({"inc": inc[perp >= 0], "pid": perp[perp >= 0], "role": "Perpetrator"}),
        pd.DataFrame({"inc": inc[witness], "pid": child[witness], "role": "Witness"}),
    ]
    incidents.append((dv, pd.concat(rows, ignore_index=True)))

    # Everyone else: the odd incident as a victim or witness.
    age16 = (day("2016-01-01") - dob).astype(np.int64) / YEAR
    chance = np.where(age16 >= 18, 0.025, np.where(age16 >= 8, 0.012, 0.0))
    who = np.flatnonzero(rng.random(len(p)) < chance)
    when = uniform_dates(rng, POLICE_START, end, len(who))
    n = len(who)
    base += len(dv)
    inc = base + np.arange(n)
    bg = pd.DataFrame(
        {
            "inc": inc,
            "when": when,
            "cat": np.array(CRIME_CATEGORIES, dtype=object)[_weighted(rng, CRIME_WEIGHTS, n)],
            "dv": "N",
            "asb": "N",
        }
    )
    rows = pd.DataFrame(
        {"inc": inc, "pid": who, "role": np.where(rng.random(n) < 0.7, "Victim", "Witness")}
    )
    incidents.append((bg, rows))

    inc_frame = pd.concat([x[0] for x in incidents], ignore_index=True)
    people = pd.concat([x[1] for x in incidents], ignore_index=True)
    people = people[people["pid"] >= 0].drop_duplicates(["inc", "pid"])
    when = inc_frame["when"].to_numpy().astype("datetime64[D]")[people["inc"].to_numpy()]
    ph = p["hh"].to_numpy()[people["pid"].to_numpy()]
    ok = present(hh, ph, when) & (when >= dob[people["pid"].to_numpy()])
    people = people[ok]

    # Incident times and references: numbered in order within each year.
    n_inc = len(inc_frame)
    hour = _weighted(rng, HOUR_WEIGHTS, n_inc)
    minute = rng.integers(0, 60, n_inc)
    stamp = inc_frame["when"].to_numpy().astype("datetime64[m]") + (hour * 60 + minute).astype(
        "timedelta64[m]"
    )
    order = np.argsort(stamp, kind="stable")
    yr, _, _ = split_date(inc_frame["when"].to_numpy().astype("datetime64[D]"))
    seq = np.empty(n_inc, dtype=np.int64)
    seq[order] = np.arange(n_inc)
    first_of_year = pd.Series(seq).groupby(yr).transform("min").to_numpy()
    refs = np.array(
        [f"13{y % 100:02d}{s:07d}" for y, s in zip(yr, seq - first_of_year + 1, strict=True)],
        dtype=object,
    )
    people = people.assign(_s=stamp[people["inc"].to_numpy()]).sort_values(
        ["_s", "inc", "role"], kind="stable"
    )
    inc_i = people["inc"].to_numpy()
    pids = people["pid"].to_numpy()
    role = people["role"].to_numpy(dtype=object)
    n = len(people)
    offending = np.isin(role, ("Offender", "Suspect", "Perpetrator"))
    is_asb = inc_frame["asb"].to_numpy()[inc_i] == "Y"
    outcome = np.where(
        is_asb,
        np.array(ASB_OUTCOMES, dtype=object)[rng.integers(0, len(ASB_OUTCOMES), n)],
        np.array(OFFENDER_OUTCOMES, dtype=object)[rng.integers(0, len(OFFENDER_OUTCOMES), n)],
    )
    outcome = np.where(offending | (rng.random(n) < 0.3), outcome, None)
    outcome = np.where(rng.random(n) < 0.05, None, outcome)

    when_day = inc_frame["when"].to_numpy().astype("datetime64[D]")[inc_i]
    registry = register(rng, "police_incidents", np.unique(pids), pop, _ids("N", 8))
    row_reg = assign_rows(rng, registry, pids, when_day)
    records: list = []
    addr = render_addresses(rng, registry, pop, row_reg, when_day, records)
    cols = person_cols(registry, row_reg, {"M": "M", "F": "F", "U": "U"})
    regs = registry.regs
    cols["last_name"] = Col(
        pd.Series(regs["last"].to_numpy(dtype=object)).str.upper().to_numpy(dtype=object), row_reg
    )  # the force records surnames in capitals
    cols.update(
        {
            "incident_ref": Col(refs, inc_i),
            "nominal_id": Col(regs["spid"].to_numpy(dtype=object), row_reg),
            "address": Col(addr.one_line, addr.codes),
            "postcode": Col(addr.postcode, addr.codes),
            "incident_datetime": Col(stamp, inc_i),
            "offence_category": Col(inc_frame["cat"].to_numpy(dtype=object), inc_i),
            "person_role": Col(role),
            "dv_flag": Col(inc_frame["dv"].to_numpy(dtype=object), inc_i),
            "asb_flag": Col(inc_frame["asb"].to_numpy(dtype=object), inc_i),
            "outcome": Col(outcome.astype(object)),
        }
    )
    table = Table(BY_SOURCE["police_incidents"], cols)
    return SourceResult(table, registry, row_reg, records)


def _weighted(rng, weights, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), n, p=w / w.sum())


def _random_people(rng, pop: Population, when: np.ndarray, min_age: float) -> np.ndarray:
    """Random residents (old enough, living in the district on the day) for each date."""
    p = pop.persons
    dob = p["dob"].to_numpy().astype("datetime64[D]")
    out = rng.integers(0, len(p), len(when))
    for _ in range(6):
        bad = ((when - dob[out]).astype(np.int64) < min_age * YEAR) | ~present(
            pop.households, p["hh"].to_numpy()[out], when
        )
        if not bad.any():
            break
        out[bad] = rng.integers(0, len(p), bad.sum())
    return out


# --- DWP ------------------------------------------------------------------------------------------

_NINO_LETTERS = np.array(list("ABCEGHJKLMNPRSTWXYZ"))
_NINO_BAD = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def _ninos(rng: np.random.Generator, n: int) -> np.ndarray:
    nums = unique_numbers(rng, n, 0, 10**6)
    out = np.empty(n, dtype=object)
    a = _NINO_LETTERS[rng.integers(0, len(_NINO_LETTERS), n)]
    b = _NINO_LETTERS[rng.integers(0, len(_NINO_LETTERS), n)]
    s = np.array(list("ABCD"))[rng.integers(0, 4, n)]
    for i in range(n):
        prefix = a[i] + b[i]
        if prefix in _NINO_BAD:
            prefix = "AB"
        out[i] = f"{prefix}{nums[i]:06d}{s[i]}"
    return out


def dwp_spells(rng: np.random.Generator, pop: Population, mem: Members) -> SourceResult:
    hh, p = pop.households, pop.persons
    current = CURRENT_AS_OF["dwp_spells"]
    dob = p["dob"].to_numpy().astype("datetime64[D]")
    spells = []  # (pid, type, benefit, start, end)

    # Out-of-work families: the lone parent, or one or both parents of a couple.
    fam = np.flatnonzero(hh["p_work"].to_numpy())
    u = rng.random(len(fam))
    mother, father = mem.mother[fam], mem.father[fam]
    first = np.where((mother >= 0) & ((u < 0.5) | (father < 0)), mother, father)
    both = (mother >= 0) & (father >= 0) & (u > 0.8)
    claim_h = np.r_[fam, fam[both]]
    claim_p = np.r_[first, np.where(first[both] == mother[both], father[both], mother[both])]
    ok = claim_p >= 0
    claim_h, claim_p = claim_h[ok], claim_p[ok]
    start = np.maximum(hh["work_onset"].to_numpy().astype("datetime64[D]")[claim_h], DWP_START)
    start = np.maximum(start, dob[claim_p] + np.timedelta64(int(18 * YEAR), "D"))
    stop = hh["work_end"].to_numpy().astype("datetime64[D]")[claim_h]
    youngest = _youngest_dob(pop)[claim_h]
    lone = np.isin(hh["structure"].to_numpy()[claim_h], (2, 3))
    small_child = (start - youngest).astype(np.int64) < 5 * YEAR
    health = hh["p_health"].to_numpy()[claim_h] & (rng.random(len(claim_h)) < 0.5)
    legacy = np.where(lone & small_child, "IS", np.where(health, "ESA", "JSA")).astype(object)
    old = (start < day("2008-10-27")) & ((start - dob[claim_p]).astype(np.int64) > 40 * YEAR)
    legacy = np.where(old, "IB", legacy)

    # A short spell of work in the middle for some (under 26 weeks, then back on benefit).
    span = (stop - start).astype(np.int64)
    gap = (span > 2 * YEAR) & (rng.random(len(claim_h)) < 0.3)
    g_start = start + (span * rng.uniform(0.2, 0.7, len(span))).astype("timedelta64[D]")
    g_len = rng.integers(30, 150, len(span)).astype("timedelta64[D]")
    one_day = np.timedelta64(1, "D")
    pieces = [
        (claim_p, "Out-of-work benefit", legacy, start, np.where(gap, g_start - one_day, stop)),
        (claim_p[gap], "Employment", None, g_start[gap], g_start[gap] + g_len[gap]),
        (claim_p[gap], "Out-of-work benefit", legacy[gap], g_start[gap] + g_len[gap] + one_day,
         stop[gap]),
    ]  # fmt: skip
    # After the programme: off benefit into work lasting 26 weeks or more, for some.
    success = hh["work_success"].to_numpy()[claim_h]
    e_start = stop[success] + one_day
    e_len = rng.integers(190, 1100, success.sum()).astype("timedelta64[D]")
    ongoing = rng.random(success.sum()) < 0.6
    pieces.append(
        (claim_p[success], "Employment", None, e_start, np.where(ongoing, NAT, e_start + e_len))
    )
    # Others in the district: the odd short claim, often followed by work.
    adults = np.flatnonzero(p["role"].to_numpy() != "child")
    adults = adults[~np.isin(adults, claim_p)]
    short = adults[rng.random(len(adults)) < 0.06]
    s_start = uniform_dates(rng, DWP_START, day("2019-12-01"), len(short))
    age = (s_start - dob[short]).astype(np.int64) / YEAR
    working_age = (age >= 18) & (age < 64)  # pensioners do not claim JSA
    short, s_start = short[working_age], s_start[working_age]
    s_end = s_start + rng.integers(60, 300, len(short)).astype("timedelta64[D]")
    kind = np.where(s_start >= UC_FULL_SERVICE, "UC", "JSA").astype(object)
    pieces.append((short, "Out-of-work benefit", kind, s_start, s_end))
    work = rng.random(len(short)) < 0.6
    w_start = s_end[work] + rng.integers(1, 30, work.sum()).astype("timedelta64[D]")
    w_end = np.where(
        rng.random(work.sum()) < 0.5,
        NAT,
        w_start + rng.integers(100, 1000, work.sum()).astype("timedelta64[D]"),
    )
    pieces.append((short[work], "Employment", None, w_start, w_end))

    for pid, typ, ben, s, e in pieces:
        spells.append(
            pd.DataFrame(
                {
                    "pid": pid,
                    "type": typ,
                    "benefit": ben if ben is not None else None,
                    "start": np.asarray(s, dtype="datetime64[D]"),
                    "end": np.asarray(e, dtype="datetime64[D]"),
                }
            )
        )
    sp = pd.concat(spells, ignore_index=True)
    sp = sp[
        ~np.isnat(sp["start"].to_numpy().astype("datetime64[D]"))
        & (sp["start"].to_numpy().astype("datetime64[D]") <= current)
    ]
    sp = sp[
        np.isnat(sp["end"].to_numpy().astype("datetime64[D]"))
        | (
            sp["end"].to_numpy().astype("datetime64[D]")
            >= sp["start"].to_numpy().astype("datetime64[D]")
        )
    ]

    # Universal Credit: legacy claims still running after full service move across for many.
    s = sp["start"].to_numpy().astype("datetime64[D]")
    e = sp["end"].to_numpy().astype("datetime64[D]")
    legacy_on = (sp["type"].to_numpy() == "Out-of-work benefit") & (
        sp["benefit"].to_numpy() != "UC"
    )
    running = legacy_on & (np.isnat(e) | (e > UC_FULL_SERVICE + 30)) & (s < current - 60)
    move = running & (rng.random(len(sp)) < 0.5)
    lo = np.maximum(s, UC_FULL_SERVICE)
    hi = np.where(np.isnat(e), current, np.minimum(e, current))
    switch = uniform_dates(rng, lo, np.maximum(hi, lo))
    move &= (switch > s) & (switch < hi)
    uc = sp[move].copy()
    uc["benefit"] = "UC"
    uc["start"] = switch[move]
    sp.loc[move, "end"] = switch[move] - one_day
    sp = pd.concat([sp, uc], ignore_index=True)
    end_v = sp["end"].to_numpy().astype("datetime64[D]")
    sp["end"] = np.where(end_v > current, NAT, end_v)
    ph = p["hh"].to_numpy()[sp["pid"].to_numpy()]
    sp = sp[present(hh, ph, sp["start"].to_numpy().astype("datetime64[D]"))]
    sp = sp.sort_values(["start", "pid"], kind="stable").reset_index(drop=True)

    pids = sp["pid"].to_numpy()
    registry = register(
        rng, "dwp_spells", np.unique(pids), pop, _ids("D", 8), dob_required=True, has_address=False
    )
    regs = registry.regs
    is_primary = regs["primary"].to_numpy() == np.arange(len(regs))
    nino = np.empty(len(regs), dtype=object)
    nino[is_primary] = _ninos(rng, is_primary.sum())
    nino[~is_primary] = nino[regs["primary"].to_numpy()[~is_primary]]
    no_nino = (
        rng.random(len(regs)) < SOURCE_RATES["dwp_spells"]["nino_missing"]
    )  # DWP could not supply it
    record_missing(registry, "nino_missing", "nino", no_nino, nino)
    nino[no_nino] = None
    row_reg = assign_rows(rng, registry, pids, sp["start"].to_numpy().astype("datetime64[D]"))
    records: list = []
    addr = render_addresses(
        rng, registry, pop, row_reg, sp["start"].to_numpy().astype("datetime64[D]"), records
    )
    start0 = int(rng.integers(10_000_000, 20_000_000))
    cols = person_cols(registry, row_reg, {"M": "M", "F": "F", "U": None})
    cols.pop("sex")
    cols.update(
        {
            "spell_id": Col(np.array([f"SP{start0 + i}" for i in range(len(sp))], dtype=object)),
            "nino": Col(nino, row_reg),
            "claimant_ref": Col(regs["spid"].to_numpy(dtype=object), row_reg),
            "postcode": Col(addr.postcode, addr.codes),
            "spell_type": Col(sp["type"].to_numpy(dtype=object)),
            "benefit_type": Col(sp["benefit"].to_numpy(dtype=object)),
            "start_date": Col(sp["start"].to_numpy(dtype="datetime64[D]")),
            "end_date": Col(sp["end"].to_numpy(dtype="datetime64[D]")),
        }
    )
    return SourceResult(Table(BY_SOURCE["dwp_spells"], cols), registry, row_reg, records)


def _youngest_dob(pop: Population) -> np.ndarray:
    c = pop.persons[pop.persons["role"] == "child"]
    return (
        c.groupby("hh")["dob"]
        .max()
        .reindex(range(len(pop.households)))
        .to_numpy(dtype="datetime64[D]")
    )


# --- housing --------------------------------------------------------------------------------------


def housing_tenancies(rng: np.random.Generator, pop: Population, mem: Members) -> SourceResult:
    hh = pop.households
    extract = CURRENT_AS_OF["housing_tenancies"]
    move = hh["move_date"].to_numpy().astype("datetime64[D]")
    out = hh["moved_out_date"].to_numpy().astype("datetime64[D]")
    moved = ~np.isnat(move)

    # First tenancy (the address the family had in 2012), and a second one after a move.
    t0 = np.flatnonzero(hh["social0"].to_numpy())
    start0 = uniform_dates(rng, day("2001-01-01"), day("2012-06-30"), len(t0))
    end0 = np.where(moved[t0], move[t0], out[t0])
    t1 = np.flatnonzero(hh["social1"].to_numpy())
    start1 = move[t1]
    end1 = out[t1]
    ten = pd.DataFrame(
        {
            "hh": np.r_[t0, t1],
            "epoch": np.r_[np.zeros(len(t0), int), np.ones(len(t1), int)],
            "start": np.r_[start0, start1],
            "end": np.r_[end0, end1],
        }
    )
    ten = ten[
        np.isnat(ten["end"].to_numpy().astype("datetime64[D]"))
        | (ten["end"].to_numpy().astype("datetime64[D]") >= day("2012-01-01"))
    ]
    ten = ten.reset_index(drop=True)
    m = len(ten)
    th = ten["hh"].to_numpy()
    ended = ~np.isnat(ten["end"].to_numpy().astype("datetime64[D]"))

    # Arrears, notices and evictions: more where families are out of work.
    work = hh["p_work"].to_numpy()[th]
    in_arrears = rng.random(m) < np.where(work, 0.55, 0.25)
    arrears = np.where(in_arrears, np.round(rng.gamma(1.6, np.where(work, 520, 260), m), 2), 0.0)
    nosp = in_arrears & (arrears > 600) & (rng.random(m) < 0.25)
    t_start = ten["start"].to_numpy().astype("datetime64[D]")
    t_end = np.where(ended, ten["end"].to_numpy().astype("datetime64[D]"), extract)
    nosp_date = np.where(nosp, uniform_dates(rng, t_start, t_end), NAT)
    # Some moves were evictions: the old tenancy ends with one, after a notice and arrears.
    evicted = ended & (ten["epoch"].to_numpy() == 0) & moved[th]
    evicted &= rng.random(m) < np.where(work, 0.3, 0.08)
    eviction = np.where(evicted, t_end, NAT)
    notice = np.maximum(eviction - rng.integers(60, 300, m).astype("timedelta64[D]"), t_start)
    nosp_date = np.where(evicted, notice, nosp_date)
    arrears = np.where(evicted, np.round(rng.gamma(2.0, 900, m), 2), arrears)

    # Tenants: the mother (or lone father), jointly with a partner for some.
    lead = np.where(mem.mother[th] >= 0, mem.mother[th], mem.father[th])
    partner = np.where(mem.mother[th] >= 0, mem.father[th], -1)
    joint = (partner >= 0) & (rng.random(m) < 0.5)
    rows = pd.DataFrame(
        {
            "ten": np.r_[np.arange(m), np.flatnonzero(joint)],
            "tenant_no": np.r_[np.ones(m, int), np.full(joint.sum(), 2)],
            "pid": np.r_[lead, partner[joint]],
        }
    ).sort_values(["ten", "tenant_no"], kind="stable")
    rows = rows.reset_index(drop=True)
    ti = rows["ten"].to_numpy()

    # Each tenancy registers its tenants afresh: tenancy ref + tenant number is the id.
    refs = _ids("T", 6)(rng, m)
    tenant_ids = np.array(
        [f"{refs[t]}-{k}" for t, k in zip(ti, rows["tenant_no"].to_numpy(), strict=True)],
        dtype=object,
    )
    pids = rows["pid"].to_numpy()
    registry = register(rng, "housing_tenancies", pids, pop, lambda r, k: tenant_ids[:k])
    row_reg = np.arange(len(rows))
    registry.used = np.ones(len(registry.regs), dtype=bool)
    # The address is the tenancy's: the first or the second home.
    when = np.where(
        ten["epoch"].to_numpy()[ti] == 1,
        ten["start"].to_numpy().astype("datetime64[D]")[ti],
        day("2012-01-01"),
    )
    records: list = []
    addr = render_addresses(rng, registry, pop, row_reg, when, records)
    regs = registry.regs
    name = (
        pd.Series(regs["last"].to_numpy(dtype=object)).str.upper()
        + ", "
        + pd.Series(regs["first"].to_numpy(dtype=object))
    ).to_numpy(dtype=object)
    cols = {
        "tenancy_ref": Col(refs, ti),
        "tenant_no": Col(rows["tenant_no"].to_numpy(dtype=np.int64)),
        "tenant_name": Col(name, row_reg),
        "dob": Col(regs["dob"].to_numpy(dtype="datetime64[D]"), row_reg),
        "address": Col(addr.one_line, addr.codes),
        "postcode": Col(addr.postcode, addr.codes),
        "tenancy_start": Col(ten["start"].to_numpy(dtype="datetime64[D]"), ti),
        "tenancy_end": Col(ten["end"].to_numpy(dtype="datetime64[D]"), ti),
        "rent_arrears": Col(arrears.astype(float), ti),
        "nosp_served_date": Col(nosp_date.astype("datetime64[D]"), ti),
        "eviction_date": Col(eviction.astype("datetime64[D]"), ti),
        "extract_date": Col(np.full(len(rows), extract)),
    }
    return SourceResult(Table(BY_SOURCE["housing_tenancies"], cols), registry, row_reg, records)


# --- health ---------------------------------------------------------------------------------------


def _nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ten-digit NHS numbers with a valid modulus-11 check digit."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        base = unique_numbers(rng, int(n * 1.2) + 10, 400_000_000, 999_999_999)
        digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        total = (digits * np.arange(10, 1, -1)).sum(axis=1)
        check = 11 - total % 11
        check = np.where(check == 11, 0, check)
        ok = check != 10
        out = np.unique(np.r_[out, base[ok] * 10 + check[ok]])
    out = rng.permutation(out)[:n]
    return np.array([f"{x:010d}" for x in out], dtype=object)


def health_events(rng: np.random.Generator, pop: Population, mem: Members) -> SourceResult:
    hh, p = pop.households, pop.persons
    current = CURRENT_AS_OF["health_events"]
    n_p = len(p)
    dob = p["dob"].to_numpy().astype("datetime64[D]")
    ph = p["hh"].to_numpy()
    practices = pop.institutions.practices
    pr_ward = practices["ward"].to_numpy()
    pr_start = np.searchsorted(pr_ward, np.arange(len(WARDS)), side="left")
    pr_count = np.searchsorted(pr_ward, np.arange(len(WARDS)), side="right") - pr_start
    seed = rng.integers(0, 10**6, n_p)
    ward0 = hh["ward"].to_numpy()[ph]
    ward1 = np.where(hh["ward1"].to_numpy()[ph] >= 0, hh["ward1"].to_numpy()[ph], ward0)
    practice0 = pr_start[ward0] + seed % pr_count[ward0]
    practice1 = pr_start[ward1] + seed % pr_count[ward1]
    move = hh["move_date"].to_numpy().astype("datetime64[D]")[ph]
    out = hh["moved_out_date"].to_numpy().astype("datetime64[D]")[ph]
    frames = []

    # GP registration: everyone; a new practice for some after a move; ended on leaving.
    reg_date = np.where(
        dob >= day("1995-01-01"),
        dob + rng.integers(7, 60, n_p).astype("timedelta64[D]"),
        uniform_dates(rng, day("1995-01-01"), day("2012-08-31"), n_p),
    )
    rereg = ~np.isnat(move) & (rng.random(n_p) < 0.4)
    rereg_date = move + rng.integers(7, 90, n_p).astype("timedelta64[D]")
    rereg &= rereg_date <= current
    end0 = np.where(rereg, rereg_date, np.where(~np.isnat(out), out + 30, NAT))
    end1 = np.where(~np.isnat(out), out + 30, NAT)
    who = np.arange(n_p)
    frames.append(_health_frame(who, "GP registration", reg_date, end0, practice0))
    frames.append(
        _health_frame(
            who[rereg], "GP registration", rereg_date[rereg], end1[rereg], practice1[rereg]
        )
    )

    # A&E: now and then for anyone, often in families with health problems.
    start = np.full(n_p, day("2012-04-01"))
    stop = np.full(n_p, current)
    owner, when = _events_in_window(rng, np.maximum(start, dob), stop, 0.035)
    frames.append(_health_frame(owner, "A&E attendance", when, when, None))
    fam_p = hh["p_health"].to_numpy()[ph]
    lo, hi = _window(hh, "health", ph, day("2012-04-01"), current)
    lo = np.maximum(lo, dob)
    rate = np.where(fam_p, np.where(p["role"].to_numpy() == "child", 0.25, 0.45), 0.0)
    owner, when = _events_in_window(rng, lo, np.where(fam_p, hi, lo), rate)
    keep = _thin_after_attachment(rng, hh, "health", ph[owner], when, 0.3, 0.9)
    frames.append(_health_frame(owner[keep], "A&E attendance", when[keep], when[keep], None))

    # Mental health referrals and substance misuse treatment in families with health problems.
    fam = np.flatnonzero(hh["p_health"].to_numpy())
    lo, hi = _window(hh, "health", fam, day("2012-04-01"), current)
    mh_person = np.where(
        (rng.random(len(fam)) < 0.6) | (mem.father[fam] < 0), mem.mother[fam], mem.father[fam]
    )
    mh_person = np.where(mh_person < 0, mem.father[fam], mh_person)
    owner, when = _events_in_window(rng, lo, hi, _severity_rate(hh, fam, 0.6))
    # The referral that led to the family's early help referral, for referred families.
    trigger = hh["health_trigger"].to_numpy().astype("datetime64[D]")[fam]
    owner = np.r_[owner, np.flatnonzero(~np.isnat(trigger))]
    when = np.r_[when, trigger[~np.isnat(trigger)]]
    who = mh_person[owner]
    ok = who >= 0
    who, when = who[ok], when[ok]
    end = when + rng.integers(30, 365, len(when)).astype("timedelta64[D]")
    frames.append(_health_frame(who, "Mental health referral", when, end, None))
    sm = rng.random(len(fam)) < 0.35
    sm_person = np.where(mem.father[fam] >= 0, mem.father[fam], mem.mother[fam])
    owner, when = _events_in_window(rng, lo[sm], hi[sm], 0.35)
    who = sm_person[sm][owner]
    ok = who >= 0
    who, when = who[ok], when[ok]
    end = when + rng.integers(60, 400, len(when)).astype("timedelta64[D]")
    frames.append(_health_frame(who, "Substance misuse treatment", when, end, None))
    # Teenagers in these families referred to CAMHS.
    teen = random_child(rng, mem, fam)
    t_lo = np.maximum(lo, dob[teen] + np.timedelta64(int(11 * YEAR), "D"))
    t_hi = np.minimum(hi, dob[teen] + np.timedelta64(int(18 * YEAR), "D"))
    owner, when = _events_in_window(rng, t_lo, np.maximum(t_hi, t_lo), 0.3)
    end = when + rng.integers(60, 400, len(when)).astype("timedelta64[D]")
    frames.append(_health_frame(teen[owner], "Mental health referral", when, end, None))

    ev = pd.concat(frames, ignore_index=True)
    evh = ph[ev["pid"].to_numpy()]
    when = ev["date"].to_numpy().astype("datetime64[D]")
    ok = (when <= current) & (when >= dob[ev["pid"].to_numpy()])
    ok &= present(hh, evh, when) | (ev["type"].to_numpy() == "GP registration")
    ev = ev[ok]
    e_end = ev["end"].to_numpy().astype("datetime64[D]")
    ev["end"] = np.where(e_end > current, NAT, e_end)
    # The practice the person is registered with at the time (blank for some events).
    pid_e = ev["pid"].to_numpy()
    later = (
        ~np.isnat(move[pid_e])
        & (ev["date"].to_numpy().astype("datetime64[D]") >= rereg_date[pid_e])
        & rereg[pid_e]
    )
    practice = np.where(later, practice1[pid_e], practice0[pid_e])
    practice = np.where(ev["practice"].to_numpy() >= 0, ev["practice"].to_numpy(), practice)
    ev["practice"] = np.where(
        (ev["type"].to_numpy() != "GP registration") & (rng.random(len(ev)) < 0.2), -1, practice
    )
    ev = ev.sort_values(["date", "pid"], kind="stable").reset_index(drop=True)

    pids = ev["pid"].to_numpy()
    registry = register(rng, "health_events", np.unique(pids), pop, _ids("H", 8))
    regs = registry.regs
    is_primary = regs["primary"].to_numpy() == np.arange(len(regs))
    nhs = np.empty(len(regs), dtype=object)
    nhs[is_primary] = _nhs_numbers(rng, is_primary.sum())
    nhs[~is_primary] = nhs[regs["primary"].to_numpy()[~is_primary]]
    no_nhs = rng.random(len(regs)) < SOURCE_RATES["health_events"]["nhs_number_missing"]
    record_missing(registry, "nhs_number_missing", "nhs_number", no_nhs, nhs)
    nhs[no_nhs] = None
    row_reg = assign_rows(rng, registry, pids, ev["date"].to_numpy().astype("datetime64[D]"))
    records: list = []
    # A GP holds the patient's latest address: a registration shows the address on the day it
    # ended, or on the extract date while it runs; other events the address on the day.
    event_day = ev["date"].to_numpy().astype("datetime64[D]")
    registration_end = ev["end"].to_numpy().astype("datetime64[D]")
    address_day = np.where(
        ev["type"].to_numpy() == "GP registration",
        np.where(np.isnat(registration_end), current, registration_end - 1),
        event_day,
    )
    addr = render_addresses(rng, registry, pop, row_reg, address_day, records)
    cols = person_cols(registry, row_reg, {"M": "1", "F": "2", "U": "9"})
    codes = np.r_[practices["code"].to_numpy(dtype=object), np.array([None], dtype=object)]
    start0 = int(rng.integers(100_000_000, 200_000_000))
    cols.update(
        {
            "event_id": Col(np.array([f"EV{start0 + i}" for i in range(len(ev))], dtype=object)),
            "patient_id": Col(regs["spid"].to_numpy(dtype=object), row_reg),
            "nhs_number": Col(nhs, row_reg),
            "address": Col(addr.one_line, addr.codes),
            "postcode": Col(addr.postcode, addr.codes),
            "event_type": Col(ev["type"].to_numpy(dtype=object)),
            "event_date": Col(ev["date"].to_numpy(dtype="datetime64[D]")),
            "event_end_date": Col(ev["end"].to_numpy(dtype="datetime64[D]")),
            "gp_practice_code": Col(
                codes, np.where(ev["practice"] >= 0, ev["practice"], len(codes) - 1)
            ),
        }
    )
    return SourceResult(Table(BY_SOURCE["health_events"], cols), registry, row_reg, records)


def _health_frame(pid, typ, date, end, practice) -> pd.DataFrame:
    pid = np.asarray(pid)
    return pd.DataFrame(
        {
            "pid": pid,
            "type": typ,
            "date": np.asarray(date, dtype="datetime64[D]"),
            "end": np.asarray(end, dtype="datetime64[D]"),
            "practice": np.full(len(pid), -1) if practice is None else np.asarray(practice),
        }
    )


# --- children's social care -----------------------------------------------------------------------

CIN_CATEGORIES = (
    "Abuse or neglect", "Family dysfunction", "Family in acute stress",
    "Parental disability or illness", "Socially unacceptable behaviour", "Absent parenting",
    "Low income", "Child's disability or illness",
)  # fmt: skip
CIN_WEIGHTS = (50, 20, 12, 6, 5, 3, 2, 2)
CP_CATEGORIES = ("Neglect", "Emotional abuse", "Physical abuse", "Sexual abuse", "Multiple")
CP_WEIGHTS = (45, 35, 10, 4, 6)


def csc_episodes(
    rng: np.random.Generator, pop: Population, mem: Members, prog: Programme
) -> SourceResult:
    hh, p = pop.households, pop.persons
    current = CURRENT_AS_OF["csc_episodes"]
    dob = p["dob"].to_numpy().astype("datetime64[D]")
    eps = []

    # Children in need, some on child protection plans, a few looked after.
    fam = np.flatnonzero(hh["p_children"].to_numpy())
    lo, hi = _window(hh, "children", fam, day("2012-04-01"), current)
    n_kids = 1 + (rng.random(len(fam)) < 0.4)
    fam_r = np.repeat(np.arange(len(fam)), n_kids)
    child = random_child(rng, mem, fam[fam_r])
    start = uniform_dates(rng, np.maximum(lo[fam_r], dob[child]), np.maximum(hi[fam_r], lo[fam_r]))
    # A referred family's first episode is the one that led to its referral (its trigger day).
    trigger = hh["children_trigger"].to_numpy().astype("datetime64[D]")[fam[fam_r]]
    first = np.r_[True, fam_r[1:] != fam_r[:-1]] & ~np.isnat(trigger)
    start = np.where(first, np.maximum(trigger, dob[child]), start)
    cin_len = rng.integers(90, 400, len(child)).astype("timedelta64[D]")
    eps.append((child, "Child in Need", start, start + cin_len))
    cp = rng.random(len(child)) < 0.25
    cp_start = start[cp] + rng.integers(20, 60, cp.sum()).astype("timedelta64[D]")
    cp_end = cp_start + rng.integers(180, 500, cp.sum()).astype("timedelta64[D]")
    eps.append((child[cp], "Child Protection Plan", cp_start, cp_end))
    la = rng.random(cp.sum()) < 0.15
    la_start = cp_end[la] - rng.integers(10, 60, la.sum()).astype("timedelta64[D]")
    la_end = np.where(
        rng.random(la.sum()) < 0.4,
        NAT,
        la_start + rng.integers(200, 900, la.sum()).astype("timedelta64[D]"),
    )
    eps.append((child[cp][la], "Looked After", la_start, la_end))

    # Stepped up from early help: a social work assessment soon after.
    refs = prog.referrals
    up = refs["decision"].to_numpy() == "Stepped up to social care"
    s = refs["decision_date"].to_numpy().astype("datetime64[D]")[up] + rng.integers(
        3, 30, up.sum()
    ).astype("timedelta64[D]")
    eps.append(
        (refs["child_pid"].to_numpy()[up], "Child in Need", s,
         s + rng.integers(90, 400, up.sum()).astype("timedelta64[D]"))
    )  # fmt: skip
    ep = prog.episodes
    up = ep["closure_reason"].to_numpy() == "Stepped up to social care"
    child_of = pd.Series(refs["child_pid"].to_numpy()).reindex(ep["ref_index"].to_numpy())
    s = ep["closure"].to_numpy().astype("datetime64[D]")[up] + rng.integers(3, 20, up.sum()).astype(
        "timedelta64[D]"
    )
    eps.append(
        (child_of.to_numpy()[up], "Child in Need", s,
         s + rng.integers(90, 400, up.sum()).astype("timedelta64[D]"))
    )  # fmt: skip
    # Disabled children and short assessments elsewhere in the district.
    kids = np.flatnonzero(p["role"].to_numpy() == "child")
    other = kids[rng.random(len(kids)) < 0.006]
    s = uniform_dates(rng, np.maximum(day("2012-04-01"), dob[other]), current)
    eps.append(
        (other, "Child in Need", s, s + rng.integers(60, 700, len(other)).astype("timedelta64[D]"))
    )

    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "pid": np.asarray(c),
                    "type": t,
                    "start": np.asarray(st, dtype="datetime64[D]"),
                    "end": np.asarray(en, dtype="datetime64[D]"),
                }
            )
            for c, t, st, en in eps
        ],
        ignore_index=True,
    )
    start = frame["start"].to_numpy().astype("datetime64[D]")
    fh = p["hh"].to_numpy()[frame["pid"].to_numpy()]
    ok = (start <= current) & (start >= dob[frame["pid"].to_numpy()]) & present(hh, fh, start)
    frame = frame[ok]
    end = frame["end"].to_numpy().astype("datetime64[D]")
    frame["end"] = np.where(end > current, NAT, end)
    frame = frame.sort_values(["start", "pid"], kind="stable").reset_index(drop=True)
    n = len(frame)
    typ = frame["type"].to_numpy()
    cat = np.where(
        typ == "Child Protection Plan",
        np.array(CP_CATEGORIES, dtype=object)[_weighted(rng, CP_WEIGHTS, n)],
        np.array(CIN_CATEGORIES, dtype=object)[_weighted(rng, CIN_WEIGHTS, n)],
    )
    cat = np.where(rng.random(n) < 0.05, None, cat)
    fh = p["hh"].to_numpy()[frame["pid"].to_numpy()]
    epoch = address_epoch(hh, fh, frame["start"].to_numpy().astype("datetime64[D]"))
    ward = np.where(epoch == 1, hh["ward1"].to_numpy()[fh], hh["ward"].to_numpy()[fh])
    area = np.array([w.area_committee for w in WARDS], dtype=object)[ward]
    team = np.where(
        typ == "Looked After",
        "Looked After Children Team",
        np.where(
            cat == "Child's disability or illness",
            "Children with Disabilities Team",
            area
            + np.where(
                typ == "Child Protection Plan", " Child Protection Team", " Social Work Team"
            ),
        ),
    ).astype(object)

    pids = frame["pid"].to_numpy()
    registry = register(rng, "csc_episodes", np.unique(pids), pop, _ids("S", 7))
    row_reg = assign_rows(rng, registry, pids, frame["start"].to_numpy().astype("datetime64[D]"))
    records: list = []
    addr = render_addresses(
        rng, registry, pop, row_reg, frame["start"].to_numpy().astype("datetime64[D]"), records
    )
    cols = person_cols(registry, row_reg, {"M": "Male", "F": "Female", "U": "Unknown"})
    start0 = int(rng.integers(1_000_000, 2_000_000))
    cols.update(
        {
            "episode_id": Col(np.array([f"EP{start0 + i}" for i in range(n)], dtype=object)),
            "child_id": Col(registry.regs["spid"].to_numpy(dtype=object), row_reg),
            "address": Col(addr.multi_line, addr.codes),
            "postcode": Col(addr.postcode, addr.codes),
            "episode_type": Col(typ.astype(object)),
            "category_of_need": Col(cat.astype(object)),
            "start_date": Col(frame["start"].to_numpy(dtype="datetime64[D]")),
            "end_date": Col(frame["end"].to_numpy(dtype="datetime64[D]")),
            "team": Col(team),
        }
    )
    return SourceResult(Table(BY_SOURCE["csc_episodes"], cols), registry, row_reg, records)
