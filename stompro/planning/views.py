"""The plan screen: a treatment plan's three variants side by side, edited
with the patient in the chair, and building a plan from the patient card.

Every change is a JSON POST that calls one service of
``stompro.planning.services``, commits once and answers with the redrawn
parts of the page (the plan's header and the variants that changed), or 422
with the service's message and nothing written. Money and dates are computed
by the services; the templates only print them."""
from dataclasses import dataclass

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import bounds
from ..admin.base import RoleGuard, current_roles
from ..admin.links import live_or_404, reachable_url
from ..admin.choices import VALUE_LABELS
from ..admin.permissions import Permissions
from ..audit.access import record_access
from ..billing.plan_money import plan_against_reality
from ..catalog.models import TIERS, Service
from ..chart.odontogram import build_view, default_dentition
from ..chart.services import variant_charts
from ..db import utcnow
from ..errors import ConflictError, DomainError, NotAllowed
from ..extensions import db
from ..i18n import localized
from ..org.roles import ADMINISTRATOR, CALL_CENTER, CASHIER, COORDINATOR, OWNER, PLANNING
from ..patients.models import InsurancePolicy, Patient
from ..scheduling.availability import clinic_zone, zone_name
from ..scheduling.plan_booking import apply_plan_booking, holding_visits, preview_plan_booking
from ..scheduling.services import commit_or_clash
from ..timefmt import format_span, to_local
from . import builder, services
from .models import PlanItem, PlanStage

PRINTOUT_ENDPOINTS = ("plan_printout.preview", "plan_printout.pdf")
# Who books a plan's visits: the front desk, and the coordinator with the patient.
PLAN_BOOKERS = frozenset({OWNER, ADMINISTRATOR, COORDINATOR, CALL_CENTER})
# A plan is booked once the patient has chosen a variant, while it is carried out.
BOOKABLE = ("accepted", "in_progress")


class PlanView(RoleGuard, BaseView):
    """/admin/plan/<plan_id>: opened from the patient card and the plan list."""

    permissions = Permissions(list=PLANNING | PLAN_BOOKERS | {CASHIER}, edit=PLANNING)

    def is_visible(self):
        return False

    @expose("/")
    def index(self):
        """A plan belongs to a patient: pick one from the plan list."""
        return redirect(url_for("treatment_plan.index_view"))

    @expose("/<int:plan_id>")
    def show(self, plan_id):
        plan = self._plan(plan_id)
        record_access(db.session, current_user, plan.patient_id, "plan")
        totals = services.plan_totals(plan)
        return self.render(
            "planning/plan.html",
            plan=plan,
            header=self._header_html(plan),
            variants=[(variant, self._variant_html(plan, variant, totals)) for variant in _variants(plan)],
            label=value_label,
            services=_services_by_specialty(),
            urls=self._links(plan),
            plan_money=plan_against_reality(db.session, plan),
        )

    @expose("/build/<int:patient_id>", methods=("POST",))
    def build(self, patient_id):
        """Form ``payer`` = "self" or the id of one of the patient's policies
        in force → a new draft plan, then its screen."""
        if not self.allowed("edit"):
            abort(403)
        patient = live_or_404(Patient, patient_id)
        card = url_for("patient_card.show", patient_id=patient.id)
        try:
            payer = _payer(patient, request.form.get("payer", "self"))
            plan = builder.build_plan(db.session, patient, current_user._get_current_object(), payer=payer)
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return redirect(card)
        db.session.commit()
        return redirect(url_for(".show", plan_id=plan.id))

    # -- changes of the content ------------------------------------------------

    @expose("/<int:plan_id>/items", methods=("POST",))
    def add_item(self, plan_id):
        """``{"stage_id", "service_id", "tooth", "surfaces", "quantity", "self_paid"}``."""

        def change(plan, payload):
            stage = self._stage(plan, payload.get("stage_id"))
            service = db.session.get(Service, _integer(payload.get("service_id"), "service_id"))
            if service is None:
                raise DomainError(_("Choose a service from the list."), "service_id")
            services.add_item(
                db.session, stage, service, current_user._get_current_object(),
                tooth=_integer(payload.get("tooth"), "tooth", optional=True),
                surfaces=str(payload.get("surfaces") or "").strip().upper(),
                quantity=_integer(payload.get("quantity") or 1, "quantity"),
                self_paid=bool(payload.get("self_paid")),
            )
            return [stage.variant]

        return self._change(plan_id, change)

    @expose("/<int:plan_id>/items/<int:item_id>/remove", methods=("POST",))
    def remove_item(self, plan_id, item_id):
        """``{"justification"}`` — required (≥ 15 characters) for a mandatory item."""

        def change(plan, payload):
            item = self._item(plan, item_id)
            justification = str(payload.get("justification") or "").strip() or None
            services.remove_item(db.session, item, current_user._get_current_object(), justification=justification)
            return [item.stage.variant]

        return self._change(plan_id, change)

    @expose("/<int:plan_id>/items/<int:item_id>/move", methods=("POST",))
    def move_item(self, plan_id, item_id):
        """``{"stage_id"}``: another stage of the same variant."""

        def change(plan, payload):
            item = self._item(plan, item_id)
            stage = self._stage(plan, payload.get("stage_id"))
            services.move_item(db.session, item, stage)
            return [stage.variant]

        return self._change(plan_id, change)

    @expose("/<int:plan_id>/stages/<int:stage_id>/move", methods=("POST",))
    def move_stage(self, plan_id, stage_id):
        """``{"direction": "up" | "down"}``: swap places with the neighbour."""

        def change(plan, payload):
            stage = self._stage(plan, stage_id)
            stages = services.live_stages(stage.variant)
            index = stages.index(stage) + {"up": -1, "down": 1}.get(payload.get("direction"), 0)
            if index == stages.index(stage) or not 0 <= index < len(stages):
                raise DomainError(_("This stage cannot move further."), "direction")
            services.move_stage(db.session, stage, stages[index].position)
            return [stage.variant]

        return self._change(plan_id, change)

    @expose("/<int:plan_id>/stages/<int:stage_id>", methods=("POST",))
    def update_stage(self, plan_id, stage_id):
        """``{"explanation"}``: the visit — problem — solution text."""

        def change(plan, payload):
            stage = self._stage(plan, stage_id)
            explanation = payload.get("explanation")
            if not isinstance(explanation, str):
                raise DomainError(_("Write the explanation of the stage."), "explanation")
            services.update_stage(db.session, stage, explanation=explanation.strip())
            return [stage.variant]

        return self._change(plan_id, change)

    # -- the plan's way: present, choose, decline, start, complete --------------

    @expose("/<int:plan_id>/present", methods=("POST",))
    def present(self, plan_id):
        return self._change(plan_id, lambda plan, payload: _all(services.present_plan(db.session, plan, self._actor())))

    @expose("/<int:plan_id>/reprice", methods=("POST",))
    def reprice(self, plan_id):
        return self._change(plan_id, lambda plan, payload: _all(services.reprice_plan(db.session, plan, self._actor())))

    @expose("/<int:plan_id>/choose", methods=("POST",))
    def choose(self, plan_id):
        """``{"tier": "premium" | "optimal" | "economy"}``, chosen with the patient."""

        def change(plan, payload):
            tier = payload.get("tier")
            if tier not in TIERS:
                raise DomainError(_("Choose premium, optimal or economy."), "tier")
            return _all(services.choose_variant(db.session, plan, tier, self._actor()))

        return self._change(plan_id, change)

    @expose("/<int:plan_id>/decline", methods=("POST",))
    def decline(self, plan_id):
        """``{"reason"}`` — required."""

        def change(plan, payload):
            reason = str(payload.get("reason") or "").strip()
            return _all(services.decline_plan(db.session, plan, self._actor(), reason))

        return self._change(plan_id, change)

    @expose("/<int:plan_id>/start", methods=("POST",))
    def start(self, plan_id):
        return self._change(plan_id, lambda plan, payload: _all(services.start_plan(db.session, plan, self._actor())))

    @expose("/<int:plan_id>/complete", methods=("POST",))
    def complete(self, plan_id):
        return self._change(plan_id, lambda plan, payload: _all(services.complete_plan(db.session, plan, self._actor())))

    # -- booking the chosen variant's visits ---------------------------------------

    @expose("/<int:plan_id>/booking/preview", methods=("POST",))
    def booking_preview(self, plan_id):
        """Where each stage of the chosen variant not yet booked would go
        (scheduling.plan_booking); writes nothing. ``{"html", "expect"}``:
        the preview to show and what to send back to book it."""
        if not self._can_book():
            return self._not_a_booker()
        return self._preview_answer(plan_id)

    @expose("/<int:plan_id>/booking", methods=("POST",))
    def book(self, plan_id):
        """``{"expect"}`` from the preview the person saw → those visits are
        booked, each linked to its stage, and the plan is redrawn. If the free
        time changed since (someone booked in between), nothing is booked and
        409 brings the new preview to confirm."""
        if not self._can_book():
            return self._not_a_booker()
        plan = self._plan(plan_id)
        payload = request.get_json(silent=True)
        expected = payload.get("expect") if isinstance(payload, dict) else None

        def book_as_previewed():
            booking = apply_plan_booking(db.session, self._actor(), plan)
            if _booking_signature(booking) != expected:
                raise PreviewChanged(_("The free time changed since the preview: check the new one and book again."))
            return booking

        try:
            booking = commit_or_clash(db.session, book_as_previewed)
        except PreviewChanged as changed:
            return self._preview_answer(plan_id, error=changed.message)
        except DomainError as error:
            return self._refusal(error)
        return self._redrawn(plan_id, None, notice=_("Visits booked: %(count)s.", count=len(booking.bookings)))

    def _preview_answer(self, plan_id, error=None):
        """The preview as JSON (with 409 and ``error`` when it replaces one
        the person confirmed); the session is left as it was."""
        plan = self._plan(plan_id)
        try:
            answer = self._preview_json(plan, preview_plan_booking(db.session, self._actor(), plan))
        except DomainError as refusal:
            return self._refusal(refusal)
        finally:
            db.session.rollback()
        if error is not None:
            return jsonify(error=str(error), **answer), 409
        return jsonify(answer)

    @staticmethod
    def _can_book():
        return bool(current_roles() & PLAN_BOOKERS)

    @staticmethod
    def _not_a_booker():
        return jsonify(error=_("Visits are booked by the reception, the call center and coordinators.")), 403

    @staticmethod
    def _refusal(error):
        """A service's refusal as JSON: 403 for the role or branch, 409 for a
        clash, else 422; nothing written."""
        db.session.rollback()
        status = 403 if isinstance(error, NotAllowed) else 409 if isinstance(error, ConflictError) else 422
        return jsonify(error=str(error.message), field=error.field), status

    def _preview_json(self, plan, booking):
        chosen = next(variant for variant in services.live_variants(plan) if variant.chosen)
        numbers = {stage.id: number for number, stage in enumerate(services.live_stages(chosen), 1)}
        html = render_template(
            "planning/_booking_preview.html",
            rows=[_preview_row(placed, numbers) for placed in booking.bookings],
            unplaced=[{"number": numbers.get(stage.id), "title": _stage_title(stage), "reason": str(reason)}
                      for stage, reason in booking.unplaced],
            zones=sorted({zone_name(placed.clinic) for placed in booking.bookings}),
        )
        return {"html": html, "expect": _booking_signature(booking)}

    # -- helpers -----------------------------------------------------------------

    def _change(self, plan_id, change):
        """Run ``change(plan, payload)`` → the variants it touched (or all),
        commit, and answer with the redrawn header and those variants."""
        if not self.allowed("edit"):
            return jsonify(error=_("Only a doctor or a coordinator can change a plan.")), 403
        plan = self._plan(plan_id)
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            payload = {}
        try:
            touched = change(plan, payload)
        except services.NotAllowed as error:
            db.session.rollback()
            return jsonify(error=str(error.message)), 403
        except DomainError as error:
            db.session.rollback()
            return jsonify(error=str(error.message), field=error.field), 422
        db.session.commit()
        return self._redrawn(plan_id, touched)

    def _redrawn(self, plan_id, touched, notice=None):
        """The header and the variants ``touched`` (None: all) drawn afresh."""
        plan = self._plan(plan_id)
        totals = services.plan_totals(plan)
        touched_ids = {variant.id for variant in touched} if touched is not None else None
        return jsonify(
            header=self._header_html(plan),
            variants={
                variant.id: self._variant_html(plan, variant, totals)
                for variant in _variants(plan)
                if touched_ids is None or variant.id in touched_ids
            },
            notice=notice,
        )

    def _actor(self):
        return current_user._get_current_object()

    def _plan(self, plan_id):
        plan = services.load_plan(db.session, plan_id)  # None for a deleted plan or patient
        if plan is None:
            abort(404)
        return plan

    def _stage(self, plan, stage_id):
        stage = db.session.get(PlanStage, _integer(stage_id, "stage_id"))
        if stage is None or stage.deleted_at is not None or stage.variant.plan_id != plan.id:
            raise DomainError(_("There is no such stage in this plan."), "stage_id")
        return stage

    def _item(self, plan, item_id):
        item = db.session.get(PlanItem, item_id)
        if item is None or item.deleted_at is not None or item.stage.variant.plan_id != plan.id:
            abort(404)
        return item

    def _can(self, plan):
        """What the signed-in person may do with this plan now."""
        writer = self.allowed("edit")
        return {
            "edit": writer and plan.status in services.EDITABLE,
            "remove_mandatory": writer and bool(current_roles() & services.MANDATORY_REMOVERS),
            "present": writer and plan.status == "draft",
            # In a draft prices follow the price list anyway; re-pricing is
            # the deliberate step after the patient has seen them.
            "reprice": writer and plan.status == "presented",
            "choose": writer and plan.status in services.CHOOSABLE,
            "decline": writer and plan.status in services.DECLINABLE,
            "start": writer and plan.status == "accepted",
            "complete": writer and plan.status == "in_progress",
            "book": self._can_book() and plan.status in BOOKABLE,
        }

    def _links(self, plan):
        urls = {
            "base": url_for(".show", plan_id=plan.id),
            "card": reachable_url("patient_card.show", patient_id=plan.patient_id),
            "printouts": [],
        }
        if all(endpoint in current_app.view_functions for endpoint in PRINTOUT_ENDPOINTS):
            whiches = [("all", _("All three variants"))]
            if any(v.chosen for v in plan.variants):
                whiches.append(("chosen", _("The chosen variant")))
            urls["printouts"] = [
                (label, url_for("plan_printout.preview", plan_id=plan.id, which=which),
                 url_for("plan_printout.pdf", plan_id=plan.id, which=which))
                for which, label in whiches
            ]
        return urls

    def _header_html(self, plan):
        return render_template(
            "planning/_header.html", plan=plan, can=self._can(plan), urls=self._links(plan), label=value_label
        )

    def _variant_html(self, plan, variant, totals):
        stages = services.live_stages(variant)
        was, became = variant_charts(db.session, variant)
        today = to_local(utcnow()).date()
        dentition = default_dentition(plan.patient.birth_date, today, was + became)
        stage_visits = _stage_visits(stages) if variant.chosen else {}
        return render_template(
            "planning/_variant.html",
            plan=plan,
            variant=variant,
            stages=stages,
            numbers={stage.id: number for number, stage in enumerate(stages, 1)},
            variant_total=totals.variant(variant),
            visits=services.visit_count(variant, today),
            stage_totals=totals.stages,
            explanation=services.stage_explanation,
            service_name=localized,
            chart_now=build_view(was, None, dentition),
            chart_after=build_view(became, None, dentition),
            can=self._can(plan),
            label=value_label,
            stage_visits=stage_visits,
            unbooked=sum(1 for stage in stages if stage.id not in stage_visits),
        )


class PreviewChanged(ConflictError):
    """Booking now would place the stages otherwise than the preview showed."""


def _booking_signature(booking):
    """What a plan booking places, comparable between a preview and the booking."""
    return [[placed.stage.id, placed.doctor.id, placed.room.id, placed.start.isoformat()] for placed in booking.bookings]


def _preview_row(placed, numbers):
    """One placed stage of a preview, its times on the branch's clock."""
    zone = clinic_zone(placed.clinic)
    start, end = placed.start.astimezone(zone), placed.end.astimezone(zone)
    return {
        "number": numbers.get(placed.stage.id), "title": _stage_title(placed.stage),
        "doctor": placed.doctor.full_name, "room": str(placed.room),
        "day": format_date(start.date(), "EEE, dd.MM.yyyy"), "hours": f"{start:%H:%M}–{end:%H:%M}",
    }


def _stage_title(stage):
    return str(stage.specialty) if stage.specialty else str(value_label(stage.kind))


@dataclass(frozen=True)
class StageVisit:
    """A visit booked for a stage, as the plan screen shows it."""

    status: str
    when: str  # on the branch's clock
    doctor: str
    room: str


def _stage_visits(stages):
    """{stage id: [StageVisit]} of the visits that hold time for these stages."""
    return {
        stage_id: [
            StageVisit(str(value_label(visit.status)), format_span(visit.starts_at, visit.ends_at,
                       clinic_zone(visit.clinic)), str(visit.doctor), visit.room.name)
            for visit in visits
        ]
        for stage_id, visits in holding_visits(db.session, stages).items()
    }


def value_label(code):
    return VALUE_LABELS.get(code, code)


def _variants(plan):
    """Premium, optimal, economy — left to right."""
    order = {tier: n for n, tier in enumerate(TIERS)}
    return sorted(services.live_variants(plan), key=lambda v: order.get(v.tier, len(order)))


def _all(_):
    """A change of the whole plan: every variant is redrawn."""
    return None


def _integer(value, field, optional=False):
    if optional and value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DomainError(_("Enter a whole number."), field) from None
    bounds.require(bounds.int_problem(number), field)
    return number


def _payer(patient, value):
    """The form's payer → None (self-paid) or one of the patient's policies in force."""
    if value in (None, "", "self"):
        return None
    today = to_local(utcnow()).date()
    policy = db.session.execute(
        select(InsurancePolicy).where(
            InsurancePolicy.id == _integer(value, "payer"),
            InsurancePolicy.patient_id == patient.id,
            InsurancePolicy.deleted_at.is_(None),
            InsurancePolicy.in_force(today),
        )
    ).scalar_one_or_none()
    if policy is None:
        raise DomainError(_("This policy is not in force: choose another payer."), "payer")
    return policy


def _services_by_specialty():
    """The add-item picker: active services grouped by specialty."""
    rows = db.session.execute(
        select(Service).where(Service.active.is_(True)).options(joinedload(Service.specialty)).order_by(Service.code)
    ).scalars().all()
    groups = {}
    for service in rows:
        groups.setdefault(str(service.specialty), []).append(service)
    return sorted(groups.items())


def plan_builder(patient_id):
    """For the patient card's "Build a treatment plan" form: its URL and the
    payers to choose from (self-paid, then the patient's policies in force),
    or None when the signed-in person may not build plans."""
    if not (current_user.is_authenticated and PlanView.permissions.allows("edit", current_roles())):
        return None
    today = to_local(utcnow()).date()
    policies = db.session.execute(
        select(InsurancePolicy)
        .where(
            InsurancePolicy.patient_id == patient_id,
            InsurancePolicy.deleted_at.is_(None),
            InsurancePolicy.in_force(today),
        )
        .options(joinedload(InsurancePolicy.program))
        .order_by(InsurancePolicy.valid_from.desc())
    ).scalars().all()
    return {
        "url": url_for("plan.build", patient_id=patient_id),
        "payers": [("self", _("Self-paid"))] + [(str(p.id), str(p)) for p in policies],
    }


def register(admin):
    admin.add_view(PlanView(name=_l("Treatment plan"), endpoint="plan"))
    # The patient card (another domain's template) offers the build form.
    admin.app.jinja_env.globals["plan_builder"] = plan_builder
