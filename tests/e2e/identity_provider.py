"""A local OpenID Connect provider for the browser tests (oidc-provider-mock, AUTH.md), the
secrets that point the app at it, and signing in and out through it in the browser.

The provider runs as its own process on 127.0.0.1 (its command line binds there by default: the
browser must use exactly the redirect URI's host), with one predefined user per role, each with
an Entra-style `oid` and app roles in `roles`. It keeps users in memory: one per test module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.access_helpers import APP_ROLE_OF, AUDIT_KEY, ROLES
from tests.e2e.conftest import TEST_SERVICE_ORIGINS, _free_port, _port_taken, wait_for_app

# One user per role, and one without a role; the button the provider shows is the user's sub.
E2E_USERS = {
    role: {
        "sub": role,
        "oid": f"oid-{role}",
        "email": f"{role}@council.example",
        "name": f"E2E {role.title()}",
        "roles": [APP_ROLE_OF[role]] if role in ROLES else ["Some.Other.App"],
    }
    for role in (*ROLES, "norole")
}


@contextmanager
def identity_provider(log_path: Path) -> Iterator[str]:
    """The provider on a free port of 127.0.0.1; its URL. Stopped on leaving."""
    port = _free_port()
    if _port_taken(port):
        pytest.fail(f"port {port} is already in use")
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    for claims in E2E_USERS.values():
        command += ["--user-claims", json.dumps(claims)]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        provider = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if provider.poll() is not None:
                pytest.fail(f"the identity provider exited:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(
                    f"{url}/.well-known/openid-configuration", timeout=2
                ) as answer:
                    if json.load(answer).get("issuer"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the identity provider did not answer:\n{log_path.read_text()}")
            time.sleep(0.2)
        TEST_SERVICE_ORIGINS.add(url)  # its sign-in page's stylesheet link is blocked, not ours
        yield url
    finally:
        TEST_SERVICE_ORIGINS.discard(url)
        provider.terminate()
        try:
            provider.wait(timeout=10)
        except subprocess.TimeoutExpired:
            provider.kill()
            provider.wait()


def write_secrets(path: Path, app_port: int, idp: str) -> Path:
    """A secrets file configuring sign-in against the provider, the roles and the audit key."""
    by_app_role = "\n".join(f'"{APP_ROLE_OF[r]}" = "{r}"' for r in ROLES)
    path.write_text(
        f"""[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "an-e2e-cookie-secret-of-enough-length"
client_id = "ffi-e2e"
client_secret = "ffi-e2e-secret"
server_metadata_url = "{idp}/.well-known/openid-configuration"

[roles]
contact = "the e2e test team"

[roles.by_app_role]
{by_app_role}

[audit]
key = "{AUDIT_KEY}"
""",
        encoding="utf-8",
    )
    return path


def sign_in(page: Page, app: str, idp: str, who: str) -> None:
    """From the app's sign-in page, through the provider (one click on the user), back."""
    page.goto(app)
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{idp}/oauth2/authorize**")
    page.get_by_role("button", name=E2E_USERS[who]["sub"], exact=True).click()
    page.wait_for_url(f"{app}/**")
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as")


def sign_out(page: Page, app: str, idp: str) -> None:
    """The sidebar's Sign out, then the provider's End session, back to the app signed out."""
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{idp}/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{app}/**")
    wait_for_app(page)
