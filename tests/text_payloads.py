"""A small district whose free text is Markdown and HTML that would fetch a URL if rendered.

The payloads sit in every text field a council controls that the pages show: the programme's
name (reference/programme.csv), ward names and area committees (reference/wards.csv), teams
(ehm_episodes), rejected values (a key worker is a staff code, KW and four digits, by its
contract: a payload there is rejected and listed as a rejected value), and the outcomes plan's
name, council, notes, claim routes, problems, indicators and measures (a copy of the default
plan). A page that shows one of them as Markdown or HTML would draw an image from 127.0.0.1:9
(nothing listens there).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from pages.ui.formats import WORD_JOINER

BEACON = "http://127.0.0.1:9/beacon"
MARKDOWN = f"![t]({BEACON}.png)"
HTML = f'<img src="{BEACON}-html.png">'
SHORTCODE = ":fire:"  # an emoji to Streamlit's Markdown
EMAIL = "beacon@beacon.example"  # a mailto: link to GitHub's autolinks
PAYLOAD = f"{MARKDOWN} {HTML} {SHORTCODE} {EMAIL}"
HOUSEHOLDS, SEED = 300, 11
PLAN = Path(__file__).resolve().parents[1] / "data_model" / "plan" / "plans" / "bradford_2015.yaml"


def planted(text: object) -> str:
    """A value with the payload before it, so values stay distinct (one team each)."""
    return f"{PAYLOAD} {text}"


def _edit_csv(path: Path, edit, encoding: str = "utf-8") -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    edit(frame)
    frame.to_csv(path, index=False, encoding=encoding)


def plant_extracts(extracts: Path) -> None:
    """Payloads in the extracts' free text (every ward and team; rejected values)."""

    def wards(frame: pd.DataFrame) -> None:
        frame["ward_name"] = frame["ward_name"].map(planted)
        frame["area_committee"] = frame["area_committee"].map(planted)

    def programme(frame: pd.DataFrame) -> None:
        frame["programme_name"] = PAYLOAD

    def episodes(frame: pd.DataFrame) -> None:
        frame["Team"] = frame["Team"].map(planted)
        frame.loc[frame.index[-1], "Key Worker"] = PAYLOAD  # rejected: its value is listed

    def referrals(frame: pd.DataFrame) -> None:
        frame.loc[frame.index[-1], "Date Received"] = PAYLOAD  # rejected: its value is listed

    _edit_csv(extracts / "reference" / "wards.csv", wards)
    _edit_csv(extracts / "reference" / "programme.csv", programme)
    _edit_csv(extracts / "ehm_episodes.csv", episodes, "utf-8-sig")
    _edit_csv(extracts / "ehm_referrals.csv", referrals, "utf-8-sig")


def plant_plan(out: Path) -> Path:
    """The default plan with the payload in its name, council, notes and every title."""
    plan = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    plan["name"] = PAYLOAD
    plan["council"] = planted(plan["council"])
    plan["notes"] = planted(plan["notes"])
    for route in plan["claims"]["routes"]:
        route["title"] = planted(route["title"])
    for problem in plan["problems"]:
        problem["title"] = planted(problem["title"])
        for indicator in problem.get("indicators") or []:
            indicator["title"] = planted(indicator["title"])
        for measure in (problem.get("progress") or {}).get("measures") or []:
            measure["title"] = planted(measure["title"])
    out.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def build_planted_model(folder: Path) -> Path:
    """Generate the district, plant the payloads, build the model with the planted plan. The
    model is the generator's (made-up people), so it is marked synthetic and opens as the demo
    does, without sign-in."""
    from data_model.build import SyntheticOrigin, build_model
    from loaders.synthetic.generate import generate

    generate(HOUSEHOLDS, SEED, folder / "extracts")
    plant_extracts(folder / "extracts")
    model = folder / "model.duckdb"
    build_model(
        folder / "extracts",
        model,
        plan=plant_plan(folder / "planted_plan.yaml"),
        synthetic=SyntheticOrigin(HOUSEHOLDS, SEED),
    )
    return model


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~$:])")


def as_shown(markdown: str) -> str:
    """Markdown source with plain()'s backslash escapes and word joiners taken out: the text as a
    reader sees it (the tests compare what a page says with the model's values)."""
    return _ESCAPED.sub(r"\1", markdown).replace(WORD_JOINER, "")
