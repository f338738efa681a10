"""The owner's catalog: services, the price list and treatment protocols."""
from flask_babel import lazy_gettext as _l
from wtforms.validators import NumberRange

from ..admin.base import StomproModelView
from ..admin.filters import rows_filter
from ..admin.labels import LABELS
from ..admin.lookups import RowLookup
from ..chart.models import Condition
from ..org.models import Specialty
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CASHIER, COORDINATOR, DOCTOR, OWNER_ONLY
from .models import PriceList, PriceListItem, Protocol, ProtocolStep, Service

CATEGORY = _l("Catalog")
def service_lookup(name="service"):
    """Services offered today, by code or name in either language."""
    return RowLookup(
        name, Service, fields=(Service.code, Service.name_ru, Service.name_en),
        where=lambda: (Service.active.is_(True),), order_by=(Service.code,),
    )


class ServiceAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        OWNER_ONLY, readers={DOCTOR, COORDINATOR, ADMINISTRATOR, CASHIER}, export=OWNER_ONLY, delete=set()
    )
    column_list = ("code", "name_ru", "specialty", "tier", "duration_min", "stage_kind", "target_condition", "active")
    column_searchable_list = ("code", "name_ru", "name_en")
    column_filters = (rows_filter(Service.specialty_id, LABELS["specialty"], Specialty, Specialty.sort_order),
                      "tier", "stage_kind", "active")
    column_default_sort = "code"


class PriceListAdmin(StomproModelView):
    """The price list editor: the owner's alone."""

    permissions = Permissions.managed_by(OWNER_ONLY, readers={COORDINATOR, CASHIER}, export=OWNER_ONLY, delete=set())
    column_list = ("name", "currency", "valid_from", "valid_to")
    column_default_sort = ("valid_from", True)
    form_columns = ("name", "currency", "valid_from", "valid_to")


class PriceListItemAdmin(StomproModelView):
    """Prices of the price lists. A price is changed, never deleted: a price
    list is history (close it and start a new one to stop a price)."""

    permissions = Permissions.managed_by(OWNER_ONLY, readers={COORDINATOR, CASHIER}, export=OWNER_ONLY, delete=set())
    column_list = ("price_list", "service", "price")
    column_filters = (rows_filter(PriceListItem.price_list_id, LABELS["price_list"], PriceList, PriceList.valid_from),
                      "price")
    column_searchable_list = ("service.code", "service.name_ru", "service.name_en")
    column_sortable_list = (("service", "service.code"), "price")
    column_default_sort = "id"
    form_ajax_refs = {"service": service_lookup()}


class ProtocolAdmin(StomproModelView):
    """A protocol in use is deactivated, not deleted; its steps are edited in place."""

    permissions = Permissions.managed_by(OWNER_ONLY, readers={DOCTOR, COORDINATOR}, export=OWNER_ONLY, delete=set())
    column_list = ("condition", "tier", "name", "active")
    column_filters = (rows_filter(Protocol.condition_id, LABELS["condition"], Condition, Condition.sort_order),
                      "tier", "active")
    column_default_sort = "name"
    form_columns = ("condition", "tier", "name", "note", "active", "steps")
    inline_models = [
        (ProtocolStep, {"form_columns": ("id", "position", "service", "quantity", "mandatory", "min_gap_days"),
                        "form_ajax_refs": {"service": service_lookup()}, "column_labels": LABELS,
                        "form_args": {"position": {"validators": [NumberRange(min=0)]},
                                      "quantity": {"validators": [NumberRange(min=1, max=999)]},
                                      "min_gap_days": {"validators": [NumberRange(min=0, max=3650)]}}})
    ]


def register(admin):
    admin.add_view(ServiceAdmin(Service, db, name=_l("Services"), category=CATEGORY, endpoint="service"))
    admin.add_view(PriceListAdmin(PriceList, db, name=_l("Price lists"), category=CATEGORY, endpoint="price_list"))
    admin.add_view(PriceListItemAdmin(PriceListItem, db, name=_l("Prices"), category=CATEGORY, endpoint="price_list_item"))
    admin.add_view(ProtocolAdmin(Protocol, db, name=_l("Protocols"), category=CATEGORY, endpoint="protocol"))
