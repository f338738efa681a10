"""The manager's view of the task book: each person's tasks of a day per
tab, the queue, and the owner's alert when a tab's overdue tasks pile up."""
from datetime import date, timedelta

from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.tasks.report import staff_day
from stompro.tasks.services import create_task, record_call
from stompro.timefmt import to_local

from ..conftest import CENTER, clinic, staff_by_login


def _task(tab, due, assignee=None):
    patient = Patient(last_name="Отчётова", first_name="Инна", birth_date=date(1981, 1, 1), phone="+79160009911")
    db.session.add(patient)
    task = create_task(db.session, staff_by_login("owner"), tab=tab, priority=2, title="Звонок", patient=patient,
                       clinic=clinic(CENTER), due_at=due, assignee=assignee)
    db.session.flush()
    return task


def _row(rows, person):
    return next(row for row in rows if (row.person.id if row.person else None) == (person.id if person else None))


def test_a_persons_day_counts_done_open_and_overdue_per_tab(app):
    now = utcnow()
    callcenter, admin = staff_by_login("callcenter"), staff_by_login("admin")
    before = {key: (row.done["care_calls"], row.open["regular_calls"], row.overdue["regular_calls"])
              for key, row in ((r.person.id if r.person else None, r)
                               for r in staff_day(db.session, to_local(now).date(), [clinic(CENTER)], now))}
    done = _task("care_calls", now - timedelta(hours=1))
    record_call(db.session, callcenter, done, "reached", now=now)
    _task("regular_calls", now - timedelta(minutes=5), assignee=admin)  # overdue
    _task("regular_calls", now + timedelta(minutes=1), assignee=admin)  # due later today or tomorrow
    _task("regular_calls", now - timedelta(minutes=5))  # nobody's
    rows = staff_day(db.session, to_local(now).date(), [clinic(CENTER)], now)

    def grew(person, tab_done, tab_open):
        row = _row(rows, person)
        was = before.get(person.id if person else None, (0, 0, 0))
        return (row.done[tab_done] - was[0], row.open[tab_open] - was[1], row.overdue[tab_open] - was[2])

    assert grew(callcenter, "care_calls", "regular_calls")[0] == 1
    admin_growth = grew(admin, "care_calls", "regular_calls")
    assert admin_growth[2] == 1 and admin_growth[1] in (1, 2)  # the later one counts if it is due today
    assert grew(None, "care_calls", "regular_calls")[1:] == (1, 1)


def test_the_owner_and_administrators_see_the_day_others_do_not(app, client, auth):
    _task("care_calls", utcnow() - timedelta(hours=1), assignee=staff_by_login("admin"))
    db.session.commit()
    auth.as_role("owner", language="ru")
    page = client.get("/admin/tasks/day").get_data(as_text=True)
    assert "Задачи по сотрудникам" in page and "Звонки заботы" in page
    auth.as_role("call_center")
    assert client.get("/admin/tasks/day").status_code == 403


def test_the_owners_home_page_warns_when_overdue_tasks_pile_up(app, client, auth, monkeypatch):
    _task("care_calls", utcnow() - timedelta(hours=1))
    db.session.commit()
    auth.as_role("owner")
    monkeypatch.setitem(app.config, "TASK_OVERDUE_ALERT", 0)
    assert "Overdue tasks pile up:" in client.get("/admin/").get_data(as_text=True)
    monkeypatch.setitem(app.config, "TASK_OVERDUE_ALERT", 100000)
    assert "Overdue tasks pile up:" not in client.get("/admin/").get_data(as_text=True)
    monkeypatch.setitem(app.config, "TASK_OVERDUE_ALERT", 0)
    auth.as_role("coordinator")
    assert "Overdue tasks pile up:" not in client.get("/admin/").get_data(as_text=True)
