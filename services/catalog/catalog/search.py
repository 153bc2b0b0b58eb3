"""Search normalisation, done in Python so it needs no Postgres extension (no pg_trgm, no unaccent).

A product's ``search_text`` is its normalised name, category and vendor name, followed by the canonical form
of every word that has a known spelling variant (``cabe`` → ``cabai``). A query is normalised the same way;
every query word must then appear (as a substring, so partial words match) either as typed or in its
canonical form. Pure functions, no IO.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Groups of words people write for the same thing; the first word is the canonical form.
VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("cabai", "cabe", "lombok", "lombo"),
    ("serai", "sereh", "sere"),
    ("kubis", "kol", "kobis"),
    ("tomat", "tomato"),
    ("bawang", "brambang", "bawan"),
    ("telur", "telor"),
    ("keriting", "kriting"),
    ("kerupuk", "krupuk"),
    ("mentimun", "timun", "ketimun"),
    ("bayam", "bayem"),
    ("kunyit", "kunir"),
    ("lengkuas", "laos", "langkuas"),
    ("kemiri", "muncang"),
    ("ketumbar", "katumbar"),
    ("terasi", "trasi", "belacan"),
    ("tepung", "terigu"),
    ("daging", "dageng"),
    ("sapi", "sampi"),
    ("ayam", "hayam"),
    ("wortel", "wortol", "bortol"),
    ("buncis", "boncis"),
    ("kangkung", "kangkong"),
    ("pete", "petai"),
    ("jengkol", "jering"),
    ("oncom", "ontjom"),
    ("kacang", "kacan"),
    ("gula", "gulo"),
    ("kelapa", "klapa", "kalapa"),
    ("pisang", "cau"),
    ("singkong", "sampeu", "ketela"),
    ("ubi", "hui"),
    ("kentang", "kentan"),
    ("tongkol", "tungkul"),
    ("kembung", "kembong"),
    ("cumi", "sotong"),
    ("udang", "urang"),
    ("tahu", "tahoe"),
    ("tempe", "tempeh"),
    ("beras", "beas"),
    ("sambal", "sambel"),
)

_CANONICAL: dict[str, str] = {}
for _group in VARIANT_GROUPS:
    for _word in _group:
        _CANONICAL.setdefault(_word, _group[0])

_NON_WORD = re.compile(r"[^a-z0-9]+")
MAX_QUERY_WORDS = 8
MAX_WORD_LENGTH = 40


def fold(text: str) -> str:
    """Lower-case, accents stripped, punctuation to spaces, runs of spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", ascii_only).split())


def canonical(word: str) -> str:
    """The canonical spelling of a folded word (itself when it has no known variant)."""
    return _CANONICAL.get(word, word)


def search_text(*parts: str | None) -> str:
    """The normalised text a product is searched by (store it in ``products.search_text``)."""
    folded = fold(" ".join(p for p in parts if p))
    words = folded.split()
    extra = []
    for w in words:
        c = canonical(w)
        if c != w and c not in words and c not in extra:
            extra.append(c)
    return " ".join([*words, *extra])


@dataclass(frozen=True)
class QueryTerm:
    """One query word and the spellings any of which satisfies it."""

    word: str
    spellings: tuple[str, ...]


def parse_query(q: str | None) -> list[QueryTerm]:
    """Query words (deduplicated, at most ``MAX_QUERY_WORDS``), each with its accepted spellings."""
    terms: list[QueryTerm] = []
    seen: set[str] = set()
    for word in fold(q or "").split():
        word = word[:MAX_WORD_LENGTH]
        if word in seen:
            continue
        seen.add(word)
        c = canonical(word)
        terms.append(QueryTerm(word, (word,) if c == word else (word, c)))
        if len(terms) >= MAX_QUERY_WORDS:
            break
    return terms


def query_phrases(terms: list[QueryTerm]) -> tuple[str, ...]:
    """For several words: the phrase as typed and in canonical spelling (names containing it rank first)."""
    if len(terms) < 2:
        return ()
    typed = " ".join(t.word for t in terms)
    canon = " ".join(t.spellings[-1] for t in terms)
    return (typed,) if typed == canon else (typed, canon)


def like_escape(s: str) -> str:
    """Escape LIKE wildcards (folded text has none, but be safe)."""
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matches(text: str, terms: list[QueryTerm]) -> bool:
    """The same rule as the SQL search, for tests and in-memory use: every term matches a spelling."""
    return all(any(s in text for s in t.spellings) for t in terms)
