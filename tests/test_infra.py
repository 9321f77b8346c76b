"""Mail, SMS and blob storage, each against a real server on loopback or a real folder.

The SMTP server is aiosmtpd, the SMS gateway an ``http.server`` with scripted answers and
the object store moto's S3 server, each in a thread of this process. None of these tests
touches the database.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from moto.server import ThreadedMotoServer

from services import clock
from services.config import ConfigurationError, Settings
from services.infra import RefusedError
from services.infra.mail import FolderMailer, Message, SmtpMailer, mailer_for
from services.infra.sms import HttpSmsGateway, RecordedSmsGateway, Sms, sms_gateway_for
from services.infra.storage import (
    BlobNotFoundError,
    BlobStore,
    DiskBlobStore,
    InvalidBlobKeyError,
    S3BlobStore,
    blob_store_for,
)
from tests.support.smtp import Inbox
from worker.base import IO_ERRORS

SENDER = "Samverkan <noreply@samverkan.local>"
SWEDISH = "Hej Åsa! Boken ”Röda rummet” ska lämnas på biblioteket i Vännäs senast måndag."


def settings_in(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of the embedded default with their data folder in ``data_dir``."""
    return Settings(data_dir=data_dir).with_overrides(**overrides)


def reminder(**changes: Any) -> Message:
    """A loan reminder in Swedish, with both bodies."""
    values: dict[str, Any] = {
        "to": "Åsa Öberg <asa.oberg@vannas.se>",
        "subject": "Påminnelse: lånet förfaller på måndag",
        "text": SWEDISH,
        "html": f"<p>{SWEDISH}</p>",
        "reply_to": "Biblioteket i Vännäs <bibliotek@vannas.se>",
        "headers": {"X-Samverkan-Municipality": "vannas"},
        "message_id": "<loan-reminder-0192@samverkan.local>",
    }
    return Message(**{**values, **changes})


def parsed(raw: bytes) -> EmailMessage:
    """A mail parsed back the way a mail client would."""
    return cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def assert_is_the_reminder(mail: EmailMessage) -> None:
    """The reminder arrived whole: headers, both bodies, every å, ä and ö."""
    assert mail["Subject"] == "Påminnelse: lånet förfaller på måndag"
    assert mail["To"] == "Åsa Öberg <asa.oberg@vannas.se>"
    assert mail["From"] == SENDER
    assert mail["Reply-To"] == "Biblioteket i Vännäs <bibliotek@vannas.se>"
    assert mail["Message-ID"] == "<loan-reminder-0192@samverkan.local>"
    assert mail["X-Samverkan-Municipality"] == "vannas"
    assert mail["Date"]
    assert mail.get_body(("plain",)).get_content().strip() == SWEDISH
    assert mail.get_body(("html",)).get_content().strip() == f"<p>{SWEDISH}</p>"


def free_port() -> int:
    """A loopback port nobody listens on (the OS just handed it out and took it back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


# --- mail to a folder ------------------------------------------------------------------


def test_a_mail_written_to_the_folder_reads_back_whole_in_swedish(tmp_path):
    mailer = mailer_for(settings_in(tmp_path))

    message_id = mailer.send(reminder())

    assert message_id == "<loan-reminder-0192@samverkan.local>"
    files = list((tmp_path / "mail").iterdir())
    assert [path.suffix for path in files] == [".eml"], "one finished file, no leftovers"
    assert_is_the_reminder(parsed(files[0].read_bytes()))


def test_folder_mail_file_names_sort_in_the_order_the_mails_were_sent(tmp_path):
    mailer = FolderMailer(tmp_path, SENDER)
    with clock.frozen_at(datetime(2025, 3, 3, 9, 0, tzinfo=UTC)):
        for number in range(3):
            mailer.send(reminder(subject=f"Påminnelse {number}", message_id=None))
    with clock.frozen_at(datetime(2025, 3, 3, 8, 0, tzinfo=UTC)):
        mailer.send(reminder(subject="Sent at eight", message_id=None))

    subjects = [mail["Subject"] for mail in mailer.sent()]

    assert subjects == ["Sent at eight", "Påminnelse 0", "Påminnelse 1", "Påminnelse 2"]


def test_a_mail_without_a_message_id_gets_a_new_one_in_the_senders_domain(tmp_path):
    mailer = FolderMailer(tmp_path, SENDER)

    first = mailer.send(reminder(message_id=None))
    second = mailer.send(reminder(message_id=None))

    assert first != second
    assert first.endswith("@samverkan.local>") and second.endswith("@samverkan.local>")
    assert [mail["Message-ID"] for mail in mailer.sent()] == [first, second]


@pytest.mark.parametrize(("changes", "field_at_fault"), [
    ({"to": []}, "to"),
    ({"to": "inte en adress"}, "inte en adress"),
    ({"headers": {"Bcc": "someone@example.org"}}, "Bcc"),
    ({"message_id": "no-angle-brackets"}, "message_id"),
])
def test_a_malformed_message_is_refused_naming_what_is_wrong(changes, field_at_fault):
    with pytest.raises(ValueError, match=field_at_fault):
        reminder(**changes)


@pytest.mark.parametrize(("changes", "field_at_fault"), [
    ({"subject": "Hej\r\nBcc: everyone@example.org"}, "subject"),
    ({"headers": {"X-Note": "a\nBcc: everyone@example.org"}}, "headers[X-Note]"),
])
def test_a_header_smuggling_a_second_header_is_refused(changes, field_at_fault):
    with pytest.raises(ValueError, match=re.escape(f"{field_at_fault}: must be a single line")):
        reminder(**changes)


# --- mail through SMTP -----------------------------------------------------------------


@dataclass
class SmtpServer:
    """A running local SMTP server and what it received."""

    port: int
    inbox: Inbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield SmtpServer(controller.port, inbox)
    controller.stop()


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost: (certificate, key)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_smtp_server(certificate) -> Iterator[SmtpServer]:
    """An SMTP server that insists on STARTTLS and on logging in as anna."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == b"anna" and auth_data.password == b"p@ss:w/rd")
        return AuthResult(success=ok)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            tls_context=context, require_starttls=True,
                            auth_required=True, authenticator=authenticate)
    controller.start()
    yield SmtpServer(controller.port, inbox)
    controller.stop()


def test_a_mail_sent_through_smtp_arrives_whole_in_swedish(smtp_server, tmp_path):
    settings = settings_in(tmp_path, mail_backend="smtp", mail_sender=SENDER,
                           smtp_url=f"smtp://127.0.0.1:{smtp_server.port}")

    message_id = mailer_for(settings).send(reminder())

    [envelope] = smtp_server.inbox.envelopes
    assert message_id == "<loan-reminder-0192@samverkan.local>"
    assert envelope.mail_from == "noreply@samverkan.local"
    assert envelope.rcpt_tos == ["asa.oberg@vannas.se"]
    assert_is_the_reminder(parsed(envelope.content))
    assert not (tmp_path / "mail").exists(), "smtp mode writes no folder"


def test_smtp_with_starttls_logs_in_with_the_credentials_in_the_url(tls_smtp_server,
                                                                     certificate):
    url = f"smtp://anna:p%40ss%3Aw%2Frd@localhost:{tls_smtp_server.port}?starttls=true"
    trusting = ssl.create_default_context(cafile=str(certificate[0]))

    SmtpMailer(url, SENDER, tls_context=trusting).send(reminder())

    [envelope] = tls_smtp_server.inbox.envelopes
    assert_is_the_reminder(parsed(envelope.content))


def test_a_mail_server_that_is_down_raises_an_error_the_task_retries():
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", SENDER, timeout=2)

    with pytest.raises(IO_ERRORS) as raised:
        mailer.send(reminder())

    assert not isinstance(raised.value, RefusedError)


def test_a_mail_server_that_never_answers_times_out_as_a_retryable_error(silent_port):
    mailer = SmtpMailer(f"smtp://127.0.0.1:{silent_port}", SENDER, timeout=0.3)

    with pytest.raises(IO_ERRORS, match="timed out"):
        mailer.send(reminder())


def test_a_recipient_the_server_refuses_for_good_fails_without_retrying(smtp_server):
    smtp_server.inbox.refusals["asa.oberg@vannas.se"] = "550 5.1.1 Mottagaren finns inte"
    mailer = SmtpMailer(f"smtp://127.0.0.1:{smtp_server.port}", SENDER)

    with pytest.raises(RefusedError, match=r"550 5\.1\.1 Mottagaren finns inte") as raised:
        mailer.send(reminder())

    assert not isinstance(raised.value, IO_ERRORS)
    assert smtp_server.inbox.envelopes == []


def test_a_recipient_the_server_defers_is_retried(smtp_server):
    smtp_server.inbox.refusals["asa.oberg@vannas.se"] = "451 4.3.0 Försök igen senare"
    mailer = SmtpMailer(f"smtp://127.0.0.1:{smtp_server.port}", SENDER)

    with pytest.raises(IO_ERRORS) as raised:
        mailer.send(reminder())

    assert not isinstance(raised.value, RefusedError)


@pytest.mark.parametrize(("url", "complaint"), [
    ("http://mail.example.org", "smtp://"),
    ("smtp://mail.example.org:587?startls=true", "unknown options startls"),
    ("smtp://mail.example.org?starttls=maybe", "starttls must be true or false"),
    ("smtp://anna:secret@mail.example.org:587", "password but no TLS"),
    ("smtps://anna:secret%C3%A5@mail.example.org", "must be ASCII"),
])
def test_a_bad_smtp_url_is_refused_naming_the_variable(url, complaint, tmp_path):
    settings = settings_in(tmp_path, mail_backend="smtp", smtp_url=url)

    with pytest.raises(ConfigurationError, match="SAMVERKAN_SMTP_URL") as raised:
        mailer_for(settings)

    assert complaint in str(raised.value)
    assert "secret" not in str(raised.value)


def test_an_unknown_mail_backend_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ConfigurationError, match=r"SAMVERKAN_MAIL_BACKEND.*'pigeon'"):
        mailer_for(settings_in(tmp_path, mail_backend="pigeon"))


# --- SMS, recorded ---------------------------------------------------------------------


def test_recorded_sms_read_back_as_sent_in_swedish(tmp_path):
    gateway = sms_gateway_for(settings_in(tmp_path))
    first = Sms(to="+46701234567", text="Din reservation på ”Röda rummet” kan hämtas i Vännäs.",
                sender="Vannas bibl", reference="hold-ready-0192")
    second = Sms(to="+46731234567", text="Växeln: du har ett meddelande från Åsa.")

    references = [gateway.send(first), gateway.send(second)]

    assert isinstance(gateway, RecordedSmsGateway)
    assert references[0] == "hold-ready-0192" and references[1]
    assert gateway.sent() == [first, Sms(to=second.to, text=second.text,
                                         reference=references[1])]
    outbox = (tmp_path / "sms" / "outbox.jsonl").read_text(encoding="utf-8")
    assert "Vännäs" in outbox, "the outbox stays readable for a person"


@pytest.mark.parametrize(("changes", "field_at_fault"), [
    ({"to": "070-123 45 67"}, "to"),
    ({"text": "  "}, "text"),
    ({"sender": "Umeå kommuns bibliotek"}, "sender"),
])
def test_a_malformed_sms_is_refused_naming_the_field(changes, field_at_fault):
    with pytest.raises(ValueError, match=f"^{field_at_fault}:"):
        Sms(**{"to": "+46701234567", "text": "Hej", **changes})


# --- SMS through an HTTP gateway -------------------------------------------------------


@dataclass
class Gateway:
    """A running local HTTP SMS gateway: what it received and what it answers next."""

    url: str
    received: list[dict[str, Any]]
    answer: list[tuple[int, dict[str, Any]]]


class _GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        gateway: Gateway = self.server.gateway  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        gateway.received.append({"path": self.path, "headers": dict(self.headers),
                                 "json": json.loads(body.decode("utf-8"))})
        status, document = gateway.answer[0]
        payload = json.dumps(document, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def sms_gateway() -> Iterator[Gateway]:
    """An HTTP SMS gateway on loopback that answers 200 until told otherwise."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GatewayHandler)
    gateway = Gateway(f"http://127.0.0.1:{server.server_address[1]}/v1/sms", [],
                      [(200, {"status": "queued"})])
    server.gateway = gateway  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield gateway
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_sms_is_posted_to_the_gateway_as_json_with_basic_auth(sms_gateway, tmp_path):
    url = sms_gateway.url.replace("http://", "http://samverkan:hemligt%21@")
    gateway = sms_gateway_for(settings_in(tmp_path, sms_backend="http", sms_gateway_url=url))

    reference = gateway.send(Sms(to="+46701234567", text="Hämta din bok i Vännäs",
                                 sender="Vannas bibl", reference="hold-ready-0192"))

    [request] = sms_gateway.received
    assert reference == "hold-ready-0192"
    assert request["path"] == "/v1/sms"
    assert request["json"] == {"to": "+46701234567", "text": "Hämta din bok i Vännäs",
                               "sender": "Vannas bibl", "reference": "hold-ready-0192"}
    credentials = request["headers"]["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(credentials) == b"samverkan:hemligt!"


@pytest.mark.parametrize("status", [503, 502, 429])
def test_a_gateway_that_is_overloaded_raises_an_error_the_task_retries(sms_gateway, status):
    sms_gateway.answer[0] = (status, {"error": "Tillfälligt fel"})

    with pytest.raises(IO_ERRORS, match="Tillfälligt fel") as raised:
        HttpSmsGateway(sms_gateway.url).send(Sms(to="+46701234567", text="Hej"))

    assert not isinstance(raised.value, RefusedError)


def test_a_gateway_refusal_fails_at_once_naming_the_gateways_reason(sms_gateway):
    sms_gateway.answer[0] = (400, {"error": "Numret +46701234567 är spärrat"})

    with pytest.raises(RefusedError, match=r"\(400\): Numret \+46701234567 är spärrat") as raised:
        HttpSmsGateway(sms_gateway.url).send(Sms(to="+46701234567", text="Hej"))

    assert not isinstance(raised.value, IO_ERRORS)


def test_a_gateway_that_is_down_raises_an_error_the_task_retries():
    gateway = HttpSmsGateway(f"http://127.0.0.1:{free_port()}/v1/sms")

    with pytest.raises(IO_ERRORS):
        gateway.send(Sms(to="+46701234567", text="Hej"))


def test_a_gateway_that_never_answers_times_out_as_a_retryable_error(silent_port):
    gateway = HttpSmsGateway(f"http://127.0.0.1:{silent_port}/v1/sms", timeout=0.3)

    with pytest.raises(IO_ERRORS):
        gateway.send(Sms(to="+46701234567", text="Hej"))


@pytest.mark.parametrize(("overrides", "variable"), [
    ({"sms_backend": "carrier-pigeon"}, "SAMVERKAN_SMS_BACKEND"),
    ({"sms_backend": "http"}, "SAMVERKAN_SMS_GATEWAY_URL"),
    ({"sms_backend": "http", "sms_gateway_url": "file:///etc/passwd"},
     "SAMVERKAN_SMS_GATEWAY_URL"),
])
def test_a_bad_sms_configuration_is_refused_naming_the_variable(overrides, variable, tmp_path):
    with pytest.raises(ConfigurationError, match=variable):
        sms_gateway_for(settings_in(tmp_path, **overrides))


# --- blob storage ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on loopback, for the module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_bucket(endpoint: str, name: str) -> None:
    """Create a bucket the way an operator would before starting Samverkan."""
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="samverkan", aws_secret_access_key="hemligt")
    client.create_bucket(Bucket=name)


@pytest.fixture(params=["disk", "s3"])
def store(request, tmp_path) -> BlobStore:
    """Each blob store in turn, configured as ``SAMVERKAN_STORAGE_BACKEND`` would."""
    if request.param == "disk":
        return blob_store_for(settings_in(tmp_path))
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"samverkan-{uuid.uuid4().hex[:12]}"
    make_bucket(endpoint, bucket)
    return blob_store_for(settings_in(
        tmp_path, storage_backend="s3", s3_endpoint_url=endpoint, s3_bucket=bucket,
        s3_access_key="samverkan", s3_secret_key="hemligt",
    ))


PDF = b"%PDF-1.7\n" + "Årsrapport för Bjurholm".encode() + bytes(range(256))


def test_a_blob_reads_back_with_its_content_type_until_deleted(store):
    key = "bjurholm/handbook/0192aa/arsrapport.pdf"
    assert not store.exists(key)

    store.put(key, PDF, "application/pdf")

    assert store.exists(key)
    assert store.get(key) == PDF
    assert store.content_type(key) == "application/pdf"
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)


def test_putting_a_blob_again_replaces_it(store):
    store.put("umea/notes.txt", "första".encode(), "text/plain; charset=utf-8")
    store.put("umea/notes.txt", b"andra", "text/markdown; charset=utf-8")

    assert store.get("umea/notes.txt").decode() == "andra"
    assert store.content_type("umea/notes.txt") == "text/markdown; charset=utf-8"


def test_a_missing_blob_is_not_found_and_not_retried(store):
    with pytest.raises(BlobNotFoundError, match=r"umea/missing\.pdf") as raised:
        store.get("umea/missing.pdf")

    assert not isinstance(raised.value, IO_ERRORS)
    with pytest.raises(BlobNotFoundError):
        store.content_type("umea/missing.pdf")


ESCAPING_KEYS = ["../outside.txt", "umea/../../outside.txt", "/etc/passwd", "umea//x",
                 ".content-types/umea", "umea/./x", "umea\\..\\x", "", "umea/", "Årsrapport.pdf"]


@pytest.mark.parametrize("key", ESCAPING_KEYS)
def test_a_key_that_breaks_the_key_rule_is_refused_by_every_store(store, key):
    for attempt in (lambda: store.put(key, b"x"), lambda: store.get(key),
                    lambda: store.exists(key), lambda: store.delete(key)):
        with pytest.raises(InvalidBlobKeyError):
            attempt()


def test_no_key_writes_outside_the_disk_stores_folder(tmp_path):
    root = tmp_path / "data" / "blobs"
    store = DiskBlobStore(root)
    for key in ESCAPING_KEYS:
        with pytest.raises(InvalidBlobKeyError):
            store.put(key, b"x")

    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert written == []


def test_a_symlink_planted_in_the_disk_store_does_not_lead_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "blobs"
    root.mkdir()
    (root / "umea").symlink_to(outside)

    with pytest.raises(InvalidBlobKeyError, match="outside"):
        DiskBlobStore(root).put("umea/x.txt", b"x")

    assert list(outside.iterdir()) == []


def test_the_disk_store_keeps_blobs_under_the_data_folder(tmp_path):
    blob_store_for(settings_in(tmp_path)).put("umea/a.txt", b"hej")

    assert (tmp_path / "blobs" / "umea" / "a.txt").read_bytes() == b"hej"


def test_an_object_store_that_is_down_raises_an_error_the_task_retries():
    store = S3BlobStore(f"http://127.0.0.1:{free_port()}", "samverkan", "samverkan",
                        "hemligt", max_attempts=1)

    with pytest.raises(IO_ERRORS) as raised:
        store.put("umea/a.txt", b"hej")

    assert not isinstance(raised.value, RefusedError)


def test_a_missing_bucket_fails_at_once_naming_it(s3_endpoint):
    store = S3BlobStore(s3_endpoint, "no-such-bucket", "samverkan", "hemligt")

    with pytest.raises(RefusedError, match="no-such-bucket") as raised:
        store.put("umea/a.txt", b"hej")

    assert not isinstance(raised.value, IO_ERRORS)


@pytest.mark.parametrize(("overrides", "variable"), [
    ({"storage_backend": "floppy"}, "SAMVERKAN_STORAGE_BACKEND"),
    ({"storage_backend": "s3", "s3_bucket": ""}, "SAMVERKAN_S3_BUCKET"),
])
def test_a_bad_storage_configuration_is_refused_naming_the_variable(overrides, variable,
                                                                    tmp_path):
    with pytest.raises(ConfigurationError, match=variable):
        blob_store_for(settings_in(tmp_path, **overrides))
