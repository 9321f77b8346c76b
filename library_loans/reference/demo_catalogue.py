"""The demo catalogue: what patrons of the Umeå region's libraries look for, as MARC 21.

Hand-picked titles first: the classics everyone searches for (Astrid Lindgren, Moberg,
Lagerlöf, Sara Lidman and Torgny Lindgren from Västerbotten), the cases the search is
judged on (``män``, ``bröder`` and ``bröd``, ``marsvin`` and ``Mars``, ``kokbok``,
``romaner``, Lind and Linda), DAISY talking books marked by each of the Swedish signals
(SAB ``/TC``, a DAISY note, 007 ``co``, 008/22 ``f``), audiobooks that are not talking
books, films, e-books, and titles in Finnish, English, Arabic, Somali, Persian and North
Sami. Then everyday titles made from word lists with a fixed seed, so every load makes the
same catalogue. Each title says which municipalities hold how many copies; some are held
by one small municipality only, so a patron elsewhere must reserve across the border.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pymarc
from pymarc import Field, Indicators, Subfield

CONTROL_SOURCE = "SE-SAMV"
"""003 of the demo records: the cooperation's own catalogue."""

SMALL_MUNICIPALITIES = ("bjurholm", "nordmaling", "robertsfors", "vindeln", "vannas")


@dataclass(frozen=True)
class Title:
    """A title of the demo catalogue and the copies each municipality holds of it."""

    title: str
    author: str | None
    year: int
    holdings: str
    """Copies per municipality: ``"umea:3 vindeln:1"`` (none for an e-book)."""
    subtitle: str = ""
    language: str = "swe"
    medium: str = "book"
    """book, talking_book, audiobook, ebook or film."""
    audience: str = "adult"
    subjects: tuple[str, ...] = ()
    genre: str | None = None
    sab: str = "Hc"
    publisher: str = "Bonnier"
    place: str = "Stockholm"
    notes: tuple[str, ...] = ()
    signals: str = "tn"
    """A talking book's DAISY signals: t (SAB /TC), n (note), c (007 co), f (008/22 f)."""
    contributors: tuple[str, ...] = ()

    def copies(self) -> dict[str, int]:
        """How many copies each municipality holds."""
        return {slug: int(count) for slug, count in
                (part.split(":") for part in self.holdings.split())}


@dataclass(frozen=True)
class Copy:
    """One copy in a municipality's export: its barcode, home branch and shelf."""

    barcode: str
    branch_code: str
    shelf: str


def _t(title: str, author: str | None, year: int, holdings: str, **kw: object) -> Title:
    return Title(title, author, year, holdings, **kw)  # type: ignore[arg-type]


_TALBOKSBIBLIOTEKET = {"publisher": "Myndigheten för tillgängliga medier", "place": "Malmö"}
_CHILDREN = {"audience": "children", "sab": "uHc"}

CLASSICS: tuple[Title, ...] = (
    # Astrid Lindgren and other children's classics
    _t("Bröderna Lejonhjärta", "Lindgren, Astrid", 1973,
       "umea:4 vannas:1 vindeln:1 bjurholm:1 nordmaling:1 robertsfors:1",
       subjects=("Bröder", "Döden", "Syskon"), genre="Fantasy", publisher="Rabén & Sjögren",
       **_CHILDREN),
    _t("Bröderna Lejonhjärta", "Lindgren, Astrid", 2005, "umea:1 vindeln:1",
       medium="talking_book", signals="tnc", subjects=("Bröder", "Syskon"),
       notes=("Talbok i DAISY-format.", "Inläst av Astrid Lindgren."),
       audience="children", sab="uHc/TC", **_TALBOKSBIBLIOTEKET),
    _t("Pippi Långstrump", "Lindgren, Astrid", 1945, "umea:3 vannas:1 nordmaling:1",
       subjects=("Flickor", "Vänskap"), publisher="Rabén & Sjögren", **_CHILDREN),
    _t("Pippi Långstrump", "Lindgren, Astrid", 2008, "umea:2", medium="audiobook",
       notes=("Ljudbok på cd.",), publisher="Rabén & Sjögren", **_CHILDREN),
    _t("Emil i Lönneberga", "Lindgren, Astrid", 1963, "umea:2 robertsfors:1",
       subjects=("Pojkar", "Småland"), publisher="Rabén & Sjögren", **_CHILDREN),
    _t("Ronja rövardotter", "Lindgren, Astrid", 1981, "umea:2 vindeln:1",
       subjects=("Rövare", "Vänskap"), genre="Fantasy", publisher="Rabén & Sjögren",
       **_CHILDREN),
    _t("Mio, min Mio", "Lindgren, Astrid", 1954, "umea:1 bjurholm:1",
       subjects=("Pojkar",), genre="Fantasy", publisher="Rabén & Sjögren", **_CHILDREN),
    _t("Mio, min Mio", "Lindgren, Astrid", 2001, "umea:1", medium="talking_book", signals="n",
       notes=("Talbok. DAISY-format, inläst av författaren.",), **_TALBOKSBIBLIOTEKET,
       audience="children", sab="uHc"),
    _t("Vi på Saltkråkan", "Lindgren, Astrid", 1964, "vindeln:1",
       subjects=("Skärgården", "Sommar"), publisher="Rabén & Sjögren", **_CHILDREN),
    _t("Nils Holgerssons underbara resa genom Sverige", "Lagerlöf, Selma", 1906,
       "umea:2 vannas:1", subjects=("Sverige", "Gäss", "Resor"), publisher="Bonnier",
       **_CHILDREN),
    _t("Nils Holgerssons underbara resa genom Sverige", "Lagerlöf, Selma", 2010,
       "nordmaling:1", medium="talking_book", signals="c", audience="children",
       sab="uHc", **_TALBOKSBIBLIOTEKET),
    _t("Trollvinter", "Jansson, Tove", 1957, "umea:1 robertsfors:1",
       subjects=("Mumintrollen", "Vinter"), publisher="Schildt", place="Helsingfors",
       **_CHILDREN),
    _t("Pannkakstårtan", "Nordqvist, Sven", 1984, "umea:2 vindeln:1",
       subjects=("Pettson och Findus", "Katter"), genre="Bilderböcker",
       publisher="Opal", **_CHILDREN),
    _t("Godnatt, Alfons Åberg", "Bergström, Gunilla", 1972, "umea:2 nordmaling:1",
       genre="Bilderböcker", publisher="Rabén & Sjögren", **_CHILDREN),
    _t("Mamma Mu bygger en koja", "Wieslander, Jujja", 1995, "umea:2 vannas:1",
       subjects=("Kor", "Kråkor"), genre="Bilderböcker", publisher="Rabén & Sjögren",
       contributors=("Nordqvist, Sven",), **_CHILDREN),
    _t("Marsvinens hemlighet", "Lindberg, Anna", 2019, "umea:1 vannas:1",
       subjects=("Marsvin", "Husdjur", "Hemligheter"), publisher="Natur & Kultur",
       **_CHILDREN),
    _t("Marsvinet Molly", "Sund, Eva", 2016, "bjurholm:1",
       subjects=("Husdjur", "Marsvin"), genre="Lättläst", publisher="Nypon", **_CHILDREN),
    _t("Harry Potter och de vises sten", "Rowling, J. K.", 1999,
       "umea:3 vannas:1 robertsfors:1", subjects=("Trollkarlar", "Internatskolor"),
       genre="Fantasy", publisher="Tiden", contributors=("Fries-Gedin, Lena",),
       notes=("Originaltitel: Harry Potter and the philosopher's stone",), **_CHILDREN),
    _t("Handbok för superhjältar", "Våhlund, Elias", 2014, "umea:2 bjurholm:1",
       subjects=("Superhjältar", "Mobbning"), publisher="Rabén & Sjögren",
       contributors=("Våhlund, Agnes",), **_CHILDREN),
    _t("Hästen och hans pojke", "Lewis, C. S.", 1954, "umea:1",
       subjects=("Narnia", "Hästar"), genre="Fantasy", publisher="Natur & Kultur",
       **_CHILDREN),
    _t("Looking for Alaska", "Green, John", 2005, "umea:1", language="eng",
       audience="youth", subjects=("Young adult",), sab="uHce", publisher="Dutton",
       place="New York"),
    # Vilhelm Moberg, Selma Lagerlöf and other classics
    _t("Utvandrarna", "Moberg, Vilhelm", 1949, "umea:3 vindeln:1 nordmaling:1",
       subjects=("Emigration", "Småland", "Amerika"), sab="Hc.01", genre="Romaner"),
    _t("Utvandrarna", "Moberg, Vilhelm", 2006, "umea:1 vannas:1", medium="talking_book",
       signals="tn", notes=("Talbok med text (DAISY).",), sab="Hc.01/TC",
       subjects=("Emigration",), **_TALBOKSBIBLIOTEKET),
    _t("Utvandrarna", "Moberg, Vilhelm", 2015, "", medium="ebook", sab="Hc.01",
       subjects=("Emigration",), publisher="Albert Bonniers förlag"),
    _t("Invandrarna", "Moberg, Vilhelm", 1952, "umea:2", subjects=("Emigration", "Minnesota"),
       sab="Hc.01", genre="Romaner"),
    _t("Nybyggarna", "Moberg, Vilhelm", 1956, "umea:1 bjurholm:1",
       subjects=("Emigration", "Minnesota"), sab="Hc.01", genre="Romaner"),
    _t("Sista brevet till Sverige", "Moberg, Vilhelm", 1959, "bjurholm:1",
       subjects=("Emigration", "Minnesota"), sab="Hc.01", genre="Romaner"),
    _t("Rid i natt!", "Moberg, Vilhelm", 1941, "robertsfors:1",
       subjects=("Småland", "1600-talet"), sab="Hc.01", genre="Romaner"),
    _t("Gösta Berlings saga", "Lagerlöf, Selma", 1891, "umea:2",
       subjects=("Värmland", "Präster"), sab="Hc.01", genre="Romaner"),
    _t("Jerusalem", "Lagerlöf, Selma", 1901, "vannas:1", subjects=("Dalarna", "Väckelse"),
       sab="Hc.01", genre="Romaner"),
    _t("Kejsarn av Portugallien", "Lagerlöf, Selma", 1914, "umea:1 nordmaling:1",
       subjects=("Värmland", "Fäder och döttrar"), sab="Hc.01", genre="Romaner"),
    _t("Körkarlen", "Lagerlöf, Selma", 1912, "umea:1", sab="Hc.01", genre="Romaner",
       subjects=("Nyårsafton", "Döden")),
    _t("Körkarlen", "Lagerlöf, Selma", 2012, "robertsfors:1", medium="talking_book",
       signals="f", **_TALBOKSBIBLIOTEKET),
    _t("Röda rummet", "Strindberg, August", 1879, "umea:1", sab="Hc.01", genre="Romaner",
       subjects=("Stockholm", "Konstnärer")),
    _t("Hemsöborna", "Strindberg, August", 1887, "umea:1 vindeln:1", sab="Hc.01",
       genre="Romaner", subjects=("Skärgården",)),
    _t("Hjortronlandet", "Lidman, Sara", 1955, "umea:2 vindeln:1",
       subjects=("Västerbotten", "Nybyggare"), genre="Romaner"),
    _t("Hjortronlandet", "Lidman, Sara", 2009, "vindeln:1", medium="talking_book",
       signals="tc", sab="Hc/TC", **_TALBOKSBIBLIOTEKET),
    _t("Lifsens rot", "Lidman, Sara", 1996, "robertsfors:1",
       subjects=("Västerbotten", "Järnvägen"), genre="Romaner"),
    _t("Ormens väg på hälleberget", "Lindgren, Torgny", 1982, "umea:1 vindeln:1",
       subjects=("Västerbotten", "Fattigdom"), genre="Romaner", publisher="Norstedt"),
    _t("Hummelhonung", "Lindgren, Torgny", 1995, "umea:1", subjects=("Bröder", "Norrland"),
       genre="Romaner", publisher="Norstedt"),
    _t("Kallocain", "Boye, Karin", 1940, "umea:1", genre="Romaner",
       subjects=("Diktatur", "Framtiden")),
    _t("Aniara", "Martinson, Harry", 1956, "umea:1", sab="Hcd", genre="Dikter",
       subjects=("Rymdfart",)),
    _t("Nu vill jag sjunga dig milda sånger", "Olsson, Linda", 2005, "umea:1 vannas:1",
       genre="Romaner", subjects=("Vänskap",)),
    _t("Romaner och noveller", "Söderberg, Hjalmar", 1977, "umea:1", genre="Noveller",
       subjects=("Skönlitteratur",)),
    _t("Romanens historia", "Lagerlund, Eva", 2003, "umea:1", sab="Gbb",
       subjects=("Litteraturhistoria",)),
    _t("Populärmusik från Vittula", "Niemi, Mikael", 2000, "umea:2 robertsfors:1",
       subjects=("Tornedalen", "Pajala", "Rockmusik"), genre="Romaner"),
    _t("Händelser vid vatten", "Ekman, Kerstin", 1993, "umea:1 vindeln:1",
       subjects=("Norrland", "Mord"), genre="Deckare"),
    _t("En man som heter Ove", "Backman, Fredrik", 2012, "umea:3 vannas:1",
       subjects=("Grannar", "Sorg"), genre="Romaner", publisher="Forum"),
    _t("En man som heter Ove", "Backman, Fredrik", 2013, "umea:1", medium="talking_book",
       signals="tn", notes=("DAISY 2.02",), sab="Hc/TC", **_TALBOKSBIBLIOTEKET),
    _t("Ett öga rött", "Khemiri, Jonas Hassen", 2003, "umea:1", genre="Romaner",
       subjects=("Identitet", "Stockholm")),
    _t("Egenmäktigt förfarande", "Andersson, Lena", 2013, "umea:1 nordmaling:1",
       subjects=("Kärlek",), genre="Romaner", publisher="Natur & Kultur"),
    # Crime
    _t("Män som hatar kvinnor", "Larsson, Stieg", 2005,
       "umea:3 vannas:1 nordmaling:1 robertsfors:1",
       subjects=("Journalister", "Hackare"), genre="Deckare", publisher="Norstedt"),
    _t("Män som hatar kvinnor", "Larsson, Stieg", 2006, "umea:1", medium="talking_book",
       signals="c", **_TALBOKSBIBLIOTEKET),
    _t("Flickan som lekte med elden", "Larsson, Stieg", 2006, "umea:2", genre="Deckare",
       publisher="Norstedt"),
    _t("Mördare utan ansikte", "Mankell, Henning", 1991, "umea:2 bjurholm:1",
       subjects=("Kurt Wallander", "Skåne"), genre="Deckare", publisher="Ordfront"),
    _t("Roseanna", "Sjöwall, Maj", 1965, "umea:1", subtitle="roman om ett brott",
       genre="Deckare", contributors=("Wahlöö, Per",), publisher="Norstedt"),
    _t("Mannen på balkongen", "Sjöwall, Maj", 1967, "umea:1 vindeln:1", genre="Deckare",
       contributors=("Wahlöö, Per",), publisher="Norstedt"),
    _t("Solstorm", "Larsson, Åsa", 2003, "umea:2 vannas:1", subjects=("Kiruna",),
       genre="Deckare", publisher="Albert Bonniers förlag"),
    _t("Hemligheten i skogen", "Björk, Lena", 2018, "nordmaling:1", genre="Deckare",
       subjects=("Spänning",)),
    # Cookery and baking
    _t("Vår kokbok", None, 1951, "umea:2 vannas:1 nordmaling:1", sab="Qcc",
       subjects=("Matlagning",), genre="Kokböcker", publisher="ICA bokförlag",
       place="Västerås"),
    _t("Sju sorters kakor", None, 1945, "umea:1 bjurholm:1", sab="Qcca",
       subjects=("Bakning", "Kakor"), genre="Kokböcker", publisher="ICA bokförlag",
       place="Västerås"),
    _t("Kokbok för nybörjare", "Ek, Maria", 2011, "umea:1 robertsfors:1", sab="Qcc",
       subjects=("Matlagning",), genre="Kokböcker"),
    _t("Bröd från hela världen", "Andersson, Eva", 2008, "umea:1", sab="Qcca",
       subjects=("Bakning", "Bröd"), genre="Kokböcker"),
    _t("Surdegsbröd", "Holm, Jan", 2014, "umea:1 vannas:1", sab="Qcca",
       subjects=("Bakning",), genre="Kokböcker"),
    _t("Tunnbrödets hemligheter", "Sjöberg, Märta", 2010, "vindeln:1",
       subtitle="bakning i Norrland", sab="Qcca", subjects=("Bakning", "Tunnbröd", "Norrland"),
       genre="Kokböcker", publisher="Bokförlaget h:ström", place="Umeå"),
    # Non-fiction
    _t("Boken om vår by", "Nilsson, Karin", 1998, "bjurholm:1", sab="Kc",
       subjects=("Lokalhistoria", "Bjurholm")),
    _t("Fåglar i Norrland", "Lind, Bengt", 2002, "umea:1 robertsfors:1", sab="Uhc",
       subjects=("Fåglar", "Norrland")),
    _t("Mars", "Holm, Per", 2017, "umea:1", subtitle="den röda planeten", sab="Ub",
       subjects=("Astronomi", "Planeter")),
    _t("Resa till Mars", "Falk, Erik", 2021, "umea:1", sab="Ub", subjects=("Rymdfart",)),
    _t("Marknaden i Umeå", "Öberg, Sara", 2012, "umea:1", sab="Kc",
       subjects=("Handel", "Umeå")),
    _t("Utrota varenda jävel", "Lindqvist, Sven", 1992, "umea:1", sab="K",
       subjects=("Kolonialism",)),
    # Other languages
    _t("The Hobbit", "Tolkien, J. R. R.", 1937, "umea:1", language="eng", sab="Hce",
       genre="Fantasy", publisher="Allen & Unwin", place="London"),
    _t("Pride and prejudice", "Austen, Jane", 1813, "umea:1", language="eng", sab="Hce",
       genre="Romaner", publisher="Penguin", place="London"),
    _t("Tuntematon sotilas", "Linna, Väinö", 1954, "umea:1", language="fin", sab="Hf",
       subjects=("Fortsättningskriget",), genre="Romaner", publisher="WSOY",
       place="Helsinki"),
    _t("موسم الهجرة إلى الشمال", "Ṣāliḥ, al-Ṭayyib", 1966, "umea:1 vannas:1",
       language="ara", sab="Hs", genre="Romaner", publisher="Dār al-ʿAwdah", place="Beirut"),
    _t("Hal karaamo", "Hadraawi, Maxamed Ibraahim", 1993, "umea:1", language="som",
       sab="Hs", genre="Dikter", publisher="HAAN", place="London"),
    _t("بوف کور", "Hedayat, Sadegh", 1937, "umea:1", language="fas", sab="Hs",
       genre="Romaner", publisher="Amir Kabir", place="Teheran"),
    _t("Beaivi, áhčážan", "Valkeapää, Nils-Aslak", 1988, "umea:1 vindeln:1", language="sme",
       sab="Hcd", subjects=("Samer",), genre="Dikter", publisher="DAT", place="Guovdageaidnu"),
    # Films
    _t("Så som i himmelen", "Pollak, Kay", 2004, "umea:1 vannas:1", medium="film",
       sab="Ibz", subjects=("Körer", "Norrland"), publisher="Sonet", place="Stockholm"),
    _t("Jägarna", "Sundvall, Kjell", 1996, "umea:1 robertsfors:1", medium="film",
       sab="Ibz", subjects=("Norrbotten", "Tjuvjakt"), publisher="Sonet"),
)


# --- everyday titles made from word lists -----------------------------------------------

_DEFINITE = ("Huset", "Sjön", "Skogen", "Vintern", "Staden", "Flickan", "Pojken", "Resan",
             "Natten", "Ön", "Älven", "Fjället", "Drömmen", "Sommaren", "Brevet", "Fyren",
             "Trädgården", "Stjärnan", "Bagaren", "Systrarna", "Älgen", "Båten")
_ADJECTIVES = ("sista", "gröna", "tysta", "förlorade", "okända", "långa", "mörka", "glömda")
_PLACES = ("Umeå", "Vindeln", "Bjurholm", "Nordmaling", "Robertsfors", "Vännäs", "Holmsund",
           "Norrland", "Västerbotten", "Lappland", "Hörnefors", "Sävar")
_SURNAMES = ("Lind", "Lindberg", "Lindström", "Andersson", "Johansson", "Nilsson",
             "Eriksson", "Larsson", "Olsson", "Persson", "Sjöberg", "Öberg", "Åberg",
             "Holm", "Marklund", "Strömberg", "Ek", "Berglund", "Lundgren", "Nyström")
_GIVEN = ("Anna", "Linda", "Lars", "Karl", "Maria", "Erik", "Eva", "Sara", "Johan", "Åsa",
          "Örjan", "Björn", "Märta", "Ingrid", "Maja", "Elsa", "Nils", "Ylva", "Karin")
_THEMES = ("Vänskap", "Familjen", "Kärlek", "Sorg", "Natur", "Historia", "Krig", "Mord",
           "Hundar", "Hästar", "Skolan", "Flyktingar")
_FACTS = (
    ("Svampar i {place}", "Uhb", ("Svampar",)),
    ("Vandra i {place}", "Rce", ("Vandring", "Friluftsliv")),
    ("{place} under 1900-talet", "Kc", ("Lokalhistoria",)),
    ("Att odla i norr", "Pk", ("Odling", "Trädgård")),
    ("Stickning för nybörjare", "Qcb", ("Stickning", "Handarbete")),
    ("Samisk slöjd", "Mc", ("Samer", "Slöjd")),
    ("Fiske i {place}", "Rbf", ("Fiske",)),
    ("Skidåkning för alla", "Rbc", ("Skidåkning",)),
    ("Bakning med barn", "Qcca", ("Bakning", "Barn")),
    ("Vegetarisk kokbok för hela familjen", "Qcc", ("Matlagning", "Vegetarisk mat")),
)
_PUBLISHERS = ("Bonnier", "Norstedt", "Natur & Kultur", "Ordfront", "Piratförlaget",
               "Wahlström & Widstrand", "Bokförlaget h:ström")


def everyday_titles(count: int = 140, seed: int = 2480) -> list[Title]:
    """``count`` made-up everyday titles, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - made-up titles, not secrets
    return [_everyday(rng, number) for number in range(count)]


def catalogue() -> list[Title]:
    """Every title of the demo catalogue, classics first."""
    return [*CLASSICS, *everyday_titles()]


def marc_record(title: Title, number: int, copies: list[Copy]) -> pymarc.Record:
    """The title as a MARC 21 record (control number from ``number``) with 852s for copies."""
    kind, physical = {"book": ("a", None), "ebook": ("a", "cr |n|||||||||"),
                      "audiobook": ("i", "sd fsngnnmmned"), "film": ("g", "vd cvaizq"),
                      "talking_book": ("i", "sd fsngnnmmned")}[title.medium]
    signals = title.signals if title.medium == "talking_book" else ""
    if "c" in signals:
        physical = "co |||||||||||"
    record = pymarc.Record(leader=f"00000n{kind}m a2200000 i 4500")
    record.add_field(Field("001", data=f"samv-demo-{number:04d}"),
                     Field("003", data=CONTROL_SOURCE))
    if physical:
        record.add_field(Field("007", data=physical))
    record.add_field(Field("008", data=_fixed(title, "f" in signals)))
    if title.medium in ("book", "ebook", "talking_book", "audiobook"):
        record.add_field(_field("020", Subfield("a", _isbn13(number))))
    sab = title.sab + ("/TC" if "t" in signals and not title.sab.endswith("/TC") else "")
    record.add_field(_field("084", Subfield("a", sab), Subfield("2", "kssb/8")))
    if title.author:
        record.add_field(_field("100", Subfield("a", title.author), indicators="1 "))
    record.add_field(_title_field(title))
    record.add_field(_field("264", Subfield("a", f"{title.place} :"),
                            Subfield("b", f"{title.publisher},"),
                            Subfield("c", str(title.year)), indicators=" 1"))
    for note in title.notes:
        record.add_field(_field("500", Subfield("a", note)))
    if "n" in signals and not any("DAISY" in note for note in title.notes):
        record.add_field(_field("500", Subfield("a", "Talbok i DAISY-format.")))
    for subject in title.subjects:
        record.add_field(_field("650", Subfield("a", subject), Subfield("2", "sao"),
                                indicators=" 7"))
    if title.genre:
        record.add_field(_field("655", Subfield("a", title.genre), Subfield("2", "saogf"),
                                indicators=" 7"))
    for contributor in title.contributors:
        record.add_field(_field("700", Subfield("a", contributor), indicators="1 "))
    call_number = f"{sab.split('/')[0]} {(title.author or title.title).split(',')[0]}"
    for copy in copies:
        record.add_field(_field("852", Subfield("b", copy.branch_code),
                                Subfield("c", copy.shelf), Subfield("h", call_number),
                                Subfield("p", copy.barcode)))
    return record


def shelf_for(title: Title) -> str:
    """Where the copy stands in the library."""
    if title.medium == "talking_book":
        return "Talböcker"
    if title.medium == "audiobook":
        return "Ljudböcker"
    if title.medium == "film":
        return "Film"
    return {"children": "Barn", "youth": "Unga"}.get(title.audience, "Vuxen")


# --- private helpers -------------------------------------------------------------------


def _everyday(rng: random.Random, number: int) -> Title:
    author = f"{rng.choice(_SURNAMES)}, {rng.choice(_GIVEN)}"
    year = rng.randint(1975, 2025)
    holdings = _holdings(rng)
    if number % 4 == 3:
        pattern, sab, subjects = rng.choice(_FACTS)
        return Title(pattern.format(place=rng.choice(_PLACES)), author, year, holdings,
                     sab=sab, subjects=subjects, publisher=rng.choice(_PUBLISHERS))
    audience = rng.choice(("adult", "adult", "adult", "children", "youth"))
    pick = rng.randrange(5)
    if pick == 0:
        title = f"{rng.choice(_DEFINITE)} i {rng.choice(_PLACES)}"
    elif pick == 1:
        definite = rng.choice(_DEFINITE)
        article = "Det" if definite.endswith(("et", "t")) else "Den"
        title = f"{article} {rng.choice(_ADJECTIVES)} {definite.lower()}"
    elif pick == 2:
        title = f"{rng.choice(_SURNAMES)}s hemlighet"
    elif pick == 3:
        title = f"{rng.choice(_DEFINITE)} och {rng.choice(_DEFINITE).lower()}"
    else:
        title = f"Brev från {rng.choice(_PLACES)}"
    medium = "audiobook" if rng.random() < 0.08 else "book"
    sab = {"children": "uHc", "youth": "uHc"}.get(audience, "Hc")
    genre = rng.choice(("Romaner", "Deckare", "Noveller", "Romaner", "Lättläst"))
    return Title(title, author, year, holdings, medium=medium, audience=audience, sab=sab,
                 subjects=tuple(rng.sample(_THEMES, 2)), genre=genre,
                 publisher=rng.choice(_PUBLISHERS))


def _holdings(rng: random.Random) -> str:
    """Mostly Umeå with a copy here and there; now and then one small municipality's only."""
    if rng.random() < 0.1:
        return f"{rng.choice(SMALL_MUNICIPALITIES)}:1"
    parts = [f"umea:{rng.randint(1, 3)}"]
    parts += [f"{slug}:1" for slug in SMALL_MUNICIPALITIES if rng.random() < 0.2]
    return " ".join(parts)


def _fixed(title: Title, specialised: bool) -> str:
    """The 40 characters of 008."""
    fixed = [" "] * 40
    fixed[0:6] = "240101"
    fixed[6] = "s"
    fixed[7:11] = f"{title.year:04d}"
    fixed[15:18] = {"fin": "fi ", "eng": "xxk"}.get(title.language, "sw ")
    fixed[22] = "f" if specialised else {"children": "j", "youth": "d"}.get(title.audience, "e")
    if title.medium == "ebook":
        fixed[23] = "o"
    if title.medium == "book":
        fixed[33] = "1" if title.genre not in (None, "Kokböcker") else "0"
    fixed[35:38] = title.language
    fixed[39] = "d"
    return "".join(fixed)


def _title_field(title: Title) -> Field:
    statement = _statement(title.author)
    if title.subtitle:
        subfields = [Subfield("a", f"{title.title} :"), Subfield("b", f"{title.subtitle} /")]
    else:
        subfields = [Subfield("a", f"{title.title} /" if statement else title.title)]
    if statement:
        subfields.append(Subfield("c", statement))
    return _field("245", *subfields, indicators="10" if title.author else "00")


def _statement(author: str | None) -> str:
    """"Lindgren, Astrid" → "Astrid Lindgren"."""
    if not author:
        return ""
    surname, _, given = author.partition(", ")
    return f"{given} {surname}".strip()


def _field(tag: str, *subfields: Subfield, indicators: str = "  ") -> Field:
    return Field(tag, Indicators(indicators[0], indicators[1]), list(subfields))


def _isbn13(number: int) -> str:
    """A made-up Swedish ISBN-13 (978-91-…) with a valid check digit, one per ``number``."""
    body = f"97891{(number * 7919 + 350_000) % 10**7:07d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)
