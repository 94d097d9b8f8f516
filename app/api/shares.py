"""JSON API for collective income shares: the same service functions as the HTML pages.

R10 (members on the roll, same collective, conservation) and R11 (per-holder cap) are enforced
in app.registry.shares; these endpoints translate JSON to those calls and back, and commit once.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from flask import abort, jsonify
from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.fields import CodeText, DecimalText, ExactNumber, Id, Paged, Reason, page_of
from app.api.moves import BASIS_DOC, Basis, Move, move_json
from app.api.schema import Answer, Body, operation
from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.numbers import fixed
from app.divisions.models import Collective
from app.extensions import db
from app.registry import shares as service
from app.registry.lookup import load_current_or_404, load_latest_or_404
from app.registry.models import ShareHolding

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)
REGISTER_READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)

ShareType = Literal[tuple(sorted(service.SHARE_TYPES))]  # type: ignore[valid-type]
#: Shares in an answer: an exact decimal string with four places ("12.5000"), never a float.
SharesText = Annotated[
    str,
    Field(pattern=r"^[0-9]+\.[0-9]{4}$", description='Exact decimal, four places ("12.5000")'),
]
PercentText = Annotated[
    str | None,
    Field(description="Percent of the collective's fixed total, rounded to four places"),
]


# --- answers


class Holding(Answer):
    """A share holding (latest version, current or ended)"""

    holding_uid: int
    version: int
    is_current: bool
    collective_id: int
    household_uid: int | None
    person_uid: int | None
    holder_name: str
    shares: SharesText
    percent_of_total: PercentText
    share_type: ShareType
    certificate_number: str | None
    begin_lifespan: str
    end_lifespan: str | None
    valid_from: date
    valid_to: date | None
    source_document_id: int | None


class RegisterHolding(Answer):
    holding_uid: int
    shares: SharesText
    share_type: str
    certificate_number: str | None


class RegisterHolder(Answer):
    household_uid: int | None
    person_uid: int | None
    name: str
    shares: SharesText
    percent_of_total: PercentText
    cap_group_shares: SharesText = Field(
        description="R11: what the holder holds together with its household and the "
        "household's members (what the cap is checked against)"
    )
    cap_standing: Literal["within", "at", "above"]
    at_or_above_cap: bool
    holdings: list[RegisterHolding]


class Register(Answer):
    """The collective's share register"""

    collective_id: int
    fixed: bool
    fixed_on: date | None
    total_shares: SharesText = Field(description="The fixed total (0.0000 if not fixed)")
    allocated: SharesText
    pool: SharesText = Field(description="The collective's unallocated shares")
    cap_percent: DecimalText = Field(description="R11 per-holder cap in percent")
    cap_shares: SharesText = Field(
        description="R11: the most shares a holder may hold (total × percent / 100, rounded "
        "down to four places); a household and its own members count together"
    )


class RegisterPage(Register):
    """The register with one page of holders, largest first"""

    items: list[RegisterHolder]
    next: str | None


# --- bodies


class FixRegister(Body):
    total_shares: ExactNumber
    fixed_on: date
    reason: Reason
    source_document_id: Id | None = None


class Allocate(Body):
    collective_id: Id
    household_uid: Id | None = Field(None, description="or person_uid")
    person_uid: Id | None = Field(None, description="or household_uid")
    shares: ExactNumber
    share_type: ShareType
    certificate_number: CodeText | None = None
    source_document_id: Id | None = None
    reason: Reason


class Transfer(Body):
    basis: Basis | None = Field(None, description=BASIS_DOC)
    to_household_uid: Id | None = Field(None, description="or to_person_uid")
    to_person_uid: Id | None = Field(None, description="or to_household_uid")
    shares: ExactNumber
    reason: Reason
    source_document_id: Id
    certificate_number: CodeText | None = Field(
        None, description="For the recipient's holding if a new one is made"
    )


class BuyBack(Body):
    basis: Basis | None = Field(None, description=BASIS_DOC)
    shares: ExactNumber
    reason: Reason
    source_document_id: Id


def shares_text(value) -> str | None:
    return fixed(value, service.SHARE_PLACES)


def holding_json(h: ShareHolding) -> dict:
    summary = service.register_summary(db.session.get(Collective, h.collective_id))
    percent = service.percent_of(h.shares, summary.total)
    return {
        "holding_uid": h.uid,
        "version": h.version,
        "is_current": h.is_current,
        "collective_id": h.collective_id,
        "household_uid": h.household_uid,
        "person_uid": h.person_uid,
        "holder_name": service.holder_name(h),
        "shares": shares_text(h.shares),
        "percent_of_total": fixed(percent, 4) if percent is not None else None,
        "share_type": h.share_type,
        "certificate_number": h.certificate_number,
        "begin_lifespan": h.begin_lifespan.isoformat(),
        "end_lifespan": h.end_lifespan.isoformat() if h.end_lifespan else None,
        "valid_from": h.valid_from.isoformat(),
        "valid_to": h.valid_to.isoformat() if h.valid_to else None,
        "source_document_id": h.source_document_id,
    }


def register_json(collective: Collective, summary: service.RegisterSummary) -> dict:
    return {
        "collective_id": collective.id,
        "fixed": summary.fixed,
        "fixed_on": summary.fixed_on.isoformat() if summary.fixed_on else None,
        "total_shares": shares_text(summary.total),
        "allocated": shares_text(summary.allocated),
        "pool": shares_text(summary.pool),
        "cap_percent": fixed(summary.cap_percent, 2),
        "cap_shares": shares_text(summary.cap_shares),
    }


def _holder_json(r: service.HolderRow) -> dict:
    return {
        "household_uid": r.holder.household_uid,
        "person_uid": r.holder.person_uid,
        "name": r.name,
        "shares": shares_text(r.total),
        "percent_of_total": fixed(r.percent, 4) if r.percent is not None else None,
        "cap_group_shares": shares_text(r.group_total),
        "cap_standing": r.cap_standing,
        "at_or_above_cap": r.cap_standing != "within",
        "holdings": [
            {
                "holding_uid": h.uid,
                "shares": shares_text(h.shares),
                "share_type": h.share_type,
                "certificate_number": h.certificate_number,
            }
            for h in r.holdings
        ],
    }


def _editable_collective(collective_id: int) -> Collective:
    collective = load_or_404(Collective, collective_id)
    if not can_edit(current_user, collective):
        abort(404)
    return collective


_NOT_FOUND = {404: "Not found or out of reach"}
_REFUSED = {422: "Refused (R10/R11) or bad input"}


@bp.get("/collectives/<int:collective_id>/shares")
@roles_required(*REGISTER_READERS)
@operation(
    "The collective's share register: total, allocated, pool, holders, cap",
    query=Paged,
    answer=RegisterPage,
    refusals=_NOT_FOUND,
)
def collective_shares(collective_id: int, query: Paged):
    collective = load_or_404(Collective, collective_id)
    offset = query.cursor or 0
    summary = service.register_summary(collective)
    rows = service.register_page(
        collective.id, limit=query.limit + 1, offset=offset, summary=summary
    )
    page = page_of(rows, query.limit, key=lambda _last: offset + query.limit)
    return jsonify(
        {
            **register_json(collective, summary),
            "items": [_holder_json(r) for r in page["items"]],
            "next": page["next"],
        }
    )


@bp.post("/collectives/<int:collective_id>/share-register")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Fix the collective's total of shares once (股权固化); it never changes",
    body=FixRegister,
    target=lambda collective_id: _editable_collective(collective_id),
    answer=Register,
    status=201,
    refusals={**_NOT_FOUND, 422: "Already fixed (R10) or bad input"},
)
def fix_share_register(collective_id: int, target: Collective, body: FixRegister):
    collective = target
    service.fix_share_register(
        collective.id,
        body.total_shares,
        body.fixed_on,
        body.reason,
        source_document_id=body.source_document_id,
    )
    db.session.commit()
    return jsonify(register_json(collective, service.register_summary(collective))), 201


@bp.post("/shares")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Allocate shares from the pool to a member holder (R10, R11)",
    body=Allocate,
    answer=Holding,
    status=201,
    refusals={404: "Collective not found or out of reach", **_REFUSED},
)
def allocate_shares(body: Allocate):
    collective = _editable_collective(body.collective_id)
    holding = service.allocate_shares(
        collective.id,
        household_uid=body.household_uid,
        person_uid=body.person_uid,
        shares=body.shares,
        share_type=body.share_type,
        certificate_number=body.certificate_number,
        source_document_id=body.source_document_id,
        reason=body.reason,
    )
    db.session.commit()
    return jsonify(holding_json(holding)), 201


@bp.get("/shares/<int:holding_uid>")
@roles_required(*READERS)
@operation(
    "A share holding (latest version, current or ended)", answer=Holding, refusals=_NOT_FOUND
)
def get_share_holding(holding_uid: int):
    return jsonify(holding_json(load_latest_or_404(ShareHolding, holding_uid)))


@bp.post("/shares/<int:holding_uid>/transfer")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Request a transfer of shares to a member or household of the same collective, for a "
    "legal reason; it waits for the bureau's countersign",
    body=Transfer,
    target=lambda holding_uid: load_current_or_404(ShareHolding, holding_uid, edit=True),
    answer=Move,
    status=202,
    refusals={404: "No current holding in reach", **_REFUSED},
)
def transfer_shares(holding_uid: int, target: ShareHolding, body: Transfer):
    holding = target
    move = service.transfer_shares(
        holding.uid,
        to_household_uid=body.to_household_uid,
        to_person_uid=body.to_person_uid,
        shares=body.shares,
        reason=body.reason,
        source_document_id=body.source_document_id,
        certificate_number=body.certificate_number,
        basis=body.basis,
    )
    db.session.commit()
    return jsonify(move_json(move)), 202


@bp.post("/shares/<int:holding_uid>/buy-back")
@roles_required(Role.COLLECTIVE_ADMIN)
@operation(
    "Request a buy-back into the collective's pool (R10) on a member's exit decided by the "
    "collective or a court ruling; it waits for the bureau's countersign",
    body=BuyBack,
    target=lambda holding_uid: load_current_or_404(ShareHolding, holding_uid, edit=True),
    answer=Move,
    status=202,
    refusals={404: "No current holding in reach", 422: "No or a wrong legal basis, or bad input"},
)
def buy_back_shares(holding_uid: int, target: ShareHolding, body: BuyBack):
    holding = target
    move = service.buy_back(
        holding.uid,
        body.shares,
        reason=body.reason,
        source_document_id=body.source_document_id,
        basis=body.basis,
    )
    db.session.commit()
    return jsonify(move_json(move)), 202
