"""What weighs on a right (issue 14 §6): pledges, disputes, court freezes, and (recorded by the
leases) leases of the land-management right; open objections to a public notice are read through.

One function the rest of the code asks before it changes a right: ``blocking_encumbrance``. It
answers in plain words, or None:

* a court freeze (查封) blocks every change: listing, transfer, exit, lease, exchange, moves,
  plot edits, splits and merges, renewal, certificates;
* a pledge of the 经营权 for a loan (承包法 Art. 47) blocks a transfer, an exit and an exchange
  of the pledged land, not a lease (the lender's security is the management right, which a
  lease does not take away) nor a correction;
* a dispute, and an open objection to the right's public notice, block listing (transfer, exit,
  lease) and exchange; a move on a legal basis (a court ruling, a correction) stays possible, as
  it may be what settles the dispute;
* a lease blocks nothing here: what a lease excludes (another lease of the same land) is the
  leases' own check.

What can carry which (``CARRIERS``): a pledge is of the land-management right, so it sits on a
contract or on some of its plots; a homestead use right cannot be mortgaged (民法典 Art. 399) and
collective shares move only inside the collective (R10), so neither is pledged here. A dispute
or a freeze may weigh on any of the four rights. Weights on a contract reach all its plots and
weights on a plot reach its contract, so a freeze on one plot holds back a listing of the whole
contract, and a freeze on the contract holds back an exchange of any of its plots.

Who records: the collective's administrator records and releases pledges and disputes of their
collective; a court freeze (and its release) is served on the county's registration authority,
so a reviewer of the county bureau records it. Records are written once; a release is a fact of
its own with its document and reason (``EncumbranceRelease``). Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.core import codes
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.registry import history
from app.registry.documents import source_document
from app.registry.inputs import is_id, require_date, require_reason, text, today_or
from app.registry.models import (
    Encumbrance,
    EncumbranceRelease,
    Homestead,
    LandContract,
    Objection,
    Plot,
    PublicNotice,
    ShareHolding,
)

KINDS = {
    "pledge": _l("Pledge of the land-management right for a loan"),
    "dispute": _l("Dispute over the right"),
    "freeze": _l("Court freeze"),
    "lease": _l("Lease of the land-management right"),
}
#: Recorded here; a lease is recorded by the leases (issue 14 parts 1–4).
RECORDABLE = ("pledge", "dispute", "freeze")
RIGHT_KINDS = ("land_contract", "plot", "homestead", "share_holding")
RIGHT_MODELS: dict[str, Any] = {
    "land_contract": LandContract,
    "plot": Plot,
    "homestead": Homestead,
    "share_holding": ShareHolding,
}
CARRIERS: dict[str, frozenset[str]] = {
    "pledge": frozenset({"land_contract", "plot"}),
    "dispute": frozenset(RIGHT_KINDS),
    "freeze": frozenset(RIGHT_KINDS),
    "lease": frozenset({"land_contract", "plot"}),
}
#: What a caller is about to do to a right.
ACTIONS = frozenset(
    {"transfer", "exit", "lease", "exchange", "move", "edit", "renew", "certificate"}
)
BLOCKS: dict[str, frozenset[str]] = {
    "freeze": ACTIONS,
    "pledge": frozenset({"transfer", "exit", "exchange"}),
    "dispute": frozenset({"transfer", "exit", "lease", "exchange"}),
    "objection": frozenset({"transfer", "exit", "lease", "exchange"}),
    "lease": frozenset(),
}
#: Who records and releases each kind (the demo and the command line act as "system").
RECORDERS = {
    "pledge": frozenset({"collective_admin", "system"}),
    "dispute": frozenset({"collective_admin", "system"}),
    "freeze": frozenset({"bureau_reviewer", "system"}),
}


def kind_label(kind: str) -> str:
    if kind == "objection":
        return _("Objection to the public notice")
    label = KINDS.get(kind)
    return str(label) if label is not None else kind


def in_force_on(day: date) -> Any:
    """The SQL condition of an encumbrance in force on ``day``: begun, not ended, not released."""
    return (
        (Encumbrance.starts_on <= day)
        & or_(Encumbrance.ends_on.is_(None), Encumbrance.ends_on >= day)
        & ~exists().where(EncumbranceRelease.encumbrance_id == Encumbrance.id)
    )


def _related_uids(right_kind: str, right_uid: int) -> list[int]:
    """The right and what shares its weights: a contract's current plots, a plot's contract."""
    uids = [right_uid]
    if right_kind == "land_contract":
        uids += db.session.scalars(
            select(Plot.uid).where(Plot.contract_uid == right_uid, Plot.end_lifespan.is_(None))
        )
    elif right_kind == "plot":
        contract_uid = db.session.scalar(
            select(Plot.contract_uid).where(Plot.uid == right_uid, Plot.end_lifespan.is_(None))
        )
        if contract_uid is not None:
            uids.append(contract_uid)
    return uids


def _open_objections(uids: list[int]) -> list[tuple[Objection, PublicNotice]]:
    rows = db.session.execute(
        select(Objection, PublicNotice)
        .join(PublicNotice, PublicNotice.id == Objection.notice_id)
        .where(
            PublicNotice.right_uid.in_(uids),
            PublicNotice.status == "open",
            Objection.status == "open",
        )
        .order_by(Objection.id)
    ).all()
    return [(o, n) for o, n in rows]


def _refusal(e: Encumbrance) -> DomainError:
    day = e.starts_on.isoformat()
    if e.kind == "freeze":
        message = _(
            "The right is frozen by %(court)s (case %(case)s) since %(day)s: nothing can be "
            "changed on it until the court's freeze is released.",
            court=e.party_name,
            case=e.case_number or "—",
            day=day,
        )
    elif e.kind == "pledge":
        message = _(
            "The land-management right is pledged to %(lender)s since %(day)s: the land cannot "
            "be transferred, given up or exchanged until the pledge is released.",
            lender=e.party_name,
            day=day,
        )
    elif e.kind == "dispute":
        message = _(
            "A dispute over the right with %(party)s is recorded since %(day)s: it cannot be "
            "offered, leased or exchanged until the dispute is settled.",
            party=e.party_name,
            day=day,
        )
    else:
        message = _(
            "The land is leased since %(day)s: this cannot be done while the lease runs.", day=day
        )
    return DomainError(f"encumbered_{e.kind}", message)


def blocking_encumbrance(
    right_kind: str, right_uid: int, *, action: str, on: date | None = None
) -> DomainError | None:
    """Why ``action`` cannot be done to the right now because of what weighs on it, or None.

    ``right_kind``: land_contract / plot / homestead / share_holding; ``action``: one of
    ``ACTIONS``. The one check every write path that changes a right calls (module docstring:
    what blocks what)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    day = today_or(on)
    uids = _related_uids(right_kind, right_uid)
    kinds = [k for k, blocked in BLOCKS.items() if action in blocked and k != "objection"]
    found = db.session.scalar(
        select(Encumbrance)
        .where(Encumbrance.right_uid.in_(uids), Encumbrance.kind.in_(kinds), in_force_on(day))
        # a freeze first: it says the most
        .order_by((Encumbrance.kind != "freeze"), Encumbrance.id)
        .limit(1)
    )
    if found is not None:
        return _refusal(found)
    if action in BLOCKS["objection"] and _open_objections(uids):
        return DomainError(
            "encumbered_objection",
            _(
                "An objection to the right's public notice is still open: it cannot be offered, "
                "leased or exchanged until the objection is resolved."
            ),
        )
    return None


def check_not_blocked(right_kind: str, right_uid: int, *, action: str, on: date | None = None):
    """``blocking_encumbrance``, raised."""
    problem = blocking_encumbrance(right_kind, right_uid, action=action, on=on)
    if problem is not None:
        raise problem


# --------------------------------------------------------------------------------------------
# Recording and releasing
# --------------------------------------------------------------------------------------------


def _actor() -> trail.AuditContext:
    ctx = trail.current()
    if ctx is None:
        raise trail.AuditContextMissing("no actor: set an audit context before writing")
    return ctx


def _check_recorder(kind: str, ctx: trail.AuditContext) -> None:
    if ctx.role not in RECORDERS[kind]:
        if kind == "freeze":
            message = _("A court freeze is recorded and released by the county bureau.")
        else:
            message = _(
                "Pledges and disputes are recorded and released by the collective's administrator."
            )
        raise DomainError("encumbrance_recorder", message, field="kind")


def _right(right_kind: Any, right_uid: Any, collective_id: int | None) -> Any:
    if right_kind not in RIGHT_MODELS:
        raise DomainError("right_kind", _("Unknown kind of right."), field="right_kind")
    right = (
        history.current_of(RIGHT_MODELS[right_kind], right_uid, lock=True)
        if is_id(right_uid)
        else None
    )
    if right is None or (collective_id is not None and right.collective_id != collective_id):
        raise NotFound(
            "right_not_found", _("No current right with this number."), field="right_uid"
        )
    return right


def _contract_end(right_kind: str, right: Any) -> date | None:
    if right_kind == "land_contract":
        return right.term_end
    if right_kind == "plot" and right.contract_uid is not None:
        contract = history.current_of(LandContract, right.contract_uid)
        return contract.term_end if contract is not None else None
    return None


def record_encumbrance(
    kind: Any,
    right_kind: Any,
    right_uid: Any,
    *,
    party_name: Any,
    starts_on: Any,
    source_document_id: Any,
    ends_on: Any = None,
    party_uscc: Any = None,
    case_number: Any = None,
    note: Any = None,
    collective_id: int | None = None,
    today: date | None = None,
) -> Encumbrance:
    """Record a pledge, a dispute or a court freeze on a right, with its dates and document.

    A pledge (Art. 47) names the lender and its USCC, sits on a contract or a plot and ends
    by the day the contract's term ends (R02: nothing runs past it); a freeze names the court and
    its case number; a dispute names the other party. ``collective_id``: the collective the
    caller acts in; another collective's right is "not found"."""
    if kind == "lease":
        raise DomainError(
            "encumbrance_kind",
            _("A lease is recorded with the lease itself, not here."),
            field="kind",
        )
    if kind not in RECORDABLE:
        raise DomainError(
            "encumbrance_kind", _("Choose what weighs on the right from the list."), field="kind"
        )
    ctx = _actor()
    _check_recorder(kind, ctx)
    right = _right(right_kind, right_uid, collective_id)
    if right_kind not in CARRIERS[kind]:
        raise DomainError(
            "encumbrance_carrier",
            _(
                "Only the land-management right of contracted land (the contract or some of its "
                "plots) can be pledged; a homestead or collective shares cannot."
            ),
            field="right_kind",
        )
    day = today_or(today)
    party = text(party_name, "party_name", "name", required=True)
    uscc = None
    case = text(case_number, "case_number", "code")
    if kind == "pledge":
        if party_uscc in (None, ""):
            raise DomainError(
                "uscc_required",
                _("Give the lender's unified social credit code."),
                field="party_uscc",
            )
        if not isinstance(party_uscc, str):
            raise DomainError(
                "uscc_required",
                _("Give the lender's unified social credit code."),
                field="party_uscc",
            )
        try:
            uscc = codes.validate_uscc(party_uscc)
        except codes.CodeError as exc:
            raise DomainError.from_check(exc, field="party_uscc") from exc
    if kind == "freeze" and not case:
        raise DomainError("case_required", _("Give the court's case number."), field="case_number")
    begins = require_date(starts_on, "starts_on")
    ends = require_date(ends_on, "ends_on") if ends_on not in (None, "") else None
    if kind == "pledge" and ends is None:
        raise DomainError(
            "ends_required", _("Give the day the pledge ends (the loan's term)."), field="ends_on"
        )
    if ends is not None and ends < begins:
        raise DomainError("date_order", _("The end cannot come before the start."), field="ends_on")
    if ends is not None and ends < day:
        raise DomainError(
            "already_ended", _("This has already ended: nothing to record."), field="ends_on"
        )
    term_end = _contract_end(right_kind, right)
    if kind == "pledge" and term_end is not None and ends is not None and ends > term_end:
        raise DomainError(
            "beyond_contract_term",
            _(
                "The pledge would run until %(end)s, past the contract's term (%(term)s): no "
                "pledge may run past the remaining term.",
                end=ends.isoformat(),
                term=term_end.isoformat(),
            ),
            field="ends_on",
            rule="R02",
        )
    remark = text(note, "note", "note")
    doc = source_document(source_document_id, right.collective_id)
    row = Encumbrance(
        collective_id=right.collective_id,
        kind=kind,
        right_kind=right_kind,
        right_uid=right.uid,
        party_name=party,
        party_uscc=uscc,
        case_number=case,
        starts_on=begins,
        ends_on=ends,
        note=remark,
        source_document_id=doc.id,
        recorded_by=ctx.actor,
        recorded_by_id=ctx.actor_id,
        recorded_at=utcnow(),
    )
    with trail.because(
        "encumbrance.record", reason=remark or kind_label(kind), source_sha256=doc.sha256
    ):
        db.session.add(row)
        db.session.flush()
    return row


def release_encumbrance(
    encumbrance_id: Any,
    *,
    released_on: Any,
    reason: Any,
    source_document_id: Any,
    collective_id: int | None = None,
    today: date | None = None,
) -> EncumbranceRelease:
    """Release a pledge, dispute or freeze (解除): a new fact with its own document and reason;
    the encumbrance itself is kept as it was recorded."""
    row = (
        db.session.get(Encumbrance, encumbrance_id, with_for_update=True)
        if is_id(encumbrance_id)
        else None
    )
    if row is None or (collective_id is not None and row.collective_id != collective_id):
        raise NotFound("encumbrance_not_found", _("Not found."), field="encumbrance_id")
    if row.kind not in RECORDABLE:
        raise DomainError(
            "encumbrance_kind", _("A lease ends with the lease itself, not here."), field="kind"
        )
    ctx = _actor()
    _check_recorder(row.kind, ctx)
    if release_of(row.id) is not None:
        raise DomainError("already_released", _("This has already been released."))
    reason = require_reason(reason)
    day = require_date(released_on, "released_on")
    if day > today_or(today):
        raise DomainError(
            "future_date", _("The release cannot be dated in the future."), field="released_on"
        )
    if day < row.starts_on:
        raise DomainError(
            "date_order",
            _("The release cannot come before the start (%(day)s).", day=row.starts_on.isoformat()),
            field="released_on",
        )
    doc = source_document(source_document_id, row.collective_id)
    release = EncumbranceRelease(
        encumbrance_id=row.id,
        collective_id=row.collective_id,
        released_on=day,
        reason=reason,
        source_document_id=doc.id,
        recorded_by=ctx.actor,
        recorded_by_id=ctx.actor_id,
        recorded_at=utcnow(),
    )
    with trail.because("encumbrance.release", reason=reason, source_sha256=doc.sha256):
        try:
            with db.session.begin_nested():
                db.session.add(release)
                db.session.flush()
        except IntegrityError:
            raise DomainError("already_released", _("This has already been released.")) from None
    return release


def record_lease_encumbrance(
    plot: Plot,
    *,
    lease_id: int,
    lease_number: str,
    party_name: str,
    party_uscc: str | None,
    starts_on: date,
    ends_on: date,
    source_document_id: int | None,
) -> Encumbrance:
    """The registry's record of a lease of the 经营权 on one plot (kind "lease"), written by the
    leases when a lease comes into force, so the plot's and contract's pages and the title checks
    see it. It names its lease (``lease_id``) and cites the lease's document; a lease on no
    paper (one year or less between members, R05) cites the lease record alone. The lease's own
    number is kept as ``case_number``: it finds the row again at the lease's ending. Who may
    record a lease is the leases' rule, not ``RECORDERS``."""
    ctx = _actor()
    doc = (
        source_document(source_document_id, plot.collective_id)
        if source_document_id is not None
        else None
    )
    row = Encumbrance(
        collective_id=plot.collective_id,
        kind="lease",
        right_kind="plot",
        right_uid=plot.uid,
        party_name=party_name[:120],
        party_uscc=party_uscc,
        case_number=lease_number,
        starts_on=starts_on,
        ends_on=ends_on,
        source_document_id=doc.id if doc is not None else None,
        lease_id=lease_id,
        recorded_by=ctx.actor,
        recorded_by_id=ctx.actor_id,
        recorded_at=utcnow(),
    )
    with trail.because(
        "encumbrance.record",
        reason=kind_label("lease"),
        source_sha256=doc.sha256 if doc is not None else None,
    ):
        db.session.add(row)
        db.session.flush()
    return row


def lease_encumbrances(lease_number: str) -> list[Encumbrance]:
    """The registry's lease records of one lease (one per plot), oldest first."""
    return list(
        db.session.scalars(
            select(Encumbrance)
            .where(Encumbrance.kind == "lease", Encumbrance.case_number == lease_number)
            .order_by(Encumbrance.id)
        )
    )


def release_lease_encumbrances(
    lease_number: str,
    *,
    released_on: date,
    reason: str,
    source_document_id: int | None,
    lease_ending_id: int,
) -> list[EncumbranceRelease]:
    """The lease ended: release its records, citing the document of the ending, else each
    record's own, else (a lease on no paper) the lease's ending itself. Records already
    released are left as they are."""
    ctx = _actor()
    out = []
    for row in lease_encumbrances(lease_number):
        if release_of(row.id) is not None:
            continue
        cited = source_document_id or row.source_document_id
        doc = source_document(cited, row.collective_id) if cited is not None else None
        release = EncumbranceRelease(
            encumbrance_id=row.id,
            collective_id=row.collective_id,
            released_on=max(released_on, row.starts_on),
            reason=reason,
            source_document_id=doc.id if doc is not None else None,
            lease_ending_id=lease_ending_id,
            recorded_by=ctx.actor,
            recorded_by_id=ctx.actor_id,
            recorded_at=utcnow(),
        )
        with trail.because(
            "encumbrance.release",
            reason=reason,
            source_sha256=doc.sha256 if doc is not None else None,
        ):
            db.session.add(release)
            db.session.flush()
        out.append(release)
    return out


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def release_of(encumbrance_id: int) -> EncumbranceRelease | None:
    return db.session.scalar(
        select(EncumbranceRelease).where(EncumbranceRelease.encumbrance_id == encumbrance_id)
    )


@dataclass
class Weight:
    """One thing that weighs (or weighed) on a right, in words, for its page and the API."""

    kind: str
    label: str
    party: str
    starts_on: date
    ends_on: date | None
    in_force: bool
    on_itself: bool  # on this very right (else on its contract or one of its plots)
    encumbrance: Encumbrance | None = None
    release: EncumbranceRelease | None = None


def _party_words(e: Encumbrance) -> str:
    if e.kind == "freeze" and e.case_number:
        return f"{e.party_name}（{e.case_number}）"
    return e.party_name


def encumbrances_of(
    right_kind: str, right_uid: int, *, on: date | None = None, released: bool = True
) -> list[Weight]:
    """What weighs on the right (and on its contract or plots), newest first: encumbrances,
    with their releases when ``released``, and open objections to its public notice."""
    day = today_or(on)
    uids = _related_uids(right_kind, right_uid)
    rows = list(
        db.session.scalars(
            select(Encumbrance)
            .where(Encumbrance.right_uid.in_(uids))
            .order_by(Encumbrance.id.desc())
            .limit(100)
        )
    )
    releases = {
        r.encumbrance_id: r
        for r in db.session.scalars(
            select(EncumbranceRelease).where(
                EncumbranceRelease.encumbrance_id.in_([e.id for e in rows] or [-1])
            )
        )
    }
    out = []
    for e in rows:
        release = releases.get(e.id)
        live = release is None and e.starts_on <= day and (e.ends_on is None or e.ends_on >= day)
        if not live and not released:
            continue
        out.append(
            Weight(
                kind=e.kind,
                label=kind_label(e.kind),
                party=_party_words(e),
                starts_on=e.starts_on,
                ends_on=e.ends_on,
                in_force=live,
                on_itself=e.right_uid == right_uid,
                encumbrance=e,
                release=release,
            )
        )
    for objection, notice in _open_objections(uids):
        out.append(
            Weight(
                kind="objection",
                label=kind_label("objection"),
                party=objection.lodged_by,
                starts_on=objection.lodged_on,
                ends_on=None,
                in_force=True,
                on_itself=notice.right_uid == right_uid,
            )
        )
    return out


def right_of(e: Encumbrance) -> Any | None:
    """The right an encumbrance weighs on, as it is now (or its last version)."""
    model = RIGHT_MODELS[e.right_kind]
    return history.current_of(model, e.right_uid) or history.latest_version(model, e.right_uid)
