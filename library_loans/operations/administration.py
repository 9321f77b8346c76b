"""What a municipality's librarians set up: branches, copies, patrons and cards, rules.

Each runs in the librarian's own municipality (the ordinary scope); the card register is
the consortium's, so a card number is unique across every municipality. The travel costs
are the consortium's too, but a municipality sets only its own (from it to the others).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from library_loans.models import (
    ANY,
    BRANCH_KINDS,
    MEDIA_TYPES,
    PATRON_CATEGORIES,
    BibRecord,
    Branch,
    CirculationRule,
    Item,
    LibraryCard,
    Patron,
    TravelCost,
)
from library_loans.operations.rules import Refusal, forget_rules, library_day
from services import clock
from services.i18n import fold_diacritics
from services.identity.passwords import hash_secret, verify_secret
from services.tenancy import current_scope

CARD_YEARS = 3
MIN_PIN_LENGTH = 4
SHELF_STATES = ("available", "missing", "damaged", "withdrawn")
"""States a librarian sets by hand; the others belong to the desk's circulation."""
CIRCULATING = ("on_loan", "in_transit", "on_hold_shelf")
BRANCH_SETTINGS = ("name", "kind", "address", "email", "pickup")
ITEM_SETTINGS = ("call_number", "shelf", "home_branch_id", "status")
PATRON_SETTINGS = ("name", "email", "phone", "locale", "category", "birth_date",
                   "home_branch_id", "card_expires_on", "keeps_history", "pin", "card_number")
_FOLDED = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u",
                         "Å": "a", "Ä": "a", "Ö": "o", "É": "e", "Ü": "u"})


@dataclass(frozen=True)
class Page:
    """One page of a listing: its rows and how many there are in all."""

    rows: Sequence[Any]
    total: int


def create_branch(session: Session, *, code: str, name: str, kind: str = "branch",
                  address: str = "", email: str = "", pickup: bool = True) -> Branch:
    """A new branch (or bookmobile) of the scope's home municipality."""
    code, name = code.strip().upper(), name.strip()
    if not code:
        raise Refusal("code", "A branch needs a code.", status=422)
    if not name:
        raise Refusal("name", "A branch needs a name.", status=422)
    if kind not in BRANCH_KINDS:
        raise Refusal("kind", f"kind must be one of {', '.join(BRANCH_KINDS)}.", status=422)
    if session.scalar(select(Branch.id).where(Branch.code == code,
                                              Branch.municipality_id == _home())):
        raise Refusal("code", f"The municipality already has a branch {code}.")
    branch = Branch(code=code, name=name, kind=kind, address=address.strip(),
                    email=email.strip(), pickup=pickup)
    session.add(branch)
    session.flush()
    return branch


def change_branch(session: Session, branch: Branch, **settings: Any) -> Branch:
    """Change a branch's name, kind, address, e-mail or whether it hands out holds."""
    for name, value in settings.items():
        if name not in BRANCH_SETTINGS:
            raise Refusal(name, f"{name} is not a branch setting.", status=422)
        if name == "name" and not str(value).strip():
            raise Refusal("name", "A branch needs a name.", status=422)
        if name == "kind" and value not in BRANCH_KINDS:
            raise Refusal("kind", f"kind must be one of {', '.join(BRANCH_KINDS)}.",
                          status=422)
        setattr(branch, name, value.strip() if isinstance(value, str) else value)
    session.flush()
    return branch


def add_item(session: Session, *, record_id: uuid.UUID, barcode: str, home_branch: Branch,
             call_number: str = "", shelf: str = "", media_type: str | None = None) -> Item:
    """A new copy of a catalogue record, on its home branch's shelf."""
    barcode = barcode.strip()
    if not barcode:
        raise Refusal("barcode", "A copy needs a barcode.", status=422)
    record = session.get(BibRecord, record_id)
    if record is None:
        raise Refusal("record_id", "No such record in the catalogue.", status=422)
    if media_type is not None and media_type not in MEDIA_TYPES:
        raise Refusal("media_type", f"media_type must be one of {', '.join(MEDIA_TYPES)}.",
                      status=422)
    if session.scalar(select(Item.id).where(Item.municipality_id == _home(),
                                            Item.barcode == barcode)):
        raise Refusal("barcode", f"The municipality already has a copy {barcode}.")
    item = Item(record_id=record.id, barcode=barcode, home_branch_id=home_branch.id,
                location_municipality_id=home_branch.municipality_id,
                location_branch_id=home_branch.id, call_number=call_number.strip(),
                shelf=shelf.strip(), media_type=media_type or record.media_type)
    session.add(item)
    session.flush()
    return item


def change_item(session: Session, item: Item, *, home_branch: Branch | None = None,
                **settings: Any) -> Item:
    """Change a copy's call number, shelf, home branch, or mark it missing, damaged,
    withdrawn or found again (never while it circulates: the desk checks it in first)."""
    status = settings.pop("status", None)
    for name, value in settings.items():
        if name not in ("call_number", "shelf"):
            raise Refusal(name, f"{name} is not a copy setting.", status=422)
        setattr(item, name, value.strip())
    if home_branch is not None:
        item.home_branch_id = home_branch.id
    if status is not None and status != item.status:
        if status not in SHELF_STATES:
            raise Refusal("status", f"status must be one of {', '.join(SHELF_STATES)}.",
                          status=422)
        if item.status in CIRCULATING:
            raise Refusal("status", f"The copy is {item.status.replace('_', ' ')}: "
                                    "check it in at the desk first.")
        item.status, item.status_changed_at = status, clock.now()
    session.flush()
    return item


def list_items(session: Session, *, status: str | None = None,
               branch_id: uuid.UUID | None = None, barcode: str | None = None,
               record_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0) -> Page:
    """The municipality's copies, filtered, in barcode order, a page at a time."""
    conditions: list[ColumnElement[bool]] = [Item.municipality_id == _home()]
    if status:
        conditions.append(Item.status == status)
    if branch_id:
        conditions.append((Item.home_branch_id == branch_id)
                          | (Item.location_branch_id == branch_id))
    if barcode:
        conditions.append(Item.barcode.startswith(barcode.strip(), autoescape=True))
    if record_id:
        conditions.append(Item.record_id == record_id)
    return _page(session, Item, conditions, Item.barcode, limit, offset)


def find_patrons(session: Session, *, card_number: str | None = None,
                 name: str | None = None, limit: int = 50, offset: int = 0) -> Page:
    """The municipality's patrons by card number (exact) or name (every word, folded)."""
    conditions: list[ColumnElement[bool]] = [Patron.municipality_id == _home()]
    if card_number:
        conditions.append(Patron.card_number == card_number.strip())
    for word in fold_diacritics(name or "").split():
        conditions.append(_folded(Patron.name).contains(word, autoescape=True))
    return _page(session, Patron, conditions, Patron.name, limit, offset)


def change_patron(session: Session, patron: Patron, *, home_branch: Branch | None = None,
                  **settings: Any) -> Patron:
    """Change a patron's details; a new PIN, a new card (the old one stops working), a
    renewed card's expiry."""
    if home_branch is not None:
        patron.home_branch_id = home_branch.id
    for name, value in settings.items():
        if name not in PATRON_SETTINGS:
            raise Refusal(name, f"{name} is not a patron setting.", status=422)
        if name == "pin":
            _check_pin(value)
            patron.pin_hash = hash_secret(value)
        elif name == "card_number":
            _replace_card(session, patron, value)
        elif name == "name" and not value.strip():
            raise Refusal("name", "A patron needs a name.", status=422)
        elif name == "category" and value not in PATRON_CATEGORIES:
            raise Refusal("category",
                          f"category must be one of {', '.join(PATRON_CATEGORIES)}.",
                          status=422)
        else:
            setattr(patron, name, value.strip() if isinstance(value, str) else value)
    session.flush()
    return patron


def register_patron(session: Session, *, card_number: str, pin: str, name: str,
                    home_branch: Branch, category: str = "adult", email: str = "",
                    phone: str = "", locale: str = "sv", birth_date: date | None = None,
                    keeps_history: bool = False) -> Patron:
    """A patron of the home branch's municipality, with a card valid in every municipality."""
    card_number = _check_card_number(card_number)
    _check_pin(pin)
    if not name.strip():
        raise Refusal("name", "A patron needs a name.", status=422)
    if category not in PATRON_CATEGORIES:
        raise Refusal("category", f"category must be one of {', '.join(PATRON_CATEGORIES)}.",
                      status=422)
    _refuse_card_in_use(session, card_number)
    expires = library_day(clock.now()) + timedelta(days=365 * CARD_YEARS)
    patron = Patron(municipality_id=home_branch.municipality_id, card_number=card_number,
                    pin_hash=hash_secret(pin), name=name.strip(), email=email.strip(),
                    phone=phone.strip(), locale=locale, category=category,
                    birth_date=birth_date, home_branch_id=home_branch.id,
                    card_expires_on=expires, keeps_history=keeps_history)
    session.add(patron)
    session.flush()
    session.add(LibraryCard(card_number=card_number, municipality_id=patron.municipality_id,
                            patron_id=patron.id))
    session.flush()
    return patron


def card_holder(session: Session, card_number: str, pin: str) -> Patron | None:
    """The patron whose card and PIN these are (None for a wrong card or PIN)."""
    card = session.get(LibraryCard, card_number.strip())
    if card is None:
        verify_secret(None, pin)  # the same work either way: no timing tells a card exists
        return None
    patron = session.get(Patron, (card.municipality_id, card.patron_id))
    if patron is None or not verify_secret(patron.pin_hash, pin):
        return None
    return patron


def set_rule(session: Session, *, patron_category: str = ANY, media_type: str = ANY,
             **settings: Any) -> CirculationRule:
    """Create or change the home municipality's rule for a category and media type."""
    rule = session.scalar(select(CirculationRule).where(
        CirculationRule.municipality_id == _home(),
        CirculationRule.patron_category == patron_category,
        CirculationRule.media_type == media_type))
    if rule is None:
        rule = CirculationRule(patron_category=patron_category, media_type=media_type)
        session.add(rule)
    for name, value in settings.items():
        if not hasattr(CirculationRule, name) or name.startswith("_"):
            raise Refusal(name, f"{name} is not a rule setting.", status=422)
        setattr(rule, name, Decimal(str(value)) if isinstance(value, float) else value)
    session.flush()
    forget_rules(session)
    return rule


def delete_rule(session: Session, rule: CirculationRule) -> None:
    """Remove a rule: the next most general one (or the defaults) applies again."""
    session.delete(rule)
    session.flush()
    forget_rules(session)


def travel_costs_from(session: Session, from_municipality: uuid.UUID) -> dict[uuid.UUID, int]:
    """What moving a copy from the municipality to each other one costs, where set."""
    return dict(session.execute(
        select(TravelCost.to_municipality_id, TravelCost.cost)
        .where(TravelCost.from_municipality_id == from_municipality)).all())


def set_travel_costs_from(session: Session, from_municipality: uuid.UUID,
                          costs: dict[uuid.UUID, int]) -> None:
    """Set the municipality's own costs to the others (theirs to it stay theirs to set)."""
    for target, cost in costs.items():
        if target == from_municipality:
            raise Refusal("costs", "A municipality's cost to itself is always nothing.",
                          status=422)
        if cost < 0:
            raise Refusal("costs", "A travel cost is zero or more.", status=422)
        stored = session.get(TravelCost, (from_municipality, target))
        if stored is None:
            session.add(TravelCost(from_municipality_id=from_municipality,
                                   to_municipality_id=target, cost=cost))
        else:
            stored.cost = cost
    session.flush()


def set_travel_cost(session: Session, from_municipality: uuid.UUID,
                    to_municipality: uuid.UUID, cost: int) -> None:
    """How far apart two municipalities are for the transport (both directions)."""
    for source, target in ((from_municipality, to_municipality),
                           (to_municipality, from_municipality)):
        stored = session.get(TravelCost, (source, target))
        if stored is None:
            session.add(TravelCost(from_municipality_id=source, to_municipality_id=target,
                                   cost=cost))
        else:
            stored.cost = cost
    session.flush()


def _check_card_number(card_number: str) -> str:
    card_number = card_number.strip()
    if not card_number.isdigit() or not 6 <= len(card_number) <= 20:
        raise Refusal("card_number", "A card number is 6 to 20 digits.", status=422)
    return card_number


def _check_pin(pin: str) -> None:
    if not pin.isdigit() or len(pin) < MIN_PIN_LENGTH:
        raise Refusal("pin", f"A PIN is at least {MIN_PIN_LENGTH} digits.", status=422)


def _refuse_card_in_use(session: Session, card_number: str) -> None:
    if session.get(LibraryCard, card_number) is not None:
        raise Refusal("card_number", "That card number is already in use.")


def _replace_card(session: Session, patron: Patron, card_number: str) -> None:
    card_number = _check_card_number(card_number)
    if card_number == patron.card_number:
        return
    _refuse_card_in_use(session, card_number)
    old = session.get(LibraryCard, patron.card_number)
    if old is not None:
        session.delete(old)
        session.flush()
    patron.card_number = card_number
    session.flush()
    session.add(LibraryCard(card_number=card_number, municipality_id=patron.municipality_id,
                            patron_id=patron.id))


def _folded(column: Any) -> Any:
    """``column`` folded as :func:`fold_diacritics` folds Swedish names, in SQL (SQLite's
    lower() knows only ASCII, so the accented letters are replaced first)."""
    folded = column
    for accented, plain in _FOLDED.items():
        folded = func.replace(folded, chr(accented), plain)
    return func.lower(folded)


def _page(session: Session, model: Any, conditions: list[ColumnElement[bool]], order: Any,
          limit: int, offset: int) -> Page:
    total = session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    rows = session.scalars(select(model).where(*conditions).order_by(order, model.id)
                           .limit(limit).offset(offset)).all()
    return Page(rows, total)


def _home() -> uuid.UUID:
    home = current_scope().home
    if home is None:
        raise Refusal("municipality", "Choose the municipality to administer.", status=422)
    return home
