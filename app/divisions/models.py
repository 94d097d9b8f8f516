"""Administrative divisions (行政区划) and collective economic organisations (集体经济组织)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import utcnow
from app.extensions import db

LEVELS = ("province", "city", "county", "town", "village")


class Division(db.Model):
    """One unit of the national statistical division code list (12 digits)."""

    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(16))
    # GCJ-02 (web datum) centre from the source list: good for placing a demo, not for survey.
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    ur_code: Mapped[str | None] = mapped_column(String(3))

    @property
    def is_village(self) -> bool:
        return self.level == "village"


class Collective(db.Model):
    """A collective economic organisation: the 发包方 of contracted land, village or group level."""

    __tablename__ = "collective"

    id: Mapped[int] = mapped_column(primary_key=True)
    fbfbm: Mapped[str] = mapped_column(String(14), unique=True)  # 发包方编码
    name: Mapped[str] = mapped_column(String(120))
    village_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码, N2…
    # Charter: per-holder share cap in percent of the total (R11); None = the county default.
    share_cap_percent: Mapped[float | None] = mapped_column(Numeric(5, 2, asdecimal=False))
    # Charter: what becomes of a dead member's shares (生不增、死不减): "heir" (they pass to the
    # heir household) or "collective" (they return to the collective); None = "heir".
    share_inheritance: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    village = relationship(Division, lazy="joined")

    @property
    def group_number(self) -> str:
        return self.fbfbm[12:]

    @property
    def audit_collective_id(self) -> int:
        return self.id

    @property
    def scope_collective_id(self) -> int:
        return self.id
