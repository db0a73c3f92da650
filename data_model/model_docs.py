"""Writes models/MODELS.md, the model reference, from the property files (models/**/*.yml).

Run `python -m data_model docs` after changing a model or its YAML; a test fails while the two
differ. Inputs come from the runner's declarations (ref()/source(), a Python model's INPUTS).
"""

from __future__ import annotations

from pathlib import Path

from data_model.model_tests import SINGULAR_TESTS_DIR, model_entries, source_tables
from data_model.runner import MODELS_DIR, Model, discover_models

DOC_FILE = MODELS_DIR / "MODELS.md"

_LAYER_TITLES = {"staging": "Staging", "intermediate": "Intermediate", "marts": "Marts"}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _test_words(test: str | dict) -> str:
    """A data test as a reader wants it: its kind, and what it checks against."""
    if isinstance(test, str):
        return test
    ((kind, body),) = test.items()
    arguments = {**((body or {}).get("arguments") or {}), **(body or {})}
    if kind == "accepted_values":
        return "accepted_values: " + ", ".join(str(v) for v in arguments.get("values", []))
    if kind == "relationships":
        return f"relationships: {arguments.get('to')}.{arguments.get('field')}"
    return kind


def _inputs(model: Model) -> str:
    refs = [f"ref `{name}`" for name in sorted(model.refs)]
    sources = [f"source `{name}`" for name in sorted(model.sources)]
    return ", ".join(refs + sources) or "nothing"


def _section(name: str, entry: dict | None, model: Model) -> str:
    entry = entry or {}
    meta = (entry.get("config") or {}).get("meta") or {}
    lines = [f"#### {name}", "", " ".join(str(entry.get("description", "")).split())]
    lines.append("")
    lines.append(f"Grain: {meta.get('grain', '?')}.")
    made_by = f" (made by `{model.name}`)" if name != model.name else ""
    kind = "Python model" if model.is_python else "SQL model"
    if model.materialized == "view":
        kind += " (a view)"
    relative = model.path.relative_to(MODELS_DIR).as_posix()
    lines.append(f"{kind} `{relative}`{made_by}; reads {_inputs(model)}.")
    lines += ["", "| column | description | tests |", "|---|---|---|"]
    for column in entry.get("columns") or []:
        tests = column.get("data_tests") or column.get("tests") or []
        lines.append(
            f"| {column['name']} | {_cell(column.get('description', ''))}"
            f" | {_cell('; '.join(_test_words(t) for t in tests))} |"
        )
    return "\n".join(lines)


def render_model_reference(models_dir: Path = MODELS_DIR) -> str:
    """MODELS.md's text: every model per layer and domain, then the sources and singular tests."""
    entries = {entry["name"]: entry for _, entry in model_entries(models_dir)}
    models = discover_models(models_dir)
    parts = [
        "# Model reference\n\n"
        "Generated from the property files (`data_model/models/**/*.yml`, dbt's format) by\n"
        "`python -m data_model docs`; do not edit. Each model is a table of the same name in\n"
        "the model file. Its tests (dbt's generic tests on columns, and the singular tests at\n"
        "the end) run at the end of every build; one failing stops the build and keeps the\n"
        "previous model."
    ]
    current: tuple[str, str] | None = None
    for model in models.values():
        domain = model.path.parent.relative_to(MODELS_DIR / model.layer).as_posix()
        if current is None or current[0] != model.layer:
            parts.append(f"## {_LAYER_TITLES[model.layer]}")
        if current != (model.layer, domain):
            parts.append(f"### {model.layer}" + ("" if domain == "." else f"/{domain}"))
        current = (model.layer, domain)
        for name in (model.name, *model.outputs):
            parts.append(_section(name, entries.get(name), model))

    parts.append(
        "## Sources\n\nTables made in Python before the models run (`sources.yml`)."
        " The raw tables' columns are the extract contracts' fields (`loaders/EXTRACTS.md`)."
        "\n\n| source | table | description |\n|---|---|---|\n"
        + "\n".join(
            f"| {group} | {table['name']} | {_cell(table.get('description', ''))} |"
            for _, group, table in source_tables(models_dir)
        )
    )
    singular = sorted((models_dir / SINGULAR_TESTS_DIR).glob("*.sql"))
    parts.append(
        "## Singular tests\n\nEach `models/tests/*.sql` selects the rows that break a rule;"
        " the build fails if it returns any.\n\n"
        + "\n".join(f"- `{path.stem}`: {_comment(path)}" for path in singular)
    )
    return "\n\n".join(parts) + "\n"


def _comment(path: Path) -> str:
    """A singular test's leading comment, which says what it checks and why."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


def write_model_reference(path: Path = DOC_FILE) -> Path:
    """Write MODELS.md from the property files; returns its path."""
    path.write_text(render_model_reference(), encoding="utf-8")
    return path
