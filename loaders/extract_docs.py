"""Writes loaders/EXTRACTS.md, the extract contracts in plain English, from loaders/contracts.py.

Run `python -m loaders.extract_docs` after changing a contract; a test fails while the two differ.
"""

from __future__ import annotations

from pathlib import Path

from loaders.contracts import CONTRACTS, Column, Contract
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
    if column.pattern:
        parts.append(f"pattern `{column.pattern}`")
    if column.minimum is not None:
        parts.append(f"at least {column.minimum:g}")
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
    if contract.unique_key:
        lines.append(f"One row per {' + '.join(contract.unique_key)}.")
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
    return intro + "\n" + "\n\n".join(_section(c) for c in CONTRACTS) + "\n"


if __name__ == "__main__":
    DOC_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC_FILE}")
