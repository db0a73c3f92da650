"""The input contract: every extract a council sends us, column by column.

This module is data, not logic. Each `Contract` says which file a source arrives in, the columns its
header must carry (matched case-, space- and punctuation-insensitively, so `Date of Birth`,
`DATE_OF_BIRTH` and `dateofbirth` are the same column), each column's type, whether a value is
required, the values allowed, and row-level checks. The loader (`loaders/base.py`) enforces it and
the synthetic generator (`loaders/synthetic.py`) writes to it, so the two cannot drift apart.

The sources deliberately differ, as real council exports do: different column naming styles, date
formats, encodings and file formats. Every loader accepts every format we support (CSV, XLSX,
Parquet; UTF-8 with or without BOM, cp1252; dates as DD/MM/YYYY, ISO or Excel serial numbers); the
`usual_*` fields only record what each system usually sends, for the generator and the docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["text", "int", "decimal", "date", "datetime", "flag"]

# Bradford's early help clusters: the synthetic district's. A council's own are whatever its
# wards reference names (`early_help_cluster`); referrals and episodes are checked against those.
CLUSTERS = (
    "Keighley",
    "Lister Park",
    "West Bradford",
    "Airedale & Wharfedale",
    "BD5",
    "East Bradford",
    "South Bradford",
)

YES_NO = ("Y", "N")

# The fields that name the row's person: a forename, a surname, or a whole name in one field.
NAME_FIELDS = ("first_name", "last_name", "tenant_name")

# The identity fields: a value of theirs that cannot be used (unreadable, implausible, a
# placeholder for "not known") is set aside, loading as blank, and never rejects its row: the
# row's other fields still identify the person and still count (loaders/base.py).
IDENTITY_FIELDS = ("dob", "sex", "postcode", *NAME_FIELDS)

NO_NAME_NO_IDENTIFIER = "no name and no identifier"

# A UK postcode's shape, any case, with or without its space (normalised in staging).
POSTCODE = r"(?i)[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}"


@dataclass(frozen=True)
class Column:
    """One column of an extract."""

    header: str  # the header as the system usually writes it
    field: str  # our snake_case name in the raw table
    type: ColumnType = "text"
    required: bool = False  # a blank value rejects the row
    allowed: tuple[str, ...] | None = None  # exact values allowed (after trimming), blanks aside
    pattern: str | None = None  # a regular expression a non-blank value must match in full
    minimum: float | None = None  # for int and decimal columns
    description: str = ""
    may_be_absent: bool = False  # a file may leave the column out; its values are then blank
    # The value identifies the row's person without a name (the system's own person id, an NHS
    # number, a NINO): a row of a person-bearing source needs a name or one of these.
    identifies: bool = False
    # The allowed values are those another file loaded ("ref_wards.cluster": the clusters the
    # council's wards reference names), checked when that file is loaded with this one.
    allowed_from: str | None = None
    # The council's own codes for the contract's values (extracts.yaml `values`), lower case to
    # the value each stands for: "health visitor" -> "Health".
    synonyms: tuple[tuple[str, str], ...] = ()

    @property
    def identity(self) -> bool:
        """An identity field of a person-bearing row: a bad value is set aside, never a reason to
        reject the row. (Where the value is the row's whole point, as a postcode in the postcode
        lookup, the column is required and a bad value rejects the row.)"""
        return self.field in IDENTITY_FIELDS and not self.required


@dataclass(frozen=True)
class RowCheck:
    """A rule across columns. `sql` is a DuckDB boolean over typed fields; false rejects the row."""

    sql: str
    column: str  # the field named in the reject (the one most likely wrong)
    reason: str
    # Checked even on a row with a value that fails its column's rule, when the check's own
    # reason is worth saying beside that one (no name and no identifier beside a blank id).
    always: bool = False


@dataclass(frozen=True)
class Contract:
    source: str  # our name for the source; also the raw table name `raw_<source>`
    title: str  # plain English, for pages and messages
    system: str  # the kind of council system it comes from
    file_stem: str  # the loader looks for <file_stem>.csv, .xlsx or .parquet in the sources folder
    columns: tuple[Column, ...]
    unique_key: tuple[str, ...] = ()  # fields that identify a row; a repeat is rejected
    person_id_field: str | None = None  # the system's own person identifier, if rows are people
    currency_fields: tuple[str, ...] = ()  # "data current as of" = latest date in these fields
    row_checks: tuple[RowCheck, ...] = ()
    # Events of the row's own that its person's date of birth may not come after (checks.yaml
    # date_of_birth): a date of birth after them is set aside.
    dob_not_after: tuple[str, ...] = ()
    usual_format: str = "csv"  # csv | xlsx | parquet (what the generator writes)
    usual_encoding: str = "utf-8"  # utf-8 | utf-8-sig | cp1252
    usual_date_format: str = "%d/%m/%Y"  # strftime format, or "excel" for native spreadsheet dates
    subfolder: str = ""  # "reference" for reference files
    optional: bool = False  # an optional source may be absent without stopping the build
    notes: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.columns)

    @property
    def required_headers(self) -> tuple[str, ...]:
        """Columns that must be present in the header (values may still be blank)."""
        return tuple(c.header for c in self.columns if not c.may_be_absent)

    def column(self, field_name: str) -> Column:
        return next(c for c in self.columns if c.field == field_name)

    @property
    def name_fields(self) -> tuple[str, ...]:
        """The fields naming the row's person (none: the rows are not people)."""
        return tuple(c.field for c in self.columns if c.field in NAME_FIELDS)

    @property
    def identifier_fields(self) -> tuple[str, ...]:
        """The fields identifying the row's person without a name."""
        return tuple(c.field for c in self.columns if c.identifies)

    @property
    def identified_check(self) -> RowCheck | None:
        """A row of people needs something that says who: a name part or an identifier. Names
        are optional (a placeholder name is set aside), so only a row with neither is rejected;
        a name set aside counts as none."""
        if not self.name_fields:
            return None
        fields = self.name_fields + self.identifier_fields
        headers = [self.column(f).header for f in fields]
        listed = ", ".join(headers[:-1]) + f" and {headers[-1]}" if len(headers) > 1 else headers[0]
        return RowCheck(
            " or ".join(f"{f} is not null" for f in fields),
            self.name_fields[0],
            f"{NO_NAME_NO_IDENTIFIER}: {listed} are blank or stand for not known",
            always=True,
        )

    @property
    def checks(self) -> tuple[RowCheck, ...]:
        """Every row-level rule the loader applies: the contract's row checks, and for a source
        of people, that a row says who it is about."""
        identified = self.identified_check
        return self.row_checks + ((identified,) if identified else ())


# --- Early help case management (e.g. an Early Help Module): four files, UTF-8 with BOM ----------

EHM_PEOPLE = Contract(
    source="ehm_people",
    title="Early help: people",
    system="Early help case management",
    file_stem="ehm_people",
    usual_encoding="utf-8-sig",
    columns=(
        Column("Person ID", "person_id", required=True, pattern=r"P\d{7}", identifies=True),
        Column("Case ID", "case_id", required=True, pattern=r"C\d{6}"),
        Column("Forename", "first_name"),
        Column("Surname", "last_name"),
        Column("Date of Birth", "dob", "date"),
        Column("Gender", "sex", allowed=("Male", "Female", "Unknown")),
        Column("Ethnicity", "ethnicity"),
        Column("Address Line 1", "address_line_1"),
        Column("Address Line 2", "address_line_2"),
        Column("Town", "town"),
        Column("Postcode", "postcode", pattern=POSTCODE),
        Column("Date Recorded", "recorded_date", "date", required=True),
    ),
    unique_key=("person_id",),
    person_id_field="person_id",
    currency_fields=("recorded_date",),
)

RELATIONSHIPS = (
    "Mother",
    "Father",
    "Step-mother",
    "Step-father",
    "Parent's partner",
    "Son",
    "Daughter",
    "Stepson",
    "Stepdaughter",
    "Brother",
    "Sister",
    "Half-brother",
    "Half-sister",
    "Grandmother",
    "Grandfather",
    "Grandson",
    "Granddaughter",
    "Carer",
    "Other relative",
)

EHM_RELATIONSHIPS = Contract(
    source="ehm_relationships",
    title="Early help: recorded relationships",
    system="Early help case management",
    file_stem="ehm_relationships",
    usual_encoding="utf-8-sig",
    notes="Read as: <Related Person ID> is the <Relationship> of <Person ID>.",
    columns=(
        Column("Person ID", "person_id", required=True, pattern=r"P\d{7}"),
        Column("Related Person ID", "related_person_id", required=True, pattern=r"P\d{7}"),
        Column("Relationship", "relationship", required=True, allowed=RELATIONSHIPS),
        Column("Start Date", "start_date", "date"),
        Column("End Date", "end_date", "date"),
    ),
    unique_key=("person_id", "related_person_id"),
    row_checks=(
        RowCheck(
            "end_date is null or start_date is null or end_date >= start_date",
            "end_date",
            "end date is before start date",
        ),
    ),
)

REFERRAL_SOURCES = (
    "School",
    "Police",
    "Health",
    "Children's Social Care",
    "Housing",
    "Jobcentre Plus",
    "Voluntary sector",
    "Self-referral",
    "Family member",
    "Other",
)

DECISIONS = (
    "Accepted",
    "Signposted to universal services",
    "No further action",
    "Stepped up to social care",
)

EHM_REFERRALS = Contract(
    source="ehm_referrals",
    title="Early help: referrals",
    system="Early help case management",
    file_stem="ehm_referrals",
    usual_encoding="utf-8-sig",
    notes="A blank Decision means the referral is still awaiting a decision.",
    columns=(
        Column("Referral ID", "referral_id", required=True, pattern=r"R\d{7}"),
        Column("Case ID", "case_id", required=True, pattern=r"C\d{6}"),
        Column("Person ID", "person_id", pattern=r"P\d{7}", description="the child referred"),
        Column("Date Received", "received_date", "date", required=True),
        Column("Referral Source", "referral_source", required=True, allowed=REFERRAL_SOURCES),
        Column(
            "Referral Reasons",
            "referral_reasons",
            description="semicolon-separated reasons as recorded by the gateway",
        ),
        Column("Decision", "decision", allowed=DECISIONS),
        Column("Decision Date", "decision_date", "date"),
        Column("Cluster", "cluster", required=True, allowed_from="ref_wards.cluster"),
    ),
    unique_key=("referral_id",),
    currency_fields=("received_date", "decision_date"),
    row_checks=(
        RowCheck(
            "decision_date is null or decision_date >= received_date",
            "decision_date",
            "decision date is before the date received",
        ),
        RowCheck(
            "(decision is null) = (decision_date is null)",
            "decision_date",
            "a decision needs a decision date, and a decision date needs a decision",
        ),
    ),
)

CLOSURE_REASONS = (
    "Outcomes achieved",
    "Family disengaged",
    "Moved out of area",
    "Stepped up to social care",
    "Other",
)

EHM_EPISODES = Contract(
    source="ehm_episodes",
    title="Early help: episodes of work",
    system="Early help case management",
    file_stem="ehm_episodes",
    usual_encoding="utf-8-sig",
    notes="An episode exists once a referral is allocated to a lead practitioner (key worker).",
    columns=(
        Column("Episode ID", "episode_id", required=True, pattern=r"E\d{7}"),
        Column("Referral ID", "referral_id", required=True, pattern=r"R\d{7}"),
        Column("Case ID", "case_id", required=True, pattern=r"C\d{6}"),
        Column("Cluster", "cluster", required=True, allowed_from="ref_wards.cluster"),
        Column("Team", "team", required=True),
        Column(
            "Key Worker",
            "key_worker",
            required=True,
            pattern=r"KW\d{4}",
            description="staff code of the lead practitioner",
        ),
        Column("Allocated Date", "allocated_date", "date", required=True),
        Column("First Contact Date", "first_contact_date", "date"),
        Column("Assessment Date", "assessment_date", "date"),
        Column("Family Plan Date", "family_plan_date", "date"),
        Column(
            "Attached to Programme Date",
            "attached_date",
            "date",
            description="date the family was attached to Families First (attachment fee)",
        ),
        Column("Closure Date", "closure_date", "date"),
        Column("Closure Reason", "closure_reason", allowed=CLOSURE_REASONS),
    ),
    unique_key=("episode_id",),
    currency_fields=(
        "allocated_date",
        "first_contact_date",
        "assessment_date",
        "family_plan_date",
        "closure_date",
    ),
    row_checks=(
        RowCheck(
            "first_contact_date is null or first_contact_date >= allocated_date",
            "first_contact_date",
            "first contact is before allocation",
        ),
        RowCheck(
            "closure_date is null or closure_date >= allocated_date",
            "closure_date",
            "closure is before allocation",
        ),
    ),
)

# --- School census (termly attendance and exclusions): CSV, ISO dates, DfE-style CamelCase --------

TERMS = ("Autumn", "Spring", "Summer")

SCHOOL_CENSUS = Contract(
    source="school_census",
    title="School census: attendance and exclusions",
    system="School census (termly)",
    file_stem="school_census",
    usual_date_format="%Y-%m-%d",
    columns=(
        Column(
            "UPN",
            "upn",
            required=True,
            pattern=r"[A-Z][0-9]{11}[0-9A-Z]",
            description="Unique Pupil Number",
            identifies=True,
        ),
        Column("Forename", "first_name"),
        Column("Surname", "last_name"),
        Column("DOB", "dob", "date"),
        Column("Gender", "sex", allowed=("M", "F")),
        Column("AddressLine1", "address_line_1"),
        Column("AddressLine2", "address_line_2"),
        Column("Town", "town"),
        Column("Postcode", "postcode", pattern=POSTCODE),
        Column("SchoolURN", "school_urn", "int", required=True),
        Column("SchoolName", "school_name", required=True),
        Column("AcademicYear", "academic_year", required=True, pattern=r"20[0-9]{2}/[0-9]{2}"),
        Column("Term", "term", required=True, allowed=TERMS),
        Column("SessionsPossible", "sessions_possible", "int", required=True, minimum=0),
        Column(
            "SessionsAuthorisedAbsence",
            "sessions_authorised_absence",
            "int",
            required=True,
            minimum=0,
        ),
        Column(
            "SessionsUnauthorisedAbsence",
            "sessions_unauthorised_absence",
            "int",
            required=True,
            minimum=0,
        ),
        Column("FixedTermExclusions", "fixed_term_exclusions", "int", minimum=0),
        Column("PermanentExclusion", "permanent_exclusion", "flag", allowed=YES_NO),
        Column("CensusDate", "census_date", "date", required=True),
        Column(
            "Ethnicity",
            "ethnicity",
            pattern=r"[A-Z]{4}",
            description="the pupil's ethnicity as the DfE codes it (WBRI, APKN, AIND, MWAS,"
            " REFU refused, NOBT not yet obtained...); a census extract without it may leave the"
            " column out",
            may_be_absent=True,
        ),
    ),
    unique_key=("upn", "academic_year", "term"),
    person_id_field="upn",
    currency_fields=("census_date",),
    dob_not_after=("census_date",),
    row_checks=(
        RowCheck(
            "sessions_authorised_absence + sessions_unauthorised_absence <= sessions_possible",
            "sessions_unauthorised_absence",
            "absences exceed the sessions possible",
        ),
    ),
)

# --- Police: incidents with nominals. cp1252 CSV, UPPER_SNAKE headers, date-times ----------------

POLICE_INCIDENTS = Contract(
    source="police_incidents",
    title="Police: incidents and offences",
    system="Police records management",
    file_stem="police_incidents",
    usual_encoding="cp1252",
    usual_date_format="%d/%m/%Y %H:%M",
    columns=(
        Column("INCIDENT_REF", "incident_ref", required=True),
        Column("NOMINAL_ID", "nominal_id", required=True, pattern=r"N\d{8}", identifies=True),
        Column("SURNAME", "last_name"),
        Column("FORENAMES", "first_name"),
        Column("DOB", "dob", "date"),
        Column("SEX", "sex", allowed=("M", "F", "U")),
        Column("HOME_ADDRESS", "address", description="whole address on one line, comma-separated"),
        Column("POSTCODE", "postcode", pattern=POSTCODE),
        Column("INCIDENT_DATETIME", "incident_datetime", "datetime", required=True),
        Column("OFFENCE_CATEGORY", "offence_category", required=True),
        Column(
            "PERSON_ROLE",
            "person_role",
            required=True,
            allowed=("Victim", "Perpetrator", "Offender", "Suspect", "Witness"),
        ),
        Column("DV_FLAG", "dv_flag", "flag", allowed=YES_NO),
        Column("ASB_FLAG", "asb_flag", "flag", allowed=YES_NO),
        Column("OUTCOME", "outcome"),
    ),
    unique_key=("incident_ref", "nominal_id"),
    person_id_field="nominal_id",
    currency_fields=("incident_datetime",),
    dob_not_after=("incident_datetime",),
)

# --- DWP: benefit and employment spells. lower_snake headers, ISO dates, NINO not always there ---

DWP_SPELLS = Contract(
    source="dwp_spells",
    title="DWP: benefit and employment spells",
    system="DWP data share",
    file_stem="dwp_benefit_spells",
    usual_date_format="%Y-%m-%d",
    columns=(
        Column("spell_id", "spell_id", required=True),
        Column(
            "nino",
            "nino",
            pattern=r"[A-CEGHJ-PR-TW-Z]{2}[0-9]{6}[A-D]",
            description="National Insurance number; blank when DWP could not supply it",
            identifies=True,
        ),
        Column(
            "claimant_ref",
            "claimant_ref",
            required=True,
            pattern=r"D\d{8}",
            description="DWP's person reference in this data share",
            identifies=True,
        ),
        Column("first_name", "first_name"),
        Column("surname", "last_name"),
        Column("date_of_birth", "dob", "date"),
        Column("postcode", "postcode", pattern=POSTCODE),
        Column(
            "spell_type", "spell_type", required=True, allowed=("Out-of-work benefit", "Employment")
        ),
        Column("benefit_type", "benefit_type", allowed=("JSA", "ESA", "IS", "IB", "UC")),
        Column("start_date", "start_date", "date", required=True),
        Column("end_date", "end_date", "date"),
    ),
    unique_key=("spell_id",),
    person_id_field="claimant_ref",
    currency_fields=("start_date", "end_date"),
    dob_not_after=("start_date",),
    row_checks=(
        RowCheck(
            "end_date is null or end_date >= start_date",
            "end_date",
            "end date is before start date",
        ),
        RowCheck(
            "(spell_type = 'Employment') = (benefit_type is null)",
            "benefit_type",
            "a benefit spell needs a benefit type; an employment spell has none",
        ),
    ),
)

# --- Housing: tenancies. An Excel workbook, "SURNAME, Forename" in one column -------------------

HOUSING_TENANCIES = Contract(
    source="housing_tenancies",
    title="Housing: tenancies, arrears, notices and evictions",
    system="Housing management",
    file_stem="housing_tenancies",
    usual_format="xlsx",
    usual_date_format="excel",
    columns=(
        Column(
            "Tenancy Ref",
            "tenancy_ref",
            required=True,
            pattern=r"T\d{6}",
            description="with Tenant No (required too), the tenant",
            identifies=True,
        ),
        Column("Tenant No", "tenant_no", "int", required=True, minimum=1),
        Column("Tenant Name", "tenant_name", description='"SURNAME, Forename"'),
        Column("Date of Birth", "dob", "date"),
        Column("Property Address", "address", required=True),
        Column("Postcode", "postcode", pattern=POSTCODE),
        Column("Tenancy Start", "tenancy_start", "date", required=True),
        Column("Tenancy End", "tenancy_end", "date"),
        Column("Rent Arrears", "rent_arrears", "decimal", description="£ owed at the extract date"),
        Column(
            "NOSP Served",
            "nosp_served_date",
            "date",
            description="date a notice seeking possession was served",
        ),
        Column("Eviction Date", "eviction_date", "date"),
        Column("Extract Date", "extract_date", "date", required=True),
    ),
    unique_key=("tenancy_ref", "tenant_no"),
    person_id_field=None,  # tenants have no person id of their own: tenancy_ref + tenant_no
    currency_fields=("extract_date",),
    row_checks=(
        RowCheck(
            "tenancy_end is null or tenancy_end >= tenancy_start",
            "tenancy_end",
            "tenancy ends before it starts",
        ),
    ),
)

# --- Health: events from a health data share. Parquet, NHS gender codes -------------------------

HEALTH_EVENTS = Contract(
    source="health_events",
    title="Health: mental health, substance misuse, A&E and GP registration",
    system="NHS data share",
    file_stem="health_events",
    usual_format="parquet",
    usual_date_format="%Y-%m-%d",
    columns=(
        Column("event_id", "event_id", required=True),
        Column(
            "patient_id",
            "patient_id",
            required=True,
            pattern=r"H\d{8}",
            description="the data share's pseudonymous patient key",
            identifies=True,
        ),
        Column("nhs_number", "nhs_number", pattern=r"[0-9]{10}", identifies=True),
        Column("patient_forename", "first_name"),
        Column("patient_surname", "last_name"),
        Column("birth_date", "dob", "date"),
        Column(
            "gender_code",
            "sex",
            allowed=("1", "2", "9"),
            description="NHS Data Dictionary: 1 male, 2 female, 9 not stated",
        ),
        Column(
            "patient_address",
            "address",
            description="the patient's registered address on one line; a data share that sends"
            " postcodes only may leave the column out",
            may_be_absent=True,
        ),
        Column("postcode", "postcode", pattern=POSTCODE),
        Column(
            "event_type",
            "event_type",
            required=True,
            allowed=(
                "GP registration",
                "A&E attendance",
                "Mental health referral",
                "Substance misuse treatment",
            ),
        ),
        Column("event_date", "event_date", "date", required=True),
        Column("event_end_date", "event_end_date", "date"),
        Column("gp_practice_code", "gp_practice_code", pattern=r"B\d{5}"),
    ),
    unique_key=("event_id",),
    person_id_field="patient_id",
    currency_fields=("event_date",),
    dob_not_after=("event_date",),
)

# --- Children's social care: child in need and child protection episodes ------------------------

CSC_EPISODES = Contract(
    source="csc_episodes",
    title="Children's social care: child in need and child protection",
    system="Children's social care case management",
    file_stem="csc_episodes",
    notes="Address is the whole address with line breaks inside one quoted field.",
    columns=(
        Column("Episode Id", "episode_id", required=True),
        Column("Child Id", "child_id", required=True, pattern=r"S\d{7}", identifies=True),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column("Date Of Birth", "dob", "date"),
        Column("Gender", "sex", allowed=("Male", "Female", "Unknown")),
        Column("Address", "address"),
        Column("Postcode", "postcode", pattern=POSTCODE),
        Column(
            "Episode Type",
            "episode_type",
            required=True,
            allowed=("Child in Need", "Child Protection Plan", "Looked After"),
        ),
        Column("Category Of Need", "category_of_need"),
        Column("Start Date", "start_date", "date", required=True),
        Column("End Date", "end_date", "date"),
        Column("Team", "team"),
    ),
    unique_key=("episode_id",),
    person_id_field="child_id",
    currency_fields=("start_date", "end_date"),
    row_checks=(
        RowCheck(
            "end_date is null or end_date >= start_date",
            "end_date",
            "end date is before start date",
        ),
    ),
)

# --- Service involvement for Family Context: one row per person and service --------------------

SERVICES = (
    "School",
    "Early Help",
    "Early Years",
    "Health Visitor",
    "GP",
    "Young Carers",
    "Youth Offending",
    "Drug & Alcohol",
    "Adult Social Care",
    "Adult Mental Health",
    "Housing",
    "Police",
    "Anti-Social Behaviour",
)

SERVICE_INVOLVEMENT = Contract(
    source="service_involvement",
    title="Service involvement (Family Context)",
    system="Partner systems, one row per person and service",
    file_stem="service_involvement",
    columns=(
        Column("Record Id", "record_id", required=True),
        Column(
            "Cms Id",
            "cms_id",
            required=True,
            description="the person's id in that system",
            identifies=True,
        ),
        Column("System", "system_name", required=True),
        Column("Service", "service", required=True, allowed=SERVICES),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column("Date Of Birth", "dob", "date"),
        Column("Gender", "sex", allowed=("Male", "Female", "Unknown")),
        Column("Address", "address"),
        Column("Postcode", "postcode", pattern=POSTCODE),
        Column("Team", "team"),
        Column("Contact Name", "contact_name"),
        Column("Contact Role", "contact_role"),
        Column("Contact Phone", "contact_phone"),
        Column("Contact Email", "contact_email"),
        Column("Start Date Of Last Involvement", "start_date", "date"),
        Column("Date Of Most Recent Interaction", "last_interaction_date", "date"),
        Column("End Date", "end_date", "date"),
        Column("Date Current As Of", "current_as_of", "date", required=True),
        Column("Coverage Start Date", "coverage_start", "date", required=True),
        Column("Coverage End Date", "coverage_end", "date"),
        Column("Coverage Geographic Area", "coverage_area", required=True),
    ),
    unique_key=("record_id",),
    person_id_field="cms_id",
    currency_fields=("current_as_of",),
)

# --- Family Context "live" extracts: one file per service, one row per person --------------------
#
# The format of the public Family Context code's sample extracts (csc.csv and education.csv): each
# service system sends its own file with its own person id (Cms Id), the address as lines in one
# quoted field with the postcode on the last line, ISO dates, and the dates describing the extract
# with a time of day ("2022-10-15 00:00:00").

FAMILY_CONTEXT_GENDERS = ("Male", "Female", "Other", "Not Specified", "Unknown")
FAMILY_CONTEXT_INVOLVEMENT = ("Current", "Historic", "Not Specified", "None found")
_FAMILY_CONTEXT_NOTES = (
    "Address is the whole address with line breaks inside one quoted field, the postcode on its"
    " last line. Date Current As Of and the coverage dates usually carry a time"
    " (2022-10-15 00:00:00)."
)
_COVERAGE_CHECK = RowCheck(
    "coverage_end_date is null or coverage_end_date >= coverage_start_date",
    "coverage_end_date",
    "coverage ends before it starts",
)


def _family_context_contract(
    source: str, title: str, system: str, file_stem: str, whose_id: str, own: tuple[Column, ...]
) -> Contract:
    """A Family Context live-format extract: the person and involvement columns every file has,
    the file's own columns, then the currency and coverage columns every file has."""
    return Contract(
        source=source,
        title=title,
        system=system,
        file_stem=file_stem,
        subfolder="family_context",
        usual_date_format="%Y-%m-%d",
        optional=True,
        notes=_FAMILY_CONTEXT_NOTES,
        columns=(
            Column(
                "Cms Id",
                "cms_id",
                required=True,
                description=f"{whose_id} id in that system",
                identifies=True,
            ),
            Column("First Name", "first_name"),
            Column("Last Name", "last_name"),
            Column("Date Of Birth", "dob", "date"),
            Column("Gender", "sex", allowed=FAMILY_CONTEXT_GENDERS),
            Column("Address", "address", description="lines of the address, the postcode last"),
            Column(
                "Service Involvement", "service_involvement", allowed=FAMILY_CONTEXT_INVOLVEMENT
            ),
            *own,
            Column("Date Current As Of", "date_current_as_of", "datetime", required=True),
            Column("Coverage Start Date", "coverage_start_date", "datetime", required=True),
            Column("Coverage End Date", "coverage_end_date", "datetime"),
            Column("Coverage Geographic Area", "coverage_geographic_area", required=True),
            Column("Date Of Most Recent Interaction", "date_of_most_recent_interaction", "date"),
            Column("Start Date Of Last Involvement", "start_date_of_last_involvement", "date"),
        ),
        unique_key=("cms_id",),
        person_id_field="cms_id",
        currency_fields=("date_current_as_of",),
        row_checks=(_COVERAGE_CHECK,),
    )


FAMILY_CONTEXT_CSC = _family_context_contract(
    source="family_context_csc",
    title="Family Context: children's social care",
    system="Children's social care case management (Family Context live format)",
    file_stem="csc",
    whose_id="the child's",
    own=(
        Column("Local Authority Organisation", "local_authority_organisation"),
        Column("Contact Name", "contact_name"),
        Column("Contact Role", "contact_role"),
        Column("Contact Phone", "contact_phone"),
        Column("Contact Email", "contact_email"),
    ),
)

FAMILY_CONTEXT_EDUCATION = _family_context_contract(
    source="family_context_education",
    title="Family Context: school",
    system="School information management (Family Context live format)",
    file_stem="education",
    whose_id="the pupil's",
    own=(
        Column("School Name", "school_name"),
        Column("Contact Number", "contact_number", description="the school's telephone number"),
        Column("Admission Type", "admission_type"),
    ),
)

# --- Reference data -----------------------------------------------------------------------------

WARDS = Contract(
    source="ref_wards",
    title="Reference: wards",
    system="Council reference data",
    file_stem="wards",
    subfolder="reference",
    columns=(
        Column("ward_code", "ward_code", required=True, pattern=r"E0[0-9]{7}"),
        Column("ward_name", "ward_name", required=True),
        Column("area_committee", "area_committee", required=True),
        Column("early_help_cluster", "cluster", required=True),
        Column("population", "population", "int", required=True, minimum=0),
        Column("population_0_15", "population_0_15", "int", required=True, minimum=0),
        Column("lat", "lat", "decimal"),
        Column("lon", "lon", "decimal"),
    ),
    unique_key=("ward_code",),
    row_checks=(
        RowCheck(
            "population_0_15 <= population",
            "population_0_15",
            "the population aged 0 to 15 is more than the whole population",
        ),
    ),
)

POSTCODE_WARD = Contract(
    source="ref_postcode_ward",
    title="Reference: postcode to ward lookup",
    system="Council reference data (from ONS NSPL)",
    file_stem="postcode_ward",
    subfolder="reference",
    columns=(
        Column("postcode", "postcode", required=True),
        Column("ward_code", "ward_code", required=True, pattern=r"E0[0-9]{7}"),
        Column("lat", "lat", "decimal"),
        Column("lon", "lon", "decimal"),
    ),
    unique_key=("postcode",),
)

PROGRAMME = Contract(
    source="ref_programme",
    title="Reference: programme target",
    system="Council reference data",
    file_stem="programme",
    subfolder="reference",
    optional=True,
    notes="Absent: the target defaults to Bradford's 5,990 families, Sep 2014 to Mar 2020.",
    columns=(
        Column("programme_name", "programme_name", required=True),
        Column("start_date", "start_date", "date", required=True),
        Column("end_date", "end_date", "date", required=True),
        Column("target_families", "target_families", "int", required=True, minimum=1),
    ),
    row_checks=(
        RowCheck("end_date > start_date", "end_date", "the programme ends before it starts"),
    ),
)

CONTRACTS: tuple[Contract, ...] = (
    EHM_PEOPLE,
    EHM_RELATIONSHIPS,
    EHM_REFERRALS,
    EHM_EPISODES,
    SCHOOL_CENSUS,
    POLICE_INCIDENTS,
    DWP_SPELLS,
    HOUSING_TENANCIES,
    HEALTH_EVENTS,
    CSC_EPISODES,
    SERVICE_INVOLVEMENT,
    FAMILY_CONTEXT_CSC,
    FAMILY_CONTEXT_EDUCATION,
    WARDS,
    POSTCODE_WARD,
    PROGRAMME,
)

BY_SOURCE: dict[str, Contract] = {c.source: c for c in CONTRACTS}
