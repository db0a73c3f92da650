"""Blocking and scoring candidate pairs on Spark (Splink's Spark backend), for when one machine is
not enough: a regional partnership or a national evaluation linking millions of records.

Which stages run where, with `engine: spark` in linkage.yaml or `build --linkage-engine spark`:

- DuckDB (the build's own database, as with the default engine): loading, standardising the
  records (int_linkage_record), choosing the blocking rules, and training the model (the prior,
  u by random sampling and EM, each on a sample of at most 300,000 pairs; the m floor).
- **Spark**: making the candidate pairs from the blocking rules, and scoring every one of them
  with the model trained on DuckDB (its m and u probabilities and prior copied level by level
  into the same settings written in Spark's SQL), keeping those at or above the predict
  threshold. This is the part that grows with the square of a district.
- DuckDB and Python again: the scored pairs come back as a table, and clustering with its guards,
  the review queue and families run as with the default engine.

Trained once, the same parameters score the same pairs on either engine, so the two give the same
persons and families (tests/test_spark_parity.py checks it). One difference remains: Splink's
Spark jar computes Jaro-Winkler with half the out-of-order letters unrounded where DuckDB rounds it
down, so a rare name pair takes another Jaro-Winkler level (2 of 196,934 scored pairs at 10,000
households, neither changing a person; README "Beyond one machine").

Spark runs quietly and makes no network request: by default its master is `local[2]` on this
machine, its driver listens on 127.0.0.1 only, its web UI is off, and Splink's similarity functions
come from the jar inside the splink package. Everything it writes (the records it reads, its
checkpoints, the scored pairs) is in one folder, owner-only (0700), removed when the build's
linkage ends, and its shuffle files in one folder per process, removed when the process ends; what
a killed build leaves, the next Spark build removes. pyspark is imported here only, when this
engine is used (requirements-spark.txt); Java 17 must be installed (Debian: openjdk-17-jre-
headless).
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import psutil

from data_model.linkage.settings import linkage_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_model.linkage.prediction import LinkageRun

ENGINES = ("duckdb", "spark")
# Environment variables that override linkage.yaml's `spark` settings (a cluster's address is a
# property of the machine running the build more than of the linkage).
MASTER_VARIABLE = "FFI_SPARK_MASTER"
WORK_DIR_VARIABLE = "FFI_SPARK_WORK_DIR"
_FOLDER_PREFIX = "ffi-spark-"
_FOLDER = re.compile(rf"{_FOLDER_PREFIX}(\d+)-.*")
# Spark's own logging: errors only, to stderr (a build's output is ours; no personal data).
_LOG4J = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
# pyspark's gateway counts as a shell, whose level Spark announces unless it is the root's
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
# Splink's comparisons make expressions too long for one compiled Java method (64 KB); Spark then
# runs that step uncompiled, as designed (spark.sql.codegen.fallback), after logging the failure.
logger.codegen.name = org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator
logger.codegen.level = off
"""


class SparkUnavailableError(Exception):
    """The Spark engine was asked for and cannot run here (no pyspark, no Java)."""


def linkage_engine(engine: str | None = None) -> str:
    """The engine to use: `engine` when given (the command line's), else linkage.yaml's."""
    chosen = engine or linkage_settings().get("engine", "duckdb")
    if chosen not in ENGINES:
        raise ValueError(f"unknown linkage engine {chosen!r}: choose one of {', '.join(ENGINES)}")
    return chosen


def spark_settings() -> dict[str, Any]:
    """linkage.yaml's `spark` section, with the master and work folder the environment gives."""
    spark = dict(linkage_settings()["spark"])
    spark["master"] = os.environ.get(MASTER_VARIABLE) or spark["master"]
    spark["work_dir"] = os.environ.get(WORK_DIR_VARIABLE) or spark.get("work_dir")
    return spark


def java_executable() -> str | None:
    """The java Spark would start: JAVA_HOME's, else the first on PATH (pyspark's order)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here, or None when it can."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -r requirements-spark.txt)"
    if java_executable() is None:
        return "Java is not installed (Debian: apt-get install openjdk-17-jre-headless)"
    return None


def check_spark_available() -> None:
    """Raise SparkUnavailableError, in one line, when the Spark engine cannot run here."""
    missing = spark_missing()
    if missing:
        raise SparkUnavailableError(f"the Spark linkage engine cannot run: {missing}")


def remove_leftover_folders(parent: Path) -> list[Path]:
    """Remove the work folders that Spark builds which were killed left in `parent` (records and
    scored pairs: personal data). A folder whose build is still running is kept."""
    removed = []
    for path in parent.glob(f"{_FOLDER_PREFIX}*"):
        match = _FOLDER.fullmatch(path.name)
        if not match or not path.is_dir():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or psutil.pid_exists(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def spark_local_folder(parent: Path) -> Path:
    """Spark's folder for shuffle and spill files. Spark fixes it when this process's JVM starts
    its first session and keeps it for every later one, so it is one per process, not per build:
    owner-only, emptied by Spark when a session stops, removed when the process ends (or, if the
    process is killed, by the next Spark build)."""
    folder = parent / f"{_FOLDER_PREFIX}{os.getpid()}-local"
    if not folder.exists():
        _owner_only_folder(folder)
        atexit.register(shutil.rmtree, folder, True)
    return folder


@contextmanager
def spark_work_folder(parent: str | Path | None = None) -> Iterator[Path]:
    """A new owner-only folder (0700) for everything Spark writes, removed afterwards. `parent`:
    where to make it (the system's temporary folder by default; on a cluster, a folder every
    node sees at the same path)."""
    parent = Path(parent) if parent else Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    remove_leftover_folders(parent)
    folder = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-", dir=parent))
    try:
        os.chmod(folder, 0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _sql_string(path: Path) -> str:
    """A path as an SQL string literal (DuckDB's COPY takes no parameter for it)."""
    return "'" + str(path).replace("'", "''") + "'"


def _owner_only_folder(path: Path) -> Path:
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)  # whatever the umask
    return path


def session_conf(folder: Path, spark: dict[str, Any]) -> dict[str, str]:
    """The Spark settings of a session working in `folder` (linkage.yaml's `spark` section)."""
    from splink.backends.spark import similarity_jar_location

    log4j = folder / "log4j2.properties"
    log4j.write_text(_LOG4J, encoding="utf-8")
    conf = {
        "spark.master": spark["master"],
        "spark.app.name": "families-first-linkage",
        # no web UI, no progress bars, no listening beyond the driver's address
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": spark["driver_host"],
        "spark.driver.bindAddress": spark["driver_host"],
        "spark.driver.memory": spark["driver_memory"],
        "spark.sql.shuffle.partitions": str(spark["shuffle_partitions"]),
        "spark.default.parallelism": str(spark["shuffle_partitions"]),
        "spark.sql.session.timeZone": "UTC",
        # Splink's similarity functions (Jaro-Winkler, Damerau-Levenshtein) from its own jar
        "spark.jars": similarity_jar_location(),
        # shuffle and spill files beside the work folder, any table in it
        "spark.local.dir": str(spark_local_folder(folder.parent)),
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.sql.catalogImplementation": "in-memory",
        "spark.hadoop.fs.permissions.umask-mask": "077",
        # read when the JVM starts (the first session of this process)
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log4j}",
    }
    conf.update({str(key): str(value) for key, value in (spark.get("conf") or {}).items()})
    return conf


@contextmanager
def spark_session(folder: Path, spark: dict[str, Any] | None = None) -> Iterator[SparkSession]:
    """A Spark session working in `folder`, with its checkpoint directory there; stopped after."""
    from pyspark.sql import SparkSession

    spark = spark or spark_settings()
    if spark["driver_host"] in ("127.0.0.1", "localhost"):
        # Spark otherwise looks up this machine's name and address to advertise
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("SPARK_LOCAL_HOSTNAME", "localhost")
    builder = SparkSession.builder
    for key, value in session_conf(folder, spark).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    try:
        session.sparkContext.setLogLevel("ERROR")
        session.sparkContext.setCheckpointDir(str(_owner_only_folder(folder / "checkpoints")))
        yield session
    finally:
        session.stop()


def columns_used(con: duckdb.DuckDBPyConnection, settings: dict[str, Any]) -> list[str]:
    """The columns of int_linkage_record Splink reads with these settings: unique_id and those the
    comparison levels and blocking rules name. Only these leave DuckDB (not the names and
    addresses as recorded)."""
    texts = [
        str(level.get(key) or "")
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
        for key in ("sql_condition", "tf_adjustment_column")
    ]
    texts += [rule["blocking_rule"] for rule in settings["blocking_rules_to_generate_predictions"]]
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns"
            " where table_name = 'int_linkage_record' order by ordinal_position"
        ).fetchall()
    ]
    return [
        column
        for column in columns
        if column == "unique_id" or any(re.search(rf"\b{column}(_l|_r)?\b", text) for text in texts)
    ]


def spark_model(
    model: dict[str, Any], person: dict, rules: list[list[str] | str]
) -> dict[str, Any]:
    """The settings written in Spark's SQL, carrying the trained model's parameters: the prior and
    each level's m and u probabilities, level by level (the same comparisons, in the same order,
    made from linkage.yaml)."""
    from data_model.linkage.prediction import splink_settings

    settings = splink_settings(person, rules).create_settings_dict("spark")
    settings["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for trained, comparison in zip(model["comparisons"], settings["comparisons"], strict=True):
        trained_levels, levels = trained["comparison_levels"], comparison["comparison_levels"]
        labels = [level.get("label_for_charts") for level in levels]
        if [level.get("label_for_charts") for level in trained_levels] != labels:
            raise ValueError(
                f"the trained model's {trained['output_column_name']} levels differ from the"
                f" settings': {labels}"
            )
        for trained_level, level in zip(trained_levels, levels, strict=True):
            for key in ("m_probability", "u_probability"):
                if key in trained_level:
                    level[key] = trained_level[key]
    return settings


def predict_on_spark(
    con: duckdb.DuckDBPyConnection,
    person: dict,
    rules: list[list[str] | str],
    model: dict[str, Any],
    run: LinkageRun,
) -> str:
    """Make and score the candidate pairs on Spark with the trained `model`; returns the DuckDB
    table of scored pairs (Splink's predictions, at or above the predict threshold)."""
    from splink import Linker
    from splink.backends.spark import SparkAPI

    spark = spark_settings()
    settings = spark_model(model, person, rules)
    with spark_work_folder(spark.get("work_dir")) as folder:
        started = time.perf_counter()
        records = folder / "records.parquet"
        columns = ", ".join(f'"{column}"' for column in columns_used(con, settings))
        con.execute(
            f"copy (select {columns} from int_linkage_record order by unique_id)"
            f" to {_sql_string(records)} (format parquet)"
        )
        with spark_session(folder, spark) as session:
            run.seconds["spark_start"] = time.perf_counter() - started
            started = time.perf_counter()
            db_api = SparkAPI(spark_session=session)
            linker = Linker(
                db_api.register(session.read.parquet(str(records))),
                settings,
                log_level=logging.ERROR,
            )
            # The candidate pairs are made first (and kept for predict) so that they can be
            # counted, as on DuckDB.
            blocked = linker.inference.compute_blocked_pairs_for_predict()
            run.pairs_compared = blocked.as_spark_dataframe().count()
            predictions = linker.inference.predict(
                threshold_match_probability=person["predict_threshold"]
            )
            scored = folder / "predictions"
            predictions.to_parquet(str(scored), overwrite=True)
        # Back in the build's database, as a temporary table (never saved in the model file).
        con.execute(
            "create or replace temp table linkage_spark_predictions as"
            f" select * from read_parquet({_sql_string(scored / '*.parquet')})"
        )
        run.seconds["predict"] = time.perf_counter() - started
    return "linkage_spark_predictions"
