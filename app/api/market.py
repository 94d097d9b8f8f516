"""JSON API of the marketplace (issue 12 §10): listings, offers and transactions.

The rules live in ``app.market`` (the state machine, R13's declaration and consents, the title
check, eligibility on the day (R03/R09/R10/R11/R15), the approvals, the contract and the money);
these endpoints translate JSON to one service call each and back, and commit once. Who sees
what is decided only by ``app.market.queries`` (listings, offers, deals): anything out of the
caller's reach is a 404 whatever the body says (``target=`` loads it first).

Money is whole fen (分; 1 yuan = 100 fen) in ``*_fen`` fields, never a float.

A transaction is the deal (``market_deal``): it exists once the holder accepted an offer (or the
collective resolved a paid exit's price) and has its own id, which ``/transactions/{id}`` names;
the listing it belongs to is ``listing_id``. A listing without a buyer has no transaction.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask import jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from app.api import bp
from app.api.fields import (
    CodeText,
    ExactNumber,
    Id,
    NameText,
    NoteText,
    Page,
    Paged,
    QueryId,
    Reason,
    page_of,
)
from app.api.schema import Answer, Body, operation
from app.auth.models import Role
from app.auth.scope import roles_required
from app.core.codes import mask_id_number
from app.core.errors import DomainError
from app.core.numbers import fixed
from app.extensions import db
from app.leases import models as lease_models
from app.market import (
    approvals,
    attestation,
    bidding,
    exits,
    lease_terms,
    leasing,
    listings,
    offers,
    priority,
    queries,
    registration,
    states,
)
from app.market.models import Consent, Deal, Listing, Offer, Step
from app.registry import history
from app.registry.models import Person
from app.registry.shares import parse_shares

READERS = (Role.FARMER, Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
ACTORS = (Role.FARMER, Role.COLLECTIVE_ADMIN)
ADMIN = (Role.COLLECTIVE_ADMIN,)

MAX_FEN = offers.MAX_FEN
FEN_DOC = "Amount in fen (分: 1 yuan = 100 fen), a whole number; never a float"

RightKind = Literal[tuple(sorted(listings.RIGHT_KINDS))]  # type: ignore[valid-type]
DealKind = Literal[tuple(sorted(listings.DEAL_KINDS))]  # type: ignore[valid-type]
Method = Literal[tuple(sorted(listings.METHODS))]  # type: ignore[valid-type]
State = Literal[tuple(sorted(states.STATES))]  # type: ignore[valid-type]

#: An amount of money in a body: whole fen, more than zero, below 10^15 fen.
Fen = Annotated[int, Field(ge=1, le=MAX_FEN - 1, description=FEN_DOC)]
#: An amount of money in an answer.
FenOut = Annotated[int, Field(description=FEN_DOC)]
SharesOut = Annotated[
    str | None,
    Field(
        pattern=r"^[0-9]+\.[0-9]{4}$",
        description='Part of a holding listed: exact decimal, four places ("12.5000"); null: '
        "the whole holding (or not shares)",
    ),
]
_NOT_FOUND = {404: "Not found or out of the caller's reach"}


# --- answers


class MarketStep(Answer):
    action: str
    from_state: State
    to_state: State
    actor: str
    actor_role: str
    reason: str | None
    document_id: int | None
    at: datetime


class MarketConsent(Answer):
    """A holder's declaration or a co-holder's consent (no identity numbers)"""

    person_uid: int
    name: str | None
    role: Literal["holder", "co_holder"]
    decision: Literal["pending", "given", "refused"]
    mode: Literal["self", "witnessed"] | None = Field(
        description="self: by the person, logged in; witnessed: in person before staff, with "
        "the signed paper form"
    )
    witnessed_by: str | None
    paper_document_id: int | None
    decided_by_person_uid: int | None = Field(description="The person, or a minor's guardian")
    decided_at: datetime | None


class LeaseTermsOut(Answer):
    """A lease listing's asked terms (R05); the contract stays the holder's."""

    method: str = Field(description="How the land-management right is leased (lease, ...)")
    use: str = Field(description="The agricultural use")
    starts_on: date
    ends_on: date
    rent_fen_per_mu_year: FenOut = Field(description="Rent per mu per year. " + FEN_DOC)
    payment_schedule: Literal["annual", "semiannual", "once"]
    priority_ends_on: date | None = Field(
        description="An outsider's offer chosen: the last day members may match its terms"
    )


class ListingItem(Answer):
    """A listing"""

    listing_id: int
    collective_id: int
    right_kind: RightKind
    right_uid: int
    deal_kind: DealKind
    method: Method
    household_uid: int | None
    person_uid: int | None
    plot_uids: list[int] | None = Field(description="Part of a contract; null: the whole")
    shares: SharesOut
    asking_price_fen: FenOut | None
    description: str | None
    bid_deadline: datetime | None
    bid_step_fen: FenOut | None
    deposit_fen: FenOut | None
    state: State
    state_label: str
    declared_at: datetime | None
    cooling_off_ends_on: date | None = Field(description="No offer is accepted before (R13)")
    published_on: date | None
    notice_ends_on: date | None
    due_on: date | None = Field(description="The day the current step is due, if it has one")
    offer_count: int = Field(description="Active offers")
    lease: LeaseTermsOut | None = Field(description="A lease listing's terms; null otherwise")
    created_by: str
    created_at: datetime


class ListingDetail(ListingItem):
    """A listing with its steps, consents and transaction"""

    statement: str = Field(
        description="What the holder and co-holders read before deciding: what they give up "
        "and what they keep, in the caller's language"
    )
    steps: list[MarketStep]
    consents: list[MarketConsent] = Field(
        description="Shown to the holder's household and to staff; empty for other members"
    )
    transaction_id: int | None
    priority: dict[str, Any] | None = Field(
        description="R05, members' priority on equal terms: the terms members were offered, "
        "the households told, when, the members' matching offers and the decision"
    )


class Listings(Page[ListingItem]):
    """Listings, newest first"""


class ListingQueue(Page[ListingItem]):
    """Listings waiting for the caller's step, longest waiting first"""


class OfferLeaseOut(Answer):
    lessee_kind: str = Field(description="member_household, outside_person, company, ...")
    lessee_name: str | None
    lessee_id_number: str | None = Field(
        description="An outside person's ID number (masked for roles that do not need it)"
    )
    lessee_uscc: str | None
    lessee_contact: str | None
    starts_on: date | None
    ends_on: date | None
    use: str | None
    matches_offer_id: int | None = Field(
        description="A member's offer matching the outsider's chosen offer (priority period)"
    )


class MarketOffer(Answer):
    """An offer on a listing, with the eligibility check it passed"""

    offer_id: int
    listing_id: int
    collective_id: int
    household_uid: int | None
    person_uid: int | None
    amount_fen: FenOut
    deposit_fen: FenOut | None
    deposit_reference: str | None
    state: Literal["active", "withdrawn", "accepted", "declined", "lost", "superseded"]
    deposit_state: Literal["held", "applied", "refund", "moved"] | None
    lease: OfferLeaseOut | None = Field(
        description="On a lease listing: who would lease (a member household or an outsider) "
        "and the offer's term and use; amount_fen is then the rent per mu per year"
    )
    eligibility: dict[str, Any] = Field(
        description="What was checked against the roll when the offer was made (R15)"
    )
    made_by: str
    made_at: datetime


class MarketOffers(Page[MarketOffer]):
    """Offers on a listing, oldest first"""


class DealContract(Answer):
    signed_on: date
    document_id: int | None
    payment_terms: str | None


class DealPayment(Answer):
    how: Literal["confirmed", "escrow"]
    reference: str | None
    paid_on: date | None
    escrow_released_at: datetime | None


class FlagReviewOut(Answer):
    """R14: the bureau's decision on the flags it was shown (stored, never changed)"""

    flags: list[str] = Field(description="The flags as the reviewer saw them")
    approved: bool = Field(description="Whether the review approved the deal or rejected it")
    decision: str = Field(description="The reviewer's reasoned decision")
    interviewed: bool | None = Field(description="Whether the holder was interviewed in person")
    reviewer: str
    decided_at: datetime


class Transaction(Answer):
    """A transaction: the deal of a listing, its contract, money and registration"""

    transaction_id: int
    listing_id: int
    collective_id: int
    right_kind: RightKind
    right_uid: int
    deal_kind: DealKind
    state: State = Field(description="The listing's step")
    state_label: str
    offer_id: int | None
    buyer_household_uid: int | None = Field(description="null for a paid exit: the collective")
    buyer_person_uid: int | None
    price_fen: FenOut
    resolution_document_id: int | None = Field(description="Paid exit: the members' resolution")
    votes_for: int | None
    votes_cast: int | None
    notice_given_on: date | None = Field(
        description="Paid exit of land: the day of the holder's written notice (R06)"
    )
    improvements_fen: FenOut | None = Field(
        description="Paid exit of land: the compensation for improvements, part of price_fen"
    )
    evidence: dict[str, Any] | None = Field(
        description="What the day-of-deal eligibility check read (R15); for a paid exit, the "
        "resolution's count"
    )
    flags: list[str] = Field(description="R14: why the bureau must record a decision")
    flag_reviews: list[FlagReviewOut] = Field(
        description="R14: the bureau's stored decisions on the flags, oldest first"
    )
    contract: DealContract | None
    payment: DealPayment | None
    registered_on: date | None
    registration: dict[str, Any] | None = Field(
        description="What registration did: versions ended and begun, certificates"
    )
    attestation_number: str | None


class AttestationApproval(Answer):
    what: str
    by: str
    on: date


class TransactionAttestation(Answer):
    """The transaction attestation (鉴证书) of a registered deal, in the caller's language"""

    number: str
    collective: str
    right_kind: str
    right_code: str
    parts: list[str]
    seller: str
    buyer: str
    deal_kind: str
    price: str = Field(description="Yuan with two decimals, exact (from price_fen)")
    improvements: str | None
    contract_signed_on: date | None
    payment: str
    registered_on: date
    approvals: list[AttestationApproval]
    votes: str | None


class Transactions(Page[Transaction]):
    """Transactions, newest first"""


# --- queries and bodies


class ListingsQuery(Paged):
    state: State | None = None
    right_kind: RightKind | None = None
    deal_kind: DealKind | None = None
    collective_id: QueryId = None
    mine: bool = Field(False, description="Only the caller's own household's (farmers)")


class TransactionsQuery(Paged):
    state: State | None = Field(None, description="The listing's step")
    collective_id: QueryId = None


class NewLeaseTerms(Body):
    method: Literal[tuple(lease_models.METHODS)] = Field(  # type: ignore[valid-type]
        description="How the land-management right is leased"
    )
    use: CodeText = Field(description="The agricultural use (the leases' uses)")
    starts_on: date
    ends_on: date
    rent_fen_per_mu_year: Fen = Field(description="Rent per mu per year. " + FEN_DOC)
    payment_schedule: Literal["annual", "semiannual", "once"]


class OfferTerms(Body):
    starts_on: date
    ends_on: date
    use: CodeText = Field(description="The agricultural use (the leases' uses)")


class NewOutsider(Body):
    kind: Literal[lease_terms.OUTSIDE_KINDS]  # type: ignore[valid-type]
    name: NameText
    id_number: CodeText | None = Field(
        None, description="A person or household's head: the resident ID number"
    )
    uscc: CodeText | None = Field(
        None, description="A cooperative, company or organisation: its USCC"
    )
    contact: NameText | None = None


class PriorityMatch(Body):
    household_uid: Id = Field(description="The member household matching the terms")
    rent_fen_per_mu_year: Fen = Field(description="At least the chosen rent. " + FEN_DOC)
    terms: OfferTerms = Field(description="The same term and use as the chosen offer")


class NewListing(Body):
    right_kind: RightKind
    right_uid: Id = Field(description="The contract, homestead or share holding")
    deal_kind: DealKind
    method: Method = Field(
        description="negotiated or bidding for a transfer; resolution for a paid exit"
    )
    plot_uids: list[Id] | None = Field(
        None, max_length=1000, description="Some plots of the contract; null: the whole"
    )
    shares: ExactNumber | None = Field(None, description="Some of the shares; null: all")
    asking_price_fen: Fen | None = Field(None, description="For bidding: the reserve")
    description: NoteText | None = None
    bid_deadline: datetime | None = Field(
        None,
        description="Bidding: when bids close (ISO 8601 with its offset, e.g. "
        "2027-01-10T17:00:00+08:00); after the cooling-off and notice periods",
    )
    bid_step_fen: Fen | None = Field(None, description="Bidding: the smallest raise, in fen")
    deposit_fen: Annotated[int, Field(ge=0, le=MAX_FEN - 1)] | None = Field(
        None, description="Bidding: the deposit (保证金) each bidder pays, in fen; 0 or null: none"
    )
    lease: NewLeaseTerms | None = Field(
        None,
        description='deal_kind "lease" (R05): the terms asked; the contract stays the holder\'s',
    )


class Declaration(Body):
    person_uid: Id | None = Field(
        None, description="Staff: the person who declared in person (a farmer: themself)"
    )
    paper_document_id: Id | None = Field(
        None, description="Staff: the signed paper form (a source document of the collective)"
    )


class ConsentDecision(Body):
    give: bool = Field(description="true: consents; false: refuses (the listing ends)")
    reason: Reason | None = None
    paper_document_id: Id | None = Field(
        None, description="Staff: the signed paper form of a decision witnessed in person"
    )


class Rejection(Body):
    reason: Reason


class NewOffer(Body):
    amount_fen: Fen = Field(description="The price; on a lease listing the rent per mu per year")
    household_uid: Id | None = Field(None, description="The buying household")
    person_uid: Id | None = Field(None, description="Shares: the buying member")
    terms: OfferTerms | None = Field(None, description="A lease listing: the term and use")
    lessee: NewOutsider | None = Field(
        None,
        description="A lease listing only: an outsider's offer, recorded by the collective's "
        "administrator on their behalf",
    )
    deposit_reference: CodeText | None = Field(
        None, description="Bidding: the payment reference of the deposit, when one is asked"
    )


class Decision(Body):
    approve: bool
    reason: Reason | None = Field(None, description="Required to reject")


class TownshipDecision(Decision):
    document_id: Id | None = Field(None, description="The township's written approval")


class BureauDecision(Decision):
    flag_decision: NoteText | None = Field(
        None, description="R14: the reasoned decision a flagged deal needs"
    )
    interviewed: bool | None = Field(
        None, description="R14: whether the holder was interviewed in person"
    )


class ContractBody(Body):
    signed_on: date
    contract_document_id: Id | None = Field(
        None,
        description="The signed contract; a lease of one year or less may have none (R05)",
    )
    payment_terms: NoteText


class ExitResolution(Body):
    price_fen: Fen = Field(description="The compensation the collective pays. " + FEN_DOC)
    resolution_document_id: Id = Field(description="The members' meeting resolution")
    votes_for: int = Field(ge=1, le=10**7 - 1)
    votes_cast: int = Field(ge=1, le=10**7 - 1)
    notice_given_on: date | None = Field(
        None, description="Land: the day the holder gave written notice (R06, six months ahead)"
    )
    improvements_fen: Annotated[int, Field(ge=0, le=MAX_FEN - 1)] | None = Field(
        None, description="Land: compensation for improvements, part of price_fen. " + FEN_DOC
    )


class PaymentBody(Body):
    how: Literal["confirmed", "escrow"] = Field(
        description="confirmed: the collective saw the money; escrow: held (资金监管) until "
        "registration"
    )
    reference: CodeText
    paid_on: date


# --- JSON of the records


def _utc(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def listing_json(listing: Listing, count: int) -> dict:
    return {
        "listing_id": listing.id,
        "collective_id": listing.collective_id,
        "right_kind": listing.right_kind,
        "right_uid": listing.right_uid,
        "deal_kind": listing.deal_kind,
        "method": listing.method,
        "household_uid": listing.household_uid,
        "person_uid": listing.person_uid,
        "plot_uids": json.loads(listing.plot_uids) if listing.plot_uids else None,
        "shares": fixed(listing.shares, 4),
        "asking_price_fen": listing.asking_price_fen,
        "description": listing.description,
        "bid_deadline": _utc(listing.bid_deadline),
        "bid_step_fen": listing.bid_step_fen,
        "deposit_fen": listing.deposit_fen,
        "state": listing.state,
        "state_label": states.state_label(listing.state),
        "declared_at": _utc(listing.declared_at),
        "cooling_off_ends_on": _day(listing.cooling_off_ends_on),
        "published_on": _day(listing.published_on),
        "notice_ends_on": _day(listing.notice_ends_on),
        "due_on": _day(queries.due_on(listing)),
        "offer_count": count,
        "lease": _lease_terms_json(listing),
        "created_by": listing.created_by,
        "created_at": _utc(listing.created_at),
    }


def _lease_terms_json(listing: Listing) -> dict | None:
    if listing.deal_kind != "lease":
        return None
    return {
        "method": listing.lease_method,
        "use": listing.lease_use,
        "starts_on": _day(listing.lease_starts_on),
        "ends_on": _day(listing.lease_ends_on),
        "rent_fen_per_mu_year": listing.rent_fen_per_mu_year,
        "payment_schedule": listing.payment_schedule,
        "priority_ends_on": _day(listing.priority_ends_on),
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _step_json(s: Step) -> dict:
    return {
        "action": s.action,
        "from_state": s.from_state,
        "to_state": s.to_state,
        "actor": s.actor,
        "actor_role": s.actor_role,
        "reason": s.reason,
        "document_id": s.document_id,
        "at": _utc(s.at),
    }


def _consent_json(c: Consent) -> dict:
    person = history.latest_version(Person, c.person_uid)
    return {
        "person_uid": c.person_uid,
        "name": person.name if person is not None else None,
        "role": c.role,
        "decision": c.decision,
        "mode": c.mode,
        "witnessed_by": c.witnessed_by,
        "paper_document_id": c.paper_document_id,
        "decided_by_person_uid": c.decided_by_person_uid,
        "decided_at": _utc(c.decided_at),
    }


def _sees_consents(listing: Listing) -> bool:
    """The holder's household and staff see who consented; other members do not."""
    return Role(current_user.role) != Role.FARMER or queries.is_own(current_user, listing)


def detail_json(listing: Listing) -> dict:
    deal = queries.deal_of(listing.id)
    consents = listings.consents_of(listing.id) if _sees_consents(listing) else []
    return {
        **listing_json(listing, queries.offer_counts([listing.id]).get(listing.id, 0)),
        "statement": listings.statement(listing),
        "steps": [_step_json(s) for s in listings.steps_of(listing.id)],
        "consents": [_consent_json(c) for c in consents],
        "transaction_id": deal.id if deal is not None else None,
        "priority": priority.evidence(listing),
    }


def offer_json(o: Offer) -> dict:
    return {
        "offer_id": o.id,
        "listing_id": o.listing_id,
        "collective_id": o.collective_id,
        "household_uid": o.household_uid,
        "person_uid": o.person_uid,
        "amount_fen": o.amount_fen,
        "deposit_fen": o.deposit_fen,
        "deposit_reference": o.deposit_reference,
        "state": o.state,
        "deposit_state": o.deposit_state,
        "lease": _offer_lease_json(o),
        "eligibility": json.loads(o.eligibility),
        "made_by": o.made_by,
        "made_at": _utc(o.made_at),
    }


def _offer_lease_json(o: Offer) -> dict | None:
    if o.lessee_kind is None:
        return None
    full = Role(current_user.role) in (Role.COLLECTIVE_ADMIN, Role.AUDITOR)
    number = o.lessee_id_number
    return {
        "lessee_kind": o.lessee_kind,
        "lessee_name": o.lessee_name,
        "lessee_id_number": number if full or number is None else mask_id_number(number),
        "lessee_uscc": o.lessee_uscc,
        "lessee_contact": o.lessee_contact if full else None,
        "starts_on": _day(o.lease_starts_on),
        "ends_on": _day(o.lease_ends_on),
        "use": o.lease_use,
        "matches_offer_id": o.matches_offer_id,
    }


def _terms(body: Any) -> lease_terms.Terms | None:
    if body is None:
        return None
    return lease_terms.Terms(body.starts_on, body.ends_on, body.use)


def transaction_json(deal: Deal) -> dict:
    listing = db.session.get(Listing, deal.listing_id)
    contract = None
    if deal.contract_signed_on is not None:
        contract = {
            "signed_on": deal.contract_signed_on.isoformat(),
            "document_id": deal.contract_document_id,
            "payment_terms": deal.payment_terms,
        }
    payment = None
    if deal.payment is not None:
        payment = {
            "how": deal.payment,
            "reference": deal.payment_reference,
            "paid_on": _day(deal.paid_on),
            "escrow_released_at": _utc(deal.escrow_released_at),
        }
    return {
        "transaction_id": deal.id,
        "listing_id": deal.listing_id,
        "collective_id": deal.collective_id,
        "right_kind": listing.right_kind,
        "right_uid": listing.right_uid,
        "deal_kind": listing.deal_kind,
        "state": listing.state,
        "state_label": states.state_label(listing.state),
        "offer_id": deal.offer_id,
        "buyer_household_uid": deal.buyer_household_uid,
        "buyer_person_uid": deal.buyer_person_uid,
        "price_fen": deal.price_fen,
        "resolution_document_id": deal.resolution_document_id,
        "votes_for": deal.votes_for,
        "votes_cast": deal.votes_cast,
        "notice_given_on": _day(deal.notice_given_on),
        "improvements_fen": deal.improvements_fen,
        "evidence": json.loads(deal.evidence) if deal.evidence else None,
        "flags": [str(f) for f in approvals.flags_of(listing, deal)],
        "flag_reviews": [
            {
                "flags": json.loads(review.flags),
                "approved": review.approved,
                "decision": review.decision,
                "interviewed": review.interviewed,
                "reviewer": review.reviewer,
                "decided_at": _utc(review.decided_at),
            }
            for review in approvals.flag_reviews(listing)
        ],
        "contract": contract,
        "payment": payment,
        "registered_on": _day(deal.registered_on),
        "registration": json.loads(deal.registration) if deal.registration else None,
        "attestation_number": deal.attestation_number,
    }


def _listing(listing_id: int) -> Listing:
    return queries.load_listing_or_404(current_user, listing_id)


def _deal(transaction_id: int) -> Deal:
    return queries.load_deal_or_404(current_user, transaction_id)


def _offer(offer_id: int) -> Offer:
    return queries.load_offer_or_404(current_user, offer_id)


def _listing_answer(listing_id: int, status: int = 200):
    """After the commit: the listing as the caller now sees it."""
    db.session.expire_all()
    response = jsonify(detail_json(db.session.get(Listing, listing_id)))
    response.status_code = status
    return response


def _transaction_answer(deal_id: int, status: int = 200):
    db.session.expire_all()
    response = jsonify(transaction_json(db.session.get(Deal, deal_id)))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_transaction", transaction_id=deal_id)
    return response


def _page(q: Any, limit: int, *, ascending: bool, cursor: int | None, column: Any) -> list:
    if cursor is not None:
        q = q.where(column > cursor if ascending else column < cursor)
    return list(db.session.scalars(q.limit(limit + 1)))


# --- listings


@bp.get("/listings")
@roles_required(*READERS)
@operation(
    "Listings the caller may see (a farmer: their own and their collective's published ones)",
    query=ListingsQuery,
    answer=Listings,
)
def list_listings(query: ListingsQuery):
    filters = queries.Filters(
        state=query.state,
        right_kind=query.right_kind,
        deal_kind=query.deal_kind,
        collective_id=query.collective_id,
        mine=query.mine,
    )
    q = queries.listings_query(current_user, filters)
    rows = _page(q, query.limit, ascending=False, cursor=query.cursor, column=Listing.id)
    page = page_of(rows, query.limit, key=lambda x: x.id)
    counts = queries.offer_counts([x.id for x in page["items"]])
    items = [listing_json(x, counts.get(x.id, 0)) for x in page["items"]]
    return jsonify({**page, "items": items})


@bp.get("/listings/queue")
@roles_required(*READERS)
@operation(
    "Listings waiting for the caller's step, with the day each is due",
    query=Paged,
    answer=ListingQueue,
)
def listing_queue(query: Paged):
    q = queries.queue_query(current_user)
    rows = _page(q, query.limit, ascending=True, cursor=query.cursor, column=Listing.id)
    page = page_of(rows, query.limit, key=lambda x: x.id)
    counts = queries.offer_counts([x.id for x in page["items"]])
    items = [listing_json(x, counts.get(x.id, 0)) for x in page["items"]]
    return jsonify({**page, "items": items})


@bp.post("/listings")
@roles_required(*ACTORS)
@operation(
    "Draft a listing of a right of the caller's household (staff: of their collective)",
    body=NewListing,
    answer=ListingDetail,
    status=201,
    refusals={404: "The right is not found or out of reach", 422: "A rule refused it"},
)
def create_listing(body: NewListing):
    shares = parse_shares(body.shares) if body.shares is not None else None
    listing = listings.create_listing(
        current_user,
        body.right_kind,
        body.right_uid,
        deal_kind=body.deal_kind,
        method=body.method,
        plot_uids=body.plot_uids,
        shares=shares,
        asking_price_fen=body.asking_price_fen,
        description=body.description,
        bid_deadline=body.bid_deadline,
        bid_step_fen=body.bid_step_fen,
        deposit_fen=body.deposit_fen,
        **(
            {
                "lease_method": body.lease.method,
                "lease_use": body.lease.use,
                "lease_starts_on": body.lease.starts_on,
                "lease_ends_on": body.lease.ends_on,
                "rent_fen_per_mu_year": body.lease.rent_fen_per_mu_year,
                "payment_schedule": body.lease.payment_schedule,
            }
            if body.lease is not None
            else {}
        ),
    )
    db.session.commit()
    response = _listing_answer(listing.id, 201)
    response.headers["Location"] = url_for("api.get_listing", listing_id=listing.id)
    return response


@bp.get("/listings/<int:listing_id>")
@roles_required(*READERS)
@operation(
    "A listing with its steps, consents, offer count and due date",
    answer=ListingDetail,
    refusals=_NOT_FOUND,
)
def get_listing(listing_id: int):
    return jsonify(detail_json(_listing(listing_id)))


@bp.post("/listings/<int:listing_id>/declaration")
@roles_required(*ACTORS)
@operation(
    "R13: the holder declares the listing voluntary and unrelated to settlement (staff only "
    "as witnessed in person, with the signed paper form); the cooling-off period starts",
    body=Declaration,
    body_optional=True,
    target=_listing,
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Not a draft, not the holder, or no paper form"},
)
def declare_listing(listing_id: int, target: Listing, body: Declaration):
    listings.declare(
        target.id,
        current_user,
        person_uid=body.person_uid,
        witnessed_paper_id=body.paper_document_id,
    )
    db.session.commit()
    return _listing_answer(target.id)


@bp.post("/listings/<int:listing_id>/consents/<int:person_uid>")
@roles_required(*ACTORS)
@operation(
    "R13: a co-holder gives or refuses consent (a minor's by the guardian; staff only as "
    "witnessed in person); a refusal ends the listing",
    body=ConsentDecision,
    target=lambda listing_id, person_uid: _listing(listing_id),
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Not awaited, not this person's to decide, or no paper form"},
)
def decide_consent(listing_id: int, person_uid: int, target: Listing, body: ConsentDecision):
    listings.decide_consent(
        target.id,
        person_uid,
        current_user,
        give=body.give,
        reason=body.reason,
        witnessed_paper_id=body.paper_document_id,
    )
    db.session.commit()
    return _listing_answer(target.id)


@bp.post("/listings/<int:listing_id>/publication")
@roles_required(*ADMIN)
@operation(
    "The collective checks title and publishes the listing to its members",
    target=_listing,
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Not ready, or the title check refused it"},
)
def publish_listing(listing_id: int, target: Listing):
    listings.publish(target.id, current_user)
    db.session.commit()
    return _listing_answer(target.id)


@bp.post("/listings/<int:listing_id>/withdrawal")
@roles_required(*ACTORS)
@operation(
    "R13: the holder withdraws, without a reason, until the contract is signed; the right "
    "is free again",
    target=_listing,
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Already ended, or the contract is signed"},
)
def withdraw_listing(listing_id: int, target: Listing):
    listings.withdraw(target.id, current_user)
    db.session.commit()
    return _listing_answer(target.id)


@bp.post("/listings/<int:listing_id>/rejection")
@roles_required(*ADMIN)
@operation(
    "The collective rejects the listing with a reason (at its title check, while published, "
    "or at its own later steps); the right is free again",
    body=Rejection,
    target=_listing,
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Not at a step the collective may reject, or no reason"},
)
def reject_listing(listing_id: int, target: Listing, body: Rejection):
    listings.reject(target.id, current_user, reason=body.reason)
    db.session.commit()
    return _listing_answer(target.id)


@bp.post("/listings/<int:listing_id>/bidding-close")
@roles_required(*ADMIN)
@operation(
    "Close the bidding after its deadline: the highest valid bid wins (ties to the earliest), "
    "its household checked on the roll again today; with no valid bid the listing ends",
    target=_listing,
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Not a bidding listing, or its deadline has not passed"},
)
def close_bidding(listing_id: int, target: Listing):
    bidding.close_bidding(target.id, current_user)
    db.session.commit()
    return _listing_answer(target.id)


@bp.post("/listings/<int:listing_id>/lapse")
@roles_required(*ADMIN)
@operation(
    "End a negotiated listing whose notice period is over with no open offer; the right is free",
    target=_listing,
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Its notice period runs, or offers are open"},
)
def lapse_listing(listing_id: int, target: Listing):
    bidding.lapse_if_unsold(target.id, current_user)
    db.session.commit()
    return _listing_answer(target.id)


# --- offers


@bp.get("/listings/<int:listing_id>/offers")
@roles_required(*READERS)
@operation(
    "Offers on a listing: all of them for the holder, staff and the bureau; a member's own only",
    query=Paged,
    target=_listing,
    answer=MarketOffers,
    refusals=_NOT_FOUND,
)
def list_offers(listing_id: int, target: Listing, query: Paged):
    q = queries.offers_query(current_user, target.id)
    rows = _page(q, query.limit, ascending=True, cursor=query.cursor, column=Offer.id)
    page = page_of(rows, query.limit, key=lambda x: x.id)
    return jsonify({**page, "items": [offer_json(o) for o in page["items"]]})


@bp.post("/listings/<int:listing_id>/offers")
@roles_required(*ACTORS)
@operation(
    "An eligible member household (or member) offers on a published listing; eligibility is "
    "checked on the roll today and stored (R03/R09/R10/R11/R15)",
    body=NewOffer,
    target=_listing,
    answer=MarketOffer,
    status=201,
    refusals={**_NOT_FOUND, 422: "Not open for offers, or the buyer may not take this right"},
)
def make_offer(listing_id: int, target: Listing, body: NewOffer):
    offer = offers.make_offer(
        target.id,
        current_user,
        amount_fen=body.amount_fen,
        household_uid=body.household_uid,
        person_uid=body.person_uid,
        deposit_reference=body.deposit_reference,
        terms=_terms(body.terms),
        outsider=lease_terms.Outsider(
            body.lessee.kind,
            body.lessee.name,
            body.lessee.id_number,
            body.lessee.uscc,
            body.lessee.contact,
        )
        if body.lessee is not None
        else None,
    )
    db.session.commit()
    response = jsonify(offer_json(offer))
    response.status_code = 201
    return response


@bp.post("/offers/<int:offer_id>/acceptance")
@roles_required(*ACTORS)
@operation(
    "The holder accepts an offer after the cooling-off period; the buyer is checked again "
    "today (R15) and the transaction begins",
    target=_offer,
    answer=Transaction,
    status=201,
    refusals={**_NOT_FOUND, 422: "Cooling-off, not open, or the buyer no longer eligible"},
)
def accept_offer(offer_id: int, target: Offer):
    if target.lessee_kind in lease_terms.OUTSIDE_KINDS:
        raise DomainError(
            "outsider_choice",
            _(
                "An offer from outside the collective is chosen, not accepted: members may "
                "match its terms first."
            ),
        )
    deal = offers.accept_offer(target.listing_id, target.id, current_user)
    db.session.commit()
    assert deal is not None
    return _transaction_answer(deal.id, 201)


@bp.post("/offers/<int:offer_id>/choice")
@roles_required(*ACTORS)
@operation(
    "R05: the holder of a lease listing chooses an outsider's offer after the cooling-off "
    "period; the members' priority period opens and the collective's members are told its "
    "terms",
    target=_offer,
    answer=ListingDetail,
    refusals={**_NOT_FOUND, 422: "Cooling-off, not open, or not an outsider's offer"},
)
def choose_offer(offer_id: int, target: Offer):
    if target.lessee_kind not in lease_terms.OUTSIDE_KINDS:
        raise DomainError(
            "member_offer",
            _("A member household's offer is accepted: members' priority is only for outsiders."),
        )
    offers.accept_offer(target.listing_id, target.id, current_user)
    db.session.commit()
    return _listing_answer(target.listing_id)


@bp.post("/listings/<int:listing_id>/priority-match")
@roles_required(*ACTORS)
@operation(
    "R05: a member household matches the outsider's chosen terms in the priority period (the "
    "same rent or higher, the same term and use) and takes the lease; the first valid match "
    "wins",
    body=PriorityMatch,
    target=_listing,
    answer=Transaction,
    status=201,
    refusals={**_NOT_FOUND, 422: "Not in the priority period, not a member, or not matching"},
)
def priority_match(listing_id: int, target: Listing, body: PriorityMatch):
    deal = leasing.match(
        target.id,
        current_user,
        household_uid=body.household_uid,
        amount_fen=body.rent_fen_per_mu_year,
        terms=_terms(body.terms),
    )
    db.session.commit()
    return _transaction_answer(deal.id, 201)


@bp.post("/listings/<int:listing_id>/outsider-confirmation")
@roles_required(*ADMIN)
@operation(
    "R05: the members' priority period ended without a match; the outsider whose offer the "
    "holder chose takes the lease (the scheduled tick does it too)",
    target=_listing,
    answer=Transaction,
    status=201,
    refusals={**_NOT_FOUND, 422: "The period still runs, or no outsider's offer was chosen"},
)
def confirm_outsider(listing_id: int, target: Listing):
    deal = leasing.confirm_outsider(target.id, current_user)
    db.session.commit()
    return _transaction_answer(deal.id, 201)


# --- transactions


@bp.get("/transactions")
@roles_required(*READERS)
@operation(
    "Transactions the caller may see (a farmer: those they are a party to)",
    query=TransactionsQuery,
    answer=Transactions,
)
def list_transactions(query: TransactionsQuery):
    q = queries.deals_query(current_user)
    if query.collective_id is not None:
        q = q.where(Deal.collective_id == query.collective_id)
    if query.state is not None:
        q = q.where(Deal.listing_id.in_(select(Listing.id).where(Listing.state == query.state)))
    rows = _page(q, query.limit, ascending=False, cursor=query.cursor, column=Deal.id)
    page = page_of(rows, query.limit, key=lambda x: x.id)
    return jsonify({**page, "items": [transaction_json(d) for d in page["items"]]})


@bp.get("/transactions/<int:transaction_id>")
@roles_required(*READERS)
@operation(
    "A transaction: price, buyer, evidence, contract, payment, registration",
    answer=Transaction,
    refusals=_NOT_FOUND,
)
def get_transaction(transaction_id: int):
    return jsonify(transaction_json(_deal(transaction_id)))


@bp.post("/transactions/<int:transaction_id>/collective-consent")
@roles_required(*ADMIN)
@operation(
    "发包方 consent (R03) or rejection with a reason",
    body=Decision,
    target=_deal,
    answer=Transaction,
    refusals={**_NOT_FOUND, 422: "Not waiting for the collective, or no reason to reject"},
)
def collective_consent(transaction_id: int, target: Deal, body: Decision):
    approvals.collective_consent(
        target.listing_id, current_user, approve=body.approve, reason=body.reason
    )
    db.session.commit()
    return _transaction_answer(target.id)


@bp.post("/transactions/<int:transaction_id>/township-approval")
@roles_required(*ADMIN)
@operation(
    "The township's approval of a homestead transfer (its written approval attached), or "
    "rejection with a reason",
    body=TownshipDecision,
    target=_deal,
    answer=Transaction,
    refusals={**_NOT_FOUND, 422: "Not waiting for the township, or no document or reason"},
)
def township_approval(transaction_id: int, target: Deal, body: TownshipDecision):
    approvals.township_approval(
        target.listing_id,
        current_user,
        approve=body.approve,
        reason=body.reason,
        document_id=body.document_id,
    )
    db.session.commit()
    return _transaction_answer(target.id)


@bp.post("/transactions/<int:transaction_id>/bureau-review")
@roles_required(Role.BUREAU_REVIEWER)
@operation(
    "The county bureau approves or rejects with a reason; a flagged deal (R14) needs the "
    "reviewer's decision and whether the holder was interviewed",
    body=BureauDecision,
    target=_deal,
    answer=Transaction,
    refusals={**_NOT_FOUND, 422: "Not in review, no reason, or a flag not decided"},
)
def bureau_review(transaction_id: int, target: Deal, body: BureauDecision):
    approvals.bureau_review(
        target.listing_id,
        current_user,
        approve=body.approve,
        reason=body.reason,
        flag_decision=body.flag_decision,
        interviewed=body.interviewed,
    )
    db.session.commit()
    return _transaction_answer(target.id)


@bp.post("/transactions/<int:transaction_id>/contract")
@roles_required(*ADMIN)
@operation(
    "Record the signed contract (model text, price, payment terms); the holder can no longer "
    "withdraw",
    body=ContractBody,
    target=_deal,
    answer=Transaction,
    refusals={**_NOT_FOUND, 422: "Not at contracting, a future date, or no document"},
)
def record_contract(transaction_id: int, target: Deal, body: ContractBody):
    approvals.record_contract(
        target.listing_id,
        current_user,
        signed_on=body.signed_on,
        contract_document_id=body.contract_document_id,
        payment_terms=body.payment_terms,
    )
    db.session.commit()
    return _transaction_answer(target.id)


@bp.post("/transactions/<int:transaction_id>/payment")
@roles_required(*ADMIN)
@operation(
    "Record the payment: confirmed with the bank's reference, or held in escrow",
    body=PaymentBody,
    target=_deal,
    answer=Transaction,
    refusals={**_NOT_FOUND, 422: "No contract yet, a future date, or no reference"},
)
def record_payment(transaction_id: int, target: Deal, body: PaymentBody):
    approvals.record_payment(
        target.listing_id,
        current_user,
        how=body.how,
        reference=body.reference,
        paid_on=body.paid_on,
    )
    db.session.commit()
    return _transaction_answer(target.id)


@bp.post("/transactions/<int:transaction_id>/registration")
@roles_required(*ADMIN)
@operation(
    "Register the deal: the right changes hands in the registry in one transaction, the "
    "attestation number is issued; safe to retry",
    target=_deal,
    answer=Transaction,
    refusals={**_NOT_FOUND, 422: "No contract or payment yet, or a rule refused it today"},
)
def register_transaction(transaction_id: int, target: Deal):
    registration.register(target.listing_id, current_user)
    db.session.commit()
    return _transaction_answer(target.id)


@bp.get("/transactions/<int:transaction_id>/attestation")
@roles_required(*READERS)
@operation(
    "The transaction attestation (鉴证书) of a registered deal",
    target=_deal,
    answer=TransactionAttestation,
    refusals={**_NOT_FOUND, 422: "Not registered yet"},
)
def get_attestation(transaction_id: int, target: Deal):
    found = attestation.attestation_of(db.session.get(Listing, target.listing_id))
    return jsonify(
        {
            **{k: v for k, v in vars(found).items() if k != "approvals"},
            "contract_signed_on": _day(found.contract_signed_on),
            "registered_on": found.registered_on.isoformat(),
            "approvals": [
                {"what": a.what, "by": a.by, "on": a.on.isoformat()} for a in found.approvals
            ],
        }
    )


@bp.post("/listings/<int:listing_id>/exit-resolution")
@roles_required(*ADMIN)
@operation(
    "Paid exit: the collective records the members' resolution and the price after the "
    "cooling-off; the transaction begins",
    body=ExitResolution,
    target=_listing,
    answer=Transaction,
    status=201,
    refusals={**_NOT_FOUND, 422: "Not a ready paid exit, cooling-off, or the vote did not pass"},
)
def record_exit_resolution(listing_id: int, target: Listing, body: ExitResolution):
    deal = exits.record_exit_resolution(
        target.id,
        current_user,
        price_fen=body.price_fen,
        resolution_document_id=body.resolution_document_id,
        votes_for=body.votes_for,
        votes_cast=body.votes_cast,
        notice_given_on=body.notice_given_on,
        improvements_fen=body.improvements_fen,
    )
    db.session.commit()
    return _transaction_answer(deal.id, 201)
