"""Performed services (billing.performed): the doctor ticks the plan's items
or adds price-list services at the visit; the plan follows; the visit done
becomes the cashier's draft invoices — through the service, the doctor's
screen and the API."""
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from stompro.billing.models import Invoice, InvoiceLine, PerformedService
from stompro.billing.performed import mark_performed, plan_choices, take_back
from stompro.billing.services import listed_price, set_invoice_status
from stompro.catalog.models import Service
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.patients.models import InsuranceCompany, InsurancePolicy, InsuranceProgram, Patient
from stompro.scheduling.services import set_visit_status

from ..api.conftest import api  # noqa: F401 (a fixture: the JSON API with a token)
from .conftest import FROZEN_PRICE, VISIT_DAY, in_chair_visit
from .forms import post


def count(model):
    return db.session.scalar(select(func.count()).select_from(model).where(model.deleted_at.is_(None)))


def visit_invoices(visit):
    return db.session.execute(
        select(Invoice).where(Invoice.appointment_id == visit.id).order_by(Invoice.id)
    ).scalars().all()


def other_service(priced_service):
    """An active service of the price list other than the plan's, with its price on the visit's day."""
    service = db.session.execute(
        select(Service).where(Service.active.is_(True), Service.id != priced_service[0].id).order_by(Service.code)
    ).scalars().first()
    return service, listed_price(db.session, service, VISIT_DAY)


def test_ticking_the_plans_items_moves_the_plan_to_in_progress_then_completed(doctor, treatment):
    plan, (first, second), visit = treatment
    assert [choice.item for choice in plan_choices(db.session, visit)] == [first, second]
    performed = mark_performed(db.session, doctor, visit, plan_item=first)
    assert (performed.tooth, performed.surfaces, performed.quantity, performed.price) == (36, "MO", 1, FROZEN_PRICE)
    assert first.performed_at is not None and first.performed_by_id == visit.doctor_id
    assert plan.status == "in_progress"
    assert [choice.item for choice in plan_choices(db.session, visit)] == [second]
    mark_performed(db.session, doctor, visit, plan_item=second)
    assert plan.status == "completed" and plan.completed_at is not None


def test_work_that_differs_from_the_plan_says_why(doctor, treatment):
    plan, (first, _second), visit = treatment
    with pytest.raises(DomainError) as refused:
        mark_performed(db.session, doctor, visit, plan_item=first, tooth=37)
    assert refused.value.field == "note" and first.performed_at is None
    performed = mark_performed(db.session, doctor, visit, plan_item=first, tooth=37, surfaces="O",
                               note="Кариес перешёл на соседний зуб")
    assert (performed.tooth, performed.surfaces, performed.price) == (37, "O", FROZEN_PRICE)


def test_a_price_list_service_is_priced_on_the_visits_day(doctor, treatment, priced_service):
    _plan, _items, visit = treatment
    service, price = other_service(priced_service)
    performed = mark_performed(db.session, doctor, visit, service=service, tooth=11, quantity=2)
    assert (performed.plan_item_id, performed.price, performed.quantity, performed.insured) == (None, price, 2, False)


@pytest.mark.parametrize("values, field", [
    ({"tooth": 19}, "tooth"), ({"quantity": 0}, "quantity"), ({"quantity": "many"}, "quantity"),
    ({"surfaces": "XYZ"}, "surfaces"), ({"service": None}, "service"), ({"note": "x" * 20_000}, "note"),
])
def test_a_bad_service_is_refused_naming_the_field(doctor, treatment, priced_service, values, field):
    _plan, _items, visit = treatment
    service, _price = other_service(priced_service)
    with pytest.raises(DomainError) as refused:
        mark_performed(db.session, doctor, visit, **{"service": service, **values})
    assert refused.value.field == field
    db.session.rollback()
    assert count(PerformedService) == 0


def test_an_item_is_performed_once_and_only_for_its_patient(doctor, admin, center, treatment):
    plan, (first, _second), visit = treatment
    mark_performed(db.session, doctor, visit, plan_item=first)
    with pytest.raises(DomainError, match="already performed"):
        mark_performed(db.session, doctor, visit, plan_item=first)
    stranger = Patient(last_name="Чужой", first_name="Пётр", birth_date=date(1990, 1, 1), phone="+79160000077")
    db.session.add(stranger)
    db.session.commit()
    theirs = in_chair_visit(admin, center, stranger, hour=14)
    with pytest.raises(DomainError, match="another patient"):
        mark_performed(db.session, doctor, theirs, plan_item=_second)


def test_services_are_marked_only_once_the_patient_is_in_the_chair(doctor, admin, center, patient, priced_service):
    from stompro.scheduling.availability import at_local
    from stompro.scheduling.services import book_visit

    from ..conftest import doctor_works

    starts_at = at_local(center, VISIT_DAY, time(16))
    visit = book_visit(db.session, admin, clinic=center, room=center.rooms[0], doctor=doctor_works(VISIT_DAY),
                       patient=patient, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))
    with pytest.raises(DomainError, match="in the chair"):
        mark_performed(db.session, doctor, visit, service=priced_service[0])


def test_the_visit_done_becomes_the_cashiers_draft_invoice(doctor, treatment, priced_service):
    plan, (first, _second), visit = treatment
    service, price = other_service(priced_service)
    mark_performed(db.session, doctor, visit, plan_item=first)
    mark_performed(db.session, doctor, visit, service=service, tooth=11, quantity=2)
    set_visit_status(db.session, doctor, visit, "done")
    [invoice] = visit_invoices(visit)
    lines = db.session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                               .order_by(InvoiceLine.id)).scalars().all()
    assert (invoice.status, invoice.payer_kind, invoice.patient_id) == ("draft", "self", visit.patient_id)
    assert [(line.tooth, line.quantity, line.price, line.plan_item_id) for line in lines] == [
        (36, 1, FROZEN_PRICE, first.id), (11, 2, price, None)]
    db.session.expire(invoice)
    assert invoice.total == FROZEN_PRICE + 2 * price == sum(line.amount for line in lines)
    # marked after the visit: it joins the same draft
    mark_performed(db.session, doctor, visit, plan_item=_second)
    assert visit_invoices(visit) == [invoice] and len(invoice.lines) == 3


def test_insured_work_goes_to_the_insurers_invoice_and_the_rest_to_the_patient(doctor, treatment, priced_service):
    plan, (first, second), visit = treatment
    program = db.session.execute(select(InsuranceProgram).order_by(InsuranceProgram.id)).scalars().first()
    program.services.append(first.service)
    policy = InsurancePolicy(patient=plan.patient, company=program.company, program=program, number="DMS-1",
                             valid_from=date.today() - timedelta(days=30))
    plan.payer_kind, plan.policy = "insurance", policy
    second.self_paid = True  # the patient chose to pay for this one
    db.session.commit()
    assert mark_performed(db.session, doctor, visit, plan_item=first).insured
    assert not mark_performed(db.session, doctor, visit, plan_item=second).insured
    set_visit_status(db.session, doctor, visit, "done")
    insurer, own = sorted(visit_invoices(visit), key=lambda invoice: invoice.payer_kind)
    assert (insurer.payer_kind, insurer.insurance_company_id) == ("insurance", program.company_id)
    assert [line.plan_item_id for line in insurer.lines] == [first.id]
    assert (own.payer_kind, [line.plan_item_id for line in own.lines]) == ("self", [second.id])
    assert db.session.get(InsuranceCompany, insurer.insurance_company_id) is program.company


def test_a_mistake_is_taken_back_while_its_invoice_is_a_draft(doctor, cashier, treatment):
    plan, (first, second), visit = treatment
    mistaken = mark_performed(db.session, doctor, visit, plan_item=first)
    kept = mark_performed(db.session, doctor, visit, plan_item=second)
    assert plan.status == "completed"
    set_visit_status(db.session, doctor, visit, "done")
    take_back(db.session, doctor, mistaken)
    assert mistaken.deleted_at is not None and mistaken.invoice_line.deleted_at is not None
    assert first.performed_at is None and plan.status == "in_progress"
    [invoice] = visit_invoices(visit)
    set_invoice_status(db.session, cashier, invoice, "issued")
    with pytest.raises(DomainError, match="issued invoice"):
        take_back(db.session, doctor, kept)
    assert kept.deleted_at is None


# -- the doctor's screen ----------------------------------------------------------------------------


def test_the_doctor_ticks_items_and_finishes_the_visit_on_the_screen(client, auth, treatment, priced_service):
    plan, (first, second), visit = treatment
    auth.as_role("doctor")
    url = f"/admin/visit-services/{visit.id}"
    page = client.get(url).get_data(as_text=True)
    assert f'name="item" value="{first.id}"' in page and 'value="36"' in page
    service, _price = other_service(priced_service)
    response = post(client, auth, f"{url}/mark", {"item": [str(first.id)], f"tooth-{first.id}": "36",
                                                  f"surfaces-{first.id}": "MO", "service_code": service.code,
                                                  "tooth": "21", "quantity": "1"})
    assert response.status_code == 302
    assert "Marked performed: 2." in client.get(url).get_data(as_text=True)
    assert first.performed_at is not None and count(PerformedService) == 2
    assert post(client, auth, f"{url}/finish", {}).status_code == 302
    db.session.expire_all()
    assert visit.status == "done"
    [invoice] = visit_invoices(visit)
    assert invoice.status == "draft" and len(invoice.lines) == 2
    assert invoice.number in client.get(url).get_data(as_text=True)


def test_a_refused_mark_names_the_line_and_field_keeps_what_was_typed_and_saves_nothing(client, auth, treatment,
                                                                                       priced_service):
    plan, (first, _second), visit = treatment
    service, _price = other_service(priced_service)
    auth.as_role("doctor")
    url = f"/admin/visit-services/{visit.id}"
    response = post(client, auth, f"{url}/mark", {"item": [str(first.id)], f"tooth-{first.id}": "37",
                                                  f"surfaces-{first.id}": "MO"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Write why the work differs from the plan." in page and f"name=\"tooth-{first.id}\" value=\"37\"" in page
    response = post(client, auth, f"{url}/mark", {"service_code": service.code, "tooth": "21", "quantity": "0",
                                                  "note": "Скол"})
    page = response.get_data(as_text=True)
    assert "The service from the price list — Quantity: Enter a whole number" in page
    assert f'value="{service.code}"' in page and 'value="Скол"' in page and 'name="tooth" id="tooth" value="21"' in page
    db.session.expire_all()
    assert count(PerformedService) == 0 and first.performed_at is None


def test_only_doctors_and_the_owner_mark_services(client, auth, treatment):
    plan, (first, _second), visit = treatment
    auth.as_role("cashier")
    url = f"/admin/visit-services/{visit.id}"
    assert client.get(url).status_code == 200  # a cashier reads what was done
    assert post(client, auth, f"{url}/mark", {"item": [str(first.id)]}).status_code == 403
    auth.as_role("call_center")
    assert client.get(url).status_code == 403
    db.session.expire_all()
    assert count(PerformedService) == 0


# -- the API ------------------------------------------------------------------------------------------


def test_the_api_marks_services_all_or_none(api, treatment, priced_service):
    plan, (first, second), visit = treatment
    service, price = other_service(priced_service)
    api.as_role("doctor")
    url = f"/api/v1/appointments/{visit.id}/services"
    refused = api.post(url, json={"items": [{"plan_item_id": first.id}, {"service_code": "NO-SUCH"}]})
    assert refused.status_code == 422
    assert set(refused.get_json()["fields"]) == {"items[2].service_code"}
    db.session.expire_all()
    assert count(PerformedService) == 0 and first.performed_at is None
    response = api.post(url, json={"items": [{"plan_item_id": first.id},
                                             {"service_code": service.code, "tooth": 21, "quantity": 2}]})
    assert response.status_code == 201, response.get_json()
    assert [(s["plan_item_id"], s["tooth"], s["price"]) for s in response.get_json()["services"]] == [
        (first.id, 36, "1234.00"), (None, 21, f"{price:.2f}")]
    api.as_role("cashier")
    assert api.post(url, json={"items": [{"plan_item_id": second.id}]}).status_code == 403
    assert Decimal(response.get_json()["services"][0]["price"]) == FROZEN_PRICE
