"""The family lookup's family and services (issue 14): who is in a child's family, and which
services are or were involved with each person, as Family Context showed them.

The family is the child's linked family (mart_family_member, made by linkage from shared
addresses, relationships recorded in early help and shared early help cases). Each member's
relationship to the child is the one early help recorded (mart_lookup_relationship), else one
inferred from the evidence and labelled so ("Adult at the same address"); why they are in the
family is that evidence in plain words. A member whose records place them at another address than
the child after their last day together, or whose recorded relationship ended, is shown apart
with the day. A pair of records the linkage was unsure of and no one has decided
(mart_linkage_review_queue) is said beside the person.

Services are data_model/lookup.yaml's (`services:`): each gathers the feeds of
mart_lookup_involvement it names, and is Current (a record still open, or an event recent
enough), Historic (records, none current) or None found, within the years of history the
settings say, with its team and contact, the start of the last involvement and the last recorded
interaction. The age rules (Family Context's Stockport rules by default) are applied here, not
in the page. Every text this module returns is plain text from data: a page shows it as text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import yaml

from data_model.read.connection import query_row
from loaders.contracts import BY_SOURCE

LOOKUP_FILE = Path(__file__).resolve().parents[1] / "lookup.yaml"
YEAR_DAYS = 365.25
CURRENT, HISTORIC, NONE_FOUND = "Current", "Historic", "None found"


class LookupSettingsError(ValueError):
    """lookup.yaml's family or services section breaks its own rules; the message names it."""


# --- Settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedRule:
    feed: str  # mart_lookup_involvement.feed
    current_for_days: int | None  # an event counts as current this long after it

    @property
    def source(self) -> str:
        return self.feed.split(":", 1)[0]


@dataclass(frozen=True)
class ServiceRule:
    name: str
    system: str
    feeds: tuple[FeedRule, ...]
    age_from: int | None
    age_to: int | None
    history_years: float
    area: str

    def applies_at(self, age: int | None) -> bool:
        """Whether the age rules show the service for a person of this age (unknown: shown)."""
        if age is None:
            return True
        return (self.age_from is None or age >= self.age_from) and (
            self.age_to is None or age <= self.age_to
        )

    @property
    def age_words(self) -> str:
        if self.age_from is not None and self.age_to is not None:
            return f"{self.name}: shown for ages {self.age_from} to {self.age_to}"
        if self.age_from is not None:
            return f"{self.name}: shown from age {self.age_from}"
        return f"{self.name}: shown up to age {self.age_to}"


@dataclass(frozen=True)
class LookupSettings:
    services: tuple[ServiceRule, ...]
    source_labels: dict[str, str]
    inverse_relationships: dict[str, tuple[str, str, str]]
    adult_order: tuple[str, ...]
    police_records_shown: int
    safeguarding_categories: frozenset[str]
    nature_of_involvement: dict[str, str]
    benefit_names: dict[str, str]


def _ages(name: str, ages: Any) -> tuple[int | None, int | None]:
    if ages is None:
        return None, None
    if not isinstance(ages, dict) or set(ages) - {"from", "to"}:
        raise LookupSettingsError(f"lookup.yaml: service {name}: ages takes from and to")
    low, high = ages.get("from"), ages.get("to")
    for value in (low, high):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise LookupSettingsError(f"lookup.yaml: service {name}: ages must be whole years")
    if low is not None and high is not None and high < low:
        raise LookupSettingsError(f"lookup.yaml: service {name}: ages to is before from")
    return low, high


def parse_settings(document: dict) -> LookupSettings:
    """The family and services sections of lookup.yaml, checked."""
    family, services = document.get("family") or {}, document.get("services") or {}
    default_years = services.get("history_years")
    default_area = services.get("area")
    if not isinstance(default_years, int | float) or default_years <= 0:
        raise LookupSettingsError("lookup.yaml: services: history_years must be a positive number")
    rules = []
    for entry in services.get("list") or []:
        name = entry.get("name")
        if not name:
            raise LookupSettingsError("lookup.yaml: services: a service without a name")
        feeds = []
        for feed in entry.get("feeds") or []:
            source = str(feed.get("feed", "")).split(":", 1)[0]
            if source not in BY_SOURCE:
                raise LookupSettingsError(
                    f"lookup.yaml: service {name}: feed {feed.get('feed')!r} names no source"
                )
            days = feed.get("current_for_days")
            if days is not None and (not isinstance(days, int) or days < 0):
                raise LookupSettingsError(
                    f"lookup.yaml: service {name}: current_for_days must be whole days"
                )
            feeds.append(FeedRule(str(feed["feed"]), days))
        if not feeds:
            raise LookupSettingsError(f"lookup.yaml: service {name}: no feeds")
        low, high = _ages(name, entry.get("ages"))
        rules.append(
            ServiceRule(
                name=name,
                system=entry.get("system") or name,
                feeds=tuple(feeds),
                age_from=low,
                age_to=high,
                history_years=float(entry.get("history_years", default_years)),
                area=entry.get("area") or default_area or "",
            )
        )
    if len({r.name for r in rules}) != len(rules):
        raise LookupSettingsError("lookup.yaml: services: a service is listed twice")
    inverse = {}
    for word, forms in (family.get("inverse_relationships") or {}).items():
        if not isinstance(forms, list) or len(forms) != 3:
            raise LookupSettingsError(
                f"lookup.yaml: family: inverse_relationships: {word} needs three words"
                " (male, female, not known)"
            )
        inverse[word] = tuple(forms)
    police, dwp = services.get("police") or {}, services.get("dwp") or {}
    return LookupSettings(
        services=tuple(rules),
        source_labels=dict(family.get("source_labels") or {}),
        inverse_relationships=inverse,
        adult_order=tuple(family.get("adult_order") or ()),
        police_records_shown=int(police.get("records_shown", 3)),
        safeguarding_categories=frozenset(police.get("safeguarding_categories") or ()),
        nature_of_involvement=dict(police.get("nature_of_involvement") or {}),
        benefit_names=dict(dwp.get("benefit_names") or {}),
    )


@cache
def lookup_settings() -> LookupSettings:
    with LOOKUP_FILE.open(encoding="utf-8") as f:
        return parse_settings(yaml.safe_load(f))


# --- Words --------------------------------------------------------------------------------------


def _day(value: date | None) -> str:
    return f"{value:%d %b %Y}" if value else ""


def _month(value: date | None) -> str:
    return f"{value:%b %Y}" if value else ""


def _age(dob: date | None, on: date) -> int | None:
    if dob is None:
        return None
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part) or "Name not recorded"


def _address_words(dwelling: str) -> str:
    """'12 OAK ROAD | BD3 1AA' (a linkage dwelling) as '12 Oak Road, BD3 1AA'."""
    key, _, postcode = dwelling.partition(" | ")
    return ", ".join(part for part in (key.title(), postcode) if part)


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _labels(sources: str, labels: dict[str, str]) -> list[str]:
    """'health_events, school_census / housing_tenancies' as each source's label, once each."""
    found: list[str] = []
    for part in sources.replace("/", ",").split(","):
        label = labels.get(part.strip(), part.strip())
        if label and label not in found:
            found.append(label)
    return found


def _pronoun(sex: str | None) -> str:
    return {"M": "him", "F": "her"}.get(sex or "", "them")


def _possessive(sex: str | None) -> str:
    return {"M": "his", "F": "her"}.get(sex or "", "their")


# --- The family ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    person_key: str
    name: str
    dob: date | None
    age: int | None
    relationship: str  # to the child: "Mother", "Brother"; or inferred: "Adult at the same address"
    relationship_recorded: bool  # False: inferred, and the page labels it so
    why: tuple[str, ...]  # plain words: which source, which address or relationship, which dates
    left_on: date | None  # None while in the family; else no longer at the address since then
    unconfirmed: tuple[str, ...]  # "may also be recorded as Jon Smith (Police), not yet confirmed"
    is_child: bool


@dataclass(frozen=True)
class FamilyView:
    child: Member  # the person searched for
    family_key: str | None
    members: tuple[Member, ...]  # the child first, then children youngest first, then adults
    former_members: tuple[Member, ...]  # no longer at the address: the latest to leave first
    as_at: date


def as_at_date(con: duckdb.DuckDBPyConnection) -> date:
    """The model's as-at date: the day its figures and ages are given for."""
    return query_row(con, "select as_at_date from int_as_at_date")["as_at_date"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _people(con: duckdb.DuckDBPyConnection, person_key: str) -> tuple[str | None, list[dict]]:
    """The person's family and its members (only the person when they have no family row)."""
    family = query_row(
        con, "select family_key from mart_family_member where person_key = ?", [person_key]
    )
    family_key = family.get("family_key")
    roles = {person_key: None}
    if family_key:
        roles = dict(
            con.execute(
                "select person_key, role from mart_family_member where family_key = ?",
                [family_key],
            ).fetchall()
        )
    people = _rows(
        con,
        "select person_key, first_name, last_name, dob, sex from mart_person"
        " where list_contains(?::varchar[], person_key) order by person_key",
        [list(roles)],
    )
    return family_key, [{**p, "role": roles.get(p["person_key"])} for p in people]


def _unconfirmed(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, list[str]]:
    """Per person: the records the linkage was unsure were theirs, awaiting a decision."""
    labels = lookup_settings().source_labels
    found: dict[str, list[str]] = {}
    for row in _rows(
        con,
        """
        select person_key_l, person_key_r, source_l, source_r, first_name_l, first_name_r,
               last_name_l, last_name_r, linked_by_last_build
        from mart_linkage_review_queue
        where decision is null
          and (list_contains(?::varchar[], person_key_l)
               or list_contains(?::varchar[], person_key_r))
        order by match_probability desc, pair_id
        """,
        [keys, keys],
    ):
        record = {
            side: f"{_name(row[f'first_name_{side}'], row[f'last_name_{side}'])}"
            f" ({labels.get(row[f'source_{side}'], row[f'source_{side}'])})"
            for side in ("l", "r")
        }
        if row["linked_by_last_build"] or row["person_key_l"] == row["person_key_r"]:
            # joined by the last build, queued for a second look
            said = [(row["person_key_l"], f"{record['l']} and {record['r']} taken to be one"
                     " person, not yet confirmed")]  # fmt: skip
        else:
            said = [
                (row[f"person_key_{side}"], f"may also be recorded as {record[other]},"
                 " not yet confirmed")
                for side, other in (("l", "r"), ("r", "l"))
            ]  # fmt: skip
        for key, text in said:
            if key in keys and text not in found.setdefault(key, []):
                found[key].append(text)
    return found


def _evidence_phrase(edge: dict, labels: dict[str, str], with_whom: str) -> str:
    """One piece of evidence between a member and someone else, in plain words: the sources are
    the member's own (evidence names the lesser person key's first: "theirs / the other's")."""
    sides = (edge["sources"] or "").split(" / ")
    own = sides[0] if len(sides) == 1 or edge["person_key"] < edge["other_person_key"] else sides[1]
    sources = _labels(own, labels)
    records = f", in {_listed(sources)} records" if sources else ""
    since = f" since {_month(edge['valid_from'])}" if edge["valid_from"] else ""
    if edge["evidence"] == "shared address":
        until = ""
        if edge["valid_to"] and edge["valid_from"] and edge["valid_to"] > edge["valid_from"]:
            until = f" (last together {_month(edge['valid_to'])})"
        return (
            f"At the same address as {with_whom} ({_address_words(edge['detail'])}){since}"
            f"{until}{records}"
        )
    if edge["evidence"] == "same early help case":
        return f"On the same early help case as {with_whom} ({edge['detail']})"
    if edge["evidence"] == "recorded relationship":
        return f"Early help records a relationship with {with_whom} ({edge['detail']})"
    return (
        f"Same surname, GP practice and postcode ({edge['detail']}) as {with_whom}{since}"
        ", in GP records"
    )


def _recorded_relationship(
    child: dict, member: dict, relationships: dict[tuple[str, str], dict]
) -> tuple[str | None, str | None, date | None]:
    """What early help records the member as to the child: (relationship, why, ended on)."""
    settings = lookup_settings()
    direct = relationships.get((child["person_key"], member["person_key"]))
    if direct:
        since = f" since {_day(direct['start_date'])}" if direct["start_date"] else ""
        why = (
            f"Early help records {_pronoun(member['sex'])} as the child's"
            f" {direct['relationship'].lower()}{since}"
        )
        if direct["end_date"]:
            why += f", until {_day(direct['end_date'])}"
        return direct["relationship"], why, direct["end_date"]
    inverse = relationships.get((member["person_key"], child["person_key"]))
    if inverse and inverse["relationship"] in settings.inverse_relationships:
        male, female, unknown = settings.inverse_relationships[inverse["relationship"]]
        word = {"M": male, "F": female}.get(member["sex"] or "", unknown)
        since = f" since {_day(inverse['start_date'])}" if inverse["start_date"] else ""
        why = (
            f"Early help records the child as {_possessive(member['sex'])} "
            f"{inverse['relationship'].lower()}{since}"
        )
        if inverse["end_date"]:
            why += f", until {_day(inverse['end_date'])}"
        return word, why, inverse["end_date"]
    return None, None, None


def _left_address(
    child_key: str, member_key: str, edges: list[dict], addresses: dict[str, dict]
) -> tuple[date | None, str | None]:
    """The day a member was first recorded apart from the child after their last day at one
    address, with why. Only where both are recorded at their different addresses (another address
    key and postcode) at the same time afterwards: a family that moved together, one of them
    simply not recorded since, is not split."""
    together = [
        e["valid_to"] or e["valid_from"]
        for e in edges
        if e["evidence"] == "shared address"
        and {e["person_key"], e["other_person_key"]} == {child_key, member_key}
    ]
    together = [d for d in together if d]
    mine, theirs = addresses.get(member_key), addresses.get(child_key)
    dates = ("address_from", "address_to")
    if (
        not together
        or not mine
        or not theirs
        or None in [a[d] for a in (mine, theirs) for d in dates]
    ):
        return None, None
    if mine["postcode"] == theirs["postcode"] or mine["address_key"] == theirs["address_key"]:
        return None, None
    last = max(together)
    apart_from = max(mine["address_from"], theirs["address_from"])
    apart_to = min(mine["address_to"], theirs["address_to"])
    if apart_from <= last or apart_to < apart_from:
        return None, None
    who = (
        "recorded at another address"
        if mine["address_from"] == apart_from
        else ("the child recorded at another address")
    )
    return apart_from, (
        f"Last at the same address as the child {_day(last)}; {who} since {_day(apart_from)}"
    )


def family_of(con: duckdb.DuckDBPyConnection, person_key: str) -> FamilyView | None:
    """The person's family on one screen: them first, then the members with their relationship
    to them and why they are in the family, and apart the members no longer at the address.
    None when the model has no such person."""
    settings = lookup_settings()
    labels = settings.source_labels
    on = as_at_date(con)
    family_key, people = _people(con, person_key)
    by_key = {p["person_key"]: p for p in people}
    if person_key not in by_key:
        return None
    keys = list(by_key)
    child = by_key[person_key]
    edges = (
        _rows(
            con,
            """
            select person_key, other_person_key, evidence, detail, sources, valid_from, valid_to
            from int_family_link_evidence
            where family_key = ?
            order by valid_from, evidence, detail
            """,
            [family_key],
        )
        if family_key
        else []
    )
    relationships = {
        (r["person_key"], r["related_person_key"]): r
        for r in _rows(
            con,
            "select * from mart_lookup_relationship"
            " where list_contains(?::varchar[], person_key)"
            " and list_contains(?::varchar[], related_person_key)",
            [keys, keys],
        )
    }
    addresses = {
        a["person_key"]: a
        for a in _rows(
            con,
            "select * from mart_lookup_person_address"
            " where list_contains(?::varchar[], person_key)",
            [keys],
        )
    }
    unconfirmed = _unconfirmed(con, keys)

    def member(p: dict, relationship: str, recorded: bool, why: list[str], left: date | None):
        age = _age(p["dob"], on)
        return Member(
            person_key=p["person_key"],
            name=_name(p["first_name"], p["last_name"]),
            dob=p["dob"],
            age=age,
            relationship=relationship,
            relationship_recorded=recorded,
            why=tuple(why),
            left_on=left,
            unconfirmed=tuple(unconfirmed.get(p["person_key"], ())),
            is_child=age < 18 if age is not None else p["role"] == "child",
        )

    current: list[Member] = []
    former: list[Member] = []
    for key, p in by_key.items():
        if key == person_key:
            continue
        age = _age(p["dob"], on)
        is_child = age < 18 if age is not None else p["role"] == "child"
        word, recorded_why, ended = _recorded_relationship(child, p, relationships)
        direct = [
            e for e in edges if e["person_key"] == key and e["other_person_key"] == person_key
        ]
        why = [recorded_why] if recorded_why else []
        why += [
            _evidence_phrase(e, labels, "the child")
            for e in direct
            if e["evidence"] != "recorded relationship"
        ]
        if word:
            relationship, recorded = word, True
        else:
            recorded = False
            kinds = {e["evidence"] for e in direct}
            who = "Child" if is_child else "Adult"
            if "shared address" in kinds:
                relationship = f"{who} at the same address"
            elif "same early help case" in kinds:
                relationship = f"{who} on the same early help case"
            elif direct:
                relationship = f"{who} linked to the child"
            else:
                relationship = f"{who} in the wider family"
        if not direct:
            # linked through others: say through whom
            for e in edges:
                if e["person_key"] == key and e["other_person_key"] in by_key:
                    other = by_key[e["other_person_key"]]
                    whom = _name(other["first_name"], other["last_name"])
                    phrase = _evidence_phrase(e, labels, whom)
                    if phrase not in why:
                        why.append(phrase)
        left, left_why = (
            (ended, None) if ended else _left_address(person_key, key, edges, addresses)
        )
        if left_why:
            why.append(left_why)
        (former if left else current).append(member(p, relationship, recorded, why, left))

    child_why = ["The person searched for"]
    focus = member(child, "The child", True, child_why, None)
    order = {word: i for i, word in enumerate(settings.adult_order)}

    def sort_key(m: Member) -> tuple:
        if m.is_child:
            return (0, m.age if m.age is not None else 99, m.name)
        return (1, order.get(m.relationship, len(order)), -(m.age or 0), m.name)

    return FamilyView(
        child=focus,
        family_key=family_key,
        members=(focus, *sorted(current, key=sort_key)),
        former_members=tuple(sorted(former, key=lambda m: (m.left_on, m.name), reverse=True)),
        as_at=on,
    )


# --- Services -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceCurrency:
    current_as_of: date | None
    history_years: float | None  # how far back the search looks
    area: str | None


@dataclass(frozen=True)
class ServiceView:
    service: str  # "School", "Early Help", "Police", "Youth Offending"...
    system: str  # "Niche RMS", "Northgate Housing", "SIMS"...
    status: str  # "Current" | "Historic" | "None found"
    team: str | None
    lead_practitioner: str | None
    role: str | None
    phone: str | None
    email: str | None
    last_start: date | None
    last_interaction: date | None
    details: tuple[tuple[str, str], ...]  # label, value: police records, housing tenancy facts...
    currency: ServiceCurrency


@dataclass(frozen=True)
class PersonServices:
    person_key: str
    services: tuple[ServiceView, ...]  # shown by the age rules, Current or Historic
    not_found: tuple[ServiceView, ...]  # shown by the age rules, None found
    not_applicable: tuple[str, ...]  # left out by the age rules, or not searched, in plain words


@dataclass(frozen=True)
class _ServiceContext:
    rule: ServiceRule
    system: str
    currency: ServiceCurrency
    searched: bool  # some feed's source was sent
    since: date | None  # records before this are not searched
    feed_current: dict[str, date | None]


def _contexts(con: duckdb.DuckDBPyConnection) -> list[_ServiceContext]:
    """Each configured service's system, currency header and history window, from the feeds'
    figures (mart_lookup_feed) and the sources' manifest (mart_data_currency)."""
    feeds = {r["feed"]: r for r in _rows(con, "select * from mart_lookup_feed", [])}
    sources = {r["source"]: r for r in _rows(con, "select * from mart_data_currency", [])}
    out = []
    for rule in lookup_settings().services:
        sent = [
            f
            for f in rule.feeds
            if f.source in sources and sources[f.source].get("is_available", True) is not False
        ]
        with_rows = [feeds[f.feed] for f in sent if f.feed in feeds]
        if with_rows:
            currents = [r["current_as_of"] for r in with_rows if r["current_as_of"]]
        else:
            currents = [
                sources[f.source]["data_current_as_of"]
                for f in sent
                if sources[f.source]["data_current_as_of"] is not None
            ]
        current = min(currents) if currents else None
        starts = [r["coverage_start"] for r in with_rows if r["coverage_start"]]
        years = rule.history_years
        if current and starts:
            reach = (current - min(starts)).days / YEAR_DAYS
            years = min(years, math.floor(reach * 10) / 10)
        system = next((r["system_name"] for r in with_rows if r["system_name"]), None)
        system = system or next(
            (
                sources[f.source]["system_name"]
                for f in sent
                if f.source != "service_involvement" and sources[f.source]["system_name"]
            ),
            None,
        )
        area = next((r["coverage_area"] for r in with_rows if r["coverage_area"]), None)
        since = current - timedelta(days=rule.history_years * YEAR_DAYS) if current else None
        out.append(
            _ServiceContext(
                rule=rule,
                system=system or rule.system,
                currency=ServiceCurrency(current, years if current else None, area or rule.area),
                searched=bool(sent),
                since=since,
                feed_current={
                    f.feed: (feeds[f.feed]["current_as_of"] if f.feed in feeds else current)
                    for f in rule.feeds
                },
            )
        )
    return out


def _is_current(row: dict, rule: FeedRule, current_as_of: date | None) -> bool:
    if row["status_given"]:
        return row["status_given"] == CURRENT
    if rule.current_for_days is not None:
        latest = row["last_date"] or row["start_date"]
        return bool(
            latest and current_as_of and latest >= current_as_of - timedelta(rule.current_for_days)
        )
    return row["end_date"] is None or bool(current_as_of and row["end_date"] >= current_as_of)


def _money(value: Any) -> str:
    return f"£{float(value):,.2f}"


def _police_details(rows: list[dict], context: _ServiceContext) -> list[tuple[str, str]]:
    settings = lookup_settings()
    incidents = [r for r in rows if r["feed"] == "police_incidents"]
    if not incidents:
        return []
    relevant = [
        r
        for r in incidents
        if r["is_domestic_abuse"] or r["kind"] in settings.safeguarding_categories
    ]
    relevant.sort(key=lambda r: (r["start_date"], r["record_id"]), reverse=True)
    years = context.currency.history_years
    span = f" in the last {years:g} years" if years else ""
    out = [
        (
            "Police records",
            f"{len(incidents)}{span}, {len(relevant)} safeguarding-relevant"
            + (
                f" (the latest {settings.police_records_shown} shown)"
                if len(relevant) > settings.police_records_shown
                else ""
            ),
        )
    ]
    for r in relevant[: settings.police_records_shown]:
        kind = r["kind"] + (", domestic abuse" if r["is_domestic_abuse"] else "")
        nature = settings.nature_of_involvement.get(r["nature"], (r["nature"] or "").lower())
        out.append((_day(r["start_date"]), f"{kind}; nature of involvement: {nature}"))
    return out


def _housing_details(rows: list[dict]) -> list[tuple[str, str]]:
    tenancies = [r for r in rows if r["feed"] == "housing_tenancies"]
    if not tenancies:
        return []
    latest = max(tenancies, key=lambda r: (r["end_date"] is None, r["start_date"], r["record_id"]))
    out = [("Tenancy start", _day(latest["start_date"]))]
    if latest["address"]:
        out.append(("Tenancy address", latest["address"]))
    if latest["end_date"]:
        out.append(("Tenancy end", _day(latest["end_date"])))
    arrears = latest["rent_arrears"]
    at = f" at {_day(latest['current_as_of'])}" if latest["current_as_of"] else ""
    out.append(("Rent arrears", (_money(arrears) if arrears else "none") + at))
    notices = [r["nosp_date"] for r in tenancies if r["nosp_date"]]
    out.append(
        (
            "Notice seeking possession",
            f"served {_day(max(notices))}" if notices else "none recorded",
        )
    )
    evictions = [r["eviction_date"] for r in tenancies if r["eviction_date"]]
    out.append(("Eviction", _day(max(evictions)) if evictions else "none recorded"))
    return out


def _latest_details(rows: list[dict], service: str) -> list[tuple[str, str]]:
    """What the latest record was, where its kind says more than the service's name."""
    settings = lookup_settings()
    own = [r for r in rows if r["feed"] not in ("police_incidents", "housing_tenancies")]
    if not own:
        return []
    latest = max(own, key=lambda r: (r["start_date"] or date.min, r["record_id"]))
    kind = latest["kind"]
    if (
        not kind
        or kind.lower() == service.lower()
        or latest["feed"].startswith("service_involvement:")
    ):
        return []
    if latest["feed"].startswith("dwp_spells"):
        kind = settings.benefit_names.get(kind, kind)
    span = f"from {_day(latest['start_date'])}" if latest["start_date"] else ""
    if latest["end_date"] and latest["end_date"] != latest["start_date"]:
        span += f" to {_day(latest['end_date'])}"
    if latest.get("outcome"):
        span += f" ({latest['outcome'].lower()})"
    label = "School" if latest["feed"] == "school_census" else "Latest record"
    return [(label, f"{kind}, {span}".rstrip(", "))]


def _view(context: _ServiceContext, rows: list[dict]) -> ServiceView:
    rule = context.rule
    if not rows:
        return ServiceView(
            rule.name, context.system, NONE_FOUND, None, None, None, None, None, None, None, (),
            context.currency,
        )  # fmt: skip
    feed_rules = {f.feed: f for f in rule.feeds}
    flagged = [
        (_is_current(r, feed_rules[r["feed"]], context.feed_current[r["feed"]]), r) for r in rows
    ]
    current_rows = [r for is_current, r in flagged if is_current]
    status = CURRENT if current_rows else HISTORIC
    starts = [r["start_date"] for r in (current_rows or rows) if r["start_date"]]
    interactions = [d for r in rows for d in (r["last_date"], r["start_date"]) if d]

    def rank(pair: tuple[bool, dict]) -> tuple:
        is_current, r = pair
        named = bool(r["contact_name"] or r["contact_phone"] or r["contact_email"])
        return (is_current, named, r["last_date"] or r["start_date"] or date.min, r["record_id"])

    ranked = [r for _, r in sorted(flagged, key=rank, reverse=True)]
    team = next((r["team"] for r in ranked if r["team"]), None)
    contact = next(
        (r for r in ranked if r["contact_name"] or r["contact_phone"] or r["contact_email"]), None
    )
    code = next((r for r in ranked if r["contact_code"]), None)
    if contact is not None:
        name, role = contact["contact_name"], contact["contact_role"]
        phone, email = contact["contact_phone"], contact["contact_email"]
    elif code is not None:
        name, role, phone, email = (
            f"{code['contact_code']} (staff code)",
            code["contact_role"],
            None,
            None,
        )
    else:
        name = role = phone = email = None
    details = (
        _police_details(rows, context) + _housing_details(rows) + _latest_details(rows, rule.name)
    )
    return ServiceView(
        service=rule.name,
        system=context.system,
        status=status,
        team=team,
        lead_practitioner=name,
        role=role,
        phone=phone,
        email=email,
        last_start=max(starts) if starts else None,
        last_interaction=max(interactions) if interactions else None,
        details=tuple(details),
        currency=context.currency,
    )


def _services(
    con: duckdb.DuckDBPyConnection, people: Iterable[tuple[str, date | None]]
) -> dict[str, PersonServices]:
    people = list(people)
    keys = [key for key, _ in people]
    on = as_at_date(con)
    contexts = _contexts(con)
    rows_by_person: dict[str, list[dict]] = {key: [] for key in keys}
    for row in _rows(
        con,
        "select * from mart_lookup_involvement where list_contains(?::varchar[], person_key)",
        [keys],
    ):
        rows_by_person[row["person_key"]].append(row)
    out = {}
    for key, dob in people:
        age = _age(dob, on)
        found, none, left_out = [], [], []
        for context in contexts:
            rule = context.rule
            if not rule.applies_at(age):
                left_out.append(rule.age_words)
                continue
            if not context.searched:
                left_out.append(f"{rule.name}: not searched (no extract from {rule.system})")
                continue
            feeds = {f.feed for f in rule.feeds}
            rows = [
                r
                for r in rows_by_person[key]
                if r["feed"] in feeds
                and (
                    context.since is None
                    or (r["end_date"] or r["last_date"] or r["start_date"] or date.max)
                    >= context.since
                )
            ]
            view = _view(context, rows)
            (found if view.status != NONE_FOUND else none).append(view)
        out[key] = PersonServices(key, tuple(found), tuple(none), tuple(left_out))
    return out


def services_of(con: duckdb.DuckDBPyConnection, person_key: str) -> PersonServices:
    """Each configured service for one person: Current or Historic with its details, None found,
    or left out by the age rules."""
    dob = query_row(con, "select dob from mart_person where person_key = ?", [person_key]).get(
        "dob"
    )
    return _services(con, [(person_key, dob)])[person_key]


def services_for_family(
    con: duckdb.DuckDBPyConnection, view: FamilyView
) -> dict[str, PersonServices]:
    """services_of for every member of a family view (former members too), in one query."""
    people = [(m.person_key, m.dob) for m in (*view.members, *view.former_members)]
    return _services(con, people)
