"""The lost patients (tasks.lost): who has a running plan and nothing
arranged, for the call center's and the coordinators' own tools. The same
list as /admin/lost-patients/, limited to the caller's branches."""
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER
from ..tasks.lost import branches_of, lost_plans
from . import bp
from .appointments import local_moment
from .auth import current_staff, requires_roles

LOST_READERS = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR})


@bp.get("/patients/lost")
@requires_roles(LOST_READERS)
def lost_patients():
    rows = lost_plans(db.session, clinics=branches_of(db.session, current_staff()))
    return {"patients": [lost_json(row) for row in rows]}


def lost_json(row):
    return {
        "patient_id": row.patient.id,
        "plan_id": row.plan.id,
        "last_visit": _moment(row.last_visit, row.clinic),
        "last_contact": _moment(row.last_contact, row.clinic),
    }


def _moment(moment, clinic):
    """ISO 8601 with the branch's offset (UTC for a plan of no branch)."""
    if moment is None:
        return None
    return local_moment(moment, clinic) if clinic is not None else moment.isoformat(timespec="seconds")
