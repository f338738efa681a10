"""Clock in / clock out at the reception, compared with shifts."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Entity, SoftDeletable, UTCDateTime
from ..extensions import db
from ..org.models import Clinic, Staff


class TimeClock(Entity, SoftDeletable, db.Model):
    __tablename__ = "time_clock"
    __table_args__ = (
        CheckConstraint("clock_out IS NULL OR clock_out > clock_in", name="out_after_in"),
        Index(None, "staff_id", "clock_in"),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    clock_in: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_out: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # Why the owner added or changed the entry by hand (None: as clocked).
    correction_reason: Mapped[str | None] = mapped_column(Text)

    staff: Mapped[Staff] = relationship()
    clinic: Mapped[Clinic] = relationship()

    def __str__(self):
        from ..timefmt import format_moment

        return f"{self.staff} {format_moment(self.clock_in)}".strip()
