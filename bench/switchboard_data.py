"""A generated switchboard directory the size of the whole region twice over, loaded in bulk.

50,000 contacts, 8,000 units and 20,000 keywords by default, split between the switchboard
municipalities by population: Swedish names as SCB counts them most common (with the
Karlsson/Carlsson kind of spelling variant and a few nicknames), unit trees of förvaltning ›
avdelning › enhet, numbers unique and in each municipality's own series, keywords composed
from matter stems and qualifiers, a few people away with a referral and some who have left.
The same seed gives the same directory.

Rows go in with SQLAlchemy Core (``insert(table)`` with lists of dicts, executemany) through
a tenant session inside a scope of the municipalities, so row-level security admits them as
it admits the app's own writes. The session must be the database owner's: each table is
analysed as soon as it is loaded, which only the owner may do. Core inserts bypass the flush
hooks, so the directory revision of every municipality is raised here at the end, as the
hooks would.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services import clock
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.operations import participants
from switchboard.models import (
    Absence,
    Contact,
    DirectoryRevision,
    Keyword,
    OpeningHours,
    PhoneNumber,
    Unit,
)
from switchboard.numbers import format_number


def _words(text: str) -> list[str]:
    """A table of names written as one string, for reading: "Anna Eva" → ["Anna", "Eva"]."""
    return text.split()


@dataclass(frozen=True)
class DirectorySize:
    """How big a directory to generate, over all municipalities together."""

    contacts: int
    units: int
    keywords: int


REGION_TWICE = DirectorySize(contacts=50_000, units=8_000, keywords=20_000)
QUICK = DirectorySize(contacts=2_000, units=320, keywords=800)

# slug: (e-mail domain, area code without the trunk 0, subscriber prefixes, subscriber digits)
SERIES = {
    "umea": ("umea.se", "90", ("16", "15", "14", "13"), 6),
    "bjurholm": ("bjurholm.se", "932", ("14", "15", "16"), 5),
    "nordmaling": ("nordmaling.se", "930", ("14", "15", "16"), 5),
    "robertsfors": ("robertsfors.se", "934", ("14", "15", "16"), 5),
    "vindeln": ("vindeln.se", "933", ("14", "15", "16"), 5),
    "vannas": ("vannas.se", "935", ("14", "15", "16"), 5),
    "ornskoldsvik": ("ornskoldsvik.se", "660", tuple(str(n) for n in range(75, 90)), 5),
}
PLACES = {
    "umea": ("Umeå", "Holmsund", "Hörnefors", "Sävar", "Obbola", "Tavelsjö", "Teg", "Ersboda",
             "Ålidhem", "Mariehem", "Backen", "Röbäck", "Innertavle", "Haga", "Grisbacka"),
    "bjurholm": ("Bjurholm", "Agnäs", "Balsjö", "Örträsk", "Lögda"),
    "nordmaling": ("Nordmaling", "Rundvik", "Lögdeå", "Gräsmyr", "Levar", "Håknäs"),
    "robertsfors": ("Robertsfors", "Bygdeå", "Ånäset", "Kusmark", "Sikeå", "Ratan"),
    "vindeln": ("Vindeln", "Hällnäs", "Granö", "Åmsele", "Tvärålund", "Vormsele"),
    "vannas": ("Vännäs", "Vännäsby", "Pengsjö", "Tväråbäck", "Hålland"),
    "ornskoldsvik": ("Örnsköldsvik", "Bredbyn", "Husum", "Bjästa", "Gideå", "Köpmanholmen",
                     "Domsjö", "Själevad", "Trehörningsjö", "Ultrå", "Gullänget"),
}
# SCB's most common names, most common first; spelling variants sit further down the lists.
FAMILY_NAMES = _words(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
    "Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson Olofsson "
    "Lindström Lindqvist Lindgren Berg Axelsson Bergström Lundberg Lind Lundgren Lundqvist "
    "Mattsson Berglund Fredriksson Sandberg Henriksson Forsberg Sjöberg Wallin Ali Engström "
    "Mohamed Eklund Danielsson Lundin Håkansson Björk Bergman Gunnarsson Holm Wikström "
    "Samuelsson Isaksson Fransson Bergqvist Nyström Holmberg Arvidsson Löfgren Söderberg Nyberg "
    "Blomqvist Claesson Nordström Mårtensson Lundström Ahmed Viklund Björklund Eliasson Pålsson "
    "Berggren Sandström Lund Nordin Ström Åberg Hermansson Ekström Holmgren Sundberg Hedlund "
    "Marklund Lundmark Öhman Burman Nordlund Sundqvist Hägglund Backman Westerlund Granberg "
    "Åström Näslund Byström Edlund Hörnqvist Öhlund Granlund Sehlstedt Renström Öberg "
    "Carlsson Petterson Lindkvist Bergkvist Sundkvist Blomkvist Jacobsson Ohlsson Gustavsson "
    "Mattson Nilson Jonson Carlson Lundkvist"
)
WOMEN = _words(
    "Anna Eva Maria Karin Sara Kristina Lena Emma Kerstin Ingrid Marie Malin Jenny Birgitta "
    "Hanna Inger Linnéa Elin Sofia Annika Susanne Monica Ulla Johanna Katarina Elisabeth Helena "
    "Ida Camilla Linda Åsa Ulrika Margareta Julia Therese Cecilia Agneta Frida Gunilla Anneli "
    "Märta Siv Britt Ebba Maja Wilma Alva Astrid Elsa Christina Carina Asa Lisa Fatima"
)
MEN = _words(
    "Lars Mikael Anders Johan Erik Per Karl Peter Thomas Jan Daniel Fredrik Hans Andreas Stefan "
    "Mohammed Mats Marcus Magnus Jonas Bengt Oskar Nils Alexander Sven Bo Leif Patrik Björn "
    "Göran Niklas Henrik Kent Ulf Christer Olof Håkan Gunnar Emil Viktor Jörgen Robert Tomas "
    "Martin Simon Kjell Rolf Åke Ola Filip Elias Hugo Lucas Joakim Oscar Michael Carl"
)
NICKNAMES = {"Margareta": ("Maggan", "Greta"), "Lars": ("Lasse",), "Kristina": ("Kicki",),
             "Birgitta": ("Gittan", "Bigge"), "Elisabeth": ("Lisbeth",), "Joakim": ("Jocke",),
             "Karl": ("Kalle",), "Per": ("Pelle",), "Hans": ("Hasse",), "Thomas": ("Tompa",),
             "Katarina": ("Kattis",), "Christina": ("Stina",)}
STREETS = _words("Storgatan Skolgatan Kyrkogatan Järnvägsgatan Nygatan Kungsgatan "
                 "Parkvägen Björkvägen Tallvägen Granvägen Sjövägen Älvvägen Ängsvägen "
                 "Skogsvägen Åkervägen")
PRESCHOOL_NAMES = _words("Solrosen Blåklockan Myran Ekorren Trollet Regnbågen Lärkan "
                         "Näckrosen Tallbacken Vitsippan Humlan Ugglan")

# Förvaltning: (its name, its avdelningar, kinds of enhet ({place}/{name}), titles there)
BRANCHES = {
    "klf": ("Kommunledningsförvaltningen",
            ("Kontaktcenter", "Ekonomi", "HR", "Kommunikation", "Kansli", "IT", "Upphandling"),
            ("Servicecenter {place}", "Medborgarkontor {place}"),
            ("Kommunvägledare", "Ekonom", "HR-specialist", "Kommunikatör", "Nämndsekreterare",
             "IT-tekniker", "Upphandlare", "Registrator")),
    "sbf": ("Samhällsbyggnadsförvaltningen",
            ("Bygglov", "Miljö och hälsoskydd", "Planering", "Lantmäteri", "Gator och parker",
             "Vatten och avlopp", "Renhållning"),
            ("Driftområde {place}", "Återvinningscentral {place}"),
            ("Bygglovshandläggare", "Byggnadsinspektör", "Miljöinspektör", "Planarkitekt",
             "Lantmätare", "Trafikingenjör", "VA-ingenjör", "Driftledare", "Parkarbetare")),
    "bou": ("Barn- och utbildningsförvaltningen",
            ("Grundskola", "Förskola", "Elevhälsa", "Skolskjuts", "Gymnasium och vuxenutbildning"),
            ("{place} skola", "Förskolan {name}", "{place} fritidshem"),
            ("Lärare", "Förskollärare", "Barnskötare", "Rektor", "Skolsköterska", "Kurator",
             "Fritidspedagog", "Skolskjutssamordnare", "Studie- och yrkesvägledare")),
    "soc": ("Socialförvaltningen",
            ("Försörjningsstöd", "Barn och familj", "Vuxen", "Familjerätt", "Mottagning"),
            ("Familjecentral {place}", "Öppenvård {place}"),
            ("Socialsekreterare", "Enhetschef", "Familjebehandlare", "Handläggare",
             "Budget- och skuldrådgivare")),
    "vof": ("Vård- och omsorgsförvaltningen",
            ("Hemtjänst", "Särskilt boende", "LSS", "Biståndshandläggning", "Färdtjänst"),
            ("Hemtjänst {place}", "Äldreboendet {name}", "LSS-boende {place}"),
            ("Undersköterska", "Sjuksköterska", "Biståndshandläggare", "Enhetschef",
             "Arbetsterapeut", "Fysioterapeut", "Färdtjänsthandläggare")),
    "kof": ("Kultur- och fritidsförvaltningen",
            ("Bibliotek", "Idrott och fritid", "Kulturskola", "Fritidsgårdar"),
            ("{place} bibliotek", "{place} simhall", "Fritidsgården {place}"),
            ("Bibliotekarie", "Fritidsledare", "Kulturskolelärare", "Badmästare")),
}
# Matter stem: (synonyms, the förvaltning that handles it)
MATTERS = {
    "bygglov": (("bygganmälan", "rivningslov"), "sbf"), "avlopp": (("enskilt avlopp",), "sbf"),
    "snöröjning": (("plogning", "halkbekämpning"), "sbf"), "sophämtning": (("avfall",), "sbf"),
    "parkering": (("p-tillstånd",), "sbf"), "gatubelysning": (("belysning",), "sbf"),
    "detaljplan": (("planbesked",), "sbf"), "strandskydd": ((), "sbf"),
    "livsmedelskontroll": (("livsmedel",), "sbf"), "nybyggnadskarta": (("karta",), "sbf"),
    "serveringstillstånd": (("alkoholtillstånd",), "sbf"), "vattenläcka": (("vatten",), "sbf"),
    "försörjningsstöd": (("ekonomiskt bistånd", "socialbidrag"), "soc"),
    "orosanmälan": (("anmälan barn",), "soc"), "familjerätt": (("vårdnad",), "soc"),
    "skuldrådgivning": (("budgetrådgivning",), "soc"), "missbruk": (("beroende",), "soc"),
    "färdtjänst": (("riksfärdtjänst",), "vof"), "hemtjänst": (("hemhjälp",), "vof"),
    "äldreboende": (("särskilt boende",), "vof"), "trygghetslarm": (("larm",), "vof"),
    "personlig assistans": (("lss",), "vof"), "bostadsanpassning": (("anpassningsbidrag",), "vof"),
    "skolskjuts": (("skolbuss",), "bou"), "förskoleplats": (("barnomsorg", "dagis"), "bou"),
    "fritids": (("fritidshem",), "bou"), "skolmat": (("matsedel",), "bou"),
    "modersmål": ((), "bou"), "vuxenutbildning": (("sfi", "komvux"), "bou"),
    "bibliotek": (("lånekort",), "kof"), "simhall": (("badhus",), "kof"),
    "föreningsbidrag": (("bidrag förening",), "kof"), "lokalbokning": (("hyra lokal",), "kof"),
    "faktura": (("räkning",), "klf"), "allmänna handlingar": (("diarium",), "klf"),
    "vigsel": (("borgerlig vigsel",), "klf"), "lön": (("lönekontor",), "klf"),
    "upphandling": (("anbud",), "klf"), "felanmälan": (("fel",), "klf"),
}
QUALIFIERS = _words("ansökan avgift blankett frågor överklagande tillsyn klagomål rådgivning "
                    "beslut handläggningstid e-tjänst ändring uppsägning förlängning intyg kö "
                    "regler information besök tider")
ABSENCE_REASONS = {"calendar": ("Möte", "Utbildning", "Kurs"), "manual": ("Sjuk", "Ledig"),
                   "sync": ("Semester", "Föräldraledig")}
OFFICE_HOURS = [(day, time(8), time(16)) for day in range(5)]
ID_EPOCH_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)


@dataclass
class GeneratedDirectory:
    """What was generated: rows per table, and the material a benchmark draws queries from."""

    rows: Counter[str] = field(default_factory=Counter)
    people: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)
    """(municipality slug, given name, family name, nicknames) of every person."""
    titles: set[str] = field(default_factory=set)
    keywords: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    numbers: list[tuple[str, str]] = field(default_factory=list)
    """(E.164, extension) of every work number."""


def populate(session: Session, size: DirectorySize = REGION_TWICE, *,
             seed: int = 2480) -> GeneratedDirectory:
    """Insert a generated directory for every switchboard municipality (as owner; uncommitted)."""
    municipalities = [m for m in participants(session, "switchboard") if m.slug in SERIES]
    weights = [m.population_in(9999) or 1 for m in municipalities]
    generated = GeneratedDirectory()
    rng = random.Random(seed)
    ids = _Ids()
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in _INSERT_ORDER}
    with tenant_scope(TenantScope.of(m.id for m in municipalities)):
        taken = set(session.scalars(select(PhoneNumber.e164).where(PhoneNumber.e164.is_not(None))))
        words = set(session.scalars(select(Keyword.word)))
        for municipality, units, contacts, keywords in zip(
                municipalities, _split(size.units, weights), _split(size.contacts, weights),
                _split(size.keywords, weights), strict=True):
            _Municipality(municipality.id, municipality.slug, rng, ids, tables, generated,
                          taken, words).build(units, contacts, keywords)
        for name in _INSERT_ORDER:
            table: Table = _TABLES[name]
            if tables[name]:
                session.execute(insert(table), tables[name])
                # Without statistics PostgreSQL checks each foreign key through the wrong
                # index (the first one on municipality_id) and the next table's load turns
                # quadratic; ANALYZE needs the owner, hence the owner's session.
                session.execute(text(f"ANALYZE {table.name}"))
            generated.rows[table.name] += len(tables[name])
        _raise_revisions(session, [m.id for m in municipalities], ids)
    return generated


class _Ids:
    """UUIDv7-shaped ids from a fixed epoch and a counter: sortable, and the same every run."""

    def __init__(self) -> None:
        self.counter = 0

    def __call__(self) -> uuid.UUID:
        self.counter += 1
        return uuid.UUID(int=(ID_EPOCH_MS << 80) | (0x7 << 76) | (0b10 << 62) | self.counter)


@dataclass
class _Municipality:
    """The rows of one municipality's generated directory."""

    municipality_id: uuid.UUID
    slug: str
    rng: random.Random
    new_id: _Ids
    tables: dict[str, list[dict[str, Any]]]
    generated: GeneratedDirectory
    taken_numbers: set[str]
    taken_words: set[str]
    units: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    """Unit ids by the förvaltning they belong to."""
    staff: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    """Person ids by unit."""
    unit_names: dict[uuid.UUID, str] = field(default_factory=dict)
    free_numbers: list[str] = field(default_factory=list)

    def build(self, units: int, contacts: int, keywords: int) -> None:
        """Generate units, then the people and functions in them, then keywords."""
        self.free_numbers = self._number_pool()
        self._units(max(units, 2 * len(BRANCHES)))
        self._contacts(contacts)
        self._keywords(keywords)

    def _units(self, count: int) -> None:
        places = PLACES[self.slug]
        branch_keys = list(BRANCHES)
        sections = max(len(BRANCHES), count // 6)
        names: Counter[str] = Counter()
        for key in branch_keys:
            self.units[key] = [self._unit(BRANCHES[key][0], "forvaltning", None, places[0])]
        for index in range(sections - len(BRANCHES)):
            key = branch_keys[index % len(branch_keys)]
            name = self._unique(names, self.rng.choice(BRANCHES[key][1]))
            self.units[key].append(self._unit(name, "avdelning", self.units[key][0], places[0]))
        for _ in range(count - sections):
            key = self.rng.choice(branch_keys)
            place = self.rng.choice(places)
            kind = self.rng.choice(BRANCHES[key][2])
            name = self._unique(names, kind.format(place=place,
                                                  name=self.rng.choice(PRESCHOOL_NAMES)))
            parent = self.rng.choice(self.units[key][1:] or self.units[key])
            self.units[key].append(self._unit(name, "enhet", parent, place))

    def _unit(self, name: str, level: str, parent_id: uuid.UUID | None, place: str) -> uuid.UUID:
        unit_id = self.new_id()
        self.unit_names[unit_id] = name
        now = clock.now()
        self.tables[level].append({
            "municipality_id": self.municipality_id, "id": unit_id, "parent_id": parent_id,
            "name": name, "level": level, "email": "", "info": "",
            "visiting_address": f"{self.rng.choice(STREETS)} {self.rng.randint(1, 60)}, {place}",
            "created_at": now, "updated_at": now})
        if level != "enhet" or self.rng.random() < 0.4:
            self._number(unit_id=unit_id, kind="work")
            for weekday, opens, closes in OFFICE_HOURS:
                self.tables["hours"].append({
                    "municipality_id": self.municipality_id, "id": self.new_id(),
                    "unit_id": unit_id, "weekday": weekday, "opens": opens, "closes": closes})
        return unit_id

    def _contacts(self, count: int) -> None:
        domain = SERIES[self.slug][0]
        mailboxes: Counter[str] = Counter()
        branch_keys = list(BRANCHES)
        people: list[dict[str, Any]] = []
        for index in range(count):
            key = self.rng.choice(branch_keys)
            unit_id = self.rng.choice(self.units[key])
            if index % 30 == 0:
                contact = self._contact("function", f"Expedition {self.unit_names[unit_id]}",
                                        unit_id, {})
                self._number(contact_id=contact["id"], kind="work")
                continue
            woman = self.rng.random() < 0.55
            given = _pick(self.rng, WOMEN if woman else MEN)
            family = _pick(self.rng, FAMILY_NAMES)
            mailbox = f"{_mailbox(given)}.{_mailbox(family)}"
            mailboxes[mailbox] += 1
            if mailboxes[mailbox] > 1:
                mailbox += str(mailboxes[mailbox])
            nicknames = NICKNAMES.get(given, ()) if self.rng.random() < 0.3 else ()
            title = self.rng.choice(BRANCHES[key][3])
            contact = self._contact("person", f"{given} {family}", unit_id, {
                "given_name": given, "family_name": family, "nicknames": list(nicknames),
                "title": title, "email": f"{mailbox}@{domain}",
                "room": f"{self.rng.choice('ABCD')}{self.rng.randint(100, 450)}"
                if self.rng.random() < 0.5 else ""})
            people.append(contact)
            self.staff.setdefault(unit_id, []).append(contact["id"])
            self.generated.people.append((self.slug, given, family, nicknames))
            self.generated.titles.add(title)
            if self.rng.random() < 0.85:
                self._number(contact_id=contact["id"], kind="work")
            if self.rng.random() < 0.4:
                self._number(contact_id=contact["id"], kind="mobile")
        self._absences_and_leavers(people)

    def _contact(self, kind: str, name: str, unit_id: uuid.UUID,
                 fields: dict[str, Any]) -> dict[str, Any]:
        now = clock.now()
        contact = {"municipality_id": self.municipality_id, "id": self.new_id(), "kind": kind,
                   "name": name, "given_name": "", "family_name": "", "nicknames": [],
                   "title": "", "email": "", "room": "", "info": "", "unit_id": unit_id,
                   "left_on": None, "successor_id": None, "created_at": now, "updated_at": now,
                   **fields}
        self.tables["contacts"].append(contact)
        return contact

    def _absences_and_leavers(self, people: list[dict[str, Any]]) -> None:
        now = clock.now()
        for person in self.rng.sample(people, len(people) // 50):
            colleagues = [c for c in self.staff[person["unit_id"]] if c != person["id"]]
            source = self.rng.choice(list(ABSENCE_REASONS))
            starts = now - timedelta(hours=self.rng.randint(1, 72))
            self.tables["absences"].append({
                "municipality_id": self.municipality_id, "id": self.new_id(),
                "contact_id": person["id"], "source": source,
                "reason": self.rng.choice(ABSENCE_REASONS[source]), "starts_at": starts,
                "returns_at": now + timedelta(hours=self.rng.randint(2, 240)), "set_at": starts,
                "set_by": "generated", "referral_note": "", "ended_at": None,
                "referral_contact_id": self.rng.choice(colleagues) if colleagues else None})
        # Leavers go in after everyone else: their successors must exist before them.
        leavers = self.rng.sample(people, len(people) // 100)
        leaving = {person["id"] for person in leavers}
        for person in leavers:
            colleagues = [c for c in self.staff[person["unit_id"]] if c not in leaving]
            person["left_on"] = now.date() - timedelta(days=self.rng.randint(1, 180))
            if colleagues and self.rng.random() < 0.7:
                person["successor_id"] = self.rng.choice(colleagues)
        self.tables["contacts"] = [c for c in self.tables["contacts"] if c["id"] not in leaving]
        self.tables["leavers"].extend(leavers)

    def _number(self, *, kind: str, contact_id: uuid.UUID | None = None,
                unit_id: uuid.UUID | None = None) -> None:
        if kind == "mobile":
            e164 = self._mobile()
            extension = ""
        else:
            e164 = self.free_numbers.pop()
            extension = e164[-4:]
            self.generated.numbers.append((e164, extension))
        self.tables["numbers"].append({
            "municipality_id": self.municipality_id, "id": self.new_id(),
            "contact_id": contact_id, "unit_id": unit_id, "kind": kind, "e164": e164,
            "extension": extension, "display": "", "formatted": format_number(e164),
            "position": 1 if kind == "mobile" else 0})

    def _number_pool(self) -> list[str]:
        _domain, area, prefixes, digits = SERIES[self.slug]
        rest = digits - 2
        pool = [f"+46{area}{prefix}{n:0{rest}d}" for prefix in prefixes
                for n in range(10 ** rest)]
        pool = [number for number in pool if number not in self.taken_numbers]
        self.rng.shuffle(pool)
        return pool

    def _mobile(self) -> str:
        while True:
            number = f"+467{self.rng.choice('0236')}{self.rng.randrange(10 ** 7):07d}"
            if number not in self.taken_numbers:
                self.taken_numbers.add(number)
                return number

    def _keywords(self, count: int) -> None:
        places = PLACES[self.slug]
        # Every matter with every qualifier first, then the same again per place.
        plain = [(stem, f" {qualifier}") for stem in MATTERS for qualifier in QUALIFIERS]
        local = [(stem, f" {qualifier} {place.lower()}") for place in places
                 for stem in MATTERS for qualifier in QUALIFIERS]
        self.rng.shuffle(plain)
        self.rng.shuffle(local)
        now = clock.now()
        for stem, rest in plain + local:
            word = stem + rest
            if count <= 0:
                return
            if word in self.taken_words:
                continue
            synonyms, branch = MATTERS[stem]
            target = self.rng.choice(self.units[branch])
            staff = self.staff.get(target)
            to_person = bool(staff) and self.rng.random() < 0.2
            self.tables["keywords"].append({
                "municipality_id": self.municipality_id, "id": self.new_id(), "word": word,
                "synonyms": [synonym + rest for synonym in synonyms], "note": "",
                "contact_id": self.rng.choice(staff) if to_person and staff else None,
                "unit_id": None if to_person else target, "created_at": now, "updated_at": now})
            self.generated.keywords.append((word, tuple(s + rest for s in synonyms)))
            count -= 1

    def _unique(self, names: Counter[str], name: str) -> str:
        names[name] += 1
        return name if names[name] == 1 else f"{name} {names[name]}"


_TABLES = {"forvaltning": Unit.__table__, "avdelning": Unit.__table__,
           "enhet": Unit.__table__, "hours": OpeningHours.__table__,
           "contacts": Contact.__table__, "leavers": Contact.__table__,
           "numbers": PhoneNumber.__table__, "keywords": Keyword.__table__,
           "absences": Absence.__table__}
# Parents before children, each level analysed before the next checks its keys against it.
_INSERT_ORDER = ("forvaltning", "avdelning", "enhet", "hours", "contacts", "leavers", "numbers",
                 "keywords", "absences")


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` shared in proportion to ``weights``, the remainder to the largest shares."""
    exact = [total * weight / sum(weights) for weight in weights]
    shares = [int(share) for share in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - shares[i], reverse=True)
    for index in by_remainder[:total - sum(shares)]:
        shares[index] += 1
    return shares


def _pick(rng: random.Random, names: list[str]) -> str:
    """A name, the common ones far more often than the rare (SCB's counts fall steeply)."""
    return rng.choices(names, cum_weights=_cumulative(len(names)))[0]


_CUMULATIVE: dict[int, list[float]] = {}


def _cumulative(length: int) -> list[float]:
    if length not in _CUMULATIVE:
        total, weights = 0.0, []
        for rank in range(length):
            total += 1 / (rank + 8)
            weights.append(total)
        _CUMULATIVE[length] = weights
    return _CUMULATIVE[length]


def _mailbox(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "")


def _raise_revisions(session: Session, municipality_ids: list[uuid.UUID], new_id: _Ids) -> None:
    """What the flush hook does for ORM writes: one revision up per municipality."""
    table = DirectoryRevision.__table__
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" \
        else postgresql_insert
    for municipality_id in municipality_ids:
        statement = dialect_insert(table).values(
            municipality_id=municipality_id, id=new_id(), revision=1, changed_at=clock.now())
        session.execute(statement.on_conflict_do_update(
            index_elements=["municipality_id"],
            set_={"revision": table.c.revision + 1, "changed_at": statement.excluded.changed_at}))


__all__ = ["QUICK", "REGION_TWICE", "DirectorySize", "GeneratedDirectory", "populate"]

