"""Builds the analysis model: extracts → raw tables → staging → intermediate → marts.

The model is written to a new file beside the target and moved over it only when every stage has
succeeded, so the app keeps serving the last good model while a build runs or if it fails. Every
file and folder the build creates is readable by its owner only (POSIX), since the model holds
personal data; the leftovers of a build that was killed are removed by the next one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psutil

from data_model.geography import create_boundary_tables
from data_model.linkage import create_linkage_reference_tables
from data_model.linkage.decisions import DecisionsFile
from data_model.linkage.spark import check_spark_available
from data_model.linkage.spark import linkage_engine as chosen_linkage_engine
from data_model.lookup import create_lookup_tables
from data_model.model_tests import ModelTestDefinitionError, run_tests
from data_model.plan import Plan, create_plan_tables, load_plan
from data_model.quickwins.train import RankingRun, train_ranking
from data_model.runner import create_macros, discover_models, run_models
from data_model.settings import settings
from data_model.state.decisions import read_for_build
from loaders.base import LoadResult, create_load_tables, load_all
from loaders.contracts import BY_SOURCE, CONTRACTS, Contract
from loaders.extract_manifest import declare_absent_hint
from loaders.reference.calendar import bank_holiday_rows

Progress = Callable[[float, str], None]

# Share of the progress bar each stage takes (loading dominates).
# Of the progress bar: the models end at 0.95; the lookup, data tests and ranking take the rest.
_STAGE_SHARE = {"load": 0.45, "models": 0.50}

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
    accepted: list[GateBreach] = field(default_factory=list)  # gates passed by --accept-rejects
    ranking: dict = field(default_factory=dict)  # the quick-wins ranking's run: status, version

    @property
    def source_rows(self) -> int:
        return sum(load.rows_read for load in self.loads)

    @property
    def rows_rejected(self) -> int:
        return sum(load.rows_rejected for load in self.loads)

    @property
    def values_set_aside(self) -> int:
        return sum(load.values_set_aside for load in self.loads)


class BuildCheckError(RuntimeError):
    """The built model failed a data test; the previous model is left in place."""


class BuildGateError(RuntimeError):
    """A source failed a gate (too many rows rejected, or empty when it may not be); str(error)
    is one line naming the file. The previous model is left in place."""


# --- Gates: checks on each loaded source before the model is replaced (settings.yaml gates) -----


@dataclass(frozen=True)
class GateBreach:
    """One source failing one gate. `acceptable`: --accept-rejects lets the build go on."""

    source: str
    message: str  # one line, naming the file
    acceptable: bool


def gate_settings(source: str) -> dict:
    """The gates of one source: settings.yaml's defaults, with the source's own over them."""
    gates = settings()["gates"]
    return {**gates["defaults"], **((gates.get("sources") or {}).get(source) or {})}


def _top_reasons(con: duckdb.DuckDBPyConnection, source: str, limit: int = 3) -> str:
    """The commonest reasons a source's rows were rejected, without the values they name:
    "INCIDENT_DATETIME is not a date (290), duplicate row (12), ..."."""
    rows = con.execute(
        """
        with reasons as (
            select line, reason_gist(reason, column_name) as reason
            from load_rejects where source = ?
        )
        select reason, count(distinct line) as n from reasons
        group by reason order by n desc, reason
        """,
        [source],
    ).fetchall()
    shown = [f"{reason} ({n:,})" for reason, n in rows[:limit]]
    return ", ".join(shown) + (", ..." if len(rows) > limit else "")


def _rejected_share_gate(con: duckdb.DuckDBPyConnection, load: LoadResult) -> GateBreach | None:
    limit = float(gate_settings(load.source)["max_rejected_share"])
    if load.rows_read == 0 or load.rows_rejected / load.rows_read <= limit:
        return None
    share = load.rows_rejected / load.rows_read
    return GateBreach(
        load.source,
        f"{_file_name(load)}: {load.rows_rejected:,} of {load.rows_read:,} rows rejected"
        f" ({share:.1%}, more than {limit:.0%}): {_top_reasons(con, load.source)}",
        acceptable=True,
    )


def _empty_gate(con: duckdb.DuckDBPyConnection, load: LoadResult) -> GateBreach | None:
    contract = BY_SOURCE[load.source]
    if load.rows_read > 0 or contract.optional or gate_settings(load.source)["may_be_empty"]:
        return None
    return GateBreach(
        load.source,
        f"{_file_name(load)}: no rows, only a header; {contract.title} may not be empty"
        f" (data_model/settings.yaml, gates); {declare_absent_hint(load.source)}",
        acceptable=False,
    )


def _set_aside_share_gate(con: duckdb.DuckDBPyConnection, load: LoadResult) -> GateBreach | None:
    """The column with the largest share of its loaded values set aside, when over the limit."""
    if not load.values_set_aside or not load.rows_loaded:
        return None
    limit = float(gate_settings(load.source)["max_set_aside_share"])
    worst = con.execute(
        """
        select column_name, count(distinct line) as n from load_set_aside where source = ?
        group by column_name order by n desc, column_name limit 1
        """,
        [load.source],
    ).fetchone()
    column, count = worst
    share = count / load.rows_loaded
    if share <= limit:
        return None
    reasons = con.execute(
        """
        select reason_gist(reason, column_name) as why, count(*) as n
        from load_set_aside where source = ? and column_name = ?
        group by why order by n desc, why limit 4
        """,
        [load.source, column],
    ).fetchall()
    shown = ", ".join(f"{why} ({n:,})" for why, n in reasons[:3])
    more = ", ..." if len(reasons) > 3 else ""
    return GateBreach(
        load.source,
        f"{_file_name(load)}: {column}: {count:,} of {load.rows_loaded:,} values set aside"
        f" ({share:.1%}, more than {limit:.0%}): {shown}{more}",
        acceptable=True,
    )


def _file_name(load: LoadResult) -> str:
    contract = BY_SOURCE[load.source]
    return f"{contract.subfolder}/{load.file.name}" if contract.subfolder else load.file.name


# Each gate looks at one loaded source. A new gate is a function of the same shape added here,
# with its setting in settings.yaml gates.
GATES: tuple[Callable[[duckdb.DuckDBPyConnection, LoadResult], GateBreach | None], ...] = (
    _empty_gate,
    _rejected_share_gate,
    _set_aside_share_gate,
)


def check_gates(
    con: duckdb.DuckDBPyConnection, loads: list[LoadResult], accept_rejects: bool = False
) -> list[GateBreach]:
    """Every gate on every loaded source. Raises BuildGateError with the first breach that
    cannot be accepted (all of them unless accept_rejects); returns the breaches accepted, which
    load_manifest records (accepted_over_limit)."""
    breaches = [b for load in loads for gate in GATES if (b := gate(con, load)) is not None]
    stopping = [b for b in breaches if not (accept_rejects and b.acceptable)]
    if stopping:
        more = len(stopping) - 1
        also = f" (and {more} more: see the build output)" if more else ""
        raise BuildGateError(stopping[0].message + also)
    accepted = sorted({b.source for b in breaches})
    if accepted:
        con.execute(
            "update load_manifest set accepted_over_limit = true where list_contains(?, source)",
            [accepted],
        )
    return breaches


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


@dataclass(frozen=True)
class SyntheticOrigin:
    """How the generator made the extracts of a synthetic build. The model counts as synthetic only
    when the build is told so (build_synthetic, the bench, `build --synthetic`), never because a
    folder happens to look like the generator's."""

    households: int | None = None
    seed: int | None = None

    @classmethod
    def of_folder(cls, sources_dir: Path) -> SyntheticOrigin:
        """The size and seed the generator recorded in the folder (_truth/generator.json)."""
        meta_file = Path(sources_dir) / "_truth" / "generator.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        return cls(meta.get("households"), meta.get("seed"))


class BuildFileError(RuntimeError):
    """A file the build must write cannot be written (a full disk, a read-only folder, a model file
    another program holds open); str(error) is one line naming the path and the cause. The
    previous model is untouched."""


# The causes a council's IT team can act on, as the operating system words them.
_FILE_CAUSES = ("No space left on device", "Read-only file system", "Permission denied",
                "Disk quota exceeded")  # fmt: skip


def _file_problem(error: BaseException, path: Path) -> str:
    """One line for a file the build could not use: the path and the cause, never a traceback."""
    if isinstance(error, OSError):
        return f"cannot use {error.filename or path}: {error.strerror or error}"
    text = str(error).strip()
    cause = next((c for c in _FILE_CAUSES if c in text), text.splitlines()[0] if text else "")
    return f"cannot use {path}: {cause}"


def _is_file_problem(error: BaseException) -> bool:
    """An error writing the model file (DuckDB reports a full disk at a checkpoint as fatal)."""
    if isinstance(error, OSError | duckdb.IOException):
        return True
    return isinstance(error, duckdb.FatalException) and any(c in str(error) for c in _FILE_CAUSES)


_BUILDING = re.compile(r"\.building-(\d+)(\.wal)?")


def remove_interrupted_builds(out_path: Path) -> list[Path]:
    """Remove what builds of out_path that were killed left beside it (<model>.building-<pid> and
    its .wal, personal data included). A build whose process is still running keeps its files."""
    removed = []
    for path in out_path.parent.glob(f"{out_path.name}.building-*"):
        match = _BUILDING.fullmatch(path.name[len(out_path.name) :])
        if not match:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and psutil.pid_exists(pid):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextmanager
def owner_only_files() -> Iterator[None]:
    """Files and folders created meanwhile are readable by their owner only (0600 and 0700; POSIX
    only: Windows keeps the folder's permissions)."""
    if os.name != "posix":
        yield
        return
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


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


def _write_model_info(con: duckdb.DuckDBPyConnection, synthetic: SyntheticOrigin | None) -> None:
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
            synthetic is not None,
            synthetic.households if synthetic else None,
            synthetic.seed if synthetic else None,
        ],
    )


def _train_ranking_on_own_connection(
    con: duckdb.DuckDBPyConnection, is_synthetic: bool
) -> tuple[RankingRun, float]:
    """train_ranking on a second connection to the model being built, and its seconds."""
    started = time.perf_counter()
    with con.cursor() as own:
        return train_ranking(own, is_synthetic=is_synthetic), time.perf_counter() - started


def build_model(
    sources_dir: Path,
    out_path: Path,
    progress: Progress | None = None,
    state_url: str | None = None,
    plan: str | Path | Plan | None = None,
    synthetic: SyntheticOrigin | None = None,
    accept_rejects: bool = False,
    linkage_engine: str | None = None,
) -> BuildReport:
    """Build the model from the extracts in sources_dir and atomically replace out_path.

    Analysts' clerical linkage decisions are read from the application-state database: `state_url`
    when given, else app_state.sqlite beside the model (data_model.state); the build never writes
    it. An un-imported linkage_decisions.csv beside the model stops the build
    (DecisionsFileError), as does a state database that cannot be read. `plan` is the outcomes
    plan: a shipped plan's name, a plan file, or a loaded Plan (default bradford_2015).

    `synthetic` says the extracts are the generator's (the model then says so on every page).

    Before anything else is built, each loaded source must pass the gates (GATES,
    settings.yaml): no more of its rows rejected than allowed, and rows in it unless it may be
    empty. `accept_rejects` builds past the rejected-share limit; load_manifest records it.

    `linkage_engine` makes and scores the candidate pairs on "duckdb" or "spark" (by default
    linkage.yaml's `engine`); the Spark engine's needs (pyspark, Java) are checked first.

    Raises data_model.plan.PlanError for a plan with a mistake (before anything is read),
    loaders.base.ExtractError for a missing, unreadable or malformed extract (or extracts.yaml),
    data_model.geography.BoundaryFileError for a ward boundary file that cannot be read,
    BuildGateError when a source fails a gate, BuildCheckError when a data test fails, and
    BuildFileError when a file cannot be written (full disk, read-only
    folder, model file held open), and SparkUnavailableError when the Spark engine cannot run
    here; out_path is untouched in all cases.
    """
    active_plan = plan if isinstance(plan, Plan) else load_plan(plan)
    engine = chosen_linkage_engine(linkage_engine)
    if engine == "spark":
        check_spark_available()
    sources_dir, out_path = Path(sources_dir), Path(out_path)
    decisions = read_for_build(out_path, state_url)
    with owner_only_files():
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            remove_interrupted_builds(out_path)
            building = out_path.with_name(f"{out_path.name}.building-{os.getpid()}")
            building.unlink(missing_ok=True)
            con = duckdb.connect(str(building), config={"threads": settings()["build"]["threads"]})
        except (OSError, duckdb.Error) as error:
            raise BuildFileError(_file_problem(error, out_path.parent)) from error
        report = _build_into(
            con, building, out_path, sources_dir, progress, decisions, active_plan, synthetic,
            accept_rejects, engine,
        )  # fmt: skip
        try:
            os.replace(building, out_path)
        except OSError as error:
            building.unlink(missing_ok=True)
            raise BuildFileError(
                f"cannot replace {out_path}: {error.strerror or error} (a program holding it open,"
                " such as the app on Windows, must let go; or build to a new file name)"
            ) from error
    if progress:
        progress(1.0, "Model ready")
    return report


def _build_into(
    con: duckdb.DuckDBPyConnection,
    building: Path,
    out_path: Path,
    sources_dir: Path,
    progress: Progress | None,
    decisions: DecisionsFile,
    active_plan: Plan,
    synthetic: SyntheticOrigin | None,
    accept_rejects: bool = False,
    linkage_engine: str = "duckdb",
) -> BuildReport:
    """Every stage into the new file `building` (out_path's replacement); on any failure the file
    is removed."""
    report = BuildReport(out_path=out_path, plan=active_plan.id)
    say = progress or (lambda fraction, message: None)
    done = 0.0
    try:
        started = time.perf_counter()
        say(0.0, "Loading extracts")
        create_load_tables(con)
        share = _STAGE_SHARE["load"] / len(CONTRACTS)

        def loaded(source: str, result: LoadResult | None) -> None:
            nonlocal done
            done += share
            if result is None:
                say(done, f"{source}: no extract (declared not available, or optional)")
            else:
                say(
                    done,
                    f"{source}: {result.rows_loaded:,} rows loaded, "
                    f"{result.rows_rejected:,} rejected, {result.values_set_aside:,} values set"
                    f" aside ({result.file.name})",
                )

        report.loads = load_all(con, sources_dir, progress=loaded)
        create_macros(con)  # the gates count reasons with reason_gist
        report.accepted = check_gates(con, report.loads, accept_rejects)
        for contract in CONTRACTS:
            _create_empty_raw_table(con, contract)
        report.stage_seconds["load"] = time.perf_counter() - started

        started = time.perf_counter()
        _create_reference_tables(con, active_plan)
        # Read once here, so no page view reads, reprojects or simplifies the file.
        create_boundary_tables(con, say=lambda message: say(done, message))
        create_linkage_reference_tables(con)
        create_plan_tables(con, active_plan)
        share = _STAGE_SHARE["models"] / len(discover_models())

        def model_started(model) -> None:
            nonlocal done
            done = min(done + share, _STAGE_SHARE["load"] + _STAGE_SHARE["models"])
            say(done, f"model {model.name}")

        context = {
            "decisions": decisions,
            "plan": active_plan,
            "linkage_engine": linkage_engine,
            # the model being replaced: its record key secret is kept (int_family_record_key)
            "model_path": out_path,
        }
        model_seconds: dict[str, float] = {}
        report.models = run_models(
            con,
            on_model=model_started,
            context=context,
            workers=settings()["build"]["model_workers"],
            seconds=model_seconds,
        )
        report.stage_seconds["models"] = time.perf_counter() - started
        # the seconds its models ran (side by side with others, at times)
        report.stage_seconds["plan"] = sum(
            seconds for name, seconds in model_seconds.items()
            if name.startswith(PLAN_MODEL_PREFIXES)
        )  # fmt: skip
        run = context.get("linkage_run")
        if run is not None:
            report.linkage = {**vars(run), "seconds": dict(run.seconds)}
            report.stage_seconds["linkage"] = sum(run.seconds.values())

        # The quick-wins ranking trains on a connection of its own while the contract views,
        # the model info, the lookup's search keys and the data tests are made here: it reads only
        # the marts (told whether the data are synthetic, for its model card), and its training
        # holds one core (train.py) where the steps here leave one idle; the first of them also
        # writes what the models left in the write-ahead log.
        say(0.96, "Training the quick-wins ranking; search keys for the family lookup")
        with ThreadPoolExecutor(max_workers=1) as pool:
            training = pool.submit(_train_ranking_on_own_connection, con, synthetic is not None)
            try:
                started = time.perf_counter()
                _create_contract_views(con)
                _write_model_info(con, synthetic)
                checks = time.perf_counter() - started

                # The family lookup's search keys, from the persons linkage found
                # (data_model/lookup).
                started = time.perf_counter()
                create_lookup_tables(con)
                report.stage_seconds["lookup"] = time.perf_counter() - started

                started = time.perf_counter()
                say(0.97, "Checking the model")
                _run_model_tests(con)
                report.stage_seconds["tests"] = time.perf_counter() - started
            except BaseException:
                wait([training])  # the build stops with this step's error, not the training's
                raise
            waited = time.perf_counter()
            say(0.98, "Training the quick-wins ranking")
            run, ranking_seconds = training.result()
            report.stage_seconds["ranking_wait"] = time.perf_counter() - waited
        report.ranking = {
            "status": run.status,
            "status_reason": run.status_reason,
            "model_version": run.model_version,
            "seconds": dict(run.seconds),
        }
        report.stage_seconds["ranking"] = ranking_seconds

        started = time.perf_counter()
        con.execute("checkpoint")
        report.stage_seconds["checks"] = checks + time.perf_counter() - started
    except BaseException as error:
        con.close()
        building.unlink(missing_ok=True)
        Path(f"{building}.wal").unlink(missing_ok=True)
        if _is_file_problem(error):
            raise BuildFileError(_file_problem(error, building)) from error
        raise
    con.close()
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
    return build_model(
        extracts,
        out_path,
        progress=lambda f, m: say(0.4 + 0.6 * f, m),
        synthetic=SyntheticOrigin(households, seed),
    )
