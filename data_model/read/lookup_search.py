"""The family lookup's person search: a name (with a date of birth and a postcode or part of an
address if known), or an identifier a practitioner holds, to the persons linkage found, best
first, each with why they matched in plain words.

Every name any source recorded for a person is searched (lookup_person_name, written by the
build's "lookup" stage). A typed name part agrees with a recorded one exactly, as a known variant
(linkage's name groups: Bill and William, Mohd and Mohammed), by sound (Double Metaphone: Muhammad
and Mohammed, Chowdhury and Chaudhry), by spelling (Jaro-Winkler, typos) or as an initial. Names
typed surname first, hyphenated surnames, titles, dates of birth with the day and month swapped
are all agreed with. A person's score is the weighted mean of the parts searched
(lookup.yaml `search:`); equal scores list the youngest first.

The keys are read from the model once and kept in memory (per model file and its modification
time); each search is then arithmetic over arrays, a few tens of milliseconds at Bradford scale.
"""

from __future__ import annotations

import bisect
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from data_model.linkage.settings import name_titles
from data_model.lookup.names import address_text, compact, name_words, parse_postcode, phonetic_keys
from data_model.lookup.settings import search_settings


@dataclass(frozen=True)
class SearchQuery:
    name: str = ""  # free text: "Mohd Ali", "ali, mohammed", "Mrs J Smith"
    dob: date | None = None
    place: str = ""  # postcode or part of an address, optional
    identifier: str = ""  # UPN, NHS number, NINO, case or person id from any source


@dataclass(frozen=True)
class SearchHit:
    person_key: str
    name: str  # the person's best name, as mart_person gives it
    other_names: tuple[str, ...]  # other recorded names that differ
    dob: date | None
    age: int | None  # on the as-at date
    sources: tuple[str, ...]  # source labels that know them, plain words
    postcode: str | None
    score: float  # 0..1, higher is better
    reasons: tuple[str, ...]  # plain words: "surname exact", "date of birth day and month swapped"


# --- Query ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """One typed word of a name: its parts and, for a hyphenated word, the parts run together."""

    typed: str
    tokens: tuple[str, ...]

    @property
    def is_initial(self) -> bool:
        return len(self.typed) == 1


@dataclass(frozen=True)
class _TypedName:
    """The typed name's words, and which of them (by position) are the first names and which
    the surname, as typed; none of either when only one word was typed."""

    words: tuple[_Word, ...]
    given_at: tuple[int, ...] = ()
    surname_at: tuple[int, ...] = ()

    @property
    def given(self) -> tuple[_Word, ...]:
        return tuple(self.words[i] for i in self.given_at)

    @property
    def surname(self) -> tuple[_Word, ...]:
        return tuple(self.words[i] for i in self.surname_at)


def _word(parts: list[str]) -> _Word:
    tokens = list(dict.fromkeys(parts))
    if len(parts) > 1:
        tokens.append("".join(parts))
    return _Word("-".join(parts), tuple(tokens))


def _typed_name(text: str, titles: frozenset[str]) -> _TypedName:
    """'Mrs J Smith' -> given (J), surname (SMITH); 'Ali, Mohammed' -> given (MOHAMMED), surname
    (ALI); titles before the name or after the comma are left out."""

    def words_of(part: str) -> list[_Word]:
        words = name_words(part)
        while words and len(words[0]) == 1 and words[0][0] in titles:
            words = words[1:]
        return [_word(parts) for parts in words]

    if "," in text:
        surname_text, _, given_text = text.partition(",")
        surname, given = words_of(surname_text), words_of(given_text)
        if surname and given:
            at = tuple(range(len(given) + len(surname)))
            return _TypedName(tuple(given + surname), at[: len(given)], at[len(given) :])
        text = surname_text + " " + given_text
    words = words_of(text)
    if len(words) < 2:
        return _TypedName(tuple(words))
    return _TypedName(tuple(words), tuple(range(len(words) - 1)), (len(words) - 1,))


def query_problem(query: SearchQuery) -> str | None:
    """Plain words when a query is too thin to run (nothing to search by, initials only, an
    identifier too short to be one); None when it can run."""
    settings = search_settings()
    if query.dob is not None and query.dob > date.today():
        return "The date of birth is in the future: check it and search again."
    if query.identifier.strip():
        shortest = settings["identifier_min_length"]
        if len(compact(query.identifier)) < shortest:
            return (
                f"An identifier has at least {shortest} letters or digits: check it and search"
                " again."
            )
        return None
    typed = _typed_name(query.name, frozenset(name_titles()))
    if not typed.words:
        return "Enter a name, or an identifier such as a UPN or NHS number."
    if all(word.is_initial for word in typed.words):
        return "Enter at least one name in full, not only initials."
    return None


# --- The keys, read once per model file -------------------------------------------------------

# How a typed name part agrees with a recorded one, best last (a higher code wins a tie).
_NONE, _INITIAL, _SPELLING, _SOUND, _VARIANT, _EXACT = range(6)
_GIVEN_SLOTS = 4  # first, second and third given names, and all of them run together
_SURNAME_SLOTS = 4


@dataclass(frozen=True)
class _Entries:
    """Name rows by token: the rows and slots holding token t are entries offsets[t] to
    offsets[t + 1]."""

    offsets: np.ndarray
    row: np.ndarray
    slot: np.ndarray

    @classmethod
    def of(cls, slots: np.ndarray, tokens: int) -> _Entries:
        rows, columns = np.nonzero(slots < tokens)
        held = slots[rows, columns]
        order = np.argsort(held, kind="stable")
        offsets = np.searchsorted(held[order], np.arange(tokens + 1)).astype(np.int64)
        return cls(offsets, rows[order].astype(np.int32), columns[order].astype(np.int8))

    def holding(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The entries holding any of the tokens, and the token each holds."""
        starts, ends = self.offsets[tokens], self.offsets[tokens + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        token_of_entry = np.repeat(tokens, lengths)
        first_of_token = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        return first_of_token + np.arange(total), token_of_entry


class _Texts:
    """Text values kept as one Arrow array: a few bytes each, where a numpy array of Python
    strings takes some sixty (200 MB at Bradford scale)."""

    def __init__(self, values: pa.Array | pa.ChunkedArray) -> None:
        self.values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, position: int) -> str | None:
        return self.values[int(position)].as_py()

    def take(self, positions: np.ndarray) -> _Texts:
        return _Texts(self.values.take(pa.array(positions, pa.int64())))


@dataclass
class _Index:
    """A model's search keys as arrays. Tokens are numbered in `vocab` (the last number, len(vocab),
    stands for no token); persons are numbered in person_key order, and name rows, dates of birth,
    postcodes and addresses are sorted by person."""

    vocab: list[str]
    vocab_position: dict[str, int]
    vocab_first_letter: np.ndarray
    vocab_length: np.ndarray
    by_phonetic_key: dict[str, np.ndarray]
    by_name_group: dict[str, np.ndarray]
    groups_of_name: dict[str, tuple[str, ...]]
    row_given: np.ndarray  # rows × _GIVEN_SLOTS token numbers
    row_surname: np.ndarray  # rows × _SURNAME_SLOTS
    row_given_count: np.ndarray  # recorded tokens in each row's first names (all slots or fewer)
    row_surname_count: np.ndarray
    given_entries: _Entries  # the same, by token: which rows hold each token, in which slot
    surname_entries: _Entries
    row_person: np.ndarray
    row_first_name: _Texts
    row_last_name: _Texts
    row_sources: np.ndarray  # the sources giving each name: bits of source_labels
    named_persons: np.ndarray  # persons with a name row, in row order
    name_starts: np.ndarray  # their first rows
    person_key: _Texts  # sorted
    person_first_name: _Texts
    person_last_name: _Texts
    person_birth_order: np.ndarray  # yyyymmdd of the best date of birth, 0 when none
    person_postcode: _Texts
    person_sources: np.ndarray  # bits of source_labels
    source_labels: dict[int, str]  # bit -> label
    dob_person: np.ndarray  # every recorded date of birth, sorted by person
    dob_year: np.ndarray
    dob_month: np.ndarray
    dob_day: np.ndarray
    dob_persons: np.ndarray  # persons with a recorded date of birth, and their first entries
    dob_starts: np.ndarray
    postcode_person: np.ndarray  # every recorded postcode, sorted by person
    postcode_full: np.ndarray
    postcode_sector: np.ndarray
    postcode_district: np.ndarray
    postcode_persons: np.ndarray
    postcode_starts: np.ndarray
    postcode_code: dict[str, int]
    address_person: np.ndarray  # every recorded address (as recorded), sorted by person
    address: _Texts
    as_at: date | None
    titles: frozenset[str] = field(default_factory=frozenset)
    folded_addresses: dict[str, str] = field(default_factory=dict)  # filled as searches need

    def person_number(self, person_key: str) -> int | None:
        at = bisect.bisect_left(self.person_key, person_key)
        found = at < len(self.person_key) and self.person_key[at] == person_key
        return at if found else None

    def person_dob(self, person: int) -> date | None:
        order = int(self.person_birth_order[person])
        return date(order // 10000, order // 100 % 100, order % 100) if order else None

    def labels(self, bits: Any) -> tuple[str, ...]:
        """The source labels of a set of bits, in label order."""
        bits = int(bits)
        return tuple(sorted(label for bit, label in self.source_labels.items() if bits >> bit & 1))

    def folded_address(self, entry: int) -> str:
        raw = self.address[entry]
        if raw not in self.folded_addresses:
            self.folded_addresses[raw] = address_text(raw)
        return self.folded_addresses[raw]


def _small(numbers: np.ndarray) -> np.ndarray:
    """Person and entry numbers as 32-bit integers (half the memory; 300,000 persons fit)."""
    return numbers.astype(np.int32)


def _starts(persons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The persons present in a person-sorted array, and where each one's entries start."""
    return np.unique(persons, return_index=True)


def _positions(values: Any, sorted_set: Any) -> np.ndarray:
    """Each value's position in a set of values (-1 where absent or missing), hashed in Arrow."""
    found = pc.index_in(values, value_set=sorted_set)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _load_index(con: duckdb.DuckDBPyConnection) -> _Index:
    persons_table = con.sql(
        """
        select person_key, first_name, last_name,
               coalesce(year(dob) * 10000 + month(dob) * 100 + day(dob), 0) as birth_order,
               postcode
        from mart_person order by person_key
        """
    ).to_arrow_table()
    person_keys = persons_table["person_key"].combine_chunks()
    birth_order = persons_table["birth_order"].to_numpy().astype(np.int64)
    vocab_rows = con.execute(
        "select token, phonetic_keys, name_groups from lookup_name_token order by token"
    ).fetchall()
    vocab = [token for token, _, _ in vocab_rows]
    by_key: dict[str, list[int]] = {}
    by_group: dict[str, list[int]] = {}
    for number, (_, keys, groups) in enumerate(vocab_rows):
        for key in keys or ():
            by_key.setdefault(key, []).append(number)
        for group in groups or ():
            by_group.setdefault(group, []).append(number)
    slots = ", ".join(
        [f"given_tokens[{i}] as g{i}" for i in range(1, _GIVEN_SLOTS + 1)]
        + [f"surname_tokens[{i}] as s{i}" for i in range(1, _SURNAME_SLOTS + 1)]
    )
    rows_table = con.sql(
        f"""
        select person_key, first_name, last_name, sources, {slots},
               least(len(given_tokens), {_GIVEN_SLOTS}) as given_count,
               least(len(surname_tokens), {_SURNAME_SLOTS}) as surname_count
        from lookup_person_name order by person_key, records desc, first_name, last_name
        """
    ).to_arrow_table()
    vocab_set = pa.array(vocab, pa.string())
    missing = len(vocab)

    def token_numbers(prefix: str, count: int) -> np.ndarray:
        numbers = np.stack(
            [_positions(rows_table[f"{prefix}{i}"], vocab_set) for i in range(1, count + 1)],
            axis=1,
        )
        numbers[numbers < 0] = missing
        return numbers.astype(np.int32)

    rows = {
        name: rows_table[name].to_numpy() for name in ("sources", "given_count", "surname_count")
    }
    rows["person"] = _positions(rows_table["person_key"], person_keys)
    row_given = token_numbers("g", _GIVEN_SLOTS)
    row_surname = token_numbers("s", _SURNAME_SLOTS)
    row_person = rows["person"].astype(np.int64)
    named_persons, name_starts = _starts(row_person)

    places_table = con.sql(
        """
        select person_key, coalesce(year(dob), 0) as y, coalesce(month(dob), 0) as m,
               coalesce(day(dob), 0) as d, postcode,
               split_part(postcode, ' ', 1) as district,
               split_part(postcode, ' ', 1) || ' ' || left(split_part(postcode, ' ', 2), 1)
                   as sector,
               address, sources
        from lookup_person_place order by person_key
        """
    ).to_arrow_table()
    places = {
        name: places_table[name].to_numpy()
        for name in places_table.column_names
        if name not in ("person_key", "address")
    }
    places["address"] = _Texts(places_table["address"])
    places["person"] = _positions(places_table["person_key"], person_keys)
    place_person = places["person"].astype(np.int64)
    person_sources = np.zeros(len(person_keys), np.uint64)
    if len(place_person):
        present, starts = _starts(place_person)
        person_sources[present] = np.bitwise_or.reduceat(
            places["sources"].astype(np.uint64), starts
        )
    with_dob = np.flatnonzero(places["y"] > 0)
    with_postcode = np.flatnonzero(pd.notna(places["postcode"]))
    with_address = np.flatnonzero(places_table["address"].is_valid().to_numpy(zero_copy_only=False))
    dob_person = place_person[with_dob]
    dob_persons, dob_starts = _starts(dob_person)
    postcode_person = place_person[with_postcode]
    postcode_persons, postcode_starts = _starts(postcode_person)
    postcode_code: dict[str, int] = {}
    postcode_columns = []
    for column in ("postcode", "sector", "district"):
        codes, uniques = pd.factorize(pd.Series(places[column][with_postcode], dtype=object))
        offset = len(postcode_code)
        postcode_code.update({str(value): offset + i for i, value in enumerate(uniques)})
        postcode_columns.append(codes + offset)
    groups_of_name: dict[str, list[str]] = {}
    for name, group in con.execute(
        "select name_std, name_group from cfg_name_variant order by name_std, name_group"
    ).fetchall():
        groups_of_name.setdefault(name, []).append(group)
    return _Index(
        vocab=vocab,
        vocab_position={token: number for number, token in enumerate(vocab)},
        vocab_first_letter=np.array([ord(t[0]) for t in vocab] + [0], dtype=np.int32),
        vocab_length=np.array([len(t) for t in vocab] + [0], dtype=np.int32),
        by_phonetic_key={key: np.array(v, dtype=np.int64) for key, v in by_key.items()},
        by_name_group={group: np.array(v, dtype=np.int64) for group, v in by_group.items()},
        groups_of_name={name: tuple(groups) for name, groups in groups_of_name.items()},
        row_given=row_given,
        row_surname=row_surname,
        row_given_count=rows["given_count"].astype(np.int32),
        row_surname_count=rows["surname_count"].astype(np.int32),
        given_entries=_Entries.of(row_given, len(vocab)),
        surname_entries=_Entries.of(row_surname, len(vocab)),
        row_person=_small(row_person),
        row_first_name=_Texts(rows_table["first_name"]),
        row_last_name=_Texts(rows_table["last_name"]),
        row_sources=rows["sources"].astype(np.uint64),
        named_persons=_small(named_persons),
        name_starts=_small(name_starts),
        person_key=_Texts(person_keys),
        person_first_name=_Texts(persons_table["first_name"]),
        person_last_name=_Texts(persons_table["last_name"]),
        person_birth_order=birth_order,
        person_postcode=_Texts(persons_table["postcode"]),
        person_sources=person_sources,
        source_labels=dict(con.execute("select bit, label from lookup_source").fetchall()),
        dob_person=_small(dob_person),
        dob_persons=_small(dob_persons),
        dob_starts=_small(dob_starts),
        dob_year=places["y"][with_dob].astype(np.int16),
        dob_month=places["m"][with_dob].astype(np.int16),
        dob_day=places["d"][with_dob].astype(np.int16),
        postcode_person=_small(postcode_person),
        postcode_persons=_small(postcode_persons),
        postcode_starts=_small(postcode_starts),
        postcode_full=_small(postcode_columns[0]),
        postcode_sector=_small(postcode_columns[1]),
        postcode_district=_small(postcode_columns[2]),
        postcode_code=postcode_code,
        address_person=_small(place_person[with_address]),
        address=places["address"].take(with_address),
        as_at=_as_at(con),
        titles=frozenset(t for (t,) in con.execute("select title from cfg_name_title").fetchall()),
    )


def _as_at(con: duckdb.DuckDBPyConnection) -> date | None:
    row = con.execute("select max(as_at_date) from mart_model_info").fetchall()
    return row[0][0] if row else None


_CACHE: OrderedDict[tuple[str, int], _Index] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 2  # the model being served and, for a while after a rebuild, the one before it


# The model file each open connection reads (asked of DuckDB once per connection).
_MODEL_FILES: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str | None] = (
    weakref.WeakKeyDictionary()
)


def _model_file(con: duckdb.DuckDBPyConnection) -> str | None:
    if con not in _MODEL_FILES:
        rows = con.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchall()  # fetchall, not fetchone: it leaves no open result behind
        _MODEL_FILES[con] = rows[0][0] if rows and rows[0][0] else None
    return _MODEL_FILES[con]


def search_index(con: duckdb.DuckDBPyConnection) -> _Index:
    """The model's search keys, read once per model file and modification time (a database
    without a file, as tests make, is read each time)."""
    path = _model_file(con)
    if path is None:
        return _load_index(con)
    key = (os.path.abspath(path), os.stat(path).st_mtime_ns)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        index = _load_index(con)
        _CACHE[key] = index
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return index


# --- Scoring ----------------------------------------------------------------------------------


class _Agreements:
    """How well each typed token agrees with every recorded token (value 0..1 and how, by token
    number), computed once per token a search types."""

    def __init__(self, index: _Index, settings: dict) -> None:
        self.index = index
        self.agree = settings["name_agreement"]
        self._by_token: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def of_token(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        if token not in self._by_token:
            self._by_token[token] = self._compute(token)
        return self._by_token[token]

    def of_word(self, word: _Word) -> tuple[np.ndarray, np.ndarray]:
        """A typed word's agreement: a hyphenated word's parts one by one agree a little less
        than the whole ("Smith-Jones" typed, Smith recorded)."""
        if len(word.tokens) == 1:
            return self.of_token(word.tokens[0])
        whole_value, whole_how = self.of_token(word.tokens[-1])
        value, how = whole_value.copy(), whole_how.copy()
        for token in word.tokens[:-1]:
            part_value, part_how = self.of_token(token)
            part_value = part_value * self.agree["one_part_of_several"]
            better = (part_value > value) | ((part_value == value) & (part_how > how))
            value[better], how[better] = part_value[better], part_how[better]
        return value, how

    def _compute(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        index, agree = self.index, self.agree
        size = len(index.vocab)
        value = np.zeros(size + 1, np.float32)
        how = np.zeros(size + 1, np.int8)

        def offer(numbers: np.ndarray, offered: np.ndarray | float, code: int) -> None:
            # The agreement is the best value any way gives; the way named is the most telling
            # that holds (Mohamed for Mohammed is a known variant, though spelt closer still).
            if numbers.size == 0:
                return
            value[numbers] = np.maximum(value[numbers], offered)
            how[numbers] = np.maximum(how[numbers], code)

        if size:
            similarity = process.cdist(
                [token],
                index.vocab,
                scorer=JaroWinkler.normalized_similarity,
                score_cutoff=agree["similar_spelling_from"],
                dtype=np.float32,
            )[0]
            close = np.flatnonzero(similarity > 0)
            offer(close, similarity[close], _SPELLING)
        if len(token) == 1:
            initials = np.flatnonzero(index.vocab_first_letter[:size] == ord(token))
        else:
            initials = np.flatnonzero(
                (index.vocab_length[:size] == 1)
                & (index.vocab_first_letter[:size] == ord(token[0]))
            )
        offer(initials, agree["initial"], _INITIAL)
        if len(token) > 1:
            sounds = [index.by_phonetic_key.get(key) for key in phonetic_keys(token)]
            sounds = [numbers for numbers in sounds if numbers is not None]
            if sounds:
                offer(np.unique(np.concatenate(sounds)), agree["sounds_the_same"], _SOUND)
            variants = [index.by_name_group.get(g) for g in index.groups_of_name.get(token, ())]
            variants = [numbers for numbers in variants if numbers is not None]
            if variants:
                offer(np.unique(np.concatenate(variants)), agree["known_variant"], _VARIANT)
        exact = index.vocab_position.get(token)
        if exact is not None:
            offer(np.array([exact]), 1.0, _EXACT)
        return value, how


@dataclass
class _NameScores:
    """The typed name against name rows: for each typed word, its best agreement with the row's
    first names and with its surname."""

    typed: _TypedName
    given_best: list[np.ndarray]  # by word: rows
    surname_best: list[np.ndarray]
    settings: dict

    def score(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's name agreement (0..1) and whether it agreed better typed surname first."""
        typed, weights = self.typed, self.settings["weights"]
        if not typed.given_at:
            best = np.maximum(self.given_best[0], self.surname_best[0])
            return best, np.zeros(best.shape, bool)
        given, surname = typed.given_at, typed.surname_at
        surname_w, given_w = weights["surname"], weights["first_name"]
        in_order = (
            surname_w * self._part([self.surname_best[i] for i in surname])
            + given_w * self._part([self.given_best[i] for i in given])
        ) / (surname_w + given_w)
        swapped = (
            surname_w * self._part([self.surname_best[i] for i in given])
            + given_w * self._part([self.given_best[i] for i in surname])
        ) / (surname_w + given_w)
        swapped = swapped * self.settings["name_agreement"]["swapped_order"]
        return np.maximum(in_order, swapped), swapped > in_order

    def _part(self, bests: list[np.ndarray]) -> np.ndarray:
        share = self.settings["name_agreement"]["every_word_share"]
        if len(bests) == 1:
            return bests[0]
        stacked = np.stack(bests)
        return (1 - share) * stacked.max(axis=0) + share * stacked.mean(axis=0)


def _given_share(slot: np.ndarray, count: np.ndarray, settings: dict) -> np.ndarray:
    """How much agreeing with a recorded first-name token counts: the first name in full, a
    middle name a little less; all of them run together in full."""
    whole = (count > 1) & (slot == count - 1)
    middle = settings["name_agreement"]["middle_name"]
    return np.where((slot == 0) | whole, 1.0, middle).astype(np.float32)


def _surname_share(slot: np.ndarray, count: np.ndarray, settings: dict) -> np.ndarray:
    """One part of a recorded hyphenated surname a little less than the whole."""
    part = (count > 1) & (slot < count - 1)
    return np.where(part, settings["name_agreement"]["one_part_of_several"], 1.0).astype(np.float32)


def _best_by_row(
    value: np.ndarray, entries: _Entries, counts: np.ndarray, share: Any, settings: dict
) -> np.ndarray:
    """A typed word's best agreement with each name row's tokens of one part (zero where none
    agrees): only the rows holding an agreeing token are touched."""
    best = np.zeros(len(counts), np.float32)
    agreeing = np.flatnonzero(value[:-1] > 0)
    if agreeing.size:
        held, token = entries.holding(agreeing)
        rows = entries.row[held]
        shared = value[token] * share(entries.slot[held], counts[rows], settings)
        np.maximum.at(best, rows, shared)
    return best


def _name_scores(
    agreements: _Agreements, typed: _TypedName, settings: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The name rows any typed word agrees with, their agreement with the typed name, and
    whether it agreed better typed surname first."""
    index = agreements.index
    given_best, surname_best = [], []
    for word in typed.words:
        value, _ = agreements.of_word(word)
        given_best.append(
            _best_by_row(value, index.given_entries, index.row_given_count, _given_share, settings)
        )
        surname_best.append(
            _best_by_row(
                value, index.surname_entries, index.row_surname_count, _surname_share, settings
            )
        )
    agreeing = np.zeros(len(index.row_person), bool)
    for best in given_best + surname_best:
        agreeing |= best > 0
    rows = np.flatnonzero(agreeing)
    scores = _NameScores(
        typed, [b[rows] for b in given_best], [b[rows] for b in surname_best], settings
    )
    values, swapped = scores.score()
    return rows, values, swapped


def _best_of(size: int, persons: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each person's best value (zero where none): only the entries that agree at all are
    gathered (a few hundred of 300,000)."""
    agreeing = np.flatnonzero(values)
    best = np.zeros(size, np.float32)
    np.maximum.at(best, persons[agreeing], values[agreeing])
    return best


def _dob_agreement(index: _Index, dob: date, settings: dict) -> np.ndarray:
    """Each person's best agreement of a recorded date of birth with the typed one."""
    agree = settings["date_of_birth_agreement"]
    same_year = index.dob_year == dob.year
    same_month = index.dob_month == dob.month
    same_day = index.dob_day == dob.day
    parts_agreeing = same_year.astype(np.int8) + same_month + same_day
    swapped = (
        same_year & (index.dob_month == dob.day) & (index.dob_day == dob.month)
        if dob.day != dob.month
        else np.zeros(len(same_year), bool)
    )
    values = np.where(
        parts_agreeing == 3,
        agree["exact"],
        np.where(
            swapped,
            agree["day_month_swapped"],
            np.where(parts_agreeing == 2, agree["one_part_differs"], 0.0),
        ),
    ).astype(np.float32)
    return _best_of(len(index.person_key), index.dob_person, values)


def _postcode_agreement(index: _Index, place: Any, settings: dict) -> np.ndarray:
    agree = settings["place_agreement"]
    missing = -2  # a code no recorded postcode has

    def code(text: str) -> int:
        return index.postcode_code.get(text, missing) if text else missing

    values = np.where(
        index.postcode_full == code(place.full) if place.inward else False,
        agree["postcode"],
        np.where(
            index.postcode_sector == code(place.sector) if place.inward else False,
            agree["postcode_sector"],
            np.where(index.postcode_district == code(place.outward), agree["postcode_district"], 0),
        ),
    ).astype(np.float32)
    return _best_of(len(index.person_key), index.postcode_person, values)


def _address_agreement(
    index: _Index, words: str, candidates: np.ndarray, settings: dict
) -> np.ndarray:
    """1 (the setting) for persons among candidates with a recorded address holding the typed
    words, whole."""
    agreement = np.zeros(len(index.person_key), np.float32)
    entries = np.flatnonzero(candidates[index.address_person])
    typed = f" {words} "
    for entry in entries:
        if typed in f" {index.folded_address(entry)} ":
            agreement[index.address_person[entry]] = settings["place_agreement"]["address"]
    return agreement


def _identifier_matches(con: duckdb.DuckDBPyConnection, identifier: str) -> dict[str, str]:
    """person_key -> the kind of identifier it was found by."""
    rows = con.execute(
        "select person_key, kind from lookup_person_identifier where value = ? order by kind",
        [compact(identifier)],
    ).fetchall()
    found: dict[str, str] = {}
    for person_key, kind in rows:
        found.setdefault(person_key, kind)
    return found


def search_people(
    con: duckdb.DuckDBPyConnection, query: SearchQuery, *, limit: int = 20
) -> list[SearchHit]:
    """The persons the query finds, best first (the youngest first among equal scores), at most
    `limit`, each with why it matched. Empty when query_problem() has something to say."""
    if query_problem(query) is not None:
        return []
    settings = search_settings()
    index = search_index(con)
    weights = settings["weights"]
    persons = len(index.person_key)
    total = np.zeros(persons, np.float32)
    weight = 0.0

    typed = _typed_name(query.name, index.titles)
    agreements = _Agreements(index, settings)
    person_name = np.zeros(persons, np.float32)
    row_name = np.zeros(len(index.row_person), np.float32)
    row_swapped = np.zeros(len(index.row_person), bool)
    if typed.words:
        rows, values, swapped = _name_scores(agreements, typed, settings)
        row_name[rows], row_swapped[rows] = values, swapped
        np.maximum.at(person_name, index.row_person[rows], values)
        name_weight = weights["surname"] + weights["first_name"]
        total += name_weight * person_name
        weight += name_weight
    found_by = _identifier_matches(con, query.identifier) if query.identifier.strip() else {}
    # an identifier nobody holds leaves the name to search by (each result says it did not match)
    if found_by or (query.identifier.strip() and not typed.words):
        numbers = (index.person_number(key) for key in found_by)
        matched = [number for number in numbers if number is not None]
        agreed = np.zeros(persons, np.float32)
        agreed[matched] = 1.0
        total += weights["identifier"] * agreed
        weight += weights["identifier"]
    if query.dob is not None:
        total += weights["date_of_birth"] * _dob_agreement(index, query.dob, settings)
        weight += weights["date_of_birth"]
    place = parse_postcode(query.place) if query.place.strip() else None
    address_words = "" if place is not None else address_text(query.place)
    if place is not None:
        total += weights["place"] * _postcode_agreement(index, place, settings)
        weight += weights["place"]
    elif len(address_words) >= 3:
        candidates = (person_name > 0) | (total > 0)
        total += weights["place"] * _address_agreement(index, address_words, candidates, settings)
        weight += weights["place"]
    if weight == 0:
        return []
    total /= weight

    found = np.flatnonzero(total >= settings["minimum_score"])
    rounded = np.round(total[found], settings["score_decimals"])
    order = np.lexsort((found, -index.person_birth_order[found], -rounded))  # then key order
    chosen = found[order[:limit]]
    explain = _Explainer(index, agreements, typed, query, place, address_words, found_by)
    explain.row_name, explain.row_swapped = row_name, row_swapped
    return [explain.hit(int(person), float(total[person])) for person in chosen]


# --- Why each person matched, in plain words --------------------------------------------------

_HOW_WORDS = {_VARIANT: "a known variant", _SOUND: "sounds the same", _SPELLING: "spelt similarly"}


def _folded_name(first: Any, last: Any) -> tuple[str, ...]:
    return tuple(part for text in (first, last) for word in name_words(text) for part in word)


def _shown_name(first: Any, last: Any) -> str:
    return " ".join(str(part) for part in (first, last) if part is not None and str(part).strip())


def _age(dob: date | None, as_at: date | None) -> int | None:
    if dob is None or as_at is None or dob > as_at:
        return None
    return as_at.year - dob.year - ((as_at.month, as_at.day) < (dob.month, dob.day))


class _Explainer:
    """Builds a hit for a chosen person: its best-agreeing recorded name and the reasons."""

    row_name: np.ndarray  # each name row's agreement with the typed name, and whether swapped
    row_swapped: np.ndarray

    def __init__(
        self,
        index: _Index,
        agreements: _Agreements,
        typed: _TypedName,
        query: SearchQuery,
        place: Any,
        address_words: str,
        found_by: dict[str, str],
    ) -> None:
        self.index, self.agreements, self.typed = index, agreements, typed
        self.query, self.place, self.address_words, self.found_by = (
            query, place, address_words, found_by
        )  # fmt: skip
        self.settings = search_settings()

    def _rows_of(self, person: int) -> np.ndarray:
        index = self.index
        at = int(np.searchsorted(index.named_persons, person))
        if at >= len(index.named_persons) or index.named_persons[at] != person:
            return np.empty(0, np.int64)
        end = (
            index.name_starts[at + 1] if at + 1 < len(index.name_starts) else len(index.row_person)
        )
        return np.arange(index.name_starts[at], end)

    def hit(self, person: int, score: float) -> SearchHit:
        index = self.index
        person_key = str(index.person_key[person])
        first, last = index.person_first_name[person], index.person_last_name[person]
        best_name = _folded_name(first, last)
        rows = self._rows_of(person)
        reasons: list[str] = []
        if self.typed.words and len(rows):
            row = int(rows[int(np.argmax(self.row_name[rows]))])
            reasons += self._name_reasons(row, bool(self.row_swapped[row]))
            row_name = _folded_name(index.row_first_name[row], index.row_last_name[row])
            if row_name != best_name:
                shown = _shown_name(index.row_first_name[row], index.row_last_name[row])
                sources = ", ".join(index.labels(index.row_sources[row]))
                reasons.append(f"matched another recorded name: {shown} ({sources})")
        if self.query.identifier.strip():
            kind = self.found_by.get(person_key)
            reasons.append(f"{kind} exact" if kind else "identifier does not match")
        if self.query.dob is not None:
            reasons.append(self._dob_reason(person))
        if self.place is not None:
            reasons.append(self._postcode_reason(person))
        elif len(self.address_words) >= 3:
            reasons.append(self._address_reason(person))

        other_names, seen = [], {best_name}
        for row in rows:
            folded = _folded_name(index.row_first_name[row], index.row_last_name[row])
            if folded not in seen:
                seen.add(folded)
                other_names.append(_shown_name(index.row_first_name[row], index.row_last_name[row]))
        dob = index.person_dob(person)
        postcode = index.person_postcode[person]
        return SearchHit(
            person_key=person_key,
            name=_shown_name(first, last) or "No name recorded",
            other_names=tuple(other_names),
            dob=dob,
            age=_age(dob, index.as_at),
            sources=index.labels(index.person_sources[person]),
            postcode=str(postcode) if postcode is not None else None,
            score=round(score, 3),
            reasons=tuple(reasons),
        )

    def _name_reasons(self, row: int, swapped: bool) -> list[str]:
        typed = self.typed
        if not typed.given:
            word = typed.words[0]
            given = self._part_match([word], row, True)
            surname = self._part_match([word], row, False)
            if given[0] > surname[0]:
                return [self._phrase("first name", given, row)]
            return [self._phrase("surname", surname, row)]
        given_words, surname_words = (
            (typed.surname, typed.given) if swapped else (typed.given, typed.surname)
        )
        reasons = [
            self._phrase("surname", self._part_match(surname_words, row, False), row),
            self._phrase("first name", self._part_match(given_words, row, True), row),
        ]
        if swapped:
            reasons.append("first and last names swapped")
        return reasons

    def _part_match(self, words: tuple[_Word, ...] | list[_Word], row: int, given: bool) -> tuple:
        """(value, how, slot, typed word) of the typed word agreeing best with a part's tokens."""
        index = self.index
        best: tuple = (0.0, _NONE, -1, None)
        slots = index.row_given[row] if given else index.row_surname[row]
        positions = np.arange(len(slots))
        if given:
            share = _given_share(positions, index.row_given_count[row], self.settings)
        else:
            share = _surname_share(positions, index.row_surname_count[row], self.settings)
        for word in words:
            value, how = self.agreements.of_word(word)
            slot = int(np.argmax(value[slots] * share))
            found = (float(value[slots[slot]] * share[slot]), int(how[slots[slot]]), slot, word)
            if found[:2] > best[:2]:
                best = found
        return best

    def _phrase(self, part: str, match: tuple, row: int) -> str:
        value, how, slot, word = match
        if value <= 0:
            return f"{part} does not match"
        index = self.index
        slots = index.row_given[row] if part == "first name" else index.row_surname[row]
        token = index.vocab[int(slots[slot])]
        tokens = [index.vocab[int(t)] for t in slots if t < len(index.vocab)]
        label = part
        if part == "first name" and slot > 0 and token != "".join(tokens[:-1]):
            label = "middle name"
        recorded = token.title()
        one_part = ""
        if part == "surname" and len(tokens) > 2 and token != tokens[-1]:
            one_part = f"one part of {index.row_last_name[row]}"
        if how == _EXACT:
            return f"{label} exact" + (f" ({one_part})" if one_part else "")
        detail = ", ".join(x for x in (recorded, one_part) if x)
        if how == _INITIAL:
            if word.is_initial:
                return f"{label} matches the initial ({detail})"
            return f"{label} recorded as an initial ({detail})"
        return f"{label} {_HOW_WORDS[how]} ({detail})"

    def _entries(self, persons: np.ndarray, starts: np.ndarray, total: int, person: int) -> range:
        at = int(np.searchsorted(persons, person))
        if at >= len(persons) or persons[at] != person:
            return range(0)
        end = starts[at + 1] if at + 1 < len(starts) else total
        return range(int(starts[at]), int(end))

    def _dob_reason(self, person: int) -> str:
        index, dob = self.index, self.query.dob
        assert dob is not None
        found = "date of birth does not match"
        rank = 0
        for entry in self._entries(
            index.dob_persons, index.dob_starts, len(index.dob_person), person
        ):
            year, month, day = (
                int(index.dob_year[entry]), int(index.dob_month[entry]), int(index.dob_day[entry])
            )  # fmt: skip
            agreeing = (year == dob.year, month == dob.month, day == dob.day)
            if all(agreeing):
                if dob != index.person_dob(person):
                    return "date of birth exact, as another record gives it"
                return "date of birth exact"
            if year == dob.year and (month, day) == (dob.day, dob.month) and rank < 2:
                found, rank = "date of birth day and month swapped", 2
            elif sum(agreeing) == 2 and rank < 1:
                differs = ("year", "month", "day")[agreeing.index(False)]
                found, rank = f"date of birth differs in the {differs} only", 1
        return found

    def _postcode_reason(self, person: int) -> str:
        index, place = self.index, self.place
        entries = self._entries(
            index.postcode_persons, index.postcode_starts, len(index.postcode_person), person
        )
        codes = {
            "full": {int(index.postcode_full[e]) for e in entries},
            "sector": {int(index.postcode_sector[e]) for e in entries},
            "district": {int(index.postcode_district[e]) for e in entries},
        }
        if place.inward and index.postcode_code.get(place.full) in codes["full"]:
            return "postcode exact"
        if place.inward and index.postcode_code.get(place.sector) in codes["sector"]:
            return f"same postcode sector ({place.sector})"
        if index.postcode_code.get(place.outward) in codes["district"]:
            return f"same postcode district ({place.outward})"
        return "postcode does not match"

    def _address_reason(self, person: int) -> str:
        index = self.index
        typed = f" {self.address_words} "
        entries = np.flatnonzero(index.address_person == person)
        if any(typed in f" {index.folded_address(e)} " for e in entries):
            return "address matches"
        return "address does not match"
