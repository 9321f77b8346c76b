"""The public catalogue's pages: search with facets, a record and its copies, talking books.

No login is needed: records are the consortium's shared data, and copies are read in the
public catalogue's scope (:func:`library_loans.access.public_catalogue`). Every page works
with plain links and GET forms (shareable URLs); with script, htmx swaps the results in
place and the result count is announced from a live region.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from library_loans.access import SERVICE, public_catalogue
from library_loans.identity import current_patron
from library_loans.models import AUDIENCES, MEDIA_TYPES, BibRecord, Branch, Hold, Item, Loan
from library_loans.operations.rules import library_day
from library_loans.search.index import isbns_of
from library_loans.search.query import Facets, Found, SearchPage, search_records
from services.context import db_session
from services.i18n import swedish_sort_key
from services.tenancy.models import Municipality
from services.tenancy.operations import participant_ids

blueprint = Blueprint("library_catalogue", __name__, template_folder="../templates",
                      static_folder="../static", static_url_path="/catalogue-static")

PAGE_SIZE = 20
MAX_PAGE = 10_000 // PAGE_SIZE
"""The last page a search may ask for (the search API's offset limit, in pages)."""
LEGIMUS_URL = "https://www.legimus.se/"
"""The national talking-book library (MTM), where talking books are borrowed."""
LANGUAGES_SHOWN = 8
"""Languages listed before the rest are folded under "more"."""

TEXT_FIELDS = {"q": 200, "title": 200, "author": 200, "subject": 200, "isbn": 40}
"""The search's word fields and their longest accepted length."""
FILTERS = ("media_type", "language", "audience", "available_in")

MEDIA_TYPE_NAMES = {
    "book": _l("Bok"), "ebook": _l("E-bok"), "audiobook": _l("Ljudbok"),
    "talking_book": _l("Talbok"), "film": _l("Film"), "music": _l("Musik"),
    "periodical": _l("Tidskrift"), "game": _l("Spel"), "other": _l("Övrigt"),
}
AUDIENCE_NAMES = {"adult": _l("Vuxna"), "youth": _l("Unga"), "children": _l("Barn")}
FIELD_NAMES = {
    "q": _l("Sökord"), "title": _l("Titel"), "author": _l("Författare"),
    "subject": _l("Ämne"), "isbn": _l("ISBN"), "media_type": _l("Medietyp"),
    "language": _l("Språk"), "audience": _l("Målgrupp"), "available_in": _l("Inne nu i"),
    "page": _l("Sida"),
}
_SPECIAL_LANGUAGES = {"smi": _l("samiska"), "mul": _l("flera språk"),
                      "und": _l("obestämt språk"), "zxx": _l("inget språkligt innehåll")}
# MARC 21 language codes (ISO 639-2/B) whose names Babel knows by their two-letter code.
_MARC_LANGUAGES = {
    "alb": "sq", "amh": "am", "ara": "ar", "arm": "hy", "baq": "eu", "bos": "bs", "bul": "bg",
    "chi": "zh", "cze": "cs", "dan": "da", "dut": "nl", "eng": "en", "est": "et", "fin": "fi",
    "fre": "fr", "geo": "ka", "ger": "de", "gre": "el", "heb": "he", "hin": "hi", "hrv": "hr",
    "hun": "hu", "ice": "is", "ita": "it", "jpn": "ja", "kor": "ko", "kur": "ku", "lat": "la",
    "lav": "lv", "lit": "lt", "mac": "mk", "may": "ms", "nno": "nn", "nob": "nb", "nor": "no",
    "per": "fa", "pol": "pl", "por": "pt", "rum": "ro", "rus": "ru", "slo": "sk", "slv": "sl",
    "sme": "se", "som": "so", "spa": "es", "srp": "sr", "swe": "sv", "tha": "th", "tir": "ti",
    "tur": "tr", "ukr": "uk", "urd": "ur", "vie": "vi", "yid": "yi",
}


@dataclass(frozen=True)
class CatalogueSearch:
    """What a patron asked the catalogue: words per field, filters and the page wanted."""

    words: dict[str, str]
    filters: dict[str, str]
    page: int = 1

    @property
    def asked(self) -> bool:
        """Whether there is anything to search for."""
        return any(self.words.values()) or bool(self.filters)

    @property
    def advanced(self) -> bool:
        """Whether a field of the advanced search is in use (its disclosure starts open)."""
        return any(self.words.get(name) for name in TEXT_FIELDS if name != "q")

    def args(self, **changes: str | int | None) -> dict[str, str | int]:
        """This search's URL parameters with ``changes`` (None leaves a parameter out)."""
        current: dict[str, str | int | None] = {**self.words, **self.filters, "page": self.page}
        current.update(changes)
        return {name: value for name, value in current.items()
                if value not in (None, "") and not (name == "page" and value == 1)}


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet, as a link that adds the filter (or, when chosen, removes it)."""

    label: str
    count: int
    url: str
    selected: bool


@dataclass(frozen=True)
class FacetGroup:
    """A facet with its values; those past ``shown`` are folded away."""

    name: str
    title: str
    values: list[FacetValue]
    shown: int = 1000


@dataclass(frozen=True)
class PageLink:
    """A link of the pager; ``number`` None is a gap."""

    number: int | None
    url: str = ""


@dataclass(frozen=True)
class Results:
    """What a search page shows: one page of results, the facets and the pager."""

    page: SearchPage
    first: int
    last: int
    pages: int
    facets: list[FacetGroup]
    chosen: list[FacetValue]
    pager: list[PageLink]
    previous_url: str | None
    next_url: str | None


@dataclass(frozen=True)
class Copy:
    """A copy as the record page lists it: where on the shelf and what it is doing."""

    call_number: str
    shelf: str
    status: str
    due_on: date | None
    destination: str | None


@dataclass
class BranchCopies:
    """A branch's copies of one record."""

    name: str
    copies: list[Copy] = field(default_factory=list)

    @property
    def available(self) -> int:
        """Copies on the shelf now."""
        return sum(copy.status == "available" for copy in self.copies)


@dataclass
class MunicipalityCopies:
    """A municipality's branches that have copies of one record."""

    slug: str
    name: str
    branches: list[BranchCopies] = field(default_factory=list)

    @property
    def available(self) -> int:
        """Copies on a shelf in the municipality now."""
        return sum(branch.available for branch in self.branches)

    @property
    def total(self) -> int:
        """Copies the municipality's branches have (withdrawn ones not counted)."""
        return sum(len(branch.copies) for branch in self.branches)


@blueprint.context_processor
def catalogue_context() -> dict[str, Any]:
    """What every catalogue template uses: the patron, the labels and the name helpers."""
    return {
        "patron": current_patron(),
        "media_type_names": MEDIA_TYPE_NAMES,
        "audience_names": AUDIENCE_NAMES,
        "field_names": FIELD_NAMES,
        "language_name": language_name,
        "format_day": _format_day,
        "legimus_url": LEGIMUS_URL,
    }


@blueprint.route("/")
def home() -> str:
    """The catalogue's start: one search box, and the way to talking books."""
    names = list(_library_places(db_session()).values())
    return render_template("library_loans/catalogue/home.html",
                           places=format_list(names, locale=str(get_locale() or "sv")),
                           search=CatalogueSearch({}, {}), errors={})


@blueprint.route("/search")
def search() -> tuple[str, int]:
    """Search results with facets and paging; bad parameters are named on a 422 page."""
    return _search_page("library_loans/catalogue/search.html", "library_catalogue.search",
                        talking_book=None, form_fields=tuple(TEXT_FIELDS))


@blueprint.route("/talking-books")
def talking_books() -> tuple[str, int]:
    """Talking books (DAISY) only: what they are, who may borrow them, and a search."""
    return _search_page("library_loans/catalogue/talking_books.html",
                        "library_catalogue.talking_books", talking_book=True,
                        form_fields=("q",))


@blueprint.route("/records/<uuid:record_id>")
def record(record_id: uuid.UUID) -> str:
    """A record's full description and its copies per municipality and branch."""
    session = db_session()
    found = session.get(BibRecord, record_id)
    if found is None:
        abort(404)
    holdings = _holdings(session, found.id)
    return render_template(
        "library_loans/catalogue/record.html", record=found, holdings=holdings,
        isbns=isbns_of(session, [found.id]).get(found.id, []),
        copies=sum(place.total for place in holdings),
        available=sum(place.available for place in holdings),
        waiting=_waiting(session, found.id),
    )


def language_name(code: str | None) -> str:
    """The name of a MARC language code in the page's language ("swe" → "svenska")."""
    if not code:
        return ""
    if code in _SPECIAL_LANGUAGES:
        return str(_SPECIAL_LANGUAGES[code])
    locale = Locale.parse(str(get_locale() or "sv"))
    return locale.languages.get(_MARC_LANGUAGES.get(code, code)) or code


def read_search(args: Mapping[str, str], places: Mapping[str, str]
                ) -> tuple[CatalogueSearch, dict[str, str]]:
    """The search in ``args``, and a message per field that is not acceptable."""
    errors: dict[str, str] = {}
    words = {name: args.get(name, "").strip() for name in TEXT_FIELDS}
    for name, longest in TEXT_FIELDS.items():
        if len(words[name]) > longest:
            errors[name] = _("Högst %(count)s tecken.", count=longest)
            words[name] = words[name][:longest]
    filters = {name: args[name].strip() for name in FILTERS if args.get(name, "").strip()}
    allowed = {"media_type": MEDIA_TYPES, "audience": AUDIENCES, "available_in": places}
    for name, value in filters.items():
        known = allowed.get(name)
        if known is not None and value not in known:
            errors[name] = _("”%(value)s” finns inte att välja.", value=value)
        elif name == "language" and not (len(value) == 3 and value.isascii()
                                         and value.isalpha() and value.islower()):
            errors[name] = _("Ange en språkkod med tre små bokstäver, till exempel swe.")
    page = 1
    raw_page = args.get("page", "1").strip() or "1"
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        errors["page"] = _("Ange ett sidnummer från 1 till %(last)s.", last=MAX_PAGE)
    else:
        page = int(raw_page)
    shown = {name: value for name, value in filters.items() if name not in errors}
    return CatalogueSearch(words, shown, page), errors


def _search_page(template: str, endpoint: str, *, talking_book: bool | None,
                 form_fields: tuple[str, ...]) -> tuple[str, int]:
    session = db_session()
    places = _library_places(session)
    asked, errors = read_search(request.args, places)
    results = None
    if not errors and (asked.asked or talking_book):
        found = search_records(session, **asked.words, **asked.filters,
                               talking_book=talking_book, limit=PAGE_SIZE,
                               offset=(asked.page - 1) * PAGE_SIZE)
        results = _results(found, asked, endpoint, places)
    context = {"search": asked, "errors": errors, "results": results, "places": places,
               "endpoint": endpoint, "form_fields": form_fields, "summary": _summary,
               "reserve_url": _reserve_url}
    return render_template(template, **context), 422 if errors else 200


def _results(found: SearchPage, asked: CatalogueSearch, endpoint: str,
             places: Mapping[str, str]) -> Results:
    pages = max(1, -(-found.total // PAGE_SIZE))
    first = (asked.page - 1) * PAGE_SIZE + 1
    facets = _facet_groups(found.facets, asked, endpoint, places)
    chosen = [value for group in facets for value in group.values if value.selected]

    def page_url(number: int) -> str:
        return url_for(endpoint, **asked.args(page=number))

    return Results(
        page=found, first=first, last=first + len(found.results) - 1, pages=pages,
        facets=facets, chosen=chosen, pager=_pager(asked.page, min(pages, MAX_PAGE), page_url),
        previous_url=page_url(asked.page - 1) if asked.page > 1 else None,
        next_url=page_url(asked.page + 1) if asked.page < min(pages, MAX_PAGE) else None,
    )


def _facet_groups(facets: Facets, asked: CatalogueSearch, endpoint: str,
                  places: Mapping[str, str]) -> list[FacetGroup]:
    """The facets to show: media type (not on the talking-book page), language, audience, where."""
    labels = {
        "media_type": lambda value: str(MEDIA_TYPE_NAMES.get(value, value)),
        "language": language_name,
        "audience": lambda value: str(AUDIENCE_NAMES.get(value, value)),
        "available_in": lambda value: places.get(value, value),
    }
    groups = []
    for name in FILTERS:
        if name == "media_type" and endpoint.endswith("talking_books"):
            continue
        counts = dict(getattr(facets, name))
        chosen = asked.filters.get(name)
        if chosen is not None:
            counts.setdefault(chosen, 0)
        values = [FacetValue(labels[name](value), count,
                             url_for(endpoint, **asked.args(**{name: None if value == chosen
                                                                else value, "page": None})),
                             value == chosen)
                  for value, count in counts.items()]
        if values:
            shown = LANGUAGES_SHOWN if name == "language" else len(values)
            groups.append(FacetGroup(name, str(FIELD_NAMES[name]), values, shown))
    return groups


def _pager(current: int, pages: int, page_url: Callable[[int], str]) -> list[PageLink]:
    """The first and last page, and two either side of the current one, with gaps."""
    numbers = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    links: list[PageLink] = []
    for number in numbers:
        if links and links[-1].number is not None and number - links[-1].number > 1:
            links.append(PageLink(None))
        links.append(PageLink(number, page_url(number)))
    return links if pages > 1 else []


def _summary(found: Found, places: Mapping[str, str]) -> dict[str, Any]:
    """Where a result is on the shelf now, by municipality name, and how many copies it has."""
    available_in: dict[str, None] = {}
    for copies in found.availability:
        if copies.available:
            available_in[places.get(copies.municipality, copies.municipality)] = None
    return {"available_in": list(available_in),
            "copies": sum(copies.total for copies in found.availability)}


def _reserve_url(record_id: uuid.UUID) -> str:
    return url_for("library_patron.reserve", record_id=record_id)


def _library_places(session: Session) -> dict[str, str]:
    """The library municipalities' slugs and names, in Swedish order of names."""
    rows = session.execute(select(Municipality.slug, Municipality.name).where(
        Municipality.id.in_(participant_ids(session, SERVICE)))).all()
    return dict(sorted(((slug, name) for slug, name in rows),
                       key=lambda row: swedish_sort_key(row[1])))


def _holdings(session: Session, record_id: uuid.UUID) -> list[MunicipalityCopies]:
    """The record's copies where they are now, by municipality and branch in Swedish order.

    A copy on loan shows its due date (never who borrowed it); one in transit, where to.
    """
    destination = aliased(Branch)
    with public_catalogue(session):
        rows = session.execute(
            select(Municipality.slug, Municipality.name, Branch.id, Branch.name,
                   Item.call_number, Item.shelf, Item.status, Loan.due_at,
                   destination.name)
            .select_from(Item)
            .join(Branch, (Branch.municipality_id == Item.location_municipality_id)
                  & (Branch.id == Item.location_branch_id))
            .join(Municipality, Municipality.id == Item.location_municipality_id)
            .outerjoin(Loan, (Loan.municipality_id == Item.municipality_id)
                       & (Loan.item_id == Item.id) & Loan.returned_at.is_(None))
            .outerjoin(destination, (destination.municipality_id == Item.transit_municipality_id)
                       & (destination.id == Item.transit_branch_id))
            .where(Item.record_id == record_id, Item.status != "withdrawn")
        ).all()
    places: dict[str, MunicipalityCopies] = {}
    branches: dict[uuid.UUID, BranchCopies] = {}
    for slug, place, branch_id, branch, call_number, shelf, status, due_at, to in sorted(
            rows, key=lambda row: (swedish_sort_key(row[1]), swedish_sort_key(row[3]),
                                   swedish_sort_key(row[4]), row[6] != "available")):
        municipality = places.setdefault(slug, MunicipalityCopies(slug, place))
        if branch_id not in branches:
            branches[branch_id] = BranchCopies(branch)
            municipality.branches.append(branches[branch_id])
        branches[branch_id].copies.append(Copy(
            call_number, shelf, status, library_day(due_at) if due_at else None, to))
    return list(places.values())


def _waiting(session: Session, record_id: uuid.UUID) -> int:
    """How many holds on the title wait for a copy (a count; nothing about who)."""
    with public_catalogue(session):
        return session.scalar(select(func.count()).select_from(Hold).where(
            Hold.record_id == record_id, Hold.status == "waiting")) or 0


def _format_day(day: date) -> str:
    return format_date(day, "d MMMM yyyy", locale=str(get_locale() or "sv"))

