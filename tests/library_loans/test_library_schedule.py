"""The library's scheduled jobs: reminders and overdue notices on their days, the holds' jobs."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time

import pytest
from sqlalchemy import select

from library_loans import tasks
from library_loans.access import hold_queues
from library_loans.models import Hold, Item, Notice
from library_loans.operations.administration import set_rule
from library_loans.operations.circulation import checkout, find_patron, renew
from library_loans.operations.holds import place_hold
from library_loans.operations.notices import queue_overdue_notices, queue_predue_notices
from library_loans.operations.rules import LIBRARY_TIME
from services.infra.mail import FolderMailer
from services.tenancy import TenantScope, tenant_scope
from tests.library_loans.conftest import MONDAY

WAIT = 60  # seconds: an upper bound for the worker, never a sleep
DUE = date(2026, 3, 30)
"""When a 28-day loan made on MONDAY is due."""


def morning(day: date) -> datetime:
    """Seven in the morning at the library on ``day``, when the daily job runs."""
    return datetime.combine(day, clock_time(7), LIBRARY_TIME)


def scan(session, day: date) -> tuple[int, int]:
    """What the morning job queues on ``day``: (reminders, overdue notices)."""
    return (queue_predue_notices(session, at=morning(day)),
            queue_overdue_notices(session, at=morning(day)))


def read(db, query):
    """Rows of ``query`` in the consortium's scope, read afresh (the read then ends)."""
    with hold_queues(db):
        rows = list(db.execute(query.execution_options(populate_existing=True)))
    db.commit()
    return rows


def wait_for_sent(db, count: int) -> list[Notice]:
    """Poll until ``count`` notices exist and none is still queued."""
    deadline = time.monotonic() + WAIT
    while True:
        found = [row[0] for row in read(db, select(Notice).order_by(Notice.created_at))]
        if len(found) == count and all(notice.status != "queued" for notice in found):
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting; notices: {[(n.kind, n.status) for n in found]}")
        time.sleep(0.05)


@pytest.fixture
def sent_mail(settings):
    """The mail the folder mailer wrote for one notice, waiting for it to be written."""
    folder = FolderMailer(settings.data_dir / "mail", settings.mail_sender)

    def sent(notice_id) -> list:
        deadline = time.monotonic() + WAIT
        while True:
            found = [mail for mail in folder.sent()
                     if mail["Message-ID"].strip() == f"<notice.{notice_id}@samverkan.local>"]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    return sent


def body_of(mail) -> str:
    """A mail's plain-text body with plain line ends."""
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


# --- reminders and overdue notices -----------------------------------------------------


def test_a_reminder_three_days_ahead_and_overdue_notices_weekly_three_times(consortium,
                                                                            queues):
    checkout(queues, "U0001", find_patron(queues, "10000001"), consortium.branches["UMEA-STADS"],
             at=MONDAY)
    expected = {
        date(2026, 3, 26): (0, 0),
        date(2026, 3, 27): (1, 0),  # three days before the due date
        date(2026, 3, 28): (0, 0),
        DUE: (0, 0),
        date(2026, 3, 31): (0, 1),  # the day after
        date(2026, 4, 6): (0, 0),
        date(2026, 4, 7): (0, 1),  # a week on
        date(2026, 4, 14): (0, 1),  # and the last
        date(2026, 4, 21): (0, 0),
        date(2026, 6, 1): (0, 0),
    }

    assert {day: scan(queues, day) for day in expected} == expected
    kinds = queues.execute(select(Notice.kind, Notice.subject).order_by(Notice.created_at)).all()
    assert [(kind, subject.split(":", 1)[1]) for kind, subject in kinds] == [
        ("predue", "2026-03-30"), ("overdue", "2026-03-30:1"), ("overdue", "2026-03-30:2"),
        ("overdue", "2026-03-30:3")]


def test_a_missed_morning_is_caught_up_a_renewal_earns_a_new_reminder_a_short_loan_none(
        consortium, queues):
    loan = checkout(queues, "U0001", find_patron(queues, "10000001"),
                    consortium.branches["UMEA-STADS"], at=MONDAY)
    with tenant_scope(TenantScope.of([consortium.municipalities["vindeln"].id])):
        set_rule(queues, loan_days=2)
    checkout(queues, "V0001", find_patron(queues, "20000001"), consortium.branches["VINDELN-HB"],
             at=MONDAY)

    # The two-day loan is never reminded of, only told when it is late.
    assert [scan(queues, MONDAY.date() + timedelta(days=n)) for n in range(3)] == [(0, 0)] * 3
    assert scan(queues, date(2026, 3, 5)) == (0, 1)
    # The job did not run from the 6th: the reminder is caught up, the overdue notices
    # missed are not, only the latest (the third) goes.
    assert scan(queues, date(2026, 3, 29)) == (1, 1)
    renew(queues, loan, at=morning(date(2026, 3, 29)))
    assert scan(queues, date(2026, 4, 22)) == (0, 0)
    assert scan(queues, date(2026, 4, 23)) == (1, 0), "three days before the new due date"
    assert queues.scalars(select(Notice.subject).where(Notice.kind == "overdue")
                          .order_by(Notice.subject)).all()[-1].endswith(":3")


def test_the_morning_job_reminds_a_vindeln_patron_of_an_umea_copy_from_vindeln(
        celery_worker, consortium, queues, db, sent_mail):
    checkout(queues, "U0001", find_patron(queues, "20000001"), consortium.branches["UMEA-STADS"],
             at=MONDAY)
    queues.commit()

    assert tasks.queue_loan_notices.delay(at=morning(date(2026, 3, 27)).isoformat()).get(
        timeout=WAIT) == {"predue": 1, "overdue": 0}
    [reminder] = wait_for_sent(db, 1)
    assert tasks.queue_loan_notices.delay(at=morning(date(2026, 4, 1)).isoformat()).get(
        timeout=WAIT) == {"predue": 0, "overdue": 1}
    overdue = wait_for_sent(db, 2)[1]

    assert reminder.municipality_id == overdue.municipality_id == (
        consortium.municipalities["vindeln"].id), "the notices are the patron's home's"
    assert (reminder.status, overdue.status) == ("sent", "sent")
    [mail] = sent_mail(reminder.id)
    assert mail["To"] == "20000001@example.org"
    assert mail["Subject"] == ("Påminnelse: Bröderna Lejonhjärta ska lämnas tillbaka "
                               "måndag 30 mars 2026")
    assert "Sista lånedag: måndag 30 mars 2026" in body_of(mail)
    [mail] = sent_mail(overdue.id)
    assert mail["Subject"] == ("Försenat lån: Bröderna Lejonhjärta skulle ha lämnats "
                               "tillbaka måndag 30 mars 2026")
    assert "och är nu 2 dagar försenat" in body_of(mail)


# --- the holds' jobs -------------------------------------------------------------------


def _stuck_in_transit(consortium, queues) -> Hold:
    hold = place_hold(queues, find_patron(queues, "30000001"), consortium.records["bröder"],
                      consortium.branches["VANNAS-HB"], at=MONDAY)
    assert (hold.status, hold.item_id) == ("in_transit", consortium.items["umea-1"].id)
    queues.commit()
    return hold


def test_the_retarget_job_sends_another_copy_when_the_first_never_arrives(
        celery_worker, consortium, queues, db):
    hold = _stuck_in_transit(consortium, queues)

    assert tasks.retarget_holds.delay(at=(MONDAY + timedelta(days=3)).isoformat()).get(
        timeout=WAIT) == 0
    assert tasks.retarget_holds.delay(at=(MONDAY + timedelta(days=6)).isoformat()).get(
        timeout=WAIT) == 1

    [(now,)] = read(db, select(Hold).where(Hold.id == hold.id))
    assert (now.status, now.item_id) == ("in_transit", consortium.items["vindeln-1"].id)
    statuses = dict(read(db, select(Item.barcode, Item.status)))
    assert statuses == {"U0001": "missing", "V0001": "in_transit"}


def test_two_runs_of_the_retarget_job_at_once_fill_the_hold_once(celery_worker, consortium,
                                                                  queues, db):
    hold = _stuck_in_transit(consortium, queues)
    at = (MONDAY + timedelta(days=6)).isoformat()

    racing = [tasks.retarget_holds.delay(at=at) for _ in range(2)]
    outcomes = sorted((result.get(timeout=WAIT) for result in racing), key=str)

    # Taking turns the second finds nothing left to do; at once it stands aside.
    assert outcomes in ([0, 1], [1, None])
    [(now,)] = read(db, select(Hold).where(Hold.id == hold.id))
    assert (now.status, now.item_id) == ("in_transit", consortium.items["vindeln-1"].id)


def test_the_expiry_job_passes_an_uncollected_copy_on_and_tells_the_next_in_line(
        celery_worker, consortium, queues, db, sent_mail):
    checkout(queues, "V0001", find_patron(queues, "20000001"), consortium.branches["VINDELN-HB"],
             at=MONDAY)
    record, branch = consortium.records["bröder"], consortium.branches["UMEA-STADS"]
    first = place_hold(queues, find_patron(queues, "10000001"), record, branch, at=MONDAY)
    second = place_hold(queues, find_patron(queues, "10000002"), record, branch,
                        at=MONDAY + timedelta(minutes=1))
    assert (first.status, first.shelf_expires_on, second.status) == (
        "ready", date(2026, 3, 9), "waiting")
    queues.commit()

    assert tasks.expire_uncollected_holds.delay(at=morning(date(2026, 3, 10)).isoformat()).get(
        timeout=WAIT) == 1

    statuses = dict(read(db, select(Hold.id, Hold.status)))
    assert (statuses[first.id], statuses[second.id]) == ("expired", "ready")
    # The first was told when the hold was placed (the copy was on the shelf already).
    told = {notice.patron_id: notice for notice in wait_for_sent(db, 2)}
    notice = told[second.patron_id]
    assert (notice.kind, notice.status) == ("hold_ready", "sent")
    [mail] = sent_mail(notice.id)
    assert mail["To"] == "10000002@example.org"
    assert "Sista dag att hämta: tisdag 17 mars 2026" in body_of(mail)


# --- the schedule ----------------------------------------------------------------------


def test_beat_runs_every_library_job(celery_app):
    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}

    jobs = {tasks.queue_hold_ready_notices, tasks.queue_loan_notices, tasks.retarget_holds,
            tasks.expire_uncollected_holds, tasks.purge_ended_patron_sessions}
    assert {job.name for job in jobs} <= scheduled
