"""JSON API for moves of rights outside the marketplace: request, countersign, refuse, withdraw.

The rules (legal basis, countersign by a bureau reviewer other than the requester, every check
of the underlying service) live in app.registry.moves; these endpoints translate JSON to those
calls and back, and commit once. Another collective's move or right is a 404.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from flask import abort, jsonify, url_for
from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.fields import CodeText, ExactNumber, Id, Page, Paged, Reason, page_of
from app.api.schema import Answer, Body, operation
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.extensions import db
from app.registry import moves as service
from app.registry.lookup import load_current_or_404
from app.registry.models import Homestead, Plot, RightMove, ShareHolding

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)
_SUBJECTS = {
    "plot_move": Plot,
    "share_transfer": ShareHolding,
    "share_buy_back": ShareHolding,
    "homestead_transfer": Homestead,
}

Kind = Literal[tuple(sorted(service.KINDS))]  # type: ignore[valid-type]
State = Literal[tuple(sorted(service.STATES))]  # type: ignore[valid-type]
Basis = Literal[tuple(sorted(service.BASES))]  # type: ignore[valid-type]
BASIS_DOC = (
    "Legal basis: inheritance, court_ruling (judgment or arbitration award), correction (of a "
    "recording error), readjustment (the collective's 2/3 resolution, cited as the document), "
    "member_exit (decided by the collective, its resolution cited). A voluntary sale or paid "
    "exit goes through the marketplace."
)


class MoveChange(Answer):
    label: str
    before: str
    after: str


class Move(Answer):
    """A move request with its before / after"""

    move_id: int
    collective_id: int
    kind: Kind
    kind_label: str
    subject_uid: int
    subject: str
    from_household_uid: int | None
    to_household_uid: int | None
    args: dict[str, Any]
    basis: Basis = Field(description=BASIS_DOC)
    basis_label: str
    source_document_id: int
    reason: str
    requested_by: str
    requested_at: datetime
    state: State
    state_label: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    changes: list[MoveChange]


class Moves(Page[Move]):
    """Move requests, newest first"""


class MovesQuery(Paged):
    state: Literal[tuple([*sorted(service.STATES), "all"])] = "pending"  # type: ignore[valid-type]


class MoveRequest(Body):
    kind: Kind
    subject_uid: Id = Field(description="The plot, share holding or homestead")
    basis: Basis | None = Field(None, description=BASIS_DOC)
    source_document_id: Id
    reason: Reason
    to_contract_uid: Id | None = Field(
        None, description="plot_move: the contract it goes to; null: the collective"
    )
    to_household_uid: Id | None = None
    to_person_uid: Id | None = None
    shares: ExactNumber | None = None
    certificate_number: CodeText | None = None


class RefuseBody(Body):
    reason: Reason


class WithdrawBody(Body):
    reason: Reason | None = None


def move_json(m: RightMove) -> dict:
    subject, lines = service.describe(m)
    return {
        "move_id": m.id,
        "collective_id": m.collective_id,
        "kind": m.kind,
        "kind_label": service.kind_label(m.kind),
        "subject_uid": m.subject_uid,
        "subject": subject,
        "from_household_uid": m.from_household_uid,
        "to_household_uid": m.to_household_uid,
        "args": json.loads(m.args),
        "basis": m.basis,
        "basis_label": service.basis_label(m.basis),
        "source_document_id": m.source_document_id,
        "reason": m.reason,
        "requested_by": m.requested_by,
        "requested_at": m.requested_at.isoformat() + "Z",
        "state": m.state,
        "state_label": service.state_label(m.state),
        "decided_by": m.decided_by,
        "decided_at": m.decided_at.isoformat() + "Z" if m.decided_at else None,
        "decision_reason": m.decision_reason,
        "changes": [{"label": x.label, "before": x.before, "after": x.after} for x in lines],
    }


_NOT_FOUND = {404: "Not found or out of reach"}


def _own_move(move_id: int) -> RightMove:
    move = load_or_404(RightMove, move_id)
    if not can_edit(current_user, move):
        abort(404)
    return move


@bp.get("/moves")
@roles_required(*READERS)
@operation(
    "Move requests (county-wide for the bureau; own collectives for an admin)",
    query=MovesQuery,
    answer=Moves,
)
def list_moves(query: MovesQuery):
    state = None if query.state == "all" else query.state
    rows = service.moves_page(current_user, state=state, limit=query.limit + 1, before=query.cursor)
    page = page_of(rows, query.limit, key=lambda m: m.id)
    return jsonify({**page, "items": [move_json(m) for m in page["items"]]})


@bp.post("/moves")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Request a move of a right for a legal reason; it waits for a countersign",
    body=MoveRequest,
    answer=Move,
    status=201,
    refusals={
        404: "The right is not found or out of reach",
        422: "No or a wrong legal basis, or a rule refused it",
    },
)
def request_move(body: MoveRequest):
    subject = load_current_or_404(_SUBJECTS[body.kind], body.subject_uid, edit=True)
    move = service.request_move(
        body.kind,
        subject.uid,
        basis=body.basis,
        source_document_id=body.source_document_id,
        reason=body.reason,
        collective_id=subject.collective_id,
        to_contract_uid=body.to_contract_uid,
        to_household_uid=body.to_household_uid,
        to_person_uid=body.to_person_uid,
        shares=body.shares,
        certificate_number=body.certificate_number,
    )
    db.session.commit()
    response = jsonify(move_json(move))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_move", move_id=move.id)
    return response


@bp.get("/moves/<int:move_id>")
@roles_required(*READERS)
@operation("A move request with its before / after", answer=Move, refusals=_NOT_FOUND)
def get_move(move_id: int):
    return jsonify(move_json(load_or_404(RightMove, move_id)))


@bp.post("/moves/<int:move_id>/countersign")
@roles_required(Role.BUREAU_REVIEWER)
@operation(
    "Countersign (bureau reviewer, not the requester): checked again, applied",
    answer=Move,
    refusals={**_NOT_FOUND, 422: "Not pending, own request, or a rule refused it"},
)
def countersign_move(move_id: int):
    move = load_or_404(RightMove, move_id)
    service.countersign_move(move.id)
    db.session.commit()
    return jsonify(move_json(move))


@bp.post("/moves/<int:move_id>/refuse")
@roles_required(Role.BUREAU_REVIEWER)
@operation(
    "Refuse a pending move with a reason (bureau reviewer, not the requester)",
    body=RefuseBody,
    target=lambda move_id: load_or_404(RightMove, move_id),
    answer=Move,
    refusals={**_NOT_FOUND, 422: "Not pending, own request, or no reason"},
)
def refuse_move(move_id: int, target: RightMove, body: RefuseBody):
    move = target
    service.refuse_move(move.id, body.reason)
    db.session.commit()
    return jsonify(move_json(move))


@bp.post("/moves/<int:move_id>/withdraw")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "The requester withdraws a pending move",
    body=WithdrawBody,
    body_optional=True,
    target=lambda move_id: _own_move(move_id),
    answer=Move,
    refusals={**_NOT_FOUND, 422: "Not pending, or not the requester"},
)
def withdraw_move(move_id: int, target: RightMove, body: WithdrawBody):
    move = target
    service.withdraw_move(move.id, body.reason)
    db.session.commit()
    return jsonify(move_json(move))
