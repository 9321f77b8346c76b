"""Patron notices through the real worker: in the patron's language, mail and SMS, never twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, select

from library_loans import tasks
from library_loans.access import hold_queues
from library_loans.models import Notice
from library_loans.operations.administration import register_patron
from library_loans.operations.circulation import checkout, find_patron
from library_loans.operations.holds import place_hold
from library_loans.operations.notices import queue_hold_ready, queue_ready_hold_notices
from services.infra.mail import FolderMailer
from services.infra.sms import RecordedSmsGateway
from services.tenancy import TenantScope, tenant_scope
from tests.library_loans.conftest import MONDAY
from tests.support.smtp import Inbox

WAIT = 60  # seconds: an upper bound for the worker and its backoff, never a sleep


# --- fixtures and helpers --------------------------------------------------------------


@pytest.fixture
def sent_mail(settings) -> Callable[[Any], list[Any]]:
    """The mails the folder mailer wrote for one notice, by the notice's id."""
    folder = FolderMailer(settings.data_dir / "mail", settings.mail_sender)
    return lambda notice_id: [mail for mail in folder.sent()
                              if mail["Message-ID"].strip()
                              == f"<notice.{notice_id}@samverkan.local>"]


@pytest.fixture
def sent_sms(settings) -> Callable[[Any], list[Any]]:
    """The SMS the recorded gateway kept for one notice, by the notice's id."""
    outbox = RecordedSmsGateway(settings.data_dir / "sms" / "outbox.jsonl")
    return lambda notice_id: [sms for sms in outbox.sent()
                              if sms.reference == f"library-notice-{notice_id}"]


def notices(db) -> list[Notice]:
    """Every notice of the consortium, oldest first (read, then the read ends)."""
    with hold_queues(db):
        found = list(db.scalars(select(Notice).order_by(Notice.created_at, Notice.channel)
                                .execution_options(populate_existing=True)))
    db.commit()
    return found


def wait_for(db, done: Callable[[list[Notice]], bool]) -> list[Notice]:
    """Poll the notices until ``done(notices)`` holds (the worker runs on its own time)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = notices(db)
        if done(found):
            return found
        if time.monotonic() > deadline:
            pytest.fail("gave up waiting; the notices are "
                        f"{[(n.kind, n.channel, n.status, n.error) for n in found]}")
        time.sleep(0.05)


def eventually(condition: Callable[[], Any]) -> None:
    """Wait until ``condition()`` is true, or fail after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("gave up waiting")
        time.sleep(0.05)


def delivered(fetch: Callable[[Any], list[Any]], notice_id: Any) -> list[Any]:
    """What ``fetch`` finds sent for the notice, once something is (a claimed notice shows
    as sent a moment before the mailer or gateway has it)."""
    eventually(lambda: fetch(notice_id))
    return fetch(notice_id)


def settled(count: int) -> Callable[[list[Notice]], bool]:
    """Done when ``count`` notices exist and the worker has finished with every one."""
    return lambda found: len(found) == count and all(n.status != "queued" for n in found)


def register(consortium, session, slug: str, branch: str, **fields: Any) -> None:
    """Register a patron of ``slug`` in ``session`` (find them by their card afterwards)."""
    with tenant_scope(TenantScope.of([consortium.municipalities[slug].id])):
        register_patron(session, pin="1234", home_branch=consortium.branches[branch], **fields)


def ready_hold(consortium, queues, card: str, pickup: str = "UMEA-STADS"):
    """A hold of the card's patron, ready at once on ``pickup``'s hold shelf."""
    hold = place_hold(queues, find_patron(queues, card), consortium.records["bröder"],
                      consortium.branches[pickup], at=MONDAY)
    assert hold.status == "ready"
    return hold


def ready_hold_without_notice(consortium, queues, card: str, pickup: str = "UMEA-STADS"):
    """A ready hold whose immediate notice was lost (as if made ready before notices
    existed, or its queueing failed): what the worker's scan is there to catch."""
    hold = ready_hold(consortium, queues, card, pickup)
    queues.execute(delete(Notice).where(Notice.patron_id == hold.patron_id))
    return hold


def queued_for(session, hold) -> list[Any]:
    """The ids of the "ready for pickup" notices queued for the hold's patron."""
    return list(session.scalars(select(Notice.id).where(
        Notice.patron_id == hold.patron_id, Notice.kind == "hold_ready")))


def home_scope(consortium, slug: str) -> TenantScope:
    """The patron's home municipality alone: the scope a notice is delivered in."""
    return TenantScope.of([consortium.municipalities[slug].id])


# --- hold ready ------------------------------------------------------------------------


def test_an_english_patron_hears_in_english_by_mail_and_sms_and_only_at_home(
        celery_worker, consortium, queues, db, sent_mail, sent_sms):
    register(consortium, queues, "vannas", "VANNAS-HB", card_number="30000002", name="Vera Visitor",
             email="vera@example.org", phone="+46701234567", locale="en")
    hold = ready_hold(consortium, queues, "30000002")  # an Umeå branch's hold shelf

    queued = queued_for(queues, hold)  # by the placing itself, the copy being on the shelf
    assert queue_hold_ready(queues, hold) == [], "queued once"
    queues.commit()

    assert len(queued) == 2
    by_channel = {n.channel: n for n in wait_for(db, settled(2))}
    assert {n.status for n in by_channel.values()} == {"sent"}
    assert {n.municipality_id for n in by_channel.values()} == {
        consortium.municipalities["vannas"].id}, "the notice is the patron's home's"
    [mail] = delivered(sent_mail, by_channel["email"].id)
    assert mail["To"] == "vera@example.org"
    assert mail["Subject"] == "Your reservation is ready for pickup: Bröderna Lejonhjärta"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Hello Vera Visitor," in body
    assert "Pick it up at: Umeå stadsbibliotek" in body
    assert "Last day to pick it up: Monday 9 March 2026" in body
    [sms] = delivered(sent_sms, by_channel["sms"].id)
    assert (sms.to, sms.sender) == ("+46701234567", "Biblioteket")
    assert sms.text == ('Library: "Bröderna Lejonhjärta" is ready for pickup at '
                        "Umeå stadsbibliotek until Monday 9 March 2026.")
    # The pickup branch's municipality sees nothing of the patron's notices.
    with tenant_scope(home_scope(consortium, "umea")):
        assert db.scalars(select(Notice)).all() == []
    db.commit()


def test_the_scan_and_the_task_run_twice_send_one_swedish_mail(
        celery_worker, consortium, queues, db, sent_mail, sent_sms):
    ready_hold_without_notice(consortium, queues, "10000001")
    queues.commit()

    assert tasks.queue_hold_ready_notices.delay().get(timeout=WAIT) == 1
    assert tasks.queue_hold_ready_notices.delay().get(timeout=WAIT) == 0
    [notice] = wait_for(db, settled(1))
    with tenant_scope(home_scope(consortium, "umea")):
        again = [tasks.deliver_notice.delay(str(notice.id)) for _ in range(2)]
        assert {result.get(timeout=WAIT) for result in again} == {"sent"}

    assert (notice.kind, notice.channel, notice.status) == ("hold_ready", "email", "sent")
    [mail] = delivered(sent_mail, notice.id)
    assert mail["Subject"] == "Din reservation finns att hämta: Bröderna Lejonhjärta"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Hej Ulla Umeå!" in body
    assert "Sista dag att hämta: måndag 9 mars 2026" in body
    assert sent_sms(notice.id) == [], "Ulla has no phone number"
    assert len(notices(db)) == 1


def test_deliveries_racing_for_one_notice_send_it_once(celery_worker, consortium, queues, db,
                                                       sent_mail):
    hold = ready_hold(consortium, queues, "10000001")
    [notice_id] = queued_for(queues, hold)
    queues.commit()  # sends the delivery task; two more race it
    with tenant_scope(home_scope(consortium, "umea")):
        racing = [tasks.deliver_notice.delay(str(notice_id)) for _ in range(2)]
        assert {result.get(timeout=WAIT) for result in racing} == {"sent"}

    wait_for(db, settled(1))
    assert len(delivered(sent_mail, notice_id)) == 1


def test_two_scans_racing_queue_each_notice_once(celery_worker, consortium, queues, db,
                                                 sent_mail):
    ready_hold_without_notice(consortium, queues, "10000001")
    queues.commit()
    start = threading.Barrier(2)
    queued: list[int] = []
    failures: list[BaseException] = []

    def scan() -> None:
        try:
            with consortium.session() as session, hold_queues(session):
                start.wait(timeout=WAIT)
                queued.append(queue_ready_hold_notices(session))
                session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            failures.append(error)

    scanners = [threading.Thread(target=scan) for _ in range(2)]
    for scanner in scanners:
        scanner.start()
    for scanner in scanners:
        scanner.join(timeout=WAIT)

    assert failures == []
    assert sorted(queued) == [0, 1]
    [notice] = wait_for(db, settled(1))
    assert notice.status == "sent" and len(delivered(sent_mail, notice.id)) == 1


def test_a_hold_collected_before_its_notice_went_is_not_notified(
        celery_worker, consortium, queues, db, sent_mail):
    hold = ready_hold(consortium, queues, "10000001")
    [notice_id] = queued_for(queues, hold)
    # The patron is at the desk already: the copy goes out in the same transaction.
    checkout(queues, "U0001", find_patron(queues, "10000001"), consortium.branches["UMEA-STADS"],
             at=MONDAY)
    queues.commit()

    [notice] = wait_for(db, settled(1))
    assert notice.status == "failed"
    assert notice.error == "the hold is no longer waiting on the hold shelf"
    assert sent_mail(notice_id) == []
    assert queue_hold_ready(queues, hold) == [], "a collected hold is not ready any more"


def test_a_patron_without_address_or_phone_gets_no_notice(celery_worker, consortium, queues):
    register(consortium, queues, "vindeln", "VINDELN-HB", card_number="20000002",
             name="Tyst Person")
    hold = ready_hold(consortium, queues, "20000002", pickup="VINDELN-HB")

    assert queued_for(queues, hold) == []
    assert queue_hold_ready(queues, hold) == []


# --- when the mail server is down or says no -------------------------------------------


def test_while_the_mail_server_is_down_the_notice_is_retried_and_sent_once_it_is_back(
        celery_worker, consortium, queues, db, start_smtp):
    ready_hold(consortium, queues, "10000001")  # queues its notice
    queues.commit()

    [retrying] = wait_for(db, lambda found: len(found) == 1 and found[0].error != "")
    assert retrying.status == "queued" and retrying.sent_at is None
    assert "refused" in retrying.error.lower()
    inbox = start_smtp()
    # A claimed notice shows as sent before the server has answered: wait for the mail.
    eventually(lambda: inbox.envelopes)
    [notice] = wait_for(db, lambda found: found[0].error == "")

    assert notice.status == "sent" and notice.sent_at is not None
    assert len(inbox.envelopes) == 1
    assert inbox.envelopes[0].rcpt_tos == ["10000001@example.org"]


def test_a_refused_address_fails_at_once_without_retrying(celery_worker, consortium, queues,
                                                          db, start_smtp):
    inbox = start_smtp(Inbox(refusals={"10000001@example.org": "550 5.1.1 Mottagaren finns inte"}))
    ready_hold(consortium, queues, "10000001")  # queues its notice
    queues.commit()

    [notice] = wait_for(db, lambda found: len(found) == 1 and found[0].status == "failed")
    assert notice.sent_at is None
    assert "550 5.1.1 Mottagaren finns inte" in notice.error
    assert inbox.envelopes == []


def test_when_the_retries_run_out_the_notice_ends_failed(celery_worker, consortium, queues, db,
                                                         start_smtp, monkeypatch):
    monkeypatch.setattr(tasks.deliver_notice, "max_retries", 1)
    ready_hold(consortium, queues, "10000001")  # queues its notice
    queues.commit()

    [notice] = wait_for(db, lambda found: len(found) == 1 and found[0].status == "failed")
    assert notice.sent_at is None
    assert "refused" in notice.error.lower() and notice.error.endswith("(gave up retrying)")
