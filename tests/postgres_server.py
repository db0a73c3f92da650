"""A throwaway PostgreSQL server for the state database's tests: a new cluster in a temporary
folder (initdb, then pg_ctl), listening only on a Unix socket in that folder, on a free port; gone
at the end of the session.

The binaries are Debian's (/usr/lib/postgresql/<version>/bin, package postgresql) or the first
pg_ctl on PATH. PostgreSQL refuses to run as root, so under root the cluster runs as the
`postgres` user (runuser). Without the binaries the PostgreSQL tests are skipped with the reason,
unless FFI_REQUIRE_POSTGRES=1 (set by .ci/run), which makes that a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REQUIRE_ENV = "FFI_REQUIRE_POSTGRES"
OWNER = "ffi"  # the cluster's superuser: owns the test databases, as a council's DBA would
APP_USER = "ffi_app"  # the app's own user: INSERT and SELECT only


def required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    folder: Path
    port: int
    bin_dir: Path
    as_user: list[str]
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str, user: str = OWNER) -> str:
        return f"postgresql+psycopg://{user}@/{database}?host={self.folder}&port={self.port}"

    def sql(self, statement: str, database: str = "postgres", user: str = OWNER) -> None:
        """Run one statement outside a transaction (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(
            host=str(self.folder), port=self.port, dbname=database, user=user, autocommit=True
        ) as conn:
            conn.execute(statement)

    def new_database(self) -> str:
        name = f"state_{next(self._numbers)}"
        self.sql(f"create database {name} owner {OWNER}")
        self.sql(f"grant connect on database {name} to {APP_USER}")
        return name

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m",
             "immediate", "stop"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Cluster | str:
    """A running cluster, or why there is none."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        return (
            "PostgreSQL's initdb and pg_ctl are not installed (Debian: apt-get install postgresql)"
        )
    folder = Path(tempfile.mkdtemp(prefix="ffi-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            postgres = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            return "running as root, and there is no 'postgres' user to run PostgreSQL as"
        os.chown(folder, postgres.pw_uid, postgres.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(folder, _free_port(), bin_dir, as_user)
    steps = (
        [str(bin_dir / "initdb"), "-D", str(cluster.data), "-U", OWNER, "-A", "trust", "-E",
         "UTF8", "--locale=C", "--no-sync"],
        [str(bin_dir / "pg_ctl"), "-D", str(cluster.data), "-l", str(folder / "server.log"), "-w",
         "-t", "60", "-o",
         f"-c listen_addresses='' -c unix_socket_directories={folder} -p {cluster.port} "
         "-c fsync=off -c full_page_writes=off -c synchronous_commit=off", "start"],
    )  # fmt: skip
    for step in steps:
        done = subprocess.run([*as_user, *step], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = folder / "server.log"
            said = (done.stderr or done.stdout).strip().splitlines()[-3:]
            if log.exists():
                said += log.read_text(errors="replace").strip().splitlines()[-3:]
            cluster.stop()
            return f"PostgreSQL did not start ({Path(step[0]).name}): {' | '.join(said)}"
    cluster.sql(f"create role {APP_USER} login")
    return cluster
