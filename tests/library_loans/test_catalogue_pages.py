"""The public catalogue's pages, as a patron's browser without script sees them.

Runs on the suite's database (SQLite, or PostgreSQL with row-level security when
SAMVERKAN_TEST_DATABASE_URL names one), on the consortium of ``conftest.py``.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from library_loans.access import hold_queues
from library_loans.identity import PatronPrincipal
from library_loans.models import BibRecord
from library_loans.operations.circulation import checkout, find_patron
from library_loans.operations.holds import place_hold
from library_loans.search.index import reindex
from tests.library_loans.conftest import MONDAY, add_item
from tests.library_loans.test_search_engine import add_record

HTML = {"Accept": "text/html"}


@dataclass
class Shelves:
    """The records the catalogue shows, by short name."""

    records: dict[str, uuid.UUID]


@pytest.fixture
def shelves(consortium) -> Shelves:
    """Lindgren's books and a talking book on the consortium's shelves, some on loan.

    "Bröderna Lejonhjärta": in at Umeå stadsbibliotek and Holmsund, on loan from Vindeln.
    "Pippi Långstrump": one Vännäs copy, on loan, two patrons waiting for it.
    "Mio, min Mio": a talking book (DAISY) without copies: borrowed through Legimus.
    "The Martian": in English, in at Vindeln.
    """
    branches = consortium.branches
    with consortium.session() as session:
        bröder = session.get(BibRecord, consortium.records["bröder"].id)
        bröder.language, bröder.audience, bröder.year = "swe", "children", 1973
        bröder.subjects, bröder.publisher = ["Syskon", "Sagor"], "Rabén & Sjögren"
        pippi = add_record(session, "Pippi Långstrump", author="Lindgren, Astrid",
                           audience="children", isbn="9789129657074")
        mio = add_record(session, "Mio, min Mio", author="Lindgren, Astrid",
                         notes=["Talbok (DAISY)"], media_type="talking_book",
                         audience="children", talking_book=True)
        martian = add_record(session, "The Martian", author="Weir, Andy", language="eng")
        add_item(session, bröder, branches["UMEA-HOLMSUND"], "U0002")
        add_item(session, pippi, branches["VANNAS-HB"], "N0001")
        add_item(session, martian, branches["VINDELN-HB"], "V0002")
        with hold_queues(session):
            ulla, vilma, valle = (find_patron(session, card)
                                  for card in ("10000001", "20000001", "30000001"))
            checkout(session, "V0001", ulla, branches["VINDELN-HB"], at=MONDAY)
            checkout(session, "N0001", ulla, branches["VANNAS-HB"], at=MONDAY)
            place_hold(session, vilma, pippi, branches["VINDELN-HB"], at=MONDAY)
            place_hold(session, valle, pippi, branches["VANNAS-HB"], at=MONDAY)
        reindex(session, list(session.scalars(select(BibRecord.id))))
        session.commit()
        return Shelves({"bröder": bröder.id, "pippi": pippi.id, "mio": mio.id,
                        "martian": martian.id})


def page_text(reply) -> str:  # type: ignore[no-untyped-def]
    """The page's HTML with entities decoded."""
    return html.unescape(reply.get_data(as_text=True))


def result_titles(text: str) -> list[str]:
    """The titles of the listed results, in order."""
    return re.findall(r'<h3 class="hit__title"><a href="[^"]+">([^<]+)</a>', text)


def status_of(text: str) -> str:
    """What the live region says."""
    found = re.search(r'<p id="result-status"[^>]*>(.*?)</p>', text, re.DOTALL)
    assert found, "no live region for the result count"
    return " ".join(found.group(1).split())


def test_the_start_page_has_one_search_box_and_the_way_to_talking_books(client, shelves):
    text = page_text(client.get("/library/"))

    assert len(re.findall(r"<h1[\s>]", text)) == 1
    assert re.search(r'<form[^>]*role="search"[^>]*action="/library/search"', text)
    assert '<label for="search-q">' in text
    assert 'href="/library/talking-books"' in text
    assert 'href="/library/login"' in text


def test_a_search_lists_titles_authors_media_types_and_where_they_are_in(client, shelves):
    reply = client.get("/library/search?q=lindgren")

    assert reply.status_code == 200
    text = page_text(reply)
    assert status_of(text) == "3 träffar, visar 1–3."
    assert sorted(result_titles(text)) == ["Bröderna Lejonhjärta", "Mio, min Mio",
                                           "Pippi Långstrump"]
    assert f'href="/library/records/{shelves.records["bröder"]}"' in text
    assert "Lindgren, Astrid · 1973" in text
    assert "Inne i Umeå" in text
    # Every icon has its words beside it.
    assert re.search(r'<svg class="icon" aria-hidden="true"[^>]*>.*?</svg>Bok</span>', text)
    assert re.search(r"</svg>Talbok</span>", text)
    assert f'Alla utlånade — <a href="/library/records/{shelves.records["pippi"]}/reserve">' in text
    assert "Lånas via Legimus" in text


def test_facets_count_the_matches_and_filter_by_shareable_links(client, shelves):
    raw = client.get("/library/search?q=lindgren").get_data(as_text=True)
    assert ('href="/library/search?q=lindgren&amp;media_type=talking_book">'
            'Talbok <span class="facet__count">(1)</span>') in raw
    text = html.unescape(raw)
    assert "Bok <span class=\"facet__count\">(2)</span>" in text
    assert "Barn <span class=\"facet__count\">(3)</span>" in text
    assert "svenska <span class=\"facet__count\">(3)</span>" in text
    assert "Umeå <span class=\"facet__count\">(1)</span>" in text

    talking = page_text(client.get("/library/search?q=lindgren&media_type=talking_book"))
    assert result_titles(talking) == ["Mio, min Mio"]
    assert re.search(r'aria-current="true"><span class="facet__check" aria-hidden="true">✓'
                     r"</span>Talbok", talking)
    # The chosen value links back to the search without it.
    assert 'href="/library/search?q=lindgren">Talbok' in talking

    in_vindeln = page_text(client.get("/library/search?q=the&available_in=vindeln"))
    assert result_titles(in_vindeln) == ["The Martian"]
    english = page_text(client.get("/library/search?language=eng"))
    assert result_titles(english) == ["The Martian"]
    assert "engelska" in english


def test_the_advanced_fields_search_one_field_each(client, shelves):
    text = page_text(client.get("/library/search?author=weir"))
    assert result_titles(text) == ["The Martian"]
    assert re.search(r'<details class="advanced" open>', text)
    assert result_titles(page_text(client.get("/library/search?subject=syskon"))) == [
        "Bröderna Lejonhjärta"]
    assert result_titles(page_text(client.get("/library/search?isbn=978-91-29-65707-4"))) == [
        "Pippi Långstrump"]


def test_no_match_is_said_in_words(client, shelves):
    text = page_text(client.get("/library/search?q=zyxwvut"))
    assert status_of(text) == "Inga träffar."
    assert result_titles(text) == []


def test_results_come_in_pages_of_twenty(client, consortium):
    with consortium.session() as session:
        ids = [add_record(session, f"Saga nummer {n}").id for n in range(23)]
        reindex(session, ids)
        session.commit()

    first = page_text(client.get("/library/search?q=saga"))
    assert status_of(first) == "23 träffar, visar 1–20."
    assert len(result_titles(first)) == 20
    assert 'href="/library/search?q=saga&page=2" rel="next"' in first

    second = page_text(client.get("/library/search?q=saga&page=2"))
    assert status_of(second) == "23 träffar, visar 21–23."
    assert len(result_titles(second)) == 3
    assert '<ol class="hit-list" start="21">' in second
    assert 'aria-current="page"><span class="visually-hidden">Sida </span>2</a>' in second

    beyond = client.get("/library/search?q=saga&page=9")
    assert beyond.status_code == 200
    assert "Till första sidan" in page_text(beyond)


@pytest.mark.parametrize(("query", "field", "message"), [
    ("q=mars&page=0", "Sida", "Ange ett sidnummer från 1 till 500."),
    ("q=mars&page=two", "Sida", "Ange ett sidnummer från 1 till 500."),
    ("q=mars&page=501", "Sida", "Ange ett sidnummer från 1 till 500."),
    ("q=mars&media_type=cd", "Medietyp", "”cd” finns inte att välja."),
    ("q=mars&audience=pensioners", "Målgrupp", "”pensioners” finns inte att välja."),
    ("q=mars&language=svenska", "Språk", "Ange en språkkod med tre små bokstäver"),
    ("q=mars&available_in=ornskoldsvik", "Inne nu i", "”ornskoldsvik” finns inte att välja."),
    ("q=" + "x" * 201, "Sökord", "Högst 200 tecken."),
])
def test_bad_search_parameters_get_a_422_page_naming_the_field(client, shelves, query, field,
                                                                message):
    reply = client.get(f"/library/search?{query}", headers=HTML)

    assert reply.status_code == 422
    text = page_text(reply)
    assert 'role="alert"' in text
    assert f"{field}: {message}" in text
    assert len(re.findall(r"<h1[\s>]", text)) == 1
    assert result_titles(text) == []


def test_a_too_long_search_word_marks_its_field(client, shelves):
    text = page_text(client.get("/library/search?title=" + "x" * 201))
    assert re.search(r'<a href="#search-title">Titel: Högst 200 tecken.</a>', text)
    assert re.search(r'id="search-title" name="title"[^>]*aria-invalid="true"', text)


def test_the_record_page_shows_the_description_and_copies_per_branch(client, shelves):
    record_id = shelves.records["bröder"]
    reply = client.get(f"/library/records/{record_id}")

    assert reply.status_code == 200
    text = page_text(reply)
    assert re.search(r"<h1[^>]*>Bröderna Lejonhjärta</h1>", text)
    assert 'href="/library/search?author=Lindgren,+Astrid">Lindgren, Astrid</a>' in text
    assert "<dd>Rabén & Sjögren</dd>" in text and "<dd>1973</dd>" in text
    assert "<dd>svenska</dd>" in text and "<dd>Barn</dd>" in text
    assert 'href="/library/search?subject=Syskon">Syskon</a>' in text
    assert f'href="/library/records/{record_id}/reserve">Reservera</a>' in text
    assert f'href="/library/api/records/{record_id}/marcxml"' in text
    assert "2 av 3 exemplar är inne" in text
    assert re.search(r"<h3[^>]*>Umeå <span[^>]*>– 2 av 2 inne</span></h3>", text)
    assert "<caption>Holmsunds bibliotek: 1 av 1 inne</caption>" in text
    assert "<caption>Umeå stadsbibliotek: 1 av 1 inne</caption>" in text
    assert "<caption>Vindelns bibliotek: 0 av 1 inne</caption>" in text
    assert "Utlånad till 30 mars 2026" in text
    assert "Legimus" not in text


def test_the_record_page_counts_who_waits_but_never_says_who(client, shelves, consortium):
    text = page_text(client.get(f"/library/records/{shelves.records['pippi']}"))

    assert "1 exemplar, alla utlånade · 2 väntar" in text
    assert "ISBN</dt><dd>9789129657074</dd>" in text
    for patron in consortium.patrons.values():
        assert patron.name not in text and patron.card_number not in text


def test_a_talking_book_record_links_to_legimus(client, shelves):
    text = page_text(client.get(f"/library/records/{shelves.records['mio']}"))

    assert 'href="https://www.legimus.se/">Låna talboken hos Legimus' in text
    assert "talboken lånas via Legimus" in text
    assert "Reservera</a>" not in text
    assert "Talbok (DAISY)" in text  # the 500 note


@pytest.mark.parametrize("path", [f"/library/records/{uuid.UUID(int=1)}",
                                  "/library/records/not-a-record"])
def test_an_unknown_record_is_a_404_page(client, shelves, path):
    reply = client.get(path, headers=HTML)

    assert reply.status_code == 404
    assert reply.content_type.startswith("text/html")


def test_the_talking_book_page_explains_and_lists_only_talking_books(client, shelves):
    text = page_text(client.get("/library/talking-books"))

    assert len(re.findall(r"<h1[\s>]", text)) == 1
    assert "Vem får låna talböcker?" in text
    assert 'href="https://www.legimus.se/"' in text
    assert re.search(r'<form[^>]*role="search"[^>]*aria-labelledby="search-title"', text)
    assert result_titles(text) == ["Mio, min Mio"]
    assert status_of(text) == "1 träff, visar 1–1."
    assert "Medietyp" not in text  # every result is a talking book

    searched = page_text(client.get("/library/talking-books?q=mio"))
    assert result_titles(searched) == ["Mio, min Mio"]
    assert result_titles(page_text(client.get("/library/talking-books?q=pippi"))) == []


def test_the_library_bar_shows_the_logged_in_patron(client, shelves, consortium, monkeypatch):
    ulla = consortium.patrons["ulla"]
    monkeypatch.setattr("library_loans.web.catalogue.current_patron", lambda: PatronPrincipal(
        ulla.id, ulla.municipality_id, ulla.card_number, "Ulla Umeå"))

    text = page_text(client.get("/library/search?q=mio"))

    assert "<strong>Ulla Umeå</strong>" in text
    assert 'href="/library/my">Mina sidor</a>' in text
    assert 'href="/library/login"' not in text


def test_language_names_follow_the_page_language(client, shelves):
    text = page_text(client.get("/library/search?q=lindgren&lang=en"))

    assert '<html lang="en">' in text
    assert "Swedish <span class=\"facet__count\">(3)</span>" in text


@pytest.mark.parametrize("path", ["/library/", "/library/talking-books", "/library/login"])
def test_the_library_pages_offer_staff_their_login_by_that_name(client, path):
    raw = client.get(path).get_data(as_text=True)
    banner = raw[raw.index('<header class="site-header">'):raw.index("</header>")]

    assert "Inloggning för personal" in banner
    assert ">Logga in<" not in banner, "a patron would take the staff login for their own"
