"""The family lookup's search measured against the generator's truth: 500 searches for random
children, each with a name one of their records holds, corrupted as a practitioner might type it,
and with the child's date of birth as typed, day and month swapped, or left out.

The same searches serve the quality test (tests/test_lookup_search.py: the right child in the
top 3, and first when a date of birth is given) and the bench (`python -m data_model bench`:
search_p50_ms and search_p95_ms). The corruptions are written here, independently of the
generator's own dirt (loaders/synthetic/*dirt*.py), and of linkage's name_variants.yaml: the
nicknames and spellings below are this file's own, so a nickname the search does not know is a
real test of its other evidence.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from data_model.lookup.settings import search_settings
from data_model.read.lookup_search import SearchQuery, search_index, search_people

CORRUPTIONS = ("typo", "nickname", "transliteration", "initial", "swapped order")
DATES_OF_BIRTH = ("as typed", "day and month swapped", "left out")
SEARCHES = 500
SEED = 14

# Short forms as people use them (either way round: a child recorded as Ollie is searched as
# Oliver too).
NICKNAMES = {
    "ABIGAIL": ["Abbie", "Abi"], "ALEXANDER": ["Alex"], "ALEXANDRA": ["Alex", "Lexi"],
    "ALFIE": ["Alf"], "AMELIA": ["Millie", "Amy"], "ANTHONY": ["Tony"], "BENJAMIN": ["Ben"],
    "CHARLES": ["Charlie"], "CHARLOTTE": ["Lottie", "Charlie"], "CHRISTOPHER": ["Chris"],
    "DANIEL": ["Danny", "Dan"], "EDWARD": ["Eddie", "Ted"], "ELEANOR": ["Ellie"],
    "ELIZABETH": ["Lizzie", "Beth"], "EVELYN": ["Evie"], "FREDDIE": ["Fred"],
    "FREDERICK": ["Freddie"], "GABRIEL": ["Gabe"], "HARRISON": ["Harry"], "HENRY": ["Harry"],
    "ISABELLA": ["Bella", "Izzy"], "ISABELLE": ["Izzy"], "JACOB": ["Jake"],
    "JAMES": ["Jamie", "Jim"], "JESSICA": ["Jess"], "JOSEPH": ["Joe"], "JOSHUA": ["Josh"],
    "KATHERINE": ["Kate", "Katie"], "LEWIS": ["Lew"], "MATILDA": ["Tilly"],
    "MATTHEW": ["Matt"], "MICHAEL": ["Mikey", "Mike"], "NATHAN": ["Nate"],
    "NICHOLAS": ["Nick"], "OLIVER": ["Ollie"], "OLIVIA": ["Liv", "Livvy"],
    "REBECCA": ["Becky"], "RICHARD": ["Rich"], "ROBERT": ["Rob", "Bobby"],
    "SAMANTHA": ["Sam"], "SAMUEL": ["Sam", "Sammy"], "SEBASTIAN": ["Seb"],
    "SOPHIA": ["Sophie"], "THEODORE": ["Theo"], "THOMAS": ["Tom", "Tommy"],
    "WILLIAM": ["Will", "Billy"], "ZACHARY": ["Zac", "Zach"],
    "KATARZYNA": ["Kasia"], "MALGORZATA": ["Gosia"], "WOJCIECH": ["Wojtek"],
    "TOMASZ": ["Tomek"], "ALEKSANDRA": ["Ola"], "JAKUB": ["Kuba"],
    "MUHAMMAD": ["Mo"], "MOHAMMED": ["Mo"], "IBRAHIM": ["Ibby"], "ABDULLAH": ["Abdul"],
}  # fmt: skip

# Names as they are written in English letters in different ways.
SPELLINGS = [
    ["Mohammed", "Muhammad", "Mohamed", "Mohammad", "Mohd"], ["Ahmed", "Ahmad"],
    ["Hussain", "Hussein", "Husain"], ["Chaudhry", "Chowdhury", "Choudhary"],
    ["Rahman", "Rehman"], ["Mahmood", "Mehmood", "Mahmud"], ["Aisha", "Ayesha", "Aysha"],
    ["Fatima", "Fatimah"], ["Yusuf", "Yousuf", "Yousaf"], ["Khadija", "Khadijah"],
    ["Zainab", "Zaynab"], ["Maryam", "Mariam"], ["Ibrahim", "Ebrahim"], ["Qureshi", "Kureshi"],
    ["Siddiqui", "Siddiqi"], ["Akhtar", "Akhter"], ["Begum", "Begam"], ["Kaur", "Kour"],
    ["Iqbal", "Ikbal"], ["Hamza", "Hamzah"], ["Zara", "Zahra"], ["Amina", "Aminah"],
    ["Yasmin", "Yasmeen"], ["Nasreen", "Nasrin"], ["Imran", "Emran"], ["Bilal", "Bilaal"],
    ["Zain", "Zayn"], ["Aleksander", "Alexander"], ["Katarzyna", "Katazyna"],
]  # fmt: skip
# Otherwise a sound written another way, the first that applies.
SPELLING_RULES = [
    ("EE", "I"), ("OO", "U"), ("PH", "F"), ("Q", "K"), ("IE", "Y"), ("Y", "I"), ("OU", "U"),
    ("W", "V"), ("AA", "A"), ("CK", "K"), ("SZ", "SH"), ("CZ", "CH"), ("KH", "K"),
]  # fmt: skip
_KEYBOARD = ["QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"]


@dataclass(frozen=True)
class Probe:
    """One search for one child, and the persons that are that child (linkage may have split a
    child in two: finding either half finds the child)."""

    query: SearchQuery
    true_person_id: str
    person_keys: frozenset[str]
    corruption: str
    date_of_birth: str
    recorded_name: str


def _cased(text: str) -> str:
    return text[:1].upper() + text[1:].lower()


def _neighbour(letter: str, rng: random.Random) -> str:
    for row in _KEYBOARD:
        at = row.find(letter.upper())
        if at >= 0:
            near = [row[i] for i in (at - 1, at + 1) if 0 <= i < len(row)]
            return rng.choice(near).lower()
    return letter


def typo(name: str, rng: random.Random) -> str:
    """One slip of the keyboard after the first letter: a neighbouring key, a letter left out,
    two letters swapped or one doubled."""
    at = rng.randrange(1, len(name))
    slip = rng.choice(("neighbour", "left out", "swapped", "doubled"))
    if slip == "neighbour":
        return name[:at] + _neighbour(name[at], rng) + name[at + 1 :]
    if slip == "left out" and len(name) > 3:
        return name[:at] + name[at + 1 :]
    if slip == "swapped" and at + 1 < len(name) and name[at] != name[at + 1]:
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    return name[:at] + name[at] + name[at:]


def nickname(first: str, rng: random.Random) -> str | None:
    word = first.split()[0].upper() if first.split() else ""
    if word in NICKNAMES:
        return rng.choice(NICKNAMES[word])
    fuller = [full for full, shorts in NICKNAMES.items() if word in (s.upper() for s in shorts)]
    return _cased(rng.choice(sorted(fuller))) if fuller else None


def respelt(name: str, rng: random.Random) -> str | None:
    """The name written another way in English letters, or None when no way is known."""
    for spellings in SPELLINGS:
        upper = [s.upper() for s in spellings]
        if name.upper() in upper:
            return rng.choice([s for s in spellings if s.upper() != name.upper()])
    for sound, written in SPELLING_RULES:
        if sound in name.upper()[1:]:
            at = name.upper().index(sound, 1)
            return _cased(name.upper()[:at] + written + name.upper()[at + len(sound) :])
    return None


def corrupt(first: str, last: str, kind: str, rng: random.Random) -> str | None:
    """The name as typed with one corruption of `kind`; None when it does not apply."""
    given = first.split()[0]
    if kind == "typo":
        if rng.random() < 0.5 and len(last) >= 3:
            return f"{first} {typo(last, rng)}"
        return f"{typo(given, rng)} {last}" if len(given) >= 3 else None
    if kind == "nickname":
        short = nickname(first, rng)
        return f"{short} {last}" if short else None
    if kind == "transliteration":
        other_given, other_last = respelt(given, rng), respelt(last, rng)
        if other_given and (other_last is None or rng.random() < 0.5):
            return f"{other_given} {last}"
        return f"{first} {other_last}" if other_last else None
    if kind == "initial":
        return f"{given[0]} {last}"
    if kind == "swapped order":
        return f"{last} {first}"
    raise ValueError(kind)


def typed_dob(dob: date, how: str) -> date | None:
    """The date of birth as typed; None when left out or when day and month cannot be swapped."""
    if how == "left out":
        return None
    if how == "day and month swapped":
        if dob.day > 12 or dob.day == dob.month:
            return None
        return date(dob.year, dob.day, dob.month)
    return dob


def children_and_names(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> pd.DataFrame:
    """Each child of the truth with its date of birth, each name its records hold, and the
    persons holding its records."""
    truth = Path(truth_dir)
    persons = pd.read_csv(truth / "persons.csv", dtype=str, keep_default_na=False)
    records = pd.read_csv(truth / "source_persons.csv", dtype=str, keep_default_na=False)
    children = persons.loc[persons["role"] == "child", ["true_person_id", "dob"]]
    con.register("probe_truth_records", records)
    con.register("probe_children", children)
    try:
        found = con.execute(
            """
            with recorded as (
                -- a truth record names the person's id in its source, the row's id, or (service
                -- involvement) the Cms Id of <system>:<Cms Id>
                select record.source, record.source_person_id as item, record.first_name,
                       record.last_name, record.source_record_id
                from int_person_record as record
                union all
                select source, source_record_id, first_name, last_name, source_record_id
                from int_person_record
                union all
                select source, substr(source_person_id, strpos(source_person_id, ':') + 1),
                       first_name, last_name, source_record_id
                from int_person_record where source = 'service_involvement'
            ),
            found as (
                select children.true_person_id, children.dob, recorded.first_name,
                       recorded.last_name, link.person_key
                from probe_children as children
                inner join probe_truth_records as truth using (true_person_id)
                inner join recorded
                    on recorded.source = truth.source and recorded.item = truth.source_person_id
                inner join mart_person_source_record as link
                    on link.source = recorded.source
                    and link.source_record_id = recorded.source_record_id
            )
            select true_person_id, cast(dob as date) as dob,
                   list(distinct person_key order by person_key) as person_keys,
                   list(distinct [first_name, last_name] order by [first_name, last_name])
                       filter (where first_name is not null and last_name is not null) as names
            from found
            group by true_person_id, dob
            order by true_person_id
            """
        ).df()
    finally:
        con.unregister("probe_truth_records")
        con.unregister("probe_children")
    found["dob"] = [None if pd.isna(d) else pd.Timestamp(d).date() for d in found["dob"]]
    return found


def make_probes(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, count: int = SEARCHES, seed: int = SEED
) -> list[Probe]:
    """`count` searches for distinct random children, the corruptions and dates of birth in
    turn (each combination as often as the others), each child taken for the first combination
    that applies to it."""
    rng = random.Random(seed)
    children = children_and_names(con, truth_dir)
    children = children[children["names"].map(lambda names: names is not None and len(names) > 0)]
    pool = list(children.itertuples(index=False))
    rng.shuffle(pool)
    probes: list[Probe] = []
    for turn in range(count):
        kind = CORRUPTIONS[turn % len(CORRUPTIONS)]
        dob_how = DATES_OF_BIRTH[(turn // len(CORRUPTIONS)) % len(DATES_OF_BIRTH)]
        for at, child in enumerate(pool):
            names = sorted(tuple(name) for name in child.names)
            first, last = rng.choice(names)
            typed = corrupt(first, last, kind, rng)
            dob = typed_dob(child.dob, dob_how)
            # a corruption that leaves the name as recorded (an initial of "J Smith", a typo
            # swapping two like letters) did not apply
            unchanged = typed is not None and typed.lower() == f"{first} {last}".lower()
            if typed is None or unchanged or (dob is None and dob_how != "left out"):
                continue
            probes.append(
                Probe(
                    query=SearchQuery(name=typed, dob=dob),
                    true_person_id=child.true_person_id,
                    person_keys=frozenset(child.person_keys),
                    corruption=kind,
                    date_of_birth=dob_how,
                    recorded_name=f"{first} {last}",
                )
            )
            del pool[at]
            break
        else:
            raise ValueError(f"no child left for a {kind} search (date of birth {dob_how})")
    return probes


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    rank: int | None  # 1 for first; None when not in the results
    better: int | None  # persons scored strictly higher (others as good share its place)
    seconds: float


def run_probes(con: duckdb.DuckDBPyConnection, probes: list[Probe]) -> list[ProbeResult]:
    """Each search timed (the keys already in memory: the first search of a model loads them)."""
    search_index(con)
    results = []
    for probe in probes:
        started = time.perf_counter()
        hits = search_people(con, probe.query)
        seconds = time.perf_counter() - started
        rank = next((i + 1 for i, h in enumerate(hits) if h.person_key in probe.person_keys), None)
        better = None
        if rank is not None:
            shown = round(hits[rank - 1].score, search_settings()["score_decimals"])
            better = sum(round(h.score, search_settings()["score_decimals"]) > shown for h in hits)
        results.append(ProbeResult(probe, rank, better, seconds))
    return results


def _share(results: list[ProbeResult], within: int) -> float:
    return sum(r.rank is not None and r.rank <= within for r in results) / max(len(results), 1)


def summarise(results: list[ProbeResult]) -> dict:
    """The shares found first, in the top 3 and in the results, overall, with and without a date
    of birth and by corruption; and the search times' median and 95th percentile."""
    with_dob = [r for r in results if r.probe.query.dob is not None]
    without = [r for r in results if r.probe.query.dob is None]
    milliseconds = sorted(r.seconds * 1000 for r in results)
    summary = {
        "searches": len(results),
        "top3": _share(results, 3),
        "with_dob_searches": len(with_dob),
        "with_dob_first": _share(with_dob, 1),
        "with_dob_top3": _share(with_dob, 3),
        "without_dob_first": _share(without, 1),
        "without_dob_top3": _share(without, 3),
        "without_dob_top20": _share(without, 20),
        # without a date of birth, namesakes as good as the child may come first (the youngest
        # first); the share with fewer than 3 persons scored strictly higher
        "without_dob_top3_among_equals": sum(r.better is not None and r.better < 3 for r in without)
        / max(len(without), 1),
        "p50_ms": statistics.median(milliseconds) if milliseconds else None,
        "p95_ms": milliseconds[int(0.95 * (len(milliseconds) - 1))] if milliseconds else None,
    }
    for kind in CORRUPTIONS:
        of_kind = [r for r in with_dob if r.probe.corruption == kind]
        summary[f"with_dob_first_{kind.replace(' ', '_')}"] = _share(of_kind, 1)
    return summary


def time_search(model: Path, truth_dir: Path) -> dict[str, float | str]:
    """For the bench: the first search's load of the keys, and the 500 searches' p50 and p95
    (milliseconds) with how often the right child came first and in the top 3. A district with
    too few children for 500 distinct searches (a few hundred households) says so instead."""
    from data_model.read import open_model

    con = open_model(model)
    try:
        try:
            probes = make_probes(con, truth_dir)
        except ValueError as too_few:
            return {"search_not_timed": str(too_few)}
        started = time.perf_counter()
        search_index(con)
        load_s = time.perf_counter() - started
        summary = summarise(run_probes(con, probes))
    finally:
        con.close()
    return {
        "search_load_s": load_s,
        "search_p50_ms": summary["p50_ms"],
        "search_p95_ms": summary["p95_ms"],
        "search_top3": summary["top3"],
        "search_with_dob_first": summary["with_dob_first"],
        "search_without_dob_top3": summary["without_dob_top3"],
    }
