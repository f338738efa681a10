"""Treatment plans as records: plan → variants → stages → items."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..catalog.admin import SERVICE_LOOKUP
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CASHIER, COORDINATOR, OWNER, OWNER_ONLY, PLANNING
from ..admin.links import ReachableLinkRowAction
from ..patients.admin import patient_lookup, staff_lookup
from .models import PlanItem, PlanStage, PlanVariant, TreatmentPlan

CATEGORY = _l("Treatment plans")
PLAN_PERMISSIONS = Permissions.managed_by(
    PLANNING, readers={ADMINISTRATOR, CASHIER}, export={OWNER, COORDINATOR}, delete={OWNER}
)
ITEM_COLUMNS = ("id", "tooth", "surfaces", "service", "quantity", "price", "target_condition", "mandatory", "self_paid")


class TreatmentPlanAdmin(StomproModelView):
    permissions = PLAN_PERMISSIONS
    column_extra_row_actions = [
        ReachableLinkRowAction("fa fa-columns", "plan.show", title=_l("Plan screen"), id_arg="plan_id")
    ]
    simple_list_pager = True
    column_list = ("id", "patient", "title", "status", "payer_kind", "author", "coordinator", "presented_at", "created_at")
    column_filters = ("status", "payer_kind", "author", "coordinator", "presented_at", "created_at")
    column_searchable_list = ("title", "patient.last_name", "patient.phone")
    column_sortable_list = ("id", "status", "presented_at", "created_at")
    column_default_sort = ("id", True)
    form_columns = (
        "patient", "clinic", "title", "author", "coordinator", "payer_kind", "policy", "price_list",
        "status", "decline_reason", "note", "variants",
    )
    form_ajax_refs = {"patient": patient_lookup(), "author": staff_lookup("author"), "coordinator": staff_lookup("coordinator")}
    inline_models = [(PlanVariant, {"form_columns": ("id", "tier", "chosen", "note")})]


class PlanVariantAdmin(StomproModelView):
    permissions = PLAN_PERMISSIONS
    simple_list_pager = True
    column_list = ("id", "plan", "tier", "chosen")
    column_filters = ("tier", "chosen")
    column_default_sort = ("id", True)
    form_columns = ("plan", "tier", "chosen", "note", "stages")
    form_ajax_refs = {"plan": {"fields": ("id", "title")}}
    eager_loads = ("plan",)
    inline_models = [
        (PlanStage, {"form_columns": ("id", "position", "kind", "specialty", "parallel", "min_gap_days", "duration_min", "explanation", "planned_date")})
    ]


class PlanStageAdmin(StomproModelView):
    permissions = PLAN_PERMISSIONS
    simple_list_pager = True
    column_list = ("id", "variant", "position", "kind", "specialty", "depends_on", "min_gap_days", "duration_min", "explanation")
    column_filters = ("kind", "specialty", "parallel")
    column_default_sort = ("id", True)
    form_columns = (
        "variant", "position", "kind", "specialty", "depends_on", "parallel", "min_gap_days",
        "duration_min", "explanation", "planned_date", "items",
    )
    form_ajax_refs = {"variant": {"fields": ("id",)}, "depends_on": {"fields": ("id",)}}
    eager_loads = ("variant.plan", "depends_on.variant.plan")
    inline_models = [(PlanItem, {"form_columns": ITEM_COLUMNS, "form_ajax_refs": {"service": SERVICE_LOOKUP}})]


class PlanItemAdmin(StomproModelView):
    """Every item, removed ones included with who removed them and why."""

    permissions = PLAN_PERMISSIONS
    simple_list_pager = True
    column_list = ("id", "stage", "tooth", "surfaces", "service", "quantity", "price", "mandatory", "removed", "removal_justification", "removed_by")
    column_filters = ("removed", "mandatory", "self_paid", "tooth", "removed_at")
    column_default_sort = ("id", True)
    form_columns = ("stage", "tooth", "surfaces", "service", "quantity", "price", "target_condition", "mandatory", "self_paid")
    form_ajax_refs = {"stage": {"fields": ("id",)}, "service": SERVICE_LOOKUP}
    eager_loads = ("stage.variant.plan",)


class RemovedItemsAdmin(StomproModelView):
    """The owner's review of every item taken out of a plan: what, from
    which plan and patient, whether the protocol made it mandatory, why, by
    whom and when. Read-only: removals are made on the plan screen."""

    permissions = Permissions.read_only(OWNER_ONLY, export=OWNER_ONLY)
    simple_list_pager = True
    column_list = (
        "stage.variant.plan", "stage.variant.plan.patient", "tooth", "service", "mandatory",
        "removal_justification", "removed_by", "removed_at",
    )
    column_labels = {**LABELS, "stage.variant.plan": _l("Plan"), "stage.variant.plan.patient": _l("Patient")}
    column_filters = ("mandatory", "removed_by", "removed_at")
    column_searchable_list = ("removal_justification",)
    column_sortable_list = ("tooth", "mandatory", "removed_at")
    column_default_sort = ("removed_at", True)
    eager_loads = ("stage.variant.plan.patient",)

    def get_query(self):
        return super().get_query().filter(PlanItem.removed.is_(True))

    def get_count_query(self):
        return super().get_count_query().filter(PlanItem.removed.is_(True))

    def get_one(self, id):
        row = super().get_one(id)
        return row if row is not None and row.removed else None


def register(admin):
    from .printout_views import register as register_printouts
    from .views import register as register_plan_screen

    admin.add_view(TreatmentPlanAdmin(TreatmentPlan, db, name=_l("Plans"), category=CATEGORY, endpoint="treatment_plan"))
    admin.add_view(PlanVariantAdmin(PlanVariant, db, name=_l("Variants"), category=CATEGORY, endpoint="plan_variant"))
    admin.add_view(PlanStageAdmin(PlanStage, db, name=_l("Stages"), category=CATEGORY, endpoint="plan_stage"))
    admin.add_view(PlanItemAdmin(PlanItem, db, name=_l("Items"), category=CATEGORY, endpoint="plan_item"))
    admin.add_view(RemovedItemsAdmin(PlanItem, db, name=_l("Removed items"), category=CATEGORY, endpoint="plan_removals"))
    register_plan_screen(admin)
    register_printouts(admin)
