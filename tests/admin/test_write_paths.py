"""The generic screens' write paths, as the people who use them submit them:
every create form with valid data (pickers filled through their lookup
URLs), every edit form saved unchanged, every picker queried in Cyrillic and
Latin — for every role the screen lets do it — and the split of tables into
reference data and records that carry rules (stompro/tables.py)."""
import io
import re
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from stompro import tables
from stompro.audit.models import AuditLog
from stompro.chart.attachments import store_attachment
from stompro.chart.exams import write_exam
from stompro.chart.models import Condition
from stompro.db import utcnow
from stompro.extensions import db
from stompro.org.models import Specialty
from stompro.org.roles import ROLES
from stompro.patients.models import Patient
from stompro.scheduling.waiting import add_waiting_entry
from stompro.timefmt import to_local

from ..conftest import CENTER, clinic, doctor_works, staff_by_login
from .pages import form_data, form_errors, has_form_error, lookup, main_form, option, pick
from .test_access import MODEL_VIEWS, MODELS, _may

CYRILLIC = re.compile(r"[А-Яа-яЁё]{3,}")
LATIN = re.compile(r"[A-Za-z]{3,}")


def _views_where(action):
    return [
        (endpoint, role)
        for endpoint in sorted(MODEL_VIEWS)
        for role in ROLES
        if _may(MODEL_VIEWS[endpoint], action, role)
    ]


# -- the split ---------------------------------------------------------------------


def test_every_table_is_reference_data_a_record_with_rules_or_a_log():
    groups = [tables.REFERENCE, set(tables.RECORDS), tables.LOGS]
    for name in db.metadata.tables:
        assert sum(name in group for group in groups) == 1, name
    assert tables.HARD_DELETABLE <= set(db.metadata.tables)


def test_every_screen_of_a_record_with_rules_writes_only_through_its_services():
    for endpoint, view_class in MODEL_VIEWS.items():
        table = MODELS[endpoint].__tablename__
        if table not in tables.RECORDS and table not in tables.LOGS:
            continue
        assert view_class.writes is not None, f"{endpoint} ({table}) declares no writes"
        if view_class.writes.create or view_class.writes.update:
            # Service functions take the form's values; an inline form would write rows itself.
            assert not view_class.inline_models, endpoint


def test_log_tables_are_never_written_through_a_screen():
    for endpoint, view_class in MODEL_VIEWS.items():
        if MODELS[endpoint].__tablename__ in tables.LOGS:
            for action in ("create", "edit", "delete"):
                assert not any(_may(view_class, action, role) for role in ROLES), (endpoint, action)


# -- pickers -----------------------------------------------------------------------------


# What a person types in each kind of picker, in Cyrillic and in Latin letters
# (the demo clinic has a few foreign patients; logins, service codes and
# ICD-10 codes are Latin).
PATIENT_QUERIES = ("ова", "Mill")
PLAN_QUERIES = ("ова", "Nova")  # Novak's plan is accepted in the demo
QUERIES = {
    "patient": PATIENT_QUERIES,
    "staff": ("Ковал", "doct"),
    "service": ("пломб", "CONS"),
    "diagnosis": ("кариес", "K02"),
    "plan_stage": PLAN_QUERIES,
    "appointment": PATIENT_QUERIES,
    "treatment_plan": PLAN_QUERIES,
    "invoice": ("ова", "2026"),
}
FIELD_QUERIES = {"coordinator": ("Солов", "coord")}


def _pickers():
    """(endpoint, role, field, model) for every picker of every create or edit form."""
    found = []
    for endpoint, view_class in sorted(MODEL_VIEWS.items()):
        role = next((r for r in ROLES if _may(view_class, "create", r) or _may(view_class, "edit", r)), None)
        if role is None:
            continue
        view = next(v for v in _VIEWS if v.endpoint == endpoint)
        for field, loader in (view._form_ajax_refs or {}).items():
            found.append((endpoint, role, field, loader.model.__tablename__))
    return found


_VIEWS = [v for v in __import__("tests.admin.test_access", fromlist=["_admin_views"])._admin_views()]


@pytest.mark.parametrize("endpoint, role, field, table", _pickers())
def test_every_picker_answers_cyrillic_and_latin_queries_with_results(client, auth, endpoint, role, field, table):
    auth.as_role(role)
    link = f"/admin/{endpoint}/ajax/lookup/?name={field}"
    assert lookup(client, link, ""), f"{endpoint}.{field} offers nothing at all"
    for query in FIELD_QUERIES.get(field, QUERIES[table]):
        found = lookup(client, link, query)
        assert found, f"{endpoint}.{field} finds nothing for {query!r}"


def test_a_picker_never_offers_a_deleted_patient_or_an_inactive_person(client, auth):
    auth.as_role("administrator")
    patient = Patient(last_name="Удалённая", first_name="Пациентка", birth_date=date(1970, 1, 1), phone="+79167770011")
    db.session.add(patient)
    db.session.commit()
    html = client.get("/admin/appointment/new/").get_data(as_text=True)
    form = main_form(html)
    assert [i for i, _ in lookup(client, form["lookups"]["patient"], "Удалённая")] == [patient.id]
    patient.deleted_at = utcnow()
    doctor = staff_by_login("doctor")
    doctor.active = False
    db.session.commit()
    assert lookup(client, form["lookups"]["patient"], "Удалённая") == []
    assert doctor.id not in [i for i, _ in lookup(client, form["lookups"]["doctor"], "Ков")]


def test_a_picker_answers_sql_text_and_huge_offsets_without_fault(client, auth):
    auth.as_role("administrator")
    form = main_form(client.get("/admin/appointment/new/").get_data(as_text=True))
    base = form["lookups"]["patient"].replace("&amp;", "&")
    for query in ("'; drop table patient; --", "%", "_", "\x00", "Я" * 5000):
        assert client.get(f"{base}&query={query}").status_code == 200
    assert client.get(f"{base}&query=a&offset={10**20}").status_code == 200


# -- creating a row through every create form ----------------------------------------------

_AHEAD = date.today() + timedelta(days=400)
FAR = _AHEAD + timedelta(days=(2 - _AHEAD.weekday()) % 7)  # a Wednesday nothing in the demo uses


def _doctor_works(day):
    doctor_works(day)
    return "Ковал"


def _moment(day, hh, mm=0):
    return f"{day:%d.%m.%Y} {hh:02d}:{mm:02d}"


def _new_patient(role):
    """A patient of the test's own, found by its unique surname in the pickers."""
    patient = Patient(last_name=f"Проверкина{ROLES.index(role)}", first_name="Ольга", birth_date=date(1991, 3, 4),
                      phone=f"+7916770{ROLES.index(role):04d}")
    db.session.add(patient)
    db.session.commit()
    return patient


def _yesterday_morning():
    return _moment(to_local(utcnow()).date() - timedelta(days=1), 9)


def _new_condition():
    condition = Condition(code="test_condition", name_en="Test condition", name_ru="Проверочное состояние",
                          color="#123456", symbol="T", scope="tooth")
    db.session.add(condition)
    db.session.commit()
    return condition


# endpoint → (client, form, role) → the values a person types or picks
VALID = {
    "patient": lambda c, f, role: {
        "last_name": f"Новикова{ROLES.index(role)}", "first_name": "Анна", "birth_date": "04.05.1990",
        "phone": f"8 (916) 771-{ROLES.index(role):02d}-34", "coordinator": pick(c, f, "coordinator", "Соло"),
        "status": "active",
    },
    "insurance_policy": lambda c, f, role: {
        "patient": pick(c, f, "patient", _new_patient(role).last_name), "program": option(f, "program"),
        "number": f"POL-{role}", "valid_from": "01.01.2026", "valid_to": "31.12.2027",
    },
    "insurance_company": lambda c, f, role: {"name": "Страховая «Проверка»", "inn": "7700000000", "active": "y"},
    "insurance_program": lambda c, f, role: {
        "company": option(f, "company"), "code": "TEST", "name": "Проверочная программа", "active": "y",
    },
    "exam": lambda c, f, role: {
        "patient": pick(c, f, "patient", _new_patient(role).last_name), "clinic": option(f, "clinic"),
        "examined_at": _yesterday_morning(), "complaints": "Болит зуб", "objective_status": "Кариес 36",
        "diagnosis": pick(c, f, "diagnosis", "K02"),
    },
    "tooth_finding": lambda c, f, role: {
        "patient": pick(c, f, "patient", _new_patient(role).last_name), "tooth": "36", "surfaces": "O",
        "condition": option(f, "condition", "Caries"),
    },
    "condition": lambda c, f, role: {
        "code": "test_condition", "name_en": "Test", "name_ru": "Проверка", "color": "#123456", "symbol": "T",
        "sort_order": "99",
    },
    "diagnosis": lambda c, f, role: {"code": "K14.99", "name_en": "Test", "name_ru": "Проверка"},
    "appointment": lambda c, f, role: {
        "clinic": option(f, "clinic", "Центр"), "room": option(f, "room", "Центр"),
        "doctor": pick(c, f, "doctor", _doctor_works(FAR)), "patient": pick(c, f, "patient", _new_patient(role).last_name),
        "starts_at": _moment(FAR, 10 + ROLES.index(role)), "ends_at": _moment(FAR, 10 + ROLES.index(role), 45),
        "kind": "treatment",
    },
    "shift": lambda c, f, role: {
        "staff": pick(c, f, "staff", "Ковал"), "clinic": option(f, "clinic", "Центр"), "room": option(f, "room", "Центр"),
        "starts_at": _moment(FAR, 7), "ends_at": _moment(FAR, 8),
    },
    "closure": lambda c, f, role: {
        "clinic": option(f, "clinic", "Центр"), "first_day": f"{FAR:%d.%m.%Y}", "last_day": f"{FAR:%d.%m.%Y}",
        "reason": "Санитарный день",
    },
    "absence": lambda c, f, role: {
        "staff": pick(c, f, "staff", "Ковал"), "kind": "vacation", "first_day": f"{FAR:%d.%m.%Y}",
        "last_day": f"{FAR + timedelta(days=13):%d.%m.%Y}",
    },
    "waiting_entry": lambda c, f, role: {
        "patient": pick(c, f, "patient", _new_patient(role).last_name), "clinic": option(f, "clinic", "Центр"),
        "specialty": option(f, "specialty", "Restorative"), "duration_min": "45", "days": ["1", "3", "5"],
        "time_from": "09:00", "time_to": "13:00", "until": f"{FAR:%d.%m.%Y}",
    },
    "task": lambda c, f, role: {
        "tab": "scheduled_calls", "priority": "2", "title": "Перезвонить по плану",
        "patient": pick(c, f, "patient", _new_patient(role).last_name), "clinic": option(f, "clinic", "Центр"),
        "due_at": _moment(FAR, 10), "status": "open",
    },
    "task_rule": lambda c, f, role: {"code": "test_rule", "name": "Проверка", "tab": "archive", "priority": "3"},
    "service": lambda c, f, role: {
        "code": "TST-01", "name_en": "Test", "name_ru": "Проверка", "specialty": option(f, "specialty"),
        "duration_min": "30", "stage_kind": "treatment", "scope": "tooth", "active": "y",
    },
    "price_list": lambda c, f, role: {"name": "Прайс 2030", "currency": "RUB", "valid_from": "01.01.2030"},
    "protocol": lambda c, f, role: {
        "condition": str(_new_condition().id), "tier": "optimal", "name": "Проверочный протокол", "active": "y",
    },
    "clinic": lambda c, f, role: {
        "name": "StomPRO Север", "address": "Москва, ул. Северная, 1", "time_zone": "Europe/Moscow",
        "currency": "RUB", "opens_at": "09:00", "closes_at": "20:00", "working_days": list("12345"), "active": "y",
    },
    "room": lambda c, f, role: {"clinic": option(f, "clinic", "Центр"), "name": "Кресло 9", "kind": "chair", "active": "y"},
    "specialty": lambda c, f, role: {"code": "test", "name_en": "Test", "name_ru": "Проверка", "sort_order": "99"},
}


def _creatable():
    pairs = _views_where("create")
    missing = sorted({endpoint for endpoint, _ in pairs} - set(VALID) - set(OTHER_CREATE_TESTS))
    assert not missing, f"create forms without a write-path test: {missing}"
    return [(endpoint, role) for endpoint, role in pairs if endpoint in VALID]


# Create forms whose write paths are tested with their domain (a form of their own).
OTHER_CREATE_TESTS = {
    "staff": "tests/org",
    "invoice": "tests/billing", "invoice_line": "tests/billing", "payment": "tests/billing",
    "patient_document": "tests/documents", "document_template": "tests/documents",
    "time_clock": "tests/timeclock", "price_list_item": "tests/admin/test_forms.py",
}


@pytest.mark.parametrize("endpoint, role", _creatable())
def test_a_valid_create_form_saves_the_row_and_its_audit_row(client, auth, endpoint, role):
    person = auth.as_role(role)
    model = MODELS[endpoint]
    form = main_form(client.get(f"/admin/{endpoint}/new/").get_data(as_text=True))
    data = form_data(form, **VALID[endpoint](client, form, role))
    before = db.session.scalar(select(func.max(model.id))) or 0
    response = client.post(f"/admin/{endpoint}/new/", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 302, form_errors(body) or body[-2000:]
    created = db.session.execute(select(model).where(model.id > before)).scalars().all()
    assert len(created) == 1, f"{endpoint}: {len(created)} rows"
    audit = db.session.execute(
        select(AuditLog).where(AuditLog.table_name == model.__tablename__, AuditLog.row_id == created[0].id,
                               AuditLog.action == "insert")
    ).scalar_one()
    assert (audit.actor_id, audit.actor_login) == (person.id, person.login)


# -- saving a row unchanged ------------------------------------------------------------------


def _draft_exam(app, person):
    return write_exam(db.session, person, _new_patient("doctor"), complaints="Жалоб нет")


def _attachment(app, person):
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 200, 200)).save(png, "PNG")
    png.seek(0)
    return store_attachment(db.session, _new_patient("doctor"), person, png, "снимок.png", "xray",
                            storage_dir=app.config["ATTACHMENTS_DIR"], max_bytes=2**20)


def _waiting_entry(app, person):
    therapy = db.session.execute(select(Specialty).filter_by(code="therapy")).scalar_one()
    return add_waiting_entry(db.session, person, patient=_new_patient("administrator"), clinic=clinic(CENTER),
                             specialty=therapy, duration_min=30, days="135", until=FAR)


# Rows the demo clinic has none of for every role that edits them: made here.
ROWS_TO_EDIT = {"exam": _draft_exam, "attachment": _attachment, "waiting_entry": _waiting_entry}


@pytest.mark.parametrize("endpoint, role", _views_where("edit"))
def test_an_edit_form_saved_unchanged_saves_without_error(app, client, auth, endpoint, role):
    person = auth.as_role(role)
    if endpoint in ROWS_TO_EDIT:
        ROWS_TO_EDIT[endpoint](app, person)
        db.session.commit()
    listing = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    row = re.search(rf"/admin/{endpoint}/edit/\?id=(\d+)", listing)
    assert row is not None, f"{role} has no {endpoint} row to edit"
    url = f"/admin/{endpoint}/edit/?id={row.group(1)}"
    page = client.get(url)
    assert page.status_code == 200
    form = main_form(page.get_data(as_text=True))
    model = MODELS[endpoint]
    stored = db.session.get(model, int(row.group(1)))
    before = {c.key: getattr(stored, c.key) for c in model.__table__.columns if c.key not in ("updated_at", "version")}
    response = client.post(url, data=form_data(form))
    body = response.get_data(as_text=True)
    assert response.status_code == 302 and not has_form_error(body), form_errors(body) or body[-1500:]
    db.session.expire_all()
    stored = db.session.get(model, int(row.group(1)))
    after = {c.key: getattr(stored, c.key) for c in model.__table__.columns if c.key not in ("updated_at", "version")}
    assert after == before
