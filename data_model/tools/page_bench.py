"""Times each page's script against a built model, as the benchmark reports it.

Uses Streamlit's AppTest, which runs the real page scripts without a browser: the time is the
script's (queries, drawing calls, the page gate and its audit events), not the browser's
rendering.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from data_model import access
from pages import registry  # the one declared exception: data_model may not import pages

ROOT = Path(__file__).resolve().parents[2]
# Every page of the app by its short key, from the app's own page list.
PAGES = {page.key: page.file for page in registry.PAGES}


# Signed in as Streamlit's OIDC sign-in would leave a user (AppTest is handed the claims; no
# identity provider is contacted), so the gate, the role and the audit trail are in every timing.
BENCH_SECRETS = {
    "auth": {
        "redirect_uri": "http://127.0.0.1:8599/oauth2callback",
        "cookie_secret": "page-bench-cookie-secret-not-used",
        "client_id": "ffi-bench",
        "client_secret": "ffi-bench",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    },
    "roles": {"by_app_role": {f"FFI.{role}": role for role in access.rules().roles}},
}


def role_for_page(page: str) -> str:
    """The role that uses a page: the least able role that may open it."""
    return next(r for r in reversed(list(access.rules().roles)) if access.may_open(r, page))


def _signed_in_app(role: str):  # noqa: ANN202 (AppTest is imported lazily)
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.secrets = BENCH_SECRETS
    app.user = {
        "is_logged_in": True,
        "provider": "default",
        "sub": f"bench-{role}",
        "oid": f"bench-{role}",
        "name": f"Bench {role}",
        "roles": [f"FFI.{role}"],
        "iat": int(time.time()),
    }
    app.run()  # opens the model and imports everything once
    return app


def _give_reason(app) -> None:  # noqa: ANN001
    """Fill in the reason for access where the page asks (once a session)."""
    if any(radio.key == "reason_code" for radio in app.radio):
        app.radio(key="reason_code").set_value("audit")
        next(b for b in app.button if b.label == "Continue").click().run()


def time_pages(model: Path, repeats: int = 3) -> dict[str, float]:
    """Seconds per page script once the model is open, each page signed in as the role that uses
    it (role_for_page), with the page gate, the reason for access and the audit trail in the
    path: `<page>` with no cached query results (the honest figure), `<page>_cached` for a
    repeat visit. Best of `repeats` runs each."""
    import streamlit as st

    os.environ["FFI_MODEL"] = str(model)
    timings = {}
    apps = {}
    for name, page in PAGES.items():
        role = role_for_page(name)
        app = apps.get(role) or apps.setdefault(role, _signed_in_app(role))
        app.switch_page(page).run()
        _give_reason(app)
        if app.exception:
            raise RuntimeError(f"page {name} raised: {app.exception[0].message}")
        if not app.title or app.error:
            raise RuntimeError(f"page {name} did not open for {role}: {app.error}")
        for label, clear in ((name, True), (f"{name}_cached", False)):
            runs = []
            for _ in range(repeats):
                if clear:
                    st.cache_data.clear()
                started = time.perf_counter()
                app.run()
                runs.append(time.perf_counter() - started)
            timings[label] = min(runs)
    return timings
