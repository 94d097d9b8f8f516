"""Administrative divisions (行政区划) and collective economic organisations (集体经济组织)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

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
    """A collective economic organisation: the 发包方 of contracted land, at township, village or
    group level. ``village_code`` is the 12-digit division the FBFBM starts with: a village for a
    village (group ``00``) or group collective, a township for a township one (always ``00``)."""

    __tablename__ = "collective"

    id: Mapped[int] = mapped_column(primary_key=True)
    fbfbm: Mapped[str] = mapped_column(String(14), unique=True)  # 发包方编码
    name: Mapped[str] = mapped_column(String(120))
    village_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码, N2…
    # Charter: per-holder share cap in percent of the total (R11); None = the county default.
    # NUMERIC(5, 2) read as a Decimal: exact on PostgreSQL; on SQLite the stored double of a
    # five-digit value is read back through the fixed scale of 2, which gives the value exactly.
    share_cap_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2, asdecimal=True))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    village = relationship(Division, lazy="joined")

    @property
    def group_number(self) -> str:
        return self.fbfbm[12:]

    @property
    def level(self) -> str:
        """``township``, ``village`` or ``group`` (GB 32100: its USCC is N3, N2 or N1)."""
        return self.level_of(self.village.level if self.village else "village", self.fbfbm)

    @staticmethod
    def level_of(division_level: str, fbfbm: str) -> str:
        """The level of the collective whose FBFBM starts with a division of ``division_level``:
        a township's code names a township collective; a village's code + ``00`` the village
        collective, + ``01``-``99`` a villager group's."""
        if division_level == "town":
            return "township"
        return "village" if fbfbm[12:] == "00" else "group"

    @property
    def audit_collective_id(self) -> int:
        return self.id

    @property
    def scope_collective_id(self) -> int:
        return self.id
