"""Pairwise linkage quality: precision, recall and F1 over pairs of items, a pair predicted when
both items are in one predicted group (a person, a family) and true when both are in one true
group. The harnesses that score a district or FEBRL4 with it are in
data_model/tools/linkage_eval.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb


@dataclass
class PairwiseScore:
    true_pairs: int
    predicted_pairs: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "precision": round(self.precision, 5),
            "recall": round(self.recall, 5),
            "f1": round(self.f1, 5),
        }


def pairwise_score(con: duckdb.DuckDBPyConnection, assignments: str) -> PairwiseScore:
    """Score a table/query with columns (item, predicted, truth): one row per item and group."""
    true_pairs, predicted_pairs, true_positives = con.execute(
        f"""
        with items as (select * from ({assignments})),
        pairs_in as (
            select
                (select coalesce(sum(n * (n - 1) / 2), 0) from (
                    select count(distinct item) as n from items group by truth)) as true_pairs,
                (select coalesce(sum(n * (n - 1) / 2), 0) from (
                    select count(distinct item) as n from items group by predicted))
                    as predicted_pairs,
                (select coalesce(sum(n * (n - 1) / 2), 0) from (
                    select count(distinct item) as n from items group by predicted, truth))
                    as true_positives
        )
        select * from pairs_in
        """
    ).fetchall()[0]
    return PairwiseScore(int(true_pairs), int(predicted_pairs), int(true_positives))
