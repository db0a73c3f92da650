"""Names and places in the form the family lookup's search compares them, on both sides: the
build's keys (lookup_person_name) and the words a practitioner types.

A name is folded as linkage folds it (models/macros/functions.sql name_std: capitals, no accents,
no apostrophes or full stops); hyphens split a name into parts, so "Smith-Jones" is found by
"Smith" and by "Jones". Each part has its Double Metaphone keys, which make Mohammed, Muhammad and
Mohamed, or Chaudhry and Chowdhury, one sound.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from doublemetaphone import doublemetaphone

# Letters NFKD does not take apart into a letter and a mark (as name_std's translate()).
_FOLD = str.maketrans("ŁłØøßĐđ", "LlOosDd")
_DROPPED = re.compile(r"['’‘`.]")
_NOT_LETTER = re.compile(r"[^A-Z]+")
_NOT_LETTER_OR_HYPHEN = re.compile(r"[^A-Z-]+")
_NOT_ALPHANUMERIC = re.compile(r"[^A-Z0-9]+")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9])([A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_POSTCODE_WITHIN = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b")


def fold(text: str | None) -> str:
    """Capitals without accents, apostrophes or full stops; other marks kept for the caller."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text).translate(_FOLD))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _DROPPED.sub("", letters.upper())


def name_words(text: str | None) -> list[list[str]]:
    """The words of a name, each as its hyphen-separated parts:
    "Mary-Jane O'Brien" -> [["MARY", "JANE"], ["OBRIEN"]]."""
    words = []
    for word in _NOT_LETTER_OR_HYPHEN.sub(" ", fold(text)).split():
        parts = [part for part in word.split("-") if part]
        if parts:
            words.append(parts)
    return words


def name_tokens(text: str | None, titles: frozenset[str] = frozenset()) -> list[str]:
    """The parts of a recorded name, titles before it left out; a name of more than one part also
    as one token run together ("Smith-Jones" -> SMITH, JONES, SMITHJONES), so a search that runs
    them together still finds it."""
    words = name_words(text)
    while words and len(words[0]) == 1 and words[0][0] in titles:
        words = words[1:]
    parts = [part for word in words for part in word]
    tokens = list(dict.fromkeys(parts))
    if len(parts) > 1:
        whole = "".join(parts)
        if whole not in tokens:
            tokens.append(whole)
    return tokens


def phonetic_keys(token: str) -> tuple[str, ...]:
    """The token's Double Metaphone keys, primary first (one when both are the same)."""
    primary, secondary = doublemetaphone(token)
    keys = [key for key in (primary, secondary) if key]
    return tuple(dict.fromkeys(keys))


def compact(text: str | None) -> str:
    """An identifier as compared: capitals and digits only ("943 476 5919" -> "9434765919")."""
    return _NOT_ALPHANUMERIC.sub("", fold(text))


def address_text(text: str | None) -> str:
    """An address (or part of one) as searched: capitals and digits, single spaces."""
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", fold(text)).split())


@dataclass(frozen=True)
class Postcode:
    """A full postcode, or its outward part alone ("BD5")."""

    outward: str
    inward: str  # "" for an outward part alone

    @property
    def full(self) -> str:
        return f"{self.outward} {self.inward}" if self.inward else self.outward

    @property
    def sector(self) -> str:
        return f"{self.outward} {self.inward[0]}" if self.inward else ""


def parse_postcode(text: str | None) -> Postcode | None:
    """A UK postcode ("bd5 0lu", "BD50LU"), an outward part ("BD5"), or a full postcode at the
    end of an address ("12 Oak Road, BD5 0LU"); None otherwise (then the text is part of an
    address)."""
    value = compact(text)
    match = _POSTCODE.match(value)
    if match:
        return Postcode(match[1], match[2] + match[3])
    if _OUTWARD.match(value) and any(c.isdigit() for c in value):
        return Postcode(value, "")
    within = _POSTCODE_WITHIN.findall(address_text(text))
    return Postcode(within[-1][0], within[-1][1]) if within else None
