"""Branches, rooms, specialties and staff with their roles."""
from datetime import datetime, time

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text, Time, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Entity, UTCDateTime, one_of
from ..extensions import db
from .roles import ROLES

LANGUAGES = ("en", "ru")

staff_clinic = Table(
    "staff_clinic",
    db.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("clinic_id", ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True),
)


DOCUMENT_GATES = ("block", "warn")


class Clinic(Entity, db.Model):
    """A branch of the clinic network."""

    __tablename__ = "clinic"
    __table_args__ = (
        CheckConstraint("length(currency) = 3", name="currency"),
        CheckConstraint("closes_at > opens_at", name="hours"),
        one_of("document_gate", DOCUMENT_GATES),
    )

    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    opens_at: Mapped[time] = mapped_column(Time, default=time(9, 0))
    closes_at: Mapped[time] = mapped_column(Time, default=time(21, 0))
    working_days: Mapped[str] = mapped_column(String(7), default="123456")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Without the documents a visit does not go "in chair" (block), or goes with a reason (warn): documents.gate.
    document_gate: Mapped[str] = mapped_column(String(5), default="block", server_default="block")

    rooms: Mapped[list["Room"]] = relationship(back_populates="clinic", order_by="Room.name")

    def __str__(self):
        return self.name


class Room(Entity, db.Model):
    """A chair or a cabinet of a branch."""

    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("clinic_id", "name"), one_of("kind", ("chair", "cabinet", "xray")))

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16), default="chair")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    clinic: Mapped[Clinic] = relationship(back_populates="rooms")

    def __str__(self):
        return f"{self.name} ({self.clinic.name})" if self.clinic else self.name


class Specialty(Entity, db.Model):
    """A dental specialty; its ``code`` is part of the API."""

    __tablename__ = "specialty"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self):
        from ..i18n import localized

        return localized(self)


class Staff(UserMixin, Entity, db.Model):
    """A person who signs in: doctor, administrator, owner …"""

    __tablename__ = "staff"
    __table_args__ = (one_of("language", LANGUAGES),)

    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The time-clock PIN typed at the reception's kiosk (argon2, like the password).
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(80))
    first_name: Mapped[str] = mapped_column(String(80))
    middle_name: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    specialty_id: Mapped[int | None] = mapped_column(ForeignKey("specialty.id"), index=True)
    color: Mapped[str] = mapped_column(String(7), default="#4a90d9")
    language: Mapped[str] = mapped_column(String(2), default="ru")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bumped when every session and API token of the person must end
    # (sign-out, a new password, deactivation, other roles); each session and
    # token carries the value it was issued with.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    specialty: Mapped[Specialty | None] = relationship()
    clinics: Mapped[list[Clinic]] = relationship(secondary=staff_clinic, order_by=Clinic.name)
    role_rows: Mapped[list["StaffRole"]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self):
        return frozenset(r.role for r in self.role_rows)

    def has_any_role(self, roles):
        return bool(self.roles & frozenset(roles))

    @property
    def is_active(self):
        return self.active

    @property
    def full_name(self):
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def short_name(self):
        initials = "".join(f"{p[0]}." for p in (self.first_name, self.middle_name) if p)
        return f"{self.last_name} {initials}".strip()

    def __str__(self):
        return self.short_name


class StaffRole(Entity, db.Model):
    """One role held by one person; a person may hold several."""

    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("staff_id", "role"), one_of("role", ROLES))

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    staff: Mapped[Staff] = relationship(back_populates="role_rows")

    def __str__(self):
        from .roles import ROLE_LABELS

        return str(ROLE_LABELS.get(self.role, self.role))


class SignInFailure(db.Model):
    """A wrong password (or an unknown login) from one address: what the
    sign-in throttle counts. A security log, not a record of the clinic, so
    it is not audited, and rows older than the throttle's window are purged."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index(None, "login", "address", "at"), Index(None, "address", "at"))
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    login: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(45))
