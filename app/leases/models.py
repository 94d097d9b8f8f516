"""Leases of the land-management right (土地经营权流转, R05; issue 14 parts 1–4 and 7).

A lease (出租, 转包), a contribution as shares (入股) or another transfer of the 经营权 creates a
right on some plots of a household's contract, held by anyone: a member household, a person or
household of another collective, a cooperative or a company (with its USCC). The contract stays
with the household: a lease is a layer on top of the contract, never a new version of it.

Rows are written through ``app.leases.services`` only, so the audit trail records them (R16).
What happened to a lease is a fact of its own, written once: its qualification review
(``LeaseQualification``), each payment (``LeasePayment``), its ending (``LeaseEnding``). The lease
row itself changes only its ``state`` (bumping ``row_version``: two requests that read the same
state cannot both act on it). Money is exact: whole fen (分) in BIGINT columns.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
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
from app.registry.models import OfCollective, OfHousehold

#: Who takes the land (受让方 / 流入方).
LESSEE_KINDS = (
    "member_household",  # a household of the same collective
    "member_person",  # a member of the same collective, in their own name
    "outside_person",  # a person of another collective or a town resident
    "outside_household",  # a farming household of another collective
    "cooperative",  # 农民专业合作社 (USCC)
    "company",  # 工商企业 and other businesses (USCC): the qualification review may apply
    "other_org",  # another organisation (USCC)
)
#: 流转方式 (NY/T 2539 LZFS).
METHODS = ("lease", "subcontract", "shares", "other")
#: How the lease came about.
CHANNELS = ("direct", "market", "entrusted", "sublease")
#: draft is never stored: a lease is recorded whole.
STATES = ("awaiting_qualification", "in_force", "refused", "ended")


class Lease(OfHousehold, db.Model):
    """One lease of the 经营权 on some plots of one contract (流转合同, NY/T 2539 LZHT)."""

    __tablename__ = "lease"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    #: 流转合同编码 (LZHTBM): the contract's CBHTBM-based number, unique.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    #: The holder's contract and household (出让方, the contract stays theirs).
    contract_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    household_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    #: A re-lease by the lessee (再流转) names the lease it is carved from.
    parent_lease_id: Mapped[int | None] = mapped_column(ForeignKey("lease.id"), index=True)
    #: A lease made by the collective on households' behalf (委托流转).
    entrusted_lease_id: Mapped[int | None] = mapped_column(
        ForeignKey("entrusted_lease.id"), index=True
    )
    method: Mapped[str] = mapped_column(String(12))  # METHODS
    channel: Mapped[str] = mapped_column(String(12))  # CHANNELS
    # The lessee (LESSEE_KINDS). A member is named by uid; anyone else by name and number.
    lessee_kind: Mapped[str] = mapped_column(String(20))
    lessee_name: Mapped[str] = mapped_column(String(120))
    lessee_household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    lessee_person_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    #: A natural person's ID number (personal data: masked for roles that do not need it).
    lessee_id_number: Mapped[str | None] = mapped_column(String(18))
    #: 统一社会信用代码 of a cooperative, company or other organisation.
    lessee_uscc: Mapped[str | None] = mapped_column(String(18))
    lessee_contact: Mapped[str | None] = mapped_column(String(120))
    # Terms. The use is agricultural (R05): one of services.USES.
    use: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    #: The plots' contract area at the lease's start, m² (the plots are in ``LeasePlot``).
    area_m2: Mapped[float] = mapped_column(Float)
    #: Rent per 亩 per year in fen, and the year's rent for the whole area (exact, rounded once).
    rent_fen_per_mu_year: Mapped[int] = mapped_column(BigInteger)
    rent_fen_per_year: Mapped[int] = mapped_column(BigInteger)
    # annual / semiannual / once (the whole term paid at the start)
    payment_schedule: Mapped[str] = mapped_column(String(12))
    #: The written contract (the ministry's model text); may be absent for one year or less.
    contract_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    #: Filed (备案) with the 发包方: when and by whom.
    filed_on: Mapped[date] = mapped_column(Date)
    filed_by: Mapped[str] = mapped_column(String(64))
    #: Leases of five years or more may be registered (登记): the registration's date.
    registered_on: Mapped[date | None] = mapped_column(Date)
    #: A re-lease needs the holder's written consent (the document).
    holder_consent_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    #: The members' priority on equal terms (R05): canonical JSON of who was offered what and
    #: what they decided, or of the notice to members that no member answered; None when the
    #: lessee is a member.
    priority_evidence: Mapped[str | None] = mapped_column(Text)
    #: Above the county's threshold, a business's lease waits for the bureau's review.
    needs_qualification: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(24))  # STATES
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        CheckConstraint("ends_on > starts_on", name="dates"),
        CheckConstraint("rent_fen_per_mu_year >= 0 AND rent_fen_per_year >= 0", name="rent"),
        CheckConstraint(
            "state IN ('awaiting_qualification', 'in_force', 'refused', 'ended')", name="state"
        ),
        Index("ix_lease_state", "collective_id", "state"),
    )


class LeasePlot(OfCollective, db.Model):
    """A plot of the lease, with its contract area when the lease began."""

    __tablename__ = "lease_plot"

    id: Mapped[int] = mapped_column(primary_key=True)
    lease_id: Mapped[int] = mapped_column(ForeignKey("lease.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    plot_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"), index=True)
    area_m2: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("lease_id", "plot_uid"),)


class LeaseInstalment(OfCollective, db.Model):
    """A rent instalment due (the payment schedule, fixed when the lease is recorded)."""

    __tablename__ = "lease_instalment"

    id: Mapped[int] = mapped_column(primary_key=True)
    lease_id: Mapped[int] = mapped_column(ForeignKey("lease.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    due_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount"),)


class LeasePayment(OfCollective, db.Model):
    """Rent received (written once; a correction is a payment of its own with a reason)."""

    __tablename__ = "lease_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    lease_id: Mapped[int] = mapped_column(ForeignKey("lease.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    paid_on: Mapped[date] = mapped_column(Date)
    #: Negative only for a correction of an earlier payment.
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LeaseQualification(OfCollective, db.Model):
    """The bureau's qualification review of a business taking land above the county's
    threshold (资格审查, 流转管理办法 Art. 29): written once, before the lease takes effect."""

    __tablename__ = "lease_qualification"

    id: Mapped[int] = mapped_column(primary_key=True)
    lease_id: Mapped[int] = mapped_column(ForeignKey("lease.id"), unique=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    # approve / reject
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_on: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (CheckConstraint("decision IN ('approve', 'reject')", name="decision"),)


class LeaseEnding(OfCollective, db.Model):
    """How a lease ended (written once): at expiry, early by agreement, or for breach (such as
    non-agricultural use), with the reason and document. The lessee's layer ends that day."""

    __tablename__ = "lease_ending"

    id: Mapped[int] = mapped_column(primary_key=True)
    lease_id: Mapped[int] = mapped_column(ForeignKey("lease.id"), unique=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    # expiry / agreement / breach
    kind: Mapped[str] = mapped_column(String(10))
    ended_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (CheckConstraint("kind IN ('expiry', 'agreement', 'breach')", name="kind"),)


class EntrustedLease(OfCollective, db.Model):
    """委托流转: the collective leases many households' plots to one lessee on their behalf.

    Only plots whose household gave a written mandate (``LeaseMandate``) are leased: one
    ``Lease`` per household (channel ``entrusted``); a missing mandate blocks that household's
    plots, not the whole lease."""

    __tablename__ = "entrusted_lease"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(12))
    lessee_kind: Mapped[str] = mapped_column(String(20))
    lessee_name: Mapped[str] = mapped_column(String(120))
    lessee_household_uid: Mapped[int | None] = mapped_column(ForeignKey("registry_object.id"))
    lessee_id_number: Mapped[str | None] = mapped_column(String(18))
    lessee_uscc: Mapped[str | None] = mapped_column(String(18))
    lessee_contact: Mapped[str | None] = mapped_column(String(120))
    use: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    rent_fen_per_mu_year: Mapped[int] = mapped_column(BigInteger)
    payment_schedule: Mapped[str] = mapped_column(String(12))
    contract_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    priority_evidence: Mapped[str | None] = mapped_column(Text)
    # open (collecting mandates) / concluded (leases made) / abandoned
    state: Mapped[str] = mapped_column(String(12), default="open")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (CheckConstraint("ends_on > starts_on", name="dates"),)


class LeaseMandate(OfCollective, db.Model):
    """A household's written mandate (委托书) for some of its plots in an entrusted lease."""

    __tablename__ = "lease_mandate"

    id: Mapped[int] = mapped_column(primary_key=True)
    entrusted_lease_id: Mapped[int] = mapped_column(ForeignKey("entrusted_lease.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collective.id"))
    household_uid: Mapped[int] = mapped_column(ForeignKey("registry_object.id"))
    #: Canonical JSON list of the plot uids the household entrusts.
    plot_uids: Mapped[str] = mapped_column(Text)
    #: The signed mandate; None while the household is only asked (the plots stay blocked).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    given_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("entrusted_lease_id", "household_uid"),)
