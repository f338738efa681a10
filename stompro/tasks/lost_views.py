"""/admin/lost-patients/: the patients with a running plan and nothing
arranged (tasks.lost), of the reader's branches, with a one-click call task;
and the count the owner's and the coordinator's home pages show.

The list and the button call the same functions as the API
(tasks.lost.lost_plans, make_call_task); the page commits once."""
from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..admin.base import PostsNeedEdit, RoleGuard, current_roles
from ..admin.links import reachable_url
from ..admin.permissions import Permissions
from ..db import utcnow
from ..errors import DomainError
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER
from ..patients.phones import format_phone
from ..planning.models import TreatmentPlan
from ..records import live_row
from ..scheduling.availability import clinic_zone
from ..timefmt import to_local
from .lost import branches_of, call_task_key, count_lost_patients, lost_plans, make_call_task
from .models import Task

LOST_READERS = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR})
# Whose home page shows the count.
COUNTED_FOR = frozenset({OWNER, COORDINATOR})


class LostPatientsView(PostsNeedEdit, RoleGuard, BaseView):
    """The list of lost patients and the "Make a call task" button."""

    permissions = Permissions(list=LOST_READERS, edit=LOST_READERS)

    def create_blueprint(self, admin):
        """The view's blueprint also gives every page ``lost_patients_summary``,
        so the home page (admin/home.html) shows the count without the home
        view knowing about tasks."""
        blueprint = super().create_blueprint(admin)
        blueprint.app_context_processor(lambda: {"lost_patients_summary": lost_patients_summary})
        return blueprint

    @expose("/")
    def index(self):
        rows = lost_plans(db.session, clinics=branches_of(db.session, current_user))
        card = reachable_url("patient_card.show", patient_id=0) is not None
        plan = reachable_url("plan.show", plan_id=0) is not None
        now = utcnow()
        keys = {row.plan.id: call_task_key(row.plan, row.clinic, now) for row in rows}
        made = set(db.session.execute(select(Task.dedupe_key).where(Task.dedupe_key.in_(list(keys.values()))))
                   .scalars()) if keys else set()
        return self.render("tasks/lost_patients.html",
                           rows=[{**_row(row, card, plan), "task_made": keys[row.plan.id] in made} for row in rows],
                           book_url=reachable_url("tasks.index", tab="scheduled_calls"))

    @expose("/", methods=("POST",))
    def make_task(self):
        plan = _visible_plan(request.form.get("plan_id", ""))
        if plan is None:
            flash(_("This plan is not among the lost patients of your branches."), "error")
            return redirect(url_for(".index"))
        try:
            task = make_call_task(db.session, current_user, plan)
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            db.session.commit()
            flash(_("The call task is in the task book: %(title)s — %(patient)s.", title=task.title,
                    patient=plan.patient.full_name), "success")
        return redirect(url_for(".index"))


def lost_patients_summary():
    """What the home page shows: ``(count, url)`` for the owner and the
    coordinator, else None."""
    if not current_roles() & COUNTED_FOR:
        return None
    url = reachable_url("lost_patients.index")
    if url is None:
        return None
    return count_lost_patients(db.session, clinics=branches_of(db.session, current_user)), url


def _visible_plan(raw):
    """The plan of the form if it is one of the reader's branches' (the list's own filter), else None."""
    if not raw.isdigit():
        return None
    plan = live_row(db.session, TreatmentPlan, int(raw))
    if plan is None:
        return None
    clinics = branches_of(db.session, current_user)
    if clinics is not None:
        branch_id = plan.clinic_id or plan.patient.home_clinic_id
        if branch_id not in {clinic.id for clinic in clinics}:
            return None
    return plan


def _row(row, card, plan):
    zone = clinic_zone(row.clinic) if row.clinic is not None else None
    return {
        "plan_id": row.plan.id,
        "patient": row.patient.full_name,
        "card_url": url_for("patient_card.show", patient_id=row.patient.id) if card else None,
        "phone": format_phone(row.patient.phone),
        "phone_href": f"tel:{row.patient.phone}",
        "plan": str(row.plan),
        "plan_url": url_for("plan.show", plan_id=row.plan.id) if plan else None,
        "branch": row.clinic.name if row.clinic is not None else "",
        "last_visit": _moment(row.last_visit, zone),
        "last_contact": _moment(row.last_contact, zone),
        "coordinator": row.coordinator.short_name if row.coordinator is not None else "",
    }


def _moment(moment, zone):
    """A moment on the branch's clock (the clinic's, for a plan of no branch)."""
    if moment is None:
        return ""
    return (moment.astimezone(zone) if zone is not None else to_local(moment)).strftime("%d.%m.%Y %H:%M")
