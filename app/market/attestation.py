"""The transaction attestation (交易鉴证书) of a registered deal, and the published result.

What the printed attestation states, read from the records as they were registered (the deal,
its steps, the registration record), never from today's registry: who transferred what to whom
(or back to the collective), for what price, under which contract and payment, who approved
each step and when, the registration day and the attestation number. No ID numbers: the
attestation is shown to the collective's members as the published result (结果公示).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.models import User
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.market.listings import county_day, steps_of
from app.market.models import Deal, Listing, Offer
from app.registry.models import Homestead, Household, LandContract, Plot, ShareHolding

#: Steps the attestation lists as approvals, with what users read.
APPROVAL_STEPS = {
    "declare": lambda: _("Holder's voluntary declaration"),
    "consent_complete": lambda: _("Every co-holder consented"),
    "publish": lambda: _("Published to the collective's members"),
    "accept_offer": lambda: _("Offer accepted"),
    "close_bidding": lambda: _("Bidding closed"),
    "choose_outsider": lambda: _("Offer from outside the collective chosen"),
    "priority_match": lambda: _("A member matched the terms (members' priority)"),
    "confirm_outsider": lambda: _("No member matched: the outsider confirmed"),
    "record_exit_resolution": lambda: _("Collective's resolution"),
    "consent_collective": lambda: _("Consent of the collective (发包方)"),
    "consent_homestead": lambda: _("Consent of the collective (发包方)"),
    "approve": lambda: _("Approved"),
    "register": lambda: _("Deal registered"),
}


def yuan(fen: int | None) -> str:
    """Whole fen as yuan with two decimals, exactly (2800000 → "28,000.00")."""
    if fen is None:
        return ""
    return f"{Decimal(fen) / 100:,.2f}"


@dataclass
class Approval:
    what: str
    by: str
    on: date


@dataclass
class Attestation:
    number: str
    collective: str
    right_kind: str
    right_code: str
    parts: list[str]
    seller: str
    buyer: str
    deal_kind: str
    price: str
    improvements: str | None
    contract_signed_on: date | None
    payment: str
    registered_on: date
    approvals: list[Approval] = field(default_factory=list)
    votes: str | None = None


def _household(uid: int | None) -> str:
    if uid is None:
        return _("the collective")
    row = db.session.execute(
        select(Household.name, Household.cbfbm)
        .where(Household.uid == uid)
        .order_by(Household.version.desc())
        .limit(1)
    ).first()
    return f"{row.name}（{row.cbfbm}）" if row else "—"


def _as_listed(model: Any, uid: int, on: date) -> Any:
    """The version of the right as it stood when the deal was registered (the last one that
    took effect before that day, or the first)."""
    rows = list(db.session.scalars(select(model).where(model.uid == uid).order_by(model.version)))
    before = [r for r in rows if r.valid_from <= on]
    return (before or rows)[-1 if before else 0] if rows else None


def _right(listing: Listing, on: date) -> tuple[str, list[str]]:
    """The right's code and the parts of it the deal covered, in plain words."""
    if listing.right_kind == "land_contract":
        contract = _as_listed(LandContract, listing.right_uid, on)
        uids = json.loads(listing.plot_uids) if listing.plot_uids else None
        if uids:
            q = select(Plot).where(Plot.uid.in_(uids))
        else:
            q = select(Plot).where(Plot.contract_uid == listing.right_uid)
        seen: dict[int, Plot] = {}
        for plot in db.session.scalars(q.order_by(Plot.uid, Plot.version)):
            if plot.contract_uid == listing.right_uid:
                seen[plot.uid] = plot  # the last version while in the seller's contract
        parts = [
            _("Plot %(code)s, %(area)s m²", code=p.dkbm, area=f"{p.contract_area_m2 or 0:.2f}")
            for p in sorted(seen.values(), key=lambda p: p.dkbm)
        ]
        return (contract.cbhtbm if contract else "—"), parts
    if listing.right_kind == "homestead":
        homestead = _as_listed(Homestead, listing.right_uid, on)
        if homestead is None:
            return "—", []
        return homestead.unit_number, [
            _("Homestead %(area)s m² with its house", area=f"{homestead.area_m2:.2f}")
        ]
    holding = _as_listed(ShareHolding, listing.right_uid, on)
    amount = listing.shares if listing.shares is not None else (holding.shares if holding else 0)
    code = (holding.certificate_number if holding else None) or "—"
    return code, [_("%(n)s shares", n=amount)]


def attestation_of(listing: Listing) -> Attestation:
    """The attestation of a completed listing; refused in plain words before registration."""
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    if listing.state != "completed" or deal is None or deal.registered_on is None:
        raise DomainError(
            "not_registered", _("The attestation is issued once the deal is registered.")
        )
    collective = db.session.get(Collective, listing.collective_id)
    code, parts = _right(listing, deal.registered_on)
    steps = [s for s in steps_of(listing.id) if s.action in APPROVAL_STEPS]
    names = dict(
        db.session.execute(
            select(User.username, User.display_name).where(
                User.username.in_({s.actor for s in steps})
            )
        ).all()
    )
    approvals = [
        Approval(APPROVAL_STEPS[s.action](), names.get(s.actor) or s.actor, county_day(s.at))
        for s in steps
    ]
    if deal.payment == "escrow":
        payment = _(
            "Held in escrow (reference %(ref)s), released at registration",
            ref=deal.payment_reference,
        )
    else:
        payment = _(
            "Paid, confirmed by the collective (reference %(ref)s)", ref=deal.payment_reference
        )
    return Attestation(
        number=deal.attestation_number or "",
        collective=f"{collective.name}（{collective.fbfbm}）" if collective else "—",
        right_kind=_right_kind_label(listing.right_kind),
        right_code=code,
        parts=parts,
        seller=_household(listing.household_uid)
        if listing.household_uid is not None
        else _("A member's own shares"),
        buyer=_buyer(listing, deal),
        deal_kind={
            "transfer": _("Transfer to a member household"),
            "lease": _(
                "Lease of the right to farm the land (the contract stays the holder's); the "
                "price is the rent per mu per year"
            ),
        }.get(listing.deal_kind, _("Paid exit to the collective")),
        price=yuan(deal.price_fen),
        improvements=yuan(deal.improvements_fen) if deal.improvements_fen is not None else None,
        contract_signed_on=deal.contract_signed_on,
        payment=payment,
        registered_on=deal.registered_on,
        approvals=approvals,
        votes=_("%(for)s of %(cast)s votes for", **{"for": deal.votes_for, "cast": deal.votes_cast})
        if deal.votes_cast
        else None,
    )


def _buyer(listing: Listing, deal: Deal) -> str:
    """Who took the right: the buying household, the lessee (a member household or an
    outsider, by name), or the collective (a paid exit)."""
    if listing.deal_kind == "transfer":
        return _household(deal.buyer_household_uid)
    if listing.deal_kind == "lease":
        offer = db.session.get(Offer, deal.offer_id) if deal.offer_id else None
        return (offer.lessee_name or "") if offer is not None else ""
    return _("the collective")


def _right_kind_label(kind: str) -> str:
    return {
        "land_contract": _("Contracted land (土地承包经营权)"),
        "homestead": _("Homestead (宅基地使用权)"),
        "share_holding": _("Collective income shares (集体收益分配权)"),
    }[kind]
