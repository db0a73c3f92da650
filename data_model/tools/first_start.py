"""The README's first start, timed the same way each time: a fresh clone, a fresh virtual
environment, the README's first command, and Chromium until the Overview is fully drawn.

    python -m data_model.tools.first_start [--source REPO] [--ref HEAD] [--keep]

Steps, each timed:
1. `git clone` of the repository (this one unless --source) at --ref into a new folder;
2. `python -m venv` there;
3. the README's first command, as the README gives it (read from the README's first code block):
   `pip install -r requirements.txt && streamlit run app.py`, run by the shell in the clone with
   the new environment first on PATH, and the server's port given by STREAMLIT_SERVER_PORT (the
   command itself is not changed);
4. Chromium (Debian's, as the tests use it) opens the app as soon as the server answers, and the
   clock stops when the Overview is fully drawn: its heading, its headline figures and its chart
   on the page, no skeleton left, the script finished. The first start builds the synthetic
   district, so this includes the build.

pip uses the machine's own cache as a person's first install would on that machine; --no-cache
gives pip an empty cache instead (every package downloaded). Prints one line per step and the
total; the README states the total from the first `streamlit run` request to the Overview drawn
and from the clone to the Overview drawn.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
DRAWN_TIMEOUT_S = 900  # the build of the synthetic district on a busy machine


def first_command(readme: Path) -> str:
    """The first line of the README's first code block: the command a person runs first."""
    block = re.search(r"^```[^\n]*\n(.*?)^```", readme.read_text(encoding="utf-8"), re.M | re.S)
    if not block:
        raise SystemExit(f"{readme}: no code block with a first command")
    return block.group(1).strip().splitlines()[0].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(label: str, started: float, lines: list[str]) -> float:
    now = time.perf_counter()
    line = f"{label}: {now - started:.1f} s"
    lines.append(line)
    print(line, flush=True)
    return now


def overview_drawn(page, timeout_s: float) -> None:  # noqa: ANN001 (a Playwright Page)
    """Until the Overview is fully drawn: the script finished, no skeleton, the heading, the
    headline figures and the chart's drawing on the page."""
    from playwright.sync_api import expect

    deadline_ms = timeout_s * 1000
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible(timeout=deadline_ms)
    page.locator(
        "[data-testid=stApp][data-test-connection-state=CONNECTED]"
        "[data-test-script-state=notRunning]"
    ).wait_for(timeout=deadline_ms)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible(timeout=deadline_ms)
    expect(page.locator("[data-testid=stPlotlyChart] .main-svg").first).to_be_visible(
        timeout=deadline_ms
    )
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=deadline_ms)
    if page.get_by_test_id("stException").count():
        raise SystemExit("the Overview drew an error: " + page.get_by_test_id("stException")
                         .first.inner_text())  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(ROOT), help="repository to clone (this one)")
    parser.add_argument("--ref", default="HEAD", help="commit or branch to clone (HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the clone afterwards")
    parser.add_argument("--no-cache", action="store_true", help="pip with an empty cache")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ref = subprocess.run(
        ["git", "-C", args.source, "rev-parse", args.ref], check=True, capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="ffi-first-start-"))
    clone = folder / "clone"
    lines: list[str] = [f"Commit {ref[:12]}, {os.cpu_count()} cores"]
    print(lines[0], flush=True)
    server = None
    try:
        start = time.perf_counter()
        subprocess.run(["git", "clone", "--quiet", "--no-local", args.source, str(clone)],
                       check=True)  # fmt: skip
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", ref], check=True)
        step = timed("1. fresh clone", start, lines)
        subprocess.run([sys.executable, "-m", "venv", str(clone / ".venv")], check=True)
        step = timed("2. fresh virtual environment", step, lines)

        command = first_command(clone / "README.md")
        port = free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FFI_", "VIRTUAL_ENV", "PYTHON"))
        }
        env.update(
            PATH=f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            VIRTUAL_ENV=str(clone / ".venv"),
            STREAMLIT_SERVER_PORT=str(port),
            STREAMLIT_SERVER_HEADLESS="true",
        )
        if args.no_cache:
            env["PIP_CACHE_DIR"] = str(folder / "pip-cache")
        log = (folder / "first-command.log").open("w")
        print(f"3. running the README's first command: {command}", flush=True)
        server = subprocess.Popen(
            ["bash", "-c", command], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one at the end
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        while True:  # pip installs, then the server starts
            if server.poll() is not None:
                raise SystemExit(f"the first command ended ({server.returncode}): see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().decode().strip() == "ok":
                        break
            except OSError:
                time.sleep(0.5)
        step = timed("3. install and server up (pip install, streamlit run)", step, lines)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requested = time.perf_counter()
            page.goto(url, timeout=DRAWN_TIMEOUT_S * 1000)
            overview_drawn(page, DRAWN_TIMEOUT_S)
            timed("4. first request to the Overview fully drawn (builds the demo)", requested,
                  lines)  # fmt: skip
            browser.close()
        total = time.perf_counter() - start
        line = f"Total, fresh clone to the Overview fully drawn: {total:.1f} s"
        lines.append(line)
        print(line, flush=True)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if args.keep:
            print(f"Kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
