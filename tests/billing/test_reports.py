"""The cash desk's day report and the insurer's invoice of the month: the
figures from the payments and invoices, on screen, as PDF read back, and as
CSV."""
import csv
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO, StringIO

from pypdf import PdfReader
from sqlalchemy import select

from stompro.billing.day_report import day_report
from stompro.billing.insurance import insurer_registry
from stompro.billing.services import add_line, create_invoice, record_payment, refund, set_invoice_status
from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import InsurancePolicy, InsuranceProgram
from stompro.scheduling.availability import local_day
from stompro.timefmt import format_money, to_local


def pdf_text(body):
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(body)).pages)


def test_the_day_report_counts_by_method_and_cashier_and_follows_the_drawer(cashier, patient, center):
    today = local_day(center, utcnow())
    before = day_report(db.session, center, today)
    record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount="1000")
    record_payment(db.session, cashier, patient=patient, clinic=center, method="card", amount="500")
    refund(db.session, cashier, patient=patient, clinic=center, method="cash", amount="200", reason="Переплата")
    after = day_report(db.session, center, today)
    assert after.by_method["cash"][1] - before.by_method["cash"][1] == Decimal("800.00")
    assert after.by_method["card"][1] - before.by_method["card"][1] == Decimal("500.00")
    assert after.by_method["cash"][0] - before.by_method["cash"][0] == 2
    assert after.refunds - before.refunds == Decimal("200.00")
    assert after.total - before.total == Decimal("1300.00")
    assert after.opening_cash == before.opening_cash
    assert after.closing_cash == after.opening_cash + after.by_method["cash"][1]
    assert day_report(db.session, center, today + timedelta(days=1)).opening_cash == after.closing_cash
    mine = next(row for row in after.by_cashier if row[0] is not None and row[0].id == cashier.id)
    assert mine[1]["card"] >= Decimal("500.00")


def test_the_day_report_on_screen_and_paper(client, auth, cashier, patient, center):
    record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount="1234.50")
    db.session.commit()
    report = day_report(db.session, center, local_day(center, utcnow()))
    auth.as_role("cashier")
    page = client.get(f"/admin/cash-desk/day?clinic={center.id}").get_data(as_text=True)
    assert format_money(report.closing_cash) in page and format_money(report.total) in page
    pdf = client.get(f"/admin/cash-desk/day.pdf?clinic={center.id}")
    text = pdf_text(pdf.data)
    assert center.name in text and cashier.last_name in text
    assert format_money(report.closing_cash).replace("\u00a0", " ") in text
    auth.as_role("doctor")
    assert client.get("/admin/cash-desk/day").status_code == 403


def insured_invoice(actor, patient, clinic, program, service, price, number="ДМС-77"):
    db.session.add(InsurancePolicy(patient=patient, company=program.company, program=program, number=number,
                                   valid_from=date.today() - timedelta(days=60)))
    db.session.flush()
    invoice = create_invoice(db.session, actor, patient=patient, clinic=clinic, payer_kind="insurance",
                             insurance_company=program.company)
    add_line(db.session, actor, invoice=invoice, service=service, tooth=36, price=price)
    set_invoice_status(db.session, actor, invoice, "issued")
    return invoice


def test_the_insurers_invoice_lists_its_patients_services_and_total(client, auth, cashier, patient, other_patient,
                                                                    center, priced_service):
    service, _price = priced_service
    program = db.session.execute(select(InsuranceProgram).order_by(InsuranceProgram.id)).scalars().first()
    other = InsuranceProgram(company=program.company, code="TEST-OTHER", name="Другая программа")
    db.session.add(other)
    ours = insured_invoice(cashier, patient, center, program, service, Decimal("4100.00"))
    insured_invoice(cashier, other_patient, center, other, service, Decimal("999.00"), number="OTHER-1")
    db.session.commit()
    month = to_local(utcnow()).date().replace(day=1)
    registry = insurer_registry(db.session, cashier, program.company, program, month)
    [row] = [row for row in registry.rows if row.invoice == ours.number]
    assert (row.patient, row.policy, row.tooth, row.code, row.amount) == (
        patient.full_name, "ДМС-77", 36, service.code, Decimal("4100.00"))
    assert all(row.policy != "OTHER-1" for row in registry.rows)
    assert registry.total == sum((r.amount for r in registry.rows), Decimal("0.00"))

    auth.as_role("cashier")
    query = f"?program={program.id}&month={month:%Y-%m}"
    assert patient.full_name in client.get(f"/admin/insurance-registry/{query}").get_data(as_text=True)
    lines = list(csv.reader(StringIO(client.get(f"/admin/insurance-registry/registry.csv{query}")
                                     .get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    ours_line = next(line for line in lines if line[-1] == ours.number)
    assert (ours_line[0], ours_line[2], ours_line[-2]) == (patient.full_name, "ДМС-77", "4100.00")
    assert lines[-1][-2] == f"{registry.total:.2f}"
    text = pdf_text(client.get(f"/admin/insurance-registry/registry.pdf{query}").data)
    assert patient.last_name in text and program.company.name in text
    assert format_money(registry.total).replace("\u00a0", " ") in text
    auth.as_role("administrator")
    assert client.get(f"/admin/insurance-registry/{query}").status_code == 403
