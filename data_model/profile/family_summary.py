"""The family lookup's printable summary: one page for the practitioner's file, as the ward
profile is one page for a meeting (a Jinja2 template, print CSS, the bundled fonts inline).

`family_summary_html(view, services, made_on=..., made_by=..., reason=...)` gives the page as
self-contained HTML: who is in the child's family (relationship, inferred ones labelled, age,
date of birth, why), people no longer in the household, each person's services (Current or
Historic with team, lead practitioner and contact, dates and details; the services where
nothing was found in one line, naming the system searched), and how current each service's data
is. It is marked OFFICIAL-SENSITIVE at its top and bottom, and on every printed page.

Everything in it comes from data_model.read.lookup_family's views, as the page shows them; the
template escapes all of it (autoescape), so a name can never become markup. The caller audits
the summary before it leaves (pages/family_lookup.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from data_model.profile.document import HERE, day, font_css, template_environment

TEMPLATE = "family_summary.html.j2"
STYLESHEET = "family_summary.css"
MARKING = "OFFICIAL-SENSITIVE"  # the Government Security Classifications' marking for it
NOT_RECORDED = "–"


@dataclass(frozen=True)
class PersonSection:
    """One person on the summary: the member as the family view gives them, their services,
    whether they have left the household."""

    member: Any  # lookup_family.Member
    services: Any | None  # lookup_family.PersonServices; None: not searched
    former: bool


@dataclass(frozen=True)
class ServiceCurrencyLine:
    """How current one service's data is and how far back its search looked, said once for the
    whole summary ("6 years to 31 Mar 2020, Bradford District")."""

    service: str  # "Police (Niche)"
    text: str


def years(value: float | None) -> str:
    """How far back a search looks, in words: '6 years', '1 year', '2.5 years'."""
    if value is None:
        return "all the history its extract holds"
    amount = f"{value:g}"
    return f"{amount} year" if amount == "1" else f"{amount} years"


def currency_text(currency: Any) -> str:
    """'Data current as of 31 Mar 2020 · search looks into 6 years of history · area covered
    Bradford District', with what is not known said so."""
    as_of = day(currency.current_as_of) if currency.current_as_of else "not stated"
    looks = (
        f"search looks into {years(currency.history_years)} of history"
        if currency.history_years is not None
        else "search looks into all the history its extract holds"
    )
    area = currency.area or "not stated"
    return f"Data current as of {as_of} · {looks} · area covered {area}"


def age_text(age: int | None) -> str:
    """An age in years; 'under 1' for a baby; a dash when not known."""
    if age is None:
        return NOT_RECORDED
    return "under 1" if age < 1 else str(age)


def relationship_text(member: Any) -> str:
    """The relationship to the child, labelled when it is inferred rather than recorded."""
    if member.relationship_recorded:
        return member.relationship
    return f"{member.relationship} (inferred)"


def sections(view: Any, services: Mapping[str, Any]) -> list[PersonSection]:
    """The people in the order the page shows them: the family's members (the child first),
    then those no longer in the household."""
    return [
        *(PersonSection(m, services.get(m.person_key), False) for m in view.members),
        *(PersonSection(m, services.get(m.person_key), True) for m in view.former_members),
    ]


def searched_text(currency: Any, *, with_area: bool = True) -> str:
    """How far back a service's search looked, briefly: '6 years to 31 Mar 2020, Bradford
    District' (without the area when every service covers the same)."""
    looked = years(currency.history_years)
    until = f" to {day(currency.current_as_of)}" if currency.current_as_of else ""
    area = f", {currency.area}" if currency.area and with_area else ""
    return f"{looked}{until}{area}"


def _searched(people: Sequence[PersonSection]) -> dict[str, Any]:
    """Each service searched for anyone on the summary ("Police (Niche)"), with its currency."""
    found: dict[str, Any] = {}
    for person in people:
        if person.services is None:
            continue
        for service in (*person.services.services, *person.services.not_found):
            found.setdefault(f"{service.service} ({service.system})", service.currency)
    return found


def common_area(people: Sequence[PersonSection]) -> str | None:
    """The area every service searched covers, when they all cover the same one."""
    areas = {currency.area for currency in _searched(people).values()}
    return areas.pop() if len(areas) == 1 else None


def currency_lines(people: Sequence[PersonSection]) -> list[ServiceCurrencyLine]:
    """Each service searched for anyone on the summary, once, with how far back it looked (and
    its area, unless every service covers the same one)."""
    searched = _searched(people)
    with_area = common_area(people) is None
    return [
        ServiceCurrencyLine(named, searched_text(currency, with_area=with_area))
        for named, currency in sorted(searched.items(), key=lambda item: item[0].casefold())
    ]


@cache
def _environment() -> Environment:
    return template_environment(
        day=lambda value: day(value) if value else NOT_RECORDED,
        age=age_text,
        relationship=relationship_text,
        currency=currency_text,
    )


def family_summary_html(
    view: Any,
    services: Mapping[str, Any],
    *,
    made_on: date,
    made_by: str,
    reason: str | None,
    is_synthetic: bool = False,
) -> str:
    """The family summary as one self-contained HTML page (A4 when printed). `view` is
    lookup_family.FamilyView, `services` its people's PersonServices by person key; `made_by`
    and `reason` say who printed it and why (the reason for access given)."""
    people = sections(view, services)
    stylesheet = (HERE / "templates" / STYLESHEET).read_text(encoding="utf-8")
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            view=view,
            child=view.child,
            people=people,
            currencies=currency_lines(people),
            area=common_area(people),
            made_on=made_on,
            made_by=made_by,
            reason=reason,
            is_synthetic=is_synthetic,
            marking=MARKING,
            font_css=font_css(),
            stylesheet=Markup(stylesheet),
        )
    )
