"""Registration (登记 → 结果公示 → 鉴证): the deal changes the registry, in one transaction.

``register`` is the last step of a listing. In the caller's one transaction it checks again what
must still hold on the day (the title, the buyer on the roll (R15), six months' notice for
returned land (R06)), applies the deal to the registry through ``registry.conveyance`` (the
seller's versions end and the buyer's begin on the registration day; certificates cancelled,
replaced or issued), releases money held in escrow, gives the deal its attestation number
(鉴证书编号) and records what was done, then takes the ``register`` step (audited, and the
result is shown to the collective's members).

Safe to retry: the listing row is locked first; a second call after the first committed finds
the listing completed and returns the same deal, changing nothing. A failure anywhere rolls the
whole registration back.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from app.audit import trail
from app.auth.models import Role
from app.core.errors import DomainError
from app.core.models import utcnow
from app.divisions.models import Collective
from app.extensions import db
from app.market import eligibility, states
from app.market.approvals import _deal, _staff
from app.market.listings import _advance, _listing, _today, title_problem
from app.market.models import Deal, Listing
from app.registry import conveyance, history
from app.registry.models import ShareHolding


def attestation_number(listing: Listing, deal: Deal, day: date) -> str:
    """The transaction attestation's number (鉴证书编号): JZ, the 发包方's code, the year and the
    deal's serial; unique by the database."""
    collective = db.session.get(Collective, listing.collective_id)
    code = collective.fbfbm if collective is not None else f"{listing.collective_id:014d}"
    return f"JZ{code}{day.year}{deal.id:06d}"


def _plots(listing: Listing) -> list[int] | None:
    return json.loads(listing.plot_uids) if listing.plot_uids else None


def _apply(listing: Listing, deal: Deal, day: date, reason: str, number: str) -> Any:
    """The registry change the deal makes (``registry.conveyance``)."""
    doc = deal.contract_document_id
    kind, exit_ = listing.right_kind, listing.deal_kind == "paid_exit"
    if kind == "land_contract" and exit_:
        if deal.notice_given_on is None:
            raise DomainError(
                "notice_required",
                _("Give the day the holder gave the collective written notice of the return."),
            )
        return conveyance.return_land(
            listing.right_uid,
            _plots(listing),
            notice_given_on=deal.notice_given_on,
            on=day,
            reason=reason,
            source_document_id=doc,
        )
    if kind == "land_contract":
        return conveyance.transfer_land(
            listing.right_uid,
            _plots(listing),
            deal.buyer_household_uid,
            on=day,
            reason=reason,
            source_document_id=doc,
        )
    if kind == "homestead" and exit_:
        return conveyance.exit_homestead(
            listing.right_uid, on=day, reason=reason, source_document_id=doc
        )
    if kind == "homestead":
        return conveyance.transfer_homestead(
            listing.right_uid,
            deal.buyer_household_uid,
            on=day,
            reason=reason,
            source_document_id=doc,
        )
    holding = history.require_current(ShareHolding, listing.right_uid)
    amount = Decimal(listing.shares if listing.shares is not None else holding.shares)
    if exit_:
        return conveyance.buy_back_shares(
            listing.right_uid, amount, on=day, reason=reason, source_document_id=doc
        )
    return conveyance.transfer_shares(
        listing.right_uid,
        amount,
        to_household_uid=deal.buyer_household_uid,
        to_person_uid=deal.buyer_person_uid,
        on=day,
        reason=reason,
        source_document_id=doc,
        certificate_number=f"GQ{number[2:]}",
    )


def register(listing_id: int, user: Any, *, today: date | None = None) -> Deal:
    """Register the deal of a listing at ``contracting`` (contract and payment recorded): the
    right changes hands in the registry; a repeated call returns the registered deal."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    _staff(user, listing, Role.COLLECTIVE_ADMIN)
    deal = _deal(listing)
    if listing.state == "completed":
        return deal  # a retry after success: nothing more to do
    states.step(listing.state, "register", states.ADMIN)
    if deal.contract_signed_on is None:
        raise DomainError("contract_first", _("Record the signed contract first."))
    if deal.payment is None:
        raise DomainError(
            "payment_first", _("Record the payment (confirmed or held in escrow) first.")
        )
    problem = title_problem(listing)
    if problem is not None:
        raise problem
    evidence = None
    if listing.deal_kind == "transfer":  # R15: the buyer is on the roll on the day
        evidence = eligibility.check_buyer(
            listing,
            household_uid=deal.buyer_household_uid,
            person_uid=deal.buyer_person_uid,
            day=day,
        )
    number = attestation_number(listing, deal, day)
    reason = _("Registered deal %(number)s", number=number)
    conveyed = _apply(listing, deal, day, reason, number)
    record = {"registered_on": day.isoformat(), **conveyed.as_dict()}
    if evidence is not None:
        record["eligibility"] = evidence
    with trail.because("market.register", reason=reason):
        deal.registered_on = day
        deal.attestation_number = number
        deal.registration = json.dumps(
            record, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        if deal.payment == "escrow" and deal.escrow_released_at is None:
            deal.escrow_released_at = utcnow()
        db.session.flush()
    _advance(
        listing,
        "register",
        states.ADMIN,
        actor=user.username,
        document_id=deal.contract_document_id,
    )
    return deal
