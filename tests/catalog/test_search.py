"""Search normalisation: case, accents, partial words and spelling variants (cabe/cabai)."""

from __future__ import annotations

import pytest

from catalog.search import canonical, fold, matches, parse_query, search_text

CABAI = search_text("Cabai Merah Keriting", "sayur", "Sayur Segar Bu Euis")


def test_fold_lowercases_strips_accents_and_punctuation() -> None:
    assert fold("  CABAI   Mérah-Keriting!! ") == "cabai merah keriting"
    assert fold("Kol (Kubis)") == "kol kubis"


def test_canonical_variants() -> None:
    assert canonical("cabe") == "cabai"
    assert canonical("sereh") == "serai"
    assert canonical("kol") == "kubis"
    assert canonical("bayam") == "bayam"


def test_search_text_appends_canonical_forms_once() -> None:
    text = search_text("Cabe Rawit", "sayur")
    assert text.split() == ["cabe", "rawit", "sayur", "cabai"]
    assert search_text("Cabai Merah") == "cabai merah"


@pytest.mark.parametrize("query", ["cabe merah", "CABAI", "keriting", "kriting", "cab mer", "Cabé", "merah cabai"])
def test_queries_that_find_cabai_merah_keriting(query: str) -> None:
    assert matches(CABAI, parse_query(query)), query


@pytest.mark.parametrize("query", ["cabai hijau", "bawang", "rawit"])
def test_queries_that_do_not(query: str) -> None:
    assert not matches(CABAI, parse_query(query))


def test_variant_in_product_name_found_by_canonical_query() -> None:
    assert matches(search_text("Sereh", "bumbu"), parse_query("serai"))
    assert matches(search_text("Kol", "sayur"), parse_query("kubis"))
    assert matches(search_text("Telor Ayam"), parse_query("telur"))


def test_query_is_bounded_and_deduplicated() -> None:
    terms = parse_query("a a b c d e f g h i j k " + "x" * 500)
    assert len(terms) == 8
    assert [t.word for t in terms][:2] == ["a", "b"]
    assert parse_query("") == [] and parse_query(None) == [] and parse_query("%%% ___") == []
