"""Faults around the build: what killed builds leave behind, files that cannot be written, who may
read the model, where the app builds its demo, and which models count as synthetic."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from data_model.build import SyntheticOrigin, build_model, remove_interrupted_builds
from data_model.linkage.decisions import ACCEPT
from data_model.state.audit import open_store
from data_model.state.decisions import record_decision
from tests.extract_files import write_district
from tests.test_build import REFERRAL, digest, run_cli

ROOT = Path(__file__).resolve().parents[1]
POSIX = os.name == "posix"


@pytest.fixture
def district(tmp_path: Path) -> Path:
    return write_district(tmp_path / "extracts", {"ehm_referrals": [REFERRAL]})


def _dead_pid() -> int:
    """The id of a process that has ended."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    return int(finished.stdout)


def test_a_build_removes_what_killed_builds_left_but_not_a_running_builds(
    district: Path, tmp_path: Path
) -> None:
    model = tmp_path / "out" / "model.duckdb"
    model.parent.mkdir()
    dead = _dead_pid()
    leftovers = [model.with_name(f"model.duckdb.building-{dead}"),
                 model.with_name(f"model.duckdb.building-{dead}.wal")]  # fmt: skip
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as running:
        kept = [
            model.with_name(f"model.duckdb.building-{running.pid}"),  # another build, still going
            model.with_name("model.duckdb.building-notes.txt"),  # not a build's name
            model.with_name(f"other.duckdb.building-{dead}"),  # another model's
        ]
        for path in leftovers + kept:
            path.write_bytes(b"personal data")
        build_model(district, model)
        running.kill()
    assert [p for p in leftovers if p.exists()] == []
    assert all(p.exists() for p in kept)
    assert sorted(p.name for p in model.parent.iterdir()) == sorted(
        [model.name, *(p.name for p in kept)]
    )


def test_a_leftover_under_this_processs_own_id_is_removed(tmp_path: Path) -> None:
    mine = tmp_path / f"model.duckdb.building-{os.getpid()}"
    mine.write_bytes(b"x")
    # this process's own name is cleared by the build itself before it starts writing
    assert remove_interrupted_builds(tmp_path / "model.duckdb") == [mine]


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX")
def test_the_model_its_folder_and_the_state_database_are_the_owners_only(
    district: Path, tmp_path: Path
) -> None:
    umask_before = os.umask(0o022)
    os.umask(umask_before)
    model = tmp_path / "new_folder" / "model.duckdb"
    build_model(district, model)
    umask_after = os.umask(umask_before)
    assert umask_after == umask_before  # the process's own setting is left as it was
    assert stat.S_IMODE(model.stat().st_mode) == 0o600
    assert stat.S_IMODE(model.parent.stat().st_mode) == 0o700
    store = open_store(tmp_path / "state" / "model.duckdb", key="k" * 32)
    record_decision(store, "a:1", "b:2", ACCEPT, user="test", role="analyst", session="t")
    store.dispose()
    for name in ("app_state.sqlite", "app_state.sqlite-wal", "app_state.sqlite-shm"):
        state_file = tmp_path / "state" / name
        if name == "app_state.sqlite" or state_file.exists():
            assert stat.S_IMODE(state_file.stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_an_output_folder_that_cannot_be_made_is_one_line_and_exit_2(
    district: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = run_cli("build", "--sources", str(district), "--out", str(blocker / "model.duckdb"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: cannot use ") and "a_file" in lines[0]


def test_a_model_that_cannot_be_replaced_is_one_line_exit_2_and_nothing_left(
    district: Path, tmp_path: Path
) -> None:
    target = tmp_path / "model.duckdb"
    target.mkdir()  # something in the way that os.replace cannot overwrite
    (target / "keep").write_text("kept")
    result = run_cli("build", "--sources", str(district), "--out", str(target))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().startswith(f"error: cannot replace {target}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert (target / "keep").read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir() if ".building-" in p.name] == []


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 3 MB filesystem, too small for a model (tmpfs; needs root, as CI has)."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    if not POSIX or shutil.which("mount") is None:
        pytest.skip("no mount command")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_exit_2_and_the_previous_model_is_untouched(
    district: Path, small_disk: Path
) -> None:
    model = small_disk / "model.duckdb"
    model.write_bytes(b"the previous model" * 1000)
    before = digest(model)
    result = run_cli("build", "--sources", str(district), "--out", str(model))
    assert result.returncode == 2, result.stdout[-500:] + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: cannot use ") and "space" in lines[0].lower()
    assert digest(model) == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["model.duckdb"]


# --- Which models are synthetic, and where the app builds its demo --------------------------------


def _is_synthetic(model: Path) -> tuple:
    with duckdb.connect(str(model), read_only=True) as con:
        return con.execute("select is_synthetic, households, seed from mart_model_info").fetchone()


def test_a_truth_folder_beside_the_extracts_does_not_make_a_model_synthetic(
    district: Path, tmp_path: Path
) -> None:
    (district / "_truth").mkdir()
    (district / "_truth" / "generator.json").write_text('{"households": 50, "seed": 3}')
    model = tmp_path / "model.duckdb"
    build_model(district, model)
    assert _is_synthetic(model) == (False, None, None)
    build_model(district, model, synthetic=SyntheticOrigin.of_folder(district))
    assert _is_synthetic(model) == (True, 50, 3)
    result = run_cli("build", "--sources", str(district), "--out", str(model), "--synthetic")
    assert result.returncode == 0, result.stderr
    assert _is_synthetic(model) == (True, 50, 3)


def test_a_configured_model_that_is_missing_is_said_and_never_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "council" / "model.duckdb"
    monkeypatch.setenv("FFI_MODEL", str(missing))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert any("There is no model at" in error.value for error in at.error)
    assert not at.get("progress")  # no demo build started
    assert not missing.exists() and not missing.parent.exists()


def test_without_a_configured_model_the_demo_has_its_own_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pages.ui import model

    monkeypatch.delenv("FFI_MODEL", raising=False)
    assert model.is_demo() and model.model_path() == Path("data/demo.duckdb")
    monkeypatch.setenv("FFI_MODEL", "/srv/ffi/model.duckdb")
    assert not model.is_demo() and model.model_path() == Path("/srv/ffi/model.duckdb")
