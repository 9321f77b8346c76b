"""Demo directory: the seven switchboard municipalities, their units, people and matters.

Hand-written and made up, but shaped like the real thing: each municipality's own number
series, e-mail domain and organisation, the keywords the switchboard is asked about most,
and the cases the console must show well (namesakes, spelling variants, nicknames, someone
away with a referral, someone who has left). A municipality whose directory already holds
anything is left alone, so loading again adds nothing.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from switchboard.models import Absence, CallRoute, Contact, Unit
from switchboard.operations.directory import (
    HoursInput,
    NumberInput,
    create_contact,
    create_unit,
    mark_left,
    set_keyword,
)

OFFICE_HOURS = tuple(HoursInput(day, time(8), time(16)) for day in range(5))
SERVICE_HOURS = (*(HoursInput(day, time(8), time(17)) for day in range(4)),
                 HoursInput(4, time(8), time(15)))

# slug: (e-mail domain, number callers dial, greeting, the town hall's visiting address)
MUNICIPALITIES = {
    "umea": ("umea.se", "+4690161000", "Umeå kommun, välkommen. Vad kan jag hjälpa dig med?",
             "Skolgatan 31A, Umeå"),
    "bjurholm": ("bjurholm.se", "+4693214000",
                 "Bjurholms kommun, välkommen. Vad kan jag hjälpa dig med?", "Oxvägen 4, Bjurholm"),
    "nordmaling": ("nordmaling.se", "+4693014000",
                   "Nordmalings kommun, välkommen. Vad kan jag hjälpa dig med?",
                   "Kyrkogatan 2, Nordmaling"),
    "robertsfors": ("robertsfors.se", "+4693414000",
                    "Robertsfors kommun, välkommen. Vad kan jag hjälpa dig med?",
                    "Storgatan 7, Robertsfors"),
    "vindeln": ("vindeln.se", "+4693314000",
                "Vindelns kommun, välkommen. Vad kan jag hjälpa dig med?",
                "Järnvägsgatan 17, Vindeln"),
    "vannas": ("vannas.se", "+4693514100", "Vännäs kommun, välkommen. Vad kan jag hjälpa dig med?",
               "Vänortsgatan 1, Vännäs"),
    "ornskoldsvik": ("ornskoldsvik.se", "+4666088000",
                     "Örnsköldsviks kommun, välkommen. Vad kan jag hjälpa dig med?",
                     "Nygatan 14, Örnsköldsvik"),
}

# (key, parent key, level, name, visiting address ("" = the town hall's), number, hours)
# Every municipality has the keys the common keywords point at: bygg, gata, stod, skjuts.
UNITS = {
    "umea": [
        ("klk", None, "forvaltning", "Kommunledningskontoret", "", "", None),
        ("kontakt", "klk", "avdelning", "Kontaktcenter", "", "+4690161000", SERVICE_HOURS),
        ("sbk", None, "forvaltning", "Stadsbyggnadskontoret", "", "090-16 13 00", OFFICE_HOURS),
        ("bygg", "sbk", "avdelning", "Bygglov", "", "090-16 13 10", OFFICE_HOURS),
        ("tekn", None, "forvaltning", "Tekniska förvaltningen", "Västra Esplanaden 8, Umeå",
         "", None),
        ("gata", "tekn", "avdelning", "Gator och parker", "Västra Esplanaden 8, Umeå",
         "090-16 15 00", OFFICE_HOURS),
        ("fgf", None, "forvaltning", "För- och grundskola", "", "", None),
        ("soder", "fgf", "avdelning", "Skolområde söder", "", "", None),
        ("hornefors", "soder", "enhet", "Hörnefors skola", "Centralgatan 18, Hörnefors",
         "090-16 17 40", OFFICE_HOURS),
        ("skjuts", "fgf", "avdelning", "Skolskjutsenheten", "", "090-16 17 00", OFFICE_HOURS),
        ("ifo", None, "forvaltning", "Individ- och familjeomsorgen", "Storgatan 76, Umeå", "",
         None),
        ("stod", "ifo", "avdelning", "Försörjningsstöd", "Storgatan 76, Umeå", "090-16 19 00",
         OFFICE_HOURS),
    ],
    "bjurholm": [
        ("klk", None, "forvaltning", "Kommunledningskontoret", "", "", None),
        ("vaxel", "klk", "avdelning", "Växeln", "", "+4693214000", SERVICE_HOURS),
        ("sam", None, "forvaltning", "Samhällsbyggnad", "", "", None),
        ("bygg", "sam", "avdelning", "Bygg och miljö", "", "0932-141 50", OFFICE_HOURS),
        ("gata", "sam", "avdelning", "Gata och fastighet", "", "0932-141 60", OFFICE_HOURS),
        ("soc", None, "forvaltning", "Socialtjänsten", "", "", None),
        ("stod", "soc", "avdelning", "Individ- och familjeomsorg", "", "0932-141 70",
         OFFICE_HOURS),
        ("bou", None, "forvaltning", "Barn och utbildning", "", "0932-141 80", OFFICE_HOURS),
        ("castor", "bou", "enhet", "Castorskolan", "Skolvägen 5, Bjurholm", "0932-141 85",
         OFFICE_HOURS),
    ],
    "nordmaling": [
        ("ksf", None, "forvaltning", "Kommunstyrelseförvaltningen", "", "", None),
        ("kontakt", "ksf", "avdelning", "Kontaktcenter", "", "+4693014000", SERVICE_HOURS),
        ("sam", None, "forvaltning", "Samhällsbyggnad", "", "", None),
        ("bygg", "sam", "avdelning", "Bygg och miljö", "", "0930-142 00", OFFICE_HOURS),
        ("gata", "sam", "avdelning", "Gata och VA", "", "0930-142 50", OFFICE_HOURS),
        ("soc", None, "forvaltning", "Socialtjänst", "", "", None),
        ("stod", "soc", "avdelning", "Försörjningsstöd", "", "0930-143 00", OFFICE_HOURS),
        ("bou", None, "forvaltning", "Barn och utbildning", "", "0930-144 00", OFFICE_HOURS),
        ("kyrko", "bou", "enhet", "Kyrkostrandsskolan", "Skolgatan 2, Nordmaling",
         "0930-144 20", OFFICE_HOURS),
        ("rundvik", "bou", "enhet", "Rundviks skola", "Skolvägen 9, Rundvik", "0930-144 40",
         OFFICE_HOURS),
    ],
    "robertsfors": [
        ("klf", None, "forvaltning", "Kommunledningsförvaltningen", "", "", None),
        ("service", "klf", "avdelning", "Servicecenter", "", "+4693414000", SERVICE_HOURS),
        ("sbf", None, "forvaltning", "Samhällsbyggnadsförvaltningen", "", "", None),
        ("bygg", "sbf", "avdelning", "Bygg och miljö", "", "0934-141 00", OFFICE_HOURS),
        ("gata", "sbf", "avdelning", "Teknik och fastighet", "", "0934-141 50", OFFICE_HOURS),
        ("sof", None, "forvaltning", "Socialförvaltningen", "", "", None),
        ("stod", "sof", "avdelning", "Individ- och familjeomsorg", "", "0934-142 00",
         OFFICE_HOURS),
        ("bou", None, "forvaltning", "Barn- och utbildningsförvaltningen", "", "0934-143 00",
         OFFICE_HOURS),
        ("bygdea", "bou", "enhet", "Bygdeå skola", "Skolvägen 3, Bygdeå", "0934-143 40",
         OFFICE_HOURS),
    ],
    "vindeln": [
        ("klk", None, "forvaltning", "Kommunledningskontoret", "", "", None),
        ("medborgar", "klk", "avdelning", "Medborgarservice", "", "+4693314000", SERVICE_HOURS),
        ("sam", None, "forvaltning", "Samhällsbyggnad", "", "", None),
        ("bygg", "sam", "avdelning", "Bygg och miljö", "", "0933-141 00", OFFICE_HOURS),
        ("gata", "sam", "avdelning", "Gata och park", "", "0933-141 30", OFFICE_HOURS),
        ("soc", None, "forvaltning", "Socialtjänsten", "", "", None),
        ("stod", "soc", "avdelning", "Individ- och familjeomsorg", "", "0933-142 00",
         OFFICE_HOURS),
        ("utb", None, "forvaltning", "Utbildning", "", "0933-143 00", OFFICE_HOURS),
        ("vindelalv", "utb", "enhet", "Vindelälvsskolan", "Skolgatan 6, Vindeln", "0933-143 30",
         OFFICE_HOURS),
    ],
    "vannas": [
        ("ksk", None, "forvaltning", "Kommunstyrelsekontoret", "", "", None),
        ("kundtjanst", "ksk", "avdelning", "Kundtjänst", "", "+4693514100", SERVICE_HOURS),
        ("sam", None, "forvaltning", "Samhällsbyggnad", "", "", None),
        ("bygg", "sam", "avdelning", "Bygg och miljö", "", "0935-142 00", OFFICE_HOURS),
        ("gata", "sam", "avdelning", "Gata och trafik", "", "0935-142 50", OFFICE_HOURS),
        ("soc", None, "forvaltning", "Socialtjänst", "", "", None),
        ("stod", "soc", "avdelning", "Försörjningsstöd", "", "0935-143 00", OFFICE_HOURS),
        ("bou", None, "forvaltning", "Barn och utbildning", "", "0935-144 00", OFFICE_HOURS),
        ("vannhog", "bou", "enhet", "Vannhögskolan", "Skolgatan 10, Vännäs", "0935-144 30",
         OFFICE_HOURS),
    ],
    "ornskoldsvik": [
        ("klf", None, "forvaltning", "Kommunledningsförvaltningen", "", "", None),
        ("kontakt", "klf", "avdelning", "Kontaktcenter", "", "+4666088000", SERVICE_HOURS),
        ("sbf", None, "forvaltning", "Samhällsbyggnadsförvaltningen", "", "", None),
        ("bygg", "sbf", "avdelning", "Bygglov", "", "0660-881 00", OFFICE_HOURS),
        ("gata", "sbf", "avdelning", "Gata och trafik", "", "0660-882 00", OFFICE_HOURS),
        ("sof", None, "forvaltning", "Socialförvaltningen", "", "", None),
        ("stod", "sof", "avdelning", "Ekonomiskt bistånd", "Centralesplanaden 15, Örnsköldsvik",
         "0660-883 00", OFFICE_HOURS),
        ("vof", None, "forvaltning", "Vård- och omsorgsförvaltningen", "", "", None),
        ("fardtjanst", "vof", "avdelning", "Färdtjänst", "", "0660-884 00", OFFICE_HOURS),
        ("buf", None, "forvaltning", "Barn- och utbildningsförvaltningen", "", "", None),
        ("skjuts", "buf", "avdelning", "Skolskjuts", "", "0660-885 00", OFFICE_HOURS),
        ("park", "buf", "enhet", "Parkskolan", "Parkgatan 4, Örnsköldsvik", "0660-885 50",
         OFFICE_HOURS),
    ],
}

# (key, unit key, name, number): functions callers ask for by what they do.
FUNCTIONS = {
    "umea": [("kundtjanst-bygg", "bygg", "Kundtjänst bygg", "090-16 13 20"),
             ("servicecenter", "kontakt", "Servicecenter", "090-16 10 10"),
             ("fardtjanst", "tekn", "Färdtjänst", "090-16 16 00")],
    "bjurholm": [("skjuts", "bou", "Skolskjuts", "0932-141 81"),
                 ("fardtjanst", "stod", "Färdtjänst", "0932-141 75")],
    "nordmaling": [("skjuts", "bou", "Skolskjuts", "0930-144 10"),
                   ("fardtjanst", "stod", "Färdtjänst", "0930-143 50")],
    "robertsfors": [("skjuts", "bou", "Skolskjuts", "0934-143 10"),
                    ("fardtjanst", "stod", "Färdtjänst", "0934-142 50")],
    "vindeln": [("skjuts", "utb", "Skolskjuts", "0933-143 10"),
                ("fardtjanst", "stod", "Färdtjänst", "0933-142 50")],
    "vannas": [("kundtjanst-bygg", "bygg", "Kundtjänst bygg", "0935-142 10"),
               ("skjuts", "bou", "Skolskjuts", "0935-144 10"),
               ("fardtjanst", "stod", "Färdtjänst", "0935-143 50")],
    "ornskoldsvik": [("kundtjanst-bygg", "bygg", "Kundtjänst bygg", "0660-881 10"),
                     ("servicecenter", "kontakt", "Servicecenter", "0660-880 10")],
}

# (unit key, given name, family name, title, room, work number, mobile). The extension is
# the work number's last four digits, as in the municipalities' own phone systems.
PEOPLE = {
    "umea": [
        ("kontakt", "Anna", "Karlsson", "Kommunvägledare", "A112", "090-16 10 21",
         "070-312 45 01"),
        ("kontakt", "Mohammed", "Ali", "Kommunvägledare", "A113", "090-16 10 22", ""),
        ("sbk", "Karin", "Sjöberg", "Stadsbyggnadsdirektör", "B301", "090-16 13 01",
         "070-312 45 02"),
        ("bygg", "Johan", "Eriksson", "Bygglovshandläggare", "B210", "090-16 13 11",
         "070-312 45 03"),
        ("bygg", "Sara", "Lundgren", "Bygglovshandläggare", "B211", "090-16 13 12", ""),
        ("bygg", "Erik", "Öhman", "Byggnadsinspektör", "B212", "090-16 13 13", "070-312 45 04"),
        ("bygg", "Linnea", "Bergström", "Bygglovsarkitekt", "B214", "090-16 13 14", ""),
        ("gata", "Lars", "Holmgren", "Driftchef gata", "", "090-16 15 01", "070-312 45 05"),
        ("gata", "Maria", "Johansson", "Trafikingenjör", "", "090-16 15 02", ""),
        ("hornefors", "Åsa", "Lindqvist", "Lärare", "Lärarrum 2", "090-16 17 41",
         "070-312 45 06"),
        ("hornefors", "Per", "Nyström", "Rektor", "Exp.", "090-16 17 42", "070-312 45 07"),
        ("hornefors", "Fatima", "Hassan", "Skolsköterska", "Elevhälsan", "090-16 17 43", ""),
        ("skjuts", "Ulf", "Wikström", "Skolskjutssamordnare", "C104", "090-16 17 01", ""),
        ("stod", "Helena", "Sandberg", "Socialsekreterare", "", "090-16 19 01", ""),
        ("stod", "Jonas", "Forsberg", "Socialsekreterare", "", "090-16 19 02", ""),
        ("stod", "Kristina", "Lindkvist", "Enhetschef", "", "090-16 19 03", "070-312 45 08"),
    ],
    "bjurholm": [
        ("vaxel", "Margareta", "Holm", "Telefonist", "Växeln", "0932-141 01", "070-245 10 01"),
        ("vaxel", "Elin", "Strand", "Telefonist", "Växeln", "0932-141 02", ""),
        ("klk", "Göran", "Lidström", "Kommunchef", "101", "0932-141 10", "070-245 10 02"),
        ("bygg", "Tomas", "Nordin", "Bygg- och miljöinspektör", "204", "0932-141 51", ""),
        ("gata", "Stefan", "Åström", "Fastighetstekniker", "", "0932-141 61", "070-245 10 03"),
        ("stod", "Camilla", "Berglund", "Socialsekreterare", "", "0932-141 71", ""),
        ("castor", "Ingrid", "Persson", "Rektor", "Exp.", "0932-141 86", "070-245 10 04"),
        ("castor", "Mikael", "Olofsson", "Lärare", "", "0932-141 87", ""),
    ],
    "nordmaling": [
        ("kontakt", "Sofia", "Lundström", "Kommunvägledare", "", "0930-140 21", ""),
        ("bygg", "Per", "Carlsson", "Bygglovshandläggare", "212", "0930-142 01", "070-514 20 01"),
        ("bygg", "Gunnar", "Öberg", "Bygglovshandläggare", "213", "0930-142 02", ""),
        ("bygg", "Malin", "Hägglund", "Miljöinspektör", "214", "0930-142 03", ""),
        ("gata", "Roger", "Markström", "VA-ingenjör", "", "0930-142 51", "070-514 20 02"),
        ("stod", "Annika", "Sundqvist", "Socialsekreterare", "", "0930-143 01", ""),
        ("kyrko", "Henrik", "Backman", "Rektor", "", "0930-144 21", "070-514 20 03"),
        ("rundvik", "Emma", "Lindberg", "Lärare", "", "0930-144 41", ""),
        ("rundvik", "Patrik", "Karlsson", "Fritidspedagog", "", "0930-144 42", ""),
    ],
    "robertsfors": [
        ("service", "Lena", "Bäckström", "Servicehandläggare", "", "0934-140 11", ""),
        ("service", "Jenny", "Marklund", "Servicehandläggare", "", "0934-140 12", ""),
        ("bygg", "Eva", "Petterson", "Byggnadsinspektör", "", "0934-141 01", "070-667 30 01"),
        ("bygg", "Anders", "Burman", "Miljö- och hälsoskyddsinspektör", "", "0934-141 02", ""),
        ("gata", "Nils", "Granberg", "Teknisk chef", "", "0934-141 51", "070-667 30 02"),
        ("stod", "Therese", "Lundmark", "Socialsekreterare", "", "0934-142 01", ""),
        ("bygdea", "Magnus", "Sehlstedt", "Rektor", "", "0934-143 41", "070-667 30 03"),
        ("bygdea", "Ida", "Carlsson", "Lärare", "", "0934-143 42", ""),
    ],
    "vindeln": [
        ("medborgar", "Anna", "Nilsson", "Medborgarvägledare", "", "0933-140 11",
         "070-398 40 01"),
        ("medborgar", "Asa", "Berg", "Medborgarvägledare", "", "0933-140 12", ""),
        ("klk", "Birgitta", "Renström", "Kommunchef", "", "0933-140 01", "070-398 40 02"),
        ("bygg", "Fredrik", "Näslund", "Bygglovshandläggare", "", "0933-141 01", ""),
        ("gata", "Olof", "Lindström", "Gatuchef", "", "0933-141 31", "070-398 40 03"),
        ("stod", "Susanne", "Eriksson", "Socialsekreterare", "", "0933-142 01", ""),
        ("vindelalv", "Kent", "Westerlund", "Rektor", "", "0933-143 31", "070-398 40 04"),
        ("vindelalv", "Hanna", "Jonsson", "Lärare", "", "0933-143 32", ""),
    ],
    "vannas": [
        ("kundtjanst", "Maja", "Lundin", "Kundtjänstmedarbetare", "", "0935-141 11", ""),
        ("kundtjanst", "Robert", "Ek", "Kundtjänstmedarbetare", "", "0935-141 12", ""),
        ("bygg", "Lars", "Pettersson", "Bygglovshandläggare", "", "0935-142 01",
         "070-421 50 01"),
        ("bygg", "Cecilia", "Wallin", "Miljöinspektör", "", "0935-142 02", ""),
        ("gata", "Peter", "Åkerlund", "Gatuingenjör", "", "0935-142 51", "070-421 50 02"),
        ("stod", "Jessica", "Sjölund", "Socialsekreterare", "", "0935-143 01", ""),
        ("stod", "Daniel", "Håkansson", "Socialsekreterare", "", "0935-143 02", ""),
        ("vannhog", "Karin", "Nordström", "Rektor", "", "0935-144 31", "070-421 50 03"),
    ],
    "ornskoldsvik": [
        ("kontakt", "Anna", "Sundström", "Kommunvägledare", "", "0660-880 21", ""),
        ("kontakt", "Jörgen", "Hedlund", "Kommunvägledare", "", "0660-880 22", ""),
        ("bygg", "Viktor", "Edlund", "Bygglovshandläggare", "", "0660-881 01", "070-590 60 01"),
        ("bygg", "Linda", "Nyberg", "Bygglovshandläggare", "", "0660-881 02", ""),
        ("gata", "Mats", "Byström", "Trafikplanerare", "", "0660-882 01", ""),
        ("stod", "Elisabeth", "Hörnqvist", "Socialsekreterare", "", "0660-883 01", ""),
        ("stod", "Niklas", "Sandström", "Enhetschef", "", "0660-883 02", "070-590 60 02"),
        ("fardtjanst", "Marie", "Öhlund", "Färdtjänsthandläggare", "", "0660-884 01", ""),
        ("skjuts", "Björn", "Granlund", "Skolskjutsplanerare", "", "0660-885 01", ""),
        ("park", "Louise", "Åslund", "Rektor", "", "0660-885 51", "070-590 60 03"),
    ],
}

NICKNAMES = {("bjurholm", "Margareta Holm"): ("Maggan", "Greta"),
             ("vannas", "Lars Pettersson"): ("Lasse",), ("umea", "Kristina Lindkvist"): ("Kicki",)}

# The matters every switchboard is asked about: (word, synonyms, target key per municipality).
COMMON_KEYWORDS = [
    ("bygglov", ("bygganmälan", "rivningslov"),
     {"umea": "kundtjanst-bygg", "vannas": "kundtjanst-bygg", "ornskoldsvik": "kundtjanst-bygg"}),
    ("snöröjning", ("plogning", "halkbekämpning"), {}),
    ("färdtjänst", ("riksfärdtjänst",), {}),
    ("försörjningsstöd", ("ekonomiskt bistånd", "socialbidrag"), {}),
    ("skolskjuts", ("skolbuss",), {}),
]
COMMON_TARGETS = {"bygglov": "bygg", "snöröjning": "gata", "färdtjänst": "fardtjanst",
                  "försörjningsstöd": "stod", "skolskjuts": "skjuts"}

# Matters of one municipality only: (word, synonyms, target key or a person's name).
LOCAL_KEYWORDS = {
    "umea": [("parkeringstillstånd", ("p-tillstånd", "parkeringskort"), "gata"),
             ("strandskydd", ("dispens strandskydd",), "Linnea Bergström")],
    "bjurholm": [("växeln", ("telefonist",), "vaxel")],
    "nordmaling": [("vatten och avlopp", ("va", "avlopp"), "gata")],
    "robertsfors": [("enskilt avlopp", ("avloppstillstånd",), "Anders Burman")],
    "vindeln": [("bostadsanpassning", ("anpassningsbidrag",), "bygg")],
    "vannas": [("felanmälan gata", ("gatubelysning",), "gata")],
    "ornskoldsvik": [("hamn", ("gästhamn", "båtplats"), "gata")],
}

# (municipality, who is away, reason, source, hours until back, who takes the calls)
ABSENCES = [
    ("umea", "Johan Eriksson", "Utbildning", "calendar", 26, "Sara Lundgren"),
    ("vannas", "Jessica Sjölund", "Sjuk", "manual", 48, "Daniel Håkansson"),
]
# (municipality, who left a month ago, who took over)
LEFT = [("nordmaling", "Gunnar Öberg", "Per Carlsson")]


def load(session: Session, municipalities: dict[str, Municipality]) -> None:
    """Fill the directory of every switchboard municipality whose directory is still empty."""
    for slug, municipality in municipalities.items():
        if slug not in MUNICIPALITIES or not any(
                p.service == "switchboard" for p in municipality.participations):
            continue
        with tenant_scope(TenantScope.of([municipality.id])):
            if session.scalar(select(Unit.id).limit(1)) is None:
                _load_directory(session, slug)


def _load_directory(session: Session, slug: str) -> None:
    domain, dialled, greeting, town_hall = MUNICIPALITIES[slug]
    targets: dict[str, tuple[str, uuid.UUID]] = {}
    for key, parent, level, name, address, number, hours in UNITS[slug]:
        unit = create_unit(
            session, name=name, level=level,
            parent_id=targets[parent][1] if parent else None,
            visiting_address=address or town_hall,
            numbers=[NumberInput("switchboard" if number == dialled else "work", number)]
            if number else (),
            opening_hours=hours or ())
        targets[key] = ("unit", unit.id)
    for key, unit_key, name, number in FUNCTIONS[slug]:
        function = create_contact(session, kind="function", name=name,
                                  unit_id=targets[unit_key][1],
                                  numbers=[NumberInput("work", number)])
        targets[key] = ("contact", function.id)
    people: dict[str, Contact] = {}
    for unit_key, given, family, title, room, work, mobile in PEOPLE[slug]:
        numbers = [NumberInput("work", work, extension=work.replace(" ", "")[-4:])]
        if mobile:
            numbers.append(NumberInput("mobile", mobile))
        person = create_contact(
            session, given_name=given, family_name=family, title=title, room=room,
            email=f"{_mailbox(given)}.{_mailbox(family)}@{domain}",
            nicknames=NICKNAMES.get((slug, f"{given} {family}"), ()),
            unit_id=targets[unit_key][1], numbers=numbers)
        people[person.name] = person
        targets[person.name] = ("contact", person.id)
    for word, synonyms, overrides in COMMON_KEYWORDS:
        _keyword(session, word, synonyms, targets[overrides.get(slug, COMMON_TARGETS[word])])
    for word, synonyms, target in LOCAL_KEYWORDS[slug]:
        _keyword(session, word, synonyms, targets[target])
    _away_and_left(session, slug, people)
    session.add(CallRoute(dialled=dialled, greeting=greeting))
    session.flush()


def _keyword(session: Session, word: str, synonyms: tuple[str, ...],
             target: tuple[str, uuid.UUID]) -> None:
    kind, target_id = target
    set_keyword(session, word, synonyms=synonyms,
                contact_id=target_id if kind == "contact" else None,
                unit_id=target_id if kind == "unit" else None)


def _away_and_left(session: Session, slug: str, people: dict[str, Contact]) -> None:
    now = clock.now()
    for where, name, reason, source, hours_left, referral in ABSENCES:
        if where == slug:
            session.add(Absence(
                contact_id=people[name].id, reason=reason, source=source,
                starts_at=now - timedelta(hours=3), set_at=now - timedelta(hours=3),
                returns_at=now + timedelta(hours=hours_left),
                set_by="kalendern" if source == "calendar" else "operator.bjurholm",
                referral_contact_id=people[referral].id))
    for where, name, successor in LEFT:
        if where == slug:
            mark_left(session, people[name], on=now.date() - timedelta(days=30),
                      successor_id=people[successor].id)


def _mailbox(name: str) -> str:
    """A name as the mailbox part of an address: "Åsa" → "asa", "Öhman" → "ohman"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "")
