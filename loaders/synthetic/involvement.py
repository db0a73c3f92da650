"""The Family Context service involvement feed: one row per person and service, for the members of
referred or eligible families, with the team, a named lead practitioner and their contact, the
start of the last involvement, the last recorded interaction and the end.

Services fed from a system whose extract the district also has (School from the census, GP from
health, Police, Housing, Early Help, Children's social care) take their dates from that extract
and reuse its person ids; the others (Early Years, Health Visitor, Young Carers, Youth Offending,
Drug & Alcohol, Adult Social Care, Adult Mental Health, Anti-Social Behaviour) are drawn from what
the extracts show about each person (other_services). Rates and rules are in SYNTHETIC.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loaders.contracts import BY_SOURCE
from loaders.synthetic import names as nm
from loaders.synthetic.common import CURRENT_AS_OF, NAT, day
from loaders.synthetic.dirt import Registry, register, render_addresses
from loaders.synthetic.geography import WARDS
from loaders.synthetic.population import Population
from loaders.synthetic.programme import Programme
from loaders.synthetic.sources import SourceResult, _ids
from loaders.synthetic.write import Col, Table, coded

GENDER = {"M": "Male", "F": "Female", "U": "Unknown"}

# service, system, coverage start, current-as-of key, role of the contact, email domain
SYSTEMS = {
    "School": ("SIMS", "2012-09-01", "school_census", "Designated Safeguarding Lead", "gov"),
    "Early Help": ("Liquidlogic EHM", "2014-09-01", "ehm", "Key Worker", "gov"),
    "Children's Social Care": (
        "Liquidlogic LCS", "2012-04-01", "csc_episodes", "Social Worker", "gov",
    ),
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
    "Children's Social Care": "csc_episodes",
}
# Families (households) per named lead practitioner in each service's teams: a team has as many
# practitioners as its families need at this caseload, and each family has one of them. School:
# the school's one designated safeguarding lead; GP: the family's named GP at the practice.
CASELOAD = {
    "School": None,
    "Early Help": 15,
    "Children's Social Care": 12,
    "Early Years": 40,
    "Health Visitor": 250,
    "GP": 300,
    "Young Carers": 25,
    "Youth Offending": 12,
    "Drug & Alcohol": 40,
    "Adult Social Care": 25,
    "Adult Mental Health": 30,
    "Housing": 300,
    "Police": 60,
    "Anti-Social Behaviour": 60,
}
# Contact details missing from a row, as partner systems leave them blank.
CONTACT_MISSING = {"name": 0.08, "phone": 0.05, "email": 0.10}
# Statutory visits to a child on a plan are at least every few weeks: the last one, before the
# extract date, is up to this many days before it.
CSC_VISIT_DAYS = 42


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
    moved_out = hh["moved_out_date"].to_numpy().astype("datetime64[D]")

    def add(service: str, df: pd.DataFrame) -> None:
        # Only what the system knew by its extract date.
        asof = current_as_of(service)
        df = df[df["pid"].isin(scope) & (df["start"].to_numpy().astype("datetime64[D]") <= asof)]
        if df.empty:
            return
        # A family that moved out of the district leaves every service on the day it went.
        out = moved_out[p["hh"].to_numpy()[df["pid"].to_numpy()]]
        gone = ~np.isnat(out) & (out <= asof)
        last = np.minimum(df["last"].to_numpy().astype("datetime64[D]"), asof)
        last = np.where(gone, np.minimum(last, out), last)
        end = df["end"].to_numpy().astype("datetime64[D]")
        end = np.where(gone & (np.isnat(end) | (end > out)), out, end)
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
        elif service == "GP":  # registered while a registration is open, else until the last ends
            end = _open_or_ended(results[source], "event_end_date", pid,
                                 results[source].table.cols["event_type"].row_values()
                                 == "GP registration")  # fmt: skip
        elif service == "Children's Social Care":  # an open episode, else until the last ends
            end = _open_or_ended(results[source], "end_date", pid)
            visit = current_as_of(service) - rng.integers(0, CSC_VISIT_DAYS, len(pid))
            last = np.where(np.isnat(end), np.maximum(visit, last), end)
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

    # Contacts: each family has one named lead practitioner in each team that knows it.
    team = _teams(rng, pop, inv, results)
    worker, workers = _workers(rng, team, services, p["hh"].to_numpy()[inv["pid"].to_numpy()])
    staff_first = np.array(
        nm.WHITE_FEMALE[:30] + nm.MUSLIM_FEMALE[:12] + nm.WHITE_MALE[:20], dtype=object
    )
    staff_last = np.array(nm.WHITE_SURNAMES[:40] + nm.PAKISTANI_SURNAMES[:15], dtype=object)
    w_first = staff_first[rng.integers(0, len(staff_first), workers)]
    w_last = staff_last[rng.integers(0, len(staff_last), workers)]
    names = np.array([f"{a} {b}" for a, b in zip(w_first, w_last, strict=True)], dtype=object)
    phone = np.array([f"01274 {x:06d}" for x in rng.integers(0, 10**6, workers)], dtype=object)
    slug = pd.Series(
        [
            f"{a}.{b}".lower().replace("'", "").replace(" ", "")
            for a, b in zip(w_first, w_last, strict=True)
        ]
    )
    repeat = slug.groupby(slug).cumcount().to_numpy()  # a second Jane Smith is jane.smith2
    slug = np.where(repeat > 0, slug + (repeat + 1).astype(str), slug).astype(object)
    role = np.array([SYSTEMS[s][3] for s in services], dtype=object)
    domain = np.array([EMAIL_DOMAINS[SYSTEMS[s][4]] for s in services], dtype=object)
    email = slug[worker] + "@" + domain
    no_contact = rng.random(n) < CONTACT_MISSING["name"]
    contact = np.where(no_contact, None, names[worker])
    phone_v = np.where(no_contact | (rng.random(n) < CONTACT_MISSING["phone"]), None, phone[worker])
    email = np.where(no_contact | (rng.random(n) < CONTACT_MISSING["email"]), None, email)

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


def _open_or_ended(
    result: SourceResult, end_field: str, pid: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Per person: no end (NaT) while any of their rows (of those chosen) is open, else the
    latest end; NaT too for a person without such rows."""
    row_pid = result.registry.regs["pid"].to_numpy()[result.row_reg]
    row_end = result.table.cols[end_field].row_values().astype("datetime64[D]")
    if rows is not None:
        row_pid, row_end = row_pid[rows], row_end[rows]
    frame = pd.DataFrame({"pid": row_pid, "open": np.isnat(row_end), "end": row_end})
    g = frame.groupby("pid").agg(open=("open", "any"), end=("end", "max"))
    g = g.reindex(pid)
    is_open = g["open"].isna().to_numpy() | g["open"].eq(True).to_numpy()
    return np.where(is_open, NAT, g["end"].to_numpy())


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


def _workers(
    rng: np.random.Generator, team: np.ndarray, services: np.ndarray, households: np.ndarray
) -> tuple[np.ndarray, int]:
    """Per row, its lead practitioner (0 to n - 1), and n: each service's team has as many as
    its families need at the service's caseload (CASELOAD), and each family one of them."""
    frame = pd.DataFrame({"service": services, "team": team.astype(str), "hh": households})
    families = frame.drop_duplicates(["service", "team", "hh"]).reset_index(drop=True)
    teams = families.groupby(["service", "team"], sort=True).size().rename("families")
    teams = teams.reset_index()
    caseload = teams["service"].map(lambda s: CASELOAD[s] or np.inf).to_numpy(dtype=float)
    per_team = np.maximum(1, np.ceil(teams["families"].to_numpy() / caseload)).astype(np.int64)
    teams = teams.assign(first=np.cumsum(per_team) - per_team, count=per_team)
    families = families.merge(teams[["service", "team", "first", "count"]], on=["service", "team"])
    families["worker"] = (
        families["first"] + rng.integers(0, 2**31, len(families)) % families["count"]
    )
    rows = frame.merge(families[["service", "team", "hh", "worker"]], on=["service", "team", "hh"],
                       how="left")  # fmt: skip
    return rows["worker"].to_numpy(dtype=np.int64), int(per_team.sum())


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
    m = service == "Children's Social Care"
    if m.any() and "csc_episodes" in results:
        csc = results["csc_episodes"]
        latest = (
            pd.DataFrame(
                {
                    "pid": csc.registry.regs["pid"].to_numpy()[csc.row_reg],
                    "start": csc.table.cols["start_date"].row_values(),
                    "team": csc.table.cols["team"].row_values(),
                }
            )
            .sort_values(["pid", "start"], kind="stable")
            .groupby("pid")["team"]
            .last()
        )
        team[m] = latest.reindex(inv["pid"].to_numpy()[m]).to_numpy(dtype=object)
    m = service == "GP"
    seed = inv["pid"].to_numpy()[m] % 3
    pr_ward = practices["ward"].to_numpy()
    start = np.searchsorted(pr_ward, ward[m], side="left")
    count = np.searchsorted(pr_ward, ward[m], side="right") - start
    team[m] = practices["name"].to_numpy()[start + seed % count]
    return team


# --- services without an extract of their own ----------------------------------------------------


def other_services(rng: np.random.Generator, pop: Population, results) -> dict[str, pd.DataFrame]:
    """Services with no extract of their own, inferred from what the extracts show."""
    p, hh = pop.persons, pop.households
    dob = p["dob"].to_numpy().astype("datetime64[D]")
    role = p["role"].to_numpy()
    out: dict[str, pd.DataFrame] = {}
    ehm_asof = CURRENT_AS_OF["ehm"]

    def frame(pid, start, last, end):
        return pd.DataFrame(
            {
                "pid": np.asarray(pid),
                "start": np.asarray(start, dtype="datetime64[D]"),
                "last": np.asarray(last, dtype="datetime64[D]"),
                "end": np.asarray(end, dtype="datetime64[D]"),
            }
        )

    def ended(end, asof):
        end = np.asarray(end, dtype="datetime64[D]")
        return np.where(end < asof, end, NAT)

    kids = np.flatnonzero((role == "child") & (dob >= day("2009-09-01")))
    ey = kids[rng.random(len(kids)) < 0.5]
    start = np.maximum(dob[ey] + 730, day("2013-04-01"))
    last = start + rng.integers(30, 700, len(ey))
    out["Early Years"] = frame(
        ey, start, np.minimum(last, ehm_asof), ended(dob[ey] + 1826, ehm_asof)
    )
    # Health visiting: every child from birth to five, seen at the mandated contacts (new birth
    # visit at 10-14 days, 6-8 weeks, 1 year, 2-2.5 years); the last one so far is the latest.
    hv = np.flatnonzero((role == "child") & (dob >= day("2013-04-01")))
    asof = CURRENT_AS_OF["health_events"]
    start = dob[hv] + rng.integers(10, 15, len(hv))
    contacts = np.stack(
        [start, dob[hv] + rng.integers(42, 57, len(hv)), dob[hv] + rng.integers(350, 380, len(hv)),
         dob[hv] + rng.integers(730, 913, len(hv))]
    )  # fmt: skip
    seen = np.where(contacts <= asof, contacts, start).max(axis=0)
    out["Health Visitor"] = frame(hv, start, seen, ended(dob[hv] + 1826, asof))
    h = p["hh"].to_numpy()
    carers = np.flatnonzero(
        (role == "child") & hh["p_health"].to_numpy()[h] & (dob <= day("2010-01-01"))
    )
    carers = carers[rng.random(len(carers)) < 0.06]
    start = np.maximum(dob[carers] + 8 * 365, day("2015-04-01"))
    out["Young Carers"] = frame(
        carers, start, start + rng.integers(30, 500, len(carers)),
        ended(start + rng.integers(200, 1500, len(carers)), ehm_asof),
    )  # fmt: skip
    adults = np.flatnonzero(role != "child")
    grand = np.isin(role, ("grandmother", "grandfather"))[adults]
    asc = adults[rng.random(len(adults)) < np.where(grand, 0.25, 0.015)]
    start = _uniform_start(rng, len(asc))
    out["Adult Social Care"] = frame(
        asc, start, start + rng.integers(30, 600, len(asc)),
        ended(start + rng.integers(100, 2000, len(asc)), ehm_asof),
    )  # fmt: skip

    # From the police extract: offending children (youth offending) and anti-social behaviour.
    pol = results["police_incidents"]
    pr = pol.registry.regs["pid"].to_numpy()[pol.row_reg]
    when = pol.table.cols["incident_datetime"].row_values().astype("datetime64[D]")
    prole = pol.table.cols["person_role"].row_values()
    asb = pol.table.cols["asb_flag"].row_values() == "Y"
    age = (when - dob[pr]).astype(np.int64) / 365.25
    offending = np.isin(prole, ("Offender", "Suspect", "Perpetrator"))
    yot = offending & (age >= 10) & (age < 18) & ~asb
    out["Youth Offending"] = _span(pr[yot], when[yot], CURRENT_AS_OF["police_incidents"])
    out["Anti-Social Behaviour"] = _span(pr[asb], when[asb], CURRENT_AS_OF["police_incidents"])
    # From the health extract: mental health and substance misuse services.
    he = results["health_events"]
    hp = he.registry.regs["pid"].to_numpy()[he.row_reg]
    ev = he.table.cols["event_type"].row_values()
    ed = he.table.cols["event_date"].row_values()
    adult = role[hp] != "child"
    m = (ev == "Mental health referral") & adult
    out["Adult Mental Health"] = _span(hp[m], ed[m], CURRENT_AS_OF["health_events"])
    m = ev == "Substance misuse treatment"
    out["Drug & Alcohol"] = _span(hp[m], ed[m], CURRENT_AS_OF["health_events"])
    return out


def _uniform_start(rng: np.random.Generator, n: int) -> np.ndarray:
    return day("2013-04-01") + rng.integers(0, 2400, n).astype("timedelta64[D]")


def _span(pid: np.ndarray, when: np.ndarray, asof: np.datetime64) -> pd.DataFrame:
    """First and last contact per person; involvement ends 6 months after the last."""
    df = pd.DataFrame({"pid": pid, "when": np.asarray(when, dtype="datetime64[D]")})
    g = df.groupby("pid")["when"].agg(["min", "max"]).reset_index()
    last = g["max"].to_numpy(dtype="datetime64[D]")
    end = last + 182
    return pd.DataFrame(
        {
            "pid": g["pid"].to_numpy(),
            "start": g["min"].to_numpy(dtype="datetime64[D]"),
            "last": last,
            "end": np.where(end < asof, end, NAT),
        }
    )
