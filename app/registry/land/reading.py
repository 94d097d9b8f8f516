"""Reading the land registry: a contract's plots, a plot's shape, and reading an object as it
was (``?as_of=``, legal time or record time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

from flask_babel import gettext as _
from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from app.core.errors import DomainError
from app.extensions import db
from app.registry import history
from app.registry.models import Plot


def contract_plots(contract_uid: int) -> list[Plot]:
    """The current plots of a contract, by code."""
    return list(
        db.session.scalars(
            select(Plot)
            .where(Plot.contract_uid == contract_uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
        )
    )


def plot_shape(plot: Plot) -> BaseGeometry | None:
    """The plot's outline (a MultiPolygon as stored), or None."""
    return to_shape(plot.geom) if plot.geom is not None else None


#: Who may read the registry as it was recorded (record time) rather than as the law stood:
#: those who check the registry's own work.
RECORD_TIME_ROLES = frozenset({"auditor", "bureau_reviewer"})
AS_OF_TIMES = ("legal", "recorded")


@dataclass(frozen=True)
class AsOf:
    """A point to read an object's history at. In legal time (the default) a day of the county's
    calendar: the version in legal effect that day. In record time (``recorded``) an instant:
    the version the registry showed as current then (naive UTC, like the lifespans)."""

    day: date
    at: datetime
    recorded: bool = False

    def matches(self, version: Any) -> bool:
        if self.recorded:
            return version.recorded_at(self.at)
        return version.in_effect_on(self.day)

    def pick(self, versions: list[Any]) -> Any:
        """The matching version of a list of one object's versions (the latest if several)."""
        return next((v for v in reversed(versions) if self.matches(v)), None)

    def find(self, model: type, uid: int) -> Any:
        when = self.at if self.recorded else self.day
        return history.as_of(model, uid, when, recorded=self.recorded)


def may_read_record_time(user: Any) -> bool:
    return str(getattr(user, "role", "") or "") in RECORD_TIME_ROLES


def parse_as_of(raw: str | None, time: str | None = None, *, user: Any = None) -> AsOf | None:
    """``?as_of=`` (and ``&time=recorded``): a date, or an ISO date-time, read in legal time by
    default. A date in record time means the end of that day in the county; a date-time in legal
    time means its day in the county. Record time is for the auditor and the bureau only
    (``RECORD_TIME_ROLES``; ``user`` None: no check, for services). Bad input is a DomainError."""
    raw = (raw or "").strip()
    if not raw:
        return None
    time = (time or "").strip() or "legal"
    if time not in AS_OF_TIMES:
        raise DomainError("as_of_time", _("Choose legal time or record time."), field="time")
    recorded = time == "recorded"
    if recorded and user is not None and not may_read_record_time(user):
        raise DomainError(
            "as_of_time",
            _("Only the auditor and the county bureau may see the registry as it was recorded."),
            field="time",
        )
    zone = history.county_timezone()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            local = datetime.combine(day + timedelta(days=1), time_of_day.min, tzinfo=zone)
            at = local.astimezone(UTC).replace(tzinfo=None) - timedelta(microseconds=1)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if moment.tzinfo is None:  # a local time of the county
                moment = moment.replace(tzinfo=zone)
            at = moment.astimezone(UTC).replace(tzinfo=None)
            day = moment.astimezone(zone).date()
    except (ValueError, OverflowError):  # not a date, or a date at the very end of the calendar
        raise DomainError("as_of", _("Give the date as YYYY-MM-DD."), field="as_of") from None
    return AsOf(day=day, at=at, recorded=recorded)
