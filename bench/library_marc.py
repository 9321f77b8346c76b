"""Generated MARC 21 records of a Swedish public library catalogue, for tests and benchmarks.

Titles are made from Swedish words (with the ones the search tests need: romaner, kokbok,
bröder, hemlighet, marsvin, män) and, for the catalogue's other languages, from English,
Finnish, Arabic, Somali, Tigrinya and Persian ones, in their own scripts; authors have
Swedish names (Lind and Lindgren, Anna and Linda) or names of the other languages'
speakers. Languages are mostly Swedish. Books dominate the media mix, followed by audio
and e-books, films, music, periodicals and games; ``talking_book_share`` of the records
are DAISY talking books, each marked by at least one of the Swedish signals (SAB ``/TC``,
a DAISY note, 007 ``co``, 008/22 ``f``) while ordinary audiobooks carry none.

Control numbers, ISBN-13s (valid check digits, some given as ISBN-10, a few with a wrong
one in $z) and item barcodes are unique within a run and differ between seeds; the same
seed gives the same records. Items go in the field a ``PRESETS`` layout names (852, 949
or 952), 1–5 per record by default; e-books have none.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pymarc
from pymarc import Field, Indicators, Subfield

from library_loans.marc import PRESETS, HoldingsMapping, write_marcxml


def _words(text: str) -> list[str]:
    """A word list written as one string, for reading: "Anna Eva" → ["Anna", "Eva"]."""
    return text.split()


BRANCHES = (
    "UMEA-STADS",
    "UMEA-HOLMSUND",
    "UMEA-TEG",
    "UMEA-BOKBUSS",
    "BJURHOLM-HB",
    "NORDMALING-HB",
    "ROBERTSFORS-HB",
    "VINDELN-HB",
    "VANNAS-HB",
)

# Media other than talking books, with their shares before the talking books' is taken.
_MEDIA = {
    "book": 0.78,
    "ebook": 0.05,
    "audiobook": 0.05,
    "film": 0.04,
    "music": 0.03,
    "periodical": 0.02,
    "game": 0.01,
    "other": 0.01,
}
_LANGUAGES = {"swe": 0.80, "eng": 0.10, "fin": 0.03, "ara": 0.02, "som": 0.02, "fas": 0.02,
              "tir": 0.01}
_COUNTRY = {"swe": "sw ", "eng": "xxk", "fin": "fi "}

_SWEDISH_DEFINITE = _words(
    "Hemligheten Bröderna Marsvinet Huset Sjön Skogen Vintern Staden Flickan Pojken Resan "
    "Natten Ön Älven Fjället Drömmen Kriget Sommaren Brevet Spegeln Fyren Trädgården "
    "Stjärnan Kokboken Bagaren Männen Systrarna Älgen Björnen Båten"
)
_SWEDISH_INDEFINITE = _words(
    "hemlighet bröder marsvin män kvinnor romaner noveller kokbok bröd hem sjöar skogar "
    "älgar stjärnor barn vänner systrar dikter sagor minnen äventyr kärlek mörker ljus hav "
    "vinter sommar höst vår bröllop"
)
_SWEDISH_ADJECTIVES = _words(
    "hemliga sista gröna röda långa tysta förlorade okända stora lilla mörka ljusa glömda "
    "blå vita"
)
_PLACES = _words(
    "Umeå Vindeln Bjurholm Nordmaling Robertsfors Vännäs Holmsund Norrland Kiruna Stockholm "
    "Göteborg Västerbotten Ångermanälven Öland Gotland Lappland"
)
_VERBS = (
    "hatar kvinnor", "läser", "simmar", "gräver", "försvann", "älskar böcker", "bakar bröd",
    "går hem", "tiger", "reser norrut",
)
_GROUPS = ("alla", "barn", "studenter", "ensamhushåll", "vegetarianer", "fjällvandrare",
           "små kök", "nybörjare")
_SUBTITLES = ("roman", "en berättelse", "dikter", "noveller", "kokbok för hela familjen",
              "en deckare", "berättelser från Norrland", "en bilderbok", "lättläst")
# Article, adjectives and nouns of the languages whose titles are put together.
_TITLES = {
    "eng": ("The", _words("Silent Last Hidden Northern Long Red Lost Secret"),
            _words("House River Garden Brothers Winter Road Island Kitchen Letters Cookbook")),
    "fin": ("", _words("Pitkä Hiljainen Viimeinen Salainen Punainen"),
            _words("talvi salaisuus veljekset metsä järvi koti kirje yö keittokirja")),
}
_FOREIGN_TITLES = {
    "ara": ("الحديقة السرية", "الإخوة", "الشتاء الطويل", "البيت", "رسائل من الشمال",
            "كتاب الطبخ", "سر البحيرة"),
    "som": ("Sirta", "Walaalaha", "Guriga", "Jiilaalka", "Sheekooyin carruureed",
            "Buugga cuntada", "Safarka woqooyiga"),
    "tir": ("ምስጢር", "ኣሕዋት", "ገዛ", "ክረምቲ", "ዛንታታት", "መጽሓፍ ምግቢ"),
    "fas": ("راز", "برادران", "خانه", "زمستان", "داستان‌ها", "کتاب آشپزی", "نامه‌های شمال"),
}
_SURNAMES = {
    "swe": _words(
        "Lind Lindgren Lindberg Lindström Lindqvist Andersson Johansson Karlsson Nilsson "
        "Eriksson Larsson Olsson Persson Svensson Gustafsson Pettersson Jonsson Jönsson "
        "Hansson Bengtsson Åberg Öberg Ängström Sjöberg Bröd Hemming Mankell Lagerlöf Holm "
        "Marklund Wikland Nordqvist Strömberg Ek"
    ),
    "eng": _words("Smith Jones Taylor Brown Williams Wilson Evans Walker"),
    "fin": _words("Virtanen Korhonen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen"),
    "ara": _words("Hassan Ali Haddad Khalil Mansour Saleh"),
    "som": _words("Mohamed Abdi Warsame Farah Yusuf Jama"),
    "tir": _words("Tesfay Gebremedhin Berhane Kidane Haile"),
    "fas": _words("Karimi Hosseini Rahimi Ahmadi Moradi Jafari"),
}
_GIVEN_NAMES = {
    "swe": _words(
        "Anna Astrid Linda Lars Karl Maria Erik Eva Sara Johan Åsa Örjan Björn Märta Selma "
        "Henning Camilla Liza Jonas Ingrid Sven Maja Elsa Nils Ylva"
    ),
    "eng": _words("John Mary James Emma Oliver Grace"),
    "fin": _words("Liisa Mikko Aino Juha Päivi Eero"),
    "ara": _words("Ahmed Fatima Omar Layla Yousef Mariam"),
    "som": _words("Fadumo Abdirahman Hodan Ayaan Said"),
    "tir": _words("Mehret Yonas Senait Dawit Saba"),
    "fas": _words("Shirin Reza Maryam Dariush Leila"),
}
_PUBLISHERS = (
    ("Stockholm", "Bonnier"), ("Stockholm", "Norstedt"), ("Stockholm", "Rabén & Sjögren"),
    ("Stockholm", "Natur & Kultur"), ("Stockholm", "Wahlström & Widstrand"),
    ("Stockholm", "Alfabeta"), ("Stockholm", "Ordfront"), ("Göteborg", "Daidalos"),
    ("Lund", "Bakhåll"), ("Umeå", "Bokförlaget h:ström"), ("Stockholm", "Piratförlaget"),
    ("Stockholm", "Lind & Co"), ("Enskede", "Talboks- och punktskriftsbiblioteket"),
)
_TOPICS = _words(
    "Marsvin Syskon Hemligheter Matlagning Bröd Bakning Vänskap Familjen Skolan Kärlek Krig "
    "Flyktingar Migration Natur Fjällen Samer Historia Mord Polisen Djur Hästar Hundar "
    "Katter Fotboll Sorg Mobbning Bröder Män"
)
_GENRES = ("Romaner", "Deckare", "Kokböcker", "Bilderböcker", "Noveller", "Dikter", "Fantasy",
           "Biografier", "Lättläst")
_SUBDIVISIONS = ("historia", "sociala aspekter", "1900-talet", "barn och ungdom", "recept")
_NONFICTION_SAB = ("Qcc", "Qcca", "Ddc", "Kc", "Lz", "Nc", "Oaa", "Pu", "Rb", "Uhc", "Vk",
                   "Ghcb", "Ib")
_FICTION_SAB = {"swe": "Hc", "eng": "Hce"}
_SHELVES = {
    "book": ("Vuxen", "Barn", "Unga", "Magasin", "Snabblån"),
    "audiobook": ("Ljudböcker",),
    "talking_book": ("Talböcker",),
    "film": ("Film",),
    "music": ("Musik",),
    "periodical": ("Tidskrifter",),
    "game": ("Spel",),
    "other": ("Vuxen", "Magasin"),
}
_STATES = ("missing", "damaged", "withdrawn")
_STATE_WORDS = {"missing": "förkommen", "damaged": "skadad", "withdrawn": "gallrad"}
# Leader/06, Leader/07 and the 007 of each medium (None: no 007).
_KINDS = {
    "book": ("a", "m", None),
    "ebook": ("a", "m", "cr |n|||||||||"),
    "audiobook": ("i", "m", "sd fsngnnmmned"),
    "talking_book": ("i", "m", "sd fsngnnmmned"),
    "film": ("g", "m", "vd cvaizq"),
    "music": ("j", "m", "sd fungnnmmned"),
    "periodical": ("a", "s", None),
    "game": ("m", "m", "co |||||||||||"),
    "other": ("e", "m", None),
}
_ISBN_STEP = 104_729  # a prime: i * step mod 10**7 is a permutation of 0 … 10**7 - 1


def generate_records(
    count: int,
    *,
    seed: int = 4,
    holdings_tag: str = "852",
    branches: Sequence[str] = BRANCHES,
    items_per_record: tuple[int, int] = (1, 5),
    talking_book_share: float = 0.03,
) -> Iterator[pymarc.Record]:
    """``count`` generated bibliographic records with items, the same for the same seed."""
    rng = random.Random(seed)
    media = dict(_MEDIA)
    scale = (1.0 - talking_book_share) / sum(media.values())
    media = {name: share * scale for name, share in media.items()}
    media["talking_book"] = talking_book_share
    medium_pick = _picker(media)
    language_pick = _picker(_LANGUAGES)
    barcodes = itertools.count(20_000_000_000 + seed * 1_000_000_000)
    layout = _ItemLayout(PRESETS[holdings_tag], tuple(branches), items_per_record, barcodes)
    for number in range(count):
        medium = medium_pick(rng)
        language = language_pick(rng) if medium not in ("film", "music", "game") else "swe"
        yield _record(rng, seed, number, medium, language, layout)


def write_iso2709(path: str | Path, count: int, **kw: Any) -> Path:
    """Write ``count`` generated records to ``path`` as ISO 2709; the path."""
    path = Path(path)
    with path.open("wb") as out:
        for record in generate_records(count, **kw):
            out.write(record.as_marc())
    return path


def write_marcxml_file(path: str | Path, count: int, **kw: Any) -> Path:
    """Write ``count`` generated records to ``path`` as a MARCXML collection; the path."""
    path = Path(path)
    with path.open("wb") as out:
        write_marcxml(generate_records(count, **kw), out)
    return path


def corrupt(iso_bytes: bytes, how: str) -> bytes:
    """One ISO 2709 record broken in the named way, for tests of the reader.

    ``leader``: the record length is not a number; ``length``: the length claims 40 bytes
    more than there are; ``terminator``: the record terminator is gone (same length);
    ``base_address``: it points past the record; ``directory``: an entry's length is not a
    number; ``utf8``: a UTF-8 record's first $a starts with a byte UTF-8 never has;
    ``marc8``: a UTF-8 record's leader/09 says MARC-8; ``truncate``: only the first half.
    """
    data = bytearray(iso_bytes)
    base = int(iso_bytes[12:17])
    if how == "leader":
        data[0:5] = b"0x1y2"
    elif how == "length":
        data[0:5] = b"%05d" % (len(iso_bytes) + 40)
    elif how == "terminator":
        data[-1:] = b"#"
    elif how == "base_address":
        data[12:17] = b"%05d" % (len(iso_bytes) + 100)
    elif how == "directory":
        data[27:31] = b"ab12"
    elif how == "utf8":
        first_a = iso_bytes.index(b"\x1fa", base) + 2
        data[first_a] = 0xFF
    elif how == "marc8":
        data[9] = ord(" ")
    elif how == "truncate":
        del data[len(data) // 2 :]
    else:
        raise ValueError(f"unknown corruption {how!r}")
    return bytes(data)


def _picker(shares: dict[str, float]) -> Callable[[random.Random], str]:
    """A function drawing one key of ``shares`` with those weights from an rng."""
    names = list(shares)
    cumulative = list(itertools.accumulate(shares[name] for name in names))
    total = cumulative[-1]

    def pick(rng: random.Random) -> str:
        return names[min(bisect(cumulative, rng.random() * total), len(names) - 1)]

    return pick


class _ItemLayout:
    """Writes a record's items into the field and subfields of a holdings layout."""

    def __init__(
        self,
        mapping: HoldingsMapping,
        branches: tuple[str, ...],
        per_record: tuple[int, int],
        barcodes: Iterator[int],
    ) -> None:
        self.mapping = mapping
        self.branches = branches
        self.per_record = per_record
        self.barcodes = barcodes

    def fields(self, rng: random.Random, medium: str, call_number: str) -> list[Field]:
        """The item fields of one record (none for an e-book)."""
        if medium == "ebook":
            return []
        return [self._item(rng, medium, call_number) for _ in range(rng.randint(*self.per_record))]

    def _item(self, rng: random.Random, medium: str, call_number: str) -> Field:
        mapping = self.mapping
        subfields = [
            Subfield(mapping.branch, rng.choice(self.branches)),
            Subfield(mapping.barcode, str(next(self.barcodes))),
        ]
        if mapping.call_number:
            subfields.append(Subfield(mapping.call_number, call_number))
        if mapping.shelf:
            subfields.append(Subfield(mapping.shelf, rng.choice(_SHELVES[medium])))
        if rng.random() < 0.02:
            subfields.extend(self._state(rng.choice(_STATES)))
        return Field(mapping.tag, Indicators(" ", " "), subfields)

    def _state(self, state: str) -> list[Subfield]:
        """Subfields marking ``state`` the way this layout marks it (852 has no way)."""
        mapping = self.mapping
        flags = {"damaged": mapping.damaged, "withdrawn": mapping.withdrawn}
        if flags.get(state):
            return [Subfield(str(flags[state]), "1")]
        if mapping.status is None:
            return []
        # A layout with flag subfields (Koha) numbers its lost status; others use words.
        value = "1" if mapping.damaged or mapping.withdrawn else _STATE_WORDS[state]
        return [Subfield(mapping.status, value)]


def _record(
    rng: random.Random, seed: int, number: int, medium: str, language: str, layout: _ItemLayout
) -> pymarc.Record:
    """One bibliographic record of ``medium`` in ``language`` with its items."""
    kind, level, physical = _KINDS[medium]
    audience = _audience_code(rng, medium)
    year = rng.randint(1945, 2025)
    surname, given = rng.choice(_SURNAMES[language]), rng.choice(_GIVEN_NAMES[language])
    fiction = medium in ("book", "ebook", "audiobook", "talking_book") and rng.random() < 0.65
    sab = _classification(rng, language, fiction, audience)
    talking = _talking_signals(rng) if medium == "talking_book" else set()
    if "tc" in talking:
        sab += "/TC"
    if "co" in talking:
        physical = "co |||||||||||"
    if "f" in talking:
        audience = "f"
    leader = f"00000n{kind}{level} a2200000 i 4500"
    record = pymarc.Record(leader=leader)
    record.add_field(
        Field("001", data=str(seed * 100_000_000 + number + 1)),
        Field("003", data="SE-LIBR"),
        Field("005", data=f"{year + rng.randint(0, 1)}0612093000.0"),
    )
    if physical:
        record.add_field(Field("007", data=physical))
    record.add_field(Field("008", data=_fixed(rng, kind, year, audience, language, medium)))
    record.add_field(*_isbn_fields(rng, number, medium))
    record.add_field(_field("040", Subfield("a", "Ua")))
    record.add_field(_field("084", Subfield("a", sab), Subfield("2", "kssb/8")))
    if medium not in ("periodical", "film", "other") and rng.random() < 0.94:
        record.add_field(_person("100", surname, given, rng))
    record.add_field(*_title_fields(rng, language, medium, surname, given, year))
    record.add_field(*_subject_fields(rng, fiction))
    record.add_field(*_note_fields(rng, medium, talking, language))
    if rng.random() < 0.2:
        contributor = rng.choice(_SURNAMES["swe"]), rng.choice(_GIVEN_NAMES["swe"])
        record.add_field(_person("700", *contributor, rng, role=rng.choice(("ill", "trl"))))
    record.add_field(*layout.fields(rng, medium, f"{sab.split('/')[0]} {surname}"))
    return record


def _field(tag: str, *subfields: Subfield, indicators: str = "  ") -> Field:
    return Field(tag, Indicators(indicators[0], indicators[1]), list(subfields))


def _audience_code(rng: random.Random, medium: str) -> str:
    """008/22: a quarter children's, a tenth young people's, the rest adult or general."""
    if medium in ("periodical", "other"):
        return " "
    draw = rng.random()
    if draw < 0.25:
        return rng.choice("abj")
    if draw < 0.35:
        return rng.choice("cd")
    return rng.choice("eg ")


def _talking_signals(rng: random.Random) -> set[str]:
    """Which Swedish talking-book signals a talking book carries: at least one."""
    signals = {signal for signal in ("tc", "daisy", "co", "f") if rng.random() < 0.5}
    return signals or {rng.choice(("tc", "daisy", "co", "f"))}


def _classification(rng: random.Random, language: str, fiction: bool, audience: str) -> str:
    """An SAB code: fiction by language, children's and young people's prefixed ``u``."""
    code = _FICTION_SAB.get(language, "H") if fiction else rng.choice(_NONFICTION_SAB)
    if fiction and rng.random() < 0.5:
        code += ".01"
    return ("u" + code) if audience in "abjcd" else code


def _fixed(
    rng: random.Random, kind: str, year: int, audience: str, language: str, medium: str
) -> str:
    """The 40 characters of 008 for the record's type."""
    fixed = [" "] * 40
    fixed[0:6] = f"{year % 100:02d}0612"
    fixed[6] = "s"
    fixed[7:11] = str(year) if rng.random() > 0.01 else "19uu"
    fixed[15:18] = _COUNTRY.get(language, "sw ")
    fixed[22] = audience
    if medium == "ebook":
        fixed[23] = "o"
    if kind == "a" and medium != "periodical":
        fixed[33] = "1" if rng.random() < 0.6 else "0"
    if medium == "game":
        fixed[26] = "g"
    if kind == "g":
        fixed[33] = "v"
    fixed[35:38] = language
    fixed[39] = "d"
    return "".join(fixed)


def _isbn_fields(rng: random.Random, number: int, medium: str) -> list[Field]:
    """020s: a unique ISBN (now and then as ISBN-10), a second edition's, a wrong $z."""
    if medium in ("film", "music", "periodical", "other"):
        return []
    fields = [_field("020", Subfield("a", _isbn(number, rng, qualifier="(inb.)")))]
    if rng.random() < 0.15:
        fields.append(_field("020", Subfield("a", _isbn(number + 5_000_000, rng, "(hft.)"))))
    if rng.random() < 0.02:
        wrong = _isbn13(number + 7_000_000)[:-1] + "X"
        fields.append(_field("020", Subfield("z", wrong)))
    return fields


def _isbn13(number: int) -> str:
    """A Swedish ISBN-13 (978-91) with a valid check digit, one per ``number``."""
    body = f"97891{number * _ISBN_STEP % 10**7:07d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def _isbn(number: int, rng: random.Random, qualifier: str) -> str:
    """An 020 $a as catalogues write it: ISBN-13 or hyphenated ISBN-10, with a qualifier."""
    isbn13 = _isbn13(number)
    if rng.random() < 0.1:
        nine = isbn13[3:12]
        check = sum((i + 1) * int(d) for i, d in enumerate(nine)) % 11
        isbn10 = f"{nine[:2]}-{nine[2:4]}-{nine[4:]}-{'X' if check == 10 else check}"
        return f"{isbn10} {qualifier}"
    return f"{isbn13} {qualifier}" if rng.random() < 0.7 else isbn13


def _person(
    tag: str, surname: str, given: str, rng: random.Random, role: str | None = None
) -> Field:
    """A personal name field: "Surname, Given", a life span now and then."""
    if rng.random() < 0.3:
        born = rng.randint(1900, 1995)
        subfields = [Subfield("a", f"{surname}, {given},"), Subfield("d", f"{born}-")]
    else:
        subfields = [Subfield("a", f"{surname}, {given}")]
    if role:
        subfields.append(Subfield("4", role))
    return _field(tag, *subfields, indicators="1 ")


def _title_fields(
    rng: random.Random, language: str, medium: str, surname: str, given: str, year: int
) -> list[Field]:
    """245 with ISBD punctuation, and its publication statement (264, or 260 when old)."""
    title = _title(rng, language)
    statement = f"{given} {surname}"
    if rng.random() < 0.4 and language == "swe":
        main = [Subfield("a", f"{title} :"), Subfield("b", f"{rng.choice(_SUBTITLES)} /")]
    else:
        main = [Subfield("a", f"{title} /")]
    fields = [_field("245", *main, Subfield("c", statement), indicators="10")]
    place, publisher = rng.choice(_PUBLISHERS)
    if medium == "talking_book":
        place, publisher = "Enskede", "Talboks- och punktskriftsbiblioteket"
    published = [Subfield("a", f"{place} :"), Subfield("b", f"{publisher},")]
    if year < 1990:
        fields.append(_field("260", *published, Subfield("c", f"{year}.")))
    else:
        fields.append(_field("264", *published, Subfield("c", f"[{year}]"), indicators=" 1"))
    if medium in ("book", "ebook") and rng.random() < 0.1:
        fields.append(_field("490", Subfield("a", f"{surname}-serien ;"),
                             Subfield("v", str(rng.randint(1, 9))), indicators="0 "))
    return fields


def _title(rng: random.Random, language: str) -> str:
    """A title in ``language``: Swedish from several patterns, others from word lists."""
    if language in _FOREIGN_TITLES:
        return rng.choice(_FOREIGN_TITLES[language])
    if language in _TITLES:
        article, adjectives, nouns = _TITLES[language]
        words = [article, rng.choice(adjectives), rng.choice(nouns)]
        return " ".join(word for word in words if word)
    definite = rng.choice(_SWEDISH_DEFINITE)
    indefinite = rng.choice(_SWEDISH_INDEFINITE)
    pattern = rng.randrange(9)
    if pattern == 0:
        return f"{definite} i {rng.choice(_PLACES)}"
    if pattern == 1:
        return f"{definite} och {rng.choice(_SWEDISH_DEFINITE).lower()}"
    if pattern == 2:
        article = "Det" if definite.endswith(("et", "t")) else "Den"
        return f"{article} {rng.choice(_SWEDISH_ADJECTIVES)} {definite.lower()}"
    if pattern == 3:
        return f"Män som {rng.choice(_VERBS)}"
    if pattern == 4:
        return f"Bröderna {rng.choice(_SURNAMES['swe'])}"
    if pattern == 5:
        return f"Kokbok för {rng.choice(_GROUPS)}"
    if pattern == 6:
        return f"{indefinite.capitalize()} och {rng.choice(_SWEDISH_INDEFINITE)}"
    if pattern == 7:
        return f"Marsvinet {rng.choice(_GIVEN_NAMES['swe'])} och {indefinite}"
    return f"{rng.choice(_SURNAMES['swe'])}s hemlighet"


def _subject_fields(rng: random.Random, fiction: bool) -> list[Field]:
    """Topical subjects (sao), sometimes subdivided, and a genre term (saogf)."""
    fields = []
    for topic in rng.sample(_TOPICS, rng.randint(1, 3)):
        subfields = [Subfield("a", topic)]
        if rng.random() < 0.2:
            subfields.append(Subfield("x", rng.choice(_SUBDIVISIONS)))
        if rng.random() < 0.1:
            subfields.append(Subfield("z", rng.choice(_PLACES)))
        fields.append(_field("650", *subfields, Subfield("2", "sao"), indicators=" 7"))
    if fiction or rng.random() < 0.3:
        genre = rng.choice(_GENRES)
        fields.append(_field("655", Subfield("a", genre), Subfield("2", "saogf"), indicators=" 7"))
    return fields


def _note_fields(
    rng: random.Random, medium: str, talking: set[str], language: str
) -> list[Field]:
    """Notes: a DAISY note on some talking books, an original title, a summary."""
    fields = []
    if "daisy" in talking:
        note = rng.choice(("Talbok i DAISY-format", "DAISY 2.02", "Talbok med text (DAISY)"))
        fields.append(_field("500", Subfield("a", note)))
    if language == "swe" and medium == "book" and rng.random() < 0.1:
        original = _title(rng, "eng")
        fields.append(_field("500", Subfield("a", f"Originaltitel: {original}")))
    if rng.random() < 0.5:
        summary = (
            f"En berättelse om {rng.choice(_SWEDISH_INDEFINITE)} och "
            f"{rng.choice(_SWEDISH_INDEFINITE)} i {rng.choice(_PLACES)}."
        )
        fields.append(_field("520", Subfield("a", summary)))
    return fields
