"""Early help case management extracts: people, relationships, referrals and episodes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loaders.contracts import BY_SOURCE
from loaders.synthetic.common import EXTRACT_DATE, NAT, uniform_dates
from loaders.synthetic.dirt import ROW_RATES, register, render_addresses
from loaders.synthetic.population import STEP_FAMILY, Population, ehm_ethnicity_label
from loaders.synthetic.programme import Programme
from loaders.synthetic.sources import SourceResult, person_cols
from loaders.synthetic.write import Col, Table

GENDER = {"M": "Male", "F": "Female", "U": "Unknown"}


@dataclass
class EarlyHelp:
    people: SourceResult
    relationships: Table
    referrals: Table
    episodes: Table
    primary_id: pd.Series  # pid -> person id of the first registration
    referrals_missing: tuple[list, int]  # dirt rows for unlinked children, and referrals count


def early_help(rng: np.random.Generator, pop: Population, prog: Programme) -> EarlyHelp:
    p = pop.persons
    refs, eps = prog.referrals, prog.episodes
    case_of_hh = refs.drop_duplicates("hh").set_index("hh")["case_id"]
    first_ref = refs.groupby("hh")["received"].min()
    second_ref = refs[refs["nth"] == 2].set_index("hh")["received"]

    # Everyone in a referred family is recorded on the case; a baby born later is added then.
    members = p[p["hh"].isin(case_of_hh.index)]
    m_pid = members["pid"].to_numpy()
    m_hh = members["hh"].to_numpy()
    dob = members["dob"].to_numpy().astype("datetime64[D]")
    recorded = first_ref.reindex(m_hh).to_numpy(dtype="datetime64[D]")
    later = dob > recorded
    recorded = np.where(
        later, dob + rng.integers(5, 60, len(dob)).astype("timedelta64[D]"), recorded
    )
    ok = recorded <= EXTRACT_DATE
    m_pid, m_hh, recorded = m_pid[ok], m_hh[ok], recorded[ok]
    order = np.lexsort((m_pid, recorded))
    m_pid, m_hh, recorded = m_pid[order], m_hh[order], recorded[order]

    start = int(rng.integers(1_000_000, 3_000_000))
    registry = register(
        rng,
        "ehm_people",
        m_pid,
        pop,
        lambda r, k: np.array([f"P{start + i:07d}" for i in range(k)], dtype=object),
    )
    regs = registry.regs
    primary = regs["primary"].to_numpy()
    is_dup = primary != np.arange(len(regs))
    # A second registration of the same person: added again at a later referral, or by mistake.
    rec = np.r_[recorded, np.full(is_dup.sum(), NAT)]
    dup_hh = m_hh[primary[is_dup]]
    again = second_ref.reindex(dup_hh).to_numpy(dtype="datetime64[D]")
    fallback = rec[primary[is_dup]] + rng.integers(20, 400, is_dup.sum()).astype("timedelta64[D]")
    rec[is_dup] = np.where(np.isnat(again), fallback, again)
    rec = rec.astype("datetime64[D]")
    keep = rec <= EXTRACT_DATE
    registry.used = keep.copy()
    row_reg = np.flatnonzero(keep)
    row_pid = regs["pid"].to_numpy()[row_reg]
    row_hh = p["hh"].to_numpy()[row_pid]
    records: list = []
    addr = render_addresses(rng, registry, pop, row_reg, rec[row_reg], records)
    cols = person_cols(registry, row_reg, GENDER)
    eth = ehm_ethnicity_label(p["ethnicity"].to_numpy()[row_pid], p["heritage"].to_numpy()[row_pid])
    eth = np.where(rng.random(len(row_reg)) < 0.1, None, eth)
    cols.update(
        {
            "person_id": Col(regs["spid"].to_numpy(dtype=object), row_reg),
            "case_id": Col(case_of_hh.reindex(row_hh).to_numpy(dtype=object)),
            "ethnicity": Col(eth.astype(object)),
            "address_line_1": Col(addr.line1, addr.codes),
            "address_line_2": Col(addr.line2, addr.codes),
            "town": Col(addr.town, addr.codes),
            "postcode": Col(addr.postcode, addr.codes),
            "recorded_date": Col(rec[row_reg]),
        }
    )
    people = SourceResult(Table(BY_SOURCE["ehm_people"], cols), registry, row_reg, records)
    people.row_when = rec[row_reg]
    prim_regs = np.flatnonzero(~is_dup & keep)
    primary_id = pd.Series(
        regs["spid"].to_numpy()[prim_regs], index=regs["pid"].to_numpy()[prim_regs]
    )

    relationships = _relationships(rng, pop, primary_id, case_of_hh)

    # Referrals: the child referred, by their (first) person id.
    child = refs["child_pid"].to_numpy()
    child_id = primary_id.reindex(child).to_numpy(dtype=object)
    child_id = np.where(pd.isna(child_id), None, child_id)
    unlinked = (rng.random(len(refs)) < ROW_RATES["person_id_missing"]) & (child_id != None)  # noqa: E711
    child_id = np.where(unlinked, None, child_id)  # the child was not linked on the form
    missing_rows = [
        ("ehm_referrals", "", key, "person_id_missing", "person_id", true, "", "")
        for key, true in zip(
            refs["referral_id"].to_numpy()[unlinked],
            primary_id.reindex(child[unlinked]).to_numpy(dtype=object),
            strict=True,
        )
    ]
    ref_cols = {
        "referral_id": Col(refs["referral_id"].to_numpy(dtype=object)),
        "case_id": Col(refs["case_id"].to_numpy(dtype=object)),
        "person_id": Col(child_id.astype(object)),
        "received_date": Col(refs["received"].to_numpy(dtype="datetime64[D]")),
        "referral_source": Col(refs["referral_source"].to_numpy(dtype=object)),
        "referral_reasons": Col(
            np.where(refs["referral_reasons"] == "", None, refs["referral_reasons"]).astype(object)
        ),
        "decision": Col(np.where(refs["decision"] == "", None, refs["decision"]).astype(object)),
        "decision_date": Col(refs["decision_date"].to_numpy(dtype="datetime64[D]")),
        "cluster": Col(refs["cluster"].to_numpy(dtype=object)),
    }
    referrals = Table(BY_SOURCE["ehm_referrals"], ref_cols)
    referrals_missing = (missing_rows, len(refs))

    e = eps.sort_values("episode_id", kind="stable")
    ep_cols = {
        "episode_id": Col(e["episode_id"].to_numpy(dtype=object)),
        "referral_id": Col(e["referral_id"].to_numpy(dtype=object)),
        "case_id": Col(e["case_id"].to_numpy(dtype=object)),
        "cluster": Col(e["cluster"].to_numpy(dtype=object)),
        "team": Col(e["team"].to_numpy(dtype=object)),
        "key_worker": Col(e["key_worker"].to_numpy(dtype=object)),
        "allocated_date": Col(e["allocated"].to_numpy(dtype="datetime64[D]")),
        "first_contact_date": Col(e["first_contact"].to_numpy(dtype="datetime64[D]")),
        "assessment_date": Col(e["assessment"].to_numpy(dtype="datetime64[D]")),
        "family_plan_date": Col(e["family_plan"].to_numpy(dtype="datetime64[D]")),
        "attached_date": Col(e["attached"].to_numpy(dtype="datetime64[D]")),
        "closure_date": Col(e["closure"].to_numpy(dtype="datetime64[D]")),
        "closure_reason": Col(
            np.where(e["closure_reason"] == "", None, e["closure_reason"]).astype(object)
        ),
    }
    episodes = Table(BY_SOURCE["ehm_episodes"], ep_cols)
    return EarlyHelp(people, relationships, referrals, episodes, primary_id, referrals_missing)


def _relationships(
    rng: np.random.Generator, pop: Population, primary_id: pd.Series, case_of_hh: pd.Series
) -> Table:
    """Who is who to whom in each case: read as <related> is the <relationship> of <person>."""
    p = pop.persons.set_index("pid")
    on_case = p.loc[primary_id.index]
    df = pd.DataFrame(
        {
            "pid": primary_id.index.to_numpy(),
            "hh": on_case["hh"].to_numpy(),
            "role": on_case["role"].to_numpy(),
            "sex": on_case["sex"].to_numpy(),
            "dob": on_case["dob"].to_numpy().astype("datetime64[D]"),
            "older": on_case["from_earlier_relationship"].to_numpy(),
        }
    )
    pairs = df.merge(df, on="hh", suffixes=("", "_r"))
    pairs = pairs[pairs["pid"] != pairs["pid_r"]]
    pairs = pairs[(pairs["role"] == "child") | (pairs["role_r"] == "child") | _grand_mother(pairs)]
    role, role_r = pairs["role"].to_numpy(), pairs["role_r"].to_numpy()
    female_r = pairs["sex_r"].to_numpy() == "F"
    older, older_r = pairs["older"].to_numpy(), pairs["older_r"].to_numpy()
    structure = pop.households["structure"].to_numpy()[pairs["hh"].to_numpy()]
    step_family = structure == STEP_FAMILY
    child, child_r = role == "child", role_r == "child"
    n = len(pairs)
    partner_word = np.where(rng.random(n) < 0.3, "Parent's partner", "Step-father")
    rel = np.select(
        [
            child & (role_r == "mother"),
            child & (role_r == "father"),
            child & (role_r == "stepfather") & older,
            child & (role_r == "stepfather"),
            child & (role_r == "grandmother"),
            child & (role_r == "grandfather"),
            child & child_r & step_family & (older != older_r) & ~female_r,
            child & child_r & step_family & (older != older_r) & female_r,
            child & child_r & ~female_r,
            child & child_r & female_r,
            (role == "stepfather") & child_r & older_r & ~female_r,
            (role == "stepfather") & child_r & older_r & female_r,
            np.isin(role, ("mother", "father", "stepfather")) & child_r & ~female_r,
            np.isin(role, ("mother", "father", "stepfather")) & child_r & female_r,
            np.isin(role, ("grandmother", "grandfather")) & child_r & ~female_r,
            np.isin(role, ("grandmother", "grandfather")) & child_r & female_r,
            (role == "mother") & (role_r == "grandmother"),
            (role == "mother") & (role_r == "grandfather"),
            np.isin(role, ("grandmother", "grandfather")) & (role_r == "mother"),
        ],
        [
            "Mother",
            "Father",
            partner_word,
            "Father",
            "Grandmother",
            "Grandfather",
            "Half-brother",
            "Half-sister",
            "Brother",
            "Sister",
            "Stepson",
            "Stepdaughter",
            "Son",
            "Daughter",
            "Grandson",
            "Granddaughter",
            "Mother",
            "Father",
            "Daughter",
        ],  # fmt: skip
        "",
    )
    pairs = pairs.assign(rel=rel)
    pairs = pairs[pairs["rel"] != ""]
    # Not every relationship gets recorded.
    pairs = pairs[rng.random(len(pairs)) < 0.88]
    pairs = pairs.sort_values(["hh", "pid", "pid_r"], kind="stable")
    dob, dob_r = (
        pairs["dob"].to_numpy().astype("datetime64[D]"),
        pairs["dob_r"].to_numpy().astype("datetime64[D]"),
    )
    joined = (
        pop.households["stepfather_joined"]
        .to_numpy()
        .astype("datetime64[D]")[pairs["hh"].to_numpy()]
    )
    step = np.isin(
        pairs["rel"].to_numpy(), ("Step-father", "Parent's partner", "Stepson", "Stepdaughter")
    )
    start = np.where(step, joined, np.maximum(dob, dob_r))
    start = np.where(rng.random(len(pairs)) < 0.35, NAT, start).astype("datetime64[D]")
    ended = step & (rng.random(len(pairs)) < 0.05) & ~np.isnat(start)
    end = np.where(ended, uniform_dates(rng, start, EXTRACT_DATE), NAT).astype("datetime64[D]")
    cols = {
        "person_id": Col(primary_id.reindex(pairs["pid"]).to_numpy(dtype=object)),
        "related_person_id": Col(primary_id.reindex(pairs["pid_r"]).to_numpy(dtype=object)),
        "relationship": Col(pairs["rel"].to_numpy(dtype=object)),
        "start_date": Col(start),
        "end_date": Col(end),
    }
    return Table(BY_SOURCE["ehm_relationships"], cols)


def _grand_mother(pairs: pd.DataFrame) -> pd.Series:
    """The mother and her own parent living with her."""
    a = (pairs["role"] == "mother") & pairs["role_r"].isin(["grandmother", "grandfather"])
    b = pairs["role"].isin(["grandmother", "grandfather"]) & (pairs["role_r"] == "mother")
    return a | b
