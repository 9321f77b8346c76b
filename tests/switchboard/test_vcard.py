"""vCard 4.0 exports: read back the way an address book would, folding and escaping included."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from services import clock
from services.tenancy import TenantScope, tenant_scope
from switchboard.operations.directory import (
    NumberInput,
    create_contact,
    create_unit,
    set_keyword,
)
from switchboard.operations.presence import set_absence
from switchboard.vcard import contact_vcard, unit_vcard


@dataclass
class Property:
    """One unfolded content line: name, parameters and the raw (still escaped) value."""

    name: str
    params: dict[str, str] = field(default_factory=dict)
    value: str = ""

    def parts(self, separator: str) -> list[str]:
        """The value split on unescaped ``separator`` and unescaped."""
        pieces, current, escaped = [], "", False
        for character in self.value:
            if escaped:
                current += {"n": "\n", "N": "\n"}.get(character, character)
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == separator:
                pieces.append(current)
                current = ""
            else:
                current += character
        return [*pieces, current]

    @property
    def text(self) -> str:
        """The value as one unescaped text."""
        [whole] = self.parts("\0")
        return whole


def parse_vcard(card: str) -> list[Property]:
    """Check the framing, unfold and parse a single vCard into its properties."""
    assert card.endswith("\r\n")
    physical = card[:-2].split("\r\n")
    for line in physical:
        assert "\n" not in line and "\r" not in line
        assert len(line.encode("utf-8")) <= 75, f"a line longer than 75 octets: {line!r}"
    unfolded = re.sub(r"\r\n[ \t]", "", card)
    properties = []
    for line in unfolded[:-2].split("\r\n"):
        head, value = _split_unquoted(line)
        name, *params = head.split(";")
        properties.append(Property(name.upper(), dict(p.split("=", 1) for p in params), value))
    assert [p.name for p in properties[:2]] == ["BEGIN", "VERSION"]
    assert properties[1].value == "4.0" and properties[-1].name == "END"
    return properties


def _split_unquoted(line: str) -> tuple[str, str]:
    quoted = False
    for index, character in enumerate(line):
        if character == '"':
            quoted = not quoted
        elif character == ":" and not quoted:
            return line[:index], line[index + 1:]
    raise AssertionError(f"no value in {line!r}")


def one(properties: list[Property], name: str) -> Property:
    """The only property called ``name``."""
    [found] = [p for p in properties if p.name == name]
    return found


@pytest.fixture
def directory(db, municipalities):
    """Umeå's building permits office: a unit, a person away with a referral, a function."""
    umea = municipalities["umea"]
    made = {}
    with tenant_scope(TenantScope.of([umea.id], home=umea.id)):
        made["office"] = create_unit(db, name="Samhällsbyggnad", level="forvaltning",
                                     visiting_address="Skolgatan 31A, 901 84 Umeå",
                                     email="samhallsbyggnad@umea.se",
                                     numbers=[NumberInput("switchboard", "090-16 10 00")])
        made["permits"] = create_unit(db, name="Bygglov", level="avdelning",
                                      parent_id=made["office"].id)
        made["asa"] = create_contact(
            db, given_name="Åsa", family_name="Öberg", nicknames=["Åsa Ö", "Bygg, Åsa"],
            title="Bygglovshandläggare; äldre ärenden", email="asa.oberg@umea.se",
            unit_id=made["permits"].id,
            numbers=[NumberInput("work", "090-16 12 34", extension="1234"),
                     NumberInput("mobile", "070-123 45 67"),
                     NumberInput("work", extension="5678")])
        made["erik"] = create_contact(db, given_name="Erik", family_name="Karlsson",
                                      unit_id=made["permits"].id)
        made["desk"] = create_contact(db, kind="function", name="Kundtjänst bygg",
                                      unit_id=made["permits"].id, email="bygg@umea.se")
        set_keyword(db, "bygglov", contact_id=made["asa"].id)
        set_keyword(db, "strandskydd, dispens", contact_id=made["asa"].id)
        set_keyword(db, "detaljplan", unit_id=made["office"].id)
        set_absence(db, made["asa"], reason="Semester", set_by="tests",
                    returns_at=clock.now() + timedelta(days=7),
                    referral_contact_id=made["erik"].id, referral_note="ring före 12")
    db.commit()
    return made


def test_a_person_reads_back_with_name_numbers_keywords_and_referral(db, directory):
    asa, erik = directory["asa"], directory["erik"]
    with tenant_scope(TenantScope.of([asa.municipality_id])):
        card = parse_vcard(contact_vcard(db, asa))

    assert one(card, "KIND").value == "individual"
    assert one(card, "FN").text == "Åsa Öberg"
    assert one(card, "N").parts(";") == ["Öberg", "Åsa", "", "", ""]
    assert one(card, "NICKNAME").parts(",") == ["Åsa Ö", "Bygg, Åsa"]
    assert one(card, "TITLE").text == "Bygglovshandläggare; äldre ärenden"
    assert one(card, "ORG").parts(";") == ["Umeå", "Samhällsbyggnad", "Bygglov"]
    assert one(card, "EMAIL").text == "asa.oberg@umea.se"
    telephones = [(p.params, p.value) for p in card if p.name == "TEL"]
    assert telephones == [
        ({"VALUE": "uri", "TYPE": "work,voice", "PREF": "1"}, "tel:+4690161234;ext=1234"),
        ({"VALUE": "uri", "TYPE": "work,cell"}, "tel:+46701234567"),
        ({"TYPE": "work,voice"}, "5678"),
    ]
    assert sorted(one(card, "CATEGORIES").parts(",")) == ["bygglov", "strandskydd, dispens"]
    related = one(card, "RELATED")
    assert related.params == {"TYPE": "contact", "VALUE": "uri"}
    assert related.value == f"urn:uuid:{erik.id}"
    assert one(card, "NOTE").text == "Hänvisning: Erik Karlsson – ring före 12"
    assert one(card, "UID").value == f"urn:uuid:{asa.id}"
    assert re.fullmatch(r"\d{8}T\d{6}Z", one(card, "REV").value)
    assert one(card, "ADR").parts(";") == ["", "", "Skolgatan 31A", "Umeå", "", "901 84",
                                           "Sverige"]


def test_a_function_is_an_organisation_card_without_a_personal_name(db, directory):
    desk = directory["desk"]
    with tenant_scope(TenantScope.of([desk.municipality_id])):
        card = parse_vcard(contact_vcard(db, desk))

    assert one(card, "KIND").value == "org"
    assert one(card, "FN").text == "Kundtjänst bygg"
    assert not [p for p in card if p.name in ("N", "RELATED", "CATEGORIES")]


def test_a_unit_is_an_organisation_card_with_its_visiting_address(db, directory):
    office = directory["office"]
    with tenant_scope(TenantScope.of([office.municipality_id])):
        card = parse_vcard(unit_vcard(db, office))

    assert one(card, "KIND").value == "org"
    assert one(card, "FN").text == "Samhällsbyggnad"
    assert one(card, "ORG").parts(";") == ["Umeå", "Samhällsbyggnad"]
    assert one(card, "ADR").parts(";") == ["", "", "Skolgatan 31A", "Umeå", "", "901 84",
                                           "Sverige"]
    assert one(card, "TEL").value == "tel:+4690161000"
    assert one(card, "EMAIL").text == "samhallsbyggnad@umea.se"
    assert one(card, "CATEGORIES").parts(",") == ["detaljplan"]
    assert one(card, "UID").value == f"urn:uuid:{office.id}"


def test_a_long_swedish_title_folds_at_75_octets_without_splitting_a_letter(db, directory,
                                                                           municipalities):
    # "TITLE:" and 68 letters fill 74 octets; "å" takes two, so the fold comes before it.
    title = "a" * 68 + "åäö" * 30 + ", slut\\ och\nny rad"
    umea = municipalities["umea"]
    with tenant_scope(TenantScope.of([umea.id])):
        contact = create_contact(db, given_name="Örjan", family_name="Åström", title=title)
        raw = contact_vcard(db, contact)
    db.rollback()

    title_lines = raw.split("\r\nTITLE:")[1].split("\r\n")
    assert len(("TITLE:" + title_lines[0]).encode("utf-8")) == 74
    continuation = list(itertools.takewhile(lambda line: line.startswith(" "), title_lines[1:]))
    assert len(continuation) >= 2
    assert all(len(line.encode("utf-8")) <= 75 for line in continuation)
    assert one(parse_vcard(raw), "TITLE").text == title


def test_operators_export_any_municipality_and_others_only_their_own(client, make_staff,
                                                                     directory):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    vannas_editor = make_staff("redaktor", "vannas", ("directory_editor", "vannas"))
    umea_editor = make_staff("umeredaktor", "umea", ("directory_editor", "umea"))
    asa, office = directory["asa"], directory["office"]
    contact_url = f"/switchboard/api/contacts/{asa.id}/vcard"

    answer = client.get(contact_url, headers=operator.headers)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/vcard; charset=utf-8"
    disposition = answer.headers["Content-Disposition"]
    assert 'filename="asa-oberg.vcf"' in disposition
    assert "filename*=UTF-8''%C3%85sa%20%C3%96berg.vcf" in disposition
    assert one(parse_vcard(answer.get_data(as_text=True)), "FN").text == "Åsa Öberg"

    assert client.get(contact_url, headers=vannas_editor.headers).status_code == 404
    assert client.get(contact_url, headers=umea_editor.headers).status_code == 200
    unit_url = f"/switchboard/api/units/{office.id}/vcard"
    assert client.get(unit_url, headers=vannas_editor.headers).status_code == 404
    unit_answer = client.get(unit_url, headers=operator.headers)
    assert unit_answer.status_code == 200
    assert one(parse_vcard(unit_answer.get_data(as_text=True)), "KIND").value == "org"
    assert client.get(contact_url).status_code == 401
