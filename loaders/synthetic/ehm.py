"""Early help case management extracts (people, relationships, referrals, episodes) and the Family
Context service involvement feed (one row per person and service)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loaders.contracts import BY_SOURCE
from loaders.synthetic import names as nm
from loaders.synthetic.common import CURRENT_AS_OF, EXTRACT_DATE, NAT, uniform_dates
from loaders.synthetic.dirt import ROW_RATES, Registry, register, render_addresses
from loaders.synthetic.geography import WARDS
from loaders.synthetic.population import STEP_FAMILY, Population, ehm_ethnicity_label
from loaders.synthetic.programme import Programme
from loaders.synthetic.sources import SourceResult, _ids, person_cols
from loaders.synthetic.write import Col, Table, coded

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


# --- service involvement (Family Context) ---------------------------------------------------------

# service, system, coverage start, current-as-of key, role of the contact, email domain
SYSTEMS = {
    "School": ("SIMS", "2012-09-01", "school_census", "Designated Safeguarding Lead", "gov"),
    "Early Help": ("Liquidlogic EHM", "2014-09-01", "ehm", "Key Worker", "gov"),
    "Early Years": ("Capita One", "2013-04-01", "ehm", "Early Years Practitioner", "gov"),
    "Health Visitor": ("SystmOne", "2013-04-01", "health_events", "Health Visitor", "nhs"),
    "GP": ("EMIS Web", "2010-01-01", "health_events", "GP", "nhs"),
    "Young Carers": ("Carefirst", "2015-04-01", "ehm", "Young Carers Worker", "gov"),
    "Youth Offending": ("ChildView", "2012-04-01", "police_incidents", "YOT Case Manager", "gov"),
    "Drug & Alcohol": ("Nebula", "2014-04-01", "health_events", "Recovery Worker", "nhs"),
    "Adult Social Care": ("Liquidlogic LAS", "2013-04-01", "ehm", "Social Worker", "gov"),
    "Adult Mental Health": (
        "SystmOne (BDCFT)", "2012-04-01", "health_events", "Care Coordinator", "nhs",
    ),
    "Housing": ("Northgate Housing", "2001-01-01", "housing_tenancies", "Housing Officer", "gov"),
    "Police": ("Niche RMS", "2012-04-01", "police_incidents", "Safeguarding Officer", "police"),
    "Anti-Social Behaviour": ("ECINS", "2013-04-01", "police_incidents", "ASB Officer", "gov"),
}  # fmt: skip
EMAIL_DOMAINS = {
    "gov": "bradford.gov.uk",
    "nhs": "nhs.net",
    "police": "westyorkshire.police.uk",
}  # fmt: skip
OWN_ID_PREFIX = {
    "Early Years": ("EY", 7),
    "Health Visitor": ("HV", 7),
    "Young Carers": ("YC", 6),
    "Youth Offending": ("YO", 6),
    "Drug & Alcohol": ("DA", 7),
    "Adult Social Care": ("AS", 7),
    "Adult Mental Health": ("MH", 7),
    "Anti-Social Behaviour": ("AB", 6),
}
LINKED = {  # services whose ids are those of a source extract
    "School": "school_census",
    "GP": "health_events",
    "Police": "police_incidents",
    "Housing": "housing_tenancies",
    "Early Help": "ehm_people",
}


@dataclass
class Involvement:
    """What one service knows about one person: the id, and the dates."""

    pid: np.ndarray
    reg: np.ndarray  # registration in the service's registry
    start: np.ndarray
    last: np.ndarray
    end: np.ndarray  # NaT while current
    team: np.ndarray


def summarise(result: SourceResult, when: np.ndarray) -> pd.DataFrame:
    """Per registration used: the person, first and last row dates."""
    df = pd.DataFrame({"reg": result.row_reg, "when": np.asarray(when, dtype="datetime64[D]")})
    g = df.groupby("reg")["when"].agg(["min", "max"])
    regs = result.registry.regs
    g["pid"] = regs["pid"].to_numpy()[g.index.to_numpy()]
    g = g.reset_index().sort_values(["pid", "max"], kind="stable")
    return g.drop_duplicates("pid", keep="last")  # the latest id a person has in that system


def service_involvement(
    rng: np.random.Generator,
    pop: Population,
    prog: Programme,
    results: dict[str, SourceResult],
    row_dates: dict[str, np.ndarray],
    extra: dict[str, pd.DataFrame],
) -> tuple[SourceResult, pd.DataFrame, dict[str, Registry]]:
    """One row per person and service for members of referred or eligible families."""
    hh, p = pop.households, pop.persons
    in_scope = hh["referred"].to_numpy() | hh["eligible"].to_numpy()
    person_ok = in_scope[p["hh"].to_numpy()]
    scope = set(np.flatnonzero(person_ok).tolist())
    blocks: list[pd.DataFrame] = []

    def add(service: str, df: pd.DataFrame) -> None:
        # Only what the system knew by its extract date.
        asof = current_as_of(service)
        df = df[df["pid"].isin(scope) & (df["start"].to_numpy().astype("datetime64[D]") <= asof)]
        if df.empty:
            return
        last = np.minimum(df["last"].to_numpy().astype("datetime64[D]"), asof)
        end = df["end"].to_numpy().astype("datetime64[D]")
        end = np.where(end > asof, NAT, end)
        df = df.assign(last=last, end=end)
        blocks.append(
            pd.DataFrame(
                {
                    "pid": df["pid"].to_numpy(),
                    "reg": df["reg"].to_numpy(),
                    "start": df["start"].to_numpy().astype("datetime64[D]"),
                    "last": df["last"].to_numpy().astype("datetime64[D]"),
                    "end": df["end"].to_numpy().astype("datetime64[D]"),
                    "service": service,
                }
            )
        )

    def current_as_of(service):
        return CURRENT_AS_OF[SYSTEMS[service][2]]

    # Linked systems: the person's latest id there, from that extract.
    for service, source in LINKED.items():
        if source not in results:
            continue
        s = summarise(results[source], row_dates[source])
        first = s["min"].to_numpy().astype("datetime64[D]")
        last = s["max"].to_numpy().astype("datetime64[D]")
        reg = s["reg"].to_numpy()
        pid = s["pid"].to_numpy()
        end = np.full(len(s), NAT)
        if service == "School":  # on roll at the latest census, else left after the last one
            end = np.where(last >= CURRENT_AS_OF["school_census"], NAT, last)
        elif service == "Police":  # nothing for six months: no longer involved
            end = np.where(last + 182 < current_as_of(service), last + 90, NAT)
        elif service == "Housing":  # the latest tenancy, ended or not
            t_end = results[source].table.cols["tenancy_end"].at(reg).astype("datetime64[D]")
            end = t_end
            last = np.where(np.isnat(t_end), CURRENT_AS_OF["housing_tenancies"], t_end)
        elif service == "Early Help":
            last, end = _early_help_dates(prog, p["hh"].to_numpy()[pid], first)
        add(service, pd.DataFrame({"pid": pid, "reg": reg, "start": first, "last": last,
                                   "end": end}))  # fmt: skip
    # Other services: inferred from what the extracts show about each person.
    for service, df in extra.items():
        add(service, df.assign(reg=-1))

    inv = pd.concat(blocks, ignore_index=True)

    # Registrations: linked services reuse the source's; the others register their people.
    registries: dict[str, Registry] = {}
    parts = []
    for service in SYSTEMS:
        sub = inv[inv["service"] == service]
        if sub.empty:
            continue
        if service in LINKED and LINKED[service] in results:
            reg = results[LINKED[service]].registry
        else:
            prefix, digits = OWN_ID_PREFIX[service]
            reg = register(
                rng, "service_involvement", sub["pid"].to_numpy(), pop, _ids(prefix, digits)
            )
            sub = sub.assign(reg=np.arange(len(sub)))
            reg.used = np.ones(len(reg.regs), dtype=bool)
        registries[service] = reg
        parts.append(sub)
    inv = pd.concat(parts, ignore_index=True)
    service_order = {s: i for i, s in enumerate(SYSTEMS)}
    inv = inv.assign(_o=inv["service"].map(service_order)).sort_values(["pid", "_o"], kind="stable")
    inv = inv.drop(columns="_o").reset_index(drop=True)
    n = len(inv)

    # Person fields come from each service's registration of the person.
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    dob_v = np.full(n, NAT)
    sex = np.empty(n, dtype=object)
    cms = np.empty(n, dtype=object)
    line = np.empty(n, dtype=object)
    pcode = np.empty(n, dtype=object)
    services = inv["service"].to_numpy()
    dirt_rows = []
    for service, reg in registries.items():
        m = np.flatnonzero(services == service)
        r = inv["reg"].to_numpy()[m].astype(np.int64)
        regs = reg.regs
        first[m] = regs["first"].to_numpy()[r]
        last[m] = regs["last"].to_numpy()[r]
        dob_v[m] = regs["dob"].to_numpy().astype("datetime64[D]")[r]
        sex[m] = np.array([GENDER[s] for s in regs["sex"].to_numpy()[r]], dtype=object)
        cms[m] = regs["spid"].to_numpy()[r]
        asof = current_as_of(service)
        pid_m = inv["pid"].to_numpy()[m]
        out = hh["moved_out_date"].to_numpy().astype("datetime64[D]")[p["hh"].to_numpy()[pid_m]]
        when = np.where(~np.isnat(out) & (out <= asof), out - 1, asof)
        records: list = []
        addr = render_addresses(rng, reg, pop, r, when, records)
        line[m] = addr.multi_line[addr.codes]
        pcode[m] = addr.postcode[addr.codes]
        # The dirt this person's record carries in that system.
        rec = reg.records
        if len(records):
            rec = pd.concat([rec, pd.DataFrame(records, columns=rec.columns)], ignore_index=True)
            if reg.source == "service_involvement":  # its own registrations: count them too
                reg.records = rec
        rec = rec.astype({"reg": np.int64})
        rec = rec[rec["reg"].isin(np.unique(r)) & (rec["dirt_kind"] != "duplicate_registration")]
        rec = rec.drop_duplicates(["reg", "dirt_kind"])
        dirt_rows.append(
            pd.DataFrame(
                {
                    "source": "service_involvement",
                    "source_person_id": regs["spid"].to_numpy()[rec["reg"].to_numpy()],
                    "row_key": "",
                    "dirt_kind": rec["dirt_kind"].to_numpy(),
                    "field": rec["field"].to_numpy(),
                    "true_value": rec["true_value"].to_numpy(),
                    "recorded_value": rec["recorded_value"].to_numpy(),
                    "detail": _inherited(rec["detail"].to_numpy(), reg.source),
                }
            )
        )

    # Contacts: a named worker per team.
    team = _teams(rng, pop, inv, results)
    staff_first = np.array(
        nm.WHITE_FEMALE[:30] + nm.MUSLIM_FEMALE[:12] + nm.WHITE_MALE[:20], dtype=object
    )
    staff_last = np.array(nm.WHITE_SURNAMES[:40] + nm.PAKISTANI_SURNAMES[:15], dtype=object)
    team_codes, team_idx = np.unique(team.astype(str), return_inverse=True)
    t_first = staff_first[rng.integers(0, len(staff_first), len(team_codes))]
    t_last = staff_last[rng.integers(0, len(staff_last), len(team_codes))]
    phone = np.array(
        [f"01274 {x:06d}" for x in rng.integers(0, 10**6, len(team_codes))], dtype=object
    )
    names = np.array([f"{a} {b}" for a, b in zip(t_first, t_last, strict=True)], dtype=object)
    role = np.array([SYSTEMS[s][3] for s in services], dtype=object)
    domain = np.array([EMAIL_DOMAINS[SYSTEMS[s][4]] for s in services], dtype=object)
    slug = np.array(
        [
            f"{a}.{b}".lower().replace("'", "").replace(" ", "")
            for a, b in zip(t_first, t_last, strict=True)
        ],
        dtype=object,
    )
    email = slug[team_idx] + "@" + domain
    no_contact = rng.random(n) < 0.08
    contact = np.where(no_contact, None, names[team_idx])
    phone_v = np.where(no_contact | (rng.random(n) < 0.05), None, phone[team_idx])
    email = np.where(no_contact | (rng.random(n) < 0.1), None, email)

    current = np.array([current_as_of(s) for s in services], dtype="datetime64[D]")
    cov_start = np.array([np.datetime64(SYSTEMS[s][1]) for s in services], dtype="datetime64[D]")
    cov_end = np.where(rng.random(n) < 0.5, current, NAT).astype("datetime64[D]")
    end = inv["end"].to_numpy().astype("datetime64[D]")
    end = np.where(end > current, NAT, end)
    start0 = int(rng.integers(10_000_000, 20_000_000))
    cols = {
        "record_id": Col(np.array([f"SI{start0 + i}" for i in range(n)], dtype=object)),
        "cms_id": Col(cms),
        "system_name": Col(np.array([SYSTEMS[s][0] for s in services], dtype=object)),
        "service": Col(services.astype(object)),
        "first_name": Col(first),
        "last_name": Col(last),
        "dob": Col(dob_v),
        "sex": Col(sex),
        "address": Col(line),
        "postcode": Col(pcode),
        "team": Col(team.astype(object)),
        "contact_name": Col(contact.astype(object)),
        "contact_role": Col(np.where(no_contact, None, role).astype(object)),
        "contact_phone": Col(phone_v.astype(object)),
        "contact_email": Col(email.astype(object)),
        "start_date": Col(inv["start"].to_numpy().astype("datetime64[D]")),
        "last_interaction_date": Col(inv["last"].to_numpy()),
        "end_date": Col(end),
        "current_as_of": Col(current),
        "coverage_start": Col(cov_start),
        "coverage_end": Col(cov_end),
        "coverage_area": coded(["Bradford District"], np.zeros(n, dtype=np.int64)),
    }
    table = Table(BY_SOURCE["service_involvement"], cols)
    result = SourceResult(table, None, None, [])
    result.pids = inv["pid"].to_numpy()
    result.row_reg = inv["reg"].to_numpy().astype(np.int64)  # into its service's registry
    dirt = pd.concat(dirt_rows, ignore_index=True) if dirt_rows else pd.DataFrame()
    return result, dirt, registries


def _inherited(detail: np.ndarray, source: str) -> np.ndarray:
    """Dirt a linked system's record already carries is marked as inherited from that extract."""
    if source == "service_involvement":
        return detail
    return np.array([f"inherited:{source}" + (f"|{d}" if d else "") for d in detail], dtype=object)


def _early_help_dates(prog: Programme, h: np.ndarray, recorded: np.ndarray):
    """Latest contact and end of each family's most recent piece of early help work."""
    ep = prog.episodes.sort_values("allocated", kind="stable").drop_duplicates("hh", keep="last")
    steps = ["allocated", "first_contact", "assessment", "family_plan", "closure"]
    latest = ep[steps].apply(lambda c: c.to_numpy().astype("datetime64[D]")).max(axis=1)
    last = pd.Series(latest.to_numpy(), index=ep["hh"]).reindex(h).to_numpy()
    end = pd.Series(ep["closure"].to_numpy(), index=ep["hh"]).reindex(h).to_numpy()
    refs = prog.referrals.sort_values("received", kind="stable").drop_duplicates("hh", keep="last")
    decided = pd.Series(refs["decision_date"].to_numpy(), index=refs["hh"]).reindex(h).to_numpy()
    not_taken = pd.Series(refs["decision"].to_numpy() != "Accepted", index=refs["hh"]).reindex(h)
    last = np.where(pd.isna(last), decided, last).astype("datetime64[D]")
    last = np.where(np.isnat(last), recorded, last).astype("datetime64[D]")
    no_episode = pd.isna(pd.Series(end)) & not_taken.fillna(False).to_numpy()
    end = np.where(no_episode, decided, end).astype("datetime64[D]")
    return np.maximum(last, recorded), end


def _teams(rng, pop: Population, inv: pd.DataFrame, results) -> np.ndarray:
    hh, p = pop.households, pop.persons
    h = p["hh"].to_numpy()[inv["pid"].to_numpy()]
    ward = np.where(
        hh["ward1"].to_numpy()[h] >= 0, hh["ward1"].to_numpy()[h], hh["ward"].to_numpy()[h]
    )
    area = np.array([w.area_committee for w in WARDS], dtype=object)[ward]
    cluster = np.array([w.cluster for w in WARDS], dtype=object)[ward]
    service = inv["service"].to_numpy()
    team = np.empty(len(inv), dtype=object)
    by = {
        "Early Help": cluster + " Team A",
        "Early Years": cluster + " Children's Centre",
        "Health Visitor": area + " Health Visiting Team",
        "Young Carers": np.full(len(inv), "Barnardo's Young Carers", dtype=object),
        "Youth Offending": np.full(len(inv), "Bradford Youth Offending Team", dtype=object),
        "Drug & Alcohol": np.full(len(inv), "Bradford Recovery Service", dtype=object),
        "Adult Social Care": area + " Adult Social Work Team",
        "Adult Mental Health": area + " Community Mental Health Team",
        "Housing": area + " Housing Office",
        "Police": area + " Safeguarding Unit",
        "Anti-Social Behaviour": area + " Neighbourhood Team",
    }
    for s, values in by.items():
        m = service == s
        team[m] = values[m]
    # School and GP: the school attended, the practice registered with.
    schools = pop.institutions.schools
    practices = pop.institutions.practices
    m = service == "School"
    team[m] = schools["name"].to_numpy()[rng.integers(0, len(schools), m.sum())]
    if "school_census" in results:
        t = results["school_census"].table
        names = t.cols["school_name"].row_values()
        last_school = (
            pd.Series(names)
            .groupby(
                results["school_census"]
                .registry.regs["pid"]
                .to_numpy()[results["school_census"].row_reg]
            )
            .last()
        )
        team[m] = last_school.reindex(inv["pid"].to_numpy()[m]).fillna("").to_numpy(dtype=object)
    m = service == "GP"
    seed = inv["pid"].to_numpy()[m] % 3
    pr_ward = practices["ward"].to_numpy()
    start = np.searchsorted(pr_ward, ward[m], side="left")
    count = np.searchsorted(pr_ward, ward[m], side="right") - start
    team[m] = practices["name"].to_numpy()[start + seed % count]
    return team
