"""How a message leaves the clinic: one gateway per channel, chosen by the
STOMPRO_SMS_GATEWAY and STOMPRO_EMAIL_GATEWAY settings.

The outbox decides what to send and when; a gateway only delivers one message
and says whether a failure is worth retrying. Delivery is at least once (a job
may run twice), so every message carries its dedupe key to the provider: as
the Idempotency-Key header over HTTP and as the Message-ID of an e-mail, so a
resend is recognisable. Secrets (header values, the SMTP login) come from the
environment, never from stored settings.

Errors are for logs and administrators, in plain English."""
import fcntl
import http.client
import json
import logging
import os
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import quote

CHANNELS = ("sms", "email")
TIMEOUT_SECONDS = 10
SMTP_TLS_MODES = ("starttls", "ssl", "none")

log = logging.getLogger("stompro.messages")


@dataclass(frozen=True)
class OutgoingMessage:
    """What a gateway needs of one outbox row."""

    id: int
    channel: str
    recipient: str  # E.164 phone for SMS, an address for e-mail
    subject: str | None  # e-mail only
    body: str
    dedupe_key: str  # unique per message: the idempotency key


class GatewayError(Exception):
    """A message was not delivered; ``retryable`` says whether trying again later may help."""

    def __init__(self, message, retryable):
        super().__init__(message)
        self.retryable = retryable


def gateway_for(channel, config):
    """The gateway configured for ``channel`` ("sms" or "email") in ``config``
    (the app's config); a ValueError names the setting that is wrong or missing."""
    if channel not in CHANNELS:
        raise ValueError(f"Unknown message channel {channel!r}")
    name = f"{channel.upper()}_GATEWAY"
    kind = _required(config, name)
    if kind == "console":
        return ConsoleGateway()
    if kind.startswith("file:") and kind[len("file:"):]:
        return FileGateway(kind[len("file:"):])
    if kind == "http" and channel == "sms":
        return HttpSmsGateway.from_config(config)
    if kind == "smtp" and channel == "email":
        return SmtpGateway.from_config(config)
    kinds = "console, file:PATH, " + ("http" if channel == "sms" else "smtp")
    raise ValueError(f"STOMPRO_{name} must be one of {kinds}, not {kind!r}")


class ConsoleGateway:
    """Sends nothing: logs the message, for a clinic that has no provider yet."""

    def send(self, message):
        log.info("%s to %s (%s): %s%s", message.channel, message.recipient, message.dedupe_key,
                 f"{message.subject} — " if message.subject else "", message.body)
        return None


class FileGateway:
    """Appends one JSON line per message, for tests and dry runs. Several
    workers may append at once: each line is one write under an exclusive lock."""

    def __init__(self, path):
        self.path = path

    def send(self, message):
        line = json.dumps(asdict(message), ensure_ascii=False) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as file:
                fcntl.flock(file, fcntl.LOCK_EX)
                try:
                    file.write(line)
                    file.flush()
                finally:
                    fcntl.flock(file, fcntl.LOCK_UN)
        except OSError as error:
            raise GatewayError(f"Cannot append to {self.path}: {error}", retryable=True) from error
        return None


PLACEHOLDER = re.compile(r"\{(recipient|body|dedupe_key|id)\}")


class HttpSmsGateway:
    """An SMS provider's HTTP API: the request is described by settings, so a
    new provider needs no code."""

    def __init__(self, url, method, headers, body_template, success_statuses):
        self.url = url
        self.method = method
        self.headers = headers
        self.body_template = body_template
        self.success_statuses = success_statuses

    @classmethod
    def from_config(cls, config):
        url = _required(config, "SMS_HTTP_URL")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"STOMPRO_SMS_HTTP_URL must be an http:// or https:// address, not {url!r}")
        return cls(
            url=url,
            method=_required(config, "SMS_HTTP_METHOD").upper(),
            headers=_headers(config.get("SMS_HTTP_HEADERS")),
            body_template=_body_template(_required(config, "SMS_HTTP_BODY")),
            success_statuses=_statuses(_required(config, "SMS_HTTP_SUCCESS")),
        )

    def send(self, message):
        """POST (or the configured method) the filled-in body; the provider's
        message id when its JSON answer has one."""
        request = urllib.request.Request(self.url, data=self.body(message).encode("utf-8"), method=self.method)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        for name, value in self.headers.items():
            request.add_header(name, value)
        request.add_header("Idempotency-Key", message.dedupe_key)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.read()
        except (OSError, http.client.HTTPException) as error:  # refused, timed out, cut off
            raise GatewayError(f"SMS provider unreachable at {self.url}: {error}", retryable=True) from error
        if status not in self.success_statuses:
            raise GatewayError(
                f"SMS provider answered {status}: {answer[:200].decode('utf-8', 'replace')}",
                retryable=status >= 500 or status == 429,
            )
        return _provider_id(answer)

    def body(self, message):
        """The body template with each placeholder replaced by its JSON-escaped
        value (in one pass, so a text containing "{id}" stays as written)."""
        values = {"recipient": message.recipient, "body": message.body,
                  "dedupe_key": message.dedupe_key, "id": str(message.id)}
        return PLACEHOLDER.sub(lambda match: json.dumps(values[match[1]], ensure_ascii=False)[1:-1],
                               self.body_template)


def _headers(raw):
    """Header values with ``${NAME}`` replaced from the environment."""
    if raw in (None, ""):
        return {}
    headers = _json_setting("SMS_HTTP_HEADERS", raw)
    if not isinstance(headers, dict) or not all(isinstance(value, str) for value in headers.values()):
        raise ValueError("STOMPRO_SMS_HTTP_HEADERS must be a JSON object of strings")

    def from_environment(match):
        if match[1] not in os.environ:
            raise ValueError(f"STOMPRO_SMS_HTTP_HEADERS names the environment variable {match[1]}, which is not set")
        return os.environ[match[1]]

    return {name: re.sub(r"\$\{(\w+)\}", from_environment, value) for name, value in headers.items()}


def _body_template(raw):
    # STOMPRO_* variables holding valid JSON arrive parsed: turn them back into text.
    return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)


def _statuses(raw):
    """'200,201,202', 200 or [200, 201] as a set of status codes."""
    parts = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    try:
        return {int(str(part).strip()) for part in parts}
    except ValueError:
        raise ValueError(f"STOMPRO_SMS_HTTP_SUCCESS must list status codes such as 200,201,202, not {raw!r}") from None


def _provider_id(answer):
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    if isinstance(data, dict):
        for key in ("message_id", "id"):
            if data.get(key) not in (None, ""):
                return str(data[key])
    return None


class SmtpGateway:
    """E-mail over SMTP, one connection per message (reminders are few and spread out)."""

    def __init__(self, host, port, tls, sender, user=None, password=None):
        self.host = host
        self.port = port
        self.tls = tls
        self.sender = sender
        self.user = user
        self.password = password

    @classmethod
    def from_config(cls, config):
        tls = _required(config, "SMTP_TLS")
        if tls not in SMTP_TLS_MODES:
            raise ValueError(f"STOMPRO_SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}, not {tls!r}")
        sender = _required(config, "SMTP_FROM")
        if "@" not in parseaddr(sender)[1]:
            raise ValueError(f"STOMPRO_SMTP_FROM must be an e-mail address, not {sender!r}")
        try:
            port = int(_required(config, "SMTP_PORT"))
        except (TypeError, ValueError):
            raise ValueError(f"STOMPRO_SMTP_PORT must be a number, not {config.get('SMTP_PORT')!r}") from None
        return cls(host=_required(config, "SMTP_HOST"), port=port, tls=tls, sender=sender,
                   user=os.environ.get("STOMPRO_SMTP_USER"), password=os.environ.get("STOMPRO_SMTP_PASSWORD"))

    def send(self, message):
        """Deliver the e-mail to the SMTP server; SMTP's own 4xx answers are the retryable ones."""
        email = self.email(message)
        try:
            with self._connect() as smtp:
                if self.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise GatewayError(f"SMTP server refused {message.recipient}: {code} {_text(reply)}",
                               retryable=400 <= code < 500) from error
        except smtplib.SMTPResponseException as error:
            raise GatewayError(f"SMTP server answered {error.smtp_code} {_text(error.smtp_error)}",
                               retryable=400 <= error.smtp_code < 500) from error
        except smtplib.SMTPNotSupportedError as error:
            raise GatewayError(f"SMTP server {self.host}: {error}", retryable=False) from error
        except (OSError, smtplib.SMTPException) as error:  # refused, timed out, disconnected
            raise GatewayError(f"SMTP server {self.host}:{self.port} unreachable: {error}", retryable=True) from error
        return None

    def email(self, message):
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message_id(message.dedupe_key, parseaddr(self.sender)[1].rpartition("@")[2])
        email.set_content(message.body)
        return email

    def _connect(self):
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_SECONDS,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)


def message_id(dedupe_key, domain):
    """The Message-ID of the e-mail with this dedupe key: the same on every
    resend. The key is percent-encoded (dots too), so any key makes a valid
    and distinct id."""
    local = quote(dedupe_key, safe="!#$&'*+/=?^_`{|}~-").replace(".", "%2E")
    return f"<{local}@{domain}>"


def _required(config, name):
    value = config.get(name)
    if value is None or value == "":
        raise ValueError(f"STOMPRO_{name} is not set")
    return value


def _json_setting(name, raw):
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError(f"STOMPRO_{name} is not valid JSON: {raw!r}") from None


def _text(reply):
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
