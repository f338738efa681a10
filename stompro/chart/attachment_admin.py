"""X-rays, photos and scans of a patient: the list, the upload form, the
per-patient gallery, and the file and thumbnail endpoints.

Endpoints for links from other screens (the patient card):
``attachment.gallery_view`` (patient_id), ``attachment.upload_view``
(patient_id, optional ``url`` to return to), ``attachment.file_view`` and
``attachment.thumbnail_view`` (attachment_id)."""
from flask import abort, current_app, flash, redirect, url_for
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from ..admin.base import StomproModelView, Writes, current_roles
from ..audit.access import record_access
from ..admin.links import live_or_404
from ..admin.choices import VALUE_LABELS, labelled
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from ..org.roles import COORDINATOR, DOCTOR, OWNER
from ..patients.models import Patient
from ..timefmt import from_local
from .attachments import (
    IMAGE_TYPES, attachment_path, describe_attachment, discard_attachment, file_response, list_attachments,
    store_attachment, thumbnail_path,
)
from .models import ATTACHMENT_KINDS, Attachment

CLINICIANS = frozenset({OWNER, DOCTOR})
# Doctors attach the X-rays and photos they take; the owner is a clinician
# too. The coordinator only looks at them when presenting a plan.
UPLOADERS = CLINICIANS


class UploadForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to attach."))])
    kind = SelectField(_l("Kind"), choices=labelled(ATTACHMENT_KINDS), default="xray")
    taken_at = DateTimeLocalField(_l("Taken at"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


def _preview(view, context, model, name):
    """The thumbnail of an image, a plain "PDF" tile otherwise; both open the file."""
    opened = url_for(".file_view", attachment_id=model.id)
    if model.content_type in IMAGE_TYPES:
        return Markup('<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" height="64" loading="lazy"></a>').format(
            opened, url_for(".thumbnail_view", attachment_id=model.id), model.filename
        )
    return Markup('<a href="{}" target="_blank" rel="noopener" class="badge badge-secondary p-2">PDF</a>').format(opened)


def _opened_filename(view, context, model, name):
    return Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(
        url_for(".file_view", attachment_id=model.id), model.filename
    )


def _patient_gallery(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(url_for(".gallery_view", patient_id=model.patient_id), model.patient)


class AttachmentAdmin(StomproModelView):
    permissions = Permissions(
        list=frozenset(CLINICIANS | {COORDINATOR}),
        edit=CLINICIANS,
        delete=CLINICIANS,
        export=CLINICIANS,
    )
    writes = Writes(update=describe_attachment, delete=discard_attachment)
    patient_access = "images"
    simple_list_pager = True
    column_list = ("preview", "patient", "kind", "filename", "content_type", "size_bytes", "taken_at", "uploaded_by")
    column_labels = {**LABELS, "preview": _l("Preview")}
    column_formatters = {"preview": _preview, "filename": _opened_filename, "patient": _patient_gallery}
    column_filters = ("kind", "taken_at")
    column_default_sort = ("taken_at", True)
    column_export_exclude_list = ("preview",)
    form_columns = ("kind", "taken_at", "note")

    def may_upload(self):
        return bool(current_roles() & UPLOADERS)

    @expose("/patient/<int:patient_id>")
    def gallery_view(self, patient_id):
        patient = self._patient(patient_id)
        record_access(db.session, current_user, patient.id, "images")
        return self.render(
            "attachments/gallery.html",
            patient=patient,
            attachments=list_attachments(db.session, patient.id),
            kind_labels=VALUE_LABELS,
            image_types=IMAGE_TYPES,
            may_upload=self.may_upload(),
        )

    @expose("/upload/<int:patient_id>", methods=("GET", "POST"))
    def upload_view(self, patient_id):
        if not self.may_upload():
            abort(403)
        patient = self._patient(patient_id)
        back = get_redirect_target() or url_for(".gallery_view", patient_id=patient.id)
        form = UploadForm()
        if form.validate_on_submit():
            try:
                attachment = store_attachment(
                    db.session,
                    patient,
                    current_user._get_current_object(),
                    form.file.data.stream,
                    form.file.data.filename,
                    form.kind.data,
                    taken_at=from_local(form.taken_at.data),
                    note=form.note.data,
                    storage_dir=self._storage_dir(),
                    max_bytes=int(float(current_app.config["MAX_ATTACHMENT_MB"]) * 2**20),
                )
            except DomainError as error:
                db.session.rollback()
                getattr(form, error.field or "file", form.file).errors.append(str(error.message))
                flash(error.message, "error")
            else:
                db.session.commit()
                flash(_l("Attached: %(name)s", name=attachment.filename), "success")
                return redirect(back)
        return self.render("attachments/upload.html", patient=patient, form=form, back=back)

    @expose("/file/<int:attachment_id>")
    def file_view(self, attachment_id):
        attachment = self._attachment(attachment_id)
        return file_response(attachment_path(self._storage_dir(), attachment), attachment.content_type, attachment.filename)

    @expose("/thumb/<int:attachment_id>")
    def thumbnail_view(self, attachment_id):
        attachment = self._attachment(attachment_id, logged=False)
        path = thumbnail_path(self._storage_dir(), attachment)
        if path is None:
            abort(404)
        return file_response(path, "image/jpeg", None)

    def _patient(self, patient_id):
        return live_or_404(Patient, patient_id)

    def _attachment(self, attachment_id, logged=True):
        """The attachment of a URL; opening the file itself is logged (its
        thumbnails in the gallery are part of the gallery's opening)."""
        attachment = self.get_one(str(attachment_id))
        if attachment is None:
            abort(404)
        if logged:
            record_access(db.session, current_user, attachment.patient_id, "images")
        return attachment

    @staticmethod
    def _storage_dir():
        return current_app.config["ATTACHMENTS_DIR"]




def register(admin, category):
    admin.add_view(AttachmentAdmin(Attachment, db, name=_l("X-rays and photos"), category=category, endpoint="attachment"))
