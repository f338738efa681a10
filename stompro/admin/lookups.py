"""The pickers of the generic forms (Flask-Admin's ajax lookups).

Flask-Admin's own loader filters with SQL strings prefixed by the table name,
which SQLAlchemy 2.1 prefixes a second time ("patient.patient.deleted_at");
these loaders filter with column expressions instead. Each one also answers
``get_one`` only for a row it would have offered, so a form cannot be
submitted with the id of a deleted patient, an inactive person or a row of
another branch, and never with an id beyond the column's range."""
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_login import current_user
from sqlalchemy import or_, select

from ..bounds import MAX_INT, bounded_id
from ..extensions import db
from ..org.branches import branch_condition
from ..org.models import Staff, StaffRole, staff_clinic
from ..patients.models import Patient
from ..patients.phones import format_phone
from ..patients.services import search_patients

MAX_TERM = 100


def _term(term):
    """What a person typed, without control characters and at most MAX_TERM long."""
    return "".join(ch for ch in (term or "") if ch.isprintable()).strip()[:MAX_TERM]


def _window(offset, limit):
    offset = offset if isinstance(offset, int) and 0 <= offset <= MAX_INT else 0
    limit = limit if isinstance(limit, int) and 0 < limit <= 100 else DEFAULT_PAGE_SIZE
    return offset, limit


class RowLookup(QueryAjaxModelLoader):
    """Rows of ``model`` whose ``fields`` (column attributes) contain the
    typed text, among those ``where()`` allows (column expressions, built per
    request so that they may depend on the signed-in person)."""

    def __init__(self, name, model, fields, where=None, order_by=None, label=None, page_size=15):
        super().__init__(name, db, model, fields=fields, page_size=page_size, order_by=order_by)
        self.where = where or (lambda: ())
        self.label = label or str

    def allowed(self):
        return select(self.model).where(*self.where())

    def get_one(self, pk):
        row_id = bounded_id(pk)
        if row_id is None:
            return None
        with db.session.no_autoflush:
            return db.session.execute(self.allowed().where(self.model.id == row_id)).scalar_one_or_none()

    def get_list(self, term, offset=0, limit=DEFAULT_PAGE_SIZE):
        offset, limit = _window(offset, limit)
        return self.search(_term(term), offset, limit)

    def search(self, term, offset, limit):
        query = self.allowed()
        if term:
            pattern = f"%{term}%"
            query = query.where(or_(*(field.ilike(pattern) for field in self._cached_fields)))
        query = query.order_by(*(self.order_by or (self.model.id.desc(),)))
        return db.session.execute(query.offset(offset).limit(limit)).scalars().all()

    def format(self, model):
        return (model.id, self.label(model)) if model is not None else None


def _patient_label(patient):
    return f"{patient} {format_phone(patient.phone)}"


class PatientLookup(RowLookup):
    """Live patients, found as at the reception: by words of the name, a phone
    in any format or a birth date (patients.services.search_patients)."""

    def __init__(self, name="patient"):
        super().__init__(
            name, Patient, fields=(Patient.last_name,), where=lambda: (Patient.deleted_at.is_(None),),
            label=_patient_label,
        )

    def search(self, term, offset, limit):
        return search_patients(db.session, term, limit=offset + limit)[offset:]


def staff_condition(roles=None, active_only=True):
    """People (active ones unless told otherwise) holding one of ``roles`` when given."""
    conditions = [Staff.active.is_(True)] if active_only else []
    if roles:
        conditions.append(Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role.in_(tuple(roles)))))
    return conditions


class StaffLookup(RowLookup):
    """Active staff by surname, first name or login; only ``roles`` when given
    (the doctor of a visit is a doctor); with ``colleagues``, only people who
    work in one of the signed-in person's branches (all, for the network roles)."""

    def __init__(self, name="staff", roles=None, colleagues=False):
        super().__init__(
            name, Staff, fields=(Staff.last_name, Staff.first_name, Staff.login),
            where=lambda: staff_condition(roles) + ([self._colleague()] if colleagues else []),
            order_by=(Staff.last_name, Staff.first_name),
        )

    @staticmethod
    def _colleague():
        works_with_me = select(staff_clinic.c.staff_id).where(
            branch_condition(staff_clinic.c.clinic_id, current_user)
        )
        return Staff.id.in_(works_with_me)
