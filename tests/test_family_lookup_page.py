"""The family lookup page in AppTest: who may open it, the reason for access, and the audit trail
written before each thing is drawn; and its printable summary.

The users sign in as the council's would (tests/access_helpers.py: at.user, at.secrets) on a copy
of the test model, so the trail is written beside the copy. The people searched for are chosen
with the tests' own SQL over the marts (a child with a family, whose name and date of birth no one
else shares); what the page shows is checked against the audit trail and the read layer's answers
for the same person. "Before it is drawn" is shown two ways: the events' order in the trail, and
a trail that refuses one kind of event, after which the thing it would have recorded is not on
the page.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from data_model import access as rules
from data_model.profile.family_summary import MARKING, family_summary_html, years
from data_model.read import lookup_family, open_model
from data_model.state import audit
from pages import registry
from pages.ui.formats import fmt_date, read_day, slug
from tests.access_helpers import give_reason, signed_in
from tests.access_helpers import user_trail as trail
from tests.test_app_pages import leaves
from tests.text_payloads import HTML, MARKDOWN, as_shown

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = registry.BY_KEY["family_lookup"]
REFUSED = "not open to your role"
AUDIT_FAILED = "audit trail could not be written"


@dataclass(frozen=True)
class Child:
    person_key: str
    family_key: str
    name: str
    dob: date


@pytest.fixture(scope="module")
def served_model(synthetic_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the test model in a folder of its own (its audit trail beside it), as FFI_MODEL."""
    model = tmp_path_factory.mktemp("family_lookup") / "model.duckdb"
    shutil.copy(synthetic_model, model)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FFI_MODEL", str(model))
        yield model


@pytest.fixture(scope="module")
def children(model_sql: duckdb.DuckDBPyConnection) -> list[Child]:
    """Two children in two different families of three or more people, each the only person in
    the model with their name and date of birth (the tests' own SQL)."""
    rows = model_sql.execute(
        """
        with people as (
            select p.person_key, p.first_name, p.last_name, p.dob, m.family_key, m.role,
                   count(*) over (partition by p.first_name, p.last_name, p.dob) as namesakes,
                   count(*) over (partition by m.family_key) as family_size
            from model.mart_family_member m join model.mart_person p using (person_key)
            where p.first_name is not null and p.last_name is not null and p.dob is not null
        )
        select person_key, family_key, first_name || ' ' || last_name, dob
        from people
        where role = 'child' and namesakes = 1 and family_size >= 3
        order by family_key, person_key
        """
    ).fetchall()
    chosen: list[Child] = []
    for key, family, name, born in rows:
        if all(family != c.family_key for c in chosen):
            chosen.append(Child(key, family, name, born))
        if len(chosen) == 2:
            return chosen
    pytest.fail("the test model has no two children in families of three or more")


def run(at: AppTest) -> AppTest:
    result = at.run()
    assert not result.exception, [e.value for e in result.exception]
    return result


def open_lookup(role: str, oid: str, reason: str = "assessment") -> AppTest:
    """The app signed in as `role`, on the family lookup, with a reason given."""
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), role, oid=oid))
    run(at.switch_page(PAGE.file))
    return give_reason(at, reason)


def search(at: AppTest, name: str = "", dob: str = "", place: str = "", identifier: str = ""):
    at.text_input(key="lookup_name").set_value(name)
    at.text_input(key="lookup_dob").set_value(dob)
    at.text_input(key="lookup_place").set_value(place)
    at.text_input(key="lookup_identifier").set_value(identifier)
    [submit] = [b for b in at.button if b.label == "Search"]
    return run(submit.click())


def search_for(at: AppTest, child: Child) -> AppTest:
    return search(at, child.name, child.dob.strftime("%d/%m/%Y"))


def hits(at: AppTest) -> list:
    """The search results the page holds (and draws), best first."""
    return at.session_state["lookup_search"][1]


def open_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.label == "Open family"]


def open_family(at: AppTest, person_key: str) -> AppTest:
    """Click the result row's Open family button for this person."""
    [row] = [i for i, hit in enumerate(hits(at)) if hit.person_key == person_key]
    return run(at.button(key=f"lookup_open_{row}").click())


def page_text(at: AppTest) -> str:
    """Everything drawn as text (markdown, headings, captions), as a reader sees it, one element
    a line (a line broken inside an element's text joined up)."""
    parts = [e.value for e in (*at.markdown, *at.header, *at.subheader, *at.caption)]
    return as_shown("\n".join(" ".join(part.split()) for part in parts))


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


def refusing(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the audit trail refuses events of this kind (and writes the others)."""
    real = audit.record

    def record(store, event_kind, **fields):  # noqa: ANN001, ANN003
        if event_kind == kind:
            raise audit.AuditWriteError("the audit trail in app_state.sqlite could not be written")
        return real(store, event_kind, **fields)

    monkeypatch.setattr(audit, "record", record)


def the_family(model: Path, person_key: str) -> lookup_family.FamilyView:
    con = open_model(model)
    try:
        view = lookup_family.family_of(con, person_key)
    finally:
        con.close()
    assert view is not None
    return view


# --- Who may open it -----------------------------------------------------------------------------


def test_the_rules_open_it_to_practitioners_analysts_and_admins_with_a_reason() -> None:
    assert rules.page_level("family_lookup") == "person" and rules.needs_reason("family_lookup")
    opens = {role for role in rules.rules().roles if rules.may_open(role, "family_lookup")}
    assert opens == {"practitioner", "analyst", "admin"}
    # No table to download for a practitioner (the page offers none to anyone).
    assert not any(rules.may_download("practitioner", level) for level in rules.LEVELS[1:])


@pytest.mark.parametrize("role", ["councillor", "manager"])
def test_councillors_and_managers_cannot_open_it_even_by_its_address(
    served_model: Path, role: str
) -> None:
    oid = f"oid-lookup-{role}"
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), role, oid=oid))
    links = [link.proto.label for link in at.sidebar.get("page_link")]
    assert "Family lookup" not in links and links  # not listed; other pages are
    run(at.switch_page(PAGE.file))  # the hidden page, as its URL opens it
    assert any(REFUSED in e.value for e in at.error)
    assert not at.title and not at.text_input and not at.radio and not at.main.button
    events = trail(served_model, oid)
    refused = [e for e in events if e["kind"] == "access_refused"]
    assert [e["detail"]["page"] for e in refused] == ["family_lookup"]
    assert not {"search", "results_shown", "family_viewed"} & set(kinds(events))


def test_a_practitioner_lands_on_it_and_gives_a_reason_before_the_search_form(
    served_model: Path,
) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), "practitioner", oid="oid-p0"))
    links = [link.proto.label for link in at.sidebar.get("page_link")]
    assert links == ["Family lookup", "User guide", "Accessibility statement"]
    assert [t.value for t in at.title] == ["Family lookup"]
    assert [r.key for r in at.radio] == ["reason_code"]
    assert "lookup_name" not in [t.key for t in at.text_input]  # no form before the reason
    give_reason(at, "assessment")
    assert [t.key for t in at.text_input] == [
        "lookup_name",
        "lookup_dob",
        "lookup_place",
        "lookup_identifier",
    ]
    assert "reason_code" not in [r.key for r in at.radio]


# --- Searching, results, the family: audited before drawn ----------------------------------------


def test_a_search_writes_search_results_and_family_events_with_the_reason_before_drawing(
    served_model: Path, children: list[Child]
) -> None:
    child = children[0]
    oid = "oid-p1"
    at = open_lookup("practitioner", oid, "assessment")
    typed_dob = child.dob.strftime("%d/%m/%Y")
    search_for(at, child)
    found = hits(at)
    assert child.person_key in [h.person_key for h in found]
    assert len(open_buttons(at)) == len(found) <= 20
    shown = page_text(at)
    assert child.name in shown and fmt_date(child.dob) in shown

    events = trail(served_model, oid)
    assert kinds(events)[-4:] == ["reason_given", "page_opened", "search", "results_shown"]
    searched, listed = events[-2], events[-1]
    assert searched["detail"]["terms"] == {"name": child.name, "dob": typed_dob}
    assert listed["detail"]["person_ids"] == [h.person_key for h in found]

    open_family(at, child.person_key)
    view = the_family(served_model, child.person_key)
    assert any(as_shown(h.value) == f"Family of {child.name}" for h in at.header)
    shown = page_text(at)
    for member in (*view.members, *view.former_members):
        assert member.name in shown, member.name
    events = trail(served_model, oid)
    assert kinds(events)[-5:] == [
        "reason_given", "page_opened", "search", "results_shown", "family_viewed"
    ]  # fmt: skip
    viewed = events[-1]
    people = [m.person_key for m in (*view.members, *view.former_members)]
    assert viewed["detail"]["person_ids"][0] == child.person_key
    assert set(viewed["detail"]["person_ids"]) == set(people) | {child.person_key}
    assert viewed["detail"].get("family_id") == view.family_key
    # Every event since the reason carries it, under the practitioner's role.
    since = events[kinds(events).index("reason_given") :]
    assert {e["reason"] for e in since} == {"Assessment following a referral"}
    assert {e["role"] for e in since} == {"practitioner"}
    assert [e["seq"] for e in since] == sorted(e["seq"] for e in since)

    # Drawn again (another run), the family is not audited again; back to the results neither.
    run(at)
    [back] = [b for b in at.button if b.label == "Back to the results"]
    run(back.click())
    assert len(open_buttons(at)) == len(found)
    assert kinds(trail(served_model, oid))[-1] == "family_viewed"
    assert len(trail(served_model, oid)) == len(events)


@pytest.mark.parametrize(
    "refused", ["search", "results_shown", "family_viewed", "service_detail_opened"]
)
def test_nothing_is_drawn_that_the_trail_could_not_record(
    served_model: Path, children: list[Child], monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    child = children[0]
    oid = f"oid-refused-{refused}"
    at = open_lookup("practitioner", oid)
    if refused in ("search", "results_shown"):
        refusing(refused, monkeypatch)
    search_for(at, child)
    if refused in ("search", "results_shown"):
        assert any(AUDIT_FAILED in e.value for e in at.error)
        assert not open_buttons(at) and child.name not in page_text(at)
        assert "results_shown" not in kinds(trail(served_model, oid))
        return
    if refused == "family_viewed":
        refusing(refused, monkeypatch)
    open_family(at, child.person_key)
    view = the_family(served_model, child.person_key)
    if refused == "family_viewed":
        assert any(AUDIT_FAILED in e.value for e in at.error)
        shown = page_text(at)
        assert not any(m.name in shown for m in view.members), shown
        assert not at.expander and not at.get("download_button")
        return
    services = lookup_family.services_for_family(open_model(served_model), view)
    person, service = next(
        (key, found.services[0]) for key, found in services.items() if found.services
    )
    refusing(refused, monkeypatch)
    at.session_state[f"lookup_service_{person}_{slug(service.service)}"] = True  # open it
    run(at)
    assert any(AUDIT_FAILED in e.value for e in at.error)
    assert "Lead practitioner" not in page_text(at)


def test_a_service_opens_to_its_details_only_after_it_is_audited(
    served_model: Path, children: list[Child]
) -> None:
    child = children[0]
    oid = "oid-p2"
    at = open_lookup("analyst", oid, "case_work")
    search_for(at, child)
    open_family(at, child.person_key)
    view = the_family(served_model, child.person_key)
    con = open_model(served_model)
    try:
        services = lookup_family.services_for_family(con, view)
    finally:
        con.close()
    person, service = next(
        (key, found.services[0]) for key, found in services.items() if found.services
    )
    # Closed, a service's section holds nothing: its content runs only when it is opened.
    assert "Lead practitioner" not in page_text(at)
    labels = [e.label for e in at.expander]
    assert len(labels) == sum(len(found.services) for found in services.values())
    for found in services.values():
        for shown in found.services:
            assert any(as_shown(label).startswith(f"**{shown.service}**: {shown.status}")
                       for label in labels), shown  # fmt: skip
    before = len(trail(served_model, oid))
    at.session_state[f"lookup_service_{person}_{slug(service.service)}"] = True
    run(at)
    shown = page_text(at)
    assert "Lead practitioner" in shown
    if service.team:
        assert f"**Team**: {service.team}" in shown
    if service.last_interaction:
        assert f"**Last recorded interaction**: {fmt_date(service.last_interaction)}" in shown
    events = trail(served_model, oid)
    assert len(events) == before + 1
    assert events[-1]["kind"] == "service_detail_opened"
    assert events[-1]["detail"] == {"person_id": person, "service": service.service}
    assert events[-1]["reason"] == "Case work"
    run(at)  # still open: not audited again
    assert len(trail(served_model, oid)) == before + 1


def test_another_family_asks_for_the_reason_again_before_it_is_shown(
    served_model: Path, children: list[Child]
) -> None:
    first, second = children
    oid = "oid-p3"
    at = open_lookup("practitioner", oid, "assessment")
    search_for(at, first)
    open_family(at, first.person_key)  # the reason given on opening covers the first family
    assert any(as_shown(h.value) == f"Family of {first.name}" for h in at.header)
    [again] = [b for b in at.button if b.label == "New search"]
    run(again.click())
    search_for(at, second)
    open_family(at, second.person_key)
    assert [r.key for r in at.radio] == ["reason_code"]  # asked again
    assert not any(second.name in as_shown(h.value) for h in at.header) and not at.expander
    assert kinds(trail(served_model, oid))[-1] == "results_shown"
    give_reason(at, "safeguarding")
    assert any(as_shown(h.value) == f"Family of {second.name}" for h in at.header)
    events = trail(served_model, oid)
    assert kinds(events)[-2:] == ["reason_given", "family_viewed"]
    view = the_family(served_model, second.person_key)
    given = events[-2]
    assert given["detail"] == {
        "reason_code": "safeguarding",
        "family_id": view.family_key or f"person {second.person_key}",
    }
    assert events[-1]["reason"] == "Safeguarding concern"


def test_the_page_offers_no_table_download_only_the_printable_summary(
    served_model: Path, children: list[Child]
) -> None:
    for role in ("practitioner", "admin"):
        at = open_lookup(role, f"oid-downloads-{role}")
        search_for(at, children[0])
        open_family(at, children[0].person_key)
        buttons = [e for e in leaves(at.main) if type(e).__name__ == "DownloadButton"]
        assert [b.proto.label for b in buttons] == [f"Family summary to print ({MARKING}, HTML)"]
        assert not at.dataframe


def test_a_thin_or_wrong_search_says_why_and_records_nothing(served_model: Path) -> None:
    oid = "oid-p4"
    at = open_lookup("practitioner", oid)
    search(at, name="Smith", dob="31/02/2015")
    assert any("is not a date" in e.value for e in at.error)
    search(at)
    assert at.warning or at.error
    assert not open_buttons(at)
    assert not {"search", "results_shown"} & set(kinds(trail(served_model, oid)))


def test_uk_dates_are_read_day_first() -> None:
    for typed in ("03/07/2015", "3/7/2015", "03-07-2015", "3.7.2015", "3 Jul 2015",
                  "3 July 2015", "2015-07-03", " 03 / 07 / 2015 "):  # fmt: skip
        assert read_day(typed) == date(2015, 7, 3), typed
    for typed in ("31/02/2015", "2015", "07/2015", "tomorrow", "13/13/2015"):
        with pytest.raises(ValueError, match="is not a date"):
            read_day(typed)


# --- The printable summary -----------------------------------------------------------------------


def _visible_text(page: str) -> str:
    """The words of an HTML page, tags and styles taken out, entities read."""
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", body).split()))


def test_the_summary_names_the_family_and_is_marked_at_top_and_bottom(
    served_model: Path, children: list[Child]
) -> None:
    child = children[0]
    con = open_model(served_model)
    try:
        view = lookup_family.family_of(con, child.person_key)
        assert view is not None
        services = lookup_family.services_for_family(con, view)
    finally:
        con.close()
    page = family_summary_html(
        view, services, made_on=date(2026, 12, 4), made_by="Test Practitioner",
        reason="Assessment following a referral", is_synthetic=True,
    )  # fmt: skip
    assert re.search(rf"<title>{MARKING}: family summary for ", page)
    text = re.sub(r"\s+:", ":", _visible_text(page.split("<body>", 1)[1]))
    assert text.startswith(MARKING) and text.endswith(MARKING)  # the page's first and last words
    assert f"Family summary: {child.name}" in text
    assert "Printed 04 Dec 2026 by Test Practitioner" in text
    assert "Reason for access: Assessment following a referral" in text
    for member in (*view.members, *view.former_members):
        assert member.name in text
        if not member.relationship_recorded:
            assert f"{member.relationship} (inferred)" in text
    for found in services.values():
        for service in found.services:
            assert service.service in text and service.status in text
        if found.not_found:
            line = ", ".join(s.service for s in found.not_found)
            assert f"Not found in: {line}." in text
            for service in found.not_found:  # each system searched, and how far back
                history = years(service.currency.history_years)
                assert f"{service.service} ({service.system}): {history}" in text
    assert "Synthetic data." in text
    assert "<script" not in page.lower() and "http" not in page.lower()


def test_the_summary_shows_text_from_the_data_as_text() -> None:
    planted = f"{MARKDOWN} {HTML}"
    currency = lookup_family.ServiceCurrency(date(2020, 3, 31), 6.0, planted)
    service = lookup_family.ServiceView(
        planted, planted, "Current", planted, planted, planted, planted, planted,
        date(2019, 1, 2), date(2020, 3, 1), ((planted, planted),), currency,
    )  # fmt: skip
    member = lookup_family.Member(
        "P1", planted, date(2015, 7, 3), 4, planted, False, (planted,), None, (planted,), True
    )
    view = lookup_family.FamilyView(member, "F1", (member,), (), date(2020, 3, 31))
    services = {"P1": lookup_family.PersonServices("P1", (service,), (service,), (planted,))}
    page = family_summary_html(view, services, made_on=date(2026, 12, 4), made_by=planted,
                               reason=planted)  # fmt: skip
    assert "<img" not in page.lower()
    assert page.count("&lt;img") >= 10


def test_the_page_shows_text_from_the_data_as_text(
    served_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planted names, relationships, reasons, teams and contacts (the read layer's answers
    replaced) are shown escaped wherever Streamlit reads Markdown: never an image or a link."""
    from data_model.read import lookup_search
    from pages.ui.formats import plain

    planted = f"{MARKDOWN} {HTML}"
    currency = lookup_family.ServiceCurrency(date(2020, 3, 31), 6.0, planted)
    service = lookup_family.ServiceView(
        planted, planted, "Current", planted, planted, planted, planted, planted,
        date(2019, 1, 2), date(2020, 3, 1), ((planted, planted),), currency,
    )  # fmt: skip
    member = lookup_family.Member(
        "planted-P1", planted, date(2015, 7, 3), 4, planted, False, (planted,), None,
        (planted,), True,
    )  # fmt: skip
    former = lookup_family.Member(
        "planted-P2", planted, None, None, planted, True, (planted,), date(2019, 5, 1), (), False
    )
    view = lookup_family.FamilyView(member, "planted-F1", (member,), (former,), date(2020, 3, 31))
    found = lookup_family.PersonServices("planted-P1", (service,), (service,), (planted,))
    hit = lookup_search.SearchHit(
        "planted-P1", planted, (planted,), date(2015, 7, 3), 4, (planted,), planted, 1.0,
        (planted,),
    )  # fmt: skip

    def replace(module, name: str, answer) -> None:  # noqa: ANN001
        """The read function `name` answering `answer`, looked up by the page as the real one
        (pages/ui/model.py finds a function by its module and name)."""

        def function(con, *args, **keywords):  # noqa: ANN001, ANN002, ANN003, ANN202
            return answer

        function.__module__, function.__name__ = module.__name__, name
        monkeypatch.setattr(module, name, function)

    replace(lookup_search, "search_people", [hit])
    replace(lookup_family, "family_of", view)
    replace(lookup_family, "services_for_family", {"planted-P1": found})
    at = open_lookup("practitioner", "oid-planted")
    search(at, name="planted name for this test")
    run(at.button(key="lookup_open_0").click())
    at.session_state[f"lookup_service_planted-P1_{slug(planted)}"] = True
    run(at)
    texts = [
        *(e.value for e in (*at.markdown, *at.header, *at.subheader, *at.caption, *at.error)),
        *(e.label for e in at.expander),
        *(b.label for b in at.button),
        *(b.help or "" for b in at.button),
    ]
    assert sum(plain(MARKDOWN) in text for text in texts) >= 8
    for text in texts:
        assert MARKDOWN not in text and "<img" not in text.replace("\\<img", ""), text
    assert "Lead practitioner" in page_text(at)  # the details were drawn, escaped


def test_the_user_guide_explains_the_family_lookup(served_model: Path) -> None:
    at = run(signed_in(AppTest.from_file(APP, default_timeout=60), "practitioner", oid="oid-g"))
    run(at.switch_page(registry.BY_KEY["user_guide"].file))
    text = page_text(at)
    assert "## Family lookup" in text
    for words in ("None found does not mean never known", "How far back each service's search",
                  "OFFICIAL-SENSITIVE", "no CSV or Excel downloads"):  # fmt: skip
        assert words in text, words
    [table] = [m.value for m in at.markdown if m.value.startswith("| Service | System")]
    rows = as_shown(table).splitlines()[2:]
    rules_ = lookup_family.lookup_settings().services
    assert len(rows) == len(rules_)
    for row, rule in zip(rows, rules_, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == rule.name and cells[1] == rule.system, cells
        assert cells[3] == f"{rule.history_years:g} years", cells
