"""The price list, services and treatment protocols."""
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..chart.models import Condition
from ..db import MONEY, Entity, one_of
from ..extensions import db
from ..org.models import Specialty

TIERS = ("premium", "optimal", "economy")
TIER_LABELS = {"premium": _l("Premium"), "optimal": _l("Optimal"), "economy": _l("Economy")}
STAGE_KINDS = ("treatment", "examination", "consultation")
SERVICE_SCOPES = ("tooth", "surface", "mouth")


class Service(Entity, db.Model):
    """A billable manipulation; ``code`` is stable and part of the API."""

    __tablename__ = "service"
    __table_args__ = (
        one_of("tier", TIERS),
        one_of("stage_kind", STAGE_KINDS),
        one_of("scope", SERVICE_SCOPES),
        CheckConstraint("duration_min > 0", name="duration"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    specialty_id: Mapped[int] = mapped_column(ForeignKey("specialty.id"), index=True)
    duration_min: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(8))
    stage_kind: Mapped[str] = mapped_column(String(12), default="treatment")
    scope: Mapped[str] = mapped_column(String(8), default="tooth")
    target_condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    specialty: Mapped[Specialty] = relationship()
    target_condition: Mapped[Condition | None] = relationship()

    def __str__(self):
        from ..i18n import localized

        return f"{self.code} {localized(self)}"


class PriceList(Entity, db.Model):
    """Prices valid over a period; plans freeze prices when presented."""

    __tablename__ = "price_list"
    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),)

    name: Mapped[str] = mapped_column(String(120), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    items: Mapped[list["PriceListItem"]] = relationship(
        back_populates="price_list", cascade="all, delete-orphan"
    )

    def __str__(self):
        return self.name


class PriceListItem(Entity, db.Model):
    __tablename__ = "price_list_item"
    __table_args__ = (
        UniqueConstraint("price_list_id", "service_id"),
        CheckConstraint("price >= 0", name="price"),
    )

    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    price: Mapped[Decimal] = mapped_column(MONEY)

    price_list: Mapped[PriceList] = relationship(back_populates="items")
    service: Mapped[Service] = relationship()

    def __str__(self):
        return f"{self.service}: {self.price}"


class Protocol(Entity, db.Model):
    """How a condition is treated in one technology tier."""

    __tablename__ = "protocol"
    __table_args__ = (UniqueConstraint("condition_id", "tier"), one_of("tier", TIERS))

    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id"))
    tier: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(160))
    note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    condition: Mapped[Condition] = relationship()
    steps: Mapped[list["ProtocolStep"]] = relationship(
        back_populates="protocol", cascade="all, delete-orphan", order_by="ProtocolStep.position"
    )

    def __str__(self):
        return self.name


class ProtocolStep(Entity, db.Model):
    """One service of a protocol, in order; mandatory steps may only be
    removed from a plan with a written justification."""

    __tablename__ = "protocol_step"
    __table_args__ = (
        UniqueConstraint("protocol_id", "position"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("min_gap_days >= 0", name="min_gap_days"),
        CheckConstraint("position >= 0", name="position"),
    )

    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocol.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    min_gap_days: Mapped[int] = mapped_column(Integer, default=0)

    protocol: Mapped[Protocol] = relationship(back_populates="steps")
    service: Mapped[Service] = relationship()

    def __str__(self):
        return f"{self.position}. {self.service}"
