"""Access and roles (administrators): who may open what, in words, from the product's rules
(data_model/access.yaml) and the council's mapping of its identity provider's roles (secrets).

Shows no secret: which [auth] keys are given, never their values.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data_model import access as rules
from pages import registry
from pages.ui import access
from pages.ui.formats import fmt_duration, plain
from pages.ui.tables import Col, table

access.require("access_settings")  # first: who may open this page (data_model/access.yaml)

r = rules.rules()
titles = {entry.key: entry.title for entry in registry.PAGES}
st.title("Access and roles")
st.markdown(
    "Who may open which page and download which tables. The rules are the product's "
    "(`data_model/access.yaml`); which people hold which role is the council's, in "
    "`.streamlit/secrets.toml` (`[roles]`). Every page checks the role itself, so a page that "
    "is not listed for a role refuses even when its address is typed in."
)

st.header("What each role may do")
st.markdown(
    "\n".join(
        f"- **{plain(title)}**: {plain(sentence)}" for title, sentence in rules.in_words(titles)
    )
)
st.markdown(
    "A signed-in user the council has given no role sees the help pages and a page saying whom "
    f"to ask ({plain(access.secrets_section('roles').get('contact') or r.contact)}). Before "
    "sign-in only the help pages open."
)

matrix = pd.DataFrame(
    [
        {
            "page": entry.title,
            "level": rules.LEVEL_WORDS.get(rules.page_level(entry.key), "help, no data"),
            **{key: rules.may_open(key, entry.key) for key in r.roles},
        }
        for entry in registry.PAGES
    ]
)
table(
    matrix,
    "Pages by role",
    {
        "page": Col("Page"),
        "level": Col("Shows at most", help="Decides downloads and the reason for access."),
        **{key: Col(role.title, "flag") for key, role in r.roles.items()},
    },
    title="Which role may open which page",
)
if any(role.audit == "team" for role in r.roles.values()):
    st.caption(
        "Audit: "
        + " and ".join(
            f"a {plain(role.title.lower())}" for role in r.roles.values() if role.audit == "team"
        )
        + " whose team the council names opens it too, for that team's events only, showing at "
        f"most {rules.LEVEL_WORDS[r.team_audit_level]} (see *Managers' teams* below)."
    )

st.header("Reason for access")
st.markdown(
    "Before the first page that shows people's names, dates of birth or addresses in a session, "
    "the user picks a reason, which the audit trail records with everything viewed after it. "
    f"It is asked again after {fmt_duration(r.reason_valid_for.total_seconds())}"
    + (" or when the user moves to another family." if r.reason_per_family else ".")
    + " The reasons offered: "
    + "; ".join(plain(label) for label in r.reason_choices.values())
    + "."
)

st.header("Sessions")
st.markdown(
    f"A session ends after **{fmt_duration(r.idle_timeout.total_seconds())}** without activity "
    f"and **{fmt_duration(r.max_session.total_seconds())}** after sign-in, whichever comes "
    "first; the user then signs in again. An open page clears itself when its session ends."
)

st.header("Sign-in and the council's roles")
if access.sign_in_configured():
    auth = access.secrets_section("auth")
    st.markdown(
        "Sign-in is configured: the identity provider's metadata is read from "
        f"{plain(auth.get('server_metadata_url'))}. Its secrets are not shown here."
    )
else:
    st.markdown(
        "Sign-in is **not configured** on this server, so only the synthetic demo opens "
        "(a council's model shows how to configure sign-in instead)."
    )
mapping = access.secrets_section("roles")
role_claim = mapping.get("role_claim") or rules.DEFAULT_ROLE_CLAIM
user_claim = mapping.get("user_id_claim") or rules.DEFAULT_USER_ID_CLAIM
rows = [
    {"given_by": f"'{role_claim}' claim", "value": str(value), "role": str(role)}
    for value, role in (mapping.get("by_app_role") or {}).items()
] + [
    {"given_by": f"one user ('{user_claim}')", "value": str(value), "role": str(role)}
    for value, role in (mapping.get("by_user_id") or {}).items()
]
st.markdown(
    f"Roles come from the `{plain(role_claim)}` claim of the sign-in (Microsoft Entra ID's app "
    f"roles) or, for one user, from their `{plain(user_claim)}`; a user given a role by id keeps "
    "it whatever the claim says, and a user with several roles gets the most able of them."
)
unknown = rules.unknown_mapped_roles(mapping)
if unknown:
    st.warning(
        "The council's mapping names roles the dashboard does not have (ignored): "
        + ", ".join(plain(role) for role in unknown)
    )
if rows:
    table(
        pd.DataFrame(rows),
        "Role mapping",
        {"given_by": Col("Given by"), "value": Col("Value"), "role": Col("Role")},
        title="The council's mapping from its identity provider to the dashboard's roles",
    )
else:
    st.markdown("No mapping is configured (`[roles]` in secrets).")

st.header("Managers' teams for the Audit page")
team_roles = [role.title.lower() for role in r.roles.values() if role.audit == "team"]
teams = access.secrets_section("audit").get("teams") or {}
named = {str(manager): rules.team_of(str(manager), teams) for manager in teams}
named = {manager: members for manager, members in named.items() if members}
st.markdown(
    (
        f"A {' or '.join(plain(t) for t in team_roles)} opens the Audit page only when the "
        "council names their team (`[audit.teams]` in secrets: their id to their team's ids); "
        "they then see only that team's events, without search terms, and never the chain. "
        if team_roles
        else "No role sees only its own team's part of the audit trail. "
    )
    + (
        f"Teams named: **{len(named)}**, with {sum(len(m) for m in named.values())} users in all."
        if named
        else "No team is named, so no manager has the Audit page."
    )
)
if named:
    table(
        pd.DataFrame(
            [{"manager": m, "users": len(members)} for m, members in sorted(named.items())]
        ),
        "Managers' teams",
        {"manager": Col("Manager's id"), "users": Col("Users in the team", "count")},
        title="Managers' teams for the Audit page ([audit.teams])",
    )
