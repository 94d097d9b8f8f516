"""R14: a declaration to sell or exit made soon after the holder settled in town is flagged.

The flagger is registered with the marketplace at app creation (``create_app``); the market never
imports this package. It reads the listing's holder (the selling household's co-holders, or the
person holding own shares) and their settlement records in force; it writes nothing.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.core.calendar import county_timezone
from app.registry.people.households import co_holders
from app.settlement.services import current_settlements

#: Days between a settlement and a declaration within which the declaration is flagged.
DEFAULT_FLAG_DAYS = 180


def flag_days() -> int:
    return int(current_app.config.get("SETTLEMENT_FLAG_DAYS", DEFAULT_FLAG_DAYS))


def _holders(listing: Any) -> list[int]:
    if listing.household_uid is not None:
        return [person.uid for person in co_holders(listing.household_uid)]
    if listing.person_uid is not None:
        return [listing.person_uid]
    return []


def settlement_flags(listing: Any, deal: Any = None) -> list[str]:
    """Plain reasons, one per holder whose settlement lies within the window of the declaration
    (before or after it, by county day)."""
    if listing.declared_at is None:
        return []
    declared = listing.declared_at.replace(tzinfo=UTC).astimezone(county_timezone()).date()
    window = timedelta(days=flag_days())
    reasons = []
    for record in current_settlements(_holders(listing)):
        if abs(declared - record.settled_on) <= window:
            reasons.append(
                _(
                    "A holder settled in town on %(settled)s; the transfer or exit was declared on "
                    "%(declared)s, within %(days)s days of the settlement.",
                    settled=record.settled_on.isoformat(),
                    declared=declared.isoformat(),
                    days=window.days,
                )
            )
    return reasons
