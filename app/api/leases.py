"""JSON API for leases of the land-management right (R02, R05; issue 14).

The rules live in ``app.leases.services``; these endpoints translate JSON to those calls and
back and commit once. Another collective's lease, contract or plot is a 404. A natural person's
ID number is shown in full only to the lease's collective administrator and to auditors.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from flask import abort, jsonify, url_for
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from app.api import bp
from app.api.fields import CodeText, Id, NoteText, Page, Paged, QueryId, Reason, page_of
from app.api.schema import Answer, Body, operation
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, readable, roles_required
from app.core.calendar import county_today
from app.core.codes import mask_id_number
from app.extensions import db
from app.leases import services
from app.leases.models import Lease
from app.registry.lookup import load_current_or_404
from app.registry.models import LandContract

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
_NOT_FOUND = {404: "Not found or out of reach"}
LesseeKind = Literal[
    "member_household",
    "member_person",
    "outside_person",
    "outside_household",
    "cooperative",
    "company",
    "other_org",
]
Use = Literal[
    "grain",
    "cash_crops",
    "vegetables",
    "fruit_tea",
    "seedlings",
    "aquaculture",
    "livestock",
    "other_farming",
]
Method = Literal["lease", "subcontract", "shares", "other"]
Channel = Literal["direct", "market", "entrusted", "sublease"]
Schedule = Literal["annual", "semiannual", "once"]
State = Literal["awaiting_qualification", "in_force", "refused", "ended"]
#: Bounds the API checks before the service (which checks them again, in words).
MaxFen = Field(ge=-(10**13), le=10**13)


class LesseeIn(Body):
    kind: LesseeKind
    name: str = Field("", max_length=120, description="Outsiders: the person's or body's name")
    household_uid: Id | None = Field(None, description="member_household: the household")
    person_uid: Id | None = Field(None, description="member_person: the member")
    id_number: CodeText | None = Field(None, description="outside_person/household: ID number")
    uscc: CodeText | None = Field(None, description="cooperative/company/other_org: USCC")
    contact: CodeText | None = None


class PriorityNotice(Body):
    notice_document_id: Id = Field(description="The notice to members (a source document)")
    notice_from: date = Field(description="The notice's first day")


class LeaseNew(Body):
    collective_id: Id
    contract_uid: Id
    plot_uids: list[Id] = Field(min_length=1, max_length=200)
    lessee: LesseeIn
    method: Method
    use: Use = Field(description="Agricultural uses only (R05)")
    starts_on: date
    ends_on: date
    rent_fen_per_mu_year: int = Field(ge=0, le=10**9, description="Rent per mu per year, fen")
    payment_schedule: Schedule
    contract_document_id: Id | None = Field(None, description="Required beyond one year (R05)")
    channel: Literal["direct", "sublease"] = "direct"
    parent_lease_id: Id | None = Field(None, description="sublease: the lease re-leased")
    holder_consent_document_id: Id | None = Field(None, description="sublease: the consent")
    priority_notice: PriorityNotice | None = Field(
        None, description="An outsider's lease: the notice to members (R05 priority)"
    )
    registration: bool = Field(False, description="Register the lease (five years or more)")
    note: NoteText | None = None


class PaymentNew(Body):
    paid_on: date
    amount_fen: int = MaxFen
    reference: CodeText | None = None
    note: NoteText | None = None


class EndingNew(Body):
    kind: Literal["expiry", "agreement", "breach"]
    ended_on: date
    reason: Reason
    document_id: Id | None = None


class QualificationNew(Body):
    decision: Literal["approve", "reject"]
    reason: Reason
    document_id: Id | None = None


class LeasesQuery(Paged):
    collective_id: QueryId = None
    household_uid: QueryId = None
    state: State | None = None


class LeasePlotOut(Answer):
    plot_uid: int
    area_m2: float


class InstalmentOut(Answer):
    due_on: date
    amount_fen: int


class PaymentOut(Answer):
    payment_id: int
    paid_on: date
    amount_fen: int
    reference: str | None
    note: str | None
    recorded_by: str


class QualificationOut(Answer):
    decision: Literal["approve", "reject"]
    reason: str
    document_id: int | None
    decided_by: str
    decided_on: date


class EndingOut(Answer):
    kind: Literal["expiry", "agreement", "breach"]
    ended_on: date
    reason: str
    document_id: int | None
    recorded_by: str


class LesseeOut(Answer):
    kind: LesseeKind
    kind_label: str
    name: str
    household_uid: int | None
    person_uid: int | None
    id_number: str | None = Field(description="Masked unless the caller keeps the roll")
    id_number_masked: bool
    uscc: str | None
    contact: str | None


class LeaseItem(Answer):
    lease_id: int
    number: str
    collective_id: int
    household_uid: int
    contract_uid: int
    lessee_name: str
    lessee_kind: LesseeKind
    use: Use
    starts_on: date
    ends_on: date
    area_m2: float
    rent_fen_per_year: int
    state: State
    state_label: str


class Leases(Page[LeaseItem]):
    """Leases the caller may read, by id"""


class LeaseOut(Answer):
    """A lease of the land-management right with its plots, rent and what happened to it"""

    lease_id: int
    number: str
    collective_id: int
    household_uid: int
    contract_uid: int
    parent_lease_id: int | None
    entrusted_lease_id: int | None
    method: Method
    channel: Channel
    lessee: LesseeOut
    use: Use
    use_label: str
    starts_on: date
    ends_on: date
    area_m2: float
    rent_fen_per_mu_year: int
    rent_fen_per_year: int
    payment_schedule: Schedule
    contract_document_id: int | None
    holder_consent_document_id: int | None
    filed_on: date
    filed_by: str
    registered_on: date | None
    needs_qualification: bool
    state: State
    state_label: str
    note: str | None
    plots: list[LeasePlotOut]
    instalments: list[InstalmentOut]
    payments: list[PaymentOut]
    due_fen: int = Field(description="Rent due so far")
    paid_fen: int = Field(description="Rent paid so far")
    arrears_fen: int = Field(description="Due so far minus paid so far, not below zero")
    qualification: QualificationOut | None
    ending: EndingOut | None


def sees_id_number(lease: Lease) -> bool:
    """The lessee's ID number in full: the lease's collective administrator and auditors."""
    role = Role(current_user.role)
    if role == Role.AUDITOR:
        return True
    return role == Role.COLLECTIVE_ADMIN and lease.collective_id in current_user.collective_ids


def item_json(lease: Lease) -> dict[str, Any]:
    return {
        "lease_id": lease.id,
        "number": lease.number,
        "collective_id": lease.collective_id,
        "household_uid": lease.household_uid,
        "contract_uid": lease.contract_uid,
        "lessee_name": lease.lessee_name,
        "lessee_kind": lease.lessee_kind,
        "use": lease.use,
        "starts_on": lease.starts_on.isoformat(),
        "ends_on": lease.ends_on.isoformat(),
        "area_m2": lease.area_m2,
        "rent_fen_per_year": lease.rent_fen_per_year,
        "state": lease.state,
        "state_label": services.label(services.STATE_LABELS, lease.state),
    }


def lease_json(lease: Lease) -> dict[str, Any]:
    today = county_today()
    full = sees_id_number(lease)
    number = lease.lessee_id_number
    q = services.qualification_of(lease.id)
    ending = services.ending_of(lease.id)
    due = services.due_fen(lease, today)
    paid = services.paid_fen(lease, today)
    return {
        "lease_id": lease.id,
        "number": lease.number,
        "collective_id": lease.collective_id,
        "household_uid": lease.household_uid,
        "contract_uid": lease.contract_uid,
        "parent_lease_id": lease.parent_lease_id,
        "entrusted_lease_id": lease.entrusted_lease_id,
        "method": lease.method,
        "channel": lease.channel,
        "lessee": {
            "kind": lease.lessee_kind,
            "kind_label": services.label(services.LESSEE_KIND_LABELS, lease.lessee_kind),
            "name": lease.lessee_name,
            "household_uid": lease.lessee_household_uid,
            "person_uid": lease.lessee_person_uid,
            "id_number": number if full or number is None else mask_id_number(number),
            "id_number_masked": bool(number) and not full,
            "uscc": lease.lessee_uscc,
            "contact": lease.lessee_contact,
        },
        "use": lease.use,
        "use_label": services.label(services.USES, lease.use),
        "starts_on": lease.starts_on.isoformat(),
        "ends_on": lease.ends_on.isoformat(),
        "area_m2": lease.area_m2,
        "rent_fen_per_mu_year": lease.rent_fen_per_mu_year,
        "rent_fen_per_year": lease.rent_fen_per_year,
        "payment_schedule": lease.payment_schedule,
        "contract_document_id": lease.contract_document_id,
        "holder_consent_document_id": lease.holder_consent_document_id,
        "filed_on": lease.filed_on.isoformat(),
        "filed_by": lease.filed_by,
        "registered_on": lease.registered_on.isoformat() if lease.registered_on else None,
        "needs_qualification": lease.needs_qualification,
        "state": lease.state,
        "state_label": services.label(services.STATE_LABELS, lease.state),
        "note": lease.note,
        "plots": [
            {"plot_uid": p.plot_uid, "area_m2": p.area_m2} for p in services.lease_plots(lease.id)
        ],
        "instalments": [
            {"due_on": i.due_on.isoformat(), "amount_fen": i.amount_fen}
            for i in services.schedule_of(lease.id)
        ],
        "payments": [
            {
                "payment_id": p.id,
                "paid_on": p.paid_on.isoformat(),
                "amount_fen": p.amount_fen,
                "reference": p.reference,
                "note": p.note,
                "recorded_by": p.recorded_by,
            }
            for p in services.payments_of(lease.id)
        ],
        "due_fen": due,
        "paid_fen": paid,
        "arrears_fen": max(0, due - paid),
        "qualification": None
        if q is None
        else {
            "decision": q.decision,
            "reason": q.reason,
            "document_id": q.document_id,
            "decided_by": q.decided_by,
            "decided_on": q.decided_on.isoformat(),
        },
        "ending": None
        if ending is None
        else {
            "kind": ending.kind,
            "ended_on": ending.ended_on.isoformat(),
            "reason": ending.reason,
            "document_id": ending.document_id,
            "recorded_by": ending.recorded_by,
        },
    }


def _editable(lease_id: int) -> Lease:
    lease = load_or_404(Lease, lease_id)
    if not can_edit(current_user, lease):
        abort(404)
    return lease


@bp.get("/leases")
@roles_required(Role.FARMER, *READERS)
@operation(
    "Leases the caller may read (a farmer: their household's), by id",
    query=LeasesQuery,
    answer=Leases,
    refusals={422: "Bad query"},
)
def list_leases(query: LeasesQuery):
    q = select(Lease).where(readable(current_user, Lease.collective_id, Lease.household_uid))
    if query.collective_id is not None:
        q = q.where(Lease.collective_id == query.collective_id)
    if query.household_uid is not None:
        q = q.where(Lease.household_uid == query.household_uid)
    if query.state is not None:
        q = q.where(Lease.state == query.state)
    if query.cursor is not None:
        q = q.where(Lease.id > query.cursor)
    rows = list(db.session.scalars(q.order_by(Lease.id).limit(query.limit + 1)))
    page = page_of(rows, query.limit, key=lambda row: row.id)
    return jsonify({**page, "items": [item_json(row) for row in page["items"]]})


@bp.post("/leases")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Record (and so file with the contract-issuing party) a lease of some plots of a contract",
    body=LeaseNew,
    answer=LeaseOut,
    status=201,
    refusals={
        404: "The contract, a household or the re-leased lease is not found or out of reach",
        422: "A rule refused it (R02 term, R05 use, contract, priority, plots)",
    },
)
def create_lease(body: LeaseNew):
    contract = load_current_or_404(LandContract, body.contract_uid, edit=True)
    if contract.collective_id != body.collective_id:
        abort(404)
    lessee = services.Lessee(
        kind=body.lessee.kind,
        name=body.lessee.name,
        household_uid=body.lessee.household_uid,
        person_uid=body.lessee.person_uid,
        id_number=body.lessee.id_number,
        uscc=body.lessee.uscc,
        contact=body.lessee.contact,
    )
    evidence = (
        {
            "notice_document_id": body.priority_notice.notice_document_id,
            "notice_from": body.priority_notice.notice_from.isoformat(),
        }
        if body.priority_notice is not None
        else None
    )
    lease = services.record_lease(
        contract.collective_id,
        contract.uid,
        list(body.plot_uids),
        lessee=lessee,
        method=body.method,
        use=body.use,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        rent_fen_per_mu_year=body.rent_fen_per_mu_year,
        payment_schedule=body.payment_schedule,
        contract_document_id=body.contract_document_id,
        channel=body.channel,
        parent_lease_id=body.parent_lease_id,
        holder_consent_document_id=body.holder_consent_document_id,
        priority_evidence=evidence,
        register=body.registration,
        note=body.note,
    )
    db.session.commit()
    response = jsonify(lease_json(lease))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_lease", lease_id=lease.id)
    return response


@bp.get("/leases/<int:lease_id>")
@roles_required(Role.FARMER, *READERS)
@operation(
    "A lease with its plots, rent, payments, review and ending",
    answer=LeaseOut,
    refusals=_NOT_FOUND,
)
def get_lease(lease_id: int):
    return jsonify(lease_json(load_or_404(Lease, lease_id)))


@bp.post("/leases/<int:lease_id>/payments")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Record rent received (a negative amount corrects an earlier payment, with a note)",
    body=PaymentNew,
    target=lambda lease_id: _editable(lease_id),
    answer=LeaseOut,
    status=201,
    refusals={**_NOT_FOUND, 422: "A bad amount or date, or the lease is not in force"},
)
def create_payment(lease_id: int, target: Lease, body: PaymentNew):
    services.record_payment(
        target.id,
        paid_on=body.paid_on,
        amount_fen=body.amount_fen,
        reference=body.reference,
        note=body.note,
        collective_id=target.collective_id,
    )
    db.session.commit()
    response = jsonify(lease_json(target))
    response.status_code = 201
    return response


@bp.post("/leases/<int:lease_id>/end")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "End a lease: at expiry, early by agreement, or for breach (its re-leases end too)",
    body=EndingNew,
    target=lambda lease_id: _editable(lease_id),
    answer=LeaseOut,
    refusals={**_NOT_FOUND, 422: "Already ended, not expired yet, or a document is missing"},
)
def end_lease(lease_id: int, target: Lease, body: EndingNew):
    services.end_lease(
        target.id,
        kind=body.kind,
        ended_on=body.ended_on,
        reason=body.reason,
        document_id=body.document_id,
        collective_id=target.collective_id,
    )
    db.session.commit()
    return jsonify(lease_json(target))


def _reviewable(lease_id: int) -> Lease:
    lease = db.session.get(Lease, lease_id)
    if lease is None:
        abort(404)
    return lease


@bp.post("/leases/<int:lease_id>/qualification")
@roles_required(Role.BUREAU_REVIEWER)
@operation(
    "The county bureau's qualification review of a business's lease above the threshold",
    body=QualificationNew,
    target=lambda lease_id: _reviewable(lease_id),
    answer=LeaseOut,
    refusals={**_NOT_FOUND, 422: "The lease is not waiting for a review"},
)
def decide_qualification(lease_id: int, target: Lease, body: QualificationNew):
    services.decide_qualification(
        target.id, decision=body.decision, reason=body.reason, document_id=body.document_id
    )
    db.session.commit()
    return jsonify(lease_json(target))
