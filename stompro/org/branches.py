"""Branches: whose schedules, task queues, cash desk, documents and time
clock a person sees and changes. A person works in their clinics; owners and
the call center work for the whole network. Patients and their medical
records are shared by the network and are not limited here."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select, true

from ..errors import NotAllowed
from .models import Clinic, staff_clinic
from .roles import CALL_CENTER, OWNER

NETWORK_ROLES = frozenset({OWNER, CALL_CENTER})


class OtherBranch(NotAllowed):
    """The row belongs to a branch the person does not work in (a 403)."""


def works_network_wide(staff):
    return staff.has_any_role(NETWORK_ROLES)


def clinic_ids_of(staff):
    """The ids of the person's clinics."""
    return {clinic.id for clinic in staff.clinics}


def clinics_of(session, staff):
    """The branches a person may choose: every active one for the network
    roles, else their own."""
    query = select(Clinic).where(Clinic.active.is_(True)).order_by(Clinic.name)
    if not works_network_wide(staff):
        query = query.where(Clinic.id.in_(select(staff_clinic.c.clinic_id).where(staff_clinic.c.staff_id == staff.id)))
    return session.execute(query).scalars().all()


def branch_condition(column, staff):
    """SQL: rows of ``column``'s branch that ``staff`` may see. A row with no
    branch (a network-wide task) is everyone's. Without a person (the CLI, a
    job) every row; an anonymous visitor none."""
    if staff is None or (staff.is_authenticated and works_network_wide(staff)):
        return true()
    if not staff.is_authenticated:
        return false()
    mine = select(staff_clinic.c.clinic_id).where(staff_clinic.c.staff_id == staff.id)
    return or_(column.in_(mine), column.is_(None))


def require_branch(staff, clinic, field="clinic"):
    """Refuse a write to a branch the person does not work in."""
    clinic_id = getattr(clinic, "id", clinic)
    if clinic_id is None or works_network_wide(staff) or clinic_id in clinic_ids_of(staff):
        return
    raise OtherBranch(_l("You do not work in this branch."), field=field)
