"""资格审核 → 合同: the collective's consent (R03, 发包方), the township's approval for homesteads,
the county bureau's review, then the contract and the money.

Each step approves or rejects with a written reason; a rejection ends the listing and frees the
right. The bureau cannot approve a flagged deal (R14: ``create_app`` registers the oversight
flaggers) without a reasoned decision on each flag. Money is whole fen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.auth.models import Role
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.market import lease_terms, states
from app.market.listings import _advance, _listing, _today
from app.market.models import Deal, FlagReview, Listing, Offer
from app.registry.documents import source_document

#: R14: functions (listing, deal) -> list of plain-words reasons this deal needs a decision.
#: ``create_app`` registers the one R14 flagger (app.oversight.flags); the market never imports it.
FLAGGERS: list[Callable[[Listing, Deal], list[str]]] = []


def register_flagger(flagger: Callable[[Listing, Deal], list[str]]) -> None:
    if flagger not in FLAGGERS:
        FLAGGERS.append(flagger)


def flags_of(listing: Listing, deal: Deal) -> list[str]:
    return [reason for flagger in FLAGGERS for reason in flagger(listing, deal)]


def _deal(listing: Listing) -> Deal:
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    if deal is None:
        raise DomainError("no_deal", _("No buyer has been found for this listing yet."))
    return deal


def _staff(user: Any, listing: Listing, role: Role) -> None:
    if Role(user.role) != role:
        raise NotFound("listing_unknown", _("No such listing."), field="listing_id")
    if role == Role.COLLECTIVE_ADMIN and listing.collective_id not in user.collective_ids:
        raise NotFound("listing_unknown", _("No such listing."), field="listing_id")


def collective_consent(
    listing_id: int, user: Any, *, approve: bool, reason: str | None = None
) -> Listing:
    """发包方 consent (R03 for land; the collective's approval for homesteads and shares)."""
    listing = _listing(listing_id, lock=True)
    _staff(user, listing, Role.COLLECTIVE_ADMIN)
    if not approve:
        _advance(listing, "reject", states.ADMIN, actor=user.username, reason=reason)
        return listing
    _deal(listing)
    action = "consent_homestead" if listing.right_kind == "homestead" else "consent_collective"
    _advance(listing, action, states.ADMIN, actor=user.username, reason=reason)
    return listing


def township_approval(
    listing_id: int,
    user: Any,
    *,
    approve: bool,
    reason: str | None = None,
    document_id: int | None = None,
) -> Listing:
    """The township's approval of a homestead transfer, recorded by the collective's staff with
    the township's written approval attached."""
    listing = _listing(listing_id, lock=True)
    _staff(user, listing, Role.COLLECTIVE_ADMIN)
    if not approve:
        _advance(listing, "reject", states.ADMIN, actor=user.username, reason=reason)
        return listing
    doc = source_document(document_id, listing.collective_id)
    _advance(
        listing, "approve", states.ADMIN, actor=user.username, reason=reason, document_id=doc.id
    )
    return listing


def bureau_review(
    listing_id: int,
    user: Any,
    *,
    approve: bool,
    reason: str | None = None,
    flag_decision: str | None = None,
    interviewed: bool | None = None,
) -> Listing:
    """The county bureau approves or rejects, with a reason. A flagged deal (R14) needs the
    reviewer's reasoned decision to be approved: what they decided and whether the holder was
    interviewed. Approved or rejected, a flagged deal's review is stored (``FlagReview``) with
    the flags the reviewer was shown, in the same transaction as the step."""
    listing = _listing(listing_id, lock=True)
    _staff(user, listing, Role.BUREAU_REVIEWER)
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    if approve and deal is None:
        _deal(listing)  # refuses in plain words
    flags = flags_of(listing, deal) if deal is not None else []
    decision = (flag_decision or "").strip()
    if interviewed is not None and not isinstance(interviewed, bool):
        interviewed = None
    if approve and flags and (not decision or interviewed is None):
        raise DomainError(
            "flag_decision_required",
            _(
                "This deal is flagged for review: record your decision on it, with its reason "
                "and whether the holder was interviewed in person."
            ),
            field="flag_decision",
        )
    note = reason
    # (a rejection still needs its own reason: the step refuses one without)
    if flags and (approve or (reason or "").strip()):
        note = "\n".join(
            filter(
                None,
                [
                    reason,
                    decision,
                    None
                    if interviewed is None
                    else (
                        _("Interviewed in person")
                        if interviewed
                        else _("Not interviewed in person")
                    ),
                ],
            )
        )
    _advance(
        listing, "approve" if approve else "reject", states.BUREAU, actor=user.username, reason=note
    )
    if flags and deal is not None:
        review = FlagReview(
            listing_id=listing.id,
            deal_id=deal.id,
            collective_id=listing.collective_id,
            flags=trail.canonical_json([str(flag) for flag in flags]),
            decision=decision or (reason or "").strip(),
            interviewed=interviewed,
            approved=approve,
            reviewer=user.username,
        )
        with trail.because("market.flag_review", reason=review.decision):
            db.session.add(review)
            db.session.flush()
    return listing


def flag_reviews(listing: Listing) -> list[FlagReview]:
    """The bureau's stored decisions on this listing's flags, oldest first."""
    return list(
        db.session.scalars(
            select(FlagReview)
            .where(FlagReview.listing_id == listing.id)
            .order_by(FlagReview.decided_at, FlagReview.id)
        )
    )


def record_contract(
    listing_id: int,
    user: Any,
    *,
    signed_on: date,
    contract_document_id: int | None,
    payment_terms: str,
    today: date | None = None,
) -> Deal:
    """合同: the signed contract (from the model text, with price and payment terms) is recorded;
    from now on the holder can no longer withdraw. A lease of one year or less needs no written
    contract (R05: the leases' own check says so), so its document may be left out."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    _staff(user, listing, Role.COLLECTIVE_ADMIN)
    if listing.state != "contracting":
        states.step(listing.state, "register", states.ADMIN)  # refuses in plain words
    if signed_on > day:
        raise DomainError(
            "future", _("A contract cannot be signed in the future."), field="signed_on"
        )
    deal = _deal(listing)
    if listing.deal_kind == "lease":
        offer = db.session.get(Offer, deal.offer_id) if deal.offer_id else None
        doc_id = lease_terms.contract_document(listing.collective_id, offer, contract_document_id)
    else:
        doc_id = source_document(contract_document_id, listing.collective_id).id
    terms = (payment_terms or "").strip()
    if not terms:
        raise DomainError("required", _("Give the payment terms."), field="payment_terms")
    with trail.because("market.contract"):
        deal.contract_signed_on = signed_on
        deal.contract_document_id = doc_id
        deal.payment_terms = terms
        db.session.flush()
    return deal


def record_payment(
    listing_id: int,
    user: Any,
    *,
    how: str,
    reference: str,
    paid_on: date,
    today: date | None = None,
) -> Deal:
    """The money: confirmed by the collective with the bank's reference, or held in escrow
    (资金监管) until registration releases it."""
    day = _today(today)
    listing = _listing(listing_id, lock=True)
    _staff(user, listing, Role.COLLECTIVE_ADMIN)
    deal = _deal(listing)
    if deal.contract_signed_on is None:
        raise DomainError("contract_first", _("Record the signed contract first."))
    if how not in ("confirmed", "escrow"):
        raise DomainError(
            "payment", _("Say whether the payment is confirmed or in escrow."), field="how"
        )
    reference = (reference or "").strip()
    if not reference or len(reference) > 64:
        raise DomainError(
            "required",
            _("Give the payment's reference (at most 64 characters)."),
            field="reference",
        )
    if paid_on > day:
        raise DomainError("future", _("A payment cannot be dated in the future."), field="paid_on")
    with trail.because("market.payment"):
        deal.payment = how
        deal.payment_reference = reference
        deal.paid_on = paid_on
        db.session.flush()
    return deal
