"""The synthetic district generator: a Bradford-like district and its Families First programme,
written as the extracts a council would receive, with the dirt real extracts carry, and a
`_truth/` folder saying who is really who.

    python -m loaders.synthetic --households 10000 --seed 2016 --out data/synthetic
    python -m loaders.synthetic --households 2000 --without dwp_spells,health_events --out DIR

The same seed and size give byte-identical files. How the district is made, and every kind of
dirt with its rate, is described in loaders/synthetic/SYNTHETIC.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from loaders.contracts import BY_SOURCE, CONTRACTS
from loaders.synthetic import unknown_dirt
from loaders.synthetic.common import CURRENT_AS_OF, NAT, PROGRAMME_END, PROGRAMME_START, day
from loaders.synthetic.dirt import (
    DUPLICATE_ROW_SOURCES,
    ROW_RATES,
    SOURCE_RATES,
    add_duplicate_rows,
    add_violations,
    excel_plain_dates,
    finish_records,
)
from loaders.synthetic.ehm import early_help, service_involvement
from loaders.synthetic.geography import WARDS
from loaders.synthetic.identity_dirt import name_after_parent
from loaders.synthetic.population import PROBLEMS, Population, build_population
from loaders.synthetic.programme import Programme, build_programme
from loaders.synthetic.sources import (
    SourceResult,
    csc_episodes,
    dwp_spells,
    health_events,
    housing_tenancies,
    members,
    police_incidents,
    school_census,
)
from loaders.synthetic.write import Col, Table, write_table

GENERATOR_VERSION = 1
# Optional sources the district does not include (a council that has them sends its own files);
# every other contract gets its file.
NOT_GENERATED = frozenset({"family_context_csc", "family_context_education"})
GENERATED = tuple(c for c in CONTRACTS if c.source not in NOT_GENERATED)
# Sources `--without` may leave out, as a council without them would: every generated source but
# the reference files every model needs.
MAY_LEAVE_OUT = tuple(
    c.source for c in GENERATED if not (c.subfolder == "reference" and not c.optional)
)
BRADFORD_TARGET = 5990  # families to attach by March 2020 (DOMAIN.md)
BRADFORD_HOUSEHOLDS = 70_000
DIRT_COLUMNS = [
    "source",
    "source_person_id",
    "row_key",
    "dirt_kind",
    "field",
    "true_value",
    "recorded_value",
    "detail",
]

Progress = Callable[[float, str], None]


def generate(
    households: int = 10_000,
    seed: int = 2016,
    out_dir: Path = Path("data/synthetic"),
    progress: Progress | None = None,
    without: Sequence[str] = (),
) -> dict:
    """Write a synthetic district's extracts, reference files and truth into out_dir.

    `without`: sources (MAY_LEAVE_OUT) whose files are not written, as for a council that has no
    such extract; extracts.yaml declares them `available: false`. The district itself (and its
    truth) is the same, so a build with and without them can be compared.

    Returns a summary: rows written per file and the seconds taken.
    """
    if households < 50:
        raise ValueError("households must be at least 50")
    unknown = sorted(set(without) - set(MAY_LEAVE_OUT))
    if unknown:
        raise ValueError(
            f"cannot leave out {', '.join(unknown)}: choose among {', '.join(MAY_LEAVE_OUT)}"
        )
    started = time.perf_counter()
    say = progress or (lambda fraction, message: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # One independent stream per stage, so changing one stage leaves the others' draws alone.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(16)]

    say(0.0, "Drawing the district's families and where they live")
    pop = build_population(streams[0], households)
    name_after_parent(streams[15], pop.persons)
    say(0.08, "Running the programme: referrals, allocation queues and key work")
    prog = build_programme(streams[1], pop)
    mem = members(pop)

    results: dict[str, SourceResult] = {}
    dates: dict[str, np.ndarray] = {}
    say(0.12, "School census: attendance term by term")
    results["school_census"] = school_census(streams[2], pop, prog)
    dates["school_census"] = results["school_census"].table.cols["census_date"].row_values()
    say(0.35, "Police incidents")
    results["police_incidents"] = police_incidents(streams[3], pop, mem)
    dates["police_incidents"] = (
        results["police_incidents"].table.cols["incident_datetime"].row_values()
    ).astype("datetime64[D]")
    say(0.40, "DWP benefit and employment spells")
    results["dwp_spells"] = dwp_spells(streams[4], pop, mem)
    dates["dwp_spells"] = results["dwp_spells"].table.cols["start_date"].row_values()
    say(0.44, "Housing tenancies")
    results["housing_tenancies"] = housing_tenancies(streams[5], pop, mem)
    dates["housing_tenancies"] = (
        results["housing_tenancies"].table.cols["tenancy_start"].row_values()
    )
    say(0.48, "Health events")
    results["health_events"] = health_events(streams[6], pop, mem)
    dates["health_events"] = results["health_events"].table.cols["event_date"].row_values()
    say(0.54, "Children's social care episodes")
    results["csc_episodes"] = csc_episodes(streams[7], pop, mem, prog)
    dates["csc_episodes"] = results["csc_episodes"].table.cols["start_date"].row_values()
    say(0.57, "Early help case records")
    eh = early_help(streams[8], pop, prog)
    results["ehm_people"] = eh.people
    dates["ehm_people"] = eh.people.row_when
    say(0.60, "Service involvement for Family Context")
    extra = _other_services(streams[9], pop, results)
    si, si_dirt, si_registries = service_involvement(streams[10], pop, prog, results, dates, extra)
    # Stand-ins for "not known" (written into the tables after the row-level dirt below).
    stand_ins, si_stand_ins = unknown_dirt.draw_all(
        streams[12], pop.persons, results, si, si_registries
    )

    # Dirt records for every registration-level habit, and the rates they came out at.
    say(0.64, "Recording the dirt applied")
    dirt_frames: list[pd.DataFrame] = [si_dirt, si_stand_ins]
    rate_rows: list[tuple] = []
    for source, res in results.items():
        frame, counts = finish_records(res.registry, res.records)
        dirt_frames.append(frame)
        for kind, (eligible, applied) in counts.items():
            rate_rows.append((source, kind, eligible, applied, SOURCE_RATES[source].get(kind, 0.0)))
    for reg in si_registries.values():
        if reg.source == "service_involvement":
            _, counts = finish_records(reg)
            for kind, (eligible, applied) in counts.items():
                rate_rows.append(
                    ("service_involvement", kind, eligible, applied,
                     SOURCE_RATES["service_involvement"].get(kind, 0.0))
                )  # fmt: skip

    tables: dict[str, Table] = {s: r.table for s, r in results.items()}
    tables["ehm_relationships"] = eh.relationships
    tables["ehm_referrals"] = eh.referrals
    tables["ehm_episodes"] = eh.episodes
    tables["service_involvement"] = si.table

    # Row-level dirt: exact repeats, rows that break the contract, plain Excel serial dates.
    row_dirt: list[tuple] = []
    row_rng = streams[11]
    for source in sorted(tables):
        table = tables[source]
        if source in DUPLICATE_ROW_SOURCES:
            row_dirt += add_duplicate_rows(row_rng, table, ROW_RATES["duplicate_row"])
        row_dirt += add_violations(row_rng, table, ROW_RATES["contract_violation"])
        if source == "housing_tenancies":
            row_dirt += excel_plain_dates(row_rng, table, ROW_RATES["excel_serial_date"])
            cells = sum(
                int((~table.cols[c.field].row_blank()).sum())
                for c in table.contract.columns
                if c.type == "date"
            )
            applied = sum(1 for r in row_dirt if r[3] == "excel_serial_date")
            rate_rows.append(
                (source, "excel_serial_date", cells, applied, ROW_RATES["excel_serial_date"])
            )
        for kind in ("duplicate_row", "contract_violation"):
            if kind == "duplicate_row" and source not in DUPLICATE_ROW_SOURCES:
                continue
            applied = sum(1 for r in row_dirt if r[0] == source and r[3] == kind)
            rate_rows.append((source, kind, table.n, applied, ROW_RATES[kind]))
    missing_rows, n_referrals = eh.referrals_missing
    row_dirt += missing_rows
    rate_rows.append(("ehm_referrals", "person_id_missing", n_referrals, len(missing_rows),
                      ROW_RATES["person_id_missing"]))  # fmt: skip
    dirt_frames.append(pd.DataFrame(row_dirt, columns=DIRT_COLUMNS))
    unknown_dirt.write_all(stand_ins, results, si, si_registries)
    for source, date_format in unknown_dirt.MONTH_FIRST.items():
        tables[source].date_format = date_format

    tables.update(_reference_tables(pop, households))

    say(0.68, "Writing the extract files")
    rows_written: dict[str, int] = {}
    share = 0.26 / len(GENERATED)
    done = 0.68
    for contract in GENERATED:
        if contract.source in without:
            continue
        table = tables[contract.source]
        path = write_table(table, out_dir)
        rows_written[str(path.relative_to(out_dir))] = table.rows_out
        done += share
        say(done, f"Wrote {path.name} ({table.rows_out:,} rows)")

    _write_extracts_manifest(out_dir, GENERATED, without)

    say(0.95, "Writing the truth files")
    truth = out_dir / "_truth"
    truth.mkdir(exist_ok=True)
    _write_truth(truth, pop, prog, results, si, dirt_frames, rate_rows, households, seed)

    seconds = round(time.perf_counter() - started, 2)
    say(1.0, f"Synthetic district ready: {households:,} households in {seconds}s")
    return {
        "households": households,
        "seed": seed,
        "out_dir": str(out_dir),
        "rows": rows_written,
        "total_rows": int(sum(rows_written.values())),
        "seconds": seconds,
    }


def _other_services(rng: np.random.Generator, pop: Population, results) -> dict[str, pd.DataFrame]:
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
    hv = np.flatnonzero((role == "child") & (dob >= day("2013-04-01")))
    asof = CURRENT_AS_OF["health_events"]
    start = dob[hv] + 10
    out["Health Visitor"] = frame(
        hv,
        start,
        np.minimum(start + rng.integers(30, 900, len(hv)), asof),
        ended(dob[hv] + 1826, asof),
    )
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


# --- extracts.yaml: when each extract was taken ------------------------------------------------

MANIFEST_COMMENT = """\
When each extract was taken: the day its data is current to (loaders/extract_manifest.py).
Written by the synthetic generator from loaders/synthetic/common.py CURRENT_AS_OF."""


def current_to(source: str) -> np.datetime64 | None:
    """The day the generator's extract of `source` is current to; None for reference files."""
    if source.startswith("ehm_"):
        return CURRENT_AS_OF["ehm"]
    if source == "service_involvement":  # partner systems, each current to its own day
        return max(CURRENT_AS_OF.values())
    return CURRENT_AS_OF.get(source)


def _write_extracts_manifest(out_dir: Path, contracts, without: Sequence[str] = ()) -> Path:
    """extracts.yaml: per source, the day it is current to, its system and its coverage; each
    source left out declared `available: false`."""
    lines = [f"# {line}" for line in MANIFEST_COMMENT.splitlines()]
    for contract in contracts:
        if contract.source in without:
            lines += [f"{contract.source}:", "  available: false"]
            continue
        when = current_to(contract.source)
        if when is None or not contract.currency_fields:
            continue
        lines += [
            f"{contract.source}:",
            f"  current_to: {when}",
            f"  system: {json.dumps(contract.system)}",
            '  coverage: "Synthetic district (generated), every family in it"',
        ]
    path = out_dir / "extracts.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- reference files ------------------------------------------------------------------------------


def _reference_tables(pop: Population, households: int) -> dict[str, Table]:
    wards = Table(
        BY_SOURCE["ref_wards"],
        {
            "ward_code": _text([w.code for w in WARDS]),
            "ward_name": _text([w.name for w in WARDS]),
            "area_committee": _text([w.area_committee for w in WARDS]),
            "cluster": _text([w.cluster for w in WARDS]),
            "population": Col(np.array([w.population for w in WARDS], dtype=np.int64)),
            "population_0_15": Col(np.array([w.population_0_15 for w in WARDS], dtype=np.int64)),
            "lat": _text([f"{w.lat:.4f}" for w in WARDS]),
            "lon": _text([f"{w.lon:.4f}" for w in WARDS]),
        },
    )
    pcs = pop.postcodes.sort_values("postcode", kind="stable")
    codes = np.array([w.code for w in WARDS], dtype=object)
    postcodes = Table(
        BY_SOURCE["ref_postcode_ward"],
        {
            "postcode": _text(pcs["postcode"]),
            "ward_code": Col(codes[pcs["ward"].to_numpy()]),
            "lat": _text([f"{x:.5f}" for x in pcs["lat"]]),
            "lon": _text([f"{x:.5f}" for x in pcs["lon"]]),
        },
    )
    target = round(BRADFORD_TARGET * households / BRADFORD_HOUSEHOLDS)
    programme = Table(
        BY_SOURCE["ref_programme"],
        {
            "programme_name": _text(["Families First (synthetic)"]),
            "start_date": Col(np.array([PROGRAMME_START])),
            "end_date": Col(np.array([PROGRAMME_END])),
            "target_families": Col(np.array([max(target, 1)], dtype=np.int64)),
        },
    )
    return {"ref_wards": wards, "ref_postcode_ward": postcodes, "ref_programme": programme}


def _text(values) -> Col:
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return Col(arr)


# --- truth ----------------------------------------------------------------------------------------


def _write_truth(
    folder: Path,
    pop: Population,
    prog: Programme,
    results: dict[str, SourceResult],
    si: SourceResult,
    dirt_frames: list[pd.DataFrame],
    rate_rows: list[tuple],
    households: int,
    seed: int,
) -> None:
    p, hh = pop.persons, pop.households
    fam_id = hh["family_id"].to_numpy()
    persons = pd.DataFrame(
        {
            "true_person_id": p["person_id"],
            "true_family_id": fam_id[p["hh"].to_numpy()],
            "first_name": p["first_name"],
            "last_name": p["last_name"],
            "previous_last_name": p["previous_last_name"],
            "dob": _iso(p["dob"].to_numpy()),
            "sex": p["sex"],
            "role": np.where(p["role"] == "child", "child", "adult"),
            "household_role": p["role"],
            "ethnicity": p["ethnicity"],
            "is_twin": np.where(p["is_twin"], "Y", "N"),
        }
    )
    _csv(persons, folder / "persons.csv")

    pcs = pop.postcodes
    codes = np.array([w.code for w in WARDS], dtype=object)
    pc0 = hh["pc0"].to_numpy()
    pc1 = hh["pc1"].to_numpy()
    moved = pc1 >= 0
    yn = lambda a: np.where(a, "Y", "N")  # noqa: E731
    fam = {
        "true_family_id": fam_id,
        "ward_code": codes[hh["ward"].to_numpy()],
        "cluster": hh["cluster"],
        "postcode": pcs["postcode"].to_numpy()[pc0],
        "address_line_1": _line1(pcs, pc0, hh["number0"].to_numpy(), hh["flat0"].to_numpy()),
        "moved_within_district": _iso(hh["move_date"].to_numpy()),
        "new_ward_code": np.where(moved, codes[np.maximum(hh["ward1"].to_numpy(), 0)], ""),
        "new_postcode": np.where(moved, pcs["postcode"].to_numpy()[np.maximum(pc1, 0)], ""),
        "new_address_line_1": np.where(
            moved,
            _line1(pcs, np.maximum(pc1, 0), hh["number1"].to_numpy(), hh["flat1"].to_numpy()),
            "",
        ),
        "moved_out": _iso(hh["moved_out_date"].to_numpy()),
        "eligible": yn(hh["eligible"].to_numpy()),
        "n_problems": hh["n_problems"],
    }
    for k in PROBLEMS:
        fam[f"problem_{k}"] = yn(hh[f"p_{k}"].to_numpy())
    fam["referred"] = yn(hh["referred"].to_numpy())
    fam["first_referral"] = _iso(hh["first_referral"].to_numpy(dtype="datetime64[D]"))
    fam["attached"] = _iso(hh["attached_date"].to_numpy())
    for k in PROBLEMS:
        fam[f"improved_{k}"] = yn(hh[f"{k}_success"].to_numpy())
    # The progress mechanism's inputs (SYNTHETIC.md, "How families progress"), for checking a
    # ranking against what the generator knew: blank for families not attached.
    attached = ~np.isnat(hh["attached_date"].to_numpy().astype("datetime64[D]"))
    fam["severity"] = hh["severity"].round(3)
    fam["allocation_wait_days"] = np.where(attached, hh["allocation_wait_days"], "")
    fam["school_trend"] = np.where(attached & hh["p_school"].to_numpy(), hh["school_trend"], "")
    fam["progress_logit"] = np.where(attached, hh["progress_logit"].round(3).astype(str), "")
    _csv(pd.DataFrame(fam), folder / "families.csv")

    # Every id that appears in a person-bearing extract, and the true person behind it.
    frames = []
    for source, res in results.items():
        regs = res.registry.regs
        used = np.flatnonzero(res.registry.used)
        pid = regs["pid"].to_numpy()[used]
        frames.append(
            pd.DataFrame(
                {
                    "source": source,
                    "source_person_id": regs["spid"].to_numpy()[used],
                    "true_person_id": p["person_id"].to_numpy()[pid],
                    "true_family_id": fam_id[p["hh"].to_numpy()[pid]],
                }
            )
        )
    cms = si.table.cols["cms_id"].row_values()
    si_frame = pd.DataFrame(
        {
            "source": "service_involvement",
            "source_person_id": cms,
            "true_person_id": p["person_id"].to_numpy()[si.pids],
            "true_family_id": fam_id[p["hh"].to_numpy()[si.pids]],
        }
    ).drop_duplicates("source_person_id")
    frames.append(si_frame)
    sp = pd.concat(frames, ignore_index=True)
    _csv(sp, folder / "source_persons.csv")

    dirt = pd.concat([f for f in dirt_frames if len(f)], ignore_index=True)[DIRT_COLUMNS]
    _csv(dirt, folder / "dirt.csv")
    rates = pd.DataFrame(
        rate_rows, columns=["source", "dirt_kind", "eligible", "applied", "target_rate"]
    )
    rates = rates.groupby(["source", "dirt_kind"], sort=True, as_index=False).agg(
        eligible=("eligible", "sum"), applied=("applied", "sum"), target_rate=("target_rate", "max")
    )
    rates["rate"] = (rates["applied"] / rates["eligible"].where(rates["eligible"] > 0)).round(5)
    _csv(rates, folder / "dirt_rates.csv")
    meta = {
        "generator": "loaders.synthetic",
        "version": GENERATOR_VERSION,
        "households": households,
        "seed": seed,
        "extract_date": str(CURRENT_AS_OF["ehm"]),
        "referrals": int(len(prog.referrals)),
        "episodes": int(len(prog.episodes)),
    }
    (folder / "generator.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _line1(pcs: pd.DataFrame, pc: np.ndarray, number: np.ndarray, flat: np.ndarray) -> np.ndarray:
    street = pcs["street"].to_numpy()[pc].astype(object)
    num = pd.Series(number).astype(str)
    base = (num + " " + pd.Series(street)).to_numpy(dtype=object)
    with_flat = ("Flat " + pd.Series(flat).astype(str) + ", " + pd.Series(base)).to_numpy(
        dtype=object
    )
    return np.where(flat > 0, with_flat, base)


def _iso(dates: np.ndarray) -> np.ndarray:
    d = np.asarray(dates, dtype="datetime64[D]")
    return np.where(np.isnat(d), "", d.astype(str))


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n")


# --- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loaders.synthetic", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--out", type=Path, default=Path("data/synthetic"))
    parser.add_argument(
        "--without",
        default="",
        metavar="SOURCE,...",
        help="sources a council without them would not send (declared absent in extracts.yaml):"
        f" any of {', '.join(MAY_LEAVE_OUT)}",
    )
    args = parser.parse_args(argv)
    without = tuple(s.strip() for s in args.without.split(",") if s.strip())
    unknown = sorted(set(without) - set(MAY_LEAVE_OUT))
    if unknown:
        parser.error(f"--without: not a source it may leave out: {', '.join(unknown)}")

    def show(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {message}", flush=True)

    summary = generate(args.households, args.seed, args.out, progress=show, without=without)
    for name, rows in summary["rows"].items():
        print(f"{rows:>10,}  {name}")
    print(f"{summary['total_rows']:>10,}  rows in {summary['seconds']}s")
    return 0
