"""Members' priority on equal terms (R05, 承包法 Art. 38; issue 14 part 3).

When the holder of a lease listing chooses an outsider's offer, the listing does not find its
lessee yet: it enters ``members_priority`` for LEASE_PRIORITY_DAYS (a county setting). Every
member household of the collective is told of the chosen terms; one that matches them (the same
rent or higher, the same term and use) in the period takes the lease (``leasing.match``); after
the period without a match the outsider is confirmed (``leasing.confirm_outsider``, by the
scheduled tick or the collective's administrator).

What members were offered, when, who was told, the offers made in the period and the decision
are stored (``MembersPriority``); ``evidence`` is what the lease's record keeps as its
``priority_evidence``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select

from app.audit import trail
from app.core import calendar
from app.extensions import db
from app.leases import services as leases
from app.market import alerts, states
from app.market.listings import _advance
from app.market.models import Listing, MembersPriority, Offer
from app.registry.models import Household


def _canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def terms_of(offer: Offer, listing: Listing) -> dict[str, Any]:
    """The terms members are offered: the chosen offer's rent and term, the listing's way of
    leasing, schedule and plots."""
    return {
        "offer_id": offer.id,
        "lessee_kind": offer.lessee_kind,
        "rent_fen_per_mu_year": offer.amount_fen,
        "starts_on": offer.lease_starts_on.isoformat() if offer.lease_starts_on else None,
        "ends_on": offer.lease_ends_on.isoformat() if offer.lease_ends_on else None,
        "use": offer.lease_use,
        "method": listing.lease_method,
        "payment_schedule": listing.payment_schedule,
        "plot_uids": json.loads(listing.plot_uids) if listing.plot_uids else None,
    }


def _member_households(listing: Listing) -> list[int]:
    """The collective's current households but the holder's: those members' priority concerns."""
    return list(
        db.session.scalars(
            select(Household.uid)
            .where(
                Household.collective_id == listing.collective_id,
                Household.end_lifespan.is_(None),
                Household.uid != (listing.household_uid or -1),
            )
            .order_by(Household.uid)
        )
    )


def open_priority(listing: Listing, offer: Offer, *, actor: str, day: date) -> MembersPriority:
    """The holder chose ``offer``, an outsider's: the members' priority period opens today and
    ends LEASE_PRIORITY_DAYS later; the collective's members are told the terms. The caller
    locked the listing and checked the holder, the step and the cooling-off."""
    ends_on = calendar.period_end(day, leases.priority_days(), working=False)
    households = _member_households(listing)
    _advance(listing, "choose_outsider", states.HOLDER, actor=actor)
    record = MembersPriority(
        listing_id=listing.id,
        collective_id=listing.collective_id,
        offer_id=offer.id,
        terms=_canonical(terms_of(offer, listing)),
        told=_canonical(households),
        opened_on=day,
        ends_on=ends_on,
    )
    with trail.because("market.choose_outsider"):
        listing.priority_ends_on = ends_on
        db.session.add(record)
        db.session.flush()
    alerts.priority_opened(listing, offer, ends_on)
    return record


def of_listing(listing_id: int) -> MembersPriority | None:
    return db.session.scalar(
        select(MembersPriority).where(MembersPriority.listing_id == listing_id)
    )


def decide(
    record: MembersPriority, decision: str, *, day: date, by: str, matched: Offer | None = None
) -> None:
    """Write the period's decision: a member matched (``member_matched``) or the outsider is
    confirmed (``outsider_confirmed``)."""
    with trail.because(f"market.{decision}"):
        record.decision = decision
        record.matched_offer_id = matched.id if matched is not None else None
        record.decided_on = day
        record.decided_by = by
        db.session.flush()


def evidence(listing: Listing) -> dict[str, Any] | None:
    """The priority evidence of a lease listing (R05): who was offered what, when, the offers
    members made in the period and the decision; None when no priority period ran (the lessee
    is a member household chosen directly)."""
    record = of_listing(listing.id)
    if record is None:
        return None
    offers_in_period = db.session.scalars(
        select(Offer)
        .where(Offer.listing_id == listing.id, Offer.matches_offer_id == record.offer_id)
        .order_by(Offer.id)
    )
    return {
        "channel": "market",
        "listing_id": listing.id,
        # what the leases check (R05): the period's first and last day, and that no member
        # matched the outsider's terms in it
        "priority_from": record.opened_on.isoformat(),
        "priority_until": record.ends_on.isoformat(),
        "member_matched": record.decision == "member_matched",
        "offered": json.loads(record.terms),
        "told_households": json.loads(record.told),
        "opened_on": record.opened_on.isoformat(),
        "ends_on": record.ends_on.isoformat(),
        "offers_in_period": [
            {
                "offer_id": o.id,
                "household_uid": o.household_uid,
                "rent_fen_per_mu_year": o.amount_fen,
                "starts_on": o.lease_starts_on.isoformat() if o.lease_starts_on else None,
                "ends_on": o.lease_ends_on.isoformat() if o.lease_ends_on else None,
                "use": o.lease_use,
                "made_at": o.made_at.isoformat(timespec="seconds") if o.made_at else None,
            }
            for o in offers_in_period
        ],
        "decision": record.decision,
        "matched_offer_id": record.matched_offer_id,
        "decided_on": record.decided_on.isoformat() if record.decided_on else None,
        "decided_by": record.decided_by,
    }
