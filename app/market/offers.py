"""Offers and bids of members, and the holder's acceptance (意向登记 → 成交).

An offer is checked against the membership roll when it is made (R15, ``eligibility``) and the
evidence is stored with it; accepting it checks again, on the day, and writes the deal. Accepting
waits for the end of the cooling-off period (R13). Exactly one offer of a listing is ever
accepted: the listing row is locked and versioned, and a deal is unique per listing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.models import Role
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.market import alerts, eligibility, states
from app.market.listings import _advance, _check_holder, _listing, _today
from app.market.models import Deal, Listing, Offer
from app.registry import people

MAX_FEN = 10**15


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _acting_for(user: Any, listing: Listing, household_uid: int | None) -> None:
    """A farmer offers for their own household; staff of the collective record an offer made in
    person at the office. Nobody else sees the listing."""
    role = Role(user.role)
    if role == Role.FARMER:
        if household_uid is None or not people.farmer_can_act_for(user, household_uid):
            raise DomainError(
                "not_your_household",
                _("Offer only for the household you belong to."),
                field="household_uid",
            )
        return
    if role == Role.COLLECTIVE_ADMIN and listing.collective_id in user.collective_ids:
        return
    raise NotFound("listing_unknown", _("No such listing."), field="listing_id")


def make_offer(
    listing_id: int,
    user: Any,
    *,
    amount_fen: int,
    household_uid: int | None = None,
    person_uid: int | None = None,
    today: date | None = None,
) -> Offer:
    """An eligible member household's (or member's) offer on a published listing."""
    day = _today(today)
    listing = _listing(listing_id)
    if listing.state != "published":
        raise DomainError("not_open", _("This listing is not open for offers."))
    if listing.notice_ends_on is not None and day > listing.notice_ends_on:
        raise DomainError("notice_over", _("The period for offers on this listing is over."))
    if (
        isinstance(amount_fen, bool)
        or not isinstance(amount_fen, int)
        or not 0 < amount_fen < MAX_FEN
    ):
        raise DomainError("price", _("Give the price in yuan, more than zero."), field="amount")
    _acting_for(user, listing, household_uid)
    evidence = eligibility.check_buyer(
        listing, household_uid=household_uid, person_uid=person_uid, day=day
    )
    offer = Offer(
        listing_id=listing.id,
        collective_id=listing.collective_id,
        household_uid=household_uid,
        person_uid=person_uid,
        amount_fen=amount_fen,
        eligibility=_canonical(evidence),
        made_by=user.username,
    )
    with trail.because("market.offer"):
        db.session.add(offer)
        db.session.flush()
    alerts.offer_made(listing, offer)
    return offer


def accept_offer(listing_id: int, offer_id: int, user: Any, *, today: date | None = None) -> Deal:
    """The holder accepts one offer after the cooling-off period; the buyer's eligibility is
    checked again on the day (R15) and the deal is written. Exactly once per listing."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    _check_holder(listing, user)
    states.step(listing.state, "accept_offer", states.HOLDER)
    if listing.cooling_off_ends_on is not None and day < listing.cooling_off_ends_on:
        raise DomainError(
            "cooling_off",
            _(
                "The cooling-off period runs until %(day)s: no offer can be accepted before.",
                day=listing.cooling_off_ends_on.isoformat(),
            ),
        )
    offer = db.session.get(Offer, offer_id) if isinstance(offer_id, int) else None
    if offer is None or offer.listing_id != listing.id or offer.state != "active":
        raise DomainError(
            "offer_unknown", _("No such open offer on this listing."), field="offer_id"
        )
    evidence = eligibility.check_buyer(
        listing, household_uid=offer.household_uid, person_uid=offer.person_uid, day=day
    )
    _advance(listing, "accept_offer", states.HOLDER, actor=user.username)
    deal = Deal(
        listing_id=listing.id,
        collective_id=listing.collective_id,
        offer_id=offer.id,
        buyer_household_uid=offer.household_uid,
        buyer_person_uid=offer.person_uid,
        price_fen=offer.amount_fen,
        evidence=_canonical(evidence),
    )
    try:
        with trail.because("market.accept_offer"), db.session.begin_nested():
            db.session.add(deal)
            db.session.flush()
            offer.state = "accepted"
            for other in offers_of(listing.id):  # ORM writes: each one audited
                if other.id != offer.id and other.state == "active":
                    other.state = "declined"
            db.session.flush()
    except IntegrityError:
        raise DomainError(
            "deal_exists", _("An offer on this listing was already accepted.")
        ) from None
    return deal


def offers_of(listing_id: int) -> list[Offer]:
    return list(
        db.session.scalars(select(Offer).where(Offer.listing_id == listing_id).order_by(Offer.id))
    )
