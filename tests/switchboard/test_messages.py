"""Messages operators take: delivered by the real worker by e-mail and SMS, each at most once."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.infra.mail import FolderMailer, mailer_for
from services.infra.sms import RecordedSmsGateway, sms_gateway_for
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope
from switchboard.operations.directory import NumberInput, create_contact, mark_left
from switchboard.operations.messages import deliver_message, take_message
from switchboard.tasks import messages as message_tasks
from tests.support.smtp import Inbox

WAIT = 60  # seconds: an upper bound for the worker and its backoff, never a sleep


@pytest.fixture
def directory(db, municipalities):
    """Contacts in Umeå and Vännäs: with e-mail and mobile, e-mail only, neither, left."""
    umea, vannas = municipalities["umea"], municipalities["vannas"]
    made = {}
    with tenant_scope(TenantScope.of([umea.id], home=umea.id)):
        made["asa"] = create_contact(db, given_name="Åsa", family_name="Öberg",
                                     email="asa.oberg@umea.se",
                                     numbers=[NumberInput("work", "090-16 12 34"),
                                              NumberInput("mobile", "070-123 45 67")])
        made["bo"] = create_contact(db, given_name="Bo", family_name="Ek", email="bo.ek@umea.se",
                                    numbers=[NumberInput("work", "090-16 55 55")])
        made["nils"] = create_contact(db, given_name="Nils", family_name="Utan",
                                      numbers=[NumberInput("work", "090-16 99 99")])
        made["gunnar"] = create_contact(db, given_name="Gunnar", family_name="Gammal",
                                        email="gunnar@umea.se")
        mark_left(db, made["gunnar"], on=date(2026, 1, 31), successor_id=made["bo"].id)
    with tenant_scope(TenantScope.of([vannas.id], home=vannas.id)):
        made["vera"] = create_contact(db, given_name="Vera", family_name="Vännäsbo",
                                      email="vera@vannas.se")
    db.commit()
    return made


@pytest.fixture
def operator(make_staff):
    """A switchboard operator in Bjurholm, answering for every municipality."""
    return make_staff("telefonist", "bjurholm", ("operator", None))


@pytest.fixture
def sent_mail(settings):
    """The mails the folder mailer wrote for one message, by its id."""
    folder = FolderMailer(settings.data_dir / "mail", settings.mail_sender)

    def sent(message_id: str) -> list[Any]:
        wanted = f"<message.{message_id}@samverkan.local>"
        return [mail for mail in folder.sent() if mail["Message-ID"].strip() == wanted]

    return sent


@pytest.fixture
def sent_sms(settings):
    """The SMS the recorded gateway kept for one message, by its id."""
    outbox = RecordedSmsGateway(settings.data_dir / "sms" / "outbox.jsonl")
    return lambda message_id: [sms for sms in outbox.sent()
                               if sms.reference == f"switchboard-message-{message_id}"]


def take(client, staff, contact_id, **fields: Any):
    """POST a message for ``contact_id`` as ``staff``."""
    body = {"caller_name": "Karin Ek", "caller_number": "070-987 65 43",
            "subject": "Bygglov Tegsvägen 4",
            "text": "Undrar hur ärendet går.\nRing helst före 12.", "urgency": "urgent", **fields}
    return client.post(f"/switchboard/api/contacts/{contact_id}/messages", json=body,
                       headers=staff.headers)


def wait_for(client, staff, message_id, done) -> dict[str, Any]:
    """Poll the message until ``done(message)`` holds (the worker runs on its own time)."""
    deadline = time.monotonic() + WAIT
    while True:
        message = client.get(f"/switchboard/api/messages/{message_id}",
                             headers=staff.headers).get_json()
        if done(message):
            return message
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting; the message is {message}")
        time.sleep(0.05)


def settled(message: dict[str, Any]) -> bool:
    """Whether the worker has finished with a message, one way or the other."""
    return message["status"] in ("delivered", "failed")


# --- delivery through the worker -------------------------------------------------------


def test_a_message_reaches_the_contact_by_email_and_sms_in_swedish(
        celery_worker, client, operator, directory, sent_mail, sent_sms):
    asa = directory["asa"]

    answer = take(client, operator, asa.id)

    assert answer.status_code == 201, answer.get_json()
    taken = answer.get_json()
    assert taken["status"] == "queued" and taken["municipality"] == "umea"
    assert taken["contact"] == {"id": str(asa.id), "name": "Åsa Öberg"}
    assert taken["caller_number"] == "+46709876543"
    assert taken["taken_by"] == "telefonist"
    message = wait_for(client, operator, taken["id"], settled)
    assert message["status"] == "delivered", message
    assert message["attempts"] == 1 and message["last_error"] == ""
    assert message["email_sent_at"] and message["sms_sent_at"] and message["delivered_at"]
    [mail] = sent_mail(taken["id"])
    assert mail["To"] == "asa.oberg@umea.se"
    assert mail["Subject"] == "BRÅDSKANDE: Meddelande från Karin Ek – Bygglov Tegsvägen 4"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    taken_at = datetime.fromisoformat(taken["taken_at"]).astimezone(ZoneInfo("Europe/Stockholm"))
    for line in ("Vem ringde: Karin Ek", "Nummer: 070-987 65 43",
                 "Ärende: Bygglov Tegsvägen 4", "Angelägenhet: BRÅDSKANDE",
                 "Undrar hur ärendet går.\nRing helst före 12.",
                 f"Mottaget av telefonist {taken_at:%Y-%m-%d kl. %H:%M}."):
        assert line in body
    [sms] = sent_sms(taken["id"])
    assert sms.to == "+46701234567"
    assert sms.text.startswith("BRÅDSKANDE. Växeln: Karin Ek (070-987 65 43) har sökt dig "
                               "om Bygglov Tegsvägen 4.")


def test_while_the_mail_server_is_down_the_worker_retries_and_sends_once_it_is_back(
        celery_worker, client, operator, directory, sent_sms, start_smtp):
    taken = take(client, operator, directory["asa"].id, urgency="normal").get_json()

    # Between a run's claim and its outcome the e-mail shows as sent: wait for an outcome.
    retrying = wait_for(client, operator, taken["id"], lambda m: m["status"] == "retrying"
                        and m["attempts"] >= 2 and m["email_sent_at"] is None)
    assert retrying["last_error"].startswith("e-mail: ")
    assert "Connection refused" in retrying["last_error"]
    assert retrying["sms_sent_at"], "the SMS went at once, the mail server being down or not"
    inbox = start_smtp()
    message = wait_for(client, operator, taken["id"], settled)

    assert message["status"] == "delivered" and message["last_error"] == ""
    assert message["attempts"] > retrying["attempts"]
    assert len(inbox.envelopes) == 1
    assert inbox.envelopes[0].rcpt_tos == ["asa.oberg@umea.se"]
    assert len(sent_sms(taken["id"])) == 1, "the retries did not send the SMS again"


def test_a_refused_address_fails_at_once_without_a_retry_loop(
        celery_worker, client, operator, directory, start_smtp, db, municipalities):
    inbox = start_smtp(Inbox(refusals={"bo.ek@umea.se": "550 5.1.1 Mottagaren finns inte"}))
    taken = take(client, operator, directory["bo"].id).get_json()

    message = wait_for(client, operator, taken["id"], settled)

    assert message["status"] == "failed"
    assert "550 5.1.1 Mottagaren finns inte" in message["last_error"]
    assert message["attempts"] == 1 and message["email_sent_at"] is None
    assert inbox.envelopes == []
    # Running it again (a redelivered task) leaves a failed message alone.
    with tenant_scope(TenantScope.of([municipalities["umea"].id])):
        assert message_tasks.deliver_message.delay(taken["id"]).get(timeout=WAIT) == "failed"
    assert client.get(f"/switchboard/api/messages/{taken['id']}",
                      headers=operator.headers).get_json()["attempts"] == 1


def test_when_the_retries_run_out_the_message_ends_failed(
        celery_worker, client, operator, directory, smtp_port, monkeypatch):
    monkeypatch.setattr(message_tasks.deliver_message, "max_retries", 1)
    taken = take(client, operator, directory["bo"].id).get_json()

    message = wait_for(client, operator, taken["id"], settled)

    assert message["status"] == "failed" and message["attempts"] == 2
    assert message["last_error"].startswith("e-mail: ")
    assert message["last_error"].endswith("(gave up after 2 attempts)")


def test_a_contact_without_email_or_mobile_fails_saying_so(celery_worker, client, operator,
                                                            directory):
    taken = take(client, operator, directory["nils"].id).get_json()

    message = wait_for(client, operator, taken["id"], settled)

    assert message["status"] == "failed"
    assert message["last_error"] == ("The contact has neither an e-mail address nor a mobile "
                                     "number.")


def test_delivering_twice_or_racing_sends_each_channel_once(
        celery_worker, client, operator, directory, db, municipalities, sent_mail, sent_sms):
    umea = municipalities["umea"]
    with tenant_scope(TenantScope.of([umea.id])):
        message = take_message(db, directory["asa"].id, caller_name="Karin Ek",
                               caller_number="dolt nummer", subject="", text="Ring tillbaka",
                               urgency="normal", taken_by="telefonist")
        db.commit()
        message_id = str(message.id)
        racing = [message_tasks.deliver_message.delay(message_id) for _ in range(2)]
        assert {result.get(timeout=WAIT) for result in racing} == {"delivered"}
        assert message_tasks.deliver_message.delay(message_id).get(timeout=WAIT) == "delivered"

    assert len(sent_mail(message_id)) == 1
    assert len(sent_sms(message_id)) == 1
    delivered = client.get(f"/switchboard/api/messages/{message_id}",
                           headers=operator.headers).get_json()
    assert delivered["attempts"] == 1 and delivered["caller_number"] == "dolt nummer"


# --- at most once, even across a crash --------------------------------------------------


class WorkerDies(BaseException):
    """The process going away right after the mail server took the message."""


class DyingMailer:
    """Hands the mail over for real, then the worker dies before it can record that."""

    def __init__(self, mailer) -> None:
        self.mailer = mailer

    def send(self, mail) -> str:
        self.mailer.send(mail)
        raise WorkerDies


def test_a_worker_dying_after_sending_does_not_make_the_retry_send_again(
        db, directory, municipalities, settings, sent_mail, sent_sms):
    umea = municipalities["umea"]
    mailer, gateway = mailer_for(settings), sms_gateway_for(settings)
    with tenant_scope(TenantScope.of([umea.id])):
        message = take_message(db, directory["asa"].id, caller_name="Karin Ek",
                               caller_number="", subject="Faktura", text="",
                               urgency="normal", taken_by="telefonist")
        db.commit()
        with pytest.raises(WorkerDies):
            deliver_message(db, message.id, DyingMailer(mailer), gateway)
        db.rollback()

        assert deliver_message(db, message.id, mailer, gateway) == "delivered"
        db.commit()

    assert len(sent_mail(str(message.id))) == 1, "the claim kept the retry from resending"
    assert sent_sms(str(message.id)) == [], "the SMS was claimed too, and lost with the crash"


# --- taking messages: who may, and what they must say -----------------------------------


def test_only_operators_take_messages(client, make_staff, directory):
    editor = make_staff("redaktor", "umea", ("directory_editor", "umea"))

    answer = take(client, editor, directory["asa"].id)

    assert answer.status_code == 403
    assert "operator" in answer.get_json()["error"]["message"]


@pytest.mark.parametrize(("fields", "field_at_fault"), [
    ({"caller_name": "  "}, "caller_name"),
    ({"caller_number": "12"}, "caller_number"),
    ({"urgency": "asap"}, "urgency"),
    ({"subject": "x" * 201}, "subject"),
])
def test_bad_input_is_refused_naming_the_field(client, operator, directory, fields,
                                               field_at_fault):
    answer = take(client, operator, directory["asa"].id, **fields)

    assert answer.status_code == 400
    assert field_at_fault in answer.get_json()["error"]["fields"]["json"]


def test_a_message_for_someone_who_has_left_names_their_successor(client, operator, directory):
    answer = take(client, operator, directory["gunnar"].id)

    assert answer.status_code == 400
    [complaint] = answer.get_json()["error"]["fields"]["path"]["contact_id"]
    assert "Gunnar Gammal has left" in complaint
    assert f"Bo Ek (contact {directory['bo'].id})" in complaint


def test_an_unknown_contact_is_not_found(client, operator, directory):
    answer = take(client, operator, "0192f0c2-0000-7000-8000-000000000000")

    assert answer.status_code == 404


def test_an_operator_takes_messages_everywhere_and_editors_see_only_their_own(
        client, operator, make_staff, directory):
    vannas_editor = make_staff("vannasredaktor", "vannas", ("directory_editor", "vannas"))
    for_vera = take(client, operator, directory["vera"].id)
    for_asa = take(client, operator, directory["asa"].id)
    assert for_vera.status_code == 201 and for_asa.status_code == 201
    vera_id, asa_id = for_vera.get_json()["id"], for_asa.get_json()["id"]
    assert for_vera.get_json()["municipality"] == "vannas"

    listed = client.get("/switchboard/api/messages", headers=operator.headers).get_json()
    assert [m["id"] for m in listed] == [asa_id, vera_id]
    only_vera = client.get(f"/switchboard/api/messages?contact={directory['vera'].id}",
                           headers=operator.headers).get_json()
    assert [m["id"] for m in only_vera] == [vera_id]

    seen = client.get("/switchboard/api/messages", headers=vannas_editor.headers).get_json()
    assert [m["id"] for m in seen] == [vera_id]
    assert client.get(f"/switchboard/api/messages/{asa_id}",
                      headers=vannas_editor.headers).status_code == 404
    assert client.get(f"/switchboard/api/messages/{vera_id}",
                      headers=vannas_editor.headers).status_code == 200


def test_listing_since_a_time_and_a_bad_limit(client, operator, directory):
    take(client, operator, directory["asa"].id)
    later = (datetime.now().astimezone() + timedelta(hours=1)).isoformat()

    assert client.get("/switchboard/api/messages", query_string={"since": later},
                      headers=operator.headers).get_json() == []
    answer = client.get("/switchboard/api/messages?limit=0", headers=operator.headers)
    assert answer.status_code == 422
    assert "limit" in answer.get_json()["error"]["fields"]["query"]


def test_the_console_list_costs_the_same_queries_for_two_messages_or_twenty(
        client, operator, directory, migrated, municipalities, count_queries):
    umea = municipalities["umea"]

    def take_for_everyone(times: int) -> None:
        # A writing session of its own: ``db`` reads in deferred transactions, and on SQLite
        # a write there fails when the worker (still retrying an earlier test's delivery)
        # committed after its first read.
        with tenant_scope(TenantScope.of([umea.id])), session_factory_for(migrated)() as writer:
            for number in range(times):
                for name in ("asa", "bo"):
                    take_message(writer, directory[name].id,
                                 caller_name=f"Uppringare {number}", taken_by="telefonist")
            writer.commit()

    def listing_queries() -> int:
        with count_queries() as statements:
            listed = client.get("/switchboard/api/messages", headers=operator.headers)
        assert listed.status_code == 200
        return len(statements)

    take_for_everyone(1)
    listing_queries()  # the first request of a process also warms its caches
    with_two = listing_queries()
    take_for_everyone(9)
    assert listing_queries() == with_two
