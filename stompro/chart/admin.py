"""The chart's records: findings, exams (the medical card), attachments, references."""
from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.helpers import get_redirect_target
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_admin.model.helpers import get_mdict_item_or_list
from flask_admin.model.template import BaseListRowAction, EditRowAction, LinkRowAction, ViewRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from ..admin.base import StomproModelView, Writes
from ..admin.filters import rows_filter, staff_filter
from ..admin.labels import LABELS
from ..admin.links import live_or_404
from ..admin.lookups import PatientLookup
from ..admin.permissions import Permissions
from ..audit.access import record_access
from ..db import utcnow
from ..extensions import db
from ..org.roles import ADMINISTRATOR, COORDINATOR, DOCTOR, EVERYONE, OWNER, OWNER_ONLY
from ..patients.models import Patient
from .exams import (
    EXAM_FIELDS, add_addendum, addendum_refusal, edit_refusal, exams_for_patient, rewrite_exam, sign_exam, start_exam,
    write_exam, writer_refusal,
)  # importing exams also installs the guard that locks signed exams in every session
from .models import Condition, Diagnosis, Exam, ToothFinding
from .services import record_finding

CATEGORY = _l("Medical card")
CLINICIANS = {OWNER, DOCTOR}


def _colour_swatch(view, context, model, name):
    return Markup('<span style="display:inline-block;width:1em;height:1em;background:{}"></span> {}').format(
        model.color, model.color
    )


class ConditionAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers=EVERYONE, export=OWNER_ONLY, delete=set())
    column_list = ("code", "name_ru", "name_en", "color", "symbol", "needs_treatment", "scope", "sort_order")
    column_formatters = {"color": _colour_swatch}
    column_default_sort = "sort_order"
    column_searchable_list = ("code", "name_ru", "name_en")


class DiagnosisAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={OWNER, DOCTOR, COORDINATOR}, export=OWNER_ONLY, delete=set())
    column_list = ("code", "name_ru", "name_en")
    column_searchable_list = ("code", "name_ru", "name_en")
    column_default_sort = "code"


class ToothFindingAdmin(StomproModelView):
    """The chart's history as a list. Only doctors record a finding, here as
    on the chart page, through the same service: the author and the time are
    theirs and now, and a finding is never edited or deleted."""

    permissions = Permissions(
        list=frozenset(CLINICIANS | {ADMINISTRATOR, COORDINATOR}), create=frozenset({DOCTOR}), export=frozenset(CLINICIANS)
    )
    writes = Writes(create=record_finding)
    patient_access = "chart"
    simple_list_pager = True
    column_list = ("patient", "tooth", "surfaces", "condition", "note", "author", "recorded_at")
    column_filters = (
        "tooth",
        rows_filter(ToothFinding.condition_id, LABELS["condition"], Condition, Condition.sort_order),
        staff_filter(ToothFinding.author_id, LABELS["author"], roles={DOCTOR}),
        "recorded_at",
    )
    column_searchable_list = ("patient.last_name", "patient.phone")
    column_sortable_list = ("tooth", "recorded_at")
    column_default_sort = ("recorded_at", True)
    form_columns = ("patient", "tooth", "surfaces", "condition", "note")
    form_ajax_refs = {"patient": PatientLookup()}


class DiagnosisLookup(QueryAjaxModelLoader):
    """Finds an ICD-10 diagnosis by code or by its Russian or English name,
    in any letter case. SQLite's LIKE folds the case of Latin letters only
    ("кариес" would miss "Кариес дентина"), and K00–K14 is about a hundred
    rows, so the matching is done here, the same on every database."""

    SEARCHED = ("code", "name_ru", "name_en")

    def __init__(self, name="diagnosis"):
        super().__init__(name, db, Diagnosis, fields=self.SEARCHED, page_size=20)

    def get_list(self, term, offset=0, limit=DEFAULT_PAGE_SIZE):
        wanted = (term or "").strip().casefold()
        diagnoses = db.session.execute(select(Diagnosis).order_by(Diagnosis.code)).scalars()
        found = [d for d in diagnoses if any(wanted in getattr(d, f).casefold() for f in self.SEARCHED)]
        start = offset or 0  # the lookup URL may carry no offset
        return found[start:start + limit]


class ShownWhen(BaseListRowAction):
    """A row button drawn only on the rows where ``shown(row)`` holds."""

    def __init__(self, action, shown):
        super().__init__(action.title)
        self.action = action
        self.shown = shown

    def render(self, context, row_id, row):
        return self.action.render(context, row_id, row) if self.shown(row) else ""


class PostRowAction(BaseListRowAction):
    """A row button that POSTs (with the CSRF token) to an exam page
    ``endpoint`` taking ``exam_id``, after ``confirm`` when one is given."""

    def __init__(self, endpoint, icon_class, title, confirm=None):
        super().__init__(title)
        self.endpoint = endpoint
        self.icon_class = icon_class
        self.confirm = confirm

    def render(self, context, row_id, row):
        get_url = self._resolve_symbol(context, "get_url")
        # static/admin/panel.js asks; the Content-Security-Policy blocks inline onclick handlers.
        ask = Markup(' data-confirm="{}"').format(str(self.confirm)) if self.confirm else ""
        return Markup(
            '<form class="icon" method="POST" action="{}">'
            '<input type="hidden" name="csrf_token" value="{}">'
            '<button type="submit" title="{}"{}><span class="{}"></span></button></form>'
        ).format(get_url(self.endpoint, exam_id=row_id, url=context.resolve("return_url")),
                 generate_csrf(), str(self.title), ask, self.icon_class)


SIGN_CONFIRMATION = _l("A signed exam cannot be changed. Sign it?")
# The exam pages of this view and the permission each needs (see VIEW_ACTIONS).
EXAM_PAGE_ACTIONS = {"start_view": "create", "addendum_view": "create", "sign_view": "edit"}


class ExamAdmin(StomproModelView):
    """The medical card's entries. Every write goes through
    stompro.chart.exams, so the generic forms, the row buttons and the card
    page obey one set of rules: doctors write and sign their own exams,
    signed exams are locked, corrections are addenda. A clinic owner who is
    not a doctor reads the card; medical records are not theirs to author."""

    permissions = Permissions.managed_by({DOCTOR}, readers={OWNER, COORDINATOR}, export=CLINICIANS, delete=set())
    writes = Writes(create=write_exam, update=rewrite_exam)
    patient_access = "exams"
    simple_list_pager = True
    column_list = ("patient", "doctor", "examined_at", "diagnosis", "signed_at", "amends")
    column_filters = (
        staff_filter(Exam.doctor_id, LABELS["doctor"], roles={DOCTOR}),
        "examined_at", "signed_at",
        rows_filter(Exam.diagnosis_id, LABELS["diagnosis"], Diagnosis, Diagnosis.code),
    )
    column_sortable_list = ("examined_at", "signed_at")
    column_default_sort = ("examined_at", True)
    form_columns = ("patient",) + EXAM_FIELDS
    form_ajax_refs = {"patient": PatientLookup(), "diagnosis": DiagnosisLookup()}
    form_args = {"examined_at": {"default": utcnow}}

    def _handle_view(self, name, **kwargs):
        denied = super()._handle_view(name, **kwargs)
        if denied is None and name in EXAM_PAGE_ACTIONS and not self.allowed(EXAM_PAGE_ACTIONS[name]):
            abort(403)
        return denied

    # -- the list's row buttons ------------------------------------------------

    def get_list_row_actions(self):
        me = current_user._get_current_object()
        actions = [
            ViewRowAction(),
            LinkRowAction("fa fa-id-card-o", lambda action, row_id, row: self._card_url(row.patient_id),
                          _l("Medical card")),
        ]
        if self.can_edit:
            editable = lambda row: edit_refusal(row, me) is None  # noqa: E731
            actions += [
                ShownWhen(EditRowAction(), editable),
                ShownWhen(PostRowAction(".sign_view", "fa fa-lock", _l("Sign"), confirm=SIGN_CONFIRMATION), editable),
                ShownWhen(PostRowAction(".addendum_view", "fa fa-plus", _l("Add addendum")),
                          lambda row: addendum_refusal(row, me) is None),
            ]
        return actions

    # -- the generic forms, through the services ---------------------------------

    def get_edit_form(self):
        form_class = super().get_edit_form()
        del form_class.patient  # an entry never moves to another patient's card
        return form_class

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        exam = self.get_one(get_mdict_item_or_list(request.args, "id"))
        refusal = edit_refusal(exam, current_user) if exam is not None else None
        if refusal is None:
            return super().edit_view()
        flash(refusal, "error")
        status = 409 if request.method == "POST" else 200
        return self.render("exams/locked.html", exam=exam, message=refusal, **self._card_helpers()), status

    # -- the medical card page and its buttons -----------------------------------

    @expose("/card/<int:patient_id>")
    def patient_exams(self, patient_id):
        """All exams of one patient, newest first, addenda under their originals."""
        patient = self._patient_or_404(patient_id)
        record_access(db.session, current_user, patient.id, "exams")
        entries = exams_for_patient(db.session, patient_id)
        draft = next((e.exam for e in entries if edit_refusal(e.exam, current_user) is None), None)
        return self.render("exams/card.html", patient=patient, entries=entries, draft=draft,
                           may_write=writer_refusal(current_user) is None, **self._card_helpers())

    @expose("/card/<int:patient_id>/start", methods=("POST",))
    def start_view(self, patient_id):
        patient = self._patient_or_404(patient_id)
        card = self._card_url(patient_id)
        started = []
        if self._write(lambda: started.append(start_exam(db.session, patient, current_user._get_current_object())),
                       failure=_l("The exam was not started.")):
            return redirect(self.get_url(".edit_view", id=started[0].id, url=card))
        return redirect(card)

    @expose("/<int:exam_id>/sign", methods=("POST",))
    def sign_view(self, exam_id):
        exam = self._exam_or_404(exam_id)
        back = get_redirect_target() or self._card_url(exam.patient_id)
        if self._write(lambda: sign_exam(db.session, exam, current_user._get_current_object()),
                       failure=_l("The exam was not signed.")):
            flash(_("The exam is signed and locked."), "success")
        return redirect(back)

    @expose("/<int:exam_id>/addendum", methods=("POST",))
    def addendum_view(self, exam_id):
        exam = self._exam_or_404(exam_id)
        card = self._card_url(exam.patient_id)
        added = []
        if self._write(lambda: added.append(add_addendum(db.session, exam, current_user._get_current_object())),
                       failure=_l("The addendum was not started.")):
            return redirect(self.get_url(".edit_view", id=added[0].id, url=card))
        return redirect(get_redirect_target() or card)

    def _card_url(self, patient_id):
        return self.get_url(".patient_exams", patient_id=patient_id)

    def _card_helpers(self):
        """What the card's templates ask about each exam, for the signed-in person."""
        return {
            "may_edit": lambda exam: edit_refusal(exam, current_user) is None,
            "may_amend": lambda exam: addendum_refusal(exam, current_user) is None,
            "card_url": self._card_url,
        }

    def _patient_or_404(self, patient_id):
        return live_or_404(Patient, patient_id)

    def _exam_or_404(self, exam_id):
        exam = self.get_one(str(exam_id))
        if exam is None:
            abort(404)
        return exam


def register(admin):
    from .attachment_admin import register as register_attachments
    from .views import register as register_chart_pages

    admin.add_view(ExamAdmin(Exam, db, name=_l("Exams"), category=CATEGORY, endpoint="exam"))
    admin.add_view(ToothFindingAdmin(ToothFinding, db, name=_l("Chart findings"), category=CATEGORY, endpoint="tooth_finding"))
    admin.add_view(ConditionAdmin(Condition, db, name=_l("Conditions"), category=CATEGORY, endpoint="condition"))
    admin.add_view(DiagnosisAdmin(Diagnosis, db, name=_l("ICD-10 diagnoses"), category=CATEGORY, endpoint="diagnosis"))
    register_attachments(admin, CATEGORY)
    register_chart_pages(admin)
