"""A judged query set for the catalogue search: a small catalogue and what patrons must get.

Plain data, tied to no index: the reference scorer in ``test_judged_queries.py`` runs it now,
and the same judgments are meant to run against SQLite FTS5 and PostgreSQL. Each judgment
names records that must be found (``must_include``), records that must not be
(``must_exclude``) and, where ranking is the point, the record that must come ``first``;
``why`` says which known failure of catalogue search the judgment pins down.
"""

from __future__ import annotations

from typing import TypedDict


class Record(TypedDict):
    """A bibliographic record as the search sees it."""

    id: int
    title: str
    author: str
    subjects: list[str]
    notes: str
    isbn: str


class Judgment(TypedDict):
    """A query and what a patron must get for it."""

    query: str
    must_include: list[int]
    must_exclude: list[int]
    first: int | None
    why: str


def _record(
    record_id: int,
    title: str,
    author: str,
    subjects: list[str],
    notes: str = "",
    isbn: str = "",
) -> Record:
    return Record(
        id=record_id, title=title, author=author, subjects=subjects, notes=notes, isbn=isbn
    )


RECORDS: list[Record] = [
    _record(1, "Män som hatar kvinnor", "Larsson, Stieg", ["Deckare", "Journalister"],
            isbn="978-91-7263-601-9"),
    _record(2, "Bröderna Lejonhjärta", "Lindgren, Astrid", ["Fantasy", "Syskon"],
            isbn="978-91-46-21322-2"),
    _record(3, "Bröd från hela världen", "Andersson, Eva", ["Bakning", "Bröd"]),
    _record(4, "Surdegsbröd", "Holm, Jan", ["Bakning"]),
    _record(5, "Kokbok för nybörjare", "Ek, Maria", ["Matlagning"]),
    _record(6, "Boken om vår by", "Nilsson, Karin", ["Lokalhistoria"]),
    _record(7, "Bok och bibliotek", "Berg, Olof", ["Bibliotek"]),
    _record(8, "Böckernas värld", "Strand, Lisa", ["Litteratur"]),
    _record(9, "Den svenska barnbokens historia", "Wik, Anna", ["Barnlitteratur"]),
    _record(10, "Mars: den röda planeten", "Holm, Per", ["Astronomi", "Planeter"]),
    _record(11, "Resa till Mars", "Falk, Erik", ["Rymdfart"]),
    _record(12, "Marsvinet Molly", "Sund, Eva", ["Husdjur", "Marsvin"]),
    _record(13, "Marmelad och sylt", "Dahl, Britt", ["Konservering"]),
    _record(14, "Marknadsföring för småföretag", "Ahl, Nils", ["Marknadsföring"]),
    _record(15, "Marknaden i Umeå", "Öberg, Sara", ["Handel", "Umeå"]),
    _record(16, "Hemligheten i skogen", "Björk, Lena", ["Spänning"]),
    _record(17, "Hem till byn", "Forsberg, Ulf", ["Landsbygd"]),
    _record(18, "Hemmet och trädgården", "Lund, Maja", ["Trädgårdsskötsel"]),
    _record(19, "Roseanna: roman om ett brott", "Sjöwall, Maj ; Wahlöö, Per", ["Deckare"]),
    _record(20, "Romaner och noveller", "Söderberg, Hjalmar", ["Skönlitteratur"]),
    _record(21, "Romanens historia", "Lagerlund, Eva", ["Litteraturhistoria"]),
    _record(22, "Fåglar i Norrland", "Lind, Bengt", ["Fåglar"]),
    _record(23, "Nu vill jag sjunga dig milda sånger", "Olsson, Linda", ["Skönlitteratur"]),
    _record(24, "Utrota varenda jävel", "Lindqvist, Sven", ["Kolonialism"]),
    _record(25, "Solstorm", "Larsson, Åsa", ["Deckare", "Kiruna"], isbn="91-29-65707-5"),
    _record(26, "Structural botany", "Gray, Asa", ["Botany"]),
    _record(27, "Självporträtt", "Ray, Man", ["Fotografer", "Konstnärer"]),
    _record(28, "En man som heter Ove", "Backman, Fredrik", ["Skönlitteratur"]),
    _record(29, "Mannen på balkongen", "Sjöwall, Maj ; Wahlöö, Per", ["Deckare"]),
    _record(30, "På spåret", "Ek, Karl", ["Frågesport"]),
    _record(31, "Looking for Alaska", "Green, John", ["Young adult"]),
    _record(32, "Är det här kärlek?", "Holm, Sofia", ["Relationer"]),
    _record(33, "Kärleksbrev från kriget", "Berg, Ingrid", ["Brev", "Krig"]),
    _record(34, "Hästar och ryttare", "Ryd, Anna", ["Ridsport", "Hästar"]),
    _record(35, "Hästen och hans pojke", "Lewis, C. S.", ["Fantasy"]),
    _record(36, "Flickan som lekte med elden", "Larsson, Stieg", ["Deckare"]),
    _record(37, "Tidningsartiklar 1950–1960", "Hed, Per", ["Press"]),
    _record(38, "Sjömännens visor", "Wallin, Erik", ["Visor", "Sjöfart"]),
    _record(39, "Vattnets kretslopp", "Åkesson, Bo", ["Vatten", "Miljö"]),
    _record(40, "Mio, min Mio", "Lindgren, Astrid", ["Fantasy"],
            notes="Talbok. DAISY-format, inläst av författaren."),
    _record(41, "Emil i Lönneberga", "Lindgren, Astrid", ["Barnböcker"], notes="Talbok (DAISY)"),
]


def _judged(
    query: str,
    must_include: list[int] | None = None,
    must_exclude: list[int] | None = None,
    first: int | None = None,
    why: str = "",
) -> Judgment:
    return Judgment(
        query=query,
        must_include=must_include or [],
        must_exclude=must_exclude or [],
        first=first,
        why=why,
    )


JUDGED_QUERIES: list[Judgment] = [
    _judged("mars*", [10, 11, 12], [13, 14, 15],
            why="a prefix is expanded as typed, never stemmed to mar* first"),
    _judged("mars", [10, 11], [12, 13, 14, 15],
            why="mars is protected from stemming, and marsvin is a word, not Mars + vin"),
    _judged("marsvin", [12], [10, 11], first=12, why="the guinea pig, found in its own right"),
    _judged("män", [1, 29], first=1,
            why="män is not folded into the stop word man; mannen shares its stem"),
    _judged("man", [1, 29], first=27,
            why="man alone is kept; exact man (Man Ray) ranks above folded män and mannen"),
    _judged("en man som heter Ove", [28], first=28,
            why="stop words are dropped from a query that has other words"),
    _judged("pa", [], [29, 30], why="på is a stop word and is never indexed as pa"),
    _judged("for", [31], [5, 14], first=31, why="för is never indexed as for"),
    _judged("ar", [], [32], why="är is never indexed as ar"),
    _judged("Är det här kärlek?", [32, 33], first=32,
            why="only the stop words go; kärleksbrev has kärlek as a compound part"),
    _judged("bröder", [2], [3, 4], first=2, why="bröder stems to broder, never to bröd"),
    _judged("bröd", [3, 4], [2], first=3, why="bröd is protected; surdegsbröd is a compound"),
    _judged("hemlighet", [16], [17, 18], first=16, why="hemlighet is never cut down to hem"),
    _judged("hem", [17, 18], [16], first=17, why="hem never finds hemlighet"),
    _judged("Lind", [22], [23, 24], first=22, why="a surname is not stemmed: Lind is not Linda"),
    _judged("Linda", [23], [22], first=23, why="Linda is not stemmed to Lind in names either"),
    _judged("bok", [5, 6, 7, 8, 9], first=7,
            why="compounds are split (kokbok, barnbok); the exact word ranks first"),
    _judged("romaner", [19, 20, 21], first=20, why="romaner meets roman; exact form first"),
    _judged("roman", [19, 20, 21], first=19, why="roman meets romaner and romanens"),
    _judged("Åsa", [25, 26], first=25, why="the accented name ranks above the folded Asa"),
    _judged("Asa", [25, 26], first=26, why="typed without the ring, Asa first, Åsa still found"),
    _judged("hästar", [34, 35], first=34, why="the exact form ranks above the stemmed hästen"),
    _judged("hastar", [34], why="typed without diacritics, the folded form is found"),
    _judged("flickor", [36], why="flickor and flickan share a stem"),
    _judged("artikel", [37], why="the head of tidningsartiklar, linked by s"),
    _judged("sjömän", [38], first=38, why="an irregular plural inside a compound"),
    _judged("vatten", [39], first=39, why="vattnet meets vatten"),
    _judged("talböcker", [40, 41], why="talking books by their plural"),
    _judged("daisy", [40, 41], [1, 2], why="talking books by the DAISY note"),
    _judged("Lindgren bröder", [2], [40, 41], first=2, why="every term must match"),
    _judged("978-91-7263-601-9", [1], first=1, why="an ISBN with hyphens is one code"),
    _judged("9789172636019", [1], first=1, why="the same ISBN without hyphens"),
    _judged("91-7263-601-7", [1], first=1, why="the ISBN-10 finds the ISBN-13 record"),
    _judged("9789129657074", [25], first=25, why="the ISBN-13 finds the ISBN-10 record"),
    _judged("ISBN 91-29-65707-5", [25], first=25, why="the label in front of an ISBN is left out"),
]
