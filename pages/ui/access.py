"""Who is looking: sign-in (Streamlit's OIDC, st.login / st.user / st.logout), the product role,
the gate every page calls on its first line, the reason for access, downloads by role, and the
one adapter through which the app writes the audit trail.

The rules (which role opens which page, timeouts, reasons) are data_model.access's; the mapping
from the identity provider's claims to roles is the council's, in secrets ([roles]). app.py calls
`resolve()` once per run, before st.navigation; each page then calls `require(key)` first.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from data_model import access as rules
from data_model import disclosure
from data_model.state import audit
from pages import registry
from pages.ui import model, state
from pages.ui.formats import fmt_duration, plain

log = logging.getLogger(__name__)

VISITOR_KEY = "_ffi_visitor"  # set by app.py every run, read by require() and the downloads
REASON_KEY = "_ffi_reason"
OPENED_KEY = "_ffi_opened"  # the page whose opening was last audited in this session
DEMO_ROLE_KEY = "demo_role"  # the demo's "View as role" selector
DEMO_CHOSEN_KEY = "_ffi_demo_role"  # the role it chose
ROLE_CHANGED_KEY = "_ffi_role_changed"
DEMO_DEFAULT_ROLE = "admin"  # the demo shows everything until the visitor picks a role
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
PERSON_LEVELS = ("case", "person")  # pages that show nothing when the audit cannot be written


@dataclass(frozen=True)
class Visitor:
    """Who this run is for.

    mode: 'demo' (synthetic model, no sign-in configured: the "View as role" selector),
    'signed_in', 'signed_out', 'ended' (signed in, but idle or signed in too long ago) or
    'configure' (a real model and no sign-in configured: nothing but how to configure it).
    """

    mode: str
    role: str | None
    user: str  # the audit trail's user: the identity provider's stable id (oid, else sub)
    name: str  # for the sidebar
    session: str
    sign_in: str | None = None  # a digest naming this sign-in (user, time), for the timeouts
    ended: str | None = None  # why the session ended: 'idle', 'too long' or 'signed out'
    synthetic: bool = False
    claims: dict[str, Any] = field(default_factory=dict, compare=False)


# --- Secrets -------------------------------------------------------------------------------------


def secrets_section(name: str) -> dict[str, Any]:
    """One section of .streamlit/secrets.toml as a plain dict; empty when there is none."""
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        value = st.secrets.get(name)
    except StreamlitSecretNotFoundError:
        return {}
    if value is None:
        return {}
    return value.to_dict() if hasattr(value, "to_dict") else dict(value)


def missing_auth_keys() -> list[str]:
    """The [auth] keys Streamlit's sign-in needs that secrets do not give (names only)."""
    section = secrets_section("auth")
    return [key for key in AUTH_KEYS if not str(section.get(key) or "").strip()]


def sign_in_configured() -> bool:
    """Whether the council's identity provider is configured: every [auth] key is given."""
    return not missing_auth_keys()


# --- Sign-ins and their timeouts -----------------------------------------------------------------


@dataclass
class _SignIn:
    first_seen: datetime
    last_seen: datetime
    ended: str | None = None


@dataclass(frozen=True)
class Use:
    """A sign-in's use as the server saw it: why it has ended (None while it may be used),
    whether the server had not seen it before, and whether it ended with this use."""

    ended: str | None
    new: bool
    just_ended: bool


class SignIns:
    """The sign-ins this server has seen, with when each was last used (one per process: a
    second replica sees a sign-in as new, and ends it if it was signed in longer ago than the
    idle timeout)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, _SignIn] = {}

    def touch(self, key: str, signed_in_at: datetime | None, now: datetime) -> Use:
        """Record a use of the sign-in, unless it has ended (then say why, and whether it ended
        just now: the moment to write it to the audit trail, once)."""
        with self._lock:
            entry = self._seen.get(key)
            new = entry is None
            if entry is not None and entry.ended:
                return Use(entry.ended, new=False, just_ended=False)
            start = signed_in_at or (entry.first_seen if entry else now)
            why = rules.session_ended(start, entry.last_seen if entry else None, now)
            if why:
                self._seen[key] = _SignIn(entry.first_seen if entry else now, now, why)
                return Use(why, new=new, just_ended=True)
            if entry is None:
                self._prune(now)
                self._seen[key] = _SignIn(now, now)
            else:
                entry.last_seen = now
            return Use(None, new=new, just_ended=False)

    def peek(self, key: str, signed_in_at: datetime | None, now: datetime) -> str | None:
        """Why the sign-in has ended, without counting this as a use."""
        with self._lock:
            entry = self._seen.get(key)
            if entry is None:
                return None
            if entry.ended:
                return entry.ended
            return rules.session_ended(signed_in_at or entry.first_seen, entry.last_seen, now)

    def end(self, key: str, why: str) -> None:
        with self._lock:
            entry = self._seen.get(key)
            now = datetime.now(UTC)
            self._seen[key] = _SignIn(entry.first_seen if entry else now, now, why)

    def _prune(self, now: datetime) -> None:
        longest = rules.rules().max_session + rules.rules().idle_timeout
        for key in [k for k, v in self._seen.items() if now - v.last_seen > longest]:
            del self._seen[key]


@st.cache_resource(show_spinner=False)
def sign_ins() -> SignIns:
    return SignIns()


def _signed_in_at(claims: Mapping[str, Any]) -> datetime | None:
    """When the identity provider signed the user in: the ID token's iat (issued at)."""
    issued = claims.get("iat")
    try:
        return datetime.fromtimestamp(float(issued), UTC) if issued is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


def _sign_in_key(claims: Mapping[str, Any], user: str) -> str:
    basis = f"{claims.get('provider', '')}|{user}|{claims.get('iat', '')}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


# --- Who is looking ------------------------------------------------------------------------------


def session_id() -> str:
    """This browser session's id, for the audit trail (Streamlit's, as pages/ui/state's)."""
    return state.session_id()


def _user_claims() -> dict[str, Any]:
    try:
        return st.user.to_dict()
    except Exception:  # no script context (never in a run): nobody
        return {}


def resolve(model_info: Mapping[str, Any]) -> Visitor:
    """Who this run is for; app.py calls it once per run, before st.navigation. Writes sign-in
    and session-ended events to the audit trail."""
    synthetic = bool(model_info.get("is_synthetic"))
    session = session_id()
    if not sign_in_configured():
        if not synthetic:
            visitor = Visitor("configure", None, "not signed in", "", session)
        else:
            role = st.session_state.get(DEMO_CHOSEN_KEY, DEMO_DEFAULT_ROLE)
            if role not in rules.rules().roles:
                role = DEMO_DEFAULT_ROLE
            visitor = Visitor("demo", role, "demo visitor", "Demo visitor", session, synthetic=True)
        st.session_state[VISITOR_KEY] = visitor
        return visitor

    claims = _user_claims()
    if not claims.get("is_logged_in"):
        visitor = Visitor("signed_out", None, "not signed in", "", session, synthetic=synthetic)
        st.session_state[VISITOR_KEY] = visitor
        return visitor

    mapping = secrets_section("roles")
    user = rules.user_id(claims, mapping) or "unknown user"
    name = str(
        claims.get("name") or claims.get("email") or claims.get("preferred_username") or user
    )
    key = _sign_in_key(claims, user)
    role = rules.role_for(claims, mapping)
    use = sign_ins().touch(key, _signed_in_at(claims), datetime.now(UTC))
    ended = use.ended
    visitor = Visitor(
        "ended" if ended else "signed_in",
        None if ended else role,
        user,
        name,
        session,
        sign_in=key,
        ended=ended,
        synthetic=synthetic,
        claims={k: claims[k] for k in ("email", "name", "preferred_username") if k in claims},
    )
    if use.new and not ended:
        _audit_quietly("sign_in", visitor, role=role, **visitor.claims)
    elif use.just_ended:  # once per sign-in, whichever tab or replica run saw it end
        _audit_quietly("sign_out", visitor, role=role, why=ended)
    st.session_state[VISITOR_KEY] = visitor
    return visitor


@dataclass(frozen=True)
class Actor:
    """Who does something the audit trail records with it (a clerical decision)."""

    user: str
    role: str | None
    session: str
    reason: str | None


def actor(typed_name: str = "") -> Actor:
    """The signed-in user with their role, session and reason for access; in the demo, the name
    typed on the page, marked as not signed in."""
    visitor = current()
    reason = reason_given()
    if visitor is None or visitor.mode != "signed_in":
        typed = typed_name.strip()
        user = f"{typed} (not signed in)" if typed else "not signed in"
        role = visitor.role if visitor else None
        return Actor(user, role, session_id(), reason.recorded() if reason else None)
    return Actor(visitor.user, visitor.role, visitor.session, reason.recorded() if reason else None)


def current_mode() -> str | None:
    """The current visitor's mode ('demo', 'signed_in', ...), None without app.py."""
    visitor = current()
    return visitor.mode if visitor else None


def current() -> Visitor | None:
    """The visitor app.py resolved for this run (None when a page runs without app.py)."""
    return st.session_state.get(VISITOR_KEY)


def audit_team(visitor: Visitor | None = None) -> frozenset[str]:
    """The users of the visitor's own team, whose events a manager sees on the Audit page: the
    council's [audit.teams] secrets, keyed by the user's id as the audit trail records it (the
    `oid`); empty when none is named."""
    visitor = visitor or current()
    if visitor is None or visitor.mode not in ("signed_in", "demo"):
        return frozenset()
    return rules.team_of(visitor.user, secrets_section("audit").get("teams"))


def _may_open(visitor: Visitor | None, page: str) -> bool:
    if visitor is None or visitor.mode == "configure":
        return False
    # The Audit page opens for a team scope only with a team: read the secrets only for it.
    team = audit_team(visitor) if page == rules.AUDIT_PAGE else None
    return rules.may_open(visitor.role, page, team)


def may_open(page: str) -> bool:
    """Whether the current visitor may open a page (for links between pages)."""
    return _may_open(current(), page)


def audit_view() -> rules.AuditView | None:
    """What of the audit trail the current visitor sees on the Audit page (None: nothing)."""
    visitor = current()
    if visitor is None or visitor.mode == "configure":
        return None
    return rules.audit_view(visitor.role, audit_team(visitor))


def shows_exact_counts() -> bool:
    """Whether the visitor may see exact counts on screen (data_model/wards.yaml,
    disclosure.exact_counts_on_screen); a councillor, or no role, never does."""
    visitor = current()
    return visitor is not None and disclosure.shows_exact_counts(visitor.role)


def role_title(role: str | None) -> str:
    found = rules.rules().roles.get(role or "")
    return found.title if found else "no role"


# --- The audit adapter ---------------------------------------------------------------------------


class AuditUnavailable(RuntimeError):
    """The audit trail could not be written: show nothing person-level, and say so."""


def _store_for(visitor: Visitor) -> Any:
    """The audit store (pages/ui/state): the demo key only for a synthetic model. Raises
    AuditUnavailable when it cannot be opened."""
    try:
        return state.store({"is_synthetic": visitor.synthetic})
    except audit.AuditWriteError as error:
        log.error("the audit trail could not be opened: %s", error)
        raise AuditUnavailable(str(error)) from error


def audit_event(
    kind: str, visitor: Visitor | None = None, *, role: Any = ..., **detail: Any
) -> None:
    """Write one event to the audit trail, with the visitor's user, role, session and reason for
    access. Raises AuditUnavailable when it cannot be written (the caller shows nothing
    person-level). Logs the failure's kind only: never a person, a search or a reason."""
    visitor = visitor or current()
    if visitor is None:
        raise AuditUnavailable("no visitor for this run")
    reason = st.session_state.get(REASON_KEY)
    try:
        audit.record(
            _store_for(visitor),
            kind,
            user=visitor.user,
            role=visitor.role if role is ... else role,
            session=visitor.session,
            reason=reason.recorded() if reason else None,
            detail=detail or None,
        )
    except audit.AuditWriteError as error:
        log.error("audit event %s could not be written: %s", kind, error)
        raise AuditUnavailable(str(error)) from error


def audit_before_showing(kind: str, **detail: Any) -> None:
    """Write a person-level event before what it records is drawn; when the trail cannot be
    written, say so and stop the run, so nothing it would have recorded is shown."""
    try:
        audit_event(kind, **detail)
    except AuditUnavailable as error:
        st.error(_audit_failed_message(error), icon=":material/error:")
        st.stop()


def _audit_quietly(kind: str, visitor: Visitor, **detail: Any) -> bool:
    """An event that shows nothing person-level (sign-in, a refusal): a failure is logged and
    shown, not fatal."""
    try:
        audit_event(kind, visitor, **detail)
        return True
    except AuditUnavailable:
        return False


def _audit_failed_message(error: AuditUnavailable) -> str:
    return (
        "**The audit trail could not be written, so this page shows nothing.** Every view of "
        "families' records is recorded before it is shown. Try again in a minute; if it goes on, "
        "tell whoever runs the dashboard (the server's log says why). "
        f"({plain(error)})"
    )


# --- The gate ------------------------------------------------------------------------------------


def _refuse(page: str, visitor: Visitor | None) -> None:
    if visitor is not None and visitor.mode not in ("configure",):
        no_team = page == rules.AUDIT_PAGE and rules.audit_scope(visitor.role) == "team"
        why = "no team named for this user" if no_team else "role may not open this page"
        _audit_quietly("access_refused", visitor, page=page, why=why)
    if visitor is None or visitor.mode == "configure":
        st.error("This page opens only inside the app: go to its home page.")
    elif visitor.mode == "signed_out":
        st.error("**Sign in to see this page.** Use *Sign in* on the home page.")
    elif visitor.mode == "ended":
        st.error("**Your session has ended.** Sign in again to see this page.")
    elif page == rules.AUDIT_PAGE and rules.audit_scope(visitor.role) == "team":
        contact = secrets_section("roles").get("contact") or rules.rules().contact
        st.error(
            f"**This page is not open to your role ({plain(role_title(visitor.role))}) without "
            "a team**: it shows you your own team's events once the council names your team, "
            f"and yours is not named yet. If your work needs it, ask {plain(contact)}."
        )
    else:
        contact = secrets_section("roles").get("contact") or rules.rules().contact
        st.error(
            f"**This page is not open to your role** ({plain(role_title(visitor.role))}). If "
            f"your work needs it, ask {plain(contact)}."
        )
    st.stop()


def require(page: str, family: str | None = None) -> Visitor:
    """The first line of every page: stop unless the visitor may open `page`; before a page that
    shows people, ask for a reason for access; write the page's opening to the audit trail before
    anything is drawn (a page with case or person detail shows nothing when it cannot)."""
    model.hand_over_to_app_if_run_alone()
    visitor = current()
    if not _may_open(visitor, page):
        _refuse(page, visitor)
    assert visitor is not None
    st.session_state["_ffi_page"] = page
    level = rules.page_level(page, visitor.role)
    entry = registry.BY_KEY.get(page)
    heading = entry.heading if entry else page
    if level == "help":
        return visitor
    if rules.needs_reason(page, visitor.role):
        ask_reason(heading, family)
    if st.session_state.get(OPENED_KEY) != page:
        try:
            audit_event("page_opened", visitor, page=page)
        except AuditUnavailable as error:
            if level in PERSON_LEVELS:
                st.title(heading)
                st.error(_audit_failed_message(error), icon=":material/error:")
                st.stop()
            st.warning("The audit trail could not be written; this page holds no personal data.")
        else:
            st.session_state[OPENED_KEY] = page
    return visitor


def current_level() -> str:
    """The level of the page this run shows to this visitor (a page's tables are of its level)."""
    visitor = current()
    role = visitor.role if visitor else None
    return rules.page_level(st.session_state.get("_ffi_page", ""), role)


def may_download(level: str | None = None) -> bool:
    """Whether the visitor may download a table of this level (default: the page's)."""
    visitor = current()
    if visitor is None or visitor.mode == "configure":
        return False
    return rules.may_download(visitor.role, level or current_level())


def download_recorder(
    name: str, rows: int, level: str | None = None, detail: Mapping[str, Any] | None = None
) -> Any:
    """What a download button calls when its file is made: the download's audit event, written
    before the file leaves (an exception stops the file). Captures the visitor now, since the
    file is made outside the page's run. `detail`: more for the event (the persons and family a
    file names)."""
    visitor = current()
    reason = st.session_state.get(REASON_KEY)
    try:
        store = _store_for(visitor) if visitor else None
    except AuditUnavailable:
        store = None
    level = level or current_level()

    def record() -> None:
        if visitor is None or store is None:
            raise AuditUnavailable("no visitor")
        try:
            audit.record(
                store,
                "download",
                user=visitor.user,
                role=visitor.role,
                session=visitor.session,
                reason=reason.recorded() if reason else None,
                detail={
                    **(detail or {}),
                    "table": name,
                    "rows": int(rows),
                    "role": visitor.role,
                    "level": level,
                },
            )
        except audit.AuditWriteError as error:
            log.error("audit event download could not be written: %s", error)
            raise AuditUnavailable(str(error)) from error

    return record


# --- The reason for access -----------------------------------------------------------------------


def reason_given() -> rules.Reason | None:
    return st.session_state.get(REASON_KEY)


def ask_reason(heading: str, family: str | None = None) -> rules.Reason:
    """The reason for access of this session; when none is valid (none yet, too old, another
    family), the form asking for one, and the page stops until it is given."""
    r = rules.rules()
    given = reason_given()
    now = datetime.now(UTC)
    if not rules.reason_needed(given, now, family):
        assert given is not None
        return given
    st.title(heading)
    st.subheader("Why do you need to see people's records?")
    again = f"after {fmt_duration(r.reason_valid_for.total_seconds())}"
    st.markdown(
        "This page shows people's names, dates of birth or addresses. Before it opens, say why "
        "you need them: your reason is recorded in the audit trail with everything you view in "
        f"this session. You will be asked again {again}"
        + (" or when you move to another family." if r.reason_per_family else ".")
    )
    with st.form("reason_for_access", border=True):
        code = st.radio(
            "Reason for access",
            list(r.reason_choices),
            format_func=r.reason_choices.__getitem__,
            index=None,
            key="reason_code",
        )
        text = st.text_input(
            "If other, say why in a few words",
            max_chars=r.other_text_max,
            key="reason_text",
            help="Recorded in the audit trail. Do not name the person or family.",
        )
        submitted = st.form_submit_button("Continue", type="primary")
    if submitted:
        problem = rules.check_reason(code or "", text or "")
        if problem:
            st.error(problem)
        else:
            label = r.reason_choices[code]
            reason = rules.Reason(
                code, (text or "").strip() if code == "other" else label, now, family
            )
            st.session_state[REASON_KEY] = reason
            try:
                detail = {"reason_code": code} | ({"family_id": family} if family else {})
                audit_event("reason_given", **detail)
            except AuditUnavailable as error:
                del st.session_state[REASON_KEY]
                st.error(_audit_failed_message(error), icon=":material/error:")
                st.stop()
            st.rerun()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the run


def reason_for_family(heading: str, family: str) -> rules.Reason:
    """Before a family is shown (the family lookup): the session's reason, for this family. A
    reason given without a family (on opening the page) covers the first family opened; moving
    to another family asks again (access.yaml: ask_again_when_family_changes), as does a reason
    grown too old."""
    given = reason_given()
    if (
        given is not None
        and given.family is None
        and not rules.reason_needed(given, datetime.now(UTC))
    ):
        bound = replace(given, family=family)
        st.session_state[REASON_KEY] = bound
        return bound
    return ask_reason(heading, family)


# --- The sidebar: who is signed in, sign out; the demo's "View as role" --------------------------


def sign_out(visitor: Visitor) -> None:
    """Record the sign-out, end this sign-in here (other tabs too), then Streamlit's logout."""
    _audit_quietly("sign_out", visitor, why="signed out")
    if visitor.sign_in:
        sign_ins().end(visitor.sign_in, "signed out")
    for key in (REASON_KEY, OPENED_KEY):
        st.session_state.pop(key, None)
    st.logout()
    st.stop()


def _watch_interval() -> timedelta:
    """How often an open page checks whether its session has ended (it then clears itself)."""
    idle = rules.rules().idle_timeout
    return min(timedelta(seconds=60), max(timedelta(seconds=2), idle / 4))


def _watch(visitor: Visitor) -> None:
    """While a page is open, check every few seconds whether the sign-in has ended (idle, too
    long, signed out in another tab); if so, rerun the app, which then shows nothing but the
    sign-in again. Checking does not count as use."""

    @st.fragment(run_every=_watch_interval())
    def check() -> None:
        claims = _user_claims()
        if visitor.sign_in and sign_ins().peek(
            visitor.sign_in, _signed_in_at(claims) if claims else None, datetime.now(UTC)
        ):
            st.rerun(scope="app")

    check()


def _demo_role_changed() -> None:
    # Kept apart from the widget's own state, which Streamlit drops in a run that ends before the
    # sidebar is drawn (a switch to the new role's home page).
    st.session_state[DEMO_CHOSEN_KEY] = st.session_state[DEMO_ROLE_KEY]
    st.session_state[ROLE_CHANGED_KEY] = True


def role_just_changed() -> bool:
    """Whether the demo's role was changed for this run (app.py then leaves a page the new
    role may not open for the role's home page)."""
    return bool(st.session_state.pop(ROLE_CHANGED_KEY, False))


def sidebar(visitor: Visitor) -> None:
    """Who is looking and how to stop: on every page."""
    with st.sidebar:
        if visitor.mode == "demo":
            titles = {key: role.title for key, role in rules.rules().roles.items()}
            st.selectbox(
                "View as role (demo only)",
                list(titles),
                index=list(titles).index(visitor.role),
                format_func=titles.__getitem__,  # a dict's lookup, unlike a lambda, pickles
                on_change=_demo_role_changed,
                key=DEMO_ROLE_KEY,
                help="The synthetic demo has no sign-in. Choose a role to see what it sees: its "
                "pages, its downloads and the reason for access it is asked for.",
            )
            st.caption("Demo: no sign-in. A council's own model opens only behind its sign-in.")
        elif visitor.mode in ("signed_in", "ended"):
            held = "session ended" if visitor.mode == "ended" else role_title(visitor.role)
            st.markdown(f"Signed in as **{plain(visitor.name)}** ({plain(held)})")
            if st.button("Sign out", key="sign_out", icon=":material/logout:"):
                sign_out(visitor)
            if visitor.mode == "signed_in":
                _watch(visitor)
