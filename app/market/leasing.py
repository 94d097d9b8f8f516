"""The members' priority period's two ends (R05, issue 14 part 3): a member household matches
the outsider's chosen terms and takes the lease (``match``), or the period passes without a
match and the outsider is confirmed (``confirm_outsider``; ``tick`` for the scheduled run).

Exactly one ends it: the listing row is locked and versioned and a deal is unique per listing,
so two members matching at once yield one lessee; the other is refused in plain words.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError
from app.extensions import db
from app.market import bidding, eligibility, lease_terms, offers, priority, states
from app.market.listings import _listing, _today
from app.market.models import Deal, Listing, Offer


def _chosen(listing: Listing) -> tuple[Any, Offer]:
    record = priority.of_listing(listing.id)
    if record is None:
        raise DomainError("no_priority", _("No outsider's offer was chosen for this listing."))
    offer = db.session.get(Offer, record.offer_id)
    assert offer is not None
    return record, offer


def match(
    listing_id: int,
    user: Any,
    *,
    household_uid: int | None,
    amount_fen: int,
    terms: lease_terms.Terms | None,
    today: date | None = None,
) -> Deal:
    """R05: a member household matches the chosen outsider's terms in the priority period (the
    same rent per 亩 or higher, the same term and use) and takes the lease: the first valid
    match wins; the outsider's offer is declined. A farmer matches for their own household;
    staff record a match made in person at the office."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    offers._acting_for(user, listing, household_uid)
    states.step(listing.state, "priority_match", states.SYSTEM)  # refuses once decided
    record, chosen = _chosen(listing)
    if day > record.ends_on:
        raise DomainError(
            "priority_over",
            _("The members' priority period ended on %(day)s.", day=record.ends_on.isoformat()),
        )
    evidence = eligibility.check_buyer(
        listing, household_uid=household_uid, person_uid=None, day=day
    )
    checked = lease_terms.check_terms(listing.right_uid, terms, today=day)
    offer = Offer(
        listing_id=listing.id,
        collective_id=listing.collective_id,
        household_uid=household_uid,
        amount_fen=lease_terms.check_rent(amount_fen, "amount"),
        eligibility=offers._canonical(evidence),
        made_by=user.username,
        lessee_kind="member_household",
        lessee_name=offers._household_name(household_uid),
        lease_starts_on=checked.starts_on,
        lease_ends_on=checked.ends_on,
        lease_use=checked.use,
        matches_offer_id=chosen.id,
    )
    if not lease_terms.matches(offer, chosen):
        raise DomainError(
            "no_match",
            _(
                "This does not match the terms chosen: offer at least %(rent)s yuan per mu per "
                "year, from %(start)s to %(end)s, for the same use.",
                rent=offers.yuan(chosen.amount_fen),
                start=chosen.lease_starts_on.isoformat() if chosen.lease_starts_on else "",
                end=chosen.lease_ends_on.isoformat() if chosen.lease_ends_on else "",
            ),
            field="amount",
            rule="R05",
        )
    with trail.because("market.priority_match"):
        db.session.add(offer)
        db.session.flush()
    priority.decide(record, "member_matched", day=day, by=user.username, matched=offer)
    evidence = {**evidence, "priority": priority.evidence(listing)}
    return offers._conclude(
        listing,
        offer,
        evidence,
        action="priority_match",
        actor_kind=states.SYSTEM,
        actor=user.username,
        others="declined",
    )


def confirm_outsider(listing_id: int, user: Any | None, *, today: date | None = None) -> Deal:
    """R05: the priority period ended without a member matching: the outsider whose offer the
    holder chose takes the lease. ``user`` is an administrator of the collective, or None for
    the system (the scheduled tick)."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    actor_kind, actor = bidding._actor(listing, user)
    states.step(listing.state, "confirm_outsider", actor_kind)
    record, chosen = _chosen(listing)
    if day <= record.ends_on:
        raise DomainError(
            "priority_running",
            _(
                "Members may match the terms until %(day)s: the outsider is confirmed after.",
                day=record.ends_on.isoformat(),
            ),
        )
    priority.decide(record, "outsider_confirmed", day=day, by=actor)
    try:
        evidence = json.loads(chosen.eligibility or "{}")
    except ValueError:
        evidence = {}
    evidence = {**evidence, "checked_on": day.isoformat(), "priority": priority.evidence(listing)}
    return offers._conclude(
        listing,
        chosen,
        evidence,
        action="confirm_outsider",
        actor_kind=actor_kind,
        actor=actor,
        others="declined",
    )


def due(day: date) -> list[int]:
    """Listings whose members' priority period ended before ``day`` without a match."""
    return list(
        db.session.scalars(
            select(Listing.id)
            .where(Listing.state == "members_priority", Listing.priority_ends_on < day)
            .order_by(Listing.id)
        )
    )


def tick(today: date | None = None) -> dict[str, Any]:
    """Confirm the outsider of every listing whose priority period is over, as the system; each
    in its own savepoint (idempotent: one done is no longer due). The caller commits. Returns
    ``{"confirmed": {listing id: deal id}, "failed": {listing id: message}}``."""
    day = _today(today)
    done: dict[str, Any] = {"confirmed": {}, "failed": {}}
    for lid in due(day):
        try:
            with db.session.begin_nested():
                deal = confirm_outsider(lid, None, today=day)
        except Exception as exc:  # noqa: BLE001 - one listing's failure must not stop the rest
            bidding._failed(done, lid, exc)
            continue
        done["confirmed"][lid] = deal.id
    return done
