"""Treatment plans as records: plan → variants → stages → items."""
from flask_babel import lazy_gettext as _l

from ..admin.base import READ_ONLY, StomproModelView
from ..admin.filters import rows_filter, staff_filter
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CASHIER, COORDINATOR, OWNER, OWNER_ONLY, PLANNING
from ..admin.links import ReachableLinkRowAction
from ..org.models import Specialty
from .models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from .services import stage_explanation

CATEGORY = _l("Treatment plans")
# Plans change only on the plan screen and through the API, by the rules of
# planning.services: their generic screens list, show, filter and export.
PLAN_PERMISSIONS = Permissions.read_only(PLANNING | {ADMINISTRATOR, CASHIER}, export={OWNER, COORDINATOR})
ON_THE_PLAN_SCREEN = _l("Plans, their visits and items change on the plan screen: open the plan from the list of plans.")


class TreatmentPlanAdmin(StomproModelView):
    permissions = PLAN_PERMISSIONS
    writes = READ_ONLY
    read_only_message = ON_THE_PLAN_SCREEN
    patient_access = "plan"
    column_extra_row_actions = [
        ReachableLinkRowAction("fa fa-columns", "plan.show", title=_l("Plan screen"), id_arg="plan_id")
    ]
    simple_list_pager = True
    column_list = ("id", "patient", "title", "status", "payer_kind", "author", "coordinator", "presented_at", "created_at")
    column_filters = (
        "status", "payer_kind",
        staff_filter(TreatmentPlan.author_id, LABELS["author"], roles=PLANNING),
        staff_filter(TreatmentPlan.coordinator_id, LABELS["coordinator"], roles={COORDINATOR}),
        "presented_at", "created_at",
    )
    column_searchable_list = ("title", "patient.last_name", "patient.phone")
    column_sortable_list = ("id", "status", "presented_at", "created_at")
    column_default_sort = ("id", True)


class PlanVariantAdmin(StomproModelView):
    permissions = PLAN_PERMISSIONS
    writes = READ_ONLY
    read_only_message = ON_THE_PLAN_SCREEN
    simple_list_pager = True
    column_list = ("id", "plan", "tier", "chosen")
    column_filters = ("tier", "chosen")
    column_default_sort = ("id", True)
    eager_loads = ("plan",)


class PlanStageAdmin(StomproModelView):
    permissions = PLAN_PERMISSIONS
    writes = READ_ONLY
    read_only_message = ON_THE_PLAN_SCREEN
    simple_list_pager = True
    column_list = ("id", "variant", "position", "kind", "specialty", "depends_on", "min_gap_days", "duration_min", "explanation")
    column_filters = ("kind", rows_filter(PlanStage.specialty_id, LABELS["specialty"], Specialty, Specialty.sort_order),
                      "parallel")
    column_default_sort = ("id", True)
    column_formatters = {"explanation": lambda view, context, stage, name: stage_explanation(stage)}
    column_formatters_detail = column_formatters
    column_formatters_export = column_formatters
    eager_loads = ("variant.plan", "depends_on.variant.plan")


class PlanItemAdmin(StomproModelView):
    """Every item, removed ones included with who removed them and why."""

    permissions = PLAN_PERMISSIONS
    writes = READ_ONLY
    read_only_message = ON_THE_PLAN_SCREEN
    simple_list_pager = True
    column_list = ("id", "stage", "tooth", "surfaces", "service", "quantity", "price", "mandatory", "removed", "removal_justification", "removed_by")
    column_filters = ("removed", "mandatory", "self_paid", "tooth", "removed_at")
    column_default_sort = ("id", True)
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
    writes = READ_ONLY
    column_filters = ("mandatory", staff_filter(PlanItem.removed_by_id, LABELS["removed_by"], roles=PLANNING), "removed_at")
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
