"""Family lookup: who is in this child's family, and which services are or were involved with
each person, with contacts (Family Context's question, answered with the product's linkage).

The page reads as a practitioner works: the reason for access (asked before anything else, and
again when they move to another family); the search form, run when it is submitted (Enter or
the button); the results, best first, each with why it matched; then, once a person is chosen,
the family on one screen in place of the results (the child first, each person's relationship,
age and why they are in the family; people who have left apart), each person's services
(Current and Historic ones expandable, those with nothing found in one line), and the
printable one-page summary for the case file.

Governance: each event is written to the audit trail before what it records is drawn: the
terms of each search (`search`), the persons listed (`results_shown`), the family and its
persons (`family_viewed`), one service's details, when its section is opened (the sections run
their content only when open: `service_detail_opened`), and the printed summary (`download`).
No table here downloads as CSV or Excel, for any role. Text from the data is shown as text
(plain() in Markdown; the summary's template escapes it). Every figure and word about people
comes from data_model.read.lookup_search and lookup_family; the page only draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import streamlit as st

from data_model.profile.family_summary import (
    MARKING,
    age_text,
    currency_text,
    family_summary_html,
    relationship_text,
    years,
)
from data_model.read import lookup_family, lookup_search
from pages import registry
from pages.ui import access, model
from pages.ui.formats import NONE, fmt_date, plain, read_day, slug
from pages.ui.profile import printable_page

access.require("family_lookup")  # first: who may open this page (data_model/access.yaml)

HEADING = registry.BY_KEY["family_lookup"].heading
LIMIT = 20  # results shown, at most
NO_BREAK = "\u00a0"
# What the page keeps between runs (session state)
SEARCH_KEY = "lookup_search"  # the last search run: (its terms as typed, its hits)
CHOSEN_KEY = "lookup_person"  # the person whose family is shown
SHOWN_KEY = "lookup_family_shown"  # the family view last written to the audit trail
OPENED_KEY = "lookup_services_opened"  # the services whose details were audited while open
FIELDS = {  # the form's boxes: key, label
    "lookup_name": "Name",
    "lookup_dob": "Date of birth (optional)",
    "lookup_place": "Postcode or address (optional)",
    "lookup_identifier": "Or an identifier",
}


def cell(text: object) -> str:
    """Text from the data for a Markdown table's cell: escaped, on one line."""
    return plain(" ".join(str(text).split()))


def markdown_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A Markdown table from cells already escaped (cell())."""
    headers = list(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- Choosing, going back, searching again --------------------------------------------------------


def choose(person_key: str) -> None:
    st.session_state[CHOSEN_KEY] = person_key


def back_to_results() -> None:
    st.session_state.pop(CHOSEN_KEY, None)


def new_search() -> None:
    for key in (CHOSEN_KEY, SEARCH_KEY, *FIELDS):
        st.session_state.pop(key, None)


def search_form() -> dict[str, str] | None:
    """The search form; the terms as typed when it was submitted in this run, else None."""
    last = st.session_state.get(SEARCH_KEY)
    if last:  # show the last search's terms again (coming back from a family)
        for key, typed in last[0].items():
            st.session_state.setdefault(key, typed)
    with st.form("lookup_form", border=True, enter_to_submit=True):
        name, dob, place = st.columns([3, 1.4, 1.6])
        with name:
            st.text_input(
                FIELDS["lookup_name"],
                key="lookup_name",
                placeholder="For example Mohammed Ali, or Smith, Jane",
                help="Any name the person is or was recorded under, in any order; initials, "
                "titles, nicknames and other spellings are found too.",
            )
        with dob:
            st.text_input(
                FIELDS["lookup_dob"],
                key="lookup_dob",
                placeholder="03/07/2015",
                help="Day, month, year. A date with the day and month swapped is found too.",
            )
        with place:
            st.text_input(
                FIELDS["lookup_place"],
                key="lookup_place",
                placeholder="For example BD3 1AA",
            )
        st.text_input(
            FIELDS["lookup_identifier"],
            key="lookup_identifier",
            placeholder="UPN, NHS number, National Insurance number, or a case or person id",
            help="An identifier from any source finds the person it belongs to, with or "
            "without a name.",
        )
        submitted = st.form_submit_button("Search", type="primary", icon=":material/search:")
    if not submitted:
        return None
    return {key: str(st.session_state.get(key) or "") for key in FIELDS}


def run_search(typed: dict[str, str]) -> None:
    """Run a submitted search: its terms and then its results written to the audit trail
    before anything is shown; kept for the next runs."""
    try:
        born = read_day(typed["lookup_dob"]) if typed["lookup_dob"].strip() else None
    except ValueError as error:
        st.error(f"Date of birth: {plain(error)}")
        return
    query = lookup_search.SearchQuery(
        name=typed["lookup_name"].strip(),
        dob=born,
        place=typed["lookup_place"].strip(),
        identifier=typed["lookup_identifier"].strip(),
    )
    problem = lookup_search.query_problem(query)
    if problem:
        st.warning(plain(problem))
        return
    terms = {
        field: typed[f"lookup_{field}"]
        for field in ("name", "dob", "place", "identifier")
        if typed[f"lookup_{field}"].strip()
    }
    access.audit_before_showing("search", terms=terms, page="family_lookup")
    hits = model.query(lookup_search.search_people, query, limit=LIMIT)
    access.audit_before_showing("results_shown", person_ids=[hit.person_key for hit in hits])
    st.session_state[SEARCH_KEY] = (typed, hits)
    st.session_state.pop(CHOSEN_KEY, None)


def show_results(hits: list[Any]) -> None:
    """The people found, best first, each with why they matched and a button to their family."""
    if not hits:
        st.info(
            "**No one found.** Check the spelling, try fewer words or leave the date of birth "
            "out, or search by an identifier."
        )
        return
    found = f"{len(hits)} {'person' if len(hits) == 1 else 'people'}"
    more = " (the best 20: add a date of birth or a postcode to narrow the search)"
    st.subheader(f"{found} found, best match first")
    st.caption(
        "Among equally good matches the youngest comes first. *Why it matched* says which of "
        "the details you typed each person's records share. Choose **Open family** to see the "
        "person's family and the services involved." + (more if len(hits) >= LIMIT else "")
    )
    widths = [2.4, 1.5, 1.2, 1.8, 2.4, 1.6]
    headings = ["Name", "Born", "Postcode", "Known to", "Why it matched", ""]
    for column, heading in zip(st.columns(widths), headings, strict=True):
        column.markdown(f"**{heading}**" if heading else "")
    for number, hit in enumerate(hits):
        row = st.container(border=True, key=f"lookup_hit_{number}")
        name, born, postcode, known, why, act = row.columns(widths, vertical_alignment="center")
        name.markdown(f"**{plain(hit.name)}**")
        if hit.other_names:
            name.caption("Also recorded as " + "; ".join(plain(n) for n in hit.other_names))
        born.markdown(
            f"{fmt_date(hit.dob)}" + (f" (age {age_text(hit.age)})" if hit.age is not None else "")
        )
        postcode.markdown(plain(hit.postcode or NONE))
        known.markdown(plain(", ".join(hit.sources) or NONE))
        why.markdown(plain("; ".join(hit.reasons) or NONE))
        act.button(
            "Open family",
            key=f"lookup_open_{number}",
            on_click=choose,
            args=(hit.person_key,),
            help=f"The family of {plain(hit.name)} and the services involved with each person",
        )


# --- The family ---------------------------------------------------------------------------------


def family_id(view: Any) -> str:
    """What identifies the family for the reason for access and the audit trail: the model's
    family key, or the person's own when they belong to no family."""
    return view.family_key or f"person {view.child.person_key}"


def record_family(view: Any) -> None:
    """The family view written to the audit trail before it is drawn: once for each family and
    set of people shown (again when the model, and so the family, changes)."""
    people = [m.person_key for m in (*view.members, *view.former_members)]
    if view.child.person_key not in people:
        people.insert(0, view.child.person_key)
    shown = (view.child.person_key, view.family_key, tuple(people))
    if st.session_state.get(SHOWN_KEY) == shown:
        return
    detail: dict[str, Any] = {"person_ids": people}
    if view.family_key:
        detail["family_id"] = view.family_key
    access.audit_before_showing("family_viewed", **detail)
    st.session_state[SHOWN_KEY] = shown
    st.session_state[OPENED_KEY] = set()


def member_rows(members: Iterable[Any], child_key: str, former: bool = False) -> list[list[str]]:
    rows = []
    for member in members:
        name = f"**{cell(member.name)}**" if member.person_key == child_key else cell(member.name)
        for note in member.unconfirmed:
            name += f" — ⚠ *{cell(note)}*"
        relationship = cell(member.relationship)
        if not member.relationship_recorded:
            relationship += " *(inferred)*"
        why = "; ".join(cell(reason) for reason in member.why) or NONE
        if former:
            why = f"No longer at the address since {fmt_date(member.left_on)}. {why}"
        born = fmt_date(member.dob).replace(" ", NO_BREAK)  # a date on one line
        rows.append([name, relationship, age_text(member.age), born, why])
    return rows


def show_family(view: Any) -> None:
    """Who is in the family: the child first, then the household and family; people who left
    apart."""
    child = view.child
    st.header(f"Family of {plain(child.name)}")
    headers = ["Name", "Relationship to the child", "Age", "Date of birth", "Why in the family"]
    st.markdown(markdown_table(headers, member_rows(view.members, child.person_key)))
    if view.former_members:
        st.markdown("**No longer in the household**")
        st.markdown(
            markdown_table(headers, member_rows(view.former_members, child.person_key, True))
        )
    st.caption(
        f"Records as at {fmt_date(view.as_at)}. Relationships are as a service recorded them; "
        "one marked *(inferred)* is worked out from shared addresses and dates. ⚠ marks a "
        "record the linkage was unsure about, awaiting review."
    )


def summary_button(view: Any, services: dict[str, Any], visitor: access.Visitor) -> None:
    """The one-page family summary to print for the case file (HTML): written to the audit
    trail when it is made, before it leaves."""
    people = [m.person_key for m in (*view.members, *view.former_members)]
    detail: dict[str, Any] = {"person_ids": people}
    if view.family_key:
        detail["family_id"] = view.family_key
    audited = access.download_recorder("Family summary", len(people), "person", detail)
    reason = access.reason_given()
    synthetic = bool(model.info().get("is_synthetic"))

    def summary() -> bytes:
        audited()  # before the file leaves; an exception stops it
        return family_summary_html(
            view,
            services,
            made_on=date.today(),
            made_by=visitor.name or visitor.user,
            reason=reason.recorded() if reason else None,
            is_synthetic=synthetic,
        ).encode("utf-8")

    printable_page(
        f"Family summary to print ({MARKING}, HTML)",
        data=summary,
        file_name=f"family-summary-{slug(view.child.name)}-{view.as_at:%d-%b-%Y}.html".lower(),
        key="lookup_summary",
        help="One A4 page for the case file, marked OFFICIAL-SENSITIVE: open it in Edge or "
        "Chrome and print. Making it is recorded in the audit trail.",
    )


def service_details(service: Any) -> None:
    """What one service holds about the person: team, lead practitioner and contact, dates, and
    the service's own details (police records, housing tenancy...)."""
    practitioner = service.lead_practitioner or NONE
    if service.lead_practitioner and service.role:
        practitioner += f" ({service.role})"
    lines = [
        ("Team", service.team or NONE),
        ("Lead practitioner", practitioner),
        ("Phone", service.phone or NONE),
        ("Email", service.email or NONE),
        ("Last involvement started", fmt_date(service.last_start)),
        ("Last recorded interaction", fmt_date(service.last_interaction)),
        *service.details,
    ]
    st.markdown("\n".join(f"- **{plain(label)}**: {plain(value)}" for label, value in lines))


def show_services(view: Any, services: dict[str, Any]) -> None:
    """Each person's services, Family Context style: above each, how current its data is; the
    Current and Historic ones open to their details (audited as they open); those with nothing
    found in one line."""
    st.header("Services involved with each person")
    st.caption(
        "**Current**: the service is involved now. **Historic**: it was involved and has "
        "ended. Open a service for its team, lead practitioner, contact and dates. **Not found "
        "in** lists the systems searched that hold no record of the person in the history they "
        "cover: it does not mean the person was never known to the service."
    )
    opened: set[tuple[str, str]] = st.session_state.setdefault(OPENED_KEY, set())
    for member in (*view.members, *view.former_members):
        found = services.get(member.person_key)
        about = relationship_text(member)
        if member.age is not None:
            about += f", age {age_text(member.age)}"
        if member.left_on:
            about += ", no longer in the household"
        st.subheader(f"{plain(member.name)} ({plain(about)})")
        if found is None:
            st.markdown("Services were not searched for this person.")
            continue
        for service in found.services:
            st.caption(plain(currency_text(service.currency)))
            label = f"**{plain(service.service)}**: {plain(service.status)}"
            if service.team:
                label += f" · {plain(service.team)}"
            key = f"lookup_service_{member.person_key}_{slug(service.service)}"
            section = st.expander(label, key=key, on_change="rerun")
            with section:
                which = (member.person_key, service.service)
                if section.open:
                    if which not in opened:
                        access.audit_before_showing(
                            "service_detail_opened",
                            person_id=member.person_key,
                            service=service.service,
                        )
                        opened.add(which)
                    service_details(service)
                else:
                    opened.discard(which)
        if found.not_found:
            st.markdown(
                "**Not found in:** "
                + ", ".join(f"{plain(s.service)} ({plain(s.system)})" for s in found.not_found)
            )
        if found.not_applicable:
            st.caption(
                "Not searched at this age: " + "; ".join(plain(s) for s in found.not_applicable)
            )
    show_currencies(services)


def show_currencies(services: dict[str, Any]) -> None:
    """How far back each service searched, once for the family: what a service's "not found"
    covers."""
    searched: dict[tuple[str, str], Any] = {}
    for found in services.values():
        for service in (*found.services, *found.not_found):
            searched.setdefault((service.service, service.system), service.currency)
    if not searched:
        return
    st.subheader("How far back each service's search looks")
    rows = [
        [
            cell(name),
            cell(system),
            fmt_date(currency.current_as_of).replace(" ", NO_BREAK),
            cell(years(currency.history_years)),
            cell(currency.area or NONE),
        ]
        for (name, system), currency in sorted(searched.items(), key=lambda i: i[0][0].casefold())
    ]
    headers = ["Service", "System searched", "Data current as of", "History searched", "Area"]
    st.markdown(markdown_table(headers, rows))
    st.caption(
        "A service's search looks back this far from the day its data is current to, and no "
        "further back than its extract goes. *Not found* means nothing within that history and "
        "area."
    )


# --- The page -----------------------------------------------------------------------------------

model.info()  # stops with a message when there is no model
visitor = access.current()
assert visitor is not None  # require() stops a run without one
chosen = st.session_state.get(CHOSEN_KEY)
view = model.query(lookup_family.family_of, chosen) if chosen else None

if view is not None:
    # Another family asks for the reason again (access.yaml), before anything about it is shown.
    access.reason_for_family(HEADING, family_id(view))
    st.title(HEADING)
    with st.container(horizontal=True, gap="small"):
        st.button("Back to the results", on_click=back_to_results, icon=":material/arrow_back:")
        st.button("New search", on_click=new_search, icon=":material/search:")
    services = model.query(lookup_family.services_for_family, view)
    record_family(view)
    show_family(view)
    summary_button(view, services, visitor)
    show_services(view, services)
    st.stop()

st.title(HEADING)
if chosen:  # chosen, but the model no longer has the person (a rebuild)
    st.session_state.pop(CHOSEN_KEY, None)
    st.warning("That person is no longer in the model (it has been rebuilt): search again.")
st.markdown(
    "Find a child or an adult by name, with a date of birth and postcode or address if you have "
    "them, or by an identifier you hold; then open their family: who is in it, and which "
    "services are or were involved with each person, with contacts."
)
typed = search_form()
if typed is not None:
    run_search(typed)
last = st.session_state.get(SEARCH_KEY)
if last is not None:
    show_results(last[1])
