"""The task book (/admin/tasks/): tabs with their counts, a tab's tasks
overdue first, whose tasks, branches, and a call's result recorded in one
step — valid and refused — with the database checked afterwards."""
import html
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.scheduling.availability import clinic_zone
from stompro.tasks.models import Task
from stompro.tasks.services import create_task

from ..conftest import CENTER, SOUTH, clinic, staff_by_login


def _patient(last_name):
    patient = Patient(last_name=last_name, first_name="Ирина", birth_date=date(1975, 1, 2), phone="+79160005566")
    db.session.add(patient)
    db.session.flush()
    return patient


def _task(last_name, tab="care_calls", due=timedelta(hours=-1), priority=2, branch=CENTER, assignee=None):
    task = create_task(db.session, staff_by_login("owner"), tab=tab, priority=priority, title="Звонок заботы",
                       patient=_patient(last_name), clinic=clinic(branch), due_at=utcnow() + due, assignee=assignee)
    db.session.commit()
    return task


def _book(client, **args):
    return client.get("/admin/tasks/", query_string=args).get_data(as_text=True)


def _rows(page):
    """The patients of the listed tasks, in order."""
    return re.findall(r'data-task="\d+">.*?<a href="[^"]*">([^<]+)</a>', page, re.S)


def _call(client, auth, task, **form):
    return client.post(f"/admin/tasks/{task.id}/call", data={"csrf_token": auth.csrf_token(), **form},
                       follow_redirects=True)


def test_a_tab_lists_overdue_tasks_first_most_urgent_first_then_the_later_ones(app, client, auth):
    later = _task("Позднякова", due=timedelta(hours=3), priority=1)
    low = _task("Низова", due=timedelta(hours=-2), priority=4)
    urgent = _task("Срочнова", due=timedelta(hours=-1), priority=1)
    auth.as_role("call_center")
    page = _book(client, tab="care_calls", clinic=clinic(CENTER).id)
    names = [name for name in _rows(page) if name.split()[0] in ("Позднякова", "Низова", "Срочнова")]
    assert [name.split()[0] for name in names] == ["Срочнова", "Низова", "Позднякова"]
    assert re.search(rf'class="is-overdue" data-task="{urgent.id}"', page)
    assert not re.search(rf'class="is-overdue" data-task="{later.id}"', page)
    count = re.search(r'data-tab="care_calls">.*?data-tab-count>(\d+)<', page, re.S).group(1)
    assert int(count) == db.session.scalar(select(db.func.count()).select_from(Task).where(
        Task.tab == "care_calls", Task.status == "open", Task.clinic_id == clinic(CENTER).id)) and low


def test_mine_and_nobodys_and_the_branches_of_the_person(app, client, auth):
    admin = staff_by_login("admin")
    mine = _task("Моева", assignee=admin)
    nobodys = _task("Ничейная")
    south = _task("Южанина", branch=SOUTH)
    auth.as_role("administrator")  # the centre's
    everything = _book(client, tab="care_calls")
    assert "Моева" in everything and "Ничейная" in everything and "Южанина" not in everything
    only_mine = _book(client, tab="care_calls", scope="mine")
    assert "Моева" in only_mine and "Ничейная" not in only_mine
    queue = _book(client, tab="care_calls", scope="queue")
    assert "Ничейная" in queue and "Моева" not in queue
    assert client.get("/admin/tasks/", query_string={"clinic": clinic(SOUTH).id}).status_code == 403
    response = _call(client, auth, south, result="reached")
    assert "You do not work in this branch." in response.get_data(as_text=True)
    db.session.refresh(south)
    assert (south.status, south.attempts) == ("open", 0) and mine and nobodys


def test_reached_closes_the_task_with_who_and_when(app, client, auth):
    task = _task("Дозвонова")
    auth.as_role("call_center")
    page = _call(client, auth, task, result="reached", note="Всё хорошо").get_data(as_text=True)
    assert "Recorded: Reached — Дозвонова Ирина." in page
    db.session.refresh(task)
    assert (task.status, task.call_result, task.attempts, task.outcome_note) == ("done", "reached", 1, "Всё хорошо")
    assert task.done_by.login == "callcenter" and task.done_at is not None
    closed = _book(client, tab="closed")
    assert "Дозвонова" in closed and "Дозвонова" not in _book(client, tab="care_calls")


def test_no_answer_counts_the_attempt_and_comes_back_later(app, client, auth):
    task = _task("Молчанова")
    auth.as_role("call_center")
    before = utcnow()
    _call(client, auth, task, result="no_answer")
    db.session.refresh(task)
    assert (task.status, task.call_result, task.attempts) == ("open", "no_answer", 1)
    assert timedelta(hours=2) <= task.due_at - before < timedelta(hours=2, minutes=1)
    _call(client, auth, task, result="no_answer", call_back_at=f"{date.today() + timedelta(days=1):%d.%m.%Y} 10:30")
    db.session.refresh(task)
    assert task.attempts == 2 and task.due_at.astimezone(clinic_zone(task.clinic)).strftime("%H:%M") == "10:30"


@pytest.mark.parametrize("form, message", [
    ({"result": "refused"}, "Write why the patient refused."),
    ({"result": "call_back"}, "“Call back” needs the time to call back."),
    ({"result": "call_back", "call_back_at": f"{date.today() - timedelta(days=1):%d.%m.%Y} 10:00"},
     "The time to call back has passed"),
    ({"result": "call_back", "call_back_at": "завтра"}, "Enter the date and time as dd.mm.yyyy HH:MM."),
    ({"result": "maybe"}, "Choose what came of the call."),
    ({"result": "reached", "note": "a\x00b"}, "control characters"),
])
def test_a_refused_result_says_why_and_records_nothing(app, client, auth, form, message):
    task = _task("Отказова")
    auth.as_role("call_center")
    answer = _call(client, auth, task, **{"note": "Сказала, что подумает", **form})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Nothing was recorded" in page and message in page
    # the dialog opens again on that task and result, with what was typed and why
    retry = json.loads(html.unescape(re.search(r'data-retry="([^"]+)"', page)[1]))
    assert (retry["task"], retry["result"]) == (task.id, form["result"]) and message in retry["message"]
    assert retry["values"]["note"] == {"note": "Сказала, что подумает", **form}["note"]
    assert retry["values"]["call_back_at"] == form.get("call_back_at", "")
    db.session.refresh(task)
    assert (task.status, task.call_result, task.attempts) == ("open", None, 0)


def test_refused_with_a_reason_and_call_back_at_a_time(app, client, auth):
    refused, later = _task("Несогласова"), _task("Перезвонова")
    auth.as_role("administrator")
    _call(client, auth, refused, result="refused", reason="Лечится в другой клинике")
    when = f"{date.today() + timedelta(days=2):%d.%m.%Y} 15:00"
    _call(client, auth, later, result="call_back", call_back_at=when, note="Просила после обеда")
    db.session.refresh(refused)
    db.session.refresh(later)
    assert (refused.status, refused.call_result, refused.outcome_note) == ("done", "refused", "Лечится в другой клинике")
    assert (later.status, later.call_result, later.due_at) == ("open", "call_back", later.call_back_at)


def test_the_book_in_russian_names_tabs_and_results(app, client, auth):
    _task("Русакова")
    auth.as_role("call_center", language="ru")
    page = _book(client, tab="care_calls")
    for text in ("Звонки заботы", "Подтверждения", "Архив", "Дозвонились", "Не отвечает", "Перезвонить"):
        assert text in page, text


@pytest.mark.parametrize("role", ["doctor", "cashier"])
def test_who_may_not_open_the_task_book(app, client, auth, role):
    task = _task("Закрытова")
    auth.as_role(role)
    assert client.get("/admin/tasks/").status_code == 403
    response = client.post(f"/admin/tasks/{task.id}/call", data={"csrf_token": auth.csrf_token(), "result": "reached"})
    assert response.status_code == 403


def test_write_instead_of_calling_sends_the_standard_text_and_closes_the_task(app, client, auth):
    from stompro.messaging.models import Message

    task = _task("Писемская")
    task.patient.sms_consent = True
    db.session.commit()
    auth.as_role("call_center", language="ru")
    page = client.post(f"/admin/tasks/{task.id}/instead", data={"csrf_token": auth.csrf_token(), "text": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "Сообщение поставлено в очередь: Писемская Ирина; задача выполнена." in page
    [message] = db.session.execute(select(Message).where(Message.patient_id == task.patient_id)).scalars()
    assert (message.kind, message.channel, message.status, message.recipient) == ("manual", "sms", "scheduled",
                                                                                  "+79160005566")
    # in the patient's language (the clinic's: English in the tests), the clinic's phone as people write it
    assert message.body == "Ирина, we could not reach you by phone. Please call StomPRO Центр back: +7 495 781-01-01"
    db.session.refresh(task)
    assert task.status == "done" and task.done_by.login == "callcenter"
    # the note is kept in the clinic's language (English in the tests), whoever wrote it
    assert task.outcome_note == f"Written instead of calling: {message.body}"


def test_writing_instead_of_a_birthday_call_sends_the_greeting(app, client, auth):
    from stompro.messaging.models import Message
    from stompro.tasks.models import TaskRule

    task = _task("Именинникова", tab="birthdays")
    task.rule = db.session.execute(select(TaskRule).filter_by(code="vip_birthday")).scalar_one()
    task.patient.sms_consent = True
    db.session.commit()
    auth.as_role("call_center")
    client.post(f"/admin/tasks/{task.id}/instead", data={"csrf_token": auth.csrf_token(), "text": ""})
    [message] = db.session.execute(select(Message).where(Message.patient_id == task.patient_id)).scalars()
    assert message.body == "Happy birthday, Ирина! Good health and a beautiful smile from StomPRO Центр."
    assert message.template.code == "birthday"


def test_paperwork_is_marked_done_with_a_note(app, client, auth):
    task = _task("Архивова", tab="archive")
    auth.as_role("administrator")
    page = _book(client, tab="archive")
    assert re.search(rf'data-task-result="done" data-task-id="{task.id}"', page)
    assert not re.search(rf'data-task-result="no_answer" data-task-id="{task.id}"', page)  # nobody to call
    _call(client, auth, task, result="done", note="Карта в архиве, полка 3")
    db.session.refresh(task)
    assert (task.status, task.call_result, task.attempts, task.outcome_note, task.done_by.login) == (
        "done", None, 0, "Карта в архиве, полка 3", "admin")


def test_the_book_is_narrowed_to_one_persons_tasks(app, client, auth):
    admin, callcenter = staff_by_login("admin"), staff_by_login("callcenter")
    _task("Админова", assignee=admin)
    _task("Операторова", assignee=callcenter)
    _task("Ничейнова")
    auth.as_role("administrator")
    page = _book(client, tab="care_calls", person=callcenter.id)
    shown = {name.split()[0] for name in _rows(page)}
    assert "Операторова" in shown and not shown & {"Админова", "Ничейнова"}
    assert f'<option value="{callcenter.id}" selected>{callcenter.short_name}</option>' in page
    count = int(re.search(r'data-tab="care_calls">.*?data-tab-count>(\d+)<', page, re.S).group(1))
    assert count == len([name for name in _rows(page)])  # the tab's count is the person's too
    assert client.get("/admin/tasks/", query_string={"person": 999999}).status_code == 403
