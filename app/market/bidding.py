"""Open bidding among eligible members, and listings that end without a buyer (issue 12 §2).

A bidding listing (``method="bidding"``) takes bids (``offers.make_offer``) until its deadline.
Closing it (``close_bidding``, after the deadline and the cooling-off period, R13) gives the right
to the highest valid bid, ties to the earliest (made_at, then id); the winner's eligibility is
checked again on the day (R15) and a bidder no longer eligible is passed over for the next one.
The deal is written exactly as for an accepted offer (``offers._conclude``); the other bids are
lost and their deposits are to be refunded, the winner's counts toward the price. With no valid
bid the listing lapses and the right is free for a new listing.

A negotiated listing whose notice period is over with no open offer lapses too
(``lapse_if_unsold``). ``tick`` does both for every listing that is due (``flask market tick``,
for cron): idempotent, each listing in its own savepoint.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import exists, select

from app.audit import trail
from app.auth.models import Role
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.market import eligibility, offers, queries, states
from app.market.listings import _advance, _listing, _today, county_day, end_offers
from app.market.models import Deal, Listing, Offer

SYSTEM_ACTOR = "system"


def _actor(listing: Listing, user: Any) -> tuple[str, str]:
    """(actor kind, actor name): the system (no user: the scheduled tick) or an administrator
    of the listing's collective. Anyone else who sees the listing is refused; nobody else learns
    it exists."""
    if user is None:
        return states.SYSTEM, SYSTEM_ACTOR
    if Role(user.role) == Role.COLLECTIVE_ADMIN and listing.collective_id in user.collective_ids:
        return states.ADMIN, user.username
    if queries.can_see(user, listing):
        raise DomainError("market_actor", _("This step of the listing is not yours to take."))
    raise NotFound("listing_unknown", _("No such listing."), field="listing_id")


def ranked_bids(listing_id: int) -> list[Offer]:
    """The active bids, best first: the highest amount, ties to the earliest (made_at, then id)."""
    return list(
        db.session.scalars(
            select(Offer)
            .where(Offer.listing_id == listing_id, Offer.state == "active")
            .order_by(Offer.amount_fen.desc(), Offer.made_at, Offer.id)
        )
    )


def close_bidding(listing_id: int, user: Any | None, *, now: datetime | None = None) -> Deal | None:
    """Close the bidding of a listing after its deadline and its cooling-off period (R13).

    The highest valid bid wins (ties to the earliest); its bidder's eligibility is checked again
    on the day (R15) and a bidder no longer eligible is passed over, the evidence saying who and
    why. Returns the deal, or None when no bid was valid: then the listing lapses. ``user`` is an
    administrator of the collective, or None for the system (the scheduled tick).
    """
    moment = offers.naive_utc(now)
    day = county_day(moment)
    listing = _listing(listing_id, lock=True)
    actor_kind, actor = _actor(listing, user)
    if listing.method != "bidding":
        raise DomainError("not_bidding", _("This listing is not sold by bidding."))
    states.step(listing.state, "close_bidding", actor_kind)  # refuses a listing already closed
    if listing.bid_deadline is not None and moment < listing.bid_deadline:
        raise DomainError(
            "bidding_open",
            _(
                "The bidding runs until %(time)s: it closes after that.",
                time=format_datetime(listing.bid_deadline, "yyyy-MM-dd HH:mm"),
            ),
        )
    offers.check_cooling_off(listing, day)
    passed_over: list[dict[str, Any]] = []
    for bid in ranked_bids(listing.id):
        try:
            evidence = eligibility.check_buyer(
                listing, household_uid=bid.household_uid, person_uid=bid.person_uid, day=day
            )
        except DomainError as exc:  # no longer eligible on the day: the next bid wins
            passed_over.append(
                {
                    "offer_id": bid.id,
                    "amount_fen": bid.amount_fen,
                    "code": exc.code,
                    "rule": exc.rule,
                }
            )
            continue
        evidence = {
            **evidence,
            "bidding": {
                "closed_at": moment.isoformat(timespec="seconds"),
                "winning_offer_id": bid.id,
                "passed_over": passed_over,
            },
        }
        return offers._conclude(
            listing,
            bid,
            evidence,
            action="close_bidding",
            actor_kind=actor_kind,
            actor=actor,
            others="lost",
        )
    with trail.because("market.lapse"):  # the bids lost (before the lapse declines the rest)
        end_offers(listing.id, "lost")
    _advance(
        listing,
        "lapse",
        actor_kind,
        actor=actor,
        reason=_("No valid bid by the deadline."),
    )
    return None


def lapse_if_unsold(listing_id: int, user: Any | None, *, today: date | None = None) -> Listing:
    """A negotiated listing whose notice period is over with no open offer ends without a buyer
    (``lapsed``); the right is free for a new listing. Refused, in plain words, while offers may
    still be made or one is open for the holder to accept, and for a bidding listing (its
    bidding closes instead). ``user`` is an administrator of the collective, or None (the tick).
    """
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    actor_kind, actor = _actor(listing, user)
    if listing.method == "bidding":
        raise DomainError("bidding_listing", _("A bidding listing ends when its bidding closes."))
    states.step(listing.state, "lapse", actor_kind)
    if listing.notice_ends_on is None or day <= listing.notice_ends_on:
        raise DomainError(
            "notice_running",
            _(
                "Offers may be made until %(day)s: the listing cannot end before.",
                day=(listing.notice_ends_on or day).isoformat(),
            ),
        )
    if _has_active_offer(listing.id):
        raise DomainError(
            "offers_open", _("The listing has open offers: the holder may still accept one.")
        )
    _advance(
        listing,
        "lapse",
        actor_kind,
        actor=actor,
        reason=_("The notice period ended without an offer."),
    )
    return listing


def _has_active_offer(listing_id: int) -> bool:
    return (
        db.session.scalar(
            select(Offer.id).where(Offer.listing_id == listing_id, Offer.state == "active").limit(1)
        )
        is not None
    )


def due_biddings(moment: datetime, day: date) -> list[int]:
    """Published bidding listings past their deadline whose cooling-off period is over."""
    return list(
        db.session.scalars(
            select(Listing.id)
            .where(
                Listing.state == "published",
                Listing.method == "bidding",
                Listing.bid_deadline <= moment,
                Listing.cooling_off_ends_on.is_(None) | (Listing.cooling_off_ends_on <= day),
            )
            .order_by(Listing.id)
        )
    )


def unsold(day: date) -> list[int]:
    """Published negotiated listings whose notice period ended before ``day``, no offer open."""
    active = exists().where(Offer.listing_id == Listing.id, Offer.state == "active")
    return list(
        db.session.scalars(
            select(Listing.id)
            .where(
                Listing.state == "published",
                Listing.method != "bidding",
                Listing.notice_ends_on < day,
                ~active,
            )
            .order_by(Listing.id)
        )
    )


def tick(now: datetime | None = None) -> dict[str, Any]:
    """Close every bidding listing past its deadline and lapse every unsold listing past its
    notice period, as the system. Idempotent: a listing done is no longer due. Each listing runs
    in its own savepoint: one that fails is rolled back, reported and left for the next tick,
    and the others go on. The caller commits.

    Returns ``{"sold": {listing id: deal id}, "lapsed": [listing ids], "failed": {listing id:
    message}}``.
    """
    moment = offers.naive_utc(now)
    day = county_day(moment)
    done: dict[str, Any] = {"sold": {}, "lapsed": [], "failed": {}}
    for lid in due_biddings(moment, day):
        try:
            with db.session.begin_nested():
                deal = close_bidding(lid, None, now=moment)
        except Exception as exc:  # noqa: BLE001 - one listing's failure must not stop the rest
            _failed(done, lid, exc)
            continue
        if deal is None:
            done["lapsed"].append(lid)
        else:
            done["sold"][lid] = deal.id
    for lid in unsold(day):
        try:
            with db.session.begin_nested():
                lapse_if_unsold(lid, None, today=day)
        except Exception as exc:  # noqa: BLE001
            _failed(done, lid, exc)
            continue
        done["lapsed"].append(lid)
    return done


def _failed(done: dict[str, Any], listing_id: int, exc: Exception) -> None:
    if isinstance(exc, DomainError):
        done["failed"][listing_id] = exc.message
        return
    current_app.logger.exception("market tick: listing %s failed", listing_id)
    done["failed"][listing_id] = type(exc).__name__
