"""Who sees which listing, and the lists and queues the pages and the API show.

The one place that decides what of the marketplace a user may see (pages and API call it):

* a farmer sees their own household's listings at any step, and the listings of their
  collective once published (the members' market); a draft of a neighbour's does not exist for
  them;
* a collective's administrator sees every listing of their collectives;
* the county bureau and auditors see every listing of the county;
* anyone else sees none.

A listing a user may not see is a 404 wherever it is asked for (``load_listing_or_404``).
Queues are the listings waiting for the user's own step, with the day that step is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from app.auth.models import COUNTY_READERS, Role
from app.auth.scope import farmer_household_ids
from app.extensions import db
from app.market.listings import county_day
from app.market.models import Consent, Deal, Listing, Offer

#: The steps at which a listing is shown to every member of its collective.
PUBLIC_STATES = frozenset(
    {
        "published",
        "members_priority",  # members must see the chosen terms to match them (R05)
        "collective_consent",
        "township_approval",
        "bureau_review",
        "contracting",
        "completed",
    }
)

#: The steps an administrator of the collective takes (their queue).
ADMIN_STEPS = frozenset(
    {"awaiting_consent", "ready", "published", "collective_consent", "township_approval"}
    | {"contracting", "members_priority"}
)
#: The step the county bureau takes (its queue).
BUREAU_STEPS = frozenset({"bureau_review"})


def visible(user: Any) -> ColumnElement[bool]:
    """SQL condition: the listings ``user`` may see (the module's docstring says which)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    role = Role(user.role)
    if role in COUNTY_READERS:
        return true()
    if role == Role.COLLECTIVE_ADMIN:
        return Listing.collective_id.in_(sorted(user.collective_ids) or [-1])
    if role == Role.FARMER:
        own = Listing.household_uid.in_(sorted(farmer_household_ids(user)) or [-1])
        if user.person_uid is not None:
            own = or_(own, Listing.person_uid == user.person_uid)
        public = and_(
            Listing.collective_id.in_(sorted(user.collective_ids) or [-1]),
            Listing.state.in_(sorted(PUBLIC_STATES)),
        )
        return or_(own, public)
    return false()


def can_see(user: Any, listing: Listing) -> bool:
    return bool(
        db.session.scalar(select(Listing.id).where(Listing.id == listing.id, visible(user)))
    )


def load_listing_or_404(user: Any, listing_id: int) -> Listing:
    """The listing, if ``user`` may see it; a 404 otherwise (its existence does not leak)."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or not can_see(user, listing):
        abort(404)
    return listing


def is_own(user: Any, listing: Listing) -> bool:
    """Whether the listing is the farmer's own household's (or own shares)."""
    if Role(user.role) != Role.FARMER:
        return False
    if listing.household_uid is not None:
        return listing.household_uid in farmer_household_ids(user)
    return listing.person_uid is not None and listing.person_uid == user.person_uid


@dataclass(frozen=True)
class Filters:
    """What a list may be narrowed to (all optional)."""

    state: str | None = None
    right_kind: str | None = None
    deal_kind: str | None = None
    collective_id: int | None = None
    mine: bool = False


def listings_query(user: Any, filters: Filters | None = None) -> Select[tuple[Listing]]:
    """The listings ``user`` may see, narrowed by ``filters``, newest first (by id)."""
    f = filters or Filters()
    q = select(Listing).where(visible(user))
    if f.state:
        q = q.where(Listing.state == f.state)
    if f.right_kind:
        q = q.where(Listing.right_kind == f.right_kind)
    if f.deal_kind:
        q = q.where(Listing.deal_kind == f.deal_kind)
    if f.collective_id is not None:
        q = q.where(Listing.collective_id == f.collective_id)
    if f.mine:
        if Role(user.role) != Role.FARMER:
            return q.where(false())
        own = Listing.household_uid.in_(sorted(farmer_household_ids(user)) or [-1])
        if user.person_uid is not None:
            own = or_(own, Listing.person_uid == user.person_uid)
        q = q.where(own)
    return q.order_by(Listing.id.desc())


def queue_query(user: Any) -> Select[tuple[Listing]]:
    """The listings waiting for ``user``'s own step: an administrator's collectives at the steps
    staff take; the bureau's review queue; a farmer's own listings waiting for them (a draft to
    declare, offers to accept). Oldest first: the longest waiting comes first."""
    role = Role(user.role)
    q = select(Listing).where(visible(user))
    if role == Role.COLLECTIVE_ADMIN:
        q = q.where(Listing.state.in_(sorted(ADMIN_STEPS)))
    elif role == Role.BUREAU_REVIEWER:
        q = q.where(Listing.state.in_(sorted(BUREAU_STEPS)))
    elif role == Role.FARMER:
        q = listings_query(user, Filters(mine=True)).where(
            Listing.state.in_(["draft", "published"])
        )
        pending = select(Consent.listing_id).where(
            Consent.decision == "pending", Consent.person_uid == user.person_uid
        )
        waiting = q.with_only_columns(Listing.id)
        q = select(Listing).where(
            visible(user), or_(Listing.id.in_(waiting), Listing.id.in_(pending))
        )
    else:
        q = q.where(false())
    return q.order_by(Listing.id)


def due_on(listing: Listing) -> date | None:
    """The day by which the listing's current step is due, when it has one: the end of the
    cooling-off (no acceptance before), the end of the notice period, or the bidding deadline."""
    if listing.state == "published":
        if listing.method == "bidding" and listing.bid_deadline is not None:
            return county_day(listing.bid_deadline)
        return listing.notice_ends_on
    if listing.state == "awaiting_consent":
        return listing.cooling_off_ends_on
    if listing.state == "members_priority":
        return listing.priority_ends_on
    return None


def offer_counts(listing_ids: list[int]) -> dict[int, int]:
    """Active offers per listing, in one query (lists show the count)."""
    if not listing_ids:
        return {}
    rows = db.session.execute(
        select(Offer.listing_id, db.func.count(Offer.id))
        .where(Offer.listing_id.in_(listing_ids), Offer.state == "active")
        .group_by(Offer.listing_id)
    )
    return {lid: n for lid, n in rows}


# --- offers and deals: who sees which (read-only; the API's offers and transactions use them)


def _own_listing_ids(user: Any) -> Select[tuple[int]]:
    """The ids of the farmer's own household's (or own shares') listings."""
    return listings_query(user, Filters(mine=True)).with_only_columns(Listing.id).order_by(None)


def _farmer_buyer(user: Any, household: Any, person: Any) -> ColumnElement[bool]:
    """SQL condition: ``household`` / ``person`` is the farmer's own household or the farmer."""
    own = household.in_(sorted(farmer_household_ids(user)) or [-1])
    if user.person_uid is not None:
        own = or_(own, person == user.person_uid)
    return own


def offers_visible(user: Any) -> ColumnElement[bool]:
    """SQL condition on Offer: the offers ``user`` may see. On a listing they may see, the
    holder's household, the collective's staff, the bureau and auditors see every offer; a
    member only the offers of their own household (or their own)."""
    seen = Offer.listing_id.in_(select(Listing.id).where(visible(user)))
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if Role(user.role) == Role.FARMER:
        mine = _farmer_buyer(user, Offer.household_uid, Offer.person_uid)
        return and_(seen, or_(Offer.listing_id.in_(_own_listing_ids(user)), mine))
    return seen


def offers_query(user: Any, listing_id: int | None = None) -> Select[tuple[Offer]]:
    """The offers ``user`` may see (of one listing, if given), oldest first."""
    q = select(Offer).where(offers_visible(user))
    if listing_id is not None:
        q = q.where(Offer.listing_id == listing_id)
    return q.order_by(Offer.id)


def load_offer_or_404(user: Any, offer_id: int) -> Offer:
    """The offer, if ``user`` may see it; a 404 otherwise."""
    found = db.session.scalar(select(Offer).where(Offer.id == offer_id, offers_visible(user)))
    if found is None:
        abort(404)
    return found


def deals_visible(user: Any) -> ColumnElement[bool]:
    """SQL condition on Deal: the transactions ``user`` may see. Staff of the collective, the
    bureau and auditors see every deal of a listing they may see; a farmer only the deals they
    are a party to (the selling household's, or the buying household's or member's)."""
    seen = Deal.listing_id.in_(select(Listing.id).where(visible(user)))
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if Role(user.role) == Role.FARMER:
        buyer = _farmer_buyer(user, Deal.buyer_household_uid, Deal.buyer_person_uid)
        return and_(seen, or_(Deal.listing_id.in_(_own_listing_ids(user)), buyer))
    return seen


def deals_query(user: Any) -> Select[tuple[Deal]]:
    """The transactions ``user`` may see, newest first (by id)."""
    return select(Deal).where(deals_visible(user)).order_by(Deal.id.desc())


def load_deal_or_404(user: Any, deal_id: int) -> Deal:
    """The deal, if ``user`` may see it; a 404 otherwise."""
    found = db.session.scalar(select(Deal).where(Deal.id == deal_id, deals_visible(user)))
    if found is None:
        abort(404)
    return found


def deal_of(listing_id: int) -> Deal | None:
    """The listing's deal (its transaction), once a buyer is found or an exit resolved."""
    return db.session.scalar(select(Deal).where(Deal.listing_id == listing_id))
