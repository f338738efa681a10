"""Visits, shifts, closures, absences and the waiting list as records. They
save through stompro.scheduling's services and show only the rows of the
person's branches."""
from flask import flash, redirect
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..admin.base import StomproModelView, Writes
from ..admin.filters import clinic_filter, rows_filter, staff_filter
from ..admin.forms import WeekdaysField, weekday_names
from ..admin.labels import LABELS
from ..admin.lookups import PatientLookup, RowLookup, StaffLookup
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.models import Room
from ..org.roles import ADMINISTRATOR, CALL_CENTER, CASHIER, COORDINATOR, DOCTOR, OWNER
from ..patients.models import Patient
from ..planning.models import PlanStage, PlanVariant, TreatmentPlan
from ..errors import DomainError
from ..org.branches import clinics_of
from ..org.models import Staff, staff_clinic
from .board_views import BoardView, MyDayView
from .calendar_views import CalendarView
from .forms import ShiftPatternForm
from .models import Absence, Appointment, Closure, Shift, WaitingEntry
from .services import NEXT_STATUSES, book_visit, change_visit, visit_label
from .shifts import (
    add_shift, change_shift, generate_shifts, hours_beyond_branch, remove_absence, remove_shift, save_absence, save_closure, visits_in_the_way,
)
from .waiting import add_waiting_entry, change_waiting_entry, close_waiting_entry

CATEGORY = _l("Schedule")


def _stage_label(stage):
    plan = stage.variant.plan
    return f"{plan.patient.full_name}: {plan} · {stage.position}"


class PlanStageLookup(RowLookup):
    """Stages of chosen variants of live plans, found by the patient's name or the plan's title."""

    def __init__(self, name="plan_stage"):
        super().__init__(
            name, PlanStage, fields=(Patient.last_name, Patient.first_name, TreatmentPlan.title),
            where=lambda: (
                PlanStage.deleted_at.is_(None), PlanVariant.chosen.is_(True), TreatmentPlan.deleted_at.is_(None),
                TreatmentPlan.status.in_(("accepted", "in_progress")), Patient.deleted_at.is_(None),
            ),
            order_by=(Patient.last_name, PlanStage.position), label=_stage_label,
        )

    def allowed(self):
        return (
            select(PlanStage)
            .join(PlanVariant, PlanStage.variant_id == PlanVariant.id)
            .join(TreatmentPlan, PlanVariant.plan_id == TreatmentPlan.id)
            .join(Patient, TreatmentPlan.patient_id == Patient.id)
            .where(*self.where())
        )


class AppointmentAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        {OWNER, ADMINISTRATOR, CALL_CENTER, DOCTOR},
        readers={COORDINATOR, CASHIER},
        export={OWNER, ADMINISTRATOR},
        delete=set(),
    )
    writes = Writes(create=book_visit, update=change_visit)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("starts_at", "ends_at", "patient", "doctor", "room", "clinic", "kind", "status")
    column_filters = (
        "starts_at", "status", "kind",
        staff_filter(Appointment.doctor_id, LABELS["doctor"], roles={DOCTOR}),
        rows_filter(Appointment.room_id, LABELS["room"], Room, Room.name),
        clinic_filter(Appointment.clinic_id, LABELS["clinic"]),
    )
    column_sortable_list = ("starts_at", "status")
    column_default_sort = ("starts_at", True)
    form_columns = (
        "clinic", "room", "doctor", "patient", "starts_at", "ends_at", "kind", "plan_stage", "note",
        "status", "cancel_reason",
    )
    form_ajax_refs = {"patient": PatientLookup(), "doctor": StaffLookup("doctor", roles={DOCTOR}, colleagues=True),
                      "plan_stage": PlanStageLookup()}
    eager_loads = ("room.clinic",)

    def get_create_form(self):
        form_class = super().get_create_form()
        del form_class.status  # a new visit is booked; its status moves afterwards
        del form_class.cancel_reason
        return form_class

    def edit_form(self, obj=None):
        """The status list offers where the visit can go from here."""
        form = super().edit_form(obj)
        if obj is not None:
            reachable = (obj.status, *NEXT_STATUSES[obj.status])
            form.status.choices = [(value, label) for value, label in form.status.choices if value in reachable]
        return form


class ShiftAdmin(StomproModelView):
    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR}, readers={DOCTOR, CALL_CENTER}, export={OWNER})
    writes = Writes(create=add_shift, update=change_shift, delete=remove_shift)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("work_date", "staff", "clinic", "room", "starts_at", "ends_at")
    column_filters = (
        "work_date",
        staff_filter(Shift.staff_id, LABELS["staff"]),
        clinic_filter(Shift.clinic_id, LABELS["clinic"]),
    )
    column_sortable_list = ("work_date", "starts_at")
    column_default_sort = ("starts_at", True)
    form_columns = ("staff", "clinic", "room", "starts_at", "ends_at")
    form_ajax_refs = {"staff": StaffLookup(colleagues=True)}
    eager_loads = ("room.clinic",)
    list_template = "scheduling/shift_list.html"

    @expose("/generate/", methods=("GET", "POST"))
    def generate_view(self):
        """Shifts for a date range from a weekly pattern."""
        if not self._may("create"):
            return self.inaccessible_callback("generate_view")
        form = ShiftPatternForm()
        mine = clinics_of(db.session, current_user)
        form.clinic.choices = [(c.id, c.name) for c in mine]
        form.room.choices = [(0, _("Any chair"))] + [(r.id, str(r)) for c in mine for r in c.rooms if r.active]
        colleagues = db.session.execute(
            select(Staff).where(Staff.active.is_(True),
                                Staff.id.in_(select(staff_clinic.c.staff_id)
                                             .where(staff_clinic.c.clinic_id.in_([c.id for c in mine]))))
            .order_by(Staff.last_name, Staff.first_name)
        ).scalars().all()
        form.staff.choices = [(s.id, s.full_name) for s in colleagues]
        if form.validate_on_submit():
            staff = db.session.get(Staff, form.staff.data)
            clinic = next(c for c in mine if c.id == form.clinic.data)
            room = next((r for c in mine for r in c.rooms if r.id == form.room.data), None)
            try:
                made = generate_shifts(db.session, current_user, staff, clinic, form.first_day.data,
                                       form.last_day.data, form.week(), room=room)
            except DomainError as error:
                db.session.rollback()
                target = getattr(form, (error.field or "").replace("week_", "day_"), None)
                if target is not None:
                    (target.starts if hasattr(target, "starts") else target).errors.append(str(error.message))
                flash(error.message, "error")
            else:
                db.session.commit()
                if made:
                    flash(_("Shifts made: %(count)s.", count=len(made)), "success")
                else:
                    flash(_("No shift made: every one of those days already has a shift of %(person)s.",
                            person=staff.short_name), "warning")
                if hours_beyond_branch(clinic, form.week()):
                    flash(_("The branch works from %(opens)s to %(closes)s: visits are booked only within those hours "
                            "of a shift.", opens=f"{clinic.opens_at:%H:%M}", closes=f"{clinic.closes_at:%H:%M}"),
                          "warning")
                return redirect(self.get_url(".index_view"))
        return self.render("scheduling/generate_shifts.html", form=form)


class WaitingEntryAdmin(StomproModelView):
    """Patients who would take an earlier visit (scheduling.waiting); the
    list's delete closes an entry."""

    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR, CALL_CENTER}, readers={COORDINATOR}, export={OWNER})
    writes = Writes(create=add_waiting_entry, update=change_waiting_entry, delete=close_waiting_entry)
    branch_column = "clinic_id"
    column_list = ("patient", "clinic", "specialty", "doctor", "duration_min", "days", "time_from", "time_to", "until",
                   "status")
    column_filters = ("status", "until", clinic_filter(WaitingEntry.clinic_id, LABELS["clinic"]),
                      staff_filter(WaitingEntry.doctor_id, LABELS["doctor"], roles={DOCTOR}))
    column_default_sort = ("until", False)
    form_columns = ("patient", "clinic", "specialty", "doctor", "duration_min", "days", "time_from", "time_to", "until",
                    "note", "status")
    form_ajax_refs = {"patient": PatientLookup(), "doctor": StaffLookup("doctor", roles={DOCTOR}, colleagues=True)}
    form_choices = column_choices = {"status": [("waiting", _l("Waiting")), ("booked", _l("Booked")),
                                                ("cancelled", _l("Closed"))]}
    column_labels = {**LABELS, "time_from": _l("Hours from"), "time_to": _l("Hours until"), "until": _l("Waits until")}
    column_formatters = {"days": lambda view, context, entry, name: weekday_names(entry.days)}
    form_overrides = {"days": WeekdaysField}
    form_args = {"days": {"description": _l("The days that suit the patient; none ticked: any day.")}}

    def get_create_form(self):
        form_class = super().get_create_form()
        del form_class.status  # a new entry waits
        return form_class

    def edit_form(self, obj=None):
        """A waiting entry can be closed; a closed or booked one stays as it is."""
        form = super().edit_form(obj)
        if obj is not None:
            reachable = ("waiting", "cancelled") if obj.status == "waiting" else (obj.status,)
            form.status.choices = [(value, label) for value, label in form.status.choices if value in reachable]
        return form


class _NamesVisitsInTheWay:
    """After a closure or an absence is saved: the visits already booked on
    its days, which it does not move — the reception moves or cancels them."""

    SHOWN = 10

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        visits = visits_in_the_way(db.session, model.first_day, model.last_day, **self.whose(model))
        if not visits:
            return
        names = "; ".join(visit_label(visit) for visit in visits[:self.SHOWN])
        if len(visits) > self.SHOWN:
            names += " …"
        flash(_("Visits booked on these days stay booked (%(count)s): %(visits)s. Move or cancel them on the board.",
                count=len(visits), visits=names), "warning")


class ClosureAdmin(_NamesVisitsInTheWay, StomproModelView):
    """Holidays and other days a branch is closed: nothing is booked there."""

    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR}, readers={CALL_CENTER, DOCTOR}, export={OWNER})
    writes = Writes(save=save_closure)
    branch_column = "clinic_id"
    column_list = ("clinic", "first_day", "last_day", "reason")
    column_filters = (clinic_filter(Closure.clinic_id, LABELS["clinic"]), "first_day")
    column_default_sort = ("first_day", True)
    form_columns = ("clinic", "first_day", "last_day", "reason")

    @staticmethod
    def whose(closure):
        return {"clinic": closure.clinic}


class AbsenceAdmin(_NamesVisitsInTheWay, StomproModelView):
    """Vacations, sick leave: the person is not booked on those days."""

    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR}, readers={CALL_CENTER, DOCTOR}, export={OWNER})
    writes = Writes(save=save_absence, delete=remove_absence)
    column_list = ("staff", "kind", "first_day", "last_day", "note")
    column_filters = (staff_filter(Absence.staff_id, LABELS["staff"]), "kind", "first_day")
    column_default_sort = ("first_day", True)
    form_columns = ("staff", "kind", "first_day", "last_day", "note")
    form_ajax_refs = {"staff": StaffLookup(colleagues=True)}

    @staticmethod
    def whose(absence):
        return {"staff": absence.staff}


def register(admin):
    admin.add_view(BoardView(name=_l("Appointment board"), category=CATEGORY, endpoint="schedule", url="/admin/schedule"))
    admin.add_view(MyDayView(name=_l("My day"), category=CATEGORY, endpoint="my_day", url="/admin/my-day"))
    admin.add_view(AppointmentAdmin(Appointment, db, name=_l("Visits"), category=CATEGORY, endpoint="appointment"))
    admin.add_view(ShiftAdmin(Shift, db, name=_l("Shifts"), category=CATEGORY, endpoint="shift"))
    admin.add_view(ClosureAdmin(Closure, db, name=_l("Branch closures"), category=CATEGORY, endpoint="closure"))
    admin.add_view(AbsenceAdmin(Absence, db, name=_l("Absences"), category=CATEGORY, endpoint="absence"))
    admin.add_view(WaitingEntryAdmin(WaitingEntry, db, name=_l("Waiting list"), category=CATEGORY, endpoint="waiting_entry"))
    admin.add_view(CalendarView(name=_l("Calendars"), endpoint="calendar"))
