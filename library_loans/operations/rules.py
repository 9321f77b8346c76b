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
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from library_loans.models import ANY, CirculationRule, Item

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

    @classmethod
    def of(cls, stored: CirculationRule) -> Rule:
        """The rule a stored row says."""
        return cls(**{name: getattr(stored, name) for name in cls.__dataclass_fields__})


DEFAULT_RULE = Rule()


_RULES = "library_rules"
"""Session.info key: the rules already looked up in this session (cleared by set_rule)."""


def rule_for(session: Session, municipality_id: uuid.UUID, patron_category: str,
             media_type: str) -> Rule:
    """The owning municipality's rule for this patron category and media type."""
    known: dict[tuple[uuid.UUID, str, str], Rule] = session.info.setdefault(_RULES, {})
    key = (municipality_id, patron_category, media_type)
    if key not in known:
        known[key] = _look_up(session, municipality_id, patron_category, media_type)
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
             media_type: str) -> Rule:
    rows = session.scalars(
        select(CirculationRule).where(
            CirculationRule.municipality_id == municipality_id,
            CirculationRule.patron_category.in_((patron_category, ANY)),
            CirculationRule.media_type.in_((media_type, ANY)),
        )
    ).all()
    if not rows:
        return DEFAULT_RULE

    def specificity(rule: CirculationRule) -> tuple[bool, bool]:
        return rule.media_type != ANY, rule.patron_category != ANY

    return Rule.of(max(rows, key=specificity))


def _forget_at_transaction_end(session: Session, *_args: object) -> None:
    forget_rules(session)


# A rule changed by someone else is seen by the next transaction.
event.listen(Session, "after_commit", _forget_at_transaction_end)
event.listen(Session, "after_rollback", _forget_at_transaction_end)
