"""What a municipality's librarians set up: branches, patrons and their cards, rules.

Each runs in the librarian's own municipality (the ordinary scope); the card register is
the consortium's, so a card number is unique across every municipality.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans.models import (
    ANY,
    BRANCH_KINDS,
    PATRON_CATEGORIES,
    Branch,
    CirculationRule,
    LibraryCard,
    Patron,
    TravelCost,
)
from library_loans.operations.rules import Refusal, forget_rules, library_day
from services import clock
from services.identity.passwords import hash_secret, verify_secret
from services.tenancy import current_scope

CARD_YEARS = 3
MIN_PIN_LENGTH = 4


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


def register_patron(session: Session, *, card_number: str, pin: str, name: str,
                    home_branch: Branch, category: str = "adult", email: str = "",
                    phone: str = "", locale: str = "sv", birth_date: date | None = None,
                    keeps_history: bool = False) -> Patron:
    """A patron of the home branch's municipality, with a card valid in every municipality."""
    card_number = card_number.strip()
    if not card_number.isdigit() or not 6 <= len(card_number) <= 20:
        raise Refusal("card_number", "A card number is 6 to 20 digits.", status=422)
    if not pin.isdigit() or len(pin) < MIN_PIN_LENGTH:
        raise Refusal("pin", f"A PIN is at least {MIN_PIN_LENGTH} digits.", status=422)
    if not name.strip():
        raise Refusal("name", "A patron needs a name.", status=422)
    if category not in PATRON_CATEGORIES:
        raise Refusal("category", f"category must be one of {', '.join(PATRON_CATEGORIES)}.",
                      status=422)
    if session.get(LibraryCard, card_number) is not None:
        raise Refusal("card_number", "That card number is already in use.")
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


def _home() -> uuid.UUID:
    home = current_scope().home
    if home is None:
        raise Refusal("municipality", "Choose the municipality to administer.", status=422)
    return home
