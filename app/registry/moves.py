"""Moves of rights outside the marketplace: only for a lawful reason, and countersigned.

A voluntary sale or a paid exit of a right goes through the marketplace (DOMAIN §6). The registry
moves a right directly only for what is not a sale, each with a legal basis from ``BASES`` and a
cited source document: inheritance (继承), a court or arbitration ruling (法院判决/仲裁裁决),
correction of a recording error (登记错误更正), a readjustment or reallocation backed by the
collective's two-thirds resolution (承包法 Art. 28, 调整) and a member's exit decided by the
collective (集体决定成员退出).

A move of a right between households, or from a holder back to the collective, is first a request
(``request_move``): everything is checked now, by running the very function that will apply it
inside a savepoint that is then rolled back, so the rules stay in their own services (R01/R03 in
land.py, R10/R11 in shares.py, R09 in homesteads.py) and are not repeated here. What each kind
reads, checks and applies is in ``move_kinds``, which registers the kinds here at app creation
(``register_kind``): the services call this module, it calls none of them. A bureau reviewer
(县农业农村局) other than the requester countersigns it (``countersign_move``), which runs them
again against the registry as it is then and applies the move, all or nothing; or refuses it with
a reason (``refuse_move``); the requester may withdraw it (``withdraw_move``).

Kinds, what they do and the bases they accept (``KIND_BASES``):

* ``plot_move`` — a plot out of one household's contract, into another's or back to the
  collective (R01, R03; Art. 27/28: the collective does not take land back except by law).
* ``share_transfer`` — shares from one holder to another member holder (R10, R11).
* ``share_buy_back`` — shares back into the collective's pool (R10): a paid exit, so directly only
  when the collective decided a member's exit, or a court ruled it.
* ``homestead_transfer`` — a homestead to another qualifying household (R09).

What applies without a countersign, because no right leaves a household for another: corrections
of a plot's attributes or boundary (``land.update_plot_*``); putting a plot that is in no contract
into one (``land.assign_plot_to_contract``, registration); and recording how a homestead ended
when no household of the registry receives it (``homesteads.dispose_homestead``; a sale, lease,
gift or transfer is recorded only as a correction of the record or by a court ruling, see
``check_disposal_basis``).

Services flush and never commit; the caller commits once. Every write goes into the audit trail
through the ORM hook, under the events ``move.request`` / ``move.countersign`` / ``move.refuse``
/ ``move.withdraw`` (the applied change itself under its own service's event).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.scope import readable
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.registry import encumbrances
from app.registry.documents import source_document
from app.registry.inputs import is_id, require_reason
from app.registry.models import Household, LandContract, RightMove, SourceDocument

#: The legal bases on which the registry moves a right directly (a sale goes to the marketplace).
BASES = {
    "inheritance": _l("Inheritance (继承)"),
    "court_ruling": _l("Court judgment or arbitration award (法院判决/仲裁裁决)"),
    "correction": _l("Correction of a recording error (登记错误更正)"),
    "readjustment": _l(
        "Readjustment or reallocation by the collective's two-thirds resolution (调整)"
    ),
    "member_exit": _l("Exit of a member decided by the collective (集体决定成员退出)"),
}
#: Bases that stand on a decision of the collective: their document is its resolution.
RESOLUTION_BASES = frozenset({"readjustment", "member_exit"})

KINDS = {
    "plot_move": _l("Plot moved to another household's contract"),
    "share_transfer": _l("Shares transferred to another holder"),
    "share_buy_back": _l("Shares bought back by the collective"),
    "homestead_transfer": _l("Homestead transferred to another household"),
}
KIND_BASES: dict[str, frozenset[str]] = {
    "plot_move": frozenset(BASES),
    "share_transfer": frozenset({"inheritance", "court_ruling", "correction"}),
    # A buy-back is a paid exit: directly only when the collective decided the member's exit.
    "share_buy_back": frozenset({"member_exit", "court_ruling"}),
    "homestead_transfer": frozenset({"inheritance", "court_ruling", "correction"}),
}
#: Homestead disposals that record the house leaving the household for someone else.
RECORDED_DISPOSALS = frozenset({"sold", "leased", "gifted", "transferred", "paid_exit"})
#: ... recorded directly only as a correction of the record or by a court ruling.
DISPOSAL_BASES = frozenset({"correction", "court_ruling"})

STATES = {
    "pending": _l("Waiting for countersign"),
    "applied": _l("Countersigned and applied"),
    "refused": _l("Refused"),
    "withdrawn": _l("Withdrawn"),
}
#: (state, action) -> next state. Anything else is refused with a clear message.
TRANSITIONS = {
    ("pending", "countersign"): "applied",
    ("pending", "refuse"): "refused",
    ("pending", "withdraw"): "withdrawn",
}
COUNTERSIGN_ROLE = "bureau_reviewer"
#: The kind of right each kind of move changes (what ``encumbrances`` is asked about).
SUBJECT_RIGHTS = {
    "plot_move": "plot",
    "share_transfer": "share_holding",
    "share_buy_back": "share_holding",
    "homestead_transfer": "homestead",
}


# --------------------------------------------------------------------------------------------
# Bases
# --------------------------------------------------------------------------------------------


def marketplace_refusal(field: str = "basis") -> DomainError:
    """The refusal of a direct move without a legal basis: a sale goes through the marketplace."""
    return DomainError(
        "basis_required",
        _(
            "A voluntary transfer or a paid exit is made through the marketplace. The registry "
            "moves a right directly only for a legal reason: inheritance, a court judgment or "
            "arbitration award, correction of a recording error, a readjustment approved by two "
            "thirds of the collective, or a member's exit decided by the collective. Choose the "
            "reason and cite its document."
        ),
        field=field,
    )


def basis_label(basis: str | None) -> str:
    label = BASES.get(basis or "")
    return str(label) if label is not None else (basis or "")


def kind_label(kind: str) -> str:
    label = KINDS.get(kind)
    return str(label) if label is not None else kind


def state_label(state: str) -> str:
    label = STATES.get(state)
    return str(label) if label is not None else state


def check_basis(kind: str, basis: Any, doc: SourceDocument | None = None) -> str:
    """The legal basis of a direct move: present, from the fixed list, accepted for this kind of
    move, and, for a readjustment or a member's exit, backed by the collective's resolution."""
    if basis is None or basis == "":
        raise marketplace_refusal()
    if not isinstance(basis, str) or basis not in BASES:
        raise DomainError(
            "basis_unknown", _("Choose the legal basis from the list."), field="basis"
        )
    if basis not in KIND_BASES[kind]:
        allowed = "、".join(basis_label(b) for b in BASES if b in KIND_BASES[kind])
        raise DomainError(
            "basis_not_allowed",
            _(
                "“%(basis)s” is not a legal basis for this move; it may rest on: %(allowed)s.",
                basis=basis_label(basis),
                allowed=allowed,
            ),
            field="basis",
        )
    if doc is not None and basis in RESOLUTION_BASES and doc.kind != "resolution":
        raise DomainError(
            "basis_document",
            _(
                "A readjustment or a member's exit rests on the collective's resolution: cite "
                "that resolution as the source document."
            ),
            field="source_document_id",
        )
    return basis


def check_disposal_basis(disposal: str, basis: Any) -> str | None:
    """How a homestead ended (R08's record): a sale, lease, gift or transfer of the house is
    recorded directly only as a correction of the record (an old transaction, recorded late) or
    by a court ruling; a sale today goes through the marketplace, a transfer to a household of
    the registry is a countersigned move. Returns the basis (None where none is needed)."""
    if disposal not in RECORDED_DISPOSALS:
        return basis or None
    if basis is None or basis == "":
        raise marketplace_refusal()
    if not isinstance(basis, str) or basis not in BASES:
        raise DomainError(
            "basis_unknown", _("Choose the legal basis from the list."), field="basis"
        )
    if basis not in DISPOSAL_BASES:
        raise DomainError(
            "basis_not_allowed",
            _(
                "A sale, lease, gift or transfer of the house is recorded here only as a "
                "correction of the record or by a court ruling; a transfer to another household "
                "of the collective is requested as a move and countersigned."
            ),
            field="basis",
        )
    return basis


# --------------------------------------------------------------------------------------------
# Kinds of move (move_kinds.py registers them)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a move is about, read from the registry: its collective and households."""

    uid: int
    collective_id: int
    from_household_uid: int | None
    to_household_uid: int | None


def _reason_for(basis: str, reason: str) -> str:
    """The change reason stored on the versions a move writes: the basis, then the reason."""
    return f"{basis_label(basis)}：{reason}"


@dataclass(frozen=True)
class MoveKind:
    """What a kind of move needs: the arguments it keeps (``clean``, types checked; the rules
    come later), its subject read from the registry, the function that applies it through the
    right's own service, and its "before / after" in plain words (``describe``)."""

    subject: Callable[[Any, dict], Subject]
    apply: Callable[[RightMove, dict], None]
    subject_field: str
    clean: Callable[[Any, dict], dict]
    describe: Callable[[RightMove, dict], tuple[str, list[Line]]]


_KINDS: dict[str, MoveKind] = {}


def register_kind(kind: str, spec: MoveKind) -> None:
    """Make ``kind`` (one of ``KINDS``) requestable (move_kinds.install, at app creation)."""
    _KINDS[kind] = spec


def reason_for(basis: str, reason: str) -> str:
    """The change reason stored on the versions a move writes: the basis, then the reason."""
    return f"{basis_label(basis)}：{reason}"


def arg_uid(raw: dict, name: str, *, required: bool = False) -> int | None:
    """The id argument ``name`` of a request (None when absent and not required)."""
    value = raw.get(name)
    if value is None or value == "" or value == 0:
        if required:
            raise DomainError("number_required", _("Give a valid number."), field=name)
        return None
    if not is_id(value):
        raise DomainError("number_required", _("Give a valid number."), field=name)
    return value


# --------------------------------------------------------------------------------------------
# Requests and decisions
# --------------------------------------------------------------------------------------------


def _actor() -> trail.AuditContext:
    ctx = trail.current()
    if ctx is None:
        raise trail.AuditContextMissing("no actor: set an audit context before writing")
    return ctx


def _dry_run(move: RightMove, args: dict) -> None:
    """Run the move's apply function in a savepoint and roll it back: every rule of the
    underlying service is checked now, exactly as the countersign will check it."""
    nested = db.session.begin_nested()
    try:
        _KINDS[move.kind].apply(move, args)
    finally:
        nested.rollback()


def request_move(
    kind: str,
    subject_uid: int,
    *,
    basis: str | None,
    source_document_id: int | None,
    reason: str,
    collective_id: int | None = None,
    **args: Any,
) -> RightMove:
    """Request a move of a right (issue 10: ownership moves only for a lawful reason).

    ``kind`` is one of ``KINDS``; ``subject_uid`` the plot, share holding or homestead;
    ``args`` what the kind needs (``to_contract_uid`` for a plot, None: back to the collective;
    ``to_household_uid`` / ``to_person_uid``, ``shares``, ``certificate_number`` for shares;
    ``to_household_uid`` for a homestead). The basis must be one the kind accepts, the document
    the collective's (its resolution for a readjustment or a member's exit), and the move must
    pass every rule of the service that will apply it, checked now; a right has at most one
    pending move. Nothing changes in the registry until a bureau reviewer countersigns.
    ``collective_id``: the collective the caller acts in; another's right is "not found".
    """
    if kind not in _KINDS:
        raise DomainError("move_kind", _("Choose what kind of move this is."), field="kind")
    spec = _KINDS[kind]
    if basis is None or basis == "":
        raise marketplace_refusal()
    reason = require_reason(reason)
    clean = spec.clean(subject_uid, args)
    subject = spec.subject(subject_uid, clean)
    if collective_id is not None and subject.collective_id != collective_id:
        raise NotFound("move_subject", _("No such right in this collective."), field="subject_uid")
    doc = source_document(source_document_id, subject.collective_id)
    check_basis(kind, basis, doc)
    encumbrances.check_not_blocked(SUBJECT_RIGHTS[kind], subject.uid, action="move")
    pending = db.session.scalar(
        select(RightMove.id).where(
            RightMove.subject_uid == subject.uid, RightMove.state == "pending"
        )
    )
    if pending is not None:
        raise DomainError(
            "move_pending",
            _(
                "A move of this right is already waiting for countersign (request no. %(id)s).",
                id=pending,
            ),
            field="subject_uid",
        )
    ctx = _actor()
    move = RightMove(
        collective_id=subject.collective_id,
        kind=kind,
        subject_uid=subject.uid,
        from_household_uid=subject.from_household_uid,
        to_household_uid=subject.to_household_uid,
        args=json.dumps(clean, sort_keys=True, ensure_ascii=False),
        basis=basis,
        source_document_id=doc.id,
        reason=reason,
        requested_by=ctx.actor,
        requested_by_id=ctx.actor_id,
        requested_at=utcnow(),
        state="pending",
    )
    _dry_run(move, clean)
    with trail.because("move.request", reason=reason, source_sha256=doc.sha256):
        try:
            with db.session.begin_nested():
                db.session.add(move)
                db.session.flush()
        except IntegrityError:
            # Another request for the same right got in between our check and our insert.
            raise DomainError(
                "move_pending",
                _("A move of this right is already waiting for countersign."),
                field="subject_uid",
            ) from None
    return move


def _locked_move(move_id: Any) -> RightMove:
    move = db.session.get(RightMove, move_id, with_for_update=True) if is_id(move_id) else None
    if move is None:
        raise NotFound("move_not_found", _("No such move request."), field="move_id")
    return move


def _step(move: RightMove, action: str) -> str:
    """The state ``action`` leads to from the move's state, or a clear refusal."""
    following = TRANSITIONS.get((move.state, action))
    if following is None:
        raise DomainError(
            "move_state",
            _(
                "This request is no longer waiting for countersign (it is: %(state)s); nothing "
                "was changed.",
                state=state_label(move.state),
            ),
            field="state",
        )
    return following


def _is_requester(move: RightMove, ctx: trail.AuditContext) -> bool:
    if move.requested_by_id is not None and ctx.actor_id is not None:
        return move.requested_by_id == ctx.actor_id
    return move.requested_by == ctx.actor


def _require_reviewer(move: RightMove, ctx: trail.AuditContext) -> None:
    if ctx.role != COUNTERSIGN_ROLE:
        raise DomainError(
            "countersign_role",
            _("Only a reviewer of the county bureau may countersign or refuse a move."),
        )
    if _is_requester(move, ctx):
        raise DomainError(
            "countersign_own",
            _("Whoever requested a move cannot countersign or refuse it; another reviewer must."),
        )


def countersign_move(move_id: int) -> RightMove:
    """Countersign (会签) a pending move and apply it: a bureau reviewer, never the requester.

    Every rule of the underlying service is checked again against the registry as it is now (a
    plot moved meanwhile, a recipient no longer on the roll, a cap reached) and the move is
    applied through that service, all or nothing; if a check fails, nothing is written and the
    request stays pending (to be refused with a reason).
    """
    move = _locked_move(move_id)
    ctx = _actor()
    _require_reviewer(move, ctx)
    following = _step(move, "countersign")
    encumbrances.check_not_blocked(SUBJECT_RIGHTS[move.kind], move.subject_uid, action="move")
    doc = db.session.get_one(SourceDocument, move.source_document_id)
    args = json.loads(move.args)
    with db.session.begin_nested():
        _KINDS[move.kind].apply(move, args)
        with trail.because("move.countersign", reason=move.reason, source_sha256=doc.sha256):
            move.state = following
            move.decided_by = ctx.actor
            move.decided_by_id = ctx.actor_id
            move.decided_at = utcnow()
            db.session.flush()
    return move


def refuse_move(move_id: int, reason: str) -> RightMove:
    """Refuse a pending move, with the reason the requester will read (a bureau reviewer)."""
    move = _locked_move(move_id)
    ctx = _actor()
    _require_reviewer(move, ctx)
    reason = require_reason(reason)
    following = _step(move, "refuse")
    with trail.because("move.refuse", reason=reason):
        move.state = following
        move.decided_by = ctx.actor
        move.decided_by_id = ctx.actor_id
        move.decided_at = utcnow()
        move.decision_reason = reason
        db.session.flush()
    return move


def withdraw_move(move_id: int, reason: str | None = None) -> RightMove:
    """The requester takes back a move that is still pending."""
    move = _locked_move(move_id)
    ctx = _actor()
    if not _is_requester(move, ctx):
        raise DomainError(
            "withdraw_not_requester",
            _("Only whoever requested a move may withdraw it."),
        )
    following = _step(move, "withdraw")
    note = require_reason(reason) if reason not in (None, "") else None
    with trail.because("move.withdraw", reason=note or _("Withdrawn by the requester.")):
        move.state = following
        move.decided_by = ctx.actor
        move.decided_by_id = ctx.actor_id
        move.decided_at = utcnow()
        move.decision_reason = note
        db.session.flush()
    return move


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def moves_page(
    user: Any,
    *,
    state: str | None = "pending",
    limit: int = 50,
    offset: int = 0,
    before: int | None = None,
) -> list[RightMove]:
    """A page of the move requests ``user`` may read, newest first (``before``: ids below)."""
    q = select(RightMove).where(readable(user, RightMove.collective_id))
    if state:
        q = q.where(RightMove.state == state)
    if before is not None:
        q = q.where(RightMove.id < before)
    return list(db.session.scalars(q.order_by(RightMove.id.desc()).limit(limit).offset(offset)))


def moves_of(subject_uid: int) -> list[RightMove]:
    """The move requests of one right, newest first."""
    return list(
        db.session.scalars(
            select(RightMove)
            .where(RightMove.subject_uid == subject_uid)
            .order_by(RightMove.id.desc())
            .limit(50)
        )
    )


def household_name(uid: int | None) -> str:
    if uid is None:
        return _("the collective")
    row = db.session.execute(
        select(Household.name, Household.cbfbm)
        .where(Household.uid == uid)
        .order_by(Household.version.desc())
        .limit(1)
    ).first()
    return f"{row.name}（{row.cbfbm}）" if row else f"#{uid}"


def contract_name(uid: int | None) -> str:
    if uid is None:
        return _("back to the collective")
    contract = db.session.scalar(
        select(LandContract)
        .where(LandContract.uid == uid)
        .order_by(LandContract.version.desc())
        .limit(1)
    )
    if contract is None:
        return f"#{uid}"
    return f"{contract.cbhtbm} · {household_name(contract.household_uid)}"


@dataclass
class Line:
    """One line of a move's "before / after", in plain words."""

    label: str
    before: str
    after: str


def describe(move: RightMove) -> tuple[str, list[Line]]:
    """What the move is about and what it changes, in plain words: (subject, lines)."""
    return _KINDS[move.kind].describe(move, json.loads(move.args))
