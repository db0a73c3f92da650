"""Builds the analysis model: extracts → raw tables → staging → intermediate → marts.

The model is written to a new file beside the target and moved over it only when every stage has
succeeded, so the app keeps serving the last good model while a build runs or if it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from data_model.linkage import DECISIONS_FILE_NAME, create_linkage_reference_tables
from data_model.model_tests import ModelTestDefinitionError, run_tests
from data_model.plan import Plan, create_plan_tables, load_plan
from data_model.runner import run_models
from data_model.settings import settings
from loaders.base import LoadResult, create_load_tables, load_all
from loaders.contracts import CONTRACTS, Contract
from loaders.reference.calendar import bank_holiday_rows

Progress = Callable[[float, str], None]

# Share of the progress bar each stage takes (loading dominates).
_STAGE_SHARE = {"load": 0.45, "models": 0.52, "checks": 0.03}

_DUCKDB_TYPES = {
    "text": "varchar",
    "int": "bigint",
    "decimal": "double",
    "date": "date",
    "datetime": "timestamp",
    "flag": "varchar",
}


@dataclass
class BuildReport:
    out_path: Path
    stage_seconds: dict[str, float] = field(default_factory=dict)
    loads: list[LoadResult] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    linkage: dict = field(default_factory=dict)  # person linkage counts and timings
    plan: str = ""  # the outcomes plan evaluated (its id)

    @property
    def source_rows(self) -> int:
        return sum(load.rows_read for load in self.loads)

    @property
    def rows_rejected(self) -> int:
        return sum(load.rows_rejected for load in self.loads)


class BuildCheckError(RuntimeError):
    """The built model failed a data test; the previous model is left in place."""


def _create_empty_raw_table(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """An optional source that was not sent still gets its (empty) raw table."""
    columns = ", ".join(f'"{c.field}" {_DUCKDB_TYPES[c.type]}' for c in contract.columns)
    con.execute(f'create table if not exists "raw_{contract.source}" (line bigint, {columns})')


def _create_reference_tables(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    con.execute("create table ref_bank_holidays (holiday_date date, holiday_name varchar)")
    con.executemany("insert into ref_bank_holidays values (?, ?)", bank_holiday_rows())
    # The programme's dates and target: the outcomes plan's, unless the council's
    # reference/programme.csv gives them (stg_programme).
    con.execute(
        "create table cfg_programme_default as select ? as programme_name, ?::date as start_date,"
        " ?::date as end_date, ?::bigint as target_families",
        [
            settings()["programme"]["name"],
            plan.programme_start,
            plan.programme_end,
            plan.target_families,
        ],
    )


def _synthetic_metadata(sources_dir: Path) -> dict:
    """A folder made by the generator has a _truth/ folder; its metadata says how it was made."""
    truth = sources_dir / "_truth"
    if not truth.is_dir():
        return {"is_synthetic": False}
    meta_file = truth / "generator.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
    return {"is_synthetic": True, "households": meta.get("households"), "seed": meta.get("seed")}


def _run_model_tests(con: duckdb.DuckDBPyConnection) -> None:
    """The data tests of models/**/*.yml and models/tests/*.sql; any failure stops the build."""
    try:
        failures = run_tests(con)
    except ModelTestDefinitionError as error:
        raise BuildCheckError(f"model test cannot run: {error}") from error
    if failures:
        raise BuildCheckError("model test failed: " + "; ".join(str(f) for f in failures))


# The tables other pages and issues rely on, under their contract names: linkage's and the
# outcomes plan engine's.
CONTRACT_VIEWS = {
    "person": "mart_person",
    "person_source_record": "mart_person_source_record",
    "family": "mart_family",
    "family_member": "mart_family_member",
    "linkage_review_queue": "mart_linkage_review_queue",
    "claim": "mart_claim",
}

# Models of the outcomes plan evaluation, timed together as the build's "plan" stage.
PLAN_MODEL_PREFIXES = ("int_plan_", "mart_plan", "mart_claim")


def _create_contract_views(con: duckdb.DuckDBPyConnection) -> None:
    for view, mart in CONTRACT_VIEWS.items():
        con.execute(f"create or replace view {view} as select * from {mart}")


def _write_model_info(con: duckdb.DuckDBPyConnection, sources_dir: Path) -> None:
    meta = _synthetic_metadata(sources_dir)
    con.execute(
        """
        create table mart_model_info as
        select
            ?::timestamp as built_at,
            ?::boolean as is_synthetic,
            ?::bigint as households,
            ?::bigint as seed,
            (select as_at_date from int_as_at_date) as as_at_date
        """,
        [
            datetime.now(UTC).replace(tzinfo=None),
            meta["is_synthetic"],
            meta.get("households"),
            meta.get("seed"),
        ],
    )


def build_model(
    sources_dir: Path,
    out_path: Path,
    progress: Progress | None = None,
    decisions_path: Path | None = None,
    plan: str | Path | Plan | None = None,
) -> BuildReport:
    """Build the model from the extracts in sources_dir and atomically replace out_path.

    Analysts' clerical linkage decisions are read from decisions_path (by default
    linkage_decisions.csv beside the model), which the build never writes. `plan` is the outcomes
    plan: a shipped plan's name, a plan file, or a loaded Plan (default bradford_2015).

    Raises data_model.plan.PlanError for a plan with a mistake (before anything is read),
    loaders.base.ExtractError for a missing, unreadable or malformed extract, and
    BuildCheckError when a data test fails; out_path is untouched in all cases.
    """
    active_plan = plan if isinstance(plan, Plan) else load_plan(plan)
    sources_dir, out_path = Path(sources_dir), Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    building = out_path.with_name(f"{out_path.name}.building-{os.getpid()}")
    building.unlink(missing_ok=True)
    report = BuildReport(out_path=out_path, plan=active_plan.id)
    say = progress or (lambda fraction, message: None)
    done = 0.0

    con = duckdb.connect(str(building), config={"threads": settings()["build"]["threads"]})
    try:
        started = time.perf_counter()
        say(0.0, "Loading extracts")
        create_load_tables(con)
        share = _STAGE_SHARE["load"] / len(CONTRACTS)

        def loaded(source: str, result: LoadResult | None) -> None:
            nonlocal done
            done += share
            if result is None:
                say(done, f"{source}: not supplied (optional)")
            else:
                say(
                    done,
                    f"{source}: {result.rows_loaded:,} rows loaded, "
                    f"{result.rows_rejected:,} rejected ({result.file.name})",
                )

        report.loads = load_all(con, sources_dir, progress=loaded)
        for contract in CONTRACTS:
            _create_empty_raw_table(con, contract)
        report.stage_seconds["load"] = time.perf_counter() - started

        started = time.perf_counter()
        _create_reference_tables(con, active_plan)
        create_linkage_reference_tables(con)
        create_plan_tables(con, active_plan)
        share = _STAGE_SHARE["models"] / 60
        model_starts: list[tuple[str, float]] = []

        def model_started(model) -> None:
            nonlocal done
            model_starts.append((model.name, time.perf_counter()))
            done = min(done + share, _STAGE_SHARE["load"] + _STAGE_SHARE["models"])
            say(done, f"model {model.name}")

        context = {
            "decisions_path": decisions_path or out_path.with_name(DECISIONS_FILE_NAME),
            "plan": active_plan,
        }
        report.models = run_models(con, on_model=model_started, context=context)
        report.stage_seconds["models"] = time.perf_counter() - started
        ends = [at for _, at in model_starts[1:]] + [time.perf_counter()]
        report.stage_seconds["plan"] = sum(
            end - begun
            for (name, begun), end in zip(model_starts, ends, strict=True)
            if name.startswith(PLAN_MODEL_PREFIXES)
        )
        run = context.get("linkage_run")
        if run is not None:
            report.linkage = {**vars(run), "seconds": dict(run.seconds)}
            report.stage_seconds["linkage"] = sum(run.seconds.values())

        started = time.perf_counter()
        say(0.97, "Checking the model")
        _run_model_tests(con)
        report.stage_seconds["tests"] = time.perf_counter() - started

        started = time.perf_counter()
        _create_contract_views(con)
        _write_model_info(con, sources_dir)
        con.execute("checkpoint")
        report.stage_seconds["checks"] = time.perf_counter() - started
    except BaseException:
        con.close()
        building.unlink(missing_ok=True)
        Path(f"{building}.wal").unlink(missing_ok=True)
        raise
    con.close()
    os.replace(building, out_path)
    say(1.0, "Model ready")
    return report


def build_synthetic(
    out_path: Path,
    households: int = 10_000,
    seed: int = 2016,
    progress: Progress | None = None,
) -> BuildReport:
    """Generate the synthetic district beside the model, then build the model from it."""
    from loaders.synthetic.generate import generate  # the generator is only needed for demo builds

    out_path = Path(out_path)
    extracts = out_path.parent / "synthetic_extracts"
    if extracts.exists():
        shutil.rmtree(extracts)
    say = progress or (lambda fraction, message: None)
    generate(households, seed, extracts, progress=lambda f, m: say(0.4 * f, m))
    return build_model(extracts, out_path, progress=lambda f, m: say(0.4 + 0.6 * f, m))
