"""Loads seeds/reference/*.yaml through the ORM. Rows are matched by their
natural key (code, name …) and updated in place, so loading twice changes
nothing and creates no duplicates."""
from datetime import date
from decimal import Decimal

import yaml
from sqlalchemy import select

from ..catalog.models import PriceList, PriceListItem, Protocol, ProtocolStep, Service
from ..chart.models import Condition, Diagnosis
from ..documents.models import DocumentTemplate
from ..messaging.models import MessageTemplate
from ..org.models import Specialty
from ..patients.models import InsuranceCompany, InsuranceProgram
from ..settings import PROJECT_ROOT
from ..tasks.models import TaskRule

REFERENCE_DIR = PROJECT_ROOT / "seeds" / "reference"


def read_yaml(name, directory=REFERENCE_DIR):
    with open(directory / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def upsert(session, model, key, values):
    """Find ``model`` by the ``key`` fields of ``values``; create or update it."""
    lookup = {field: values[field] for field in key}
    row = session.execute(select(model).filter_by(**lookup)).scalar_one_or_none()
    if row is None:
        row = model(**values)
        session.add(row)
    else:
        for field, value in values.items():
            if getattr(row, field) != value:
                setattr(row, field, value)
    return row


def _by_code(session, model):
    return {row.code: row for row in session.execute(select(model)).scalars()}


def load_reference(session):
    """Load (or refresh) every reference table; return counts per table."""
    counts = {}
    for loader in (
        load_specialties,
        load_conditions,
        load_diagnoses,
        load_services,
        load_price_lists,
        load_protocols,
        load_insurance,
        load_message_templates,
        load_document_templates,
        load_task_rules,
    ):
        counts.update(loader(session))
        session.flush()
    return counts


def load_specialties(session):
    rows = read_yaml("specialties.yaml")
    for row in rows:
        upsert(session, Specialty, ("code",), row)
    return {"specialty": len(rows)}


def load_conditions(session):
    rows = read_yaml("conditions.yaml")
    for row in rows:
        upsert(session, Condition, ("code",), row)
    return {"condition": len(rows)}


def load_diagnoses(session):
    rows = read_yaml("icd10.yaml")
    for row in rows:
        upsert(session, Diagnosis, ("code",), {k: row[k] for k in ("code", "name_en", "name_ru")})
    return {"diagnosis": len(rows)}


def load_services(session):
    rows = read_yaml("services.yaml")
    specialties = _by_code(session, Specialty)
    conditions = _by_code(session, Condition)
    for row in rows:
        values = {
            "code": row["code"],
            "name_en": row["name_en"],
            "name_ru": row["name_ru"],
            "specialty": specialties[row["specialty"]],
            "duration_min": row["duration_min"],
            "tier": row.get("tier"),
            "stage_kind": row.get("stage_kind", "treatment"),
            "scope": row.get("scope", "tooth"),
            "target_condition": conditions.get(row.get("target_condition")),
        }
        upsert(session, Service, ("code",), values)
    return {"service": len(rows)}


def load_price_lists(session):
    """One price list whose prices are the ``price`` of each service row."""
    header = read_yaml("price_lists.yaml")
    if isinstance(header, list):
        header = header[0]
    price_list = upsert(
        session,
        PriceList,
        ("name",),
        {
            "name": header["name"],
            "currency": header.get("currency", "RUB"),
            "valid_from": _date(header["valid_from"]),
            "valid_to": _date(header.get("valid_to")),
        },
    )
    session.flush()
    services = _by_code(session, Service)
    existing = {item.service_id: item for item in price_list.items}
    rows = read_yaml("services.yaml")
    for row in rows:
        service = services[row["code"]]
        price = Decimal(str(row["price"])).quantize(Decimal("0.01"))
        item = existing.get(service.id)
        if item is None:
            price_list.items.append(PriceListItem(service=service, price=price))
        elif item.price != price:
            item.price = price
    return {"price_list_item": len(rows)}


def load_protocols(session):
    rows = read_yaml("protocols.yaml")
    conditions = _by_code(session, Condition)
    services = _by_code(session, Service)
    for row in rows:
        protocol = upsert(
            session,
            Protocol,
            ("condition", "tier"),
            {
                "condition": conditions[row["condition"]],
                "tier": row["tier"],
                "name": row["name"],
                "note": row.get("note"),
            },
        )
        wanted = [
            {
                "position": position,
                "service": services[step["service"]],
                "quantity": step.get("quantity", 1),
                "mandatory": bool(step.get("mandatory", False)),
                "min_gap_days": step.get("min_gap_days", 0),
            }
            for position, step in enumerate(row["steps"], start=1)
        ]
        _replace_steps(protocol, wanted)
    return {"protocol": len(rows)}


def _replace_steps(protocol, wanted):
    current = [
        (s.position, s.service.code, s.quantity, s.mandatory, s.min_gap_days) for s in protocol.steps
    ]
    desired = [
        (w["position"], w["service"].code, w["quantity"], w["mandatory"], w["min_gap_days"]) for w in wanted
    ]
    if current != desired:
        protocol.steps.clear()
        for values in wanted:
            protocol.steps.append(ProtocolStep(**values))


def load_insurance(session):
    companies = read_yaml("insurance.yaml")
    if isinstance(companies, dict):
        companies = [companies]
    services = _by_code(session, Service)
    programs = 0
    for data in companies:
        company = upsert(
            session,
            InsuranceCompany,
            ("name",),
            {k: data.get(k) for k in ("name", "inn", "phone", "contract_number")},
        )
        session.flush()
        for program_data in data["programs"]:
            program = upsert(
                session,
                InsuranceProgram,
                ("company_id", "code"),
                {"company_id": company.id, "code": program_data["code"], "name": program_data["name"]},
            )
            covered = [services[code] for code in program_data["services"]]
            if {s.code for s in program.services} != {s.code for s in covered}:
                program.services = covered
            programs += 1
    return {"insurance_company": len(companies), "insurance_program": programs}


def load_message_templates(session):
    rows = read_yaml("message_templates.yaml")
    for row in rows:
        upsert(session, MessageTemplate, ("code", "channel", "language"), row)
    return {"message_template": len(rows)}


def load_document_templates(session):
    rows = read_yaml("document_templates.yaml")
    specialties = _by_code(session, Specialty)
    for row in rows:
        values = dict(row, specialty=specialties.get(row.get("specialty")))
        upsert(session, DocumentTemplate, ("code", "language"), values)
    return {"document_template": len(rows)}


def load_task_rules(session):
    rows = read_yaml("task_rules.yaml")
    for row in rows:
        upsert(session, TaskRule, ("code",), row)
    return {"task_rule": len(rows)}


def _date(value):
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
