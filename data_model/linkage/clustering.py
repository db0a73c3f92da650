"""Clustering records into persons, strongest pair first, with the guards that keep two people
apart: certain links (a registration, a shared identifier) first, then pairs an analyst accepted,
then scored pairs by falling match weight, each joining two groups unless a guard says they are
two people (see _Groups)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

DAY_ZERO = dt.date(1900, 1, 1)  # dates of birth are days since this day (ClusterRecords)


def one_slip_apart(days_a: float, days_b: float) -> bool:
    """Whether two dates of birth (days since 1900) are one keystroke apart as YYYYMMDD: one digit
    changed or two neighbouring digits swapped (1976 keyed as 1967 or 1986), as a typist slips,
    not as a parent and child differ."""
    a = (DAY_ZERO + dt.timedelta(days=int(days_a))).strftime("%Y%m%d")
    b = (DAY_ZERO + dt.timedelta(days=int(days_b))).strftime("%Y%m%d")
    differ = [i for i in range(len(a)) if a[i] != b[i]]
    if len(differ) <= 1:
        return True
    i, j = differ[0], differ[-1]
    return len(differ) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]


def find_root(parent: np.ndarray, node: int) -> int:
    """The root of node's group in a union-find parent array, shortening the path on the way."""
    root = node
    while parent[root] != root:
        root = parent[root]
    while parent[node] != root:
        parent[node], node = root, parent[node]
    return root


class _Groups:
    """Union-find over records, with the rules that keep two people apart.

    - Pairs an analyst rejected never end in one group, nor do two NHS numbers (or NINOs).
    - Pairs kept apart on their own evidence never end in one group: twins (the same date of
      birth and home, different first names or a boy and a girl) and dates of birth
      `namesake_span_days` or more apart (a parent and child of one name, even chaining through
      a record without a date of birth). No system need hold them apart; an analyst who accepts
      such a pair joins it.
    - Guarded pairs (twins and siblings sharing only a postcode) and dates of birth more than
      `max_dob_span_days` apart keep two groups apart when some system holds them as two people,
      that is when both groups already hold a registration of one source: otherwise a replaced
      or mistyped value (FEBRL's corruption) would split one person.
    - Dates of birth count as apart only where the join would newly spread them (not where a
      group already spans as far, as an analyst's accepted pair may), and never where the
      earliest and latest are one keystroke apart (1976 keyed as 1967).
    """

    def __init__(
        self,
        records: ClusterRecords,
        max_dob_span_days: float,
        component: np.ndarray,
        namesake_span_days: float = np.inf,
    ) -> None:
        """`component`: each record's group to start from (its smallest record), e.g. the records
        that certain links join."""
        dob_days, source_codes = records.dob_days, records.source_codes
        known = ~np.isnan(dob_days)
        self.parent = component.copy()
        # per group root and kind of identifier (NHS number, NINO): the one the group holds, or -1
        self.identifier = np.full_like(records.identifier_codes, -1)
        for kind in range(records.identifier_codes.shape[1]):
            np.maximum.at(self.identifier[:, kind], component, records.identifier_codes[:, kind])
        # per group root: the earliest and latest date of birth, and a bit for each source
        # holding a registration in the group
        self.dob_min = np.full(len(dob_days), np.inf)
        self.dob_max = np.full(len(dob_days), -np.inf)
        np.minimum.at(self.dob_min, component[known], dob_days[known])
        np.maximum.at(self.dob_max, component[known], dob_days[known])
        self.sources = np.zeros(len(dob_days), dtype=np.int64)
        np.bitwise_or.at(
            self.sources, component, np.left_shift(1, np.asarray(source_codes, dtype=np.int64))
        )
        self.max_dob_span = max_dob_span_days
        self.namesake_span = namesake_span_days
        self.least_span = min(max_dob_span_days, namesake_span_days)
        self.guarded: dict[int, set[int]] = {}
        self.apart: dict[int, set[int]] = {}
        self.rejected: dict[int, set[int]] = {}

    def find(self, node: int) -> int:
        return find_root(self.parent, node)

    def roots(self) -> np.ndarray:
        """Every record's root (find of each), by pointer jumping over the whole parent array:
        a Python call per record took most of a second at Bradford scale."""
        roots = self.parent.copy()
        while True:
            up = roots[roots]
            if np.array_equal(up, roots):
                return roots
            roots = up

    def _partners(self, table: dict[int, set[int]], root: int) -> set[int]:
        return {self.find(other) for other in table.get(root, ())}

    def keep_apart(self, a: int, b: int, table: dict[int, set[int]]) -> None:
        """Record that a's and b's groups may not join (table: guarded, apart or rejected)."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            table.setdefault(ra, set()).add(rb)
            table.setdefault(rb, set()).add(ra)

    def _new_span(self, ra: int, rb: int, dob_min: float, dob_max: float) -> float:
        """How far apart joining would newly put dates of birth in one group: 0 when either group
        already spans as far (an analyst accepted it so), or when the earliest and latest are one
        keystroke apart (1976 keyed as 1967)."""
        span = dob_max - dob_min
        if (
            span <= self.least_span  # the usual case: checked first, it is the cheapest
            or span <= self.dob_max[ra] - self.dob_min[ra]
            or span <= self.dob_max[rb] - self.dob_min[rb]
            or one_slip_apart(dob_min, dob_max)
        ):
            return 0.0
        return span

    def join(self, a: int, b: int, force: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        dob_min = min(self.dob_min[ra], self.dob_min[rb])
        dob_max = max(self.dob_max[ra], self.dob_max[rb])
        # An analyst's "different people" holds even against their own "same person" decisions
        # (A=B, B=C, A≠C): the contradiction is kept apart and listed, never resolved by order.
        if ra in self.rejected and rb in self._partners(self.rejected, ra):
            return False
        if not force:
            held_a, held_b = self.identifier[ra], self.identifier[rb]
            if np.any((held_a >= 0) & (held_b >= 0) & (held_a != held_b)):
                return False  # two NHS numbers (or NINOs): two people
            if ra in self.apart and rb in self._partners(self.apart, ra):
                return False  # twins on their own evidence
            new_span = (
                self._new_span(ra, rb, dob_min, dob_max)
                if dob_max - dob_min > self.least_span
                else 0.0
            )
            if new_span >= self.namesake_span:
                return False  # a parent and child of one name
            if (
                new_span > self.max_dob_span
                or (ra in self.guarded and rb in self._partners(self.guarded, ra))
            ) and self.sources[ra] & self.sources[rb]:  # some system holds them apart
                return False
        self.parent[rb] = ra
        self.dob_min[ra], self.dob_max[ra] = dob_min, dob_max
        self.sources[ra] |= self.sources[rb]
        self.identifier[ra] = np.maximum(self.identifier[ra], self.identifier[rb])
        for table in (self.guarded, self.apart, self.rejected):
            self._move_partners(table, ra, rb)
        return True

    def _move_partners(self, table: dict[int, set[int]], ra: int, rb: int) -> None:
        """After rb joined ra: ra holds both groups' partners, and they point at ra."""
        if ra not in table and rb not in table:
            return
        merged = (self._partners(table, ra) | self._partners(table, rb)) - {ra, rb}
        table.pop(rb, None)
        if not merged:
            table.pop(ra, None)
            return
        table[ra] = merged
        for other in merged:
            partners = table.setdefault(other, set())
            partners.discard(rb)
            partners.add(ra)


def connected_groups(n_records: int, pairs: np.ndarray) -> np.ndarray:
    """Each record's connected group under `pairs` (n × 2), named by its smallest record."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
        shape=(n_records, n_records),
    )
    _, label = connected_components(graph, directed=False)
    smallest = np.full(label.max() + 1 if n_records else 0, n_records, dtype=np.int64)
    np.minimum.at(smallest, label, np.arange(n_records))
    return smallest[label]


def _pairs(pairs: Iterable) -> np.ndarray:
    """Pairs of records (a list of tuples or an n × 2 array) as an n × 2 integer array."""
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


@dataclass
class ClusterRecords:
    """What clustering knows of each record (arrays in unique_id order)."""

    dob_days: np.ndarray  # days since 1900, NaN where unknown
    source_codes: np.ndarray  # the record's source numbered 0, 1, …
    identifier_codes: np.ndarray  # n × kinds: the record's NHS number, NINO… numbered, or -1

    @classmethod
    def of(cls, dob_days, source_codes, identifier_codes=None) -> ClusterRecords:
        dob_days = np.asarray(dob_days, dtype=float)
        if identifier_codes is None:
            identifier_codes = np.full((len(dob_days), 0), -1, dtype=np.int64)
        codes = np.asarray(identifier_codes, dtype=np.int64)
        return cls(
            dob_days,
            np.asarray(source_codes, dtype=np.int64),
            codes[:, None] if codes.ndim == 1 else codes,
        )


def cluster_strongest_first(
    records: ClusterRecords,
    max_dob_span_days: float,
    must_link: Iterable[tuple[int, int]] | np.ndarray,
    accepted: Iterable[tuple[int, int]],
    scored: Iterable[tuple[int, int, float]],
    guarded: Iterable[tuple[int, int]] | np.ndarray,
    rejected: Iterable[tuple[int, int]],
    contradicted: list[tuple[int, int]] | None = None,
    apart: Iterable[tuple[int, int]] | np.ndarray = (),
    namesake_span_days: float = np.inf,
) -> tuple[np.ndarray, dict[int, float]]:
    """Group records: certain links, then accepted pairs, then scored pairs strongest first.

    `guarded` pairs keep two groups apart where a system holds them as two people, `apart` pairs
    always (both as _Groups describes, as does `namesake_span_days`). Returns each record's group
    root and, per record, the probability of the strongest pair that joined it to another record.
    Accepted pairs that a rejected pair keeps apart (the decisions contradict each other) are
    appended to `contradicted`.
    """
    n_records = len(records.dob_days)
    # Certain links join whatever the guards say, so they are connected groups from the start.
    component = connected_groups(n_records, _pairs(must_link))
    groups = _Groups(records, max_dob_span_days, component, namesake_span_days)
    in_certain_group = np.bincount(component, minlength=n_records)[component] > 1
    joined_by: dict[int, float] = dict.fromkeys(np.flatnonzero(in_certain_group).tolist(), 1.0)
    for a, b in _pairs(guarded).tolist():
        groups.keep_apart(a, b, groups.guarded)
    for a, b in _pairs(apart).tolist():
        groups.keep_apart(a, b, groups.apart)
    for a, b in rejected:
        groups.keep_apart(a, b, groups.rejected)
    for a, b in accepted:
        if groups.join(a, b, force=True):
            joined_by[a] = joined_by[b] = 1.0
        elif contradicted is not None and groups.find(a) != groups.find(b):
            contradicted.append((a, b))
    scored = np.asarray(scored, dtype=float).reshape(-1, 3)
    node_a, node_b = scored[:, 0].astype(np.int64), scored[:, 1].astype(np.int64)
    cross = component[node_a] != component[node_b]  # else already one person by an identifier
    node_a, node_b, probability = node_a[cross], node_b[cross], scored[cross, 2]
    # Where no rule could refuse any join (most people), strongest-first joins everything
    # connected: those records are grouped at once, and only the rest go pair by pair.
    whole = connected_groups(
        n_records, np.concatenate([_pairs(must_link), np.column_stack([node_a, node_b])])
    )
    settled = _settled(records, whole, [guarded, apart, rejected, accepted], groups.least_span)
    one_by_one = ~settled[whole[node_a]]
    for a, b, p in zip(
        node_a[one_by_one].tolist(),
        node_b[one_by_one].tolist(),
        probability[one_by_one].tolist(),
        strict=True,
    ):
        if groups.join(a, b):
            joined_by[a] = max(joined_by.get(a, 0.0), p)
            joined_by[b] = max(joined_by.get(b, 0.0), p)
    roots = groups.roots()
    at_once = settled[whole]
    roots[at_once] = whole[at_once]
    # There each record's strongest pair joined it (it was alone until then, or in a certain
    # group, already at 1.0).
    strongest = np.full(n_records, -1.0)
    for nodes in (node_a[~one_by_one], node_b[~one_by_one]):
        np.maximum.at(strongest, nodes, probability[~one_by_one])
    for node in np.flatnonzero(strongest >= 0).tolist():
        joined_by[node] = max(joined_by.get(node, 0.0), float(strongest[node]))
    return roots, joined_by


def _settled(
    records: ClusterRecords, whole: np.ndarray, pair_lists: list, least_span: float
) -> np.ndarray:
    """Per connected group of `whole` (indexed by its label): True where no rule could refuse a
    join inside it: no guarded, kept-apart, rejected or accepted pair touches it, its dates of
    birth lie within `least_span` days, and it holds no two identifiers of a kind."""
    n_records = len(whole)
    unsettled = np.zeros(n_records, dtype=bool)
    for pairs in pair_lists:
        nodes = _pairs(pairs)
        unsettled[whole[nodes.ravel()]] = True
    known = ~np.isnan(records.dob_days)
    earliest, latest = np.full(n_records, np.inf), np.full(n_records, -np.inf)
    np.minimum.at(earliest, whole[known], records.dob_days[known])
    np.maximum.at(latest, whole[known], records.dob_days[known])
    unsettled |= latest - earliest > least_span
    for kind in range(records.identifier_codes.shape[1]):
        codes = records.identifier_codes[:, kind]
        held = codes >= 0
        lowest = np.full(n_records, np.iinfo(np.int64).max)
        highest = np.full(n_records, -1)
        np.minimum.at(lowest, whole[held], codes[held])
        np.maximum.at(highest, whole[held], codes[held])
        unsettled |= (highest >= 0) & (lowest != highest)
    return ~unsettled
