"""An idle session ends in a real browser: signed in through the local identity provider, a page
showing people's records left alone clears itself once the idle timeout passes (set to a few
seconds here with FFI_IDLE_TIMEOUT_SECONDS), and only signing in again opens it.

Its own identity provider and server: the short timeout is the server's setting.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from data_model.state import audit
from tests.access_helpers import AUDIT_KEY
from tests.e2e.conftest import _free_port, assert_no_exception, give_reason, served, wait_for_app
from tests.e2e.identity_provider import E2E_USERS, identity_provider, sign_in, write_secrets

pytestmark = pytest.mark.e2e

IDLE_SECONDS = 8


@pytest.fixture(scope="module")
def short_server(
    synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """(app URL, identity provider URL, model) with an idle timeout of a few seconds."""
    folder = tmp_path_factory.mktemp("timeout")
    model = folder / "model.duckdb"
    shutil.copy(synthetic_model, model)
    with identity_provider(folder / "idp.log") as idp:
        port = _free_port()
        secrets = write_secrets(folder / "secrets.toml", port, idp)
        env = {"FFI_IDLE_TIMEOUT_SECONDS": str(IDLE_SECONDS)}
        with served(model, folder / "streamlit.log", port, secrets=secrets, env=env) as url:
            yield url, idp, model


def test_an_idle_session_clears_the_page_and_asks_to_sign_in_again(
    app_page: Page, short_server: tuple[str, str, Path]
) -> None:
    app, idp, model = short_server
    sign_in(app_page, app, idp, "analyst")
    app_page.get_by_test_id("stSidebar").get_by_role("link", name="Data quality").click()
    wait_for_app(app_page)
    last_used = time.monotonic()  # the last click, next: the server sees it after this
    give_reason(app_page)
    # The page drawn (its review in a tab, not clicked: a click would be activity).
    expect(app_page.get_by_role("tab", name="Clerical review")).to_be_visible()

    # Nothing is clicked: the open page checks its session and clears itself.
    ended = app_page.get_by_role("heading", name="Your session has ended", level=1)
    expect(ended).to_be_visible(timeout=(IDLE_SECONDS + 20) * 1000)
    assert time.monotonic() - last_used >= IDLE_SECONDS  # not before the timeout
    expect(app_page.get_by_text(f"no activity for {IDLE_SECONDS} seconds")).to_be_visible()
    expect(app_page.get_by_test_id("stDataFrame")).to_have_count(0)
    expect(app_page.get_by_role("heading", name="Clerical review")).to_have_count(0)
    expect(app_page.get_by_role("tab", name="Clerical review")).to_have_count(0)
    # Its address no longer opens it either.
    app_page.goto(f"{app}/data-quality")
    wait_for_app(app_page)
    expect(ended).to_be_visible()
    expect(app_page.get_by_test_id("stDataFrame")).to_have_count(0)

    # Signing in again opens the dashboard again (and the reason is asked again).
    app_page.get_by_role("button", name="Sign in again").click()
    app_page.wait_for_url(f"{idp}/oauth2/authorize**")
    app_page.get_by_role("button", name=E2E_USERS["analyst"]["sub"], exact=True).click()
    app_page.wait_for_url(f"{app}/**")
    wait_for_app(app_page)
    expect(app_page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    assert_no_exception(app_page)

    store = audit.open_store(model, key=AUDIT_KEY)
    try:
        events = list(reversed(audit.events(store, users=["oid-analyst"])))
    finally:
        store.dispose()
    kinds = [e["kind"] for e in events]
    assert kinds.count("sign_in") == 2, kinds
    [idle] = [e for e in events if e["kind"] == "sign_out"]
    assert idle["detail"]["why"] == "idle"
    first, second = (i for i, kind in enumerate(kinds) if kind == "sign_in")
    assert first < kinds.index("sign_out") < second  # ended, then signed in again
