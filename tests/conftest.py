"""Shared fixtures: one small synthetic model per test session, for the app tests.

The model is the synthetic district at 600 households (seed 7), built once into a temporary folder
with data_model.build.build_synthetic. To run the app tests against another model (for example a
10,000-household build), set FFI_TEST_MODEL to its path; it is opened read-only.

The two planted districts (tests/export_payloads.py, tests/text_payloads.py) are built once per
session too, whichever module asks first; each module uses a copy (model_copy).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest

if TYPE_CHECKING:
    from data_model.build import BuildReport

ROOT = Path(__file__).resolve().parents[1]
TEST_HOUSEHOLDS = 600
TEST_SEED = 7


@pytest.fixture(scope="session")
def synthetic_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport | None]:
    """(model, its build report): FFI_TEST_MODEL if set (no report), else a fresh 600-household
    synthetic build, its extracts (with the generator's truth) in synthetic_extracts beside it."""
    given = os.environ.get("FFI_TEST_MODEL")
    if given:
        path = Path(given).resolve()
        if not path.exists():
            pytest.fail(f"FFI_TEST_MODEL={given} does not exist")
        return path, None
    from data_model.build import build_synthetic

    out = tmp_path_factory.mktemp("model") / "model.duckdb"
    report = build_synthetic(out, households=TEST_HOUSEHOLDS, seed=TEST_SEED)
    return out, report


@pytest.fixture(scope="session")
def synthetic_model(synthetic_build: tuple[Path, BuildReport | None]) -> Path:
    """Path to a built model: FFI_TEST_MODEL if set, else a fresh 600-household synthetic build."""
    return synthetic_build[0]


@pytest.fixture(scope="session")
def app_model(synthetic_model: Path) -> Iterator[Path]:
    """The test model, with FFI_MODEL pointing at it for AppTest (which reads the environment)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FFI_MODEL", str(synthetic_model))
        yield synthetic_model


@pytest.fixture(scope="session")
def model_sql(synthetic_model: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for the tests' own, independent SQL against the model's tables."""
    con = duckdb.connect(str(synthetic_model), read_only=True)
    yield con
    con.close()


def model_copy(model: Path, folder: Path) -> Path:
    """A copy of a built model in a folder of its own: the state the app writes beside a model
    (audit records, clerical decisions) stays each test module's own."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "model.duckdb"
    shutil.copy(model, copy)
    return copy


@pytest.fixture(scope="session")
def export_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The district with spreadsheet-formula payloads in its text (tests/export_payloads.py),
    built once per session for the AppTest and browser export tests; each takes a model_copy."""
    from tests.export_payloads import build_export_model

    return build_export_model(tmp_path_factory.mktemp("export_district"))


@pytest.fixture(scope="session")
def text_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The district with Markdown and HTML payloads in its text (tests/text_payloads.py), built
    once per session for the AppTest and browser text tests; each takes a model_copy."""
    from tests.text_payloads import build_planted_model

    return build_planted_model(tmp_path_factory.mktemp("text_district"))


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty database with the loaders' tables (load_manifest, load_rejects), for loader tests.
    A test module that needs another connection defines its own `con`."""
    from loaders.base import create_load_tables

    connection = duckdb.connect()
    create_load_tables(connection)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL server (tests/postgres_server.py) for the whole session; skipped
    when PostgreSQL is not installed, a failure then with FFI_REQUIRE_POSTGRES=1."""
    from tests import postgres_server

    cluster = postgres_server.start()
    if isinstance(cluster, str):
        if postgres_server.required():
            pytest.fail(f"FFI_REQUIRE_POSTGRES=1 but {cluster}")
        pytest.skip(cluster)
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str | None]:
    """Where a test's state database is: (model path, URL). SQLite: app_state.sqlite beside
    tmp_path/model.duckdb (URL None); PostgreSQL: a new database on the session's server."""
    model = tmp_path / "model.duckdb"
    if request.param == "sqlite":
        return model, None
    cluster = request.getfixturevalue("postgres_cluster")
    return model, cluster.url(cluster.new_database())


@pytest.fixture(autouse=True)
def _main_module_kept() -> Iterator[None]:
    """AppTest runs its script as sys.modules["__main__"] and leaves it there; a later test that
    starts processes with "spawn" would run that script again in each child (an AppTest function
    script fails there). Put the real __main__ back after every test."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
