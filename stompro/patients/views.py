"""The patient card: one screen with everything about a person.

Anyone who may list patients may open a card; each section is shown (and
loaded) only for the roles that work with it."""
from flask import abort, url_for
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..admin.base import RoleGuard, current_roles
from ..admin.choices import VALUE_LABELS
from ..admin.permissions import Permissions
from ..audit.access import record_access
from ..documents.printing import consent_specialties
from ..documents.views import DocumentDeskView
from ..errors import NotAllowed
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, CASHIER, COORDINATOR, DOCTOR, EVERYONE, OWNER
from ..admin.links import reachable_url
from ..scheduling.calendar import require_patient_calendar_reader
from .admin import PatientAdmin
from .card import patient_card
from .models import Patient

CLINICAL_READERS = frozenset({OWNER, DOCTOR, ADMINISTRATOR, COORDINATOR})
TASK_BOOK = frozenset({OWNER, ADMINISTRATOR, COORDINATOR, CALL_CENTER})
MONEY_READERS = frozenset({OWNER, ADMINISTRATOR, COORDINATOR, CASHIER})

SECTION_ROLES = {
    "chart": CLINICAL_READERS,
    "plans": CLINICAL_READERS | {CASHIER, CALL_CENTER},  # the call center books a plan's visits from it
    "visits": EVERYONE,
    "tasks": TASK_BOOK,
    "messages": TASK_BOOK,
    "documents": CLINICAL_READERS | {CASHIER},
    "money": MONEY_READERS,
}


def visible_sections(roles):
    """The card sections a person holding ``roles`` may see."""
    roles = frozenset(roles)
    return frozenset(section for section, allowed in SECTION_ROLES.items() if allowed & roles)


def value_label(code):
    return VALUE_LABELS.get(code, code)


class PatientCardView(RoleGuard, BaseView):
    permissions = Permissions(list=PatientAdmin.permissions.list)

    def is_visible(self):
        return False

    @expose("/")
    def index(self):
        """Cards are opened from the patient list; this page points there."""
        return self.render("patients/card_start.html")

    @expose("/<int:patient_id>")
    def show(self, patient_id):
        roles = current_roles()
        card = patient_card(db.session, patient_id, sections=visible_sections(roles))
        if card is None:
            abort(404)
        record_access(db.session, current_user, card.patient_id, "patient_card")
        return self.render(
            "patients/card.html",
            card=card,
            label=value_label,
            page_url=reachable_url,
            can_edit_patient=PatientAdmin.permissions.allows("edit", roles),
            can_sign_documents=DocumentDeskView.permissions.allows("edit", roles),
            consent_specialties=consent_specialties(db.session),
            calendar_url=_calendar_url(card.patient_id),
        )


def _calendar_url(patient_id):
    """The .ics of the patient's coming visits, if this person may read it."""
    try:
        require_patient_calendar_reader(db.session, current_user, db.session.get(Patient, patient_id))
    except NotAllowed:
        return None
    return url_for("calendar.patient", patient_id=patient_id)


def register(admin):
    admin.add_view(PatientCardView(name=_l("Patient card"), endpoint="patient_card"))
