"""Which price list is valid, and what it charges."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..errors import DomainError
from .models import PriceList, PriceListItem


def current_price_list(session, on_date):
    """The price list valid on ``on_date`` (the latest one starting by then)."""
    price_list = session.execute(
        select(PriceList)
        .where(PriceList.valid_from <= on_date)
        .where((PriceList.valid_to.is_(None)) | (PriceList.valid_to >= on_date))
        .order_by(PriceList.valid_from.desc(), PriceList.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if price_list is None:
        raise DomainError(
            _l("No price list is valid on %(date)s: the owner adds one.", date=on_date.strftime("%d.%m.%Y"))
        )
    return price_list


def prices_by_service(session, price_list):
    """``{service_id: price}`` of a price list, in one query."""
    rows = session.execute(
        select(PriceListItem.service_id, PriceListItem.price).where(PriceListItem.price_list_id == price_list.id)
    )
    return {service_id: Decimal(price) for service_id, price in rows}
