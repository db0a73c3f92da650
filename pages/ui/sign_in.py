"""The pages app.py shows in place of the app's own when the visitor may not see them yet: sign in,
a session that has ended, a signed-in user without a role, and a council's model with no sign-in
configured. None of them reads anything from the model but its path."""

from __future__ import annotations

import streamlit as st

from data_model import access as rules
from pages.ui import access, model
from pages.ui.formats import fmt_duration, plain

EXAMPLE = ".streamlit/secrets.example.toml"


def sign_in_page() -> None:
    """Signed out: one button to the council's sign-in; the help pages stay open."""
    st.title("Families First Insight")
    st.markdown(
        "Sign in with your council account to see the dashboard. What you can see depends on "
        "the role the council has given you. The user guide and the accessibility statement are "
        "open without signing in (in the sidebar)."
    )
    if st.button("Sign in", type="primary", key="sign_in", icon=":material/login:"):
        st.login()


def session_ended_page() -> None:
    """A sign-in the app no longer accepts: idle too long, signed in too long ago, signed out."""
    visitor = access.current()
    r = rules.rules()
    why = {
        "idle": f"there was no activity for {fmt_duration(r.idle_timeout.total_seconds())}",
        "too long": f"you signed in more than {fmt_duration(r.max_session.total_seconds())} ago",
        "signed out": "you signed out (perhaps in another tab)",
    }.get(visitor.ended if visitor else "", "it has expired")
    st.title("Your session has ended")
    st.markdown(
        f"For the security of families' records your session ended because {why}. Sign in again "
        "to carry on."
    )
    if st.button("Sign in again", type="primary", key="sign_in_again", icon=":material/login:"):
        st.login()


def no_role_page() -> None:
    """Signed in, but the council has given this user no role here."""
    visitor = access.current()
    contact = access.secrets_section("roles").get("contact") or rules.rules().contact
    st.title("You have no role in this dashboard yet")
    st.markdown(
        f"You are signed in, but the council has not given your account a role here, so only the "
        f"help pages are open to you. Ask {plain(contact)} for the role your work needs "
        "(manager, analyst, practitioner, councillor or administrator), quoting your account id "
        "below."
    )
    if visitor is not None:
        st.markdown(f"Your account id: `{visitor.user.replace('`', '')}`")


def configure_page() -> None:
    """A council's model and no sign-in configured: how to configure it, and nothing else."""
    missing = access.missing_auth_keys()
    st.title("Sign-in is needed before this dashboard opens")
    st.markdown(
        f"The model at {plain(model.model_path())} was built from a council's extracts, not the "
        "synthetic district, so it holds real people's records. It opens only behind the "
        "council's sign-in, and sign-in is not configured on this server."
    )
    st.markdown(
        f"""To configure it (the README's *Sign-in, roles and audit* says more):

1. Register the dashboard with the council's identity provider (for Microsoft Entra ID: an app
   registration with the redirect URI `https://<this server>/oauth2callback`, a client secret and
   app roles for the dashboard's roles).
2. Copy `{EXAMPLE}` to `.streamlit/secrets.toml` beside it and fill in `[auth]` (the sign-in),
   `[roles]` (which app roles or users hold which role), `[audit] key` (the audit trail's key)
   and, for several servers, `[state] url`.
3. Restart the dashboard.

To look around without sign-in, run the synthetic demo instead (start the app without
`FFI_MODEL`)."""
    )
    if missing:
        st.markdown("Not given in `[auth]` yet: " + ", ".join(f"`{key}`" for key in missing) + ".")
