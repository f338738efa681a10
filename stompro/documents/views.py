"""The reception's documents desk: prepare a patient's document from its
template and print it (PDF), then mark it signed — from the patient card
and from a visit on the board, where the documents gate names what is
missing. The rules are documents.services and documents.printing."""
from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..admin.base import RoleGuard
from ..admin.permissions import Permissions
from ..audit.access import record_access
from ..chart.attachments import attachment_path, file_response
from ..errors import DomainError, NotAllowed
from ..extensions import db
from ..org.branches import clinics_of, require_branch
from ..org.models import Clinic, Specialty
from ..org.roles import DOCTOR
from ..org.views import safe_next
from ..patients.models import Patient
from ..records import row_by_id
from ..planning.models import TreatmentPlan
from ..scheduling.models import Appointment
from .admin import DOCUMENT_WRITERS
from .models import PatientDocument
from .printing import document_pdf, prepare_document
from .services import attach_signed_copy, sign_document, terminate_contract


class DocumentDeskView(RoleGuard, BaseView):
    permissions = Permissions(list=DOCUMENT_WRITERS | {DOCTOR}, edit=DOCUMENT_WRITERS)

    def is_visible(self):
        return False  # reached from the patient card and the board

    @expose("/")
    def index(self):
        return redirect(url_for("patient_document.index_view"))

    @expose("/prepare", methods=("POST",))
    def prepare(self):
        """``patient_id``, ``kind``, ``specialty`` (a code, for a consent), ``plan_id``?, ``visit_id``? (its doctor
        and branch), ``next``: a draft made from its template, then its PDF."""
        self._may_write()
        form = request.form
        patient = row_by_id(db.session, Patient, form.get("patient_id"))
        if patient is None or patient.deleted_at is not None:
            abort(404)
        visit = row_by_id(db.session, Appointment, form.get("visit_id"))
        me = current_user._get_current_object()
        mine = clinics_of(db.session, me)
        # the visit's branch, else the one asked, else the patient's if it is mine, else the first of mine
        home = patient.home_clinic if patient.home_clinic in mine else None
        clinic = visit.clinic if visit is not None else (
            row_by_id(db.session, Clinic, form.get("clinic_id")) or home or (mine[0] if mine else None))
        specialty = db.session.execute(select(Specialty).filter_by(code=form.get("specialty") or "")).scalar()
        try:
            plan = row_by_id(db.session, TreatmentPlan, form.get("plan_id"))
            document = prepare_document(db.session, me, patient, clinic, form.get("kind"), specialty, plan)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(_("The document was not prepared: %(reason)s", reason=error.message), "error")
            return redirect(safe_next(form.get("next")) or url_for("patient_card.show", patient_id=patient.id))
        return redirect(url_for(".pdf", document_id=document.id, visit=visit.id if visit else None))

    @expose("/<int:document_id>.pdf")
    def pdf(self, document_id):
        document = self._document(document_id)
        visit = row_by_id(db.session, Appointment, request.args.get("visit"))
        doctor = visit.doctor if visit is not None and visit.patient_id == document.patient_id else None
        try:
            body = document_pdf(db.session, document, doctor)
        except DomainError as error:  # a template that cannot be filled in, a PDF that cannot be made
            return Response(str(error.message), status=422, mimetype="text/plain")
        response = Response(body, mimetype="application/pdf")
        named = quote(f"document-{document.id}-{document.patient.last_name}.pdf")
        response.headers["Content-Disposition"] = (f"inline; filename=\"document-{document.id}.pdf\"; "
                                                   f"filename*=UTF-8''{named}")
        return response

    @expose("/<int:document_id>/sign", methods=("POST",))
    def sign(self, document_id):
        """``signed_by`` (patient | representative), ``representative_name``, ``representative_document``, ``next``."""
        self._may_write()
        document = self._document(document_id)
        form = request.form
        back = safe_next(form.get("next")) or url_for("patient_card.show", patient_id=document.patient_id)
        try:
            sign_document(db.session, current_user._get_current_object(), document,
                          signed_by=form.get("signed_by") or "patient",
                          representative_name=form.get("representative_name"),
                          representative_document=form.get("representative_document"))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(_("Not marked signed: %(reason)s", reason=error.message), "error")
            return redirect(back)
        flash(_("Signed: %(document)s — %(patient)s.", document=document.title, patient=document.patient.full_name),
              "success")
        return redirect(back)

    @expose("/<int:document_id>/terminate", methods=("POST",))
    def terminate(self, document_id):
        """``reason``, ``next``: a signed contract ends now."""
        self._may_write()
        document = self._document(document_id)
        back = safe_next(request.form.get("next")) or url_for("patient_card.show", patient_id=document.patient_id)
        try:
            terminate_contract(db.session, current_user._get_current_object(), document,
                               reason=request.form.get("reason"))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(_("The contract is not terminated: %(reason)s", reason=error.message), "error")
            return redirect(back)
        flash(_("The contract is terminated: a new one is signed before the next treatment."), "success")
        return redirect(back)

    @expose("/<int:document_id>/scan", methods=("POST",))
    def scan(self, document_id):
        """``file``: the scanned signed paper (a PDF or an image), ``next``."""
        self._may_write()
        document = self._document(document_id)
        back = safe_next(request.form.get("next")) or url_for("patient_card.show", patient_id=document.patient_id)
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise DomainError(_("Choose the file of the signed copy."), field="file")
            attach_signed_copy(db.session, current_user._get_current_object(), document, upload.stream,
                               upload.filename, storage_dir=current_app.config["ATTACHMENTS_DIR"],
                               max_bytes=int(float(current_app.config["MAX_ATTACHMENT_MB"]) * 2**20))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(_("The signed copy was not kept: %(reason)s", reason=error.message), "error")
            return redirect(back)
        flash(_("The signed copy is kept: %(document)s.", document=document.title), "success")
        return redirect(back)

    @expose("/<int:document_id>/signed-copy")
    def signed_copy(self, document_id):
        """The scanned signed paper, for those who read the patient's documents."""
        document = self._document(document_id)
        if document.scan is None:
            abort(404)
        scan = document.scan
        return file_response(attachment_path(current_app.config["ATTACHMENTS_DIR"], scan), scan.content_type,
                             scan.filename)

    def _may_write(self):
        if not self.allowed("edit"):
            abort(403)

    def _document(self, document_id):
        document = db.session.get(PatientDocument, document_id)
        if document is None or document.deleted_at is not None:
            abort(404)
        try:
            require_branch(current_user, document.clinic_id)
        except NotAllowed:
            abort(403)
        record_access(db.session, current_user, document.patient_id, "documents")
        return document
