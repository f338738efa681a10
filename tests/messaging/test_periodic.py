"""The periodic jobs of config/rq_cron.py, run by a real RQ worker: the
dispatcher sends what is due, the task rules make their tasks, overdue
visits are marked — each once however often the job runs."""
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import select

from stompro.extensions import db
from stompro.tasks.models import Task

from .test_dispatch import book, sent_keys, work

pytestmark = pytest.mark.usefixtures("any_hour")

CRON_CONFIG = Path(__file__).resolve().parents[2] / "config" / "rq_cron.py"


def test_the_cron_config_registers_the_three_periodic_jobs():
    from redis import Redis
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=Redis.from_url("redis://127.0.0.1:1/0"))  # loading connects to nothing
    scheduler.load_config_from_file(str(CRON_CONFIG))
    jobs = {job.func.__name__: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"dispatch_due", "mark_overdue", "generate_tasks"}
    assert (jobs["dispatch_due"].interval, jobs["mark_overdue"].interval) == (60, 300)
    assert jobs["generate_tasks"].cron == "0 4 * * *"


def test_the_periodic_jobs_run_in_a_worker_and_do_their_work_once(app, schedule, redis_app, sent_file):  # noqa: F811
    visit_id = book(schedule, sms_consent=True).id
    queue = Queue("messages", connection=redis_app)
    from stompro.messaging.jobs import dispatch_due
    from stompro.periodic import generate_tasks, mark_overdue

    for job in (dispatch_due, generate_tasks, mark_overdue, dispatch_due, generate_tasks):
        queue.enqueue(job)
    work(redis_app)
    work(redis_app)  # the batches the dispatcher handed over
    assert sent_keys(sent_file, f"visit:{visit_id}:booked") == [f"visit:{visit_id}:booked:v1"]  # right away, once
    keys = db.session.execute(select(Task.dedupe_key).where(Task.dedupe_key.is_not(None))).scalars().all()
    assert len(keys) == len(set(keys))
