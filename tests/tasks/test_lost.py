"""No lost patients (issue 10, item 3): the states of a running plan are
exclusive and complete; the list, its one-click call task, the home pages'
count and the API show the lost ones of the reader's branches."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.tasks.lost import STATES, branches_of, count_lost_patients, lost_plans, make_call_task, plan_states
from stompro.tasks.models import Task
from stompro.tasks.services import create_task, record_outcome

from ..api.conftest import Api
from ..conftest import staff_by_login
from ..scheduling.conftest import Schedule

URL = "/admin/lost-patients/"


@pytest.fixture
def schedule(owner):
    return Schedule(owner)


@pytest.fixture
def api(client):
    return Api(client)


class Clinic:
    """One test branch with a doctor working its first days; ``now`` is the
    third day at noon, so day 0's visit is past and day 3's to come."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.doctor = schedule.doctor()
        schedule.works_days(self.doctor, [schedule.day(n) for n in range(6)])
        self.now = schedule.at(schedule.day(2), "12:00")
        self.slots = iter(f"{9 + n // 2:02d}:{n % 2 * 30:02d}" for n in range(18))

    def patient_with_plan(self, status="accepted"):
        patient = self.schedule.patient()
        plan, _stages = self.schedule.plan(patient, [{}])
        plan.status = status
        db.session.flush()
        return patient, plan

    def visit(self, patient, day, done=False, clock=None):
        """A visit at the next free half hour of the day (or at ``clock``)."""
        visit = self.schedule.visit(self.doctor, patient, self.schedule.day(day), clock or next(self.slots), 30)
        if done:  # set directly: the status flow runs on the server's clock
            visit.status = "done"
            db.session.flush()
        return visit

    def call_back(self, patient, when):
        task = self.task(patient)
        record_outcome(db.session, self.schedule.owner, task, call_result="call_back", call_back_at=when)
        return task

    def refusal(self, patient, plan, when):
        task = self.task(patient, plan)
        return record_outcome(db.session, self.schedule.owner, task, status="done", call_result="refused",
                              outcome_note="Too expensive", now=when)

    def task(self, patient, plan=None):
        return create_task(db.session, self.schedule.owner, tab="scheduled_calls", priority=3, title="Call",
                           patient=patient, plan=plan, clinic=self.schedule.clinic, due_at=self.now)

    def states(self):
        return {row.plan.id: row.state for row in plan_states(db.session, now=self.now, clinics=[self.schedule.clinic])}


@pytest.fixture
def branch(schedule):
    return Clinic(schedule)


def test_each_running_plan_is_in_exactly_one_state(branch):
    booked_patient, booked = branch.patient_with_plan()
    branch.visit(booked_patient, 0, done=True)
    branch.visit(booked_patient, 3)
    called_patient, called = branch.patient_with_plan("in_progress")
    branch.call_back(called_patient, branch.now + timedelta(days=1))
    refused_patient, refused = branch.patient_with_plan()
    branch.visit(refused_patient, 0, done=True, clock="10:00")
    branch.refusal(refused_patient, refused, branch.schedule.at(branch.schedule.day(1), "10:00"))
    _lost_patient, lost = branch.patient_with_plan()
    # a refusal before the last finished visit was overtaken by that visit
    stale_patient, stale = branch.patient_with_plan()
    branch.refusal(stale_patient, stale, branch.now - timedelta(days=30))
    branch.visit(stale_patient, 1, done=True)
    # a call-back time already passed is nothing arranged
    late_patient, late = branch.patient_with_plan()
    branch.call_back(late_patient, branch.now + timedelta(days=1))
    # plans not carried out are not counted at all
    _draft_patient, draft = branch.patient_with_plan("draft")
    _deleted_patient, deleted = branch.patient_with_plan()
    deleted.deleted_at = branch.now

    states = {row.plan.id: row.state for row in plan_states(db.session, now=branch.now,
                                                             clinics=[branch.schedule.clinic])}
    assert states == {booked.id: "booked", called.id: "call_back", refused.id: "refused", lost.id: "lost",
                      stale.id: "lost", late.id: "call_back"}
    later = branch.now + timedelta(days=2)  # the call-back time has passed; so has day 3's visit
    states_later = {row.plan.id: row.state for row in plan_states(db.session, now=later,
                                                                   clinics=[branch.schedule.clinic])}
    assert states_later[late.id] == "lost" and states_later[booked.id] == "lost"
    assert set(states_later.values()) <= set(STATES) and draft.id not in states_later
    rows = {row.plan.id: row for row in plan_states(db.session, now=branch.now, clinics=[branch.schedule.clinic])}
    assert rows[refused.id].last_visit == branch.schedule.at(branch.schedule.day(0), "10:00")
    assert rows[refused.id].last_contact == branch.schedule.at(branch.schedule.day(1), "10:00")
    assert rows[lost.id].last_visit is None and rows[lost.id].last_contact is None
    assert [row.plan.id for row in lost_plans(db.session, now=branch.now, clinics=[branch.schedule.clinic])] == sorted(
        [lost.id, stale.id], key=lambda plan_id: rows[plan_id].patient.last_name)


@pytest.mark.parametrize("arranged", ["booked", "call_back", "refused"])
def test_a_lost_patient_leaves_the_list_once_something_is_arranged(branch, arranged):
    patient, plan = branch.patient_with_plan()
    branch.visit(patient, 0, done=True)
    assert branch.states() == {plan.id: "lost"}
    assert count_lost_patients(db.session, now=branch.now, clinics=[branch.schedule.clinic]) == 1
    if arranged == "booked":
        branch.visit(patient, 4)
    elif arranged == "call_back":
        branch.call_back(patient, branch.now + timedelta(hours=2))
    else:
        branch.refusal(patient, plan, branch.now)
    assert branch.states() == {plan.id: arranged}
    assert lost_plans(db.session, now=branch.now, clinics=[branch.schedule.clinic]) == []
    assert count_lost_patients(db.session, now=branch.now, clinics=[branch.schedule.clinic]) == 0


def test_plans_belong_to_their_branch_or_the_patients_home_branch(branch, owner):
    other = Schedule(owner)
    patient, plan = branch.patient_with_plan()
    homed_patient, homed = branch.patient_with_plan()
    homed.clinic = None
    homed_patient.home_clinic = other.clinic
    db.session.flush()
    assert set(branch.states()) == {plan.id}
    mine = plan_states(db.session, now=branch.now, clinics=[other.clinic.id])
    assert [row.plan.id for row in mine] == [homed.id] and mine[0].clinic == other.clinic
    assert plan_states(db.session, now=branch.now, clinics=[]) == []
    everyone = {row.plan.id for row in plan_states(db.session, now=branch.now)}
    assert {plan.id, homed.id} <= everyone


def test_the_call_task_is_made_once_a_day(branch, owner):
    patient, plan = branch.patient_with_plan()
    task = make_call_task(db.session, owner, plan, now=branch.now)
    assert (task.tab, task.queue, task.patient, task.plan, task.clinic, task.status, task.due_at) == (
        "scheduled_calls", "call_center", patient, plan, branch.schedule.clinic, "open", branch.now)
    assert task.title == "Book the next visit of the plan"
    assert task.dedupe_key == f"lost:{plan.id}:{branch.schedule.day(2):%Y%m%d}"
    assert task.rule is not None and task.priority == task.rule.priority
    assert make_call_task(db.session, owner, plan, now=branch.now + timedelta(hours=1)) == task
    assert make_call_task(db.session, owner, plan, now=branch.now + timedelta(days=1)) != task


# -- the screen -----------------------------------------------------------------------


def _admin_of(*clinics):
    """The demo administrator, working in ``clinics`` too."""
    person = staff_by_login("admin")
    person.clinics.extend(clinics)
    db.session.commit()
    return person


def test_the_list_shows_the_lost_patients_of_the_readers_branches_only(client, auth, branch, owner):
    other = Clinic(Schedule(owner))
    lost_patient, lost = branch.patient_with_plan()
    booked_patient, booked = branch.patient_with_plan()
    branch.visit(booked_patient, 3)
    _elsewhere_patient, elsewhere = other.patient_with_plan()
    db.session.commit()
    _admin_of(branch.schedule.clinic)
    auth.as_role("administrator")

    page = client.get(URL).get_data(as_text=True)
    plans = set(map(int, re.findall(r'name="plan_id" value="(\d+)"', page)))
    assert lost.id in plans and booked.id not in plans and elsewhere.id not in plans
    assert f'href="/admin/plan/{lost.id}"' in page and "Make a call task" in page
    assert lost_patient.full_name in page and "+7 916" in page

    auth.as_role("owner")  # owners work for the whole network
    page = client.get(URL).get_data(as_text=True)
    assert {lost.id, elsewhere.id} <= set(map(int, re.findall(r'name="plan_id" value="(\d+)"', page)))


def test_one_click_makes_one_call_task_however_often_it_is_clicked(client, auth, branch):
    patient, plan = branch.patient_with_plan()
    db.session.commit()
    auth.as_role("call_center")
    for _ in range(2):
        answer = client.post(URL, data={"plan_id": plan.id, "csrf_token": auth.csrf_token()})
        assert answer.status_code == 302 and answer.headers["Location"].endswith(URL)
    tasks = db.session.execute(select(Task).where(Task.plan_id == plan.id)).scalars().all()
    assert len(tasks) == 1 and tasks[0].dedupe_key.startswith(f"lost:{plan.id}:")
    page = client.get(URL).get_data(as_text=True)
    assert "The call task is in the task book" in page
    row = re.search(rf'<tr>(?:(?!</tr>).)*{patient.last_name}(?:(?!</tr>).)*</tr>', page, re.S).group(0)
    assert "data-task-made" in row and "Make a call task" not in row  # the list says the task is made
    assert client.post(URL, data={"plan_id": plan.id}).status_code == 400  # no CSRF token


def test_a_plan_of_another_branch_gets_no_task_from_the_list(client, auth, branch):
    _patient, plan = branch.patient_with_plan()
    db.session.commit()
    auth.as_role("administrator")  # the centre's, not the test branch's
    client.post(URL, data={"plan_id": plan.id, "csrf_token": auth.csrf_token()})
    assert db.session.execute(select(Task).where(Task.plan_id == plan.id)).first() is None


@pytest.mark.parametrize("role", ["doctor", "cashier"])
def test_other_roles_are_refused(client, auth, branch, role):
    _patient, plan = branch.patient_with_plan()
    db.session.commit()
    auth.as_role(role)
    assert client.get(URL).status_code == 403
    token = auth.csrf_token()
    assert client.post(URL, data={"plan_id": plan.id, "csrf_token": token}).status_code == 403
    assert db.session.execute(select(Task).where(Task.plan_id == plan.id)).first() is None


@pytest.mark.parametrize("role", ["owner", "coordinator"])
def test_the_home_page_counts_the_lost_patients(client, auth, role):
    person = auth.as_role(role)
    expected = count_lost_patients(db.session, clinics=branches_of(db.session, person))
    page = client.get("/admin/").get_data(as_text=True)
    assert home_count(page) == expected and f'href="{URL}"' in page


def home_count(page):
    """The lost patients' count on a home page: the owner's figure card, the coordinator's line."""
    card = re.search(r'data-figure="lost_patients">.*?<div class="h4 mb-1">(\d+)</div>', page, re.S)
    return int(card.group(1) if card else re.search(r"Lost patients: (\d+)", page).group(1))


def test_the_home_page_count_follows_a_new_lost_patient(client, auth, branch):
    auth.as_role("owner")
    before = home_count(client.get("/admin/").get_data(as_text=True))
    branch.patient_with_plan()
    db.session.commit()
    after = home_count(client.get("/admin/").get_data(as_text=True))
    assert after == before + 1


def test_the_home_page_of_other_roles_has_no_count(client, auth):
    auth.as_role("cashier")
    page = client.get("/admin/").get_data(as_text=True)
    assert "Lost patients:" not in page and 'data-figure="lost_patients"' not in page


# -- the API --------------------------------------------------------------------------


def test_the_api_lists_the_lost_patients_of_the_callers_branches(api, branch, owner):
    patient, plan = branch.patient_with_plan()
    visit = branch.visit(patient, 0, clock="10:00")
    visit.status = "done"
    visit.starts_at = branch.schedule.at(branch.schedule.day(-20), "10:00")  # long past, so not booked
    visit.ends_at = visit.starts_at + timedelta(minutes=30)
    booked_patient, booked = branch.patient_with_plan()
    branch.visit(booked_patient, 3)
    db.session.commit()

    api.as_role("owner")
    answer = api.get("/api/v1/patients/lost")
    assert answer.status_code == 200
    items = {item["plan_id"]: item for item in answer.get_json()["patients"]}
    assert booked.id not in items
    assert items[plan.id] == {"patient_id": patient.id, "plan_id": plan.id,
                              "last_visit": f"{branch.schedule.day(-20)}T10:00:00+03:00", "last_contact": None}

    api.as_role("administrator")  # the centre's only
    items = {item["plan_id"] for item in api.get("/api/v1/patients/lost").get_json()["patients"]}
    assert plan.id not in items
    _admin_of(branch.schedule.clinic)
    api.as_role("administrator")
    assert plan.id in {item["plan_id"] for item in api.get("/api/v1/patients/lost").get_json()["patients"]}


@pytest.mark.parametrize("role", ["doctor", "cashier"])
def test_the_api_refuses_other_roles(api, role):
    api.as_role(role)
    assert api.get("/api/v1/patients/lost").status_code == 403


def test_the_api_needs_a_token(client):
    assert client.get("/api/v1/patients/lost").status_code == 401
