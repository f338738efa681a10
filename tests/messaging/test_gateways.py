"""The gateways against real endpoints on 127.0.0.1: a file, an HTTP server
that records what it receives, and an aiosmtpd SMTP server."""
import json
import logging
import multiprocessing
import socket
import threading
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from flask import Config

from stompro.messaging.gateways import (
    ConsoleGateway, FileGateway, GatewayError, HttpSmsGateway, OutgoingMessage, SmtpGateway, gateway_for, message_id,
)
from stompro.settings import PROJECT_ROOT

SMS = OutgoingMessage(id=7, channel="sms", recipient="+79161234567", subject=None,
                      body='Ждём вас 3 марта в 10:00, "Улыбка" {id}', dedupe_key="appointment-12:day_before")
EMAIL = OutgoingMessage(id=8, channel="email", recipient="anna@example.org", subject="Напоминание о визите",
                        body="Анна, ждём вас завтра в 10:00.\nКлиника «Улыбка»", dedupe_key="appointment-12:booked.v2")


def settings(**overrides):
    """The project's default settings with the test's own on top."""
    config = Config(PROJECT_ROOT)
    config.from_pyfile(str(PROJECT_ROOT / "config" / "defaults.py"))
    config.update(overrides)
    return config


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_console_is_the_default_and_logs_the_message(caplog):
    gateway = gateway_for("sms", settings())
    assert isinstance(gateway, ConsoleGateway)
    assert isinstance(gateway_for("email", settings()), ConsoleGateway)
    with caplog.at_level(logging.INFO, logger="stompro.messages"):
        assert gateway.send(SMS) is None
    [record] = [record for record in caplog.records if record.name == "stompro.messages"]
    assert record.levelno == logging.INFO
    assert SMS.recipient in record.getMessage() and SMS.body in record.getMessage()
    assert SMS.dedupe_key in record.getMessage()


def test_file_appends_one_json_line_per_message(tmp_path):
    path = tmp_path / "sent.jsonl"
    for message in (SMS, EMAIL):
        gateway = gateway_for(message.channel, settings(SMS_GATEWAY=f"file:{path}", EMAIL_GATEWAY=f"file:{path}"))
        assert isinstance(gateway, FileGateway)
        assert gateway.send(message) is None
    text = path.read_text(encoding="utf-8")
    assert "Ждём" in text  # UTF-8, not \u escapes
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines == [
        {"id": 7, "channel": "sms", "recipient": "+79161234567", "subject": None, "body": SMS.body,
         "dedupe_key": "appointment-12:day_before"},
        {"id": 8, "channel": "email", "recipient": "anna@example.org", "subject": "Напоминание о визите",
         "body": EMAIL.body, "dedupe_key": "appointment-12:booked.v2"},
    ]


def append_messages(path, worker, count):
    gateway = FileGateway(path)
    for number in range(count):
        gateway.send(OutgoingMessage(id=number, channel="sms", recipient="+79161234567", subject=None,
                                     body="Ж" * 5000, dedupe_key=f"worker-{worker}:{number}"))


def test_file_lines_of_several_processes_stay_whole(tmp_path):
    path = str(tmp_path / "sent.jsonl")
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done in [pool.submit(append_messages, path, worker, 50) for worker in range(4)]:
            done.result()
    keys = [json.loads(line)["dedupe_key"] for line in open(path, encoding="utf-8")]
    assert sorted(keys) == sorted(f"worker-{worker}:{number}" for worker in range(4) for number in range(50))


def test_file_that_cannot_be_written_is_a_retryable_error(tmp_path):
    with pytest.raises(GatewayError) as error:
        FileGateway(str(tmp_path / "missing" / "sent.jsonl")).send(SMS)
    assert error.value.retryable


class SmsProvider(ThreadingHTTPServer):
    """An SMS provider that records each request and answers ``status``."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SmsProviderHandler)
        self.requests = []
        self.status = 202
        self.answer = {"message_id": "prov-1"}

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1/sms"


class SmsProviderHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers), "body": body})
        answer = json.dumps(self.server.answer).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST

    def log_message(self, *args):
        pass


@contextmanager
def serving(server):
    """``server`` answering on 127.0.0.1 in a thread while the block runs."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def provider():
    with serving(SmsProvider()) as server:
        yield server


def http_settings(url, **overrides):
    return settings(**{
        "SMS_GATEWAY": "http",
        "SMS_HTTP_URL": url,
        "SMS_HTTP_HEADERS": '{"Authorization": "Bearer ${SMS_TEST_TOKEN}", "X-Account": "clinic-1"}',
        "SMS_HTTP_BODY": '{"to": "{recipient}", "text": "{body}", "ref": "{dedupe_key}", "n": "{id}"}',
        **overrides,
    })


def test_http_sends_the_filled_in_body_with_the_secret_and_the_idempotency_key(provider, monkeypatch):
    monkeypatch.setenv("SMS_TEST_TOKEN", "s3cret")
    gateway = gateway_for("sms", http_settings(provider.url))
    assert isinstance(gateway, HttpSmsGateway)
    assert gateway.send(SMS) == "prov-1"
    [request] = provider.requests
    assert request["method"] == "POST" and request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["X-Account"] == "clinic-1"
    assert request["headers"]["Idempotency-Key"] == "appointment-12:day_before"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(request["body"].decode("utf-8")) == {
        "to": "+79161234567", "text": SMS.body, "ref": "appointment-12:day_before", "n": "7"}


def test_http_takes_the_method_the_answers_and_a_parsed_body_template(provider, monkeypatch):
    """STOMPRO_* variables holding JSON arrive parsed: a dict body and an int status."""
    monkeypatch.setenv("SMS_TEST_TOKEN", "s3cret")
    provider.status, provider.answer = 200, ["not an object"]
    config = http_settings(provider.url, SMS_HTTP_METHOD="put", SMS_HTTP_SUCCESS=200,
                           SMS_HTTP_BODY={"to": "{recipient}", "text": "{body}"})
    assert gateway_for("sms", config).send(SMS) is None
    [request] = provider.requests
    assert request["method"] == "PUT"
    assert json.loads(request["body"]) == {"to": "+79161234567", "text": SMS.body}


@pytest.mark.parametrize("status, retryable", [(500, True), (503, True), (429, True), (400, False), (401, False)])
def test_http_failure_answers(provider, monkeypatch, status, retryable):
    monkeypatch.setenv("SMS_TEST_TOKEN", "s3cret")
    provider.status, provider.answer = status, {"error": "nope"}
    with pytest.raises(GatewayError) as error:
        gateway_for("sms", http_settings(provider.url)).send(SMS)
    assert error.value.retryable is retryable
    assert str(status) in str(error.value) and "nope" in str(error.value)


def test_http_a_success_status_not_listed_is_a_failure(provider, monkeypatch):
    monkeypatch.setenv("SMS_TEST_TOKEN", "s3cret")
    provider.status = 202
    with pytest.raises(GatewayError) as error:
        gateway_for("sms", http_settings(provider.url, SMS_HTTP_SUCCESS="200")).send(SMS)
    assert not error.value.retryable


def test_http_refused_connection_is_retryable(monkeypatch):
    monkeypatch.setenv("SMS_TEST_TOKEN", "s3cret")
    with pytest.raises(GatewayError) as error:
        gateway_for("sms", http_settings(f"http://127.0.0.1:{free_port()}/v1/sms")).send(SMS)
    assert error.value.retryable


class Mailbox:
    """aiosmtpd handler: keeps what it receives, refuses a recipient on request."""

    def __init__(self):
        self.envelopes = []
        self.refuse_with = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox():
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def smtp_settings(port):
    return settings(EMAIL_GATEWAY="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS="none",
                    SMTP_FROM="Клиника Улыбка <noreply@smile.example>")


def test_smtp_delivers_subject_body_recipient_and_a_message_id_of_the_dedupe_key(mailbox, monkeypatch):
    monkeypatch.delenv("STOMPRO_SMTP_USER", raising=False)
    gateway = gateway_for("email", smtp_settings(mailbox.port))
    assert isinstance(gateway, SmtpGateway)
    assert gateway.send(EMAIL) is None
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "noreply@smile.example"
    assert envelope.rcpt_tos == ["anna@example.org"]
    email = message_from_bytes(envelope.original_content, policy=policy.default)
    assert email["Subject"] == "Напоминание о визите"
    assert email["To"] == "anna@example.org"
    assert email.get_content().replace("\r\n", "\n").rstrip("\n") == EMAIL.body  # CRLF on the wire
    assert email["Message-ID"] == "<appointment-12%3Abooked%2Ev2@smile.example>"
    assert email["Message-ID"] == message_id(EMAIL.dedupe_key, "smile.example")


@pytest.mark.parametrize("reply, retryable", [("550 No such user", False), ("451 Try again later", True)])
def test_smtp_refused_recipient(mailbox, monkeypatch, reply, retryable):
    monkeypatch.delenv("STOMPRO_SMTP_USER", raising=False)
    mailbox.refuse_with = reply
    with pytest.raises(GatewayError) as error:
        gateway_for("email", smtp_settings(mailbox.port)).send(EMAIL)
    assert error.value.retryable is retryable
    assert reply[:3] in str(error.value)


def test_smtp_unreachable_is_retryable(monkeypatch):
    monkeypatch.delenv("STOMPRO_SMTP_USER", raising=False)
    with pytest.raises(GatewayError) as error:
        gateway_for("email", smtp_settings(free_port())).send(EMAIL)
    assert error.value.retryable


def test_message_ids_of_different_keys_differ():
    assert message_id("a:b", "x") != message_id("a-b", "x") != message_id("a%3Ab", "x")
    assert message_id("a..b", "x") == "<a%2E%2Eb@x>"


@pytest.mark.parametrize("channel, overrides, setting", [
    ("sms", {"SMS_GATEWAY": "pigeon"}, "STOMPRO_SMS_GATEWAY"),
    ("sms", {"SMS_GATEWAY": "smtp"}, "STOMPRO_SMS_GATEWAY"),
    ("email", {"EMAIL_GATEWAY": "http"}, "STOMPRO_EMAIL_GATEWAY"),
    ("email", {"EMAIL_GATEWAY": "file:"}, "STOMPRO_EMAIL_GATEWAY"),
    ("sms", {"SMS_GATEWAY": None}, "STOMPRO_SMS_GATEWAY"),
    ("sms", {"SMS_GATEWAY": "http", "SMS_HTTP_BODY": "{}"}, "STOMPRO_SMS_HTTP_URL"),
    ("sms", {"SMS_GATEWAY": "http", "SMS_HTTP_URL": "ftp://x"}, "STOMPRO_SMS_HTTP_URL"),
    ("sms", {"SMS_GATEWAY": "http", "SMS_HTTP_URL": "http://x"}, "STOMPRO_SMS_HTTP_BODY"),
    ("sms", {"SMS_GATEWAY": "http", "SMS_HTTP_URL": "http://x", "SMS_HTTP_BODY": "{}",
             "SMS_HTTP_HEADERS": "[1]"}, "STOMPRO_SMS_HTTP_HEADERS"),
    ("sms", {"SMS_GATEWAY": "http", "SMS_HTTP_URL": "http://x", "SMS_HTTP_BODY": "{}",
             "SMS_HTTP_HEADERS": '{"Authorization": "${STOMPRO_TEST_UNSET}"}'}, "STOMPRO_SMS_HTTP_HEADERS"),
    ("sms", {"SMS_GATEWAY": "http", "SMS_HTTP_URL": "http://x", "SMS_HTTP_BODY": "{}",
             "SMS_HTTP_SUCCESS": "ok"}, "STOMPRO_SMS_HTTP_SUCCESS"),
    ("email", {"EMAIL_GATEWAY": "smtp", "SMTP_FROM": "a@b.c"}, "STOMPRO_SMTP_HOST"),
    ("email", {"EMAIL_GATEWAY": "smtp", "SMTP_HOST": "h"}, "STOMPRO_SMTP_FROM"),
    ("email", {"EMAIL_GATEWAY": "smtp", "SMTP_HOST": "h", "SMTP_FROM": "a@b.c", "SMTP_TLS": "yes"},
     "STOMPRO_SMTP_TLS"),
    ("email", {"EMAIL_GATEWAY": "smtp", "SMTP_HOST": "h", "SMTP_FROM": "a@b.c", "SMTP_PORT": "smtp"},
     "STOMPRO_SMTP_PORT"),
])
def test_a_wrong_or_missing_setting_is_named(monkeypatch, channel, overrides, setting):
    monkeypatch.delenv("STOMPRO_TEST_UNSET", raising=False)
    with pytest.raises(ValueError, match=setting):
        gateway_for(channel, settings(**overrides))
