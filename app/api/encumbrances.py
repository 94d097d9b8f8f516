"""JSON API for what weighs on a right (encumbrances) and for exchanges of plots (R04).

The rules live in app.registry.encumbrances and app.registry.exchanges; these endpoints
translate JSON to those calls and back, and commit once. Another collective's right, household,
encumbrance or exchange is a 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import abort, jsonify, url_for
from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.fields import CodeText, Id, NameText, NoteText, Reason
from app.api.schema import Answer, Body, Query, operation
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.calendar import county_today
from app.extensions import db
from app.registry import encumbrances as service
from app.registry import exchanges
from app.registry.lookup import load_current_or_404
from app.registry.models import Encumbrance, Household, PlotExchange

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
RightKind = Literal["land_contract", "plot", "homestead", "share_holding"]
Kind = Literal["pledge", "dispute", "freeze", "lease"]
_NOT_FOUND = {404: "Not found or out of reach"}
KIND_DOC = (
    "pledge: of the land-management right for a loan (Art. 47), on a contract or a plot, with "
    "the lender's USCC and an end by the contract's term; dispute: with another party; freeze: "
    "a court's, with its case number, recorded by the county bureau. A lease is recorded by "
    "the leases."
)


class EncumbranceRelease(Answer):
    """The release of an encumbrance: a fact of its own"""

    released_on: date
    reason: str
    source_document_id: int | None = Field(
        description="The release's document; null for a lease ended on no paper"
    )
    recorded_by: str
    recorded_at: datetime


class EncumbranceOut(Answer):
    """What weighs on a right: a pledge, a dispute, a court freeze or a lease"""

    encumbrance_id: int
    collective_id: int
    kind: Kind = Field(description=KIND_DOC)
    kind_label: str
    right_kind: RightKind
    right_uid: int
    party_name: str
    party_uscc: str | None
    case_number: str | None
    starts_on: date
    ends_on: date | None
    note: str | None
    source_document_id: int | None = Field(
        description="The document cited; null for a lease of one year or less on no paper "
        "(it cites its lease: lease_id)"
    )
    lease_id: int | None = Field(description='kind "lease": the lease it comes from')
    recorded_by: str
    recorded_at: datetime
    in_force: bool
    release: EncumbranceRelease | None


class Weight(Answer):
    """One thing that weighs (or weighed) on a right, in words"""

    kind: Literal["pledge", "dispute", "freeze", "lease", "objection"]
    label: str
    party: str
    starts_on: date
    ends_on: date | None
    in_force: bool
    on_itself: bool = Field(description="On this very right (false: on its contract or a plot)")
    encumbrance_id: int | None


class Weights(Answer):
    """What weighs on a right, newest first; open objections to its public notice included"""

    right_kind: RightKind
    right_uid: int
    items: list[Weight]


class WeightsQuery(Query):
    right_kind: RightKind
    right_uid: Id


class EncumbranceNew(Body):
    kind: Kind = Field(description=KIND_DOC)
    right_kind: RightKind
    right_uid: Id
    party_name: NameText = Field(description="The lender, the other party, or the court")
    party_uscc: CodeText | None = Field(None, description="pledge: the lender's USCC")
    case_number: CodeText | None = Field(None, description="freeze: the court's case number")
    starts_on: date
    ends_on: date | None = None
    source_document_id: Id
    note: NoteText | None = None


class ReleaseBody(Body):
    released_on: date
    reason: Reason
    source_document_id: Id


def _release_json(r) -> dict | None:
    if r is None:
        return None
    return {
        "released_on": r.released_on.isoformat(),
        "reason": r.reason,
        "source_document_id": r.source_document_id,
        "recorded_by": r.recorded_by,
        "recorded_at": r.recorded_at.isoformat() + "Z",
    }


def encumbrance_json(e: Encumbrance) -> dict:
    release = service.release_of(e.id)
    today = county_today()
    return {
        "encumbrance_id": e.id,
        "collective_id": e.collective_id,
        "kind": e.kind,
        "kind_label": service.kind_label(e.kind),
        "right_kind": e.right_kind,
        "right_uid": e.right_uid,
        "party_name": e.party_name,
        "party_uscc": e.party_uscc,
        "case_number": e.case_number,
        "starts_on": e.starts_on.isoformat(),
        "ends_on": e.ends_on.isoformat() if e.ends_on else None,
        "note": e.note,
        "source_document_id": e.source_document_id,
        "lease_id": e.lease_id,
        "recorded_by": e.recorded_by,
        "recorded_at": e.recorded_at.isoformat() + "Z",
        "in_force": release is None
        and e.starts_on <= today
        and (e.ends_on is None or e.ends_on >= today),
        "release": _release_json(release),
    }


def _scope_for(right) -> int | None:
    """The collective a recorder acts in: the bureau records freezes county-wide."""
    if Role(current_user.role) == Role.BUREAU_REVIEWER:
        return None
    if not can_edit(current_user, right):
        abort(404)
    return right.collective_id


@bp.get("/encumbrances")
@roles_required(Role.FARMER, *READERS)
@operation(
    "What weighs on a right (its contract and plots included)",
    query=WeightsQuery,
    answer=Weights,
    refusals=_NOT_FOUND,
)
def list_encumbrances(query: WeightsQuery):
    right = load_current_or_404(service.RIGHT_MODELS[query.right_kind], query.right_uid)
    rows = service.encumbrances_of(query.right_kind, right.uid)
    return jsonify(
        {
            "right_kind": query.right_kind,
            "right_uid": right.uid,
            "items": [
                {
                    "kind": w.kind,
                    "label": w.label,
                    "party": w.party,
                    "starts_on": w.starts_on.isoformat(),
                    "ends_on": w.ends_on.isoformat() if w.ends_on else None,
                    "in_force": w.in_force,
                    "on_itself": w.on_itself,
                    "encumbrance_id": w.encumbrance.id if w.encumbrance else None,
                }
                for w in rows
            ],
        }
    )


@bp.post("/encumbrances")
@roles_required(Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER)
@operation(
    "Record a pledge or dispute (collective admin) or a court freeze (county bureau) on a right",
    body=EncumbranceNew,
    answer=EncumbranceOut,
    status=201,
    refusals={
        404: "The right is not found or out of reach",
        422: "Not yours to record, or a rule refused it",
    },
)
def record_encumbrance(body: EncumbranceNew):
    right = load_current_or_404(service.RIGHT_MODELS[body.right_kind], body.right_uid)
    row = service.record_encumbrance(
        body.kind,
        body.right_kind,
        right.uid,
        party_name=body.party_name,
        party_uscc=body.party_uscc,
        case_number=body.case_number,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        source_document_id=body.source_document_id,
        note=body.note,
        collective_id=_scope_for(right),
    )
    db.session.commit()
    response = jsonify(encumbrance_json(row))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_encumbrance", encumbrance_id=row.id)
    return response


@bp.get("/encumbrances/<int:encumbrance_id>")
@roles_required(*READERS)
@operation("An encumbrance with its release", answer=EncumbranceOut, refusals=_NOT_FOUND)
def get_encumbrance(encumbrance_id: int):
    return jsonify(encumbrance_json(load_or_404(Encumbrance, encumbrance_id)))


def _releasable(encumbrance_id: int) -> Encumbrance:
    row = load_or_404(Encumbrance, encumbrance_id)
    if Role(current_user.role) != Role.BUREAU_REVIEWER and not can_edit(current_user, row):
        abort(404)
    return row


@bp.post("/encumbrances/<int:encumbrance_id>/release")
@roles_required(Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER)
@operation(
    "Release an encumbrance: a new fact with its document and reason",
    body=ReleaseBody,
    target=lambda encumbrance_id: _releasable(encumbrance_id),
    answer=EncumbranceOut,
    refusals={**_NOT_FOUND, 422: "Already released, not yours to release, or a bad date"},
)
def release_encumbrance(encumbrance_id: int, target: Encumbrance, body: ReleaseBody):
    service.release_encumbrance(
        target.id,
        released_on=body.released_on,
        reason=body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(encumbrance_json(target))


# --------------------------------------------------------------------------------------------
# Exchanges
# --------------------------------------------------------------------------------------------


class ExchangePlot(Answer):
    plot_uid: int
    name: str


class ExchangeOut(Answer):
    """An exchange of plots between two member households of one collective (R04)"""

    exchange_id: int
    collective_id: int
    household_a_uid: int
    household_a: str
    contract_a_uid: int
    household_b_uid: int
    household_b: str
    contract_b_uid: int
    plots_a: list[ExchangePlot] = Field(description="A's plots, now in B's contract")
    plots_b: list[ExchangePlot] = Field(description="B's plots, now in A's contract")
    exchanged_on: date
    agreement_document_id: int
    filing_document_id: int
    filed_on: date
    reason: str
    recorded_by: str
    recorded_at: datetime


class ExchangeNew(Body):
    household_a_uid: Id
    plot_a_uids: list[Id] = Field(description="Plots of A's contract that go to B", max_length=200)
    household_b_uid: Id
    plot_b_uids: list[Id] = Field(description="Plots of B's contract that go to A", max_length=200)
    agreement_document_id: Id = Field(description="The exchange agreement")
    filing_document_id: Id = Field(description="The filing (备案) with the contract-issuing party")
    filed_on: date
    reason: Reason


def exchange_json(row: PlotExchange) -> dict:
    plots_a, plots_b = exchanges.plot_uids(row)
    names = exchanges.plot_names(plots_a + plots_b)
    households = exchanges.household_names([row.household_a_uid, row.household_b_uid])
    return {
        "exchange_id": row.id,
        "collective_id": row.collective_id,
        "household_a_uid": row.household_a_uid,
        "household_a": households.get(row.household_a_uid, ""),
        "contract_a_uid": row.contract_a_uid,
        "household_b_uid": row.household_b_uid,
        "household_b": households.get(row.household_b_uid, ""),
        "contract_b_uid": row.contract_b_uid,
        "plots_a": [{"plot_uid": u, "name": names.get(u, "")} for u in plots_a],
        "plots_b": [{"plot_uid": u, "name": names.get(u, "")} for u in plots_b],
        "exchanged_on": row.exchanged_on.isoformat(),
        "agreement_document_id": row.agreement_document_id,
        "filing_document_id": row.filing_document_id,
        "filed_on": row.filed_on.isoformat(),
        "reason": row.reason,
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at.isoformat() + "Z",
    }


@bp.post("/exchanges")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Exchange plots between two member households of one collective (R04), filed with the "
    "contract-issuing party; both contracts revised at once",
    body=ExchangeNew,
    answer=ExchangeOut,
    status=201,
    refusals={
        404: "A household is not found or out of reach",
        422: "Another collective's plot, a plot not in the named contract, or one that "
        "something weighs on",
    },
)
def create_exchange(body: ExchangeNew):
    a = load_current_or_404(Household, body.household_a_uid, edit=True)
    done = exchanges.exchange_plots(
        a.uid,
        body.plot_a_uids,
        body.household_b_uid,
        body.plot_b_uids,
        agreement_document_id=body.agreement_document_id,
        filing_document_id=body.filing_document_id,
        filed_on=body.filed_on,
        reason=body.reason,
        collective_id=a.collective_id,
    )
    db.session.commit()
    response = jsonify(exchange_json(done.exchange))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_exchange", exchange_id=done.exchange.id)
    return response


@bp.get("/exchanges/<int:exchange_id>")
@roles_required(*READERS)
@operation("An exchange of plots", answer=ExchangeOut, refusals=_NOT_FOUND)
def get_exchange(exchange_id: int):
    return jsonify(exchange_json(load_or_404(PlotExchange, exchange_id)))
