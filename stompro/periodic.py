"""The clinic's periodic work as RQ jobs, for ``rq cron config/rq_cron.py``:
the same functions as ``flask tasks generate`` and ``flask schedule
mark-overdue``, each in the app (built once per worker process) and written
to the audit log as the job."""
from .audit.recorder import acting_as
from .extensions import db
from .messaging.jobs import app_context


def generate_tasks():
    """Every active task rule once (tasks.rules); returns {rule: tasks made}."""
    from .tasks.rules import generate_tasks as run_rules

    with app_context(), acting_as("job:tasks_generate"):
        try:
            made = run_rules(db.session)
            db.session.commit()
        finally:
            db.session.remove()
        return made


def mark_overdue():
    """Visits missed past the grace period marked, with their rebooking tasks; returns how many."""
    from .scheduling.overdue import mark_overdue as mark

    with app_context(), acting_as("job:mark_overdue"):
        try:
            marked = len(mark(db.session))
            db.session.commit()
        finally:
            db.session.remove()
        return marked
