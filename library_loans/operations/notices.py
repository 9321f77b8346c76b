"""Notices to patrons: a hold ready for pickup, a reminder before the due date, overdue.

Queueing creates a notice's row first, one per channel the patron can be reached on
(e-mail, SMS). The row's unique key (municipality, kind, subject, channel) is what makes a
notice never go twice: a second insert of the same key (a scan run twice, two workers
racing, a check-in and the scan at once) finds the row there and queues nothing. Only the
transaction that inserted a row sends its delivery task, after it commits; the worker then
delivers each row at most once (:func:`deliver_notice`).

A notice belongs to the patron's home municipality, whichever municipality's copy or branch
it is about. Its delivery runs in a scope of that municipality and only those whose rows
its text names (the pickup branch's, the loan's), so nothing about the patron is written
under, or read on behalf of, any other municipality.

When notices go:

- hold ready: as soon as a hold reaches the hold shelf (:func:`queue_hold_ready`, for the
  check-in), and by a scan every few minutes for whatever became ready elsewhere; again if
  the hold becomes ready anew (a changed pickup branch), never twice for one arrival;
- pre-due reminder: :data:`PREDUE_DAYS` days before the due date (a missed morning is
  caught up while the loan is not yet due); not for loans shorter than that, whose date
  the patron was just given at the desk; again for a new due date after a renewal;
- overdue: the day after the due date, then every :data:`OVERDUE_INTERVAL_DAYS` days,
  :data:`OVERDUE_NOTICES` in all; after that the library's own follow-up takes over.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from library_loans.models import BibRecord, Branch, Hold, Item, Loan, Notice, Patron
from library_loans.operations.rules import LIBRARY_TIME, library_day
from services import clock
from services.ids import uuid7
from services.infra import RefusedError
from services.infra.mail import Mailer
from services.infra.mail import Message as Mail
from services.infra.sms import Sms, SmsGateway
from services.tenancy import TenantScope, TenantScopeViolation, current_scope, tenant_scope
from worker.base import IO_ERRORS

PREDUE_DAYS = 3
"""How many days before the due date the reminder goes."""
OVERDUE_INTERVAL_DAYS = 7
OVERDUE_NOTICES = 3
"""Overdue notices go the day after the due date and then every OVERDUE_INTERVAL_DAYS days,
this many in all."""

NOTICE_DELIVERY = "library_loans.notice_delivery"
"""The scope a notice is delivered in: the patron's home and the municipalities whose rows
the notice names."""

SMS_SENDER = "Biblioteket"
"""Who the SMS is from (networks carry alphanumeric senders reliably only in ASCII)."""
SMS_TITLE_LENGTH = 60

_BATCH = 500


def queue_hold_ready(session: Session, hold: Hold, *, at: datetime | None = None
                     ) -> list[uuid.UUID]:
    """Queue the "ready for pickup" notice of a hold just put on the hold shelf.

    For the check-in to call in its own transaction: the delivery tasks go when it commits.
    Returns the ids of the notices queued (none when the hold is not ready, the patron has
    no address, or this arrival was notified already).
    """
    if hold.status != "ready" or hold.ready_at is None:
        return []
    patron = session.get(Patron, (hold.municipality_id, hold.patron_id))
    assert patron is not None  # deleting a patron deletes their holds
    return _queue(session, patron, "hold_ready", _hold_subject(hold),
                  reads=(hold.pickup_municipality_id,), at=at)


def queue_ready_hold_notices(session: Session, *, at: datetime | None = None) -> int:
    """Queue notices for every hold on a hold shelf that has none yet; how many were queued.

    Runs in :func:`library_loans.access.hold_queues` (a queue's holds span the consortium).
    """
    holds = session.scalars(select(Hold).where(Hold.status == "ready")
                            .order_by(Hold.ready_at, Hold.id)).all()
    notified = _notified(session, "hold_ready", [_hold_subject(hold) for hold in holds])
    waiting = [hold for hold in holds if _hold_subject(hold) not in notified]
    _load_patrons(session, {hold.patron_id for hold in waiting})
    return sum(len(queue_hold_ready(session, hold, at=at)) for hold in waiting)


def queue_predue_notices(session: Session, *, at: datetime | None = None) -> int:
    """Queue reminders for loans due within :data:`PREDUE_DAYS` days; how many were queued.

    Runs in :func:`library_loans.access.hold_queues`: a loan belongs to the copy's
    municipality, its patron to another.
    """
    today = library_day(at or clock.now())
    loans = session.scalars(select(Loan).where(
        Loan.returned_at.is_(None), Loan.due_at >= _start_of(today),
        Loan.due_at < _start_of(today + timedelta(days=PREDUE_DAYS + 1)))).all()
    due = {}
    for loan in loans:
        due_day = library_day(loan.due_at)
        if library_day(loan.checked_out_at) < due_day - timedelta(days=PREDUE_DAYS):
            due[f"{loan.id}:{due_day.isoformat()}"] = loan
    return _queue_for_loans(session, "predue", due, at)


def queue_overdue_notices(session: Session, *, at: datetime | None = None) -> int:
    """Queue the overdue notice each late loan is due today, if any; how many were queued.

    A scan that missed days sends the latest notice due, never the ones it missed.
    Runs in :func:`library_loans.access.hold_queues`.
    """
    today = library_day(at or clock.now())
    loans = session.scalars(select(Loan).where(Loan.returned_at.is_(None),
                                               Loan.due_at < _start_of(today))).all()
    due = {}
    for loan in loans:
        due_day = library_day(loan.due_at)
        late = (today - due_day).days
        if late < 1:
            continue
        number = min(OVERDUE_NOTICES, (late - 1) // OVERDUE_INTERVAL_DAYS + 1)
        due[f"{loan.id}:{due_day.isoformat()}:{number}"] = loan
    return _queue_for_loans(session, "overdue", due, at)


def deliver_notice(session: Session, notice_id: uuid.UUID, mailer: Mailer,
                   sms_gateway: SmsGateway, *, final_attempt: bool = False) -> str:
    """Send one notice, at most once; the notice's status afterwards.

    Like the switchboard's messages, this commits: the notice is claimed (marked sent and
    committed while its row is locked) before it leaves, and the claim is withdrawn only
    when the server said "not now" (an IO error: retried, unless ``final_attempt``) or
    "never" (a refusal: the notice fails). A worker dying between claim and answer loses
    the notice rather than sending it twice; two workers racing lock the row in turn and
    the second finds it claimed. A notice that no longer holds (the hold was collected or
    cancelled, the loan returned or renewed) is not sent and ends failed, saying why; one
    gone with its patron is ``missing``.
    """
    notice = _locked(session, notice_id)
    if notice is None or notice.status != "queued":
        session.commit()
        return notice.status if notice is not None else "missing"
    try:
        outgoing = _compose(session, notice)
    except _NotSending as reason:
        notice.status, notice.error = "failed", str(reason)
        session.commit()
        return notice.status
    notice.status, notice.sent_at, notice.error = "sent", clock.now(), ""
    session.commit()
    try:
        if isinstance(outgoing, Mail):
            mailer.send(outgoing)
        else:
            sms_gateway.send(outgoing)
    except RefusedError as error:
        return _withdraw(session, notice_id, "failed", str(error))
    except IO_ERRORS as error:
        if final_attempt:
            return _withdraw(session, notice_id, "failed", f"{error} (gave up retrying)")
        _withdraw(session, notice_id, "queued", str(error))
        raise
    return "sent"


# --- private helpers -------------------------------------------------------------------


class _NotSending(Exception):
    """Why a queued notice is not sent at all."""


@dataclass(frozen=True)
class _Texts:
    subject: str
    email: str
    sms: str


def _hold_subject(hold: Hold) -> str:
    # One notice per arrival on a hold shelf: the hold and when it became ready.
    assert hold.ready_at is not None
    return f"{hold.id}:{hold.ready_at.astimezone(UTC):%Y%m%dT%H%M%S.%f}"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), LIBRARY_TIME)


def _queue_for_loans(session: Session, kind: str, due: dict[str, Loan],
                     at: datetime | None) -> int:
    notified = _notified(session, kind, list(due))
    waiting = {subject: loan for subject, loan in due.items() if subject not in notified}
    _load_patrons(session, {loan.patron_id for loan in waiting.values() if loan.patron_id})
    queued = 0
    for subject, loan in waiting.items():
        patron = session.get(Patron, (loan.patron_municipality_id, loan.patron_id))
        assert patron is not None  # an open loan keeps its patron
        queued += len(_queue(session, patron, kind, subject, reads=(loan.municipality_id,),
                             at=at))
    return queued


def _queue(session: Session, patron: Patron, kind: str, subject: str, *,
           reads: Iterable[uuid.UUID], at: datetime | None) -> list[uuid.UUID]:
    """Insert the notice's row per channel unless it exists; send the tasks after commit."""
    if not current_scope().includes(patron.municipality_id):
        raise TenantScopeViolation("a notice belongs to the patron's home municipality, "
                                   "which is outside the scope")
    queued = []
    for channel in _channels(patron):
        notice_id = uuid7()
        values = {"municipality_id": patron.municipality_id, "id": notice_id,
                  "patron_id": patron.id, "kind": kind, "subject": subject,
                  "channel": channel, "status": "queued", "created_at": at or clock.now(),
                  "error": ""}
        if session.execute(_insert_unless_there(session, values)).first() is not None:
            queued.append(notice_id)
    if queued:
        from library_loans.tasks import deliver_notice as delivery

        scope = TenantScope.of({patron.municipality_id, *reads}, home=patron.municipality_id,
                               crossing=NOTICE_DELIVERY)
        with tenant_scope(scope):
            for notice_id in queued:
                delivery.send_after_commit(session, str(notice_id))
    return queued


def _insert_unless_there(session: Session, values: dict[str, Any]) -> Any:
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    # RETURNING says whether the row went in (the drivers' rowcount does not, reliably).
    table = Notice.__table__
    return insert(table).values(**values).on_conflict_do_nothing(
        index_elements=["municipality_id", "kind", "subject", "channel"]
    ).returning(table.c.id)


def _channels(patron: Patron) -> list[str]:
    return [channel for channel, address in (("email", patron.email), ("sms", patron.phone))
            if address.strip()]


def _notified(session: Session, kind: str, subjects: list[str]) -> set[str]:
    """Which of ``subjects`` have a notice of ``kind`` already (on any channel)."""
    found: set[str] = set()
    for start in range(0, len(subjects), _BATCH):
        found.update(session.scalars(select(Notice.subject).where(
            Notice.kind == kind, Notice.subject.in_(subjects[start:start + _BATCH]))))
    return found


def _load_patrons(session: Session, patron_ids: set[uuid.UUID | None]) -> None:
    # Into the identity map at once, so each notice's session.get() costs no query.
    ids = sorted(patron_id for patron_id in patron_ids if patron_id is not None)
    for start in range(0, len(ids), _BATCH):
        session.scalars(select(Patron).where(Patron.id.in_(ids[start:start + _BATCH]))).all()


def _locked(session: Session, notice_id: uuid.UUID) -> Notice | None:
    """The notice, locked; None when it is gone (its patron was deleted meanwhile)."""
    # FOR UPDATE on PostgreSQL; on SQLite every write transaction begins IMMEDIATE, which
    # serialises the runs just the same.
    return session.scalars(
        select(Notice).where(Notice.id == notice_id)
        .with_for_update().execution_options(populate_existing=True)).one_or_none()


def _withdraw(session: Session, notice_id: uuid.UUID, status: str, error: str) -> str:
    notice = _locked(session, notice_id)
    if notice is not None:
        notice.status, notice.sent_at, notice.error = status, None, error[:2000]
    session.commit()
    return status


def _compose(session: Session, notice: Notice) -> Mail | Sms:
    patron = session.get(Patron, (notice.municipality_id, notice.patron_id))
    assert patron is not None  # deleting a patron deletes their notices
    values, reply_to = _FACTS[notice.kind](session, notice)
    texts = _render(notice.kind, patron.locale, {"name": patron.name, **values})
    try:
        if notice.channel == "email":
            if not patron.email.strip():
                raise _NotSending("the patron has no e-mail address any more")
            return Mail(to=patron.email.strip(), subject=texts.subject, text=texts.email,
                        reply_to=reply_to or None,
                        message_id=f"<notice.{notice.id}@samverkan.local>")
        if not patron.phone.strip():
            raise _NotSending("the patron has no phone number any more")
        return Sms(to=patron.phone.strip(), text=texts.sms, sender=SMS_SENDER,
                   reference=f"library-notice-{notice.id}")
    except ValueError as error:
        raise _NotSending(f"the patron's {_CHANNEL_NAMES[notice.channel]} cannot be used "
                          f"({error})") from error


_CHANNEL_NAMES = {"email": "e-mail address", "sms": "phone number"}


def _hold_ready_facts(session: Session, notice: Notice) -> tuple[dict[str, Any], str]:
    hold_id = uuid.UUID(notice.subject.split(":", 1)[0])
    hold = session.get(Hold, (notice.municipality_id, hold_id))
    if hold is None or hold.status != "ready" or _hold_subject(hold) != notice.subject:
        raise _NotSending("the hold is no longer waiting on the hold shelf")
    branch = session.get(Branch, (hold.pickup_municipality_id, hold.pickup_branch_id))
    record = session.get(BibRecord, hold.record_id)
    assert branch is not None and record is not None and hold.shelf_expires_on is not None
    return {**_about(record), "branch": branch.name, "address": branch.address,
            "last_day": hold.shelf_expires_on}, branch.email


def _loan_facts(session: Session, notice: Notice) -> tuple[dict[str, Any], str]:
    loan_id, due_on, *number = notice.subject.split(":")
    loan = session.scalars(select(Loan).where(Loan.id == uuid.UUID(loan_id))).one_or_none()
    if (loan is None or loan.returned_at is not None
            or library_day(loan.due_at).isoformat() != due_on):
        raise _NotSending("the loan has been returned or renewed since")
    item = session.get(Item, (loan.municipality_id, loan.item_id))
    assert item is not None
    record = session.get(BibRecord, item.record_id)
    assert record is not None
    due_day = library_day(loan.due_at)
    late = (library_day(notice.created_at) - due_day).days
    return {**_about(record), "due_day": due_day, "days_late": max(late, 1),
            "reminder": int(number[0]) if number else 0}, ""


_FACTS: dict[str, Callable[[Session, Notice], tuple[dict[str, Any], str]]] = {
    "hold_ready": _hold_ready_facts,
    "predue": _loan_facts,
    "overdue": _loan_facts,
}


def _about(record: BibRecord) -> dict[str, str]:
    title = " ".join(record.title.split())
    short = title if len(title) <= SMS_TITLE_LENGTH else (
        title[:SMS_TITLE_LENGTH - 1].rstrip() + "…")
    return {"title": title, "short_title": short,
            "author": " ".join((record.author or "").split())}


def _render(kind: str, locale: str, values: dict[str, Any]) -> _Texts:
    """The notice's subject, e-mail and SMS in the patron's language (Swedish by default)."""
    locale = locale if locale in ("sv", "en") else "sv"
    template = _templates().get_template(f"library_loans/notices/{kind}.{locale}.txt")
    shown = {name: format_date(value, "EEEE d MMMM y", locale=locale)
             if isinstance(value, date) else value for name, value in values.items()}
    context = template.new_context(shown)

    def block(name: str) -> str:
        return "".join(template.blocks[name](context)).strip()

    return _Texts(" ".join(block("subject").split()), block("email") + "\n",
                  " ".join(block("sms").split()))


@functools.cache
def _templates() -> Environment:
    # Plain text, rendered in the worker outside any request: nothing to escape.
    return Environment(loader=PackageLoader("library_loans", "templates"),
                       autoescape=select_autoescape(enabled_extensions=("html",),
                                                    default_for_string=False),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)
