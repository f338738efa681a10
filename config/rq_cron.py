"""The periodic jobs, for exactly one ``rq cron config/rq_cron.py`` per
installation (RQ 2.x cron strings are in UTC). A worker of the queue runs
them: ``rq worker --with-scheduler messages``."""
import os

from rq import cron

from stompro.messaging.jobs import dispatch_due
from stompro.periodic import generate_tasks, mark_overdue

QUEUE = os.environ.get("STOMPRO_MESSAGES_QUEUE", "messages")

# Due reminders claimed and handed to the workers, every minute.
cron.register(dispatch_due, queue_name=QUEUE, interval=60, job_timeout=300)
# Missed visits marked and their rebooking tasks made, every five minutes.
cron.register(mark_overdue, queue_name=QUEUE, interval=300, job_timeout=300)
# The task book's rules, every morning at 04:00 UTC (07:00 in Moscow), before the reception opens.
cron.register(generate_tasks, queue_name=QUEUE, cron="0 4 * * *", job_timeout=1800)
