"""Offers and bids of members, and the holder's acceptance (意向登记 → 成交).

An offer is checked against the membership roll when it is made (R15, ``eligibility``) and the
evidence is stored with it; accepting it checks again, on the day, and writes the deal. Accepting
waits for the end of the cooling-off period (R13). Exactly one offer of a listing is ever
accepted: the listing row is locked and versioned, and a deal is unique per listing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.models import Role
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.market import alerts, eligibility, lease_terms, priority, states
from app.market.listings import _advance, _check_holder, _listing, _today, end_offers
from app.market.models import Deal, Listing, Offer
from app.registry import history, people
from app.registry.models import Household

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


def yuan(fen: int) -> str:
    """Whole fen as yuan for a message: 1234567 → "12345.67"."""
    return f"{fen // 100}.{fen % 100:02d}"


def naive_utc(moment: datetime | None) -> datetime:
    """``moment`` (aware, or naive UTC as stored) as naive UTC; now when None."""
    if moment is None:
        return utcnow()
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def make_offer(
    listing_id: int,
    user: Any,
    *,
    amount_fen: int,
    household_uid: int | None = None,
    person_uid: int | None = None,
    deposit_reference: str | None = None,
    terms: lease_terms.Terms | None = None,
    outsider: lease_terms.Outsider | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> Offer:
    """An eligible member household's (or member's) offer on a published listing.

    On a lease listing (R05) ``amount_fen`` is the rent per 亩 per year and the offer carries
    its ``terms`` (start, end, use). A member household offers as on any listing; an outsider
    (``outsider``: a person or household of another collective, a cooperative, a company) is
    recorded by the collective's administrator, and only on a lease listing: a transfer stays
    inside the collective.

    On a bidding listing the offer is a bid, taken until the deadline: the first at least the
    asking price (the reserve), each next at least the highest active bid plus the step; the
    deposit's payment reference is required when the listing asks for one. A bidder who bids
    again raises their own bid: the new bid replaces the older one (``superseded``), so each
    bidder stands in the bidding with one bid, and the deposit already paid moves to it.
    """
    day = _today(today)
    bidding_listing = _is_bidding(listing_id)
    listing = _listing(listing_id, lock=bidding_listing)  # bids are judged one at a time
    if listing.state != "published":
        raise DomainError("not_open", _("This listing is not open for offers."))
    if listing.method == "bidding":
        moment = naive_utc(now)
        if listing.bid_deadline is not None and moment >= listing.bid_deadline:
            raise DomainError("bidding_over", _("The bidding on this listing is over."))
    elif listing.notice_ends_on is not None and day > listing.notice_ends_on:
        raise DomainError("notice_over", _("The period for offers on this listing is over."))
    if (
        isinstance(amount_fen, bool)
        or not isinstance(amount_fen, int)
        or not 0 < amount_fen < MAX_FEN
    ):
        raise DomainError("price", _("Give the price in yuan, more than zero."), field="amount")
    if outsider is not None and listing.deal_kind != "lease":
        raise DomainError(
            "outsider_not_allowed",
            _(
                "Only a member household of the same collective may take this right: offers "
                "from outside the collective are taken only for leases of the land."
            ),
            field="lessee_kind",
            rule="R15",
        )
    if outsider is not None:
        offer = _outsider_offer(listing, user, amount_fen, terms, outsider, day)
    else:
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
        if listing.deal_kind == "lease":
            _lease_terms(listing, offer, terms, day)
            offer.lessee_kind = "member_household"
            offer.lessee_name = _household_name(household_uid)
    if listing.method != "bidding":
        with trail.because("market.offer"):
            db.session.add(offer)
            db.session.flush()
        alerts.offer_made(listing, offer)
        return offer
    earlier = _check_bid(listing, offer, deposit_reference)
    with trail.because("market.bid"):
        if earlier is not None:
            earlier.state = "superseded"
            if earlier.deposit_state == "held":
                earlier.deposit_state = "moved" if offer.deposit_state is None else "refund"
        if earlier is not None and listing.deposit_fen and offer.deposit_state is None:
            offer.deposit_fen = earlier.deposit_fen  # the deposit paid moves to the new bid
            offer.deposit_reference = earlier.deposit_reference
            offer.deposit_state = "held"
        db.session.add(offer)
        db.session.flush()
    alerts.offer_made(listing, offer)
    return offer


def _household_name(uid: int | None) -> str:
    household = history.current_of(Household, uid) if uid else None
    return household.name if household is not None else ""


def _lease_terms(listing: Listing, offer: Offer, terms: Any, day: date) -> None:
    """An offer on a lease listing carries its own term and use (R02, R05)."""
    checked = lease_terms.check_terms(listing.right_uid, terms, today=day)
    offer.lease_starts_on = checked.starts_on
    offer.lease_ends_on = checked.ends_on
    offer.lease_use = checked.use


def _outsider_offer(
    listing: Listing,
    user: Any,
    amount_fen: int,
    terms: Any,
    outsider: Any,
    day: date,
) -> Offer:
    """An outsider's offer on a lease listing, recorded by the collective's administrator on
    their behalf (they have no login)."""
    if not (
        Role(user.role) == Role.COLLECTIVE_ADMIN and listing.collective_id in user.collective_ids
    ):
        if Role(user.role) == Role.FARMER:
            raise DomainError(
                "outsider_by_staff",
                _("An offer from outside the collective is recorded by the collective's staff."),
                field="lessee_kind",
            )
        raise NotFound("listing_unknown", _("No such listing."), field="listing_id")
    who = lease_terms.check_outsider(outsider)
    offer = Offer(
        listing_id=listing.id,
        collective_id=listing.collective_id,
        amount_fen=amount_fen,
        eligibility=_canonical(eligibility.outsider_evidence(listing, who, day)),
        made_by=user.username,
        lessee_kind=who.kind,
        lessee_name=who.name,
        lessee_id_number=who.id_number,
        lessee_uscc=who.uscc,
        lessee_contact=who.contact,
    )
    _lease_terms(listing, offer, terms, day)
    return offer


def _is_bidding(listing_id: Any) -> bool:
    if not isinstance(listing_id, int):
        return False
    return db.session.scalar(select(Listing.method).where(Listing.id == listing_id)) == "bidding"


def _check_bid(listing: Listing, bid: Offer, deposit_reference: str | None) -> Offer | None:
    """A bid's amount against the reserve and the step, and its deposit; the bidder's own
    earlier active bid (which the new one replaces), if any."""
    active = [o for o in offers_of(listing.id) if o.state == "active"]
    reserve = listing.asking_price_fen or 0
    if not active:
        if bid.amount_fen < reserve:
            raise DomainError(
                "bid_too_low",
                _("Bid at least the asking price, %(price)s yuan.", price=yuan(reserve)),
                field="amount",
            )
    else:
        highest = max(o.amount_fen for o in active)
        least = highest + (listing.bid_step_fen or 0)
        if bid.amount_fen < least:
            raise DomainError(
                "bid_too_low",
                _(
                    "Bid at least %(least)s yuan: the highest bid is %(highest)s yuan and each "
                    "bid adds at least %(step)s yuan.",
                    least=yuan(least),
                    highest=yuan(highest),
                    step=yuan(listing.bid_step_fen or 0),
                ),
                field="amount",
            )
    earlier = next(
        (
            o
            for o in active
            if (o.household_uid, o.person_uid) == (bid.household_uid, bid.person_uid)
        ),
        None,
    )
    if listing.deposit_fen:
        reference = (deposit_reference or "").strip()
        if len(reference) > 64:
            raise DomainError(
                "deposit_reference",
                _("The deposit's payment reference is at most 64 characters."),
                field="deposit_reference",
            )
        if reference:
            bid.deposit_fen = listing.deposit_fen
            bid.deposit_reference = reference
            bid.deposit_state = "held"
        elif earlier is None or earlier.deposit_state != "held":
            raise DomainError(
                "deposit_required",
                _(
                    "This bidding asks for a deposit of %(amount)s yuan: pay it to the "
                    "collective and give the payment's reference.",
                    amount=yuan(listing.deposit_fen),
                ),
                field="deposit_reference",
            )
    return earlier


def accept_offer(
    listing_id: int, offer_id: int, user: Any, *, today: date | None = None
) -> Deal | None:
    """The holder accepts one offer after the cooling-off period; the buyer's eligibility is
    checked again on the day (R15) and the deal is written. Exactly once per listing.

    On a lease listing, choosing an outsider's offer writes no deal yet (returns None): the
    members' priority period opens (R05, ``priority.open_priority``)."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    _check_holder(listing, user)
    if listing.method == "bidding":
        raise DomainError(
            "bidding_listing",
            _("In a bidding the highest valid bid wins when the bidding closes: no bid is chosen."),
        )
    states.step(listing.state, "accept_offer", states.HOLDER)
    check_cooling_off(listing, day)
    offer = db.session.get(Offer, offer_id) if isinstance(offer_id, int) else None
    if offer is None or offer.listing_id != listing.id or offer.state != "active":
        raise DomainError(
            "offer_unknown", _("No such open offer on this listing."), field="offer_id"
        )
    if offer.lessee_kind in lease_terms.OUTSIDE_KINDS:
        priority.open_priority(listing, offer, actor=user.username, day=day)
        return None
    evidence = eligibility.check_buyer(
        listing, household_uid=offer.household_uid, person_uid=offer.person_uid, day=day
    )
    return _conclude(
        listing,
        offer,
        evidence,
        action="accept_offer",
        actor_kind=states.HOLDER,
        actor=user.username,
        others="declined",
    )


def check_cooling_off(listing: Listing, day: date) -> None:
    """R13: no buyer is found for a listing before its cooling-off period ends."""
    if listing.cooling_off_ends_on is not None and day < listing.cooling_off_ends_on:
        raise DomainError(
            "cooling_off",
            _(
                "The cooling-off period runs until %(day)s: no offer can be accepted before.",
                day=listing.cooling_off_ends_on.isoformat(),
            ),
        )


def _conclude(
    listing: Listing,
    offer: Offer,
    evidence: dict[str, Any],
    *,
    action: str,
    actor_kind: str,
    actor: str,
    others: str,
) -> Deal:
    """The buyer is found (the holder accepted ``offer``, or it won the bidding): the listing
    takes its step, the deal is written with the day-of-deal evidence (R15), the offer is
    accepted (its deposit counts toward the price) and every other active offer of the listing
    becomes ``others`` (declined / lost, deposits to be refunded). Exactly once per listing:
    the deal is unique per listing and per offer.

    Shared by ``accept_offer`` and ``bidding.close_bidding``; the caller has locked the listing
    and checked the step's conditions.
    """
    _advance(listing, action, actor_kind, actor=actor)
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
        with trail.because(f"market.{action}"), db.session.begin_nested():
            db.session.add(deal)
            db.session.flush()
            offer.state = "accepted"
            if offer.deposit_state == "held":
                offer.deposit_state = "applied"
            end_offers(listing.id, others, keep=offer.id)
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
