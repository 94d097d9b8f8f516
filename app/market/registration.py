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
from app.leases import services as leases
from app.market import eligibility, lease_terms, priority, states
from app.market.approvals import _deal, _staff
from app.market.listings import _advance, _listing, _today, listing_plots, title_problem
from app.market.models import Deal, Listing, Offer
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
    if listing.deal_kind == "lease":
        return _register_lease(listing, deal, user, day)
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


def lessee_of(offer: Offer) -> leases.Lessee:
    """The lessee the leases record, from the offer that found it."""
    if offer.lessee_kind in lease_terms.OUTSIDE_KINDS:
        return leases.Lessee(
            kind=offer.lessee_kind,  # type: ignore[arg-type]
            name=offer.lessee_name or "",
            id_number=offer.lessee_id_number,
            uscc=offer.lessee_uscc,
            contact=offer.lessee_contact,
        )
    return leases.Lessee(
        kind="member_household",
        name=offer.lessee_name or "",
        household_uid=offer.household_uid,
    )


def _register_lease(listing: Listing, deal: Deal, user: Any, day: date) -> Deal:
    """A lease found through the market (R05): the leases record it (channel "market", with the
    members' priority evidence when an outsider was chosen), in this transaction; the contract
    is not conveyed, it stays the holder's. A member lessee is checked on the roll again (R15)."""
    offer = db.session.get(Offer, deal.offer_id) if deal.offer_id else None
    if offer is None or offer.lease_starts_on is None or offer.lease_ends_on is None:
        raise DomainError("no_deal", _("No lessee has been found for this listing yet."))
    record: dict[str, Any] = {"registered_on": day.isoformat()}
    if offer.lessee_kind not in lease_terms.OUTSIDE_KINDS:
        record["eligibility"] = eligibility.check_buyer(
            listing, household_uid=offer.household_uid, person_uid=None, day=day
        )
    evidence = priority.evidence(listing)
    lease = leases.record_lease(
        listing.collective_id,
        listing.right_uid,
        listing_plots(listing),
        lessee=lessee_of(offer),
        method=listing.lease_method,
        use=offer.lease_use,
        starts_on=offer.lease_starts_on,
        ends_on=offer.lease_ends_on,
        rent_fen_per_mu_year=offer.amount_fen,
        payment_schedule=listing.payment_schedule,
        contract_document_id=deal.contract_document_id,
        channel="market",
        priority_evidence=evidence,
        register=leases.at_least_years(offer.lease_starts_on, offer.lease_ends_on, 5),
        note=_("Leased through the marketplace, listing No. %(id)s", id=listing.id),
        on=day,
    )
    number = attestation_number(listing, deal, day)
    reason = _("Registered deal %(number)s", number=number)
    record.update(
        {
            "lease_id": lease.id,
            "lease_number": lease.number,
            "lease_state": lease.state,
            "contract_uid": listing.right_uid,
            "plot_uids": sorted(listing_plots(listing)),
        }
    )
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
