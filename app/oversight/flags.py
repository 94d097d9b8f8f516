"""R14 ("flag, don't block"): the one flagger the marketplace is given at app creation.

A declaration to sell or exit is flagged for the bureau's reasoned decision when a holder settled
in town within ``SETTLEMENT_FLAG_DAYS`` of it (``app.settlement.flags``), and when it is made in a
village that stands out: at least ``SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS`` settled households, at
least ``SETTLEMENT_VILLAGE_EXIT_SHARE`` of which exited or transferred a right in the 12 months
up to the declaration day (``app.oversight.village``).

The village reason applies to every declaration made in such a village, whoever the seller: the
issue asks for "one made in a village where the share ... stands out", the pattern (not the
seller) is what the bureau is asked to look at, and a family about to settle is the one the
review protects. A flag blocks nothing; it asks for a reasoned decision.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.calendar import county_timezone
from app.divisions.models import Collective, Division
from app.extensions import db
from app.oversight.village import exit_shares
from app.settlement.flags import settlement_flags


def village_flags(listing: Any) -> list[str]:
    """One plain reason when the listing's village stands out on its declaration day."""
    if listing.declared_at is None:
        return []
    declared = listing.declared_at.replace(tzinfo=UTC).astimezone(county_timezone()).date()
    row = db.session.execute(
        select(Collective.village_code, Division.name)
        .join(Division, Division.code == Collective.village_code)
        .where(Collective.id == listing.collective_id)
    ).first()
    if row is None:
        return []
    code, name = row
    share = exit_shares(declared, village_codes=[code])[code]
    if not share.stands_out:
        return []
    return [
        _(
            "Declared in %(village)s, where %(exited)s of %(settled)s settled households "
            "transferred or gave up a right in the 12 months up to %(declared)s: the county "
            "asks for a review of every transfer or exit declared there.",
            village=name,
            exited=share.exited_households,
            settled=share.settled_households,
            declared=declared.isoformat(),
        )
    ]


def r14_flags(listing: Any, deal: Any = None) -> list[str]:
    """Every R14 reason this deal needs a decision for: the holders' settlement dates, then the
    village."""
    return settlement_flags(listing, deal) + village_flags(listing)
