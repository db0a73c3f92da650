"""The application-state database as the pages open it: one store per model folder and setting,
shared by every session (it holds a connection pool).

Settings, from .streamlit/secrets.toml: `[state] url` (PostgreSQL for several replicas; absent:
app_state.sqlite beside the model) and `[audit] key` (the audit trail's HMAC key; FFI_AUDIT_KEY
when absent). A synthetic model may use the public demo key; a council's model never does, so
without a key every audit write fails and nothing person-level is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from data_model.state import audit
from data_model.state.audit import Store
from pages.ui import model


def _secret(section: str, name: str) -> str | None:
    try:
        value = st.secrets.get(section, {}).get(name)
    except (FileNotFoundError, KeyError, AttributeError):  # no secrets.toml at all
        return None
    return str(value) if value else None


@st.cache_resource(max_entries=4, show_spinner=False)
def _open(model_folder: str, url: str | None, key: str | None, demo: bool) -> Store:
    return audit.open_store(model.model_path(), url, key=key, demo=demo)


def store(model_info: Mapping[str, Any] | None = None) -> Store:
    """The state store for the model the app serves. Raises audit.AuditWriteError when it cannot
    be opened (a page then shows nothing person-level)."""
    info = model_info if model_info is not None else model.info()
    return _open(
        str(model.model_path().resolve().parent),
        _secret("state", "url"),
        _secret("audit", "key"),
        bool(info.get("is_synthetic")),
    )


@dataclass(frozen=True)
class Actor:
    """Who is doing something, for the audit trail: the user's stable id, their product role and
    this browser session's id."""

    user: str
    role: str | None
    session: str


# Where the sign-in code keeps the signed-in user's product role for the session.
ROLE_KEY = "ffi_role"


def session_id() -> str:
    """This browser session's id (Streamlit's), the same on every run of the session."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context else "no-session"


def signed_in() -> bool:
    """Whether a user signed in with the identity provider (st.login)."""
    user = getattr(st, "user", None)
    return bool(user is not None and user.get("is_logged_in"))


def actor(typed_name: str = "") -> Actor:
    """The signed-in user (Entra's `oid` claim, else the email, else the name) with their role;
    without sign-in (the synthetic demo), the name typed on the page, marked as not signed in."""
    if signed_in():
        user = st.user
        who = user.get("oid") or user.get("email") or user.get("name") or user.get("sub")
        return Actor(str(who), st.session_state.get(ROLE_KEY), session_id())
    typed = typed_name.strip()
    who = f"{typed} (not signed in)" if typed else "not signed in"
    return Actor(who, st.session_state.get(ROLE_KEY), session_id())
