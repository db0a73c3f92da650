"""Finding a plan (a shipped plan's name or a path) and reading it into a checked Plan."""

from __future__ import annotations

from pathlib import Path

from data_model.plan.definitions import Plan
from data_model.plan.errors import PlanError
from data_model.plan.validation import check_plan
from data_model.plan.yaml_lines import Document

PLANS_DIR = Path(__file__).with_name("plans")
DEFAULT_PLAN = "bradford_2015"


def available_plans() -> list[str]:
    return sorted(p.stem for p in PLANS_DIR.glob("*.yaml"))


def resolve_plan(name_or_path: str | Path | None) -> Path:
    """A shipped plan's name (bradford_2015) or a path to a plan file."""
    given = str(name_or_path or DEFAULT_PLAN)
    path = Path(given)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise PlanError(f"{given}: no such plan file")
        return path
    shipped = PLANS_DIR / f"{given}.yaml"
    if not shipped.is_file():
        raise PlanError(f"{given}: no such plan; shipped plans: {', '.join(available_plans())}")
    return shipped


def _display_path(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def load_plan(name_or_path: str | Path | None = None) -> Plan:
    """Read and check a plan; raises PlanError naming the file and line of the first mistake."""
    path = resolve_plan(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(f"{path}: cannot be read ({error})") from None
    doc = Document(_display_path(path), text)
    return check_plan(doc, path.stem, text)
