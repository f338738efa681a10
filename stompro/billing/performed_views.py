"""The doctor's screen of a visit's performed services: tick the plan's
items (tooth and surfaces prefilled), add services from the price list,
take back a mistake, and finish the visit — which hands the invoice to the
cashier. The rules are billing.performed and scheduling.services."""
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..admin.base import PostsNeedEdit, RoleGuard
from ..admin.choices import VALUE_LABELS
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..audit.access import record_access
from ..catalog.models import PriceListItem, Service
from ..catalog.prices import current_price_list
from ..errors import DomainError, NotAllowed
from ..extensions import db
from ..i18n import localized
from ..org.branches import require_branch
from ..org.roles import DOCTOR, OWNER
from ..planning.models import PlanItem
from ..records import live_row
from ..scheduling.availability import local_day
from ..scheduling.board import local_clock
from ..scheduling.models import Appointment
from ..scheduling.services import set_visit_status
from ..timefmt import format_money
from .admin import PERFORMED_READERS
from .models import Invoice, PerformedService
from .performed import mark_performed, performed_at, plan_choices, take_back


class PerformedServicesView(PostsNeedEdit, RoleGuard, BaseView):
    permissions = Permissions(list=PERFORMED_READERS, edit=frozenset({DOCTOR, OWNER}))

    def is_visible(self):
        return False  # reached from the doctor's day and the board

    @expose("/")
    def index(self):
        return redirect(url_for("my_day.index"))

    @expose("/<int:visit_id>")
    def show(self, visit_id):
        return self._page(self._visit(visit_id))

    def _page(self, visit, typed=None):
        """The page; ``typed``: the refused form, shown again as it was typed."""
        day = local_day(visit.clinic, visit.starts_at)
        invoices = db.session.execute(
            select(Invoice).where(Invoice.appointment_id == visit.id, Invoice.deleted_at.is_(None))
            .order_by(Invoice.id)
        ).scalars().all()
        return self.render(
            "billing/performed.html", visit=visit, choices=plan_choices(db.session, visit),
            performed=performed_at(db.session, visit), services=_priced_services(day), invoices=invoices,
            clock=f"{local_clock(visit.clinic, visit.starts_at)}–{local_clock(visit.clinic, visit.ends_at)}",
            day=day, label=VALUE_LABELS, money=format_money, localized=localized, typed=typed,
            may_mark=self.allowed("edit") and visit.status in ("in_chair", "done"),
        )

    @expose("/<int:visit_id>/mark", methods=("POST",))
    def mark(self, visit_id):
        """``item`` (plan item ids ticked) with ``tooth-<id>``, ``surfaces-<id>``, ``note-<id>``; or
        ``service_code`` (from the price list) with ``tooth``, ``surfaces``, ``quantity``, ``note``. A refusal
        shows the page again as typed, naming the line and the field."""
        visit = self._visit(visit_id)
        form = request.form
        me = current_user._get_current_object()
        marked = 0
        where = ""
        try:
            for item_id in form.getlist("item"):
                item = live_row(db.session, PlanItem, item_id)
                if item is None:
                    raise DomainError(_("This plan item is no longer in the plan."), field="item")
                where = f"{item.tooth or ''} {localized(item.service)}".strip()
                mark_performed(db.session, me, visit, plan_item=item, tooth=form.get(f"tooth-{item.id}"),
                               surfaces=form.get(f"surfaces-{item.id}", item.surfaces),
                               note=form.get(f"note-{item.id}"))
                marked += 1
            code = (form.get("service_code") or "").strip()[:32]
            if code:
                where = _("The service from the price list")
                service = db.session.execute(select(Service).where(Service.code == code)).scalar_one_or_none()
                if service is None:
                    raise DomainError(_("No service with this code."), field="service")
                mark_performed(db.session, me, visit, service=service, tooth=form.get("tooth"),
                               surfaces=form.get("surfaces"), quantity=form.get("quantity"),
                               note=form.get("note"))
                marked += 1
            if not marked:
                raise DomainError(_("Tick the items performed or choose a service."), field="item")
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            field = LABELS.get(error.field) if error.field not in (None, "item") else None
            reason = f"{field}: {error.message}" if field else str(error.message)
            flash(_("Nothing was marked: %(reason)s", reason=f"{where} — {reason}" if where else reason), "error")
            return self._page(visit, typed=form)
        flash(_("Marked performed: %(count)s.", count=marked), "success")
        return redirect(url_for(".show", visit_id=visit.id))

    @expose("/<int:visit_id>/take-back/<int:performed_id>", methods=("POST",))
    def take_back(self, visit_id, performed_id):
        visit = self._visit(visit_id)
        performed = db.session.get(PerformedService, performed_id)
        if performed is None or performed.appointment_id != visit.id:
            abort(404)
        try:
            take_back(db.session, current_user._get_current_object(), performed)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(_("Not taken back: %(reason)s", reason=error.message), "error")
            return redirect(url_for(".show", visit_id=visit.id))
        flash(_("Taken back: %(service)s.", service=localized(performed.service)), "success")
        return redirect(url_for(".show", visit_id=visit.id))

    @expose("/<int:visit_id>/finish", methods=("POST",))
    def finish(self, visit_id):
        """The visit is done: what was marked becomes the cashier's invoice."""
        visit = self._visit(visit_id)
        try:
            set_visit_status(db.session, current_user._get_current_object(), visit, "done")
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(_("The visit is not finished: %(reason)s", reason=error.message), "error")
            return redirect(url_for(".show", visit_id=visit.id))
        flash(_("The visit is done; the invoice is with the cashier."), "success")
        return redirect(url_for(".show", visit_id=visit.id))

    def _visit(self, visit_id):
        visit = db.session.get(Appointment, visit_id)
        if visit is None or visit.deleted_at is not None:
            abort(404)
        try:
            require_branch(current_user, visit.clinic_id)
        except NotAllowed:
            abort(403)
        record_access(db.session, current_user, visit.patient_id, "records")
        return visit


def _priced_services(day):
    """(service, price) of the price list valid on ``day``, active ones, by code."""
    try:
        price_list = current_price_list(db.session, day)
    except DomainError:
        return []
    return db.session.execute(
        select(Service, PriceListItem.price)
        .join(PriceListItem, PriceListItem.service_id == Service.id)
        .where(PriceListItem.price_list_id == price_list.id, Service.active.is_(True))
        .order_by(Service.code)
    ).all()
