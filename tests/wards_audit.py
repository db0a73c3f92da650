"""The tests' own disclosure audit, written apart from data_model/disclosure.py so that it proves
the module rather than repeating it: what an attacker can work out about each suppressed cell from
everything published, by linear programming (scipy's linprog), as tau-ARGUS audits a table.

Everything published is a set of linear facts about unknown true counts: a published cell is an
equation; a `c` is "at least 1" (zeros are published, so a c is never 0); a published rate with its
published denominator brackets the count (the rate is rounded to one place); a total published
elsewhere (the Overview's families attached) is an inequality over the cells it contains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linprog


@dataclass
class Knowledge:
    """Linear facts over named unknown counts (each at least 0)."""

    names: list[str] = field(default_factory=list)
    equalities: list[tuple[dict[str, float], float]] = field(default_factory=list)
    at_least: list[tuple[dict[str, float], float]] = field(default_factory=list)
    at_most: list[tuple[dict[str, float], float]] = field(default_factory=list)

    def variable(self, name: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return name

    def equals(self, terms: dict[str, float], value: float) -> None:
        self.equalities.append((terms, value))

    def no_less(self, terms: dict[str, float], value: float) -> None:
        self.at_least.append((terms, value))

    def no_more(self, terms: dict[str, float], value: float) -> None:
        self.at_most.append((terms, value))

    def _matrices(self) -> tuple:
        """The facts as sparse matrices, made once for as many intervals as are asked."""
        size = (len(self.names), len(self.equalities), len(self.at_least), len(self.at_most))
        if getattr(self, "_made_for", None) != size:
            column = {name: i for i, name in enumerate(self.names)}

            def matrix(rows: list[dict[str, float]], sign: float) -> sparse.csr_array | None:
                if not rows:
                    return None
                entries = [
                    (i, column[name], sign * coefficient)
                    for i, terms in enumerate(rows)
                    for name, coefficient in terms.items()
                ]
                i, j, v = zip(*entries, strict=True)
                return sparse.csr_array((v, (i, j)), shape=(len(rows), len(self.names)))

            a_eq = matrix([t for t, _ in self.equalities], 1.0)
            b_eq = np.array([v for _, v in self.equalities]) if self.equalities else None
            upper = [t for t, _ in self.at_least] + [t for t, _ in self.at_most]
            signs = [-1.0] * len(self.at_least) + [1.0] * len(self.at_most)
            a_ub = (
                matrix(
                    [{k: s * c for k, c in t.items()} for t, s in zip(upper, signs, strict=True)],
                    1.0,
                )
                if upper
                else None
            )
            b_ub = (
                np.array([-v for _, v in self.at_least] + [v for _, v in self.at_most])
                if upper
                else None
            )
            self._made = (column, a_eq, b_eq, a_ub, b_ub)
            self._made_for = size
        return self._made

    def interval(self, terms: dict[str, float], only: str | None = None) -> tuple[float, float]:
        """The least and greatest value of sum(terms) consistent with every fact (only="greatest":
        the greatest alone; the least is then given as -inf)."""
        column, a_eq, b_eq, a_ub, b_ub = self._matrices()
        objective = np.zeros(len(self.names))
        for name, coefficient in terms.items():
            objective[column[name]] += coefficient
        bounds = [] if only != "greatest" else [-np.inf]
        for sign in (1, -1) if only != "greatest" else (-1,):
            result = linprog(
                sign * objective, A_eq=a_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub,
                bounds=(0, None), method="highs",
            )  # fmt: skip
            if result.status == 3:
                bounds.append(np.inf)
                continue
            assert result.status == 0, f"the audit's programme failed: {result.message}"
            bounds.append(sign * result.fun)
        return bounds[0], bounds[1]


@dataclass(frozen=True)
class PublishedCell:
    """One cell as a councillor sees it: the wards it adds up, its count (None: c), its rate (None:
    c or not applicable) and the rate's denominator as published (None: not published)."""

    key: str
    wards: tuple[str, ...]
    count: int | None
    rate: float | None = None
    denominator: float | None = None


def add_table(knowledge: Knowledge, table: str, cells: Sequence[PublishedCell]) -> list[str]:
    """Add one published table's facts; the keys of its suppressed cells. A c is at least 1
    where the table shows its zeros; a table withheld whole (zeros too) says only >= 0."""
    hidden = []
    withheld_whole = all(cell.count is None for cell in cells)
    for cell in cells:
        terms = {knowledge.variable(f"{table}|{ward}"): 1.0 for ward in cell.wards}
        if cell.count is None:
            if not withheld_whole:
                knowledge.no_less(terms, 1)
            hidden.append(cell.key)
        else:
            knowledge.equals(terms, cell.count)
        if cell.rate is not None and cell.denominator:
            # a rate shown to one place: the count lies within half a tenth of it
            knowledge.no_less(terms, (cell.rate - 0.05) * cell.denominator / 1000)
            knowledge.no_more(terms, (cell.rate + 0.05) * cell.denominator / 1000)
    return hidden


def narrowest(
    knowledge: Knowledge, table: str, cells: Sequence[PublishedCell]
) -> list[tuple[str, float, float]]:
    """Each suppressed cell of a table with its interval, narrowest first."""
    found = []
    for cell in cells:
        if cell.count is None:
            low, high = knowledge.interval({f"{table}|{ward}": 1.0 for ward in cell.wards})
            found.append((cell.key, low, high))
    return sorted(found, key=lambda item: item[2] - item[1])
