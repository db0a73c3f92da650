"""The Families First programme in the synthetic district: referrals to early help, decisions, a
finite allocation capacity per cluster, key workers' episodes, attachments and outcomes.

The allocation queue is the heart of the story managers come to the product for: referrals peak
in September and January, each cluster can allocate only so many families a week (key workers ×
free slots), so waits grow after the peaks and a backlog is left at the extract date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loaders.contracts import CLUSTERS, REFERRAL_SOURCES
from loaders.synthetic.common import (
    BANK_HOLIDAYS,
    EXTRACT_DATE,
    NAT,
    PROGRAMME_START,
    add_workdays,
    census_dates,
    day,
    sigmoid,
    split_date,
    to_workday,
    uniform_dates,
)
from loaders.synthetic.geography import WARDS
from loaders.synthetic.population import PROBLEMS, Population, address_epoch

# Referral volume by month of the year: peaks when schools return (September, January),
# troughs in the August and Christmas holidays. Mean 1.
SEASON = np.array([1.30, 1.05, 1.10, 0.85, 1.00, 1.05, 0.85, 0.55, 1.42, 1.18, 1.05, 0.60])
REFERENCE_SCALE = 70_000  # households: the queue always runs at Bradford scale (see below)
KEY_WORKERS_AT_SCALE = 95  # lead practitioners across the district at 70,000 households
HEADROOM = 1.12  # weekly allocation capacity over the trend of accepted referrals
MEETING_WEEKDAY = {  # each cluster's weekly allocation meeting (0 = Monday)
    "Keighley": 1,
    "Lister Park": 2,
    "West Bradford": 3,
    "Airedale & Wharfedale": 1,
    "BD5": 2,
    "East Bradford": 3,
    "South Bradford": 4,
}
DECISION_P = {  # Accepted, Signposted, No further action, Stepped up
    True: (0.76, 0.10, 0.06, 0.08),  # eligible families
    False: (0.33, 0.34, 0.23, 0.10),
}
DECISIONS = (
    "Accepted",
    "Signposted to universal services",
    "No further action",
    "Stepped up to social care",
)
SOURCE_BASE = np.array([30, 16, 12, 10, 5, 3, 6, 6, 3, 4], dtype=float)  # REFERRAL_SOURCES order
SOURCE_BY_PROBLEM = {  # which referrer sees which problem
    "school": 0,
    "crime": 1,
    "dv": 1,
    "health": 2,
    "children": 3,
    "work": 5,
}
REASONS = {
    "crime": "Offending or anti-social behaviour",
    "school": "School attendance",
    "children": "Child's emotional wellbeing",
    "work": "Worklessness or debt",
    "dv": "Domestic abuse",
    "health": "Parental mental health",
}
EXTRA_REASONS = ("Parenting support", "Child behaviour", "Housing", "Substance misuse")
# What makes an attached family progress (its log-odds of success on each problem, and of a step
# up in school attendance each term), by feature known at attachment. Centred so a family with
# two or three problems, average severity, an eldest child of ten, a three-week wait and steady
# attendance keeps the problem's SUCCESS_P. SYNTHETIC.md, "How families progress".
EFFECTS = {
    "problems": -0.35,  # per problem above the centre
    "problems_centre": 2.5,
    "severity": -0.45,  # per standard deviation of severity
    "age": -0.10,  # per year of the eldest child's age above ten
    "age_centre": 10.0,
    "wait": -0.12,  # per week waited for allocation above three
    "wait_centre": 3.0,
    "wait_falling": 0.02,  # more chance attendance is falling, per week waited above three
    "trend": 0.7,  # attendance rising (1) or falling (-1) over the terms before attachment
}
PROGRESS_NOISE = 0.7  # standard deviation of the family's own chance, unseen in any extract
TREND_P = (0.25, 0.5, 0.25)  # falling, steady, rising (before the wait's effect)
# Steps from attendance at attachment (0) to the child's usual attendance (1), as the share of
# the way: the first leaves most children just short of 90%, the second just over it.
SCHOOL_STEP_SHARE = (0.0, 0.55, 0.8, 1.0)
SCHOOL_GOOD_STEP = 2  # the step from which attendance is usually 90% or more
SCHOOL_STEP_LOGIT = 0.0  # log-odds of a step up in a term, before the family's chance
SCHOOL_SLIP = 0.3  # of the terms without a step up, the share that slip back one step
SCHOOL_LEAD_DAYS = 250  # a referred family's school problem starts at least this long before
SCHOOL_WINDOW_DAYS = 90  # children at school this long in the programme: referred then
TRIGGER_DAYS = (14, 270)  # a recorded event this many days before the referral
# Chance an attached family with the problem improves, at centred features (school attendance
# moves term by term instead: _school_terms).
SUCCESS_P = {
    "crime": 0.60,
    "children": 0.50,
    "work": 0.25,
    "dv": 0.55,
    "health": 0.45,
}


@dataclass
class Programme:
    referrals: pd.DataFrame
    episodes: pd.DataFrame
    key_workers: pd.DataFrame
    # Per family and census term: the step school attendance has reached since attachment
    # (0 to len(SCHOOL_STEP_SHARE) - 1), -1 off that path. See _school_terms.
    school_levels: np.ndarray


def build_programme(rng: np.random.Generator, pop: Population) -> Programme:
    hh = pop.households
    n = len(hh)
    day_index, intensity, trend = _daily_intensity()

    # Who is referred: most families with two or more problems, a few with fewer.
    n_prob = hh["n_problems"].to_numpy()
    p_ref = np.select([n_prob >= 2, n_prob == 1], [0.55, 0.12], 0.015)
    referred = rng.random(n) < p_ref
    first = _draw_days(rng, day_index, intensity, n)
    # A school attendance problem is noticed while a child is at school: a referred family with
    # one takes the referral day of another referred family (without one) that falls while a
    # child of its is of school age, where its children are at school for three months or more of
    # the programme. Swapping keeps the days referrals arrive on, and so the queue, as they were;
    # the swaps draw from a stream of their own, so the programme's other draws are unchanged.
    swap_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    first = _school_days_swapped(swap_rng, hh, pop.persons, referred, first)
    out = hh["moved_out_date"].to_numpy().astype("datetime64[D]")
    referred &= np.isnat(out) | (first < out)
    # A referred family stays at least several months after its referral.
    too_soon = referred & ~np.isnat(out) & (out < first + np.timedelta64(200, "D"))
    hh.loc[too_soon, "moved_out_date"] = NAT
    out = hh["moved_out_date"].to_numpy().astype("datetime64[D]")

    ref_hh = np.flatnonzero(referred)
    refs = pd.DataFrame({"hh": ref_hh, "received": first[ref_hh], "nth": 1})
    refs = _decide(rng, refs, hh)
    # Some families are referred again later, more often after a first referral was not taken up.
    again_p = np.where(refs["decision"].to_numpy() == "Accepted", 0.08, 0.22)
    again = rng.random(len(refs)) < again_p
    second = refs["received"].to_numpy().astype("datetime64[D]") + rng.integers(
        120, 900, len(refs)
    ).astype("timedelta64[D]")
    second = to_workday(second)
    s_hh = refs["hh"].to_numpy()
    ok = again & (second <= EXTRACT_DATE)
    ok &= np.isnat(out[s_hh]) | (second < out[s_hh])
    more = pd.DataFrame({"hh": s_hh[ok], "received": second[ok], "nth": 2})
    more = _decide(rng, more, hh)
    refs = pd.concat([refs, more], ignore_index=True)
    refs = refs.sort_values(["received", "hh"], kind="stable").reset_index(drop=True)
    refs = _describe(rng, refs, pop)

    key_workers = _key_workers(n)
    draws = _episode_draws(rng, len(refs))
    queue_seed = int(rng.integers(2**63))
    # A second referral only stands if the first was finished with by then: run the queue,
    # drop the second referrals that overlap an open first one, and run it again.
    for attempt in range(5):
        allocated = _allocate(
            np.random.default_rng(queue_seed), refs, n, day_index, intensity, trend
        )
        episodes = _episodes(refs, allocated, draws, hh, key_workers)
        clash = _overlapping_second_referrals(refs, episodes)
        if not clash.any():
            break
        refs = refs[~clash].reset_index(drop=True)
        draws = {k: v[~clash] for k, v in draws.items()}
        if attempt == 4:  # the few left: drop them (their queue slots stay used)
            allocated = allocated[~clash]
            episodes = _episodes(refs, allocated, draws, hh, key_workers)

    refs["allocated"] = allocated
    first_ref = refs.groupby("hh")["received"].min()
    hh["first_referral"] = pd.Series(first_ref).reindex(hh["hh"]).to_numpy(dtype="datetime64[D]")
    hh["referred"] = ~np.isnat(hh["first_referral"].to_numpy().astype("datetime64[D]"))
    _identify(rng, refs, episodes, hh)
    school_levels = _attach_outcomes(rng, hh, episodes, refs, pop.persons)
    return Programme(refs, episodes, key_workers, school_levels)


# --- referral volume ----------------------------------------------------------------------------


def _daily_intensity() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Referrals expected each day (relative): trend × season, working days mostly."""
    days = np.arange(PROGRAMME_START, EXTRACT_DATE + np.timedelta64(1, "D"), dtype="datetime64[D]")
    t = (days - PROGRAMME_START).astype(float) / 365.25
    # The programme ramps up over its first year, then demand keeps growing slowly.
    trend = np.where(t < 1, 0.55 + 0.45 * t, 1.0 + 0.05 * (t - 1))
    _, m, _ = split_date(days)
    work = np.is_busday(days, holidays=BANK_HOLIDAYS)
    weekday = np.where(work, 1.0, 0.04)
    season = SEASON[m - 1]
    scale = (trend * season * weekday).sum()
    return days, trend * season * weekday / scale, trend * weekday / scale


def _draw_days(rng, days: np.ndarray, intensity: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(intensity)
    return days[np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1]), len(days) - 1)]


def _school_days_swapped(
    rng, hh: pd.DataFrame, persons: pd.DataFrame, referred: np.ndarray, first: np.ndarray
) -> np.ndarray:
    """Referral days, with each referred family with a school attendance problem referred on a
    day a child of its is at school (school_age_window): swapped with a referred family without
    one, tried up to 80 times. A family whose children are at school for less than
    SCHOOL_WINDOW_DAYS of the programme keeps its day."""
    first = first.copy()
    school_from, school_to = school_age_window(hh, persons)
    lo = np.maximum(school_from, PROGRAMME_START)
    hi = np.minimum(school_to, EXTRACT_DATE)
    p_school = hh["p_school"].to_numpy()
    long_enough = (hi - lo).astype(np.int64) >= SCHOOL_WINDOW_DAYS
    need = np.flatnonzero(
        referred & p_school & long_enough & ((first < school_from) | (first > school_to))
    )
    pool = np.flatnonzero(referred & ~p_school)
    for _ in range(80):
        if not len(need) or not len(pool):
            break
        partner = pool[rng.integers(0, len(pool), len(need))]
        fits = (first[partner] >= school_from[need]) & (first[partner] <= school_to[need])
        i, j = need[fits], partner[fits]
        _, once = np.unique(j, return_index=True)  # one swap per partner a round
        i, j = i[once], j[once]
        first[i], first[j] = first[j], first[i].copy()
        need = np.setdiff1d(need, i)
    return first


def _decide(rng, refs: pd.DataFrame, hh: pd.DataFrame) -> pd.DataFrame:
    """Gateway decisions: 0-15 working days after receipt, most families accepted."""
    n = len(refs)
    eligible = hh["eligible"].to_numpy()[refs["hh"].to_numpy()]
    p = np.where(eligible[:, None], DECISION_P[True], DECISION_P[False])
    cum = np.cumsum(p, axis=1)
    choice = (rng.random((n, 1)) > cum).sum(axis=1)
    # The gateway falls behind as the vacancies bite in the programme's last weeks.
    late = refs["received"].to_numpy().astype("datetime64[D]") >= day("2020-02-01")
    delay = np.minimum(rng.geometric(np.where(late, 0.12, 0.28), n) - 1, 15)
    decided = add_workdays(refs["received"].to_numpy().astype("datetime64[D]"), delay)
    waiting = decided > EXTRACT_DATE
    refs = refs.copy()
    refs["decision"] = np.where(waiting, "", np.array(DECISIONS, dtype=object)[choice])
    refs["decision_date"] = np.where(waiting, NAT, decided)
    return refs


def _describe(rng, refs: pd.DataFrame, pop: Population) -> pd.DataFrame:
    """Cluster, referrer, reasons and the child referred."""
    hh = pop.households
    h = refs["hh"].to_numpy()
    n = len(refs)
    received = refs["received"].to_numpy().astype("datetime64[D]")
    epoch = address_epoch(hh, h, received)
    ward = np.where(epoch == 1, hh["ward1"].to_numpy()[h], hh["ward"].to_numpy()[h])
    refs["cluster"] = np.array([w.cluster for w in WARDS], dtype=object)[ward]

    weights = np.tile(SOURCE_BASE, (n, 1))
    for k, col in SOURCE_BY_PROBLEM.items():
        weights[:, col] *= np.where(hh[f"p_{k}"].to_numpy()[h], 3.0, 1.0)
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    refs["referral_source"] = np.array(REFERRAL_SOURCES, dtype=object)[
        (rng.random((n, 1)) > cum).sum(axis=1)
    ]

    parts = []
    for k in PROBLEMS:
        has = hh[f"p_{k}"].to_numpy()[h] & (rng.random(n) < 0.8)
        parts.append(np.where(has, REASONS[k], ""))
    extra = np.array(EXTRA_REASONS, dtype=object)[rng.integers(0, len(EXTRA_REASONS), n)]
    parts.append(np.where(rng.random(n) < 0.4, extra, ""))
    reasons = pd.DataFrame(np.column_stack(parts)).agg(
        lambda r: "; ".join(x for x in r if x), axis=1
    )
    reasons = np.where(reasons == "", "Parenting support", reasons)
    refs["referral_reasons"] = np.where(rng.random(n) < 0.03, "", reasons)  # some left blank

    # The child referred: a random child of the family, preferring school age.
    persons = pop.persons
    kids = persons[persons["role"] == "child"]
    k_hh = kids["hh"].to_numpy()
    start = np.searchsorted(k_hh, h, side="left")
    count = np.searchsorted(k_hh, h, side="right") - start
    best = start + np.floor(rng.random(n) * count).astype(int)
    for _ in range(2):
        dob = kids["dob"].to_numpy().astype("datetime64[D]")[best]
        age = (received - dob).astype(float) / 365.25
        bad = (age < 4) | (age > 16)
        retry = start + np.floor(rng.random(n) * count).astype(int)
        best = np.where(bad, retry, best)
    # A child not yet born on the day received is not the child referred: the family's eldest
    # child is (who may, rarely, be unborn too: a referral made before a first birth).
    kid_dob = kids["dob"].to_numpy().astype("datetime64[D]")
    for i in np.flatnonzero(kid_dob[best] > received):
        best[i] = start[i] + int(np.argmin(kid_dob[start[i] : start[i] + count[i]]))
    refs["child_pid"] = kids["pid"].to_numpy()[best]
    return refs


# --- the allocation queue -----------------------------------------------------------------------


def _key_workers(households: int) -> pd.DataFrame:
    """Lead practitioners per cluster: 8-20 a cluster at Bradford scale, fewer when smaller."""
    share = _cluster_share()
    rows = []
    code = 1
    for c in CLUSTERS:
        at_scale = int(np.clip(round(KEY_WORKERS_AT_SCALE * share[c]), 8, 20))
        n_kw = max(2, round(at_scale * households / REFERENCE_SCALE))
        n_teams = min(3 if at_scale >= 14 else 2, n_kw)
        for i in range(n_kw):
            team = f"{c} Team {'ABC'[i % n_teams]}"
            rows.append((f"KW{code:04d}", c, team))
            code += 1
    return pd.DataFrame(rows, columns=["key_worker", "cluster", "team"])


def _cluster_share() -> dict[str, float]:
    """Expected share of referrals per cluster: children weighted by deprivation."""
    w: dict[str, float] = {c: 0.0 for c in CLUSTERS}
    for ward in WARDS:
        w[ward.cluster] += ward.population_0_15 * (0.3 + ward.deprivation)
    total = sum(w.values())
    return {c: v / total for c, v in w.items()}


def _staff_factor(weeks: np.ndarray) -> np.ndarray:
    """Capacity through the year: summer and Christmas leave, a 2017 restructure, and vacancies
    left unfilled in the programme's last months (so a backlog is waiting at the extract date)."""
    _, m, d = split_date(weeks)
    f = np.ones(len(weeks))
    f = np.where(m == 8, 0.85, f)
    f = np.where(((m == 12) & (d >= 18)) | ((m == 1) & (d <= 3)), 0.35, f)
    f = np.where((weeks >= day("2017-06-01")) & (weeks < day("2017-10-01")), 0.85, f)
    f = np.where(weeks >= day("2019-10-01"), 0.8 * f, f)
    return f


def _allocate(
    rng: np.random.Generator,
    refs: pd.DataFrame,
    households: int,
    days: np.ndarray,
    intensity: np.ndarray,
    trend: np.ndarray,
) -> np.ndarray:
    """Allocation date of each referral (NaT if not accepted or still waiting at the extract).

    Each cluster holds a weekly allocation meeting and can allocate only as many families as its
    key workers have free slots. Capacity follows the trend of demand with a little headroom but
    not its seasonal peaks, so the queue lengthens after September and January. The queue always
    runs at Bradford scale: below 70,000 households the families not in the sample are counted
    as anonymous arrivals in the same queue, so waiting times keep their real shape at any size.
    """
    accepted = refs["decision"].to_numpy() == "Accepted"
    decided = refs["decision_date"].to_numpy().astype("datetime64[D]")
    cluster = refs["cluster"].to_numpy()
    out = np.full(len(refs), NAT)

    week_starts = np.arange(PROGRAMME_START, EXTRACT_DATE + np.timedelta64(1, "D"), 7).astype(
        "datetime64[D]"
    )
    n_weeks = len(week_starts)
    week_of_day = ((days - PROGRAMME_START).astype(int)) // 7
    seasonal = np.bincount(week_of_day, intensity, minlength=n_weeks)
    flat = np.bincount(week_of_day, trend, minlength=n_weeks)
    seasonal = np.r_[0.0, seasonal[:-1]]  # decisions come about a week after receipt
    flat = np.r_[flat[0], flat[:-1]]
    scale = max(households, REFERENCE_SCALE)
    share = _cluster_share()
    staff = _staff_factor(week_starts)

    n_acc = accepted.sum()
    for c in CLUSTERS:
        mine = np.flatnonzero(accepted & (cluster == c))
        # Expected accepted referrals for this cluster at reference scale (blend of what the
        # sample shows and the prior share, so a small sample does not swing the capacity).
        real_c = len(mine)
        expected_total = max(n_acc, 1) * scale / households
        blend = (real_c + 400 * share[c] * n_acc / max(n_acc, 1)) / (max(n_acc, 1) + 400)
        demand = expected_total * blend
        lam = demand * seasonal
        capacity = demand * flat * HEADROOM * staff
        meeting = to_workday(week_starts + MEETING_WEEKDAY[c])

        real_week = np.searchsorted(meeting, decided[mine], side="right")
        order = np.argsort(decided[mine], kind="stable")
        mine, real_week = mine[order], real_week[order]
        real_count = np.bincount(real_week, minlength=n_weeks + 1)[:n_weeks]
        phantom = rng.poisson(np.maximum(lam * (scale - households) / scale, 0))
        arrivals = phantom + real_count

        served = np.zeros(n_weeks, dtype=np.int64)
        queue = 0
        credit = 0.0
        for w in range(n_weeks):
            credit += capacity[w]
            can = int(credit)
            credit -= can
            take = min(queue + arrivals[w], can)
            served[w] = take
            queue += arrivals[w] - take
        cum_served = np.cumsum(served)
        cum_arrivals = np.r_[0, np.cumsum(arrivals)]

        # Each real referral's place in the queue: after everyone from earlier weeks, at a random
        # place among its own week's arrivals.
        position = np.empty(len(mine), dtype=np.int64)
        wk_start = np.searchsorted(real_week, np.arange(n_weeks + 1), side="left")
        for w in np.flatnonzero(real_count):
            a, b = wk_start[w], wk_start[w + 1]
            slots = np.sort(rng.choice(arrivals[w], b - a, replace=False))
            position[a:b] = cum_arrivals[w] + slots
        in_range = real_week < n_weeks
        alloc_week = np.full(len(mine), n_weeks)
        alloc_week[in_range] = np.searchsorted(cum_served, position[in_range], side="right")
        done = alloc_week < n_weeks
        when = np.full(len(mine), NAT)
        when[done] = meeting[alloc_week[done]]
        when[when > EXTRACT_DATE] = NAT
        out[mine] = when
    return out


# --- episodes -----------------------------------------------------------------------------------


def _episode_draws(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Everything random about an episode, drawn once so re-running the queue keeps it."""
    return {
        "contact_days": rng.integers(1, 16, n),
        "assessment_days": rng.integers(10, 41, n),
        "plan_days": rng.integers(5, 21, n),
        "close_days": rng.integers(120, 366, n),
        "drop_days": rng.integers(20, 71, n),
        "stage_u": rng.random(n),
        "reason_u": rng.random(n),
        "attach_u": rng.random(n),
        "kw_u": rng.random(n),
    }


def _episodes(
    refs: pd.DataFrame,
    allocated: np.ndarray,
    draws: dict[str, np.ndarray],
    hh: pd.DataFrame,
    key_workers: pd.DataFrame,
) -> pd.DataFrame:
    has = ~np.isnat(allocated)
    idx = np.flatnonzero(has)
    alloc = allocated[idx]
    d = {k: v[idx] for k, v in draws.items()}
    h = refs["hh"].to_numpy()[idx]
    td = lambda x: np.asarray(x).astype("timedelta64[D]")  # noqa: E731

    # How far each family gets: some never engage, some stop after contact or assessment.
    u = d["stage_u"]
    stage = np.select([u < 0.07, u < 0.12, u < 0.16], [0, 1, 2], 3)
    contact = to_workday(alloc + td(d["contact_days"]))
    assessment = to_workday(contact + td(d["assessment_days"]))
    plan = to_workday(assessment + td(d["plan_days"]))
    contact = np.where(stage >= 1, contact, NAT)
    assessment = np.where(stage >= 2, assessment, NAT)
    plan = np.where(stage >= 3, plan, NAT)
    last_step = np.where(stage >= 2, assessment, np.where(stage >= 1, contact, alloc))
    dropped_close = to_workday(last_step + td(d["drop_days"]))
    close = np.where(stage == 3, to_workday(plan + td(d["close_days"])), dropped_close)
    r = d["reason_u"]
    reason = np.where(
        stage == 3,
        np.select(
            [r < 0.64, r < 0.76, r < 0.84],
            ["Outcomes achieved", "Family disengaged", "Stepped up to social care"],
            "Other",
        ),
        "Family disengaged",
    ).astype(object)
    moved = hh["moved_out_date"].to_numpy().astype("datetime64[D]")[h]
    leaves = ~np.isnat(moved) & (moved < close)
    close = np.where(leaves, np.maximum(moved, alloc), close)
    reason = np.where(leaves, "Moved out of area", reason)
    for a in (contact, assessment, plan):
        a[leaves & (a > close)] = NAT

    for a in (contact, assessment, plan):
        a[a > EXTRACT_DATE] = NAT
    open_ = close > EXTRACT_DATE
    close = np.where(open_, NAT, close)
    reason = np.where(open_, "", reason)

    # Key worker: one of the cluster's lead practitioners.
    cluster = refs["cluster"].to_numpy()[idx]
    kw = np.empty(len(idx), dtype=object)
    team = np.empty(len(idx), dtype=object)
    for c in CLUSTERS:
        m = cluster == c
        pool = key_workers[key_workers["cluster"] == c]
        j = np.floor(d["kw_u"][m] * len(pool)).astype(int)
        kw[m] = pool["key_worker"].to_numpy()[j]
        team[m] = pool["team"].to_numpy()[j]

    return pd.DataFrame(
        {
            "ref_index": idx,
            "hh": h,
            "cluster": cluster,
            "team": team,
            "key_worker": kw,
            "allocated": alloc,
            "first_contact": contact,
            "assessment": assessment,
            "family_plan": plan,
            "closure": close,
            "closure_reason": reason,
            "attach_u": d["attach_u"],
        }
    )


def _overlapping_second_referrals(refs: pd.DataFrame, episodes: pd.DataFrame) -> np.ndarray:
    """Second referrals received while the family's first was still being dealt with."""
    n = len(refs)
    finished = refs["decision_date"].to_numpy().astype("datetime64[D]").copy()
    accepted = refs["decision"].to_numpy() == "Accepted"
    finished[accepted] = NAT  # accepted: finished only when the episode closes
    ep_close = episodes["closure"].to_numpy().astype("datetime64[D]")
    finished[episodes["ref_index"].to_numpy()] = ep_close
    finished[refs["decision"].to_numpy() == ""] = NAT
    h = refs["hh"].to_numpy()
    nth = refs["nth"].to_numpy()
    first_finish = pd.Series(finished[nth == 1], index=h[nth == 1])
    clash = np.zeros(n, dtype=bool)
    second = np.flatnonzero(nth == 2)
    f = first_finish.reindex(h[second]).to_numpy(dtype="datetime64[D]")
    clash[second] = np.isnat(f) | (f >= refs["received"].to_numpy().astype("datetime64[D]")[second])
    return clash


def _identify(rng, refs: pd.DataFrame, episodes: pd.DataFrame, hh: pd.DataFrame) -> None:
    """Identifiers as the case management system issues them: in date order."""
    n_hh = len(hh)
    # Cases: one per referred family, numbered by its first referral.
    first = refs.drop_duplicates("hh")
    case_no = np.full(n_hh, -1)
    case_no[first["hh"].to_numpy()] = np.arange(len(first))
    start = int(rng.integers(100_000, 400_000))
    refs["case_id"] = [f"C{start + i:06d}" for i in case_no[refs["hh"].to_numpy()]]
    start = int(rng.integers(1_000_000, 3_000_000))
    refs["referral_id"] = [f"R{start + i:07d}" for i in range(len(refs))]
    order = np.lexsort(
        (episodes["ref_index"].to_numpy(), episodes["allocated"].to_numpy().astype("datetime64[D]"))
    )
    ep_no = np.empty(len(episodes), dtype=np.int64)
    ep_no[order] = np.arange(len(episodes))
    start = int(rng.integers(1_000_000, 3_000_000))
    episodes["episode_id"] = [f"E{start + i:07d}" for i in ep_no]
    episodes["referral_id"] = refs["referral_id"].to_numpy()[episodes["ref_index"].to_numpy()]
    episodes["case_id"] = refs["case_id"].to_numpy()[episodes["ref_index"].to_numpy()]


def _attach_outcomes(
    rng, hh: pd.DataFrame, episodes: pd.DataFrame, refs: pd.DataFrame, persons: pd.DataFrame
) -> np.ndarray:
    """Attachment at the family plan (eligible families, once), then which problems improve.

    Also fixes each problem's window in time: a referred family's problems start before its first
    referral (school problems at least two census terms before it), and each problem that led to
    the referral is put on record in the months before it (`<problem>_trigger`: an incident, a
    referral, an episode). Other families' problems fall around a random time. A problem ends a
    few months after attachment when the family succeeds with it, else it runs on (or fades years
    later). Whether a family succeeds follows its chance of progress (`progress_logit`, below);
    school attendance moves term by term (the returned levels, one row a family and a column a
    census term).
    """
    n = len(hh)
    eligible = hh["eligible"].to_numpy()
    plan = episodes["family_plan"].to_numpy().astype("datetime64[D]")
    eh = episodes["hh"].to_numpy()
    can = ~np.isnat(plan) & eligible[eh] & (episodes["attach_u"].to_numpy() < 0.9)
    # One attachment per family: at its earliest family plan.
    cand = pd.DataFrame({"i": np.flatnonzero(can), "hh": eh[can], "plan": plan[can]})
    cand = cand.sort_values(["plan", "i"], kind="stable").drop_duplicates("hh")
    keep = np.zeros(len(episodes), dtype=bool)
    keep[cand["i"].to_numpy()] = True
    attached_date = np.where(keep, plan, NAT)
    episodes["attached"] = attached_date
    hh_attached = np.full(n, NAT)
    hh_attached[eh[keep]] = attached_date[keep]
    hh["attached_date"] = hh_attached
    # How long the attached family waited from its referral to allocation (days).
    received = refs["received"].to_numpy().astype("datetime64[D]")
    wait = np.full(n, -1, dtype=np.int64)
    wait[eh[keep]] = (
        episodes["allocated"].to_numpy().astype("datetime64[D]")[keep]
        - received[episodes["ref_index"].to_numpy()[keep]]
    ).astype(np.int64)
    hh["allocation_wait_days"] = wait

    attached = ~np.isnat(hh_attached)
    first_referral = hh["first_referral"].to_numpy(dtype="datetime64[D]")
    referred = ~np.isnat(first_referral)
    random_day = uniform_dates(rng, day("2013-01-01"), day("2020-01-31"), n)
    # Other families' school problems fall while a child is at school (the same window).
    school_from, school_to = school_age_window(hh, persons)
    in_school = uniform_dates(
        rng, np.maximum(school_from, day("2013-01-01")), np.minimum(school_to, day("2020-01-31"))
    )
    can_show = hh["p_school"].to_numpy() & (
        np.maximum(school_from, day("2013-01-01")) <= np.minimum(school_to, day("2020-01-31"))
    )
    anchor = np.where(referred, first_referral, np.where(can_show, in_school, random_day))
    hh["anchor"] = anchor
    # How severe the family's problems are (standard normal): deeper absence, more incidents,
    # less chance of progress (sources.py reads it as well).
    hh["severity"] = rng.normal(0.0, 1.0, n)
    for k in PROBLEMS:
        has = hh[f"p_{k}"].to_numpy()
        lead = rng.integers(180, 2500, n) if k == "work" else rng.integers(60, 720, n)
        if k == "school":  # two census terms or more before the referral
            lead = np.where(referred, rng.integers(SCHOOL_LEAD_DAYS, 900, n), lead)
        onset = anchor - lead.astype("timedelta64[D]")
        natural = (rng.random(n) * (6 - 1.5) + 1.5) * 365.25
        end = onset + natural.astype("timedelta64[D]")
        end = np.maximum(end, anchor + np.timedelta64(200, "D"))
        trigger = anchor - rng.integers(*TRIGGER_DAYS, n).astype("timedelta64[D]")
        hh[f"{k}_onset"] = np.where(has, onset, NAT)
        hh[f"{k}_end"] = np.where(has, end, NAT)
        hh[f"{k}_trigger"] = np.where(has & referred, np.maximum(trigger, onset), NAT)

    logit, trend = _progress_logit(rng, hh, persons, attached, wait)
    hh["school_trend"] = trend
    hh["progress_logit"] = np.where(attached, logit, np.nan)
    for k in PROBLEMS:
        has = hh[f"p_{k}"].to_numpy()
        if k == "school":
            continue  # term by term, below
        chance = sigmoid(np.log(SUCCESS_P[k] / (1 - SUCCESS_P[k])) + logit)
        success = attached & has & (rng.random(n) < chance)
        end = np.where(
            success,
            hh_attached + rng.integers(30, 150, n).astype("timedelta64[D]"),
            hh[f"{k}_end"].to_numpy().astype("datetime64[D]"),
        )
        hh[f"{k}_end"] = np.where(has, end, NAT)
        hh[f"{k}_success"] = success
    return _school_terms(rng, hh, attached & hh["p_school"].to_numpy(), logit)


def school_age_window(hh: pd.DataFrame, persons: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per household, the days between which some child has been at school two terms or more
    and is not yet past year 11 (the eldest child aged 5.8 to the youngest aged 15.8); a window
    that ends before it starts where the household has no child."""
    kids = persons[persons["role"] == "child"]
    dob = pd.Series(kids["dob"].to_numpy().astype("datetime64[D]")).groupby(kids["hh"].to_numpy())
    eldest = dob.min().reindex(np.arange(len(hh))).to_numpy(dtype="datetime64[D]")
    youngest = dob.max().reindex(np.arange(len(hh))).to_numpy(dtype="datetime64[D]")
    start = eldest + np.timedelta64(int(5.8 * 365.25), "D")
    end = youngest + np.timedelta64(int(15.8 * 365.25), "D")
    none = np.isnat(eldest)
    return np.where(none, day("2100-01-01"), start), np.where(none, day("1900-01-01"), end)


def _progress_logit(
    rng, hh: pd.DataFrame, persons: pd.DataFrame, attached: np.ndarray, wait: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each attached family's chance of progress, as a log-odds shift, and its school attendance
    trend over the terms before attachment (-1 falling, 0 steady, 1 rising; 0 without a school
    problem). Fewer problems, milder ones, younger children, a shorter wait for allocation and
    attendance already rising raise it; the rest is chance (PROGRESS_NOISE), so no rule or model
    can know who will progress. A long wait also makes attendance more likely to be falling by
    attachment: circumstances change while families wait."""
    n = len(hh)
    attached_date = hh["attached_date"].to_numpy().astype("datetime64[D]")
    kids = persons[persons["role"] == "child"]
    eldest = (
        pd.Series(kids["dob"].to_numpy().astype("datetime64[D]"))
        .groupby(kids["hh"].to_numpy())
        .min()
        .reindex(np.arange(n))
        .to_numpy(dtype="datetime64[D]")
    )
    age = np.where(attached, (attached_date - eldest).astype(float) / 365.25, EFFECTS["age_centre"])
    weeks = np.where(attached, wait / 7.0, EFFECTS["wait_centre"])
    falling_p = np.clip(
        TREND_P[0] + EFFECTS["wait_falling"] * np.maximum(weeks - EFFECTS["wait_centre"], 0),
        0,
        0.6,
    )
    u = rng.random(n)
    trend = np.where(u < falling_p, -1, np.where(u < falling_p + TREND_P[2], 1, 0))
    trend = np.where(attached & hh["p_school"].to_numpy(), trend, 0).astype(np.int8)
    logit = (
        EFFECTS["problems"] * (hh["n_problems"].to_numpy() - EFFECTS["problems_centre"])
        + EFFECTS["severity"] * hh["severity"].to_numpy()
        + EFFECTS["age"] * (age - EFFECTS["age_centre"])
        + EFFECTS["wait"] * (weeks - EFFECTS["wait_centre"])
        + EFFECTS["trend"] * trend
        + rng.normal(0.0, PROGRESS_NOISE, n)
    )
    return logit, trend


def _school_terms(rng, hh: pd.DataFrame, on: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """Term by term after attachment, school attendance climbs the steps of SCHOOL_STEP_SHARE
    from where it was at attachment towards the child's usual attendance: up one step with the
    family's chance of progress that term (two in the first term with that chance squared: a
    strong start), else back one step with SCHOOL_SLIP of the remaining chance. Levels: -1 where a
    family is not on this path (not attached, no school problem, before attachment). A family
    succeeds with school attendance when it holds SCHOOL_GOOD_STEP or above three terms running
    (from the third census after attachment at the earliest)."""
    n = len(hh)
    dates = census_dates()
    attach_t = np.searchsorted(
        dates, hh["attached_date"].to_numpy().astype("datetime64[D]"), "right"
    )
    levels = np.full((n, len(dates)), -1, dtype=np.int8)
    up_p = sigmoid(SCHOOL_STEP_LOGIT + logit)
    top = len(SCHOOL_STEP_SHARE) - 1
    level = np.zeros(n, dtype=np.int8)
    run = np.zeros(n, dtype=np.int64)
    success_t = np.full(n, len(dates))
    for t in range(len(dates)):
        active = on & (attach_t <= t)
        u = rng.random(n)
        up = (u < up_p).astype(np.int8) + ((attach_t == t) & (u < up_p**2))
        down = (up == 0) & (u < up_p + SCHOOL_SLIP * (1 - up_p))
        level = np.where(active, np.clip(level + up - down, 0, top), level).astype(np.int8)
        levels[:, t] = np.where(active, level, -1)
        run = np.where(active & (level >= SCHOOL_GOOD_STEP), run + 1, 0)
        success_t = np.where(active & (run == 3) & (success_t == len(dates)), t - 2, success_t)
    success = on & (success_t < len(dates))
    end = hh["school_end"].to_numpy().astype("datetime64[D]")
    hh["school_end"] = np.where(success, dates[np.minimum(success_t, len(dates) - 1)], end)
    hh["school_success"] = success
    return levels
