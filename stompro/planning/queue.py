"""The coordinator's queue: plans still to present, and plans presented
and waiting for the patient's decision."""
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from ..org.branches import clinic_ids_of, works_network_wide
from ..patients.models import Patient
from .models import TreatmentPlan

AWAITING = ("draft", "presented")


def awaiting_decision(session, coordinator, limit=100):
    """The live plans of live patients in draft or presented, of the
    person's branches (the plan's, else the patient's home): their own
    first, then nobody's, then the rest; presented ones first, longest
    waiting first."""
    branch = func.coalesce(TreatmentPlan.clinic_id, Patient.home_clinic_id)
    mine = func.coalesce(TreatmentPlan.coordinator_id, Patient.coordinator_id)
    query = (
        select(TreatmentPlan)
        .join(Patient, Patient.id == TreatmentPlan.patient_id)
        .where(TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None), TreatmentPlan.status.in_(AWAITING))
        .options(joinedload(TreatmentPlan.patient))
        .order_by(case((mine == coordinator.id, 0), (mine.is_(None), 1), else_=2),
                  case((TreatmentPlan.status == "presented", 0), else_=1),
                  func.coalesce(TreatmentPlan.presented_at, TreatmentPlan.created_at), TreatmentPlan.id)
        .limit(limit)
    )
    if not works_network_wide(coordinator):
        query = query.where(branch.in_(clinic_ids_of(coordinator)) | branch.is_(None))
    return session.execute(query).scalars().all()
