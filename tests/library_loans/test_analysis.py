"""Swedish text analysis for the catalogue search: fields, queries, stemming, compounds."""

from __future__ import annotations

import unicodedata

import pytest

from library_loans.search.analysis import (
    AnalysedField,
    QueryTerm,
    analyse_field,
    fold,
    parse_query,
    split_compound,
    stem,
)

# --- text fields -------------------------------------------------------------------------


def test_a_title_is_indexed_as_exact_folded_stemmed_and_split_words() -> None:
    field = analyse_field("Kokböckerna från Åre", "text")

    assert field == AnalysedField(
        exact=("kokböckerna", "åre"),
        folded=("kokbockerna", "are"),
        stems=("kokbok",),
        parts=("kok", "bok"),
    )


def test_stop_words_are_removed_as_written_and_never_indexed_folded() -> None:
    field = analyse_field("Resa på Mars för alla som är nyfikna", "text")

    every_token = {*field.exact, *field.folded, *field.stems, *field.parts}
    assert not {"på", "pa", "för", "for", "är", "ar", "som", "alla"} & every_token
    assert "mars" in field.exact


def test_män_is_indexed_and_only_its_folded_form_is_man() -> None:
    field = analyse_field("Män som hatar kvinnor", "text")

    assert field.exact == ("män", "hatar", "kvinnor")
    assert field.folded == ("man",)
    assert "man" in field.stems


def test_the_pronoun_man_is_a_stop_word_in_text() -> None:
    assert analyse_field("En man som heter Ove", "text").exact == ("heter", "ove")


def test_folded_stems_and_parts_hold_only_what_exact_does_not() -> None:
    field = analyse_field("Bok och bok, Asa och Åsa", "text")

    assert field.exact == ("bok", "asa", "åsa")
    assert field.folded == ()
    assert field.stems == ()
    assert field.parts == ()


def test_punctuation_splits_words() -> None:
    field = analyse_field("Astrid Lindgren-priset: tal & texter (2002)", "text")

    assert field.exact == ("astrid", "lindgren", "priset", "tal", "texter", "2002")


def test_decomposed_letters_from_marc_data_are_the_same_words() -> None:
    decomposed = unicodedata.normalize("NFD", "Åsa Öberg")

    assert analyse_field(decomposed, "text") == analyse_field("Åsa Öberg", "text")


# --- names and codes ---------------------------------------------------------------------


def test_a_name_keeps_its_stop_words_and_is_never_stemmed_or_split() -> None:
    field = analyse_field("af Klintberg, Bengt ; Lindgren, Linda ; Den Store", "name")

    assert field.exact == ("af", "klintberg", "bengt", "lindgren", "linda", "den", "store")
    assert field.stems == ()
    assert field.parts == ()


def test_a_name_is_folded() -> None:
    assert analyse_field("Öberg, Åsa", "name").folded == ("oberg", "asa")


def test_an_isbn_10_is_indexed_compact_and_as_its_isbn_13() -> None:
    field = analyse_field("ISBN 91-29-65707-5 (inb.)", "code")

    assert field.exact == ("9129657075", "9789129657074", "inb")
    assert field.folded == field.stems == field.parts == ()


def test_an_isbn_13_with_hyphens_is_indexed_compact() -> None:
    assert analyse_field("978-91-7263-601-9", "code").exact == ("9789172636019",)


def test_an_issn_is_indexed_compact() -> None:
    assert analyse_field("ISSN 0317-8471", "code").exact == ("03178471",)


def test_other_codes_are_lowercased_words_without_folding() -> None:
    assert analyse_field("Hcg.03 Å", "code").exact == ("hcg", "03", "å")


# --- stemming ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("romaner", "roman"),
        ("romanen", "roman"),
        ("romanerna", "roman"),
        ("böckerna", "bok"),
        ("bröder", "broder"),
        ("bröderna", "broder"),
        ("barnen", "barn"),
        ("hästar", "häst"),
        ("hästarnas", "häst"),
        ("män", "man"),
        ("mannen", "man"),
        ("fötter", "fot"),
        ("händer", "hand"),
        ("städer", "stad"),
        ("söner", "son"),
        ("döttrar", "dotter"),
        ("möss", "mus"),
        ("gäss", "gås"),
        ("pojkar", "pojke"),
        ("fåglar", "fågel"),
        ("vattnet", "vatten"),
        ("hemmet", "hem"),
        ("barns", "barn"),
        ("lärarna", "lärare"),
    ],
)
def test_inflected_forms_stem_to_their_base(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize(
    "word",
    [
        "hemlighet", "kärlek", "vatten", "mars", "bröd", "socker", "fönster", "september",
        "oktober", "lördag", "planet", "kurs", "tendens", "tidning", "berättelse", "vänskap",
        "rörelse", "rikedom", "storhet",
    ],
)
def test_words_that_only_look_inflected_are_left_alone(word: str) -> None:
    assert stem(word) == word


@pytest.mark.parametrize(
    "forms",
    [
        ("flicka", "flickan", "flickor", "flickorna", "flickornas"),
        ("ruta", "rutan", "rutor", "rutorna"),
        ("hemlighet", "hemligheten", "hemligheter", "hemligheterna"),
        ("tidning", "tidningen", "tidningar", "tidningarna"),
        ("berättelse", "berättelsen", "berättelser", "berättelserna"),
        ("rörelse", "rörelsen", "rörelser", "rörelserna"),
        ("kokbok", "kokboken", "kokböcker", "kokböckerna"),
    ],
)
def test_the_singular_and_plural_of_one_noun_meet_in_one_stem(forms: tuple[str, ...]) -> None:
    assert len({stem(form) for form in forms}) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [("bröder", "bröd"), ("hemlighet", "hem"), ("marsvin", "mars"), ("kärlek", "kär")],
)
def test_different_words_do_not_meet(one: str, other: str) -> None:
    assert stem(one) != stem(other)


def test_a_stem_keeps_at_least_three_letters() -> None:
    assert stem("kor") == "kor"
    assert stem("bilar") == "bil"


def test_a_derivational_suffix_is_never_removed() -> None:
    assert stem("hemligheten") == "hemlighet"
    assert stem("sjukdomar") == "sjukdom"
    assert stem("storleken") == "storlek"


# --- compounds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("kokbok", ("kok", "bok")),
        ("barnbok", ("barn", "bok")),
        ("dagsljus", ("dag", "ljus")),
        ("tidningsartikel", ("tidning", "artikel")),
        ("kyrkogård", ("kyrka", "gård")),
        ("flickskola", ("flicka", "skola")),
        ("kokböckerna", ("kok", "bok")),
        ("barnbokhandel", ("barn", "bok", "handel")),
    ],
)
def test_a_compound_splits_into_lexicon_words(word: str, parts: tuple[str, ...]) -> None:
    assert split_compound(word) == parts


@pytest.mark.parametrize(
    "word",
    ["hemlighet", "linda", "mars", "marsvin", "kärlek", "sjukdom", "rikedom", "storhet", "bok"],
)
def test_a_word_that_is_no_compound_is_not_split(word: str) -> None:
    assert split_compound(word) == ()


def test_compound_parts_have_at_least_three_letters() -> None:
    assert split_compound("tefat") == ()
    assert split_compound("kofot") == ()
    assert split_compound("sjömännen") == ("sjö", "man")


def test_a_compound_stems_through_its_head() -> None:
    assert stem("tidningsartiklar") == "tidningsartikel"
    assert stem("sjömännen") == "sjöman"
    assert stem("mineralvatten") == "mineralvatten"


# --- folding -----------------------------------------------------------------------------


def test_folding_removes_diacritics_and_keeps_case() -> None:
    assert fold("Åsa Älg Öst é ü æ ø Ø") == "Asa Alg Ost e u a o O"
    assert fold("bok") == "bok"


# --- queries -----------------------------------------------------------------------------


def test_a_prefix_term_is_never_stemmed() -> None:
    (term,) = parse_query("mars*").terms

    assert term == QueryTerm(typed="mars", prefix=True, exact="mars", folded="mars", stem=None)


def test_a_prefix_of_an_inflected_form_is_kept_as_typed() -> None:
    (term,) = parse_query("romaner*").terms

    assert (term.exact, term.stem) == ("romaner", None)


def test_a_query_term_carries_its_folded_form_and_its_stem_only_when_it_differs() -> None:
    brothers, book = parse_query("Bröder bok").terms

    assert brothers == QueryTerm("bröder", False, "bröder", "broder", "broder")
    assert book == QueryTerm("bok", False, "bok", "bok", None)


def test_stop_words_are_dropped_from_a_query_as_typed() -> None:
    query = parse_query("En man som heter Ove")

    assert [term.typed for term in query.terms] == ["heter", "ove"]
    assert query.dropped == ("en", "man", "som")


def test_a_query_of_stop_words_only_keeps_them() -> None:
    query = parse_query("man")

    assert [term.typed for term in query.terms] == ["man"]
    assert query.dropped == ()


@pytest.mark.parametrize("word", ["pa", "for", "ar", "män"])
def test_folded_lookalikes_of_stop_words_are_search_terms(word: str) -> None:
    query = parse_query(f"resa {word}")

    assert [term.typed for term in query.terms] == ["resa", word]
    assert query.dropped == ()


def test_a_stop_word_typed_as_a_prefix_is_a_search_term() -> None:
    assert [term.typed for term in parse_query("resa för*").terms] == ["resa", "för"]


def test_quotes_are_spaces_and_punctuation_splits_words() -> None:
    query = parse_query('"Bröderna Lejonhjärta" Lindgren-Vikland!')

    typed = [term.typed for term in query.terms]
    assert typed == ["bröderna", "lejonhjärta", "lindgren", "vikland"]


def test_a_repeated_word_is_one_term() -> None:
    assert len(parse_query("bok Bok BOK").terms) == 1


def test_an_empty_query_has_no_terms() -> None:
    assert parse_query("  * ? ").terms == ()


@pytest.mark.parametrize(
    "query",
    ["978-91-29-65707-4", "9789129657074", "978 91 29 65707 4", "91-29-65707-5", "9129657075"],
)
def test_an_isbn_query_is_one_isbn_13_code_term(query: str) -> None:
    assert parse_query(query).terms == (
        QueryTerm("9789129657074", False, "9789129657074", "9789129657074", None),
    )


def test_an_isbn_label_is_dropped_and_other_words_stay() -> None:
    query = parse_query("ISBN: 91-29-65707-5, Larsson")

    assert [term.typed for term in query.terms] == ["9789129657074", "larsson"]
    assert query.dropped == ("isbn",)


def test_an_issn_query_is_one_code_term() -> None:
    assert [term.typed for term in parse_query("0317-8471").terms] == ["03178471"]


def test_a_number_that_is_no_valid_isbn_is_searched_as_words() -> None:
    assert [term.typed for term in parse_query("91-29-65707-1").terms] == [
        "91", "29", "65707", "1",
    ]
