"""RQ jobs of the outbox. A worker (``rq worker --with-scheduler messages``)
imports this module; each job runs inside the app, built once per worker
process from the same settings as the panel (or inside the app already
current, when the job runs in the panel's own process)."""
from contextlib import nullcontext

from flask import current_app, has_app_context

from ..audit.recorder import acting_as
from ..extensions import db
from . import dispatch

_app = None


def app_context():
    """The app's context for a job: the current one, else this process's app."""
    global _app
    if has_app_context():
        return nullcontext()
    if _app is None:
        from .. import create_app

        _app = create_app()
    return _app.app_context()


def dispatch_due():
    """The periodic job (config/rq_cron.py): what ``flask reminders dispatch`` does once."""
    with app_context(), acting_as("job:dispatch"):
        try:
            result = dispatch.dispatch(db.session, current_app.config)
        finally:
            db.session.remove()
        return {"claimed": result.claimed, "jobs": result.jobs, "sent": result.sent, "reaped": result.reaped}


def messages_queue(config):
    """The RQ queue the outbox's jobs go to (REDIS_URL, MESSAGES_QUEUE)."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(config["REDIS_URL"], socket_connect_timeout=5, socket_timeout=10)
    return Queue(config["MESSAGES_QUEUE"], connection=connection)


def send_batch(ids):
    """Send the outbox rows ``ids`` still queued (messaging.dispatch.send_batch);
    raises RetryLater, for RQ's Retry, when some may succeed on another try."""
    with app_context(), acting_as("job:send_batch"):
        try:
            result = dispatch.send_batch(db.session, ids, current_app.config)
        except BaseException:
            db.session.rollback()
            raise
        if result.retry:
            raise dispatch.RetryLater(f"{len(result.retry)} of {len(ids)} messages to try again: {result.retry}")
        return {"sent": len(result.sent), "failed": len(result.failed), "skipped": len(result.skipped)}
