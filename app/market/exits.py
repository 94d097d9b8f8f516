"""Paid exit to the collective (有偿退出): the members' resolution that sets the price.

A paid exit has no buyer to find: once the listing is declared and every co-holder consented
(R13), and the cooling-off period is over, the collective's administrator records the
resolution of the members' meeting (its document and the count of votes) with the price, and
for contracted land the day the holder gave written notice (R06: the land is returned six
months later at the earliest, checked again at registration) and the compensation for
improvements. The deal then follows the same approvals, contract and registration as a
transfer; at registration the right goes back to the collective (``registry.conveyance``).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.models import Role
from app.core.errors import DomainError
from app.extensions import db
from app.market import states
from app.market.approvals import _staff
from app.market.listings import _advance, _listing, _today, title_problem
from app.market.models import Deal
from app.market.offers import MAX_FEN
from app.registry.conveyance import return_possible_on
from app.registry.documents import source_document


def _fen(value: Any, field: str, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < MAX_FEN:
        raise DomainError(
            "price",
            _("Give the amount in yuan, more than zero.")
            if not allow_zero
            else _("Give the amount in yuan, zero or more."),
            field=field,
        )
    return value


def _votes(votes_for: Any, votes_cast: Any) -> tuple[int, int]:
    """The members' meeting passed the resolution: more than half of the votes cast."""
    for name, value in (("votes_for", votes_for), ("votes_cast", votes_cast)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**7:
            raise DomainError("votes", _("Give the number of votes, more than zero."), field=name)
    if votes_for > votes_cast:
        raise DomainError(
            "votes", _("More votes for than votes cast: check the count."), field="votes_for"
        )
    if votes_for * 2 <= votes_cast:
        raise DomainError(
            "resolution_not_passed",
            _(
                "The resolution did not pass: %(for)s of %(cast)s votes is not more than half.",
                **{"for": votes_for, "cast": votes_cast},
            ),
            field="votes_for",
        )
    return votes_for, votes_cast


def record_exit_resolution(
    listing_id: int,
    user: Any,
    *,
    price_fen: int,
    resolution_document_id: int,
    votes_for: int,
    votes_cast: int,
    notice_given_on: date | None = None,
    improvements_fen: int | None = None,
    today: date | None = None,
) -> Deal:
    """The collective resolved to take the right back at ``price_fen`` (the compensation, of which
    ``improvements_fen`` for improvements to returned land)."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    _staff(user, listing, Role.COLLECTIVE_ADMIN)
    states.step(listing.state, "record_exit_resolution", states.ADMIN)
    if listing.deal_kind != "paid_exit":
        raise DomainError(
            "not_an_exit", _("Only a paid exit to the collective is decided by a resolution.")
        )
    if listing.cooling_off_ends_on is not None and day < listing.cooling_off_ends_on:
        raise DomainError(
            "cooling_off",
            _(
                "The cooling-off period runs until %(day)s: the collective cannot decide before.",
                day=listing.cooling_off_ends_on.isoformat(),
            ),
        )
    price = _fen(price_fen, "price_fen")
    improvements = None
    if improvements_fen is not None:
        improvements = _fen(improvements_fen, "improvements_fen", allow_zero=True)
        if improvements > price:
            raise DomainError(
                "improvements",
                _("The compensation for improvements is part of the price: it cannot exceed it."),
                field="improvements_fen",
            )
    votes = _votes(votes_for, votes_cast)
    if listing.right_kind == "land_contract":
        if not isinstance(notice_given_on, date):
            raise DomainError(
                "notice_required",
                _("Give the day the holder gave the collective written notice of the return."),
                field="notice_given_on",
            )
        if notice_given_on > day:
            raise DomainError(
                "future",
                _("Written notice cannot be dated in the future."),
                field="notice_given_on",
            )
    doc = source_document(resolution_document_id, listing.collective_id)
    problem = title_problem(listing)
    if problem is not None:
        raise problem
    evidence = {
        "checked_on": day.isoformat(),
        "collective_id": listing.collective_id,
        "resolution_document_id": doc.id,
        "votes_for": votes[0],
        "votes_cast": votes[1],
    }
    if listing.right_kind == "land_contract" and notice_given_on is not None:
        evidence["return_possible_on"] = return_possible_on(notice_given_on).isoformat()
    deal = Deal(
        listing_id=listing.id,
        collective_id=listing.collective_id,
        price_fen=price,
        resolution_document_id=doc.id,
        votes_for=votes[0],
        votes_cast=votes[1],
        notice_given_on=notice_given_on if listing.right_kind == "land_contract" else None,
        improvements_fen=improvements,
        evidence=json.dumps(evidence, sort_keys=True, separators=(",", ":")),
    )
    try:
        with trail.because("market.record_exit_resolution"), db.session.begin_nested():
            db.session.add(deal)
            db.session.flush()
    except IntegrityError:
        raise DomainError("deal_exists", _("The collective has already decided on this.")) from None
    _advance(
        listing, "record_exit_resolution", states.ADMIN, actor=user.username, document_id=doc.id
    )
    return deal
