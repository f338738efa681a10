"""Sending the outbox: claim due rows, send each at most once per claim, retry,
fail with a task, and reap what a dead worker left behind.

A row moves scheduled → queued (``claim_due``: the dispatcher, every minute)
→ sending (``send_batch``: a conditional UPDATE, so of two jobs holding the
same row one sends) → sent, or back to queued (RQ retries the job) /
scheduled (no Redis: the next dispatch retries it) after a retryable error,
or failed after a permanent one or the last attempt (MAX_ATTEMPTS), with a
task for the administrators. A row past its ``expires_at`` becomes expired
instead of being sent. RQ runs a job at least once, never exactly once: the
row's status, not the job, decides whether a message goes.

The reaper (``reap``) returns rows left in queued or sending longer than
REAPER_TIMEOUT_MINUTES to scheduled. A queued row was never handed to a
gateway, so claiming it again is safe. A sending row may or may not have
reached the provider (the worker died during the call): we choose at least
once — it is sent again with the same dedupe key, which the HTTP gateway
passes as Idempotency-Key and the SMTP gateway as the Message-ID, so a
provider that honours them drops the duplicate; its attempt is counted, so a
row that keeps killing workers ends as failed. A reminder sent twice is a
lesser harm than a reminder lost.

The transitions are conditional UPDATEs, written around the ORM (a flush
could overwrite another worker's status); the row itself records them
(status, attempts, error, sent_at), so they are not repeated in the audit log.
The tasks made for failures are ordinary, audited rows."""
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update

from ..db import utcnow
from .gateways import GatewayError, OutgoingMessage, gateway_for
from .models import Message
from .outbox import failure_task

MAX_ATTEMPTS = 4  # the first try and RQ's three retries
log = logging.getLogger("stompro.messages")


@dataclass
class BatchResult:
    sent: list = field(default_factory=list)
    retry: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # claimed by another job, cancelled, expired


class RetryLater(Exception):
    """Some messages of a batch failed in a way a retry may mend: RQ retries the job."""


def claim_due(session, now=None, limit=100):
    """Move up to ``limit`` due ``scheduled`` rows to ``queued`` (first
    expiring those past their latest useful moment); returns [(id, version)]
    of the rows claimed, oldest due first. PostgreSQL skips rows another
    dispatcher has locked (FOR UPDATE SKIP LOCKED); SQLite writes one at a
    time and the UPDATE is conditional on the status. The caller commits."""
    now = now or utcnow()
    session.flush()
    session.execute(
        update(Message).where(Message.status == "scheduled", Message.expires_at <= now)
        .values(status="expired", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    due = (
        select(Message.id)
        .where(Message.status == "scheduled", Message.send_at <= now)
        .order_by(Message.send_at, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = session.execute(
        update(Message).where(Message.id.in_(due), Message.status == "scheduled")
        .values(status="queued", version=Message.version + 1, updated_at=now)
        .returning(Message.id, Message.version),
        execution_options={"synchronize_session": False},
    ).all()
    return sorted((row.id, row.version) for row in claimed)


def unclaim(session, ids, now=None):
    """Return claimed rows that could not be handed to a job to ``scheduled``."""
    if ids:
        session.execute(
            update(Message).where(Message.id.in_(ids), Message.status == "queued")
            .values(status="scheduled", updated_at=now or utcnow()),
            execution_options={"synchronize_session": False},
        )


def job_id(claimed):
    """The RQ job id of a batch: made of its rows and their versions, so a
    row claimed again (a new version) goes in a new job."""
    digest = hashlib.sha1(",".join(f"{id_}:{version}" for id_, version in claimed).encode()).hexdigest()
    return f"send-{claimed[0][0]}-{claimed[-1][0]}-{len(claimed)}-{digest[:16]}"


def send_batch(session, ids, config, retry_delays=None, now=None):
    """Send each row of ``ids`` that is still ``queued``, claiming it for
    sending first; commits after each step. With ``retry_delays`` (seconds
    by attempt; the in-process dispatcher) a retryable failure goes back to
    ``scheduled`` that much later; without (an RQ job), back to ``queued``
    and the result lists it for RQ to retry."""
    result = BatchResult()
    for message_id in ids:
        moment = now or utcnow()
        # The claim answers what is to be sent (RETURNING): no second read, no ORM object per message.
        claimed = session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == "queued",
                   or_(Message.expires_at.is_(None), Message.expires_at > moment))
            .values(status="sending", updated_at=moment)
            .returning(Message.id, Message.channel, Message.recipient, Message.subject, Message.body,
                       Message.dedupe_key, Message.attempts),
            execution_options={"synchronize_session": False},
        ).first()
        if claimed is None:
            session.execute(
                update(Message).where(Message.id == message_id, Message.status == "queued",
                                      Message.expires_at <= moment)
                .values(status="expired", updated_at=moment),
                execution_options={"synchronize_session": False},
            )
            session.commit()
            result.skipped.append(message_id)
            continue
        session.commit()  # the claim is visible before the provider is called
        try:
            gateway = gateway_for(claimed.channel, config)
            provider_id = gateway.send(OutgoingMessage(id=claimed.id, channel=claimed.channel,
                                                       recipient=claimed.recipient, subject=claimed.subject,
                                                       body=claimed.body, dedupe_key=claimed.dedupe_key))
        except (GatewayError, ValueError) as error:  # ValueError: the gateway's settings are wrong
            retryable = getattr(error, "retryable", True)
            _failed_attempt(session, claimed, str(error), retryable, retry_delays, result, utcnow())
        else:
            _finish(session, message_id, status="sent", sent_at=utcnow(), provider_id=provider_id, error=None)
            result.sent.append(message_id)
        session.commit()
    return result


def _failed_attempt(session, message, error, retryable, retry_delays, result, now):
    """``message``: the claimed row's values (id, channel, dedupe key, attempts)."""
    attempts = message.attempts + 1
    log.warning("%s %s (attempt %s): %s", message.channel, message.dedupe_key, attempts, error)
    if retryable and attempts < MAX_ATTEMPTS:
        if retry_delays is None:
            _finish(session, message.id, status="queued", attempts=attempts, error=error)
        else:
            delay = retry_delays[min(attempts, len(retry_delays)) - 1] if retry_delays else 0
            _finish(session, message.id, status="scheduled", attempts=attempts, error=error,
                    send_at=now + timedelta(seconds=delay))
        result.retry.append(message.id)
        return
    _finish(session, message.id, status="failed", attempts=attempts, error=error)
    failure_task(session, session.get(Message, message.id, populate_existing=True), now)
    result.failed.append(message.id)


def _finish(session, message_id, status, attempts=None, **values):
    """Leave ``sending`` for ``status``; the first try counts as an attempt."""
    attempts = attempts if attempts is not None else Message.attempts + 1
    session.execute(
        update(Message).where(Message.id == message_id, Message.status == "sending")
        .values(status=status, attempts=attempts, updated_at=utcnow(), **values),
        execution_options={"synchronize_session": False},
    )


def reap(session, now=None, timeout=timedelta(minutes=10)):
    """Return rows stuck in ``queued`` or ``sending`` for longer than
    ``timeout`` to ``scheduled`` (a sending one with its attempt counted,
    and failed with a task once it has had MAX_ATTEMPTS); returns their ids.
    See the module's notes on why a sending row is sent again. The caller
    commits."""
    now = now or utcnow()
    stale = Message.updated_at < now - timeout
    stuck = session.execute(
        select(Message).where(Message.status.in_(("queued", "sending")), stale).with_for_update(skip_locked=True)
    ).scalars().all()
    reaped = []
    for message in stuck:
        values = {"status": "scheduled", "updated_at": now}
        if message.status == "sending":
            values["attempts"] = message.attempts + 1
            values["error"] = "The worker stopped while sending; sent again with the same dedupe key"
            if values["attempts"] >= MAX_ATTEMPTS:
                values["status"] = "failed"
        moved = session.execute(
            update(Message).where(Message.id == message.id, Message.status == message.status, stale)
            .values(**values),
            execution_options={"synchronize_session": False},
        ).rowcount
        if moved and values["status"] == "failed":
            session.refresh(message)
            failure_task(session, message, now)
        elif moved:
            reaped.append(message.id)
    session.flush()
    return reaped


@dataclass
class DispatchResult:
    reaped: int = 0
    claimed: int = 0
    jobs: int = 0
    sent: int = 0
    failed: int = 0
    redis_down: bool = False


def dispatch(session, config, now=None):
    """One run of the dispatcher: reap, then claim every due row in batches
    of DISPATCH_BATCH_SIZE — with REDIS_URL, one RQ job per batch (sent after
    the commit that claimed it); without, sent here and now. Redis
    unreachable: nothing is claimed and the rows wait, due, for the next run."""
    result = DispatchResult()
    timeout = timedelta(minutes=int(config["REAPER_TIMEOUT_MINUTES"]))
    result.reaped = len(reap(session, now, timeout))
    session.commit()
    batch_size = int(config["DISPATCH_BATCH_SIZE"])
    if config.get("REDIS_URL"):
        return _enqueue_due(session, config, now, batch_size, result)
    delays = list(config["DISPATCH_RETRY_SECONDS"])
    while True:
        claimed = claim_due(session, now, batch_size)
        session.commit()
        if not claimed:
            return result
        result.claimed += len(claimed)
        sent = send_batch(session, [id_ for id_, _ in claimed], config, retry_delays=delays)
        result.sent += len(sent.sent)
        result.failed += len(sent.failed)


def _enqueue_due(session, config, now, batch_size, result):
    from redis.exceptions import RedisError
    from rq import Retry

    from .jobs import messages_queue

    try:
        queue = messages_queue(config)
        queue.connection.ping()
    except RedisError as error:
        log.warning("Redis unreachable, messages wait: %s", error)
        result.redis_down = True
        return result
    retry = Retry(max=MAX_ATTEMPTS - 1, interval=list(config["DISPATCH_RETRY_SECONDS"]))
    while True:
        claimed = claim_due(session, now, batch_size)
        session.commit()
        if not claimed:
            return result
        ids = [id_ for id_, _ in claimed]
        try:
            queue.enqueue("stompro.messaging.jobs.send_batch", ids, job_id=job_id(claimed), retry=retry,
                          result_ttl=86400, failure_ttl=7 * 86400)
        except RedisError as error:
            log.warning("Redis unreachable, messages wait: %s", error)
            unclaim(session, ids)
            session.commit()
            result.redis_down = True
            return result
        result.claimed += len(claimed)
        result.jobs += 1
