"""Who is told what about a listing (issue 12 §9): the marketplace's side of app.notify.

* a listing published in your collective: the farmer accounts of the collective, except the
  seller's household's;
* an offer received: the seller's accounts;
* an outsider's offer chosen for a lease (R05, members' priority): the farmer accounts of the
  collective, except the holder's household's, with the terms and the last day to match them
  (``priority_opened``);
* a step waiting for you: the collective's administrators (ready, collective_consent,
  township_approval, contracting), the bureau's reviewers (bureau_review), the co-holders whose
  consent the holder's declaration awaits (a minor's guardian decides, so is told instead);
* a decision made (an approval, a rejection, a withdrawal, completion; a listing that ended
  without a buyer): the seller's and the buyer's accounts (before a buyer is chosen, the
  households with an active offer);
* a deadline near (``remind_deadlines``, daily by ``flask notify remind``): the end of the
  cooling-off period and of the notice period (the seller), a bidding deadline (the seller and the
  bidders), once per listing and deadline.

Nobody is told of their own step. Short messages to phones go with what a farmer must act on or
learn of at once (an offer, a consent asked, a decision, a deadline); staff work from their queues
and inboxes, and "published" goes to every farmer of the collective, so neither is texted.

``step_taken`` is called by ``listings._advance`` after each step; ``offer_made`` at the end of
``offers.make_offer``. Links point at the listing's page (``LISTING_LINK``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.auth.models import Role, User, user_collective
from app.core.errors import DomainError
from app.extensions import db
from app.market.models import Deal, Listing, Offer, Step
from app.notify import services as inbox
from app.registry import history, people
from app.registry.models import HouseholdMember

#: The listing's page (the marketplace's pages, app/market/views/: /market/<listing_id>).
LISTING_LINK = "/market/{id}"

#: Steps the collective's administrators take next.
ADMIN_STEPS = frozenset({"ready", "collective_consent", "township_approval", "contracting"})
#: Actions that approve a step of the deal (the seller and the buyer are told, and what is next).
APPROVALS = frozenset({"consent_collective", "consent_homestead", "approve"})
#: A lease's lessee is found after the members' priority period (a member matched, or the
#: outsider confirmed): the holder and the lessee hear it as an approval.
APPROVALS = APPROVALS | {"priority_match", "confirm_outsider"}


def _link(listing: Listing) -> str:
    return LISTING_LINK.format(id=listing.id)


def _params(listing: Listing, **extra: Any) -> dict[str, Any]:
    return {"listing": listing.id, "right": listing.right_kind, **extra}


def _active(q):
    return q.where(User.is_active.is_(True))


def _accounts_of(household_uids: set[int], person_uids: set[int]) -> set[int]:
    """The farmer accounts of people living in these households now, or of these persons."""
    persons = set(person_uids)
    if household_uids:
        persons |= set(
            db.session.scalars(
                select(HouseholdMember.person_uid).where(
                    HouseholdMember.household_uid.in_(household_uids),
                    HouseholdMember.end_lifespan.is_(None),
                    HouseholdMember.moved_out_on.is_(None),
                )
            )
        )
    if not persons:
        return set()
    return set(
        db.session.scalars(
            _active(
                select(User.id).where(User.role == Role.FARMER.value, User.person_uid.in_(persons))
            )
        )
    )


def _seller(listing: Listing) -> set[int]:
    if listing.household_uid is not None:
        return _accounts_of({listing.household_uid}, set())
    return _accounts_of(set(), {listing.person_uid} if listing.person_uid else set())


def _buyer(listing: Listing) -> set[int]:
    """The deal's buyer; before there is one, every household (or member) with an active offer."""
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    if deal is not None:
        households = {deal.buyer_household_uid} - {None}
        persons = {deal.buyer_person_uid} - {None}
    else:
        rows = db.session.execute(
            select(Offer.household_uid, Offer.person_uid).where(
                Offer.listing_id == listing.id, Offer.state == "active"
            )
        ).all()
        households = {h for h, _p in rows if h is not None}
        persons = {p for h, p in rows if h is None and p is not None}
    return _accounts_of(households, persons)  # type: ignore[arg-type]


def _staff(role: Role, collective_id: int | None = None) -> set[int]:
    q = select(User.id).where(User.role == role.value)
    if collective_id is not None:
        q = q.join(user_collective, user_collective.c.user_id == User.id).where(
            user_collective.c.collective_id == collective_id
        )
    return set(db.session.scalars(_active(q)))


def _members(collective_id: int) -> set[int]:
    return _staff(Role.FARMER, collective_id)


def _actor(step: Step) -> User | None:
    return db.session.scalar(select(User).where(User.username == step.actor))


def _consent_asked(listing: Listing, actor: User | None) -> set[int]:
    """The accounts of the co-holders the declaration waits for (for a minor, the guardian)."""
    if listing.household_uid is None:
        return set()
    declarant = actor.person_uid if actor is not None and actor.role == Role.FARMER else None
    today = history.county_today()
    deciders = set()
    for person in people.co_holders(listing.household_uid):
        if person.uid == declarant:
            continue
        try:
            deciders.add(people.consenting_person(person.uid, today).uid)
        except DomainError:  # a minor without a guardian: the staff's page says so
            continue
    return _accounts_of(set(), deciders - {declarant})


def step_taken(listing: Listing, step: Step) -> None:
    """Tell whoever the step concerns (called by listings._advance once the step is written)."""
    actor = _actor(step)
    me = {actor.id} if actor is not None else set()
    target, link = step.to_state, _link(listing)

    if target == "awaiting_consent":
        inbox.notify(
            _consent_asked(listing, actor) - me,
            "market.consent_asked",
            _params(listing),
            link,
            sms=True,
        )
    if target == "published":
        told = _members(listing.collective_id) - _seller(listing) - me
        inbox.notify(told, "market.published", _params(listing), link)
    if target in ADMIN_STEPS:
        admins = _staff(Role.COLLECTIVE_ADMIN, listing.collective_id) - me
        inbox.notify(admins, "market.waiting", _params(listing, step=target), link)
    if target == "bureau_review":
        reviewers = _staff(Role.BUREAU_REVIEWER) - me
        inbox.notify(reviewers, "market.waiting", _params(listing, step=target), link)

    parties = None
    if step.action in APPROVALS:
        kind, extra = "market.approved", {"step": target}
    elif target == "rejected":
        kind, extra = "market.rejected", {"reason": step.reason or ""}
    elif target == "withdrawn":
        kind, extra = "market.withdrawn", {}
    elif target == "completed":
        kind, extra = "market.completed", {}
    elif target == "lapsed":
        kind, extra, parties = "market.lapsed", {}, _seller(listing)
    else:
        return
    if parties is None:
        parties = _seller(listing) | _buyer(listing)
    inbox.notify(parties - me, kind, _params(listing, **extra), link, sms=True)


def offer_made(listing: Listing, offer: Offer) -> None:
    """Tell the seller of an offer (or bid) on their listing."""
    me = {u.id for u in db.session.scalars(select(User).where(User.username == offer.made_by))}
    inbox.notify(
        _seller(listing) - me,
        "market.offer",
        _params(listing, amount_fen=offer.amount_fen),
        _link(listing),
        sms=True,
    )


def priority_opened(listing: Listing, offer: Offer, ends_on: date) -> None:
    """R05: the holder chose an outsider's offer for a lease; every farmer of the collective
    but the holder's household is told the terms and until when a member may match them."""
    told = _members(listing.collective_id) - _seller(listing)
    inbox.notify(
        told,
        "market.priority",
        _params(
            listing,
            amount_fen=offer.amount_fen,
            start=offer.lease_starts_on.isoformat() if offer.lease_starts_on else "",
            end=offer.lease_ends_on.isoformat() if offer.lease_ends_on else "",
            day=ends_on.isoformat(),
        ),
        _link(listing),  # (every farmer of the collective: not texted, like "published")
    )


def _bidders(listing: Listing) -> set[int]:
    rows = db.session.execute(
        select(Offer.household_uid, Offer.person_uid).where(
            Offer.listing_id == listing.id, Offer.state == "active"
        )
    ).all()
    return _accounts_of(
        {h for h, _p in rows if h is not None}, {p for h, p in rows if h is None and p}
    )


def remind_deadlines(today: date | None = None, *, days: int | None = None) -> int:
    """Remind of the deadlines of published listings falling from ``today`` to ``days`` ahead
    (MARKET_REMIND_DAYS): the end of the cooling-off period and of the notice period (the
    seller), a bidding deadline (the seller and the bidders). Each reminder goes once per
    listing, deadline and person, however often this runs. Returns how many were sent."""
    today = today or history.county_today()
    days = current_app.config["MARKET_REMIND_DAYS"] if days is None else days
    until = today + timedelta(days=days)
    sent = 0
    listings = db.session.scalars(
        select(Listing).where(Listing.state == "published").order_by(Listing.id)
    ).all()
    for listing in listings:
        deadlines = []
        if listing.cooling_off_ends_on is not None:
            deadlines.append(("cooling_off_ends", listing.cooling_off_ends_on, _seller))
        if listing.notice_ends_on is not None:
            deadlines.append(("notice_ends", listing.notice_ends_on, _seller))
        if listing.method == "bidding" and listing.bid_deadline is not None:
            deadlines.append(
                ("bid_deadline", listing.bid_deadline.date(), lambda x: _seller(x) | _bidders(x))
            )
        for name, day, who in deadlines:
            if not today <= day <= until:
                continue
            sent += len(
                inbox.notify(
                    who(listing),
                    f"market.{name}",
                    _params(listing, day=day.isoformat()),
                    _link(listing),
                    sms=True,
                    once_key=f"market:{listing.id}:{name}:{day.isoformat()}",
                )
            )
    return sent
