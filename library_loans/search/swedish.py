"""Swedish language data and rules for the catalogue search: stop words, stemming, folding.

Everything here works on lowercased words with their diacritics. The order matters and is the
point of this module: stop words are recognised on the word as written (``för`` is a stop
word, ``for`` is not; ``man`` is one, ``män`` is not), and folding happens only afterwards,
so no stop word or stem is ever looked up in folded form.

The stemmer is conservative and inflectional only. It removes plural, definite and genitive
endings (``-orna -arna -erna -or -ar -er -en -et -an -na -n -a -e -s`` and their ``-s``
genitives), never derivational suffixes (``-het`` and ``-lighet``, ``-ning``, ``-else``,
``-dom``, ``-skap``), and leaves at least three letters. In order:

1. a table of irregular forms (``män``→``man``, ``böcker``→``bok``, ``bröder``→``broder``);
2. a listed word (the lexicon of base forms, or the protected words below that only look
   inflected: ``mars``, ``bröd``, ``vatten``, ``hemlighet``, month and weekday names) is its
   own stem, and so is a word ending in a derivational suffix;
3. an ending is removed when what remains is such a base form, directly or with what the
   ending took away restored: a final ``-a`` or ``-e`` (``flickor``→``flicka``,
   ``pojkar``→``pojke``), the vowel an ending swallows before l, r or n (``fåglar``→``fågel``,
   ``vattnet``→``vatten``, ``morgnar``→``morgon``) or a doubled consonant (``hemmet``→``hem``);
4. a compound keeps its modifiers as written and stems its head as in 1 to 3
   (``kokböckerna``→``kokbok``, ``tidningsartiklar``→``tidningsartikel``; ``mineralvatten``
   stays whole); an irregular head needs no known modifier (``tjänstemännen``→
   ``tjänsteman``);
5. otherwise only the endings that are seldom part of a word are removed: ``-orna -arna
   -erna -or -ar -er -en -an -a -e`` (and ``-ornas -arnas -ernas``), so an unknown noun still
   meets its own inflections (``ruta``, ``rutan``, ``rutor`` and ``rutorna`` all give
   ``rut``). Endings that are too often part of the word itself (``-et -n -r -s``:
   ``planet``, ``kurs``) are only ever removed in step 3, against the lexicon.

Stems need not be words, but every form of one noun meets in one stem, and that stem is the
lexicon's base form whenever the lexicon knows the noun. What it cannot do without knowing
the word: an unknown agent noun in ``-are`` meets two of its forms (``rörmokare`` and
``rörmokaren`` give ``rörmokar``, ``rörmokarna`` gives ``rörmok``), so the common ones are in
the lexicon.

Compounds are split against the same lexicon (``reference/lexicon.txt``): the longest known
modifier first, then an optional linking ``s``, ``e``, ``o`` or ``u`` (``dagsljus``,
``kyrkogård``, ``gatukök``), then a head that is a listed word or an inflection of one, or
that splits again. Every part has at least three letters; parts are returned as lexicon
words. A listed word is never split (``marsvin``, ``kärlek``, ``hemlighet`` are words, not
compounds), and derivational suffixes that happen to be words (``het``, ``lek``, ``dom``,
``bar``) are never accepted as heads.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib.resources import files

MIN_STEM = 3
"""The fewest letters a stem, a compound modifier or a compound head may have."""


def _word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a block of language data."""
    return frozenset(text.split())


STOP_WORDS = _word_set(
    """
    alla allt att av blev bli blir blivit dem den denna deras dess dessa det detta dig din
    dina ditt du där då efter ej eller en er era ert ett från för ha hade han hans har
    henne hennes hon honom hur här i icke ingen inom inte jag ju kan kunde man med mellan
    men mig min mina mitt mot mycket ni nu när någon något några och om oss på samma sedan
    sig sin sina skulle som så sådan sådana sådant till under upp ut utan vad var vara
    varför varit varje vars vart vem vi vid vilka vilkas vilken vilket vår våra vårt än
    är åt över
    """
)
"""Swedish function words, as written: checked before folding, never in folded form."""

PROTECTED = _word_set(
    """
    januari februari mars april maj juni juli augusti september oktober november december
    måndag tisdag onsdag torsdag fredag lördag söndag
    hemlighet kärlek vatten bröd socker fönster nummer teater monster mönster kloster
    hamster syster moster faster dotter vinter sommar finger åker öken botten lakan morgon
    afton examen fenomen planet paket motor doktor professor humor
    """
)
"""Words that look inflected but are not: stemming leaves them as they are."""

IRREGULAR_FORMS: dict[str, str] = {
    "man": "mannen mannens mans män männen männens",
    "broder": "bror brors brodern broderns broders bröder bröderna brödernas",
    "moder": "mor mors mödrar mödrarna mödrarnas",
    "fader": "far fars fadern faderns fäder fäderna fädernas",
    "dotter": "dottern dotterns döttrar döttrarna döttrarnas",
    "syster": "systern systerns systrar systrarna systrarnas",
    "son": "sonen sonens söner sönerna sönernas",
    "bok": "boken bokens böcker böckerna böckernas",
    "fot": "foten fotens fötter fötterna fötternas",
    "hand": "handen handens händer händerna händernas",
    "tand": "tanden tandens tänder tänderna tändernas",
    "land": "landet landets länder länderna ländernas",
    "stad": "staden stadens städer städerna städernas",
    "strand": "stranden strandens stränder stränderna strändernas",
    "brand": "branden brandens bränder bränderna brändernas",
    "natt": "natten nattens nätter nätterna nätternas",
    "rot": "roten rotens rötter rötterna rötternas",
    "bonde": "bonden bondens bönder bönderna böndernas",
    "mus": "musen musens möss mössen mössens",
    "lus": "lusen lusens löss lössen lössens",
    "gås": "gåsen gåsens gäss gässen gässens",
    "öga": "ögat ögats ögon ögonen ögonens",
    "öra": "örat örats öron öronen öronens",
    "ledamot": "ledamoten ledamöter ledamöterna ledamöternas",
    "sommar": "somrar somrarna somrarnas",
    "himmel": "himlen himlens himlar himlarna himlarnas",
    "nummer": "numret numrets numren numrens",
    "museum": "museet museets museer museerna museernas",
}
"""Irregular nouns: each base form with the inflected forms that cannot be derived from it."""

IRREGULAR: dict[str, str] = {
    form: base for base, forms in IRREGULAR_FORMS.items() for form in forms.split()
}
"""Every irregular form mapped to its stem (the base form)."""

DERIVATIONAL_SUFFIXES = ("het", "ning", "else", "dom", "skap")
"""Word-forming suffixes: a word ending in one is a base form and is never cut into."""

BLOCKED_HEADS: frozenset[str] = frozenset({"het", "lek", "dom", "bar"})
"""Suffixes that are also words: never the head of a compound (``kärlek`` is no kind of lek)."""

LINKING_LETTERS = ("", "s", "e", "o", "u")
"""What may join a compound's modifier to its head (``dagsljus``, ``kyrkogård``)."""

# Tried longest first. The plural genitives come with the plurals; "s" alone is a genitive.
_SUFFIXES = (
    "ornas", "arnas", "ernas", "orna", "arna", "erna", "rnas", "ens", "ets", "ans", "nas",
    "rna", "or", "ar", "er", "en", "et", "an", "na", "as", "es", "a", "e", "n", "r", "s",
)
_UNAMBIGUOUS_SUFFIXES = (
    "ornas", "arnas", "ernas", "orna", "arna", "erna", "or", "ar", "er", "en", "an", "a", "e",
)
_VOWELS = frozenset("aeiouyåäöéü")

# Letters that do not decompose into a base letter and a combining mark. Nordic æ and ø are
# the letters ä and ö, so they fold the same way.
_FOLDS = str.maketrans(
    {
        "æ": "a", "Æ": "A", "ø": "o", "Ø": "O", "ß": "ss", "ð": "d", "Ð": "D",
        "þ": "th", "Þ": "Th", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "œ": "oe", "Œ": "Oe",
    }
)


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The inflectional stem of a lowercased word; the word itself where it must not be cut."""
    if listed := _listed_stem(word):
        return listed
    if len(word) <= MIN_STEM:
        return word
    if compound := _compound_stem(word):
        return compound
    return next(_bases(word, _UNAMBIGUOUS_SUFFIXES), word)


@lru_cache(maxsize=1 << 16)
def split_compound(word: str) -> tuple[str, ...]:
    """The lexicon words a lowercased compound is made of, or () when it is not a compound."""
    known = _listed_stem(word)
    if len(word) < 2 * MIN_STEM or (known is not None and _is_listed(known)):
        return ()
    for modifier, boundary in _modifier_boundaries(word):
        rest = word[boundary:]
        if head := _head(rest):
            return (modifier, head)
        if parts := split_compound(rest):
            return (modifier, *parts)
    return ()


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """The word without diacritics (å→a, ä→a, ö→o, é→e, ü→u, æ→a, ø→o, …), case kept."""
    # Remembered, as the stems are: an import folds every word of every title, and words
    # recur. An ASCII word has nothing to fold.
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLDS))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _is_listed(word: str) -> bool:
    """Whether the word is a known base form: in the lexicon, protected, or irregular."""
    return word in _lexicon() or word in PROTECTED or word in IRREGULAR_FORMS


@cache
def _lexicon() -> frozenset[str]:
    """The lexicon of base forms, read once from the package's reference data."""
    text = files("library_loans.search").joinpath("reference", "lexicon.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=1 << 16)
def _listed_stem(word: str) -> str | None:
    """The stem of an irregular or listed word, or of an inflection of a listed word."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if _is_base_form(word):
        return word
    for base in _bases(word, _SUFFIXES):
        if known := next(filter(_is_base_form, _base_candidates(base)), None):
            return known
    return None


def _is_base_form(word: str) -> bool:
    """Whether stemming must leave the word alone: listed, or derived by a suffix."""
    return _is_listed(word) or any(
        word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM
        for suffix in DERIVATIONAL_SUFFIXES
    )


def _bases(word: str, suffixes: tuple[str, ...]) -> Iterator[str]:
    """What is left of the word after each ending it has, longest ending first."""
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            yield word[: -len(suffix)]


def _base_candidates(base: str) -> Iterator[str]:
    """The base forms a word may have had before an ending was added to ``base``."""
    yield base
    # Endings replace a final -a or -e: flick-or is flicka, pojk-ar is pojke.
    yield base + "a"
    yield base + "e"
    # Endings swallow the unstressed vowel before a final l, r or n: fågl-ar, vattn-et.
    if base[-1] in "lrn" and base[-2] not in _VOWELS:
        yield base[:-1] + "e" + base[-1]
        yield base[:-1] + "o" + base[-1]
    # A short vowel's consonant doubles before an ending: hemm-et is hem.
    if base[-1] == base[-2] and base[-1] not in _VOWELS:
        yield base[:-1]


@lru_cache(maxsize=1 << 16)
def _compound_stem(word: str) -> str | None:
    """A compound's stem: its modifiers as written, then the lexicon form of its head."""
    # Irregular forms are distinctive enough to trust whatever precedes them: tjänstemän.
    for boundary in range(MIN_STEM, len(word) - MIN_STEM + 1):
        if word[boundary:] in IRREGULAR:
            return word[:boundary] + IRREGULAR[word[boundary:]]
    for _modifier, boundary in _modifier_boundaries(word):
        rest = word[boundary:]
        if head := _head(rest) or _compound_stem(rest):
            return word[:boundary] + head
    return None


def _modifier_boundaries(word: str) -> Iterator[tuple[str, int]]:
    """Each way the word starts with a modifier: (its lexicon form, where the head begins)."""
    for end in range(len(word) - MIN_STEM, MIN_STEM - 1, -1):
        modifier = _modifier_form(word[:end])
        if modifier is None:
            continue
        for link in LINKING_LETTERS:
            boundary = end + len(link)
            if word.startswith(link, end) and len(word) - boundary >= MIN_STEM:
                yield modifier, boundary


def _modifier_form(prefix: str) -> str | None:
    """The lexicon word a compound's first part stands for (flick- is flicka, pojk- pojke)."""
    return next((form for form in (prefix, prefix + "a", prefix + "e") if _is_listed(form)), None)


def _head(rest: str) -> str | None:
    """The listed word the rest of a compound is a form of, if it may be a head."""
    base = _listed_stem(rest)
    return base if base and _is_listed(base) and base not in BLOCKED_HEADS else None
