"""End-to-end fixtures: a real Streamlit server on a free port, Debian's Chromium, no internet.

Recipe from TESTING.md: launch /usr/bin/chromium (never a downloaded browser), start the app with
`python -m streamlit run app.py` on 127.0.0.1, wait for /_stcore/health, and fail every test that
makes a request to any host other than 127.0.0.1 or localhost.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ARTIFACTS = ROOT / "test-results"
SERVER_LOG: list[Path | None] = [None]  # the running server's log, for failure messages
AXE = ROOT / ".pytest_cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session", autouse=True)
def _chromium_present() -> None:
    """Skip browser tests without Chromium, unless FFI_REQUIRE_E2E is set (as .ci/run does)."""
    if CHROMIUM.exists():
        return
    message = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    if os.environ.get("FFI_REQUIRE_E2E"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # Streamlit scrolls inside its main panel: a tall window shows more of each page.
    return {**browser_context_args, "viewport": {"width": 1280, "height": 1600}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def served(
    model: Path,
    log_path: Path,
    port: int | None = None,
    *,
    secrets: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """The app served on 127.0.0.1 from `model` (its log in log_path), stopped on leaving.

    `secrets`: the secrets file to read instead of .streamlit/secrets.toml (never a developer's
    own: without it, an empty file is used); `env`: more environment variables."""
    port = port or _free_port()
    if _port_taken(port):
        pytest.fail(f"port {port} is already in use: refusing to test a server we did not start")
    if secrets is None:
        secrets = log_path.with_name("no-secrets.toml")
        secrets.write_text("")
    env = {**os.environ, "FFI_MODEL": str(model), "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--secrets.files", str(secrets),
    ]  # fmt: skip
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"the app server exited ({server.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app server did not answer in 60 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def app_server(synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served on 127.0.0.1 from the test model; stopped at the end of the session."""
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    SERVER_LOG[0] = log_path
    port = int(os.environ.get("FFI_E2E_PORT") or 0) or None
    with served(synthetic_model, log_path, port) as url:
        yield url


# Local services a test starts whose own pages ask for files from the internet (the test identity
# provider's sign-in page loads a stylesheet from a CDN). Those requests are blocked like any
# other; they are not counted against the app, whose pages must ask for nothing outside.
TEST_SERVICE_ORIGINS: set[str] = set()


def _from_test_service(request) -> bool:  # noqa: ANN001 (a Playwright Request)
    try:
        frame_url = request.frame.url
    except Exception:  # a request with no frame (a service worker): not a test service's
        return False
    origin = urlparse(frame_url)
    return f"{origin.scheme}://{origin.netloc}" in TEST_SERVICE_ORIGINS


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def app_page(page: Page, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A browser page that may only talk to this machine; a screenshot is kept if the test fails."""
    outside: list[str] = []

    def guard(req) -> None:
        host = urlparse(req.url).hostname
        if (
            req.url.startswith(("http://", "https://", "ws://", "wss://"))
            and host not in LOCAL_HOSTS
            and not _from_test_service(req)
        ):
            outside.append(req.url)

    def block(route) -> None:
        host = urlparse(route.request.url).hostname
        if host in LOCAL_HOSTS or not route.request.url.startswith(("http", "ws")):
            route.continue_()
        else:
            route.abort()

    page.on("request", guard)
    page.context.route("**/*", block)
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    assert not outside, f"requests left this machine: {outside}"


def wait_for_app(page: Page, pause_ms: int = 250) -> None:
    """Until Streamlit has finished the run the last action started (TESTING.md): a pause first,
    since the state flag still shows the previous run just after an action (pause_ms=0 where no
    action came since the last wait)."""
    page.wait_for_timeout(pause_ms)
    page.locator(
        "[data-testid=stApp][data-test-connection-state=CONNECTED]"
        "[data-test-script-state=notRunning]"
    ).wait_for()
    expect(page.locator("[data-testid=stSkeleton]")).to_have_count(0)


def give_reason(page: Page, reason: str = "Audit or quality check") -> None:
    """Answer the reason-for-access form the first person-level page of a session asks."""
    expect(page.get_by_text("Why do you need to see people's records?")).to_be_visible()
    page.get_by_text(reason, exact=True).click()
    page.get_by_role("button", name="Continue").click()
    wait_for_app(page)
    expect(page.get_by_text("Why do you need to see people's records?")).to_have_count(0)


def assert_no_exception(page: Page) -> None:
    errors = page.locator("[data-testid=stException]")
    if errors.count():
        # The app hides error details from users (client.showErrorDetails); the log has them.
        log = SERVER_LOG[0].read_text()[-4000:] if SERVER_LOG[0] else ""
        pytest.fail(f"exception on the page: {' | '.join(errors.all_inner_texts())}\n{log}")


def main_tabs(page: Page) -> list[str]:
    """The names of the tabs a page splits its detail into (none on a short page)."""
    return page.get_by_test_id("stMain").get_by_role("tab").all_inner_texts()


def show_tab(page: Page, name: str) -> None:
    """Open one of the page's tabs and wait until what it holds is drawn."""
    page.get_by_test_id("stMain").get_by_role("tab", name=name, exact=True).click()
    wait_for_app(page)
    expect(
        page.get_by_test_id("stMain").get_by_role("tab", name=name, exact=True)
    ).to_have_attribute("aria-selected", "true")


def each_tab(page: Page) -> Iterator[str | None]:
    """Each of the page's tabs opened in turn (its name), or the page once (None) without tabs:
    what a tab holds is hidden until it is opened."""
    names = main_tabs(page)
    if not names:
        yield None
        return
    for name in names:
        show_tab(page, name)
        yield name


def axe_or_stop(axe: Path = AXE) -> Path:
    """axe-core's script (.ci/run installs it): a skip without it, a failure with
    FFI_REQUIRE_E2E=1 (CI), where the accessibility check must run."""
    if axe.exists():
        return axe
    message = f"axe-core is not installed at {axe} (.ci/run installs it with npm)"
    if os.environ.get("FFI_REQUIRE_E2E"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's script, for the accessibility tests (axe_or_stop)."""
    return axe_or_stop()
