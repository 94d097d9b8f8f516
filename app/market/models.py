"""The marketplace's records (DOMAIN §6): listings, the people's declaration and consents, offers,
the deal, and every step taken.

Money is exact: whole fen (分) in BIGINT columns. A listing names the right by its stable uid and,
for part of a right, the plots or the number of shares. While a listing is open it holds its
right: a partial unique index lets a right be in at most one open listing, whatever two requests
do at once. Every row is written through the services, so the audit trail records it (R16).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import utcnow
from app.extensions import db
from app.market.states import OPEN
from app.registry.models import SHARES, OfCollective

_OPEN_STATES = ", ".join(f"'{s}'" for s in sorted(OPEN))


class Listing(OfCollective, db.Model):
    """A right (or part of it) offered for transfer to a member, or for paid exit to the
    collective."""

    __tablename__ = "market_listing"
    #: Members of the collective see its listings (the market is theirs).
    __farmer_visible__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    # land_contract / homestead / share_holding
    right_kind: Mapped[str] = mapped_column(String(20))
    right_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    # transfer (to a member household or person) / paid_exit (to the collective)
    deal_kind: Mapped[str] = mapped_column(String(16))
    # negotiated (the holder picks an offer) / bidding (highest valid bid) / resolution (exit)
    method: Mapped[str] = mapped_column(String(16))
    #: The selling household (land, homestead, a household's shares) or person (own shares).
    household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    #: Part of a contract: canonical JSON list of plot uids; None for the whole contract.
    plot_uids: Mapped[str | None] = mapped_column(Text)
    #: Part of a holding: how many shares; None for the whole holding.
    shares: Mapped[Decimal | None] = mapped_column(SHARES)
    asking_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)
    # bidding
    bid_deadline: Mapped[datetime | None] = mapped_column(DateTime)
    bid_step_fen: Mapped[int | None] = mapped_column(BigInteger)
    deposit_fen: Mapped[int | None] = mapped_column(BigInteger)
    # A lease of the land-management right (deal_kind "lease", R05): the terms the holder asks.
    # The contract stays the holder's; the lessee is found among offers (members and outsiders).
    lease_method: Mapped[str | None] = mapped_column(String(12))  # leases.models.METHODS
    lease_use: Mapped[str | None] = mapped_column(String(16))  # leases.services.USES
    lease_starts_on: Mapped[date | None] = mapped_column(Date)
    lease_ends_on: Mapped[date | None] = mapped_column(Date)
    rent_fen_per_mu_year: Mapped[int | None] = mapped_column(BigInteger)
    payment_schedule: Mapped[str | None] = mapped_column(String(12))  # annual/semiannual/once
    #: The last day of the members' priority period (an outsider's offer was chosen).
    priority_ends_on: Mapped[date | None] = mapped_column(Date)

    state: Mapped[str] = mapped_column(String(24), default="draft")
    declared_at: Mapped[datetime | None] = mapped_column(DateTime)
    cooling_off_ends_on: Mapped[date | None] = mapped_column(Date)
    published_on: Mapped[date | None] = mapped_column(Date)
    notice_ends_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: Bumped on every change: two requests that read the same state cannot both act on it.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        # One open listing per right object, enforced by the database (issue 12 §4).
        Index(
            "uq_market_listing_open_right",
            "right_uid",
            unique=True,
            sqlite_where=db.text(f"state IN ({_OPEN_STATES})"),
            postgresql_where=db.text(f"state IN ({_OPEN_STATES})"),
        ),
        Index("ix_market_listing_state", "collective_id", "state"),
    )


class Consent(OfCollective, db.Model):
    """The holder's declaration (R13) or a co-holder's consent: by the person, logged in, or
    witnessed in person by staff with the signed paper form attached."""

    __tablename__ = "market_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("market_listing.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    #: Whose will it records: the holder or an adult co-holder; for a minor, the minor.
    person_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"))
    # holder / co_holder
    role: Mapped[str] = mapped_column(String(12))
    #: Who decided: the person, or the guardian for a minor.
    decided_by_person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    # pending / given / refused
    decision: Mapped[str] = mapped_column(String(8), default="pending")
    # self (logged in as the farmer) / witnessed (staff, paper form attached)
    mode: Mapped[str | None] = mapped_column(String(10))
    witnessed_by: Mapped[str | None] = mapped_column(String(64))
    paper_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    #: What the person was shown before deciding (what they keep, what they give up), and its hash.
    statement: Mapped[str | None] = mapped_column(Text)
    statement_sha256: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("listing_id", "person_uid"),)


class Offer(OfCollective, db.Model):
    """A member household's (or member's) offer or bid, with the eligibility check it passed.

    On a lease listing an offer carries its terms (``amount_fen`` is the rent per 亩 per year,
    the term and the use) and may come from outside the collective: a person or household of
    another collective, a cooperative or a company, recorded by the collective's administrator
    (they have no login) with their ID number or USCC."""

    __tablename__ = "market_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("market_listing.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    deposit_fen: Mapped[int | None] = mapped_column(BigInteger)
    deposit_reference: Mapped[str | None] = mapped_column(String(64))
    #: What became of the deposit: held (bidding runs) / applied (the winner's: counts toward the
    #: price) / refund (to be paid back: lost, superseded or passed over); None without one.
    deposit_state: Mapped[str | None] = mapped_column(String(10))
    # active / withdrawn / accepted / declined / lost / superseded (a bidder's own raised bid)
    state: Mapped[str] = mapped_column(String(10), default="active")
    #: Canonical JSON: the membership rows and versions, homesteads, share totals checked (R15).
    eligibility: Mapped[str] = mapped_column(Text)
    made_by: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Lease listings only: who would take the land (leases.models.LESSEE_KINDS) and the terms.
    lessee_kind: Mapped[str | None] = mapped_column(String(20))
    lessee_name: Mapped[str | None] = mapped_column(String(120))
    #: An outside person's (or household head's) ID number: masked for roles not needing it.
    lessee_id_number: Mapped[str | None] = mapped_column(String(18))
    lessee_uscc: Mapped[str | None] = mapped_column(String(18))
    lessee_contact: Mapped[str | None] = mapped_column(String(120))
    lease_starts_on: Mapped[date | None] = mapped_column(Date)
    lease_ends_on: Mapped[date | None] = mapped_column(Date)
    lease_use: Mapped[str | None] = mapped_column(String(16))
    #: A member's offer matching an outsider's chosen terms in the priority period.
    matches_offer_id: Mapped[int | None] = mapped_column(ForeignKey("market_offer.id"))


class MembersPriority(OfCollective, db.Model):
    """Members' priority on equal terms (R05, 承包法 Art. 38): an outsider's offer the holder
    chose, shown to the collective's members for LEASE_PRIORITY_DAYS; who was told, what they
    were offered, and the decision (a member matched, or the outsider confirmed). One per
    listing. Its JSON is the ``priority_evidence`` handed to the lease's record."""

    __tablename__ = "market_priority"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("market_listing.id"), unique=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    #: The outsider's offer the holder chose.
    offer_id: Mapped[int] = mapped_column(ForeignKey("market_offer.id"))
    #: Canonical JSON of the terms members were offered (rent, start, end, use, method, area).
    terms: Mapped[str] = mapped_column(Text)
    #: Canonical JSON list of the member households told (and their accounts notified).
    told: Mapped[str] = mapped_column(Text)
    opened_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # None while the period runs; member_matched / outsider_confirmed
    decision: Mapped[str | None] = mapped_column(String(20))
    matched_offer_id: Mapped[int | None] = mapped_column(ForeignKey("market_offer.id"))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))


class Deal(OfCollective, db.Model):
    """The transaction once a buyer is found (or the collective resolved to buy back): the
    contract, the money and the registration, with the evidence of the day of the deal."""

    __tablename__ = "market_deal"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("market_listing.id"), unique=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("market_offer.id"), unique=True)
    #: None for a paid exit: the collective is the buyer.
    buyer_household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    buyer_person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    # exit: the members' meeting resolution that set the price
    resolution_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    votes_for: Mapped[int | None] = mapped_column(Integer)
    votes_cast: Mapped[int | None] = mapped_column(Integer)
    # the contract (model text, price, payment terms)
    contract_signed_on: Mapped[date | None] = mapped_column(Date)
    contract_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    payment_terms: Mapped[str | None] = mapped_column(Text)
    # confirmed (the collective saw the payment) / escrow (资金监管, released at registration)
    payment: Mapped[str | None] = mapped_column(String(10))
    payment_reference: Mapped[str | None] = mapped_column(String(64))
    paid_on: Mapped[date | None] = mapped_column(Date)
    escrow_released_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Canonical JSON: what the day-of-deal eligibility check read (R15).
    evidence: Mapped[str | None] = mapped_column(Text)
    # a paid exit of land: the written notice (six months ahead, R06) and the improvements'
    # compensation (part of the price)
    notice_given_on: Mapped[date | None] = mapped_column(Date)
    improvements_fen: Mapped[int | None] = mapped_column(BigInteger)
    registered_on: Mapped[date | None] = mapped_column(Date)
    #: Canonical JSON: what registration did (versions ended and begun, certificates).
    registration: Mapped[str | None] = mapped_column(Text)
    attestation_number: Mapped[str | None] = mapped_column(String(40), unique=True)


class Step(OfCollective, db.Model):
    """One transition of a listing: from, to, by whom, when, why (the listing's own history)."""

    __tablename__ = "market_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("market_listing.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FlagReview(OfCollective, db.Model):
    """R14: the bureau reviewer's reasoned decision on a flagged deal, written with the approval
    or rejection it came with (same transaction, audited). Only ever added."""

    __tablename__ = "market_flag_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("market_listing.id"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("market_deal.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    #: JSON list of the plain reasons the reviewer was shown (in the words they read).
    flags: Mapped[str] = mapped_column(Text)
    #: The reviewer's decision on the flags, with its reason.
    decision: Mapped[str] = mapped_column(Text)
    #: Whether the holder was interviewed in person; None only for a rejection that did not say.
    interviewed: Mapped[bool | None] = mapped_column(Boolean)
    #: The bureau approved the deal (True) or rejected it (False) with this review.
    approved: Mapped[bool] = mapped_column(Boolean)
    reviewer: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
