"""Who may see what: the product's access rules (data_model/access.yaml), read here so that pages
only ask.

- which product role a signed-in user holds, from the identity provider's claims and the council's
  mapping in secrets (`role_for`);
- which pages a role may open and which tables it may download (`may_open`, `may_download`);
- how much of the audit trail a role sees, and a manager's team from the council's secrets
  (`audit_view`, `team_of`);
- when a session has lasted too long or been idle too long (`session_ended`);
- when a reason for access must be given again (`reason_needed`);
- the rules in words, for the admin's page (`in_words`).

Nothing here knows about Streamlit; the app passes in what it has (claims, secrets, times).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ACCESS_FILE = Path(__file__).with_name("access.yaml")
LEVELS = ("help", "aggregate", "case", "person")
AUDIT_PAGE = "audit"  # the page whose scope a role's `audit` entry sets
AUDIT_SCOPES = ("all", "team", "none")
# The claims Microsoft Entra ID uses: app roles in `roles`, the user's stable id in `oid`.
DEFAULT_ROLE_CLAIM = "roles"
DEFAULT_USER_ID_CLAIM = "oid"
IDLE_ENV = "FFI_IDLE_TIMEOUT_SECONDS"
LONGEST_ENV = "FFI_MAX_SESSION_SECONDS"


class AccessRulesError(ValueError):
    """access.yaml breaks its own rules; the message names the entry."""


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    about: str
    pages: frozenset[str]  # without the Audit page for `audit: team` (it depends on the team)
    downloads: frozenset[str]
    audit: str = "none"  # one of AUDIT_SCOPES


@dataclass(frozen=True)
class Rules:
    pages: dict[str, str]  # page key -> level
    roles: dict[str, Role]  # in order, most able first
    reason_choices: dict[str, str]
    reason_valid_for: timedelta
    reason_per_family: bool
    other_text_max: int
    idle_timeout: timedelta
    max_session: timedelta
    contact: str
    team_audit_level: str = "case"


def _role(key: str, entry: Mapping[str, Any], pages: Mapping[str, str]) -> Role:
    listed = entry.get("pages", [])
    chosen = set(pages) if listed == "all" else set(listed or [])
    unknown = chosen - set(pages)
    if unknown:
        raise AccessRulesError(f"access.yaml: role {key}: unknown pages {sorted(unknown)}")
    downloads = set(entry.get("downloads") or [])
    if downloads - set(LEVELS):
        raise AccessRulesError(
            f"access.yaml: role {key}: unknown download levels {sorted(downloads - set(LEVELS))}"
        )
    # The help pages open for everyone, whatever a role lists.
    chosen |= {page for page, level in pages.items() if level == "help"}
    audit = str(entry.get("audit") or ("all" if AUDIT_PAGE in chosen else "none"))
    if audit not in AUDIT_SCOPES:
        raise AccessRulesError(
            f"access.yaml: role {key}: audit {audit!r} is not one of {', '.join(AUDIT_SCOPES)}"
        )
    if AUDIT_PAGE in pages:
        # The scope decides the Audit page: a team scope opens it per user (audit_view).
        chosen = chosen | {AUDIT_PAGE} if audit == "all" else chosen - {AUDIT_PAGE}
    return Role(
        key=key,
        title=str(entry.get("title") or key.title()),
        about=str(entry.get("about") or ""),
        pages=frozenset(chosen),
        downloads=frozenset(downloads),
        audit=audit,
    )


def _seconds_from_env(name: str) -> timedelta | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError as error:
        raise AccessRulesError(f"{name}={value!r} is not a number of seconds") from error
    if seconds <= 0:
        raise AccessRulesError(f"{name}={value!r} must be more than 0 seconds")
    return timedelta(seconds=seconds)


def parse_rules(raw: Mapping[str, Any]) -> Rules:
    """The rules from access.yaml's content, checked; timeouts overridden by the environment."""
    pages = {str(k): str(v) for k, v in (raw.get("pages") or {}).items()}
    bad = {k: v for k, v in pages.items() if v not in LEVELS}
    if bad:
        raise AccessRulesError(f"access.yaml: pages with an unknown level: {bad}")
    roles = {str(k): _role(str(k), v or {}, pages) for k, v in (raw.get("roles") or {}).items()}
    if not roles:
        raise AccessRulesError("access.yaml: no roles")
    reason = raw.get("reason") or {}
    choices = {str(k): str(v) for k, v in (reason.get("choices") or {}).items()}
    if "other" not in choices:
        raise AccessRulesError("access.yaml: reason.choices must include 'other'")
    session = raw.get("session") or {}
    team_level = str(raw.get("team_audit_level") or "case")
    if team_level not in LEVELS or team_level == "help":
        raise AccessRulesError(f"access.yaml: team_audit_level {team_level!r} is not a data level")
    return Rules(
        pages=pages,
        roles=roles,
        reason_choices=choices,
        reason_valid_for=timedelta(minutes=float(reason.get("ask_again_after_minutes", 240))),
        reason_per_family=bool(reason.get("ask_again_when_family_changes", True)),
        other_text_max=int(reason.get("other_text_max_characters", 200)),
        idle_timeout=_seconds_from_env(IDLE_ENV)
        or timedelta(minutes=float(session.get("idle_timeout_minutes", 30))),
        max_session=_seconds_from_env(LONGEST_ENV)
        or timedelta(hours=float(session.get("max_session_hours", 10))),
        contact=str(raw.get("contact") or ""),
        team_audit_level=team_level,
    )


@cache
def _rules_cached(idle: str | None, longest: str | None) -> Rules:
    with ACCESS_FILE.open(encoding="utf-8") as f:
        return parse_rules(yaml.safe_load(f))


def rules() -> Rules:
    """The product's access rules (read once per value of the timeout overrides)."""
    return _rules_cached(os.environ.get(IDLE_ENV), os.environ.get(LONGEST_ENV))


# --- Pages and downloads -------------------------------------------------------------------------


def audit_scope(role: str | None) -> str:
    """How much of the audit trail a role sees: 'all', 'team' or 'none'."""
    found = rules().roles.get(role or "")
    return found.audit if found is not None else "none"


def page_level(page: str, role: str | None = None) -> str:
    """What a page shows at its most detailed (to `role`, when given: the Audit page shows a role
    with a team scope less); a page the rules do not name counts as person."""
    if role is not None and page == AUDIT_PAGE and audit_scope(role) == "team":
        return rules().team_audit_level
    return rules().pages.get(page, "person")


def may_open(role: str | None, page: str, team: Collection[str] | None = None) -> bool:
    """Whether a role may open a page. No role (signed out, or signed in without one): the help
    pages only. The Audit page opens for a role with a team scope only when the user has a team
    (`team`: its users, from team_of)."""
    if page_level(page) == "help":
        return page in rules().pages
    found = rules().roles.get(role or "")
    if found is None:
        return False
    if page == AUDIT_PAGE and found.audit == "team":
        return bool(team)
    return page in found.pages


@dataclass(frozen=True)
class AuditView:
    """What of the audit trail a user sees on the Audit page: everything (`users` None, with the
    chain's state and anchor), or only the events of `users` (a manager's team) at `level`."""

    users: frozenset[str] | None
    level: str

    @property
    def whole(self) -> bool:
        return self.users is None


def audit_view(role: str | None, team: Collection[str] | None = None) -> AuditView | None:
    """The user's view of the audit trail, or None when they may not open the Audit page."""
    scope = audit_scope(role)
    if scope == "all" and may_open(role, AUDIT_PAGE):
        return AuditView(None, page_level(AUDIT_PAGE))
    if scope == "team" and team:
        return AuditView(frozenset(team), rules().team_audit_level)
    return None


def team_of(user: str | None, teams: Mapping[str, Any] | None) -> frozenset[str]:
    """The users of `user`'s team in the council's [audit.teams] secrets (a manager's id, as the
    audit trail records users, to the ids of their team's users); empty without one."""
    if not user:
        return frozenset()
    members = (teams or {}).get(user)
    return frozenset(m.strip() for m in _as_list(members) if m.strip())


def may_download(role: str | None, level: str) -> bool:
    """Whether a role may download a table of this level (help-level tables are the help pages')."""
    found = rules().roles.get(role or "")
    if level == "help":
        return True
    return found is not None and level in found.downloads


def needs_reason(page: str, role: str | None = None) -> bool:
    """Whether a reason for access is asked before the page shows anything (to `role`)."""
    return page_level(page, role) == "person"


# --- Roles from the identity provider ------------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def user_id(claims: Mapping[str, Any], mapping: Mapping[str, Any] | None = None) -> str | None:
    """The user's stable id: the claim the mapping names (Entra's `oid` by default), else `sub`."""
    claim = str((mapping or {}).get("user_id_claim") or DEFAULT_USER_ID_CLAIM)
    for name in (claim, "sub"):
        value = claims.get(name)
        if value:
            return str(value)
    return None


def role_for(claims: Mapping[str, Any], mapping: Mapping[str, Any] | None) -> str | None:
    """The product role of a signed-in user, or None.

    `mapping` is the council's [roles] secrets section: `by_user_id` (a user's stable id, Entra's
    `oid`, to a role) wins; else each value of the role claim (`roles`, Entra's app roles) is
    looked up in `by_app_role`, and the most able of the roles found counts. A mapped value that
    is not a product role is ignored.
    """
    mapping = mapping or {}
    known = rules().roles
    by_user = {str(k): str(v) for k, v in (mapping.get("by_user_id") or {}).items()}
    uid = user_id(claims, mapping)
    if uid is not None and by_user.get(uid) in known:
        return by_user[uid]
    by_app_role = {str(k): str(v) for k, v in (mapping.get("by_app_role") or {}).items()}
    claim = str(mapping.get("role_claim") or DEFAULT_ROLE_CLAIM)
    held = {by_app_role.get(value) for value in _as_list(claims.get(claim))}
    return next((role for role in known if role in held), None)


def unknown_mapped_roles(mapping: Mapping[str, Any] | None) -> list[str]:
    """Product roles the council's mapping names that the rules do not know (a typo in secrets)."""
    mapping = mapping or {}
    named = [
        *(mapping.get("by_user_id") or {}).values(),
        *(mapping.get("by_app_role") or {}).values(),
    ]
    return sorted({str(v) for v in named} - set(rules().roles))


# --- Sessions ------------------------------------------------------------------------------------


def session_ended(
    signed_in_at: datetime | None,
    last_seen: datetime | None,
    now: datetime,
    idle_timeout: timedelta | None = None,
    max_session: timedelta | None = None,
) -> str | None:
    """Why a sign-in may no longer be used, or None while it may.

    'too long': more than the maximum session length since the identity provider signed the
    user in (the ID token's iat). 'idle': more than the idle timeout since the app last saw the
    sign-in in use, or, when it has never seen it (a new server, another replica), since sign-in.
    """
    idle_timeout = idle_timeout or rules().idle_timeout
    max_session = max_session or rules().max_session
    if signed_in_at is not None and now - signed_in_at > max_session:
        return "too long"
    since = last_seen or signed_in_at
    if since is not None and now - since > idle_timeout:
        return "idle"
    return None


# --- Reasons for access --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """A reason for access given in a session."""

    code: str
    text: str  # the words for 'other', else the choice's label
    given_at: datetime
    family: str | None = None

    def recorded(self) -> str:
        """The reason as the audit trail records it with each event."""
        label = rules().reason_choices.get(self.code, self.code)
        return f"{label}: {self.text}" if self.code == "other" else label


def check_reason(code: str, text: str) -> str | None:
    """Why a reason cannot be accepted (one line for the user), or None when it can."""
    r = rules()
    if code not in r.reason_choices:
        return "Choose a reason."
    if code == "other":
        words = text.strip()
        if not words:
            return "Say in a few words why you need to see people's records."
        if len(words) > r.other_text_max:
            return f"Keep the reason to {r.other_text_max} characters or fewer."
    return None


def reason_needed(given: Reason | None, now: datetime, family: str | None = None) -> bool:
    """Whether the user must (again) give a reason before a person-level view: none given yet,
    the last one too old, or (per the rules) given for another family."""
    r = rules()
    if given is None or now - given.given_at > r.reason_valid_for:
        return True
    return r.reason_per_family and family is not None and family != given.family


# --- In words ------------------------------------------------------------------------------------

LEVEL_WORDS = {
    "aggregate": "district figures",
    "case": "case and family ids",
    "person": "people's records",
}


def _listed(items: list[str]) -> str:
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def in_words(titles: Mapping[str, str]) -> list[tuple[str, str]]:
    """Each role and what it may do, in a sentence (titles: page key -> the page's title)."""
    r = rules()
    help_pages = [titles.get(p, p) for p, level in r.pages.items() if level == "help"]
    out = []
    for role in r.roles.values():
        pages = [titles.get(p, p) for p in r.pages if p in role.pages and r.pages[p] != "help"]
        if role.audit == "team" and AUDIT_PAGE in r.pages:
            pages.append(
                f"{titles.get(AUDIT_PAGE, AUDIT_PAGE)} for their own team's events only (when "
                "the council names the team)"
            )
        opens = f"Opens {_listed(pages)}" if pages else "Opens no data pages yet"
        downloads = [LEVEL_WORDS[level] for level in LEVELS if level in role.downloads]
        takes = f"downloads tables of {_listed(downloads)}" if downloads else "downloads no tables"
        person = [titles.get(p, p) for p in role.pages if r.pages.get(p) == "person"]
        asked = f"; gives a reason for access before {_listed(sorted(person))}" if person else ""
        out.append(
            (role.title, f"{opens}, and the help pages ({_listed(help_pages)}); {takes}{asked}.")
        )
    return out
