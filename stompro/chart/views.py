"""The odontogram page: a patient's chart, recording findings on it, and the
history of one tooth. Doctors record; owner, administrators and coordinators
read; everyone else gets a 403."""
from flask import abort, get_template_attribute, jsonify, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..admin.base import RoleGuard
from ..admin.links import live_or_404, reachable_url
from ..admin.permissions import Permissions
from ..api.chart import chart_json
from ..audit.access import record_access
from ..db import utcnow
from ..errors import DomainError
from ..extensions import db
from ..org.roles import ADMINISTRATOR, COORDINATOR, DOCTOR, OWNER
from ..patients.models import Patient
from ..timefmt import to_local
from .models import Condition
from .odontogram import DENTITIONS, build_view, default_dentition
from .services import FindingsRejected, current_chart, open_exam, record_findings, tooth_history
from .teeth import validate_tooth


class ChartView(RoleGuard, BaseView):
    """/admin/chart/<patient_id>: opened from the patient list and card."""

    permissions = Permissions(list=frozenset({OWNER, DOCTOR, ADMINISTRATOR, COORDINATOR}), edit=frozenset({DOCTOR}))

    def is_visible(self):
        return False

    @expose("/")
    def index(self):
        """A chart belongs to a patient: pick one from the list."""
        return redirect(url_for("patient.index_view"))

    @expose("/<int:patient_id>")
    def patient_chart(self, patient_id):
        patient = self._patient(patient_id)
        record_access(db.session, current_user, patient.id, "chart")
        entries = current_chart(db.session, patient.id)
        conditions = self._conditions()
        return self.render(
            "chart/patient_chart.html",
            patient=patient,
            entries=entries,
            view=build_view(entries, conditions, self._dentition(patient, entries)),
            dentitions=DENTITIONS,
            editable=self.allowed("edit"),
            conditions=conditions,
            exam=open_exam(db.session, patient.id, current_user.id),
            card_url=reachable_url("patient_card.show", patient_id=patient.id),
        )

    @expose("/<int:patient_id>/findings", methods=("POST",))
    def record(self, patient_id):
        """JSON ``{"findings": [{tooth, surfaces, condition, note}], "dentition"}``
        → the new chart state, or 422 with an error per field and nothing written."""
        if not self.allowed("edit"):
            return jsonify(error=_("Only a doctor can change the chart.")), 403
        patient = self._patient(patient_id)
        payload = request.get_json(silent=True)
        findings = payload.get("findings") if isinstance(payload, dict) else None
        if not isinstance(findings, list):
            message = _("Send the findings as a list.")
            return jsonify(error=message, errors={"findings": message}), 422
        try:
            record_findings(db.session, patient, current_user._get_current_object(), findings)
        except FindingsRejected as error:
            db.session.rollback()
            return jsonify(error=str(error.message), errors={k: str(v) for k, v in error.errors.items()}), 422
        except DomainError as error:
            db.session.rollback()
            return jsonify(error=str(error.message), errors={error.field or "findings": str(error.message)}), 422
        db.session.commit()
        return jsonify(self._state(patient, payload.get("dentition")))

    @expose("/<int:patient_id>/tooth/<int:tooth>")
    def tooth_page(self, patient_id, tooth):
        patient, findings = self._history(patient_id, tooth)
        return self.render("chart/tooth_history.html", patient=patient, tooth=tooth, findings=findings)

    @expose("/<int:patient_id>/tooth/<int:tooth>/panel")
    def tooth_panel(self, patient_id, tooth):
        """The same history as a fragment for the chart's side panel."""
        patient, findings = self._history(patient_id, tooth)
        return render_template("chart/_tooth_history.html", patient=patient, tooth=tooth, findings=findings, panel=True)

    # -- helpers ----------------------------------------------------------------

    def _patient(self, patient_id):
        return live_or_404(Patient, patient_id)

    def _conditions(self):
        return db.session.execute(select(Condition).order_by(Condition.sort_order, Condition.code)).scalars().all()

    def _dentition(self, patient, entries, asked=None):
        asked = asked or request.args.get("dentition")
        if asked in DENTITIONS:
            return asked
        return default_dentition(patient.birth_date, to_local(utcnow()).date(), entries)

    def _state(self, patient, dentition):
        """The chart after a change: its findings in the API's shape and the
        redrawn odontogram with the list of findings."""
        entries = current_chart(db.session, patient.id)
        view = build_view(entries, self._conditions(), self._dentition(patient, entries, dentition))
        chart_state = get_template_attribute("chart/_chart_state.html", "chart_state")
        return {**chart_json(patient.id), "html": str(chart_state(view, entries, True))}

    def _history(self, patient_id, tooth):
        patient = self._patient(patient_id)
        try:
            validate_tooth(tooth)
        except DomainError:
            abort(404)
        record_access(db.session, current_user, patient.id, "chart")
        return patient, tooth_history(db.session, patient.id, tooth)


def register(admin):
    admin.add_view(ChartView(name=_l("Dental chart"), endpoint="chart"))
