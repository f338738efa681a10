"""The electronic medical card: a signed exam is locked, a correction is an
addendum shown under the entry it corrects, only doctors write."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from flask_babel import force_locale
from sqlalchemy import event, func, select

from stompro.chart.exams import (
    ExamLocked, add_addendum, exams_for_patient, sign_exam, start_exam, update_exam,
)
from stompro.chart.models import Diagnosis, Exam
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.patients.models import Patient

from ..conftest import staff_by_login

LOCKED = "This exam is signed and locked; add an addendum instead."
EXAMINED = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def english(app):
    """Service messages are asserted in English (the screens speak the signed-in person's language)."""
    with force_locale("en"):
        yield


def diagnosis(code):
    return db.session.execute(select(Diagnosis).where(Diagnosis.code == code)).scalar_one()


@pytest.fixture
def patient(app):
    """A patient with no exam in the demo data."""
    examined = select(Exam.patient_id)
    return db.session.execute(
        select(Patient).where(Patient.deleted_at.is_(None), Patient.id.not_in(examined)).order_by(Patient.id).limit(1)
    ).scalar_one()


@pytest.fixture
def other_doctor(app):
    return staff_by_login("lebedev.io")


def written_exam(patient, doctor, **fields):
    exam = start_exam(db.session, patient, doctor, now=EXAMINED)
    fields = {
        "complaints": "Боль от холодного в 36",
        "objective_status": "36: кариозная полость на окклюзионной поверхности",
        "diagnosis": diagnosis("K02.1"),
        **fields,
    }
    return update_exam(db.session, exam, doctor, **fields)


def signed_exam(patient, doctor):
    exam = written_exam(patient, doctor)
    sign_exam(db.session, exam, doctor, now=EXAMINED + timedelta(minutes=20))
    db.session.commit()
    return exam


def stored(exam_id, column):
    """A column as the database holds it, not as the session remembers it."""
    db.session.expire_all()
    return db.session.execute(select(column).where(Exam.id == exam_id)).scalar_one()


# -- services --------------------------------------------------------------------


def test_a_doctor_writes_and_signs_an_exam(patient, doctor):
    exam = start_exam(db.session, patient, doctor, now=EXAMINED)
    assert (exam.doctor, exam.patient, exam.examined_at, exam.signed_at) == (doctor, patient, EXAMINED, None)
    update_exam(db.session, exam, doctor, complaints="  Боль  ", anamnesis="   ", objective_status="Полость в 36",
                diagnosis=diagnosis("K02.1"))
    assert (exam.complaints, exam.anamnesis) == ("Боль", None)
    sign_exam(db.session, exam, doctor, now=EXAMINED + timedelta(minutes=15))
    assert exam.signed_at == EXAMINED + timedelta(minutes=15)


def test_a_signed_exam_cannot_be_edited_or_signed_again(patient, doctor):
    exam = signed_exam(patient, doctor)
    with pytest.raises(DomainError, match=LOCKED):
        update_exam(db.session, exam, doctor, complaints="Исправлено")
    with pytest.raises(DomainError, match=LOCKED):
        sign_exam(db.session, exam, doctor)
    assert stored(exam.id, Exam.complaints) == "Боль от холодного в 36"


@pytest.mark.parametrize(
    "missing, message",
    [
        ({"diagnosis": None}, "Choose a diagnosis before signing."),
        ({"objective_status": ""}, "Write the objective status before signing."),
        ({"diagnosis": None, "objective_status": None}, "Write the objective status and choose a diagnosis"),
    ],
)
def test_an_exam_without_diagnosis_or_objective_status_is_not_signed(patient, doctor, missing, message):
    exam = written_exam(patient, doctor, **missing)
    with pytest.raises(DomainError, match=message):
        sign_exam(db.session, exam, doctor)
    assert stored(exam.id, Exam.signed_at) is None


def test_only_the_exams_own_doctor_changes_or_signs_it(patient, doctor, other_doctor):
    exam = written_exam(patient, doctor)
    with pytest.raises(DomainError, match="Only the doctor who wrote this entry"):
        update_exam(db.session, exam, other_doctor, complaints="Чужая правка")
    with pytest.raises(DomainError, match="Only the doctor who wrote this entry"):
        sign_exam(db.session, exam, other_doctor)
    assert exam.complaints == "Боль от холодного в 36"


def test_people_who_are_not_doctors_do_not_write_in_the_card(patient, doctor):
    owner = staff_by_login("owner")
    with pytest.raises(DomainError, match="Only a doctor can write"):
        start_exam(db.session, patient, owner)
    exam = signed_exam(patient, doctor)
    with pytest.raises(DomainError, match="Only a doctor can write"):
        add_addendum(db.session, exam, owner)


def test_a_doctor_keeps_one_unsigned_exam_per_patient(patient, doctor, other_doctor):
    written_exam(patient, doctor)
    with pytest.raises(DomainError, match="already have an unsigned exam"):
        start_exam(db.session, patient, doctor)
    assert start_exam(db.session, patient, other_doctor).doctor == other_doctor


def test_an_exam_cannot_be_dated_in_the_future(patient, doctor):
    exam = start_exam(db.session, patient, doctor, now=EXAMINED)
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(DomainError, match="cannot take place in the future"):
        update_exam(db.session, exam, doctor, examined_at=tomorrow)
    assert exam.examined_at == EXAMINED


def test_an_addendum_amends_a_signed_exam_and_is_signed_in_turn(patient, doctor, other_doctor):
    exam = signed_exam(patient, doctor)
    addendum = add_addendum(db.session, exam, other_doctor)
    assert (addendum.amends, addendum.doctor, addendum.patient_id, addendum.signed_at) == (
        exam, other_doctor, patient.id, None)
    with pytest.raises(DomainError, match="Write what the addendum adds or corrects"):
        sign_exam(db.session, addendum, other_doctor)
    update_exam(db.session, addendum, other_doctor, diagnosis_note="Уточнение: кариес 36 и 37")
    sign_exam(db.session, addendum, other_doctor)
    assert addendum.signed_at is not None
    # A correction of the correction still amends the original.
    second = add_addendum(db.session, addendum, doctor, recommendations="Контроль через 6 месяцев")
    assert second.amends == exam and second.recommendations == "Контроль через 6 месяцев"


def test_an_unsigned_exam_gets_no_addendum(patient, doctor):
    exam = written_exam(patient, doctor)
    with pytest.raises(DomainError, match="edit it instead of adding an addendum"):
        add_addendum(db.session, exam, doctor)


def test_the_card_lists_exams_newest_first_with_their_addenda_in_one_go(patient, doctor, other_doctor):
    first = signed_exam(patient, doctor)
    correction = add_addendum(db.session, first, other_doctor, complaints="Уточнение жалоб",
                              now=EXAMINED + timedelta(days=1))
    later = start_exam(db.session, patient, other_doctor, now=EXAMINED + timedelta(days=30))
    patient_id = patient.id
    db.session.commit()
    db.session.expire_all()

    statements = []
    listener = lambda *args: statements.append(args[2]) if args[2].startswith("SELECT") else None  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        card = exams_for_patient(db.session, patient_id)
        shown = [
            (e.exam.id, [a.id for a in e.addenda], [str(x.doctor) + str(x.clinic) + str(x.diagnosis) for x in [e.exam, *e.addenda]])
            for e in card
        ]  # everything the card page shows, touched while the queries are counted
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    assert [(exam_id, addenda) for exam_id, addenda, *_ in shown] == [(later.id, []), (first.id, [correction.id])]
    assert len(statements) <= 2  # the exams with doctors, clinics, diagnoses; the doctors' roles


# -- the database-level lock -------------------------------------------------------


def test_no_code_path_changes_a_signed_exam(patient, doctor):
    exam = signed_exam(patient, doctor)
    for change in (
        lambda: setattr(exam, "objective_status", "Переписано задним числом"),
        lambda: setattr(exam, "diagnosis", diagnosis("K04.0")),
        lambda: setattr(exam, "signed_at", None),
        lambda: setattr(exam, "deleted_at", datetime.now(timezone.utc)),
        lambda: db.session.delete(exam),
    ):
        change()
        with pytest.raises(ExamLocked, match=LOCKED):
            db.session.flush()
        db.session.rollback()
    assert stored(exam.id, Exam.objective_status) == "36: кариозная полость на окклюзионной поверхности"
    assert stored(exam.id, Exam.diagnosis_id) == diagnosis("K02.1").id
    assert stored(exam.id, Exam.signed_at) is not None
    assert stored(exam.id, Exam.deleted_at) is None


def test_the_lock_holds_for_exams_signed_long_ago(app):
    old = db.session.execute(select(Exam).where(Exam.signed_at.is_not(None)).limit(1)).scalar_one()
    db.session.expire(old)  # nothing loaded: the guard must ask the database
    old.recommendations = "Другое"
    with pytest.raises(ExamLocked):
        db.session.flush()
    db.session.rollback()


def test_the_lock_lets_unsigned_exams_and_new_addenda_through(patient, doctor):
    exam = written_exam(patient, doctor)
    exam.recommendations = "Гигиена через 6 месяцев"
    db.session.flush()
    sign_exam(db.session, exam, doctor)
    add_addendum(db.session, exam, doctor, complaints="Дополнение")
    db.session.flush()


# -- the screens --------------------------------------------------------------------


def post(client, auth, url, data=None, **kwargs):
    return client.post(url, data={**(data or {}), "csrf_token": auth.csrf_token()}, **kwargs)


def exam_form(exam, **changes):
    form = {
        "clinic": exam.clinic_id or "",
        "examined_at": "2026-03-02 12:30:00",
        "complaints": exam.complaints or "",
        "anamnesis": exam.anamnesis or "",
        "objective_status": exam.objective_status or "",
        "diagnosis": exam.diagnosis_id or "",
        "diagnosis_note": exam.diagnosis_note or "",
        "recommendations": exam.recommendations or "",
    }
    return {**form, **changes}


def section(page, exam_id):
    """The HTML of one exam's section of the card."""
    start = page.index(f'<section class="card mb-3" id="exam-{exam_id}"')
    return page[start:page.index("</section>", start)]


def test_the_edit_screen_of_a_signed_exam_refuses_with_the_reason(client, auth, patient, doctor):
    exam = signed_exam(patient, doctor)
    auth.as_role("doctor")

    page = client.get(f"/admin/exam/edit/?id={exam.id}")
    assert page.status_code == 200
    assert LOCKED in page.get_data(as_text=True)
    assert "Add addendum" in page.get_data(as_text=True)

    response = post(client, auth, f"/admin/exam/edit/?id={exam.id}", exam_form(exam, complaints="Подделка"))
    assert response.status_code == 409
    assert LOCKED in response.get_data(as_text=True)
    assert stored(exam.id, Exam.complaints) == "Боль от холодного в 36"


def test_a_doctor_edits_own_unsigned_exam_through_the_form(client, auth, patient, doctor):
    exam = written_exam(patient, doctor)
    db.session.commit()
    auth.as_role("doctor")
    response = post(client, auth, f"/admin/exam/edit/?id={exam.id}",
                    exam_form(exam, recommendations="Полоскания, контроль через неделю"))
    assert response.status_code == 302
    assert stored(exam.id, Exam.recommendations) == "Полоскания, контроль через неделю"
    assert stored(exam.id, Exam.examined_at) == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)  # 12:30 Moscow


def test_another_doctor_cannot_edit_through_the_form(client, auth, patient, other_doctor):
    exam = written_exam(patient, other_doctor)
    db.session.commit()
    auth.as_role("doctor")
    response = post(client, auth, f"/admin/exam/edit/?id={exam.id}", exam_form(exam, complaints="Чужая правка"))
    assert response.status_code == 409
    assert "Only the doctor who wrote this entry" in response.get_data(as_text=True)
    assert stored(exam.id, Exam.complaints) == "Боль от холодного в 36"


def test_the_create_form_starts_an_exam_by_the_signed_in_doctor(client, auth, patient):
    me = auth.as_role("doctor")
    before = db.session.scalar(select(func.count()).select_from(Exam))
    response = post(client, auth, "/admin/exam/new/", {"patient": patient.id, "complaints": "Кровоточивость дёсен",
                                                        "examined_at": "2026-03-02 12:30:00", "clinic": ""})
    assert response.status_code == 302
    exam = db.session.execute(select(Exam).order_by(Exam.id.desc()).limit(1)).scalar_one()
    assert db.session.scalar(select(func.count()).select_from(Exam)) == before + 1
    assert (exam.patient_id, exam.doctor_id, exam.complaints, exam.signed_at) == (
        patient.id, me.id, "Кровоточивость дёсен", None)


def test_the_card_starts_signs_and_amends_an_exam(client, auth, patient):
    me = auth.as_role("doctor")
    card = f"/admin/exam/card/{patient.id}"
    assert "Start a new exam" in client.get(card).get_data(as_text=True)

    started = post(client, auth, f"{card}/start")
    assert started.status_code == 302 and "/admin/exam/edit/" in started.headers["Location"]
    exam = db.session.execute(select(Exam).where(Exam.patient_id == patient.id)).scalar_one()
    assert exam.doctor_id == me.id

    refused = post(client, auth, f"/admin/exam/{exam.id}/sign", follow_redirects=True)
    assert "Write the objective status and choose a diagnosis before signing." in refused.get_data(as_text=True)
    assert stored(exam.id, Exam.signed_at) is None

    post(client, auth, f"/admin/exam/edit/?id={exam.id}",
         exam_form(exam, objective_status="Полость в 36", diagnosis=diagnosis("K02.1").id))
    signed = post(client, auth, f"/admin/exam/{exam.id}/sign", follow_redirects=True)
    assert "The exam is signed and locked." in signed.get_data(as_text=True)
    assert stored(exam.id, Exam.signed_at) is not None

    amended = post(client, auth, f"/admin/exam/{exam.id}/addendum")
    assert amended.status_code == 302
    addendum = db.session.execute(select(Exam).where(Exam.amends_id == exam.id)).scalar_one()
    post(client, auth, f"/admin/exam/edit/?id={addendum.id}",
         exam_form(addendum, diagnosis_note="Также начальный кариес 37"))
    post(client, auth, f"/admin/exam/{addendum.id}/sign")

    page = client.get(card).get_data(as_text=True)
    original = section(page, exam.id)
    assert f'id="exam-{addendum.id}"' in original  # the addendum is shown under the exam it amends
    assert "Также начальный кариес 37" in original
    assert original.count("fa fa-lock") >= 2  # both signed, both locked
    assert "K02.1" in original
    assert f'action="/admin/exam/{exam.id}/addendum' in original
    assert f'href="/admin/exam/edit/?id={exam.id}' not in original  # signed: no edit button


def test_the_card_shows_the_time_on_the_clinics_clock(client, auth, patient, doctor):
    exam = signed_exam(patient, doctor)
    auth.as_role("coordinator")
    page = client.get(f"/admin/exam/card/{patient.id}").get_data(as_text=True)
    assert "02.03.2026 12:30" in section(page, exam.id)  # 09:30 UTC in Moscow
    assert "Start a new exam" not in page and "Add addendum" not in page  # readers only read


def test_the_list_offers_sign_on_own_drafts_only(client, auth, patient, doctor, other_doctor):
    mine = start_exam(db.session, patient, doctor)  # now: first in the list, newest first
    theirs = start_exam(db.session, patient, other_doctor)
    db.session.commit()
    auth.as_role("doctor")
    page = client.get("/admin/exam/").get_data(as_text=True)
    assert f'action="/admin/exam/{mine.id}/sign' in page
    assert f'action="/admin/exam/{theirs.id}/sign' not in page


@pytest.mark.parametrize("role", ["cashier", "administrator", "call_center"])
def test_front_desk_and_money_roles_get_403_on_the_medical_card(client, auth, patient, doctor, role):
    exam = signed_exam(patient, doctor)
    auth.as_role(role)
    for url in (f"/admin/exam/card/{patient.id}", "/admin/exam/", f"/admin/exam/details/?id={exam.id}"):
        assert client.get(url).status_code == 403, url
    assert post(client, auth, f"/admin/exam/{exam.id}/addendum").status_code == 403


@pytest.mark.parametrize("role", ["owner", "coordinator"])
def test_readers_read_the_card_but_do_not_write(client, auth, patient, doctor, role):
    exam = written_exam(patient, doctor)
    db.session.commit()
    auth.as_role(role)
    assert client.get(f"/admin/exam/card/{patient.id}").status_code == 200
    assert post(client, auth, f"/admin/exam/card/{patient.id}/start").status_code == 403
    assert post(client, auth, f"/admin/exam/{exam.id}/sign").status_code == 403
    assert stored(exam.id, Exam.signed_at) is None


def test_the_card_of_an_unknown_patient_is_404(client, auth):
    auth.as_role("doctor")
    assert client.get("/admin/exam/card/999999").status_code == 404


@pytest.mark.parametrize("query", ["кариес", "КАРИЕС ДЕНТИНА", "K02", "k02.1", "dentine"])
def test_the_diagnosis_lookup_finds_caries_of_dentine(client, auth, query):
    auth.as_role("doctor")
    response = client.get("/admin/exam/ajax/lookup/", query_string={"name": "diagnosis", "query": query})
    assert response.status_code == 200
    found = {re.match(r"K\d\d\.\d", label).group(0) for _, label in response.get_json()}
    assert "K02.1" in found
    assert all(code.startswith("K") for code in found)


def test_the_diagnosis_lookup_narrows_by_code(client, auth):
    auth.as_role("doctor")
    response = client.get("/admin/exam/ajax/lookup/", query_string={"name": "diagnosis", "query": "K02"})
    codes = [label.split()[0] for _, label in response.get_json()]
    assert codes == sorted(codes) and codes and all(code.startswith("K02") for code in codes)
