"""A small district whose text would run as spreadsheet formulas if a download passed it through.

Payloads (OWASP's CSV injection starts: =, +, -, @, tab, carriage return) sit in the free text a
council controls that the pages' tables show: ward names (reference/wards.csv), teams
(ehm_episodes), rejected values (a key worker is a staff code and a date received is a date, by
their contracts: a payload there is rejected and listed as typed, tab and carriage return
included, on the Data quality page), the programme's name and the outcomes plan's titles. Loaders
and the plan trim leading white space, so a tab or carriage return reaches a table only as a
rejected value. Used by the AppTest export test and the browser one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

PAYLOADS = (
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1)",
    "\tTAB",
    "\rCR",
    '=HYPERLINK("http://127.0.0.1:9/beacon","click")',
)
HOUSEHOLDS, SEED = 300, 11
PLAN = Path(__file__).resolve().parents[1] / "data_model" / "plan" / "plans" / "bradford_2015.yaml"


def planted(text: object, i: int) -> str:
    """The i-th payload (in turn) before a value, so values stay distinct (one team each)."""
    return f"{PAYLOADS[i % len(PAYLOADS)]} {text}"


def _edit_csv(path: Path, edit, encoding: str = "utf-8") -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    edit(frame)
    # CRLF lines, so the writer quotes a value holding a lone carriage return (pandas' default
    # "\n" would leave it bare, and a reader rightly ends the row there).
    frame.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n")


def plant_extracts(extracts: Path) -> None:
    """Payloads in every ward name and team, the programme's name, and a few rejected values."""

    def wards(frame: pd.DataFrame) -> None:
        frame["ward_name"] = [planted(name, i) for i, name in enumerate(frame["ward_name"])]

    def programme(frame: pd.DataFrame) -> None:
        frame["programme_name"] = PAYLOADS[-1]

    def episodes(frame: pd.DataFrame) -> None:
        frame["Team"] = [planted(team, i) for i, team in enumerate(frame["Team"])]
        frame.loc[frame.index[: len(PAYLOADS)], "Key Worker"] = PAYLOADS  # rejected, listed

    def referrals(frame: pd.DataFrame) -> None:
        frame.loc[frame.index[-len(PAYLOADS) :], "Date Received"] = PAYLOADS  # rejected, listed

    _edit_csv(extracts / "reference" / "wards.csv", wards)
    _edit_csv(extracts / "reference" / "programme.csv", programme)
    _edit_csv(extracts / "ehm_episodes.csv", episodes, "utf-8-sig")
    _edit_csv(extracts / "ehm_referrals.csv", referrals, "utf-8-sig")


def plant_plan(out: Path) -> Path:
    """The default plan with payloads before its name, council, claim routes and every title."""
    plan = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    plan["name"] = planted(plan["name"], 0)
    plan["council"] = planted(plan["council"], 1)
    titled = [*plan["claims"]["routes"]]
    for problem in plan["problems"]:
        titled.append(problem)
        titled.extend(problem.get("indicators") or [])
        titled.extend((problem.get("progress") or {}).get("measures") or [])
    for i, item in enumerate(titled):
        item["title"] = planted(item["title"], i)
    out.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def build_export_model(folder: Path) -> Path:
    """Generate the district, plant the payloads, build the model with the planted plan. Seven
    rejected rows of a small district's referrals and episodes are past the rejects gate: the
    build accepts them knowingly."""
    from data_model.build import SyntheticOrigin, build_model
    from loaders.synthetic.generate import generate

    generate(HOUSEHOLDS, SEED, folder / "extracts")
    plant_extracts(folder / "extracts")
    model = folder / "model.duckdb"
    build_model(
        folder / "extracts",
        model,
        plan=plant_plan(folder / "planted_plan.yaml"),
        accept_rejects=True,
        # the generator's made-up people: synthetic, so it opens as the demo, without sign-in
        synthetic=SyntheticOrigin(HOUSEHOLDS, SEED),
    )
    return model
