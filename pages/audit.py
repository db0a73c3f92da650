"""Audit: who viewed whom, when and why, from the audit trail in the application-state database;
whether the trail's chain is intact; downloads for the council's information governance team.

For admins, who see the whole trail and the chain's state; and for managers whose team the
council names in its secrets ([audit.teams]), who see only their team's events, without the
search terms users typed and without the chain's administration (data_model/access.yaml,
`audit: team`). The role check is the sign-in code's, on the page's first line, as on every page;
the team's filter is the read functions' (data_model.state.audit), not this page's. Every text
from the trail (user ids, reasons, search terms) is shown as text (plain()), never as Markdown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from data_model.state import audit
from pages.ui import access, state
from pages.ui.formats import fmt_date, fmt_int, plain
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import Col, table

access.require("audit")  # first: who may open this page (data_model/access.yaml: admin, a team)

KIND_LABELS = {
    "sign_in": "Signed in",
    "sign_out": "Signed out",
    "page_opened": "Page opened",
    "search": "Search",
    "results_shown": "Results shown",
    "family_viewed": "Family viewed",
    "person_viewed": "Person viewed",
    "service_detail_opened": "Service detail opened",
    "download": "Download",
    "clerical_decision": "Clerical decision",
    "quickwin_mark": "Quick-wins decision",
    "access_refused": "Access refused",
    "reason_given": "Reason for access given",
    "purge": "Purge of old events",
}
assert set(KIND_LABELS) == set(audit.KINDS)
# In place of a blank the grid would show as "None": an event before any reason, a user without
# a role.
NO_REASON = "none given"
NO_ROLE = "no role"


def when(moment: str | datetime | pd.Timestamp | None) -> str:
    """A time from the trail (UTC) as DD Mon YYYY HH:MM:SS UTC."""
    if moment is None or moment == "" or pd.isna(moment):
        return "–"
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return f"{fmt_date(stamp)} {stamp:%H:%M:%S} UTC"


view = access.audit_view()
if view is None:  # require() let the visitor in, so this is a team taken away meanwhile
    st.error("This page is not open to you now.")
    st.stop()
team = view.users  # None: everyone's events (an administrator)

st.title("Audit")
if view.whole:
    st.markdown(
        "Who viewed whom, when and why: every sign-in, search, list of results, person or family "
        "viewed, download and clerical decision, written before anything person-level was shown. "
        "Each row is chained to the one before by a keyed hash, so a row edited, deleted or "
        "re-hashed without the council's key shows below as a break in the chain."
    )
else:
    st.markdown(
        f"What the {fmt_int(len(team or ()))} users of your team did, when and why: their "
        "sign-ins, searches, lists of results, persons and families viewed, downloads and "
        "clerical decisions, and the reasons they gave. You see your own team's events only, "
        "as the council has named your team; what they typed into searches is withheld (it may "
        "name people). The administrators check the whole trail."
    )

try:
    store = state.store()
    now = audit.head(store) if view.whole else None
except audit.StateStoreError as error:
    st.error(f"The audit trail cannot be read: {plain(error)}", icon=":material/error:")
    st.stop()


def chain() -> None:
    """The chain's state and an anchor of its head: the whole trail's, for administrators."""
    assert now is not None
    st.header("The chain")
    checked_key = "audit_checked"
    if st.button("Check the whole chain again", key="audit_check") or (
        st.session_state.get(checked_key) is None
    ):
        with st.spinner("Checking every row of the audit trail"):
            try:
                st.session_state[checked_key] = (audit.verify(store), datetime.now(UTC))
            except audit.AuditKeyError as error:
                st.session_state[checked_key] = (error, datetime.now(UTC))
    result, checked_at = st.session_state[checked_key]
    metric_row(
        [
            Metric("Events in the trail", fmt_int(now.rows), "Rows kept now (older ones purged)."),
            Metric("Latest row", fmt_int(now.head_seq or 0), "Row numbers are never reused."),
            Metric("Latest event", when(now.head_at), "When the newest row was written (UTC)."),
        ]
    )
    if isinstance(result, audit.AuditKeyError):
        st.warning(f"The chain cannot be checked: {plain(result)}", icon=":material/key_off:")
    elif result.ok:
        st.success(
            f"**The chain is intact** (checked {when(checked_at)}): {plain(result.message())}.",
            icon=":material/verified:",
        )
    else:
        st.error(
            f"**The chain is broken** (checked {when(checked_at)}): "
            f"{plain(result.problem)}. Tell the information governance team; the command "
            "`python -m data_model audit verify` names the same row.",
            icon=":material/gpp_bad:",
        )
    if store.demo_key:
        st.info(
            "This trail is keyed with the **public demo key**: it belongs to the synthetic demo "
            "and proves nothing. A council's model needs `[audit] key` in the app's secrets."
        )
    st.markdown(
        f"Head now: row {fmt_int(now.head_seq or 0)}, hash `{plain(now.head_hash or 'none')}`. "
        "Keep an anchor (the row and its hash) somewhere the app cannot write, now and then: "
        "`audit verify --anchor FILE` then also catches rows cut from the end."
    )
    if now.head_seq is not None:
        taken = audit.Anchor(
            now.head_seq, now.head_hash or "", now.rows, datetime.now(UTC).isoformat()
        )
        with st.expander("An anchor of the head now, to keep elsewhere"):
            st.markdown(
                "Copy this into a file the app cannot write (or run `python -m data_model audit "
                "anchor --out FILE`); `python -m data_model audit verify --anchor FILE` checks the "
                "trail against it."
            )
            st.code(taken.to_json(), language="json")


if view.whole:
    chain()

# --- Filters -------------------------------------------------------------------------------------
st.header("Events")
today = datetime.now(UTC).date()
with st.container(horizontal=True, gap="medium"):
    days = st.date_input(
        "Days (UTC)",
        value=(today - timedelta(days=30), today),
        max_value=today,
        format="DD/MM/YYYY",
        key="audit_days",
        width=250,  # two dates in full (stretched, the second was cut off)
    )
    users = st.multiselect(
        "Users",
        audit.users(store, team=team),
        key="audit_users",
        placeholder="Everyone" if team is None else "Your team",
    )
    kinds = st.multiselect(
        "Events",
        list(KIND_LABELS),
        format_func=KIND_LABELS.__getitem__,
        key="audit_kinds",
        placeholder="Every kind",
    )
    person = st.text_input(
        "Person or family id",
        key="audit_person",
        help="Events that name this person or family: viewed, in results, in a decision.",
    )
start, end = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)
filters = {"start": start, "end": end, "users": users, "kinds": kinds,
           "person": person.strip() or None}  # fmt: skip
chosen = [
    f"{fmt_date(start)} to {fmt_date(end)}" if start else "every day",
    f"users: {', '.join(users)}" if users else "everyone" if team is None else "your team",
    f"events: {', '.join(KIND_LABELS[k] for k in kinds)}" if kinds else "every kind of event",
] + ([f"naming {person.strip()}"] if person.strip() else [])
described = "; ".join(chosen)
# Where the trail is kept is the administrators' business, not a team view's.
source = store.where if view.whole else "the council's application-state database"

viewed = audit.viewed_table(
    store, team=team, **{**filters, "kinds": kinds or audit.PERSON_LEVEL_KINDS}
)
viewed["kind"] = viewed["kind"].map(KIND_LABELS)
viewed["when"] = viewed["at_utc"].map(when)
viewed = viewed.fillna({"reason": NO_REASON, "role": NO_ROLE})
st.subheader("Who viewed whom")
st.markdown(
    "One row for each person or family an event showed or named (a list of 20 results gives "
    "20 rows), newest first, with the reason the user gave."
)
table(
    viewed,
    "Who viewed whom",
    {
        "when": Col("When (UTC)"),
        "user_id": Col("User"),
        "role": Col("Role"),
        "viewed": Col("Person or family"),
        "kind": Col("How"),
        "reason": Col("Reason given"),
        "seq": Col("Row", "count"),
    },
    title=f"Who viewed whom ({described})",
    notes=(f"From the audit trail in {source}, {when(datetime.now(UTC))}.",),
    height=320,
    level=view.level,
)

found = audit.event_table(store, team=team, search_terms=view.level == "person", **filters)
found["kind"] = found["kind"].map(KIND_LABELS)
found["when"] = found["at_utc"].map(when)
found = found.fillna({"reason": NO_REASON, "role": NO_ROLE})
st.subheader("Every event")
st.markdown(f"{fmt_int(len(found))} events ({plain(described)}), newest first.")
table(
    found,
    "Audit events",
    {
        "when": Col("When (UTC)"),
        "user_id": Col("User"),
        "role": Col("Role"),
        "kind": Col("Event"),
        "whom": Col("Persons and families"),
        "reason": Col("Reason given"),
        "detail": Col("Detail", help="What the event recorded: search terms, table, rows..."),
        "session_id": Col("Session"),
        "seq": Col("Row", "count", help="The event's row in the audit trail."),
    },
    title=f"Audit events ({described})",
    notes=(f"From the audit trail in {source}, {when(datetime.now(UTC))}.",),
    height=400,
    level=view.level,
)
