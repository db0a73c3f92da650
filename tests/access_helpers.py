"""Signing in for AppTest: the secrets of a configured sign-in (an identity provider that is never
contacted: AppTest does not sign in, it is handed the user's claims as st.user), a signed-in user
with a role given by an Entra-style app role, and the reason-for-access form filled in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from data_model.state import audit

# Port 9 (discard) on this machine: a test that did contact it would fail, not reach anything.
AUTH = {
    "redirect_uri": "http://127.0.0.1:8599/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-enough-length",
    "client_id": "ffi-test",
    "client_secret": "ffi-test-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
APP_ROLES = {
    "FFI.Admin": "admin",
    "FFI.Analyst": "analyst",
    "FFI.Manager": "manager",
    "FFI.Practitioner": "practitioner",
    "FFI.Councillor": "councillor",
}
APP_ROLE_OF = {role: value for value, role in APP_ROLES.items()}
AUDIT_KEY = "a-test-audit-key-that-is-long-enough-0123456789"
ROLES = ("admin", "analyst", "manager", "practitioner", "councillor")


def secrets(**sections: dict[str, Any]) -> dict[str, Any]:
    """A configured sign-in, the council's role mapping and an audit key; more sections merged."""
    base = {
        "auth": dict(AUTH),
        "roles": {"by_app_role": dict(APP_ROLES), "contact": "the test team"},
        "audit": {"key": AUDIT_KEY},
    }
    return base | sections


def user(role: str | None, *, oid: str | None = None, signed_in_ago: float = 60, **claims: Any):
    """The claims st.user holds for a user signed in `signed_in_ago` seconds ago with this role
    (an Entra app role; None: no role)."""
    name = role or "norole"
    return {
        "is_logged_in": True,
        "provider": "default",
        "sub": f"sub-{name}",
        "oid": oid or f"oid-{name}",
        "email": f"{name}@council.example",
        "name": f"Test {name.title()}",
        "roles": [APP_ROLE_OF[role]] if role else [],
        "iat": int(time.time() - signed_in_ago),
        **claims,
    }


def signed_in(at: AppTest, role: str | None, **claims: Any) -> AppTest:
    """The AppTest with sign-in configured and a user of this role signed in."""
    at.secrets = secrets()
    at.user = user(role, **claims)
    return at


def give_reason(at: AppTest, code: str = "audit", text: str = "") -> AppTest:
    """Fill in the reason-for-access form, if the page shows it, and run."""
    if not [r for r in at.radio if r.key == "reason_code"]:
        return at
    at.radio(key="reason_code").set_value(code)
    if text:
        at.text_input(key="reason_text").set_value(text)
    [submit] = [b for b in at.button if b.label == "Continue"]
    submit.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def user_trail(model: Path, user: str) -> list[dict]:
    """One user's audit events in the model's state store, oldest first."""
    store = audit.open_store(model, key=AUDIT_KEY)
    try:
        return list(reversed(audit.events(store, users=[user])))
    finally:
        store.dispose()
