"""The schedule board (/admin/schedule/) and the doctor's day (/admin/my-day/).

The board is the reception's main screen. Its page and its grid fragment
(fetched again every minute, and after every action) are drawn from
``board.build_board``. Every action is a JSON POST that calls one service of
``scheduling.services`` (or the cascade), commits once and answers with the
redrawn grid — or 409 (a clash, someone else's change) / 422 (bad input) /
403 with the service's message, nothing written. A doctor sees the board of
their branches without the actions."""
from datetime import datetime, timedelta

from flask import abort, has_request_context, jsonify, render_template, request, session, url_for
from flask_admin import BaseView, expose
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import bounds
from ..admin.base import STALE_MESSAGE, RoleGuard, current_roles
from ..admin.choices import VALUE_LABELS
from ..admin.links import reachable_url
from ..documents.views import DocumentDeskView
from ..admin.permissions import Permissions
from ..db import utcnow
from ..errors import ConflictError, DomainError, NotAllowed
from ..extensions import db
from ..integrity import explain_integrity_error
from ..org.branches import clinics_of, require_branch
from ..org.models import Room, Staff
from ..org.roles import ADMINISTRATOR, CALL_CENTER, DOCTOR, OWNER
from ..patients.models import Patient
from ..records import row_by_id
from ..patients.phones import format_phone
from ..patients.services import search_patients
from ..timefmt import parse_day
from . import cascade, services
from .availability import at_local, local_day
from .board import (
    DEFAULT_STEP, LAYOUTS, STEPS, VIEWS, branch_doctors, build_board, days_title, local_clock, reschedule_rows,
)
from .doctor_day import doctor_day
from .models import APPOINTMENT_KINDS, APPOINTMENT_STATUSES, Appointment, WaitingEntry
from .slots import find_slots
from .waiting import book_from_waiting_list, fitting_entries

BOOKERS = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER})
DURATIONS = (15, 20, 30, 45, 60, 90, 120, 180, 240)
DEFAULT_DURATION = 30
PICKER_RESULTS = 15
FOUND_SLOTS = 20
FIND_DAYS = timedelta(days=30)  # the days "Find a time" searches unless told otherwise
# What the visit dialog's buttons say: the action, not the status it leads to.
ACTION_LABELS = {
    "booked": _l("Unconfirm"),
    "confirmed": _l("Confirm"),
    "arrived": _l("Arrived"),
    "in_chair": _l("To the chair"),
    "done": _l("Finish"),
    "no_show": _l("Did not come"),
    "cancelled": _l("Cancel…"),
}
DATE_MESSAGE = _l("Enter a date that exists, as dd.mm.yyyy.")
CHANGED_MESSAGE = _l("Someone else has just changed this visit; the board now shows it as it is. Repeat your action if it still applies.")


class BoardView(RoleGuard, BaseView):
    """/admin/schedule/: the branch's day or week, with the waiting room."""

    permissions = Permissions(list=BOOKERS | {DOCTOR}, edit=BOOKERS)

    @property
    def extra_css(self):
        return [url_for("static", filename="scheduling/board.css")]

    @expose("/")
    def index(self):
        board = self._board()
        doctors = branch_doctors(db.session, board.clinic)
        return self.render(
            "scheduling/board.html", board=board, grid=self._grid_html(board), can_book=self.allowed("edit"),
            branches=clinics_of(db.session, current_user), label=VALUE_LABELS, kinds=APPOINTMENT_KINDS,
            durations=DURATIONS, default_duration=DEFAULT_DURATION, steps=STEPS,
            doctors=doctors, specialties=_specialties(doctors), rooms=[r for r in board.clinic.rooms if r.active],
            new_patient_url=reachable_url("patient.create_view"),
            shown_days=",".join(day.isoformat() for day in board.days), find_patient=self._patient_to_find(),
            find_from=board.today.strftime("%d.%m.%Y"), find_to=(board.today + FIND_DAYS).strftime("%d.%m.%Y"),
        )

    @expose("/grid")
    def grid(self):
        """The grid and the waiting room alone: what the page fetches to refresh itself."""
        return self._grid_html(self._board())

    @expose("/slots")
    def slots(self):
        """The "Find a time" dialog: free placements in the board's branch
        for ``?doctor_id=`` or ``?specialty_id=`` (or any doctor), ``duration``
        minutes, ``from``–``to`` (dd.mm.yyyy), ranked by ``patient_id``'s
        preferences (scheduling.slots.find_slots), as the dialog's rows."""
        if not self.allowed("edit"):
            abort(403)
        args = request.args
        clinic = self._clinic()
        try:
            doctor, specialty = self._slot_doctor(clinic, args)
            first_day, last_day = parse_day(args.get("from")), parse_day(args.get("to"))
            if first_day is None or last_day is None:
                raise DomainError(DATE_MESSAGE, field="from" if first_day is None else "to")
            today = local_day(clinic, utcnow())
            if last_day < today:
                raise DomainError(_("These days have passed: free time is found from today on."), field="to")
            first_day = max(first_day, today)
            found = find_slots(
                db.session, duration=timedelta(minutes=_duration(args.get("duration"))), first_day=first_day,
                last_day=last_day, doctor=doctor, specialty=specialty, clinic=clinic,
                patient=row_by_id(db.session, Patient, args.get("patient_id")), limit=FOUND_SLOTS,
            )
        except DomainError as error:
            return jsonify(error=str(error.message), field=error.field), 422
        return jsonify(found=len(found), slots=render_template(
            "scheduling/board_slots.html", slots=[_slot_row(clinic, slot) for slot in found],
        ))

    def _patient_to_find(self):
        """``?patient=``: the patient a call is about (the task book's "Find a time"), for the finder to open with."""
        patient = row_by_id(db.session, Patient, request.args.get("patient")) if self.allowed("edit") else None
        return patient if patient is not None and patient.deleted_at is None else None

    def _slot_doctor(self, clinic, args):
        """The doctor or the specialty the search is for: a doctor of the branch, a specialty of its doctors."""
        doctors = branch_doctors(db.session, clinic)
        doctor_id, specialty_id = _int(args.get("doctor_id")), _int(args.get("specialty_id"))
        doctor = next((person for person in doctors if person.id == doctor_id), None)
        if doctor_id is not None and doctor is None:
            raise DomainError(_("Choose a doctor of this branch."), field="doctor_id")
        specialty = next((person.specialty for person in doctors if person.specialty_id == specialty_id), None)
        if specialty_id is not None and specialty is None:
            raise DomainError(_("Nobody in this branch has this specialty."), field="specialty_id")
        if doctor is not None and specialty is not None and doctor.specialty_id != specialty.id:
            raise DomainError(_("%(doctor)s is not of the specialty chosen: choose “Any” specialty or another doctor.",
                                doctor=doctor.short_name), field="doctor_id")
        return doctor, specialty

    @expose("/patients")
    def patients(self):
        """The booking dialog's patient picker: ``?q=`` a surname, a phone or a birth date."""
        if not self.allowed("edit"):
            abort(403)
        typed = "".join(ch for ch in request.args.get("q", "") if ch.isprintable()).strip()[:100]
        found = search_patients(db.session, typed, limit=PICKER_RESULTS) if typed else []
        return jsonify(patients=[
            {"id": p.id, "name": p.full_name, "born": f"{p.birth_date:%d.%m.%Y}" if p.birth_date else "",
             "phone": format_phone(p.phone) if p.phone else ""}
            for p in found
        ])

    # -- actions -----------------------------------------------------------------

    @expose("/visits", methods=("POST",))
    def book(self):
        """``{"patient_id", "doctor_id", "room_id", "day", "time", "duration",
        "kind", "note", "waiting_entry_id"}``; a waiting-list entry's patient
        is booked through the waiting list, which closes the entry."""

        def change(payload):
            board_clinic = self._clinic()
            starts_at = _moment(board_clinic, payload)
            room = row_by_id(db.session, Room, payload.get("room_id"))
            doctor = row_by_id(db.session, Staff, payload.get("doctor_id"))
            ends_at = starts_at + timedelta(minutes=_duration(payload.get("duration")))
            kind, note = payload.get("kind") or "treatment", payload.get("note") or None
            entry = row_by_id(db.session, WaitingEntry, payload.get("waiting_entry_id"))
            if entry is not None:
                if room is None:
                    raise DomainError(_("Choose the chair."), field="room")
                visit = book_from_waiting_list(db.session, self._actor(), entry, room, doctor, starts_at, ends_at,
                                               kind, note)
            else:
                patient = row_by_id(db.session, Patient, payload.get("patient_id"))
                visit = services.book_visit(db.session, self._actor(), clinic=board_clinic, room=room, doctor=doctor,
                                            patient=patient, starts_at=starts_at, ends_at=ends_at, kind=kind, note=note)
            return _Booked(visit)

        return self._act(change)

    @expose("/visits/<int:visit_id>/status", methods=("POST",))
    def status(self, visit_id):
        """``{"status", "reason", "version"}``: a cancellation needs the
        reason, and lists the waiting patients who could take the time."""

        def change(payload):
            visit = self._visit(visit_id, payload)
            status = str(payload.get("status") or "")
            services.set_visit_status(db.session, self._actor(), visit, status, payload.get("reason"))
            return _Freed(visit) if status == "cancelled" else None

        return self._act(change)

    @expose("/visits/<int:visit_id>/move", methods=("POST",))
    def move(self, visit_id):
        """``{"day", "time", "doctor_id", "room_id", "version", "apply",
        "versions"}``. Without ``apply``: the preview — the visit at its new
        time and every visit of its plan that waits for it (scheduling.cascade),
        old → new, and those that find no place; nothing written. With it:
        those moves, refused if any visit's version differs from
        ``versions`` ({visit id: version}, as the preview showed them)."""
        apply = _payload().get("apply") is True

        def change(payload):
            visit = self._visit(visit_id, payload)
            doctor = row_by_id(db.session, Staff, payload.get("doctor_id"))
            room = row_by_id(db.session, Room, payload.get("room_id"))
            starts_at = _moment(visit.clinic, payload)
            if not apply:
                reschedule = cascade.preview_move(db.session, self._actor(), visit, starts_at, doctor, room)
                return _Preview(reschedule)
            freed = _Freed(visit)
            reschedule = cascade.apply_move(db.session, self._actor(), visit, starts_at, doctor, room,
                                            versions=_versions(payload.get("versions")))
            return _Moved(visit, len(reschedule.moves) - 1, freed)

        return self._act(change, write=apply)

    # -- helpers -----------------------------------------------------------------

    def _act(self, change, write=True):
        """Run ``change(payload)`` and commit once (a preview writes
        nothing and is rolled back); answer with what it returned as JSON and
        the redrawn grid, or with the service's message, nothing written."""
        if not self.allowed("edit"):
            return jsonify(error=_("Only the reception, the call center and the owner change the schedule.")), 403
        payload = _payload()
        try:
            if write:
                answer = services.commit_or_clash(db.session, lambda: change(payload))
            else:
                answer = change(payload)
                db.session.rollback()
        except NotAllowed as error:
            db.session.rollback()
            return jsonify(error=str(error.message)), 403
        except ConflictError as error:
            db.session.rollback()
            return jsonify(error=str(error.message), field=error.field, grid=self._grid_html(self._board())), 409
        except DomainError as error:
            db.session.rollback()
            return jsonify(error=str(error.message), field=error.field), 422
        except StaleDataError:
            db.session.rollback()
            return jsonify(error=str(STALE_MESSAGE), grid=self._grid_html(self._board())), 409
        except IntegrityError as error:
            db.session.rollback()
            field, message = explain_integrity_error(error)
            return jsonify(error=str(message), field=field, grid=self._grid_html(self._board())), 409
        body = answer.json() if answer is not None else {}
        if write:
            body["grid"] = self._grid_html(self._board())
        return jsonify(**body)

    def _actor(self):
        return current_user._get_current_object()

    def _visit(self, visit_id, payload):
        """The live visit of the URL, of the person's branches, at the version the board showed."""
        visit = db.session.get(Appointment, visit_id)
        if visit is None or visit.deleted_at is not None:
            abort(404)
        require_branch(self._actor(), visit.clinic_id)
        shown = payload.get("version")
        if shown is not None and str(shown) != str(visit.version):
            raise ConflictError(CHANGED_MESSAGE)
        return visit

    def _clinic(self):
        """The branch of the URL (``?clinic=``) if the person works there, else their first one."""
        mine = clinics_of(db.session, current_user)
        if not mine:
            abort(403)
        wanted = request.args.get("clinic") or session.get("board_clinic")
        if wanted is None:
            return mine[0]
        clinic = next((c for c in mine if str(c.id) == str(wanted)), None)
        if clinic is None:
            if request.args.get("clinic"):
                abort(403)
            return mine[0]
        return clinic

    def _board(self):
        """The board the URL asks for; the step, layout and branch chosen are
        remembered for the person's next visit."""
        clinic = self._clinic()
        args = request.args
        today = local_day(clinic, utcnow())
        day = parse_day(args.get("day")) or today
        view = args.get("view") if args.get("view") in VIEWS else "day"
        layout = _remembered("board_layout", args.get("layout"), LAYOUTS, "doctor")
        step = _remembered("board_step", _int(args.get("step")), STEPS, DEFAULT_STEP)
        session["board_clinic"] = clinic.id
        focus = _int(args.get("focus"))
        if focus is None and layout == "doctor" and DOCTOR in current_user.roles:
            focus = current_user.id  # a doctor's week is their own
        return build_board(
            db.session, clinic, day, view=view, layout=layout, step=step, focus=focus,
            show_cancelled=args.get("cancelled") == "1",
        )

    def _grid_html(self, board):
        return render_template(
            "scheduling/board_grid.html", board=board, can_book=self.allowed("edit"), label=_visit_labels(),
            actions={status: str(text) for status, text in ACTION_LABELS.items()}, card_url=_card_links(),
            can_prepare_documents=DocumentDeskView.permissions.allows("edit", current_roles()),
        )


class MyDayView(RoleGuard, BaseView):
    """/admin/my-day/: the signed-in doctor's visits of a day, in order, with
    what is planned on which teeth."""

    permissions = Permissions(list=frozenset({DOCTOR}))

    def is_visible(self):
        """In the menu of doctors only (the menu is drawn per request)."""
        return has_request_context() and self.is_accessible()

    @expose("/")
    def index(self):
        me = current_user._get_current_object()
        zone_clinic = me.clinics[0] if me.clinics else None
        today = local_day(zone_clinic, utcnow()) if zone_clinic else utcnow().date()
        day = parse_day(request.args.get("day")) or today
        return self.render(
            "scheduling/my_day.html",
            day=day, day_title=days_title([day]), today=today, previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
            visits=doctor_day(db.session, me, day), label=VALUE_LABELS,
            card_url=_card_links(), chart_url=lambda patient_id: reachable_url("chart.patient_chart", patient_id=patient_id),
            calendar_url=reachable_url("calendar.staff", staff_id=me.id),
        )


def _slot_row(clinic, slot):
    """A found placement as the dialog lists it, in the branch's time."""
    day = local_day(clinic, slot.start)
    return {
        "day": day.strftime("%d.%m.%Y"), "weekday": format_date(day, "EEE"), "time": local_clock(clinic, slot.start),
        "until": local_clock(clinic, slot.end), "doctor": slot.doctor, "room": slot.room,
        "minutes": int((slot.end - slot.start).total_seconds() // 60),
        "preferred": slot.preferred, "awkward": slot.awkward,
    }


def _where(visit):
    """A visit's place and time as the board's notices say it."""
    clinic = visit.clinic
    return {"patient": visit.patient.full_name, "day": f"{local_day(clinic, visit.starts_at):%d.%m.%Y}",
            "start": local_clock(clinic, visit.starts_at), "end": local_clock(clinic, visit.ends_at),
            "doctor": visit.doctor.short_name, "room": visit.room.name}


class _Booked:
    """What the board says once a visit is booked, and the day it is on (the
    page opens that day when it shows another)."""

    def __init__(self, visit):
        self.visit = visit

    def json(self):
        visit = self.visit
        return {
            "notice": _("Booked: %(patient)s, %(day)s %(start)s–%(end)s, %(doctor)s, %(room)s.", **_where(visit)),
            "day": local_day(visit.clinic, visit.starts_at).isoformat(),
        }


class _Moved:
    """What the board says once a visit has moved (and how many of its plan's
    later visits moved with it), with the waiting patients who could take
    the time it left."""

    def __init__(self, visit, followers, freed):
        self.visit, self.followers, self.freed = visit, followers, freed

    def json(self):
        visit = self.visit
        notice = _("Moved: %(patient)s, %(day)s %(start)s–%(end)s, %(doctor)s, %(room)s.", **_where(visit))
        if self.followers:
            notice += " " + ngettext("%(num)s later visit of the plan moved with it.",
                                     "%(num)s later visits of the plan moved with it.", self.followers)
        return {"notice": notice, "day": local_day(visit.clinic, visit.starts_at).isoformat(), **self.freed.json()}


class _Preview:
    """A move's preview as the dialog shows it."""

    def __init__(self, reschedule):
        self.reschedule = reschedule

    def json(self):
        rows = reschedule_rows(db.session, self.reschedule)
        return {
            "preview": render_template("scheduling/board_preview.html", rows=rows, label=VALUE_LABELS),
            "versions": {str(move.visit.id): move.version for move in self.reschedule.moves},
            "can_apply": not self.reschedule.unplaced,
        }


class _Freed:
    """The time a visit held before it was cancelled or moved: after the
    commit, the waiting patients who could take it (scheduling.waiting)."""

    def __init__(self, visit):
        self.clinic, self.doctor, self.room = visit.clinic, visit.doctor, visit.room
        self.starts_at, self.ends_at = visit.starts_at, visit.ends_at

    def json(self):
        if self.starts_at <= utcnow():
            return {}
        entries = fitting_entries(db.session, self.clinic, self.doctor, self.starts_at, self.ends_at)
        if not entries:
            return {}
        return {"freed": render_template(
            "scheduling/board_freed.html", entries=entries, freed=self, label=VALUE_LABELS,
            day=local_day(self.clinic, self.starts_at), clock=local_clock(self.clinic, self.starts_at),
            until=local_clock(self.clinic, self.ends_at),
        )}


def _specialties(doctors):
    """The specialties of the branch's doctors, each once, in their order."""
    found = {person.specialty.id: person.specialty for person in doctors if person.specialty is not None}
    return sorted(found.values(), key=lambda specialty: (specialty.sort_order, str(specialty)))


def _visit_labels():
    """The kinds' and statuses' labels in the reader's language, translated
    once per drawing rather than once per block."""
    return {key: str(VALUE_LABELS[key]) for key in (*APPOINTMENT_KINDS, *APPOINTMENT_STATUSES)}


def _payload():
    """The JSON object the page posted ({} for anything else)."""
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


def _versions(value):
    """{visit id: version} as the preview showed them; anything else is refused."""
    if not isinstance(value, dict):
        raise DomainError(_("Look at the changes first, then apply them."), field="versions")
    versions = {}
    for key, version in value.items():
        visit_id, number = bounds.bounded_id(key), bounds.bounded_id(version)
        if visit_id is None or number is None:
            raise DomainError(_("Look at the changes first, then apply them."), field="versions")
        versions[visit_id] = number
    return versions


def _card_links():
    """The patient card's address of a patient, or None when the reader may
    not open cards: asked once per drawing, not once per block."""
    if reachable_url("patient_card.show", patient_id=0) is None:
        return lambda patient_id: None
    return lambda patient_id: url_for("patient_card.show", patient_id=patient_id)


def _remembered(key, value, allowed, default):
    """``value`` when allowed (and remembered in the person's session), else
    the remembered one, else ``default``."""
    if value in allowed:
        session[key] = value
        return value
    remembered = session.get(key)
    return remembered if remembered in allowed else default


def _int(value):
    return bounds.bounded_id(value) if value not in (None, "") else None


def _moment(clinic, payload):
    """``day`` (dd.mm.yyyy) and ``time`` (HH:MM) at the branch → a UTC moment."""
    day = parse_day(payload.get("day"))
    if day is None:
        raise DomainError(DATE_MESSAGE, field="day")
    try:
        clock = datetime.strptime(str(payload.get("time") or "").strip(), "%H:%M").time()
    except ValueError:
        raise DomainError(_("Enter the time as HH:MM."), field="time") from None
    if clock.minute % min(STEPS):
        raise DomainError(_("Visits start on the board's grid: every %(minutes)s minutes (10:05, 10:10 …).",
                            minutes=min(STEPS)), field="time")
    return at_local(clinic, day, clock)


def _duration(value):
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise DomainError(_("Choose how long the visit lasts."), field="duration") from None
    if not 5 <= minutes <= 12 * 60:
        raise DomainError(_("A visit lasts from 5 minutes to 12 hours."), field="duration")
    return minutes
