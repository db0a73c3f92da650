"""The same linkage on Spark (data_model/linkage/spark.py): one district (the session's test
model's) built with each engine gives the same candidate pairs, scored the same way, and so the
same persons and families; Spark listens on this machine only and leaves nothing behind; a machine
without Java or pyspark gets one clear line.

The parity tests need Java and pyspark (requirements-spark.txt). They are skipped without them,
unless FFI_REQUIRE_SPARK is set (as .ci/run does), which turns the skip into a failure.
"""

from __future__ import annotations

import math
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import psutil
import pytest

from data_model.build import BuildReport, SyntheticOrigin, build_model
from data_model.linkage.spark import (
    SparkUnavailableError,
    remove_leftover_folders,
    spark_missing,
    spark_session,
    spark_work_folder,
)
from loaders.synthetic.generate import generate
from tests.conftest import TEST_HOUSEHOLDS, TEST_SEED
from tests.test_build_faults import _dead_pid

ROOT = Path(__file__).resolve().parents[1]
# Built as the session's test model is (tests/conftest.py), so that one is the DuckDB build.
ORIGIN = SyntheticOrigin(TEST_HOUSEHOLDS, TEST_SEED)


def _require_spark() -> None:
    missing = spark_missing()
    if missing is None:
        return
    message = f"Spark engine unavailable: {missing} (.ci/run installs both)"
    if os.environ.get("FFI_REQUIRE_SPARK"):
        pytest.fail(message)
    pytest.skip(message)


def _our_spark_folders() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"ffi-spark-{os.getpid()}-*"))


@pytest.fixture(scope="module")
def built(
    synthetic_build: tuple[Path, BuildReport | None], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, BuildReport]]:
    """The test district (600 households), built with each engine: the session's test model is
    the DuckDB build, and its extracts are built again on Spark."""
    _require_spark()
    folder = tmp_path_factory.mktemp("spark_parity")
    duck_model, duck_report = synthetic_build
    extracts = duck_model.parent / "synthetic_extracts"
    if duck_report is None:  # FFI_TEST_MODEL: a given model, no extracts of its own beside it
        extracts = folder / "extracts"
        generate(TEST_HOUSEHOLDS, TEST_SEED, extracts)
        duck_model = folder / "duckdb" / "model.duckdb"
        duck_report = build_model(extracts, duck_model, linkage_engine="duckdb", synthetic=ORIGIN)
    spark_model = folder / "spark" / "model.duckdb"
    spark_report = build_model(extracts, spark_model, linkage_engine="spark", synthetic=ORIGIN)
    return {"duckdb": (duck_model, duck_report), "spark": (spark_model, spark_report)}


def _query(model: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(model), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _partition(model: Path, group: str) -> set[frozenset[tuple[str, str]]]:
    """Source records grouped by person (group 'person') or by family ('family')."""
    key = "record.person_key" if group == "person" else "member.family_key"
    rows = _query(
        model,
        f"""
        select list(distinct (record.source, record.source_record_id))
        from person_source_record as record
        left join family_member as member using (person_key)
        where {key} is not null
        group by {key}
        """,
    )
    return {frozenset(tuple(record) for record in records) for (records,) in rows}


def _same_rows(left: list[tuple], right: list[tuple]) -> bool:
    """Rows equal, numbers to 9 significant places (Spark and DuckDB may round the last bit of a
    weight differently)."""
    return len(left) == len(right) and all(
        len(a) == len(b)
        and all(
            math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
            if isinstance(x, float) and isinstance(y, float)
            else x == y
            for x, y in zip(a, b, strict=True)
        )
        for a, b in zip(left, right, strict=True)
    )


# Splink's Spark jar computes Jaro-Winkler with half the out-of-order letters unrounded, as
# Winkler defined it; DuckDB rounds that half down. A name pair with an odd number of out-of-order
# letters (AGNIEAZKA / AGNIESZKA: 0.918 on Spark, 0.931 on DuckDB) can then take another level of
# a name comparison: 2 scored pairs of 196,934 at 10,000 households. Only the name comparisons use
# Jaro-Winkler, so only their weights, and so the pair's, may differ, on at most 1 pair in 1,000.
NAME_WEIGHTS = {
    "match_weight",
    "match_probability",
    "mw_first_name",
    "mw_tf_adj_first_name",
    "mw_last_name",
    "mw_tf_adj_last_name",
}


def _rows_by(model: Path, table: str, key: str) -> dict[str, dict]:
    con = duckdb.connect(str(model), read_only=True)
    try:
        result = con.execute(f"select * from {table}")
        columns = [column[0] for column in result.description]
        return {
            row[columns.index(key)]: dict(zip(columns, row, strict=True))
            for row in result.fetchall()
        }
    finally:
        con.close()


def _named_differently(left: dict, right: dict) -> bool:
    """Whether two rows of one pair differ only where the name comparisons' Jaro-Winkler can
    (AssertionError when they differ anywhere else)."""
    differing = {
        column for column, value in left.items() if not _same_rows([(value,)], [(right[column],)])
    }
    assert differing <= NAME_WEIGHTS, f"{left['pair_id']}: {sorted(differing)}"
    return bool(differing)


@pytest.mark.slow
def test_both_engines_score_the_same_candidate_pairs_the_same_way(built):
    (duck_model, duck), (spark_model, spark) = built["duckdb"], built["spark"]
    assert (duck.linkage["engine"], spark.linkage["engine"]) == ("duckdb", "spark")
    assert spark.linkage["seconds"]["spark_start"] > 0  # the pairs really were made on Spark
    run = "select records, pairs_compared, pairs_scored, persons from int_person_link_run"
    ((records, compared, scored, persons),) = _query(duck_model, run)
    assert records > 5_000 and compared > 50_000 and scored > 5_000
    ((spark_records, spark_compared, spark_scored, spark_persons),) = _query(spark_model, run)
    # the same candidate pairs (blocking uses no similarity function), the same persons
    assert (spark_records, spark_compared, spark_persons) == (records, compared, persons)
    assert abs(spark_scored - scored) <= scored // 1_000
    # the same parameters, trained on DuckDB in each build (DuckDB's parallel sums may differ in
    # the last bits from one run to the next; Spark only scores with them)
    parameters = "select * from int_person_link_parameter order by comparison, level"
    assert _same_rows(_query(duck_model, parameters), _query(spark_model, parameters))
    # the pairs an analyst sees, with every comparison's weight
    duck_pairs = _rows_by(duck_model, "int_person_link_pair", "pair_id")
    spark_pairs = _rows_by(spark_model, "int_person_link_pair", "pair_id")
    assert len(duck_pairs) > 10
    only_one = duck_pairs.keys() ^ spark_pairs.keys()
    named_differently = [
        pair
        for pair in duck_pairs.keys() & spark_pairs.keys()
        if _named_differently(duck_pairs[pair], spark_pairs[pair])
    ]
    assert len(only_one) + len(named_differently) <= max(1, len(duck_pairs) // 1_000)
    # each record in the same person
    links = "select unique_id, registration_id, person_key from int_person_link order by 1"
    assert _query(duck_model, links) == _query(spark_model, links)


@pytest.mark.slow
def test_both_engines_give_the_same_persons_and_families(built):
    (duck_model, _), (spark_model, _) = built["duckdb"], built["spark"]
    persons = _partition(duck_model, "person")
    assert len(persons) > 2_000  # 2,347 in the 600-household test district
    assert any(len(records) > 1 for records in persons)  # records were linked, not all alone
    assert persons == _partition(spark_model, "person")
    families = _partition(duck_model, "family")
    assert len(families) > 500
    assert families == _partition(spark_model, "family")


@pytest.mark.slow
def test_spark_leaves_no_work_folder_behind(built):
    # only this process's shuffle folder, which Spark keeps for the JVM's life, emptied
    (local,) = _our_spark_folders()
    assert local.name == f"ffi-spark-{os.getpid()}-local"
    assert [path for path in local.rglob("*") if path.is_file()] == []


@pytest.mark.slow
def test_spark_listens_on_this_machine_only(built, tmp_path):
    loopback = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
    with spark_work_folder(tmp_path) as folder, spark_session(folder) as session:
        assert session.sparkContext.uiWebUrl is None  # no web UI
        assert session.sparkContext.master == "local[2]"
        javas = [
            child for child in psutil.Process().children(recursive=True) if child.name() == "java"
        ]
        assert javas
        sockets = [s for java in javas for s in java.net_connections(kind="inet")]
    listening = [s.laddr for s in sockets if s.status == psutil.CONN_LISTEN]
    assert listening  # the gateway and the driver do listen...
    assert [address for address in listening if address.ip not in loopback] == []  # ...here only
    remote = [s.raddr for s in sockets if s.raddr and s.raddr.ip not in loopback]
    assert remote == []


def test_the_work_folder_is_owner_only_and_removed_with_what_killed_builds_left(tmp_path):
    dead = tmp_path / f"ffi-spark-{_dead_pid()}-abc"
    dead.mkdir()
    (dead / "records.parquet").write_bytes(b"personal data")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as running:
        alive = tmp_path / f"ffi-spark-{running.pid}-abc"  # a build still going
        alive.mkdir()
        other = tmp_path / "ffi-spark-notes"  # not a work folder's name
        other.mkdir()
        with spark_work_folder(tmp_path) as folder:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
            assert folder.name.startswith(f"ffi-spark-{os.getpid()}-")
            (folder / "checkpoints").mkdir()
            assert not dead.exists()
        running.kill()
    assert not folder.exists()
    assert alive.exists() and other.exists()
    assert remove_leftover_folders(tmp_path) == [alive]  # its build has ended now


def test_without_java_the_spark_engine_stops_with_one_line_before_reading(tmp_path):
    out = tmp_path / "model.duckdb"
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java here
    result = subprocess.run(
        [sys.executable, "-m", "data_model", "build", "--sources", str(tmp_path / "none"),
         "--out", str(out), "--linkage-engine", "spark"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: the Spark linkage engine cannot run: Java is not installed"
        " (Debian: apt-get install openjdk-17-jre-headless)"
    ]
    assert not out.exists()


def test_without_pyspark_the_spark_engine_says_how_to_install_it(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    with pytest.raises(SparkUnavailableError, match=r"pip install -r requirements-spark\.txt"):
        build_model(tmp_path / "none", tmp_path / "model.duckdb", linkage_engine="spark")
    assert list(tmp_path.iterdir()) == []


def test_the_build_and_its_command_line_load_no_pyspark_until_spark_is_used():
    # the import contract (pyproject.toml) keeps pyspark in spark.py; this keeps it in its
    # functions, so a machine without pyspark builds with DuckDB as before
    code = (
        "import sys, data_model.__main__, data_model.build, data_model.linkage.link;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
