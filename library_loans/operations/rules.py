"""Circulation rules, library days and the refusals the desk and patrons are given.

The owning municipality's rules govern its items wherever they are: which rule applies is
decided by the item's municipality, the patron's category and the item's media type, the
most specific rule first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, event, select
from sqlalchemy.orm import Session

from library_loans.models import ANY, PATRON_CATEGORIES, CirculationRule, Item

LIBRARY_TIME = ZoneInfo("Europe/Stockholm")


class Refusal(Exception):
    """The library says no: a reason a person can act on, and the field it concerns."""

    def __init__(self, field: str, message: str, *, status: int = 409) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Rule:
    """The rule in force for one item and one patron (defaults where none is stored)."""

    loan_days: int = 28
    renewals: int = 2
    max_loans: int = 50
    holdable: bool = True
    fine_per_day: Decimal = Decimal("0")
    fine_cap: Decimal = Decimal("0")
    block_threshold: Decimal | None = None
    fines_from_age: int | None = None
    floating: bool = False
    local_priority: bool = False
    hold_shelf_days: int = 7
    transit_alert_days: int = 5


DEFAULT_RULE = Rule()


_RULES = "library_rules"
"""Session.info key: the rules already looked up in this session (cleared by set_rule)."""


def rule_for(session: Session, municipality_id: uuid.UUID, patron_category: str,
             media_type: str) -> Rule:
    """The owning municipality's rule for this patron category and media type."""
    known: dict[tuple[uuid.UUID, str, str], Rule] = session.info.setdefault(_RULES, {})
    key = (municipality_id, patron_category, media_type)
    if key not in known:
        # One look-up answers every patron category: a desk needs the borrower's rule and
        # the one for every category (the copy's own) of the same owner and media type.
        known.update(_look_up(session, municipality_id, patron_category, media_type))
    return known[key]


def forget_rules(session: Session) -> None:
    """Drop the session's looked-up rules (a rule was just changed)."""
    session.info.pop(_RULES, None)


def item_rule(session: Session, item: Item) -> Rule:
    """The owner's rule for what concerns the copy whoever borrows it (floating, hold shelf
    days, transit alerts, local priority): the rule for every patron category."""
    return rule_for(session, item.municipality_id, ANY, item.media_type)


def library_day(moment: datetime) -> date:
    """The date at the library (Swedish time) of ``moment``."""
    return moment.astimezone(LIBRARY_TIME).date()


def closing_of(day: date) -> datetime:
    """The end of ``day`` at the library: when a loan due that day becomes late."""
    return datetime.combine(day, time(23, 59, 59), LIBRARY_TIME)


def due_after(moment: datetime, days: int) -> datetime:
    """When a loan made at ``moment`` for ``days`` days is due: the end of the last day."""
    return closing_of(library_day(moment) + timedelta(days=days))


def age_on(birth_date: date | None, day: date) -> int | None:
    """Someone's age in whole years on ``day`` (None when the birth date is not known)."""
    if birth_date is None:
        return None
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


# --- private helpers -------------------------------------------------------------------


def _look_up(session: Session, municipality_id: uuid.UUID, patron_category: str,
             media_type: str) -> dict[tuple[uuid.UUID, str, str], Rule]:
    """The owner's rules for ``media_type``, for ``patron_category`` and every other."""
    fields = [getattr(CirculationRule, name) for name in Rule.__dataclass_fields__]
    rows = session.execute(
        select(CirculationRule.patron_category, CirculationRule.media_type, *fields).where(
            CirculationRule.municipality_id == municipality_id,
            CirculationRule.media_type.in_((media_type, ANY)),
        )
    ).all()
    found = {}
    for category in {*PATRON_CATEGORIES, ANY, patron_category}:
        matching = [row for row in rows if row.patron_category in (category, ANY)]
        found[(municipality_id, category, media_type)] = (
            Rule(*max(matching, key=_specificity)[2:]) if matching else DEFAULT_RULE)
    return found


def _specificity(rule: Row[Any]) -> tuple[bool, bool]:
    return rule.media_type != ANY, rule.patron_category != ANY


def _forget_at_transaction_end(session: Session, *_args: object) -> None:
    forget_rules(session)


# A rule changed by someone else is seen by the next transaction.
event.listen(Session, "after_commit", _forget_at_transaction_end)
event.listen(Session, "after_rollback", _forget_at_transaction_end)
