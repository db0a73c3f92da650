"""Writes loaders/EXTRACTS.md, the extract contracts in plain English, from loaders/contracts.py.

Run `python -m loaders.extract_docs` after changing a contract; a test fails while the two differ.
"""

from __future__ import annotations

from pathlib import Path

from loaders.contracts import BY_SOURCE, CONTRACTS, NO_NAME_NO_IDENTIFIER, Column, Contract
from loaders.extract_manifest import MANIFEST_NAME, TOLERANCE_DAYS
from loaders.plausibility import CURRENT_TO, plausible
from loaders.reading import SETTINGS

DOC_FILE = Path(__file__).with_name("EXTRACTS.md")

_TYPE_WORDS = {
    "text": "text",
    "int": "whole number",
    "decimal": "number",
    "date": "date",
    "datetime": "date and time",
    "flag": "Y/N",
}


def _rule(column: Column) -> str:
    parts = []
    if column.allowed:
        parts.append("one of: " + ", ".join(column.allowed))
    if column.allowed_from:
        source, field = column.allowed_from.split(".")
        giver = BY_SOURCE[source]
        parts.append(
            f"one of the values of `{giver.column(field).header}` in {giver.title.lower()}"
            " (checked when both files load)"
        )
    if column.pattern:
        parts.append(f"pattern `{column.pattern}`")
    if column.minimum is not None:
        parts.append(f"at least {column.minimum:g}")
    limits = plausible(column)
    if limits.earliest is not None:
        parts.append(f"not before {limits.earliest:%d %b %Y}")
    if limits.latest == CURRENT_TO:
        parts.append("not after the current-to date")
    elif limits.latest is not None:
        parts.append(f"not after {limits.latest:%d %b %Y}")
    if limits.maximum is not None:
        parts.append(f"at most {limits.maximum:,g}")
    if column.identity:
        parts.append("**set aside** when unusable, never rejecting the row")
    if column.identifies:
        parts.append("identifies the person without a name")
    if column.description:
        parts.append(column.description)
    return "; ".join(parts).replace("|", "\\|")


def _section(contract: Contract) -> str:
    folder = f"{contract.subfolder}/" if contract.subfolder else ""
    lines = [
        f"### {contract.title}",
        "",
        f"File `{folder}{contract.file_stem}.csv` (or `.xlsx`, `.parquet`) from {contract.system}."
        f" Usually sent as {contract.usual_format.upper()}, {contract.usual_encoding}."
        + (" Optional." if contract.optional else ""),
    ]
    lines.append(f"Source name `{contract.source}` (in `extracts.yaml`, rejects and the model).")
    if contract.unique_key:
        lines.append(f"One row per {' + '.join(contract.unique_key)}.")
    if contract.currency_fields:
        dated = ", ".join(contract.column(f).header for f in contract.currency_fields)
        lines.append(f"Dated by: {dated} (its current-to date, unless `extracts.yaml` says).")
    if contract.notes:
        lines.append(contract.notes)
    lines += ["", "| column | type | required | rule |", "|---|---|---|---|"]
    for column in contract.columns:
        required = "yes" if column.required else ""
        lines.append(
            f"| {column.header} | {_TYPE_WORDS[column.type]} | {required} | {_rule(column)} |"
        )
    for check in contract.row_checks:
        lines.append(f"\nRow check: {check.reason} is rejected.")
    if contract.name_fields:
        names = " or ".join(contract.column(f).header for f in contract.name_fields)
        ids = " or ".join(contract.column(f).header for f in contract.identifier_fields)
        lines.append(
            f"\nA row needs a name ({names}) or an identifier ({ids}); a row with neither is"
            f' rejected: "{NO_NAME_NO_IDENTIFIER}".'
        )
    for event in contract.dob_not_after:
        lines.append(
            f"\nA date of birth after the row's own {contract.column(event).header} is set aside."
        )
    return "\n".join(lines)


def render() -> str:
    csv, limit = SETTINGS["csv"], SETTINGS["field_max_characters"]
    intro = (
        "# Extract contracts\n\n"
        "Generated from `loaders/contracts.py` by `python -m loaders.extract_docs`;"
        " do not edit.\n\n"
        "Every extract may be CSV (UTF-8 with or without BOM, cp1252, or UTF-16 with or\n"
        "without BOM; columns separated by commas, or by semicolons, tabs or pipes when only\n"
        "those give the contract's header), XLSX (the header is looked for on every visible\n"
        f"sheet, in the first {SETTINGS['xlsx']['header_search_rows']} rows) or Parquet (YYYYMMDD"
        " numbers and timestamps\nare read as dates, whole numbers stored as decimals as whole"
        " numbers). Dates may be DD/MM/YYYY,\n"
        "YYYY-MM-DD or Excel serial numbers. Headers match ignoring case, spaces and\n"
        "punctuation; extra columns are ignored. A file missing a column stops the build,\n"
        "unless its rule says the file may leave it out (its values are then blank); a row that\n"
        "breaks a rule is kept in `load_rejects` with its reason.\n\n"
        "Line numbers in rejects are the line where the row starts in the file (the header is\n"
        "line 1; an address spanning lines moves later rows down), the worksheet row for XLSX,\n"
        "and row + 1 for Parquet. Blank lines are not rows. A CSV byte that is neither UTF-8\n"
        "nor cp1252 stops the build naming the line: save the file as CSV UTF-8. A quoted value\n"
        f"may run over at most {csv['quoted_value_max_lines']} lines and"
        f" {csv['quoted_value_max_characters']:,} characters (`loaders/reading.yaml`); beyond\n"
        "that, or when a quote is never closed, that row is rejected and reading resumes on the\n"
        "next line. A row is rejected when a value holds a NUL character or is longer than its\n"
        f"column allows (text {limit['text']:,} characters, codes and identifiers"
        f" {limit['code']:,},\nnumbers {limit['number']:,} and dates {limit['date']:,}), or when a"
        " Parquet value is a list or a structure rather\nthan one value.\n"
    )
    dated = next(c for c in CONTRACTS if c.source == "police_incidents")
    manifest = (
        f"## When each extract was taken: `{MANIFEST_NAME}`\n\n"
        f"The sources folder may hold `{MANIFEST_NAME}`, saying for each source (by its source\n"
        "name, given in its section below, e.g. `ehm_referrals`) the day its data is current to,\n"
        "and optionally the system's name and what the extract covers:\n\n"
        "```yaml\n"
        f"{dated.source}:\n"
        "  current_to: 2020-02-29        # YYYY-MM-DD or DD/MM/YYYY; not after the build day\n"
        f"  system: {dated.system}\n"
        "  coverage: Bradford district, incidents since April 2012\n"
        "```\n\n"
        "A source it does not declare is current to the latest date in its dated columns (each\n"
        "section says which), never later than the day of the build: a later date cannot be\n"
        "an event that happened, so it is not counted. The Data quality page says which sources\n"
        "were declared and which inferred. The model's as-at date comes from these days. A row\n"
        f"with a dated column more than {TOLERANCE_DAYS} days after its source's current-to date"
        " (`loaders/checks.yaml`)\n"
        'is rejected: "after the extract\'s current-to date" (set aside, when the column is not\n'
        "required). A mistake in the file (a source or setting it does not know, a date that is\n"
        "not one) stops the build naming its line.\n"
        "\n## The council's own codes: `values`\n\n"
        "A coded column (one whose rule below says *one of*) may hold the council's own codes\n"
        "for the contract's values. Say what each stands for, per source and column (by its\n"
        "header):\n\n"
        "```yaml\n"
        "ehm_referrals:\n"
        "  current_to: 2020-03-31\n"
        "  values:\n"
        "    Referral Source:\n"
        "      Health Visitor: Health\n"
        "      GP: Health\n"
        "```\n\n"
        "Codes are matched ignoring case; each must stand for one of the column's values. The\n"
        "Data quality page says how the file was read; a code mapped nowhere is still rejected\n"
        "with its row, so a new code never disappears silently.\n"
        "\n## A council without every extract\n\n"
        "Not every council has every source (no DWP share, no health data; a Family Context\n"
        "council may start with its two files). Say which it does not have, one line each:\n\n"
        "```yaml\n"
        "dwp_spells: {available: false}\n"
        "health_events:\n"
        "  available: false\n"
        "  system: none yet (data sharing agreement pending)   # optional, shown on Data quality\n"
        "```\n\n"
        "A source declared absent needs no file and no `current_to`; its tables are built empty,\n"
        "with their columns, and the gates do not apply to it. The model records it as absent\n"
        "(not as a file with no rows), and whatever counts from it says *not available: no\n"
        "(source) extract* rather than nought: the outcomes plan's indicators and measures that\n"
        "read it (a measure without its source is never met), the Referrals page without the\n"
        "early help referrals and episodes, the attached families without the episodes. The\n"
        "Data quality page lists what is absent. A required file that is missing and not\n"
        "declared absent still stops the build, naming it and this setting; a file that is\n"
        "there although declared absent stops it too (the folder and the manifest disagree).\n"
        "The reference files (wards, postcode lookup) cannot be declared absent.\n"
    )
    set_aside = (
        "## Values set aside\n\n"
        "A value that cannot be used but does not make its row useless is **set aside**: the row\n"
        "loads with that value blank, and `load_set_aside` records the file, line, column, value\n"
        "and reason (the Data quality page lists them). The identity fields (names, date of\n"
        "birth, sex, postcode) are always set aside, never the reason a row is rejected: an\n"
        'unreadable or implausible value, a value that stands for "not known" (`NOT KNOWN`,\n'
        "`N/K`, `U`, `01/01/1900`, NHS pseudo-postcodes `ZZ99 ...`; for names `UNKNOWN`,\n"
        "`BABY`, `BABY OF`, `UNBORN` as newborns and unborn children are recorded:\n"
        "`loaders/checks.yaml` placeholders), a date of birth after the source's current-to\n"
        "date or after the person's own event (the row's, or the child's first early help\n"
        "referral). A date in an optional column outside its plausible range is set aside too;\n"
        "in a required column it rejects the row. Ranges are in `loaders/checks.yaml`\n"
        "(`plausible`). A column with more than `data_model/settings.yaml`'s share of its values\n"
        "set aside stops the build.\n\n"
        "Names are not required: a row of people is kept when it has a forename or a surname or\n"
        "one of the columns that identify its person without a name (the system's own person id,\n"
        "an NHS number, a NINO; each section says which). Only a row with neither is rejected,\n"
        f'"{NO_NAME_NO_IDENTIFIER}" (a name set aside counts as none). A row without a name joins\n'
        "its person through its own system's id and the identifiers it shares with other\n"
        "records (NHS number, NINO); matching treats the missing name as unknown, neither for nor\n"
        "against a link.\n"
    )
    sections = "\n\n".join(_section(c) for c in CONTRACTS)
    return intro + "\n" + manifest + "\n" + set_aside + "\n" + sections + "\n"


if __name__ == "__main__":
    DOC_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC_FILE}")
