"""Hand-built districts for the outcomes plan tests.

A test describes families (an early help case with its referral and attachment, members, and the
records each member has in the school census, police, DWP, health, social care and housing
extracts); the district writes them as extract files, links every member's records to the
member's early help record by analysts' decisions, and builds the model with a plan.

Tiny districts (fewer than linkage.yaml's min_records_to_score records) are linked by identifiers
and decisions only, so each member is exactly one person and each case exactly one family. build()
checks that the district stayed that small.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from data_model.build import build_model
from data_model.linkage import ACCEPT, linkage_settings
from data_model.plan import Plan
from data_model.state.audit import open_store
from data_model.state.decisions import record_decision
from tests.extract_files import write_district

AS_AT = dt.date(2020, 3, 31)  # a clock referral makes this the model's as-at date
TERMS = ("Autumn", "Spring", "Summer")


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` earlier (the end of the month if it has no such day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def months_after(day: dt.date, months: int) -> dt.date:
    return months_before(day, -months)


def census_day(academic_year: int, term: str) -> dt.date:
    """The census day of a term: early October, late January, late May."""
    return {
        "Autumn": dt.date(academic_year, 10, 5),
        "Spring": dt.date(academic_year + 1, 1, 20),
        "Summer": dt.date(academic_year + 1, 5, 20),
    }[term]


def terms_between(after: dt.date, until: dt.date) -> list[tuple[int, str]]:
    """(academic year, term) of every census day after `after` and on or before `until`."""
    found = []
    for year in range(after.year - 1, until.year + 1):
        for term in TERMS:
            if after < census_day(year, term) <= until:
                found.append((year, term))
    return sorted(found, key=lambda t: census_day(*t))


def terms_before(day: dt.date, count: int) -> list[tuple[int, str]]:
    """The `count` terms whose census days come last on or before `day`."""
    return terms_between(dt.date(day.year - 4, 1, 1), day)[-count:]


def _surname(number: int) -> str:
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not number:
            return "Test" + letters


@dataclass
class Member:
    family: Family
    index: int  # 1, 2, ... within the family
    ehm_id: str
    first_name: str
    dob: dt.date
    ids: dict[str, str] = field(default_factory=dict)  # source -> this member's id there

    @property
    def last_name(self) -> str:
        return self.family.surname

    def id_in(self, source: str, make: str) -> str:
        """The member's id in a source, made once."""
        if source not in self.ids:
            self.register(source, make)
        return self.ids[source]

    def register(self, source: str, source_id: str) -> None:
        """A record of the member's under this id: decided to be the member's other records."""
        registration = f"{source}:{source_id}"
        district = self.family.district
        if self.ehm_id:
            district.accepted.append((registration, f"ehm_people:{self.ehm_id}"))
        elif self.ids:
            first_source, first_id = next(iter(self.ids.items()))
            district.accepted.append((registration, f"{first_source}:{first_id}"))
        self.ids.setdefault(source, source_id)


class Family:
    """A household: optionally an early help case attached to the programme, and its members."""

    def __init__(
        self,
        district: District,
        number: int,
        attached: dt.date | None,
        referred: dt.date | None,
        closed: dt.date | None,
    ) -> None:
        self.district, self.number = district, number
        self.surname = _surname(number)
        self.case_id = f"C{number:06d}"
        self.address = f"{number} Plan Test Street"
        self.postcode = f"BD{1 + number % 20} {1 + number % 9}AA"
        self.members: list[Member] = []
        self.attached, self.closed = attached, closed
        self.referred = referred or (attached - dt.timedelta(days=40) if attached else None)
        if self.referred:
            rows = district.rows
            rows["ehm_referrals"].append(
                {
                    "referral_id": f"R{number:07d}",
                    "case_id": self.case_id,
                    "received_date": self.referred.isoformat(),
                    "referral_source": "School",
                    "decision": "Accepted",
                    "decision_date": self.referred.isoformat(),
                    "cluster": "Keighley",
                }
            )
        if attached:
            rows["ehm_episodes"].append(
                {
                    "episode_id": f"E{number:07d}",
                    "referral_id": f"R{number:07d}",
                    "case_id": self.case_id,
                    "cluster": "Keighley",
                    "team": "Keighley Team A",
                    "key_worker": f"KW{number % 10000:04d}",
                    "allocated_date": (self.referred + dt.timedelta(days=5)).isoformat(),
                    "attached_date": attached.isoformat(),
                    "closure_date": closed.isoformat() if closed else "",
                    "closure_reason": "Outcomes achieved" if closed else "",
                }
            )

    def _member(self, first_name: str, dob: dt.date) -> Member:
        index = len(self.members) + 1
        ehm_id = f"P{self.number * 10 + index:07d}" if self.referred else ""
        member = Member(self, index, ehm_id, first_name, dob)
        self.members.append(member)
        if ehm_id:
            self.district.rows["ehm_people"].append(
                {
                    "person_id": ehm_id,
                    "case_id": self.case_id,
                    "first_name": first_name,
                    "last_name": self.surname,
                    "dob": dob.isoformat(),
                    "sex": "Unknown",
                    "address_line_1": self.address,
                    "town": "Bradford",
                    "postcode": self.postcode,
                    "recorded_date": self.referred.isoformat(),
                }
            )
        return member

    def adult(self, first_name: str = "Alex", dob: dt.date = dt.date(1984, 6, 1)) -> Member:
        return self._member(first_name, dob)

    def child(self, first_name: str = "Sam", dob: dt.date = dt.date(2008, 3, 1)) -> Member:
        return self._member(first_name, dob)

    # --- records ------------------------------------------------------------------------------

    def _n(self) -> int:
        return next(self.district.serial)

    def term(
        self,
        member: Member,
        year_term: tuple[int, str],
        possible: int,
        missed: int,
        unauthorised: int | None = None,
        exclusions: int = 0,
        permanent: bool = False,
    ) -> None:
        """One school census term: sessions possible, missed (authorised unless said) and
        exclusions."""
        year, term = year_term
        unauthorised = 0 if unauthorised is None else unauthorised
        upn = member.id_in("school_census", f"A{self.number * 10 + member.index:011d}B")
        self.district.rows["school_census"].append(
            {
                "upn": upn,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "dob": member.dob.isoformat(),
                "address_line_1": self.address,
                "town": "Bradford",
                "postcode": self.postcode,
                "school_urn": "107300",
                "school_name": "Plan Test Primary",
                "academic_year": f"{year}/{(year + 1) % 100:02d}",
                "term": term,
                "sessions_possible": str(possible),
                "sessions_authorised_absence": str(missed - unauthorised),
                "sessions_unauthorised_absence": str(unauthorised),
                "fixed_term_exclusions": str(exclusions),
                "permanent_exclusion": "Y" if permanent else "N",
                "census_date": census_day(year, term).isoformat(),
            }
        )

    def police(
        self,
        member: Member,
        when: dt.date,
        role: str = "Offender",
        dv: bool = False,
        asb: bool = False,
        category: str = "Theft",
    ) -> None:
        nominal = member.id_in("police_incidents", f"N{self.number * 100 + member.index:08d}")
        self.district.rows["police_incidents"].append(
            {
                "incident_ref": f"INC/{self._n():06d}",
                "nominal_id": nominal,
                "last_name": member.last_name.upper(),
                "first_name": member.first_name,
                "dob": member.dob.isoformat(),
                "address": f"{self.address}, Bradford",
                "postcode": self.postcode,
                "incident_datetime": f"{when.isoformat()} 21:00",
                "offence_category": "Anti-social behaviour" if asb else category,
                "person_role": role,
                "dv_flag": "Y" if dv else "N",
                "asb_flag": "Y" if asb else "N",
            }
        )

    def dwp(
        self,
        member: Member,
        start: dt.date,
        end: dt.date | None,
        spell_type: str = "Out-of-work benefit",
        benefit: str = "JSA",
    ) -> None:
        claimant = member.id_in("dwp_spells", f"D{self.number * 100 + member.index:08d}")
        self.district.rows["dwp_spells"].append(
            {
                "spell_id": f"S{self._n()}",
                "claimant_ref": claimant,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "dob": member.dob.isoformat(),
                "spell_type": spell_type,
                "benefit_type": benefit if spell_type == "Out-of-work benefit" else "",
                "start_date": start.isoformat(),
                "end_date": end.isoformat() if end else "",
            }
        )

    def health(
        self, member: Member, when: dt.date, event_type: str, end: dt.date | None = None
    ) -> None:
        patient = member.id_in("health_events", f"H{self.number * 100 + member.index:08d}")
        self.district.rows["health_events"].append(
            {
                "event_id": f"EV{self._n()}",
                "patient_id": patient,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "dob": member.dob.isoformat(),
                "event_type": event_type,
                "event_date": when.isoformat(),
                "event_end_date": end.isoformat() if end else "",
            }
        )

    def csc(
        self,
        member: Member,
        start: dt.date,
        end: dt.date | None,
        episode_type: str = "Child in Need",
        category: str = "Abuse or neglect",
    ) -> None:
        child_id = member.id_in("csc_episodes", f"S{self.number * 10 + member.index:07d}")
        self.district.rows["csc_episodes"].append(
            {
                "episode_id": f"CSC{self._n()}",
                "child_id": child_id,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "dob": member.dob.isoformat(),
                "address": f"{self.address}\nBradford",
                "postcode": self.postcode,
                "episode_type": episode_type,
                "category_of_need": category,
                "start_date": start.isoformat(),
                "end_date": end.isoformat() if end else "",
            }
        )

    def housing(
        self,
        member: Member,
        extract: dt.date,
        notice: dt.date | None = None,
        eviction: dt.date | None = None,
        arrears: float = 0,
    ) -> None:
        # a tenancy row holds one notice: each record is a tenancy of its own
        tenancy = f"T{self._n():06d}"
        member.register("housing_tenancies", f"{tenancy}-{member.index}")
        self.district.rows["housing_tenancies"].append(
            {
                "tenancy_ref": tenancy,
                "tenant_no": str(member.index),
                "tenant_name": f"{member.last_name.upper()}, {member.first_name}",
                "dob": member.dob.isoformat(),
                "address": f"{self.address}, Bradford",
                "postcode": self.postcode,
                "tenancy_start": "2010-04-01",
                "rent_arrears": f"{arrears:.2f}",
                "nosp_served_date": notice.isoformat() if notice else "",
                "eviction_date": eviction.isoformat() if eviction else "",
                "extract_date": extract.isoformat(),
            }
        )


class District:
    """Families written as a complete extract folder and built into a model."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, str]]] = {
            s: []
            for s in (
                "ehm_people", "ehm_referrals", "ehm_episodes", "school_census",
                "police_incidents", "dwp_spells", "health_events", "csc_episodes",
                "housing_tenancies",
            )
        }  # fmt: skip
        self.accepted: list[tuple[str, str]] = []
        self.families: dict[str, Family] = {}
        self.serial = itertools.count(1)
        self._numbers = itertools.count(1)

    def family(
        self,
        name: str,
        attached: dt.date | None = None,
        referred: dt.date | None = None,
        closed: dt.date | None = None,
    ) -> Family:
        """A new household; with `attached`, an early help case referred (by default 40 days
        before) and attached to the programme that day."""
        assert name not in self.families, f"family {name} twice"
        family = Family(self, next(self._numbers), attached, referred, closed)
        self.families[name] = family
        return family

    def build(self, folder: Path, plan: str | Path | Plan | None = None) -> Path:
        """Write the extracts and the decisions, build the model; returns the model's path."""
        rows = {source: list(source_rows) for source, source_rows in self.rows.items()}
        # the clock: a referral on the as-at date, for a case nobody belongs to
        rows["ehm_referrals"].append(
            {
                "referral_id": "R9999999",
                "case_id": "C999999",
                "received_date": AS_AT.isoformat(),
                "referral_source": "Other",
                "decision": "Accepted",
                "decision_date": AS_AT.isoformat(),
                "cluster": "Keighley",
            }
        )
        extracts = write_district(folder / "extracts", rows)
        model = folder / "model.duckdb"
        store = open_store(model, key="plan-fixtures-" + "k" * 32)
        for left, right in self.accepted:
            record_decision(store, left, right, ACCEPT, user="test", role="analyst", session="t")
        store.dispose()
        build_model(extracts, model, plan=plan)
        with duckdb.connect(str(model), read_only=True) as con:
            records = con.execute("select count(*) from int_linkage_record").fetchall()[0][0]
        limit = linkage_settings()["person"]["min_records_to_score"]
        assert records < limit, f"{records} linkage records: split the district (< {limit})"
        return model

    @staticmethod
    def family_key(con: duckdb.DuckDBPyConnection, member: Member) -> str:
        """The family the model put a member in (found from any of the member's records)."""
        source, source_id = (
            ("ehm_people", member.ehm_id) if member.ehm_id else next(iter(member.ids.items()))
        )
        rows = con.execute(
            """
            select distinct family.family_key
            from mart_person_source_record as record
            inner join mart_family_member as family using (person_key)
            where record.source = ? and record.source_person_id = ?
            """,
            [source, source_id],
        ).fetchall()
        assert len(rows) == 1, f"{member.first_name} {member.last_name}: families {rows}"
        return rows[0][0]


# --- Records that satisfy a plan's selector ------------------------------------------------------


def _wanted(conditions, column: str, default):
    """The value a record needs for a condition on `column` (the first allowed), else default."""
    for condition in conditions:
        if condition.column == column:
            value = condition.values[0]
            if condition.operator == ">":
                return value + 1
            if condition.operator == "<":
                return value - 1
            return value
    return default


def add_record(
    family: Family, member: Member, selector, when: dt.date, end: dt.date | None = None
) -> None:
    """One record of the selector's source that meets its conditions, dated `when` by the
    selector's date (a spell or episode runs to `end`; None leaves it open)."""
    c = selector.conditions
    if selector.source == "police_incidents":
        family.police(
            member,
            when,
            role=_wanted(c, "person_role", "Offender"),
            dv=_wanted(c, "is_domestic_violence", False),
            asb=_wanted(c, "is_anti_social_behaviour", False),
            category=_wanted(c, "offence_category", "Theft"),
        )
    elif selector.source == "dwp_spells":
        family.dwp(
            member,
            when,
            end,
            spell_type=_wanted(c, "spell_type", "Out-of-work benefit"),
            benefit=_wanted(c, "benefit_type", "JSA"),
        )
    elif selector.source == "health_events":
        family.health(member, when, _wanted(c, "event_type", "Mental health referral"), end)
    elif selector.source == "csc_episodes":
        family.csc(
            member,
            when,
            end,
            episode_type=_wanted(c, "episode_type", "Child in Need"),
            category=_wanted(c, "category_of_need", "Abuse or neglect"),
        )
    elif selector.source == "housing_tenancies":
        dated = {"nosp_served_date": "notice", "eviction_date": "eviction"}
        extra = {dated[selector.date_column]: when} if selector.date_column in dated else {}
        extract = when if selector.date_column == "extract_date" else AS_AT
        family.housing(member, extract, arrears=_wanted(c, "rent_arrears", 0), **extra)
    else:
        raise NotImplementedError(selector.source)


def member_for(family: Family, who: str) -> Member:
    """A member of the family of the age `who` asks for (made if the family has none)."""
    for member in family.members:
        is_child = member.dob > dt.date(2002, 1, 1)
        if who == "anyone" or (who == "child") == is_child:
            return member
    return family.child() if who == "child" else family.adult()
