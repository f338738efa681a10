"""Rows written in bulk (COPY on PostgreSQL, executemany on SQLite) read back
exactly as the ORM would have written them, with their audit rows; ids drawn
in advance never collide with rows inserted afterwards."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from stompro.audit.models import AuditLog
from stompro.audit.recorder import insert_audited, system_actor
from stompro.bulk import reserve_ids
from stompro.extensions import db
from stompro.planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from stompro.catalog.models import Service


# What COPY's text format must escape: backslashes, tabs, new lines; and Cyrillic.
TRICKY_TEXT = "Визит 1 — кариес 16\tпломба\nсм. C:\\снимки\\16.png, \\N — не пусто"


def a_draft_plan(patient, doctor):
    plan = TreatmentPlan(patient=patient, author=doctor, status="draft", payer_kind="self")
    variant = PlanVariant(plan=plan, tier="optimal")
    db.session.add(plan)
    db.session.flush()
    return variant


def test_reserved_ids_are_new_and_never_taken_again(patient, doctor):
    variant = a_draft_plan(patient, doctor)
    ids = reserve_ids(db.session, PlanStage.__table__, 3)
    assert len(set(ids)) == 3
    existing = set(db.session.execute(select(PlanStage.id)).scalars())
    assert not existing & set(ids)
    insert_audited(
        db.session, PlanStage.__table__,
        [{"id": stage_id, "variant_id": variant.id, "position": n, "kind": "treatment", "duration_min": 30}
         for n, stage_id in enumerate(ids, 1)],
    )
    later = PlanStage(variant=variant, position=4, kind="treatment", duration_min=30)
    db.session.add(later)
    db.session.flush()  # an ORM insert after the bulk one takes the next free id
    assert later.id not in ids
    assert reserve_ids(db.session, PlanStage.__table__, 0) == []


def test_bulk_rows_read_back_with_defaults_types_and_a_stage_pointing_at_another(patient, doctor):
    variant = a_draft_plan(patient, doctor)
    first_id, second_id = reserve_ids(db.session, PlanStage.__table__, 2)
    [item_id] = reserve_ids(db.session, PlanItem.__table__, 1)
    service = db.session.execute(select(Service).filter_by(code="TH-FILL-O")).scalar_one()
    performed = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=3)))
    insert_audited(db.session, PlanStage.__table__, [
        {"id": first_id, "variant_id": variant.id, "position": 1, "kind": "treatment", "duration_min": 45,
         "depends_on_id": None, "explanation": TRICKY_TEXT},
        {"id": second_id, "variant_id": variant.id, "position": 2, "kind": "treatment", "duration_min": 30,
         "depends_on_id": first_id, "explanation": "Visit 2"},
    ])
    insert_audited(db.session, PlanItem.__table__, [
        {"id": item_id, "stage_id": second_id, "tooth": 16, "surfaces": "MO", "service_id": service.id,
         "quantity": 2, "price": Decimal("4500.50"), "mandatory": True, "performed_at": performed},
    ])
    db.session.expire_all()
    first, second = db.session.get(PlanStage, first_id), db.session.get(PlanStage, second_id)
    item = db.session.get(PlanItem, item_id)
    assert second.depends_on is first and first.explanation == TRICKY_TEXT
    audited = db.session.execute(
        select(AuditLog.changes).where(AuditLog.table_name == "plan_stage", AuditLog.row_id == first_id)
    ).scalar_one()
    assert audited["explanation"] == TRICKY_TEXT
    assert first.parallel is False and first.min_gap_days == 0  # column defaults filled in
    assert item.stage is second and item.service is service
    assert (item.tooth, item.surfaces, item.quantity, item.price) == (16, "MO", 2, Decimal("4500.50"))
    assert item.performed_at == performed and item.performed_at.utcoffset() == timedelta(0)
    assert item.version == 1 and item.removed is False and item.deleted_at is None
    assert item.created_at.tzinfo is not None


def test_every_bulk_row_is_audited_like_an_orm_insert(patient, doctor):
    variant = a_draft_plan(patient, doctor)
    ids = reserve_ids(db.session, PlanStage.__table__, 2)
    token = system_actor.set("bulk-test")
    try:
        insert_audited(db.session, PlanStage.__table__, [
            {"id": stage_id, "variant_id": variant.id, "position": n, "kind": "examination", "duration_min": 20}
            for n, stage_id in enumerate(ids, 1)
        ])
    finally:
        system_actor.reset(token)
    entries = db.session.execute(
        select(AuditLog).where(AuditLog.table_name == "plan_stage", AuditLog.row_id.in_(ids)).order_by(AuditLog.row_id)
    ).scalars().all()
    assert [entry.row_id for entry in entries] == ids
    assert {entry.action for entry in entries} == {"insert"}
    assert {entry.actor_login for entry in entries} == {"bulk-test"}
    assert entries[1].changes["position"] == 2 and entries[1].changes["kind"] == "examination"
    assert entries[0].changes["variant_id"] == variant.id
    assert "updated_at" not in entries[0].changes and "created_at" in entries[0].changes
