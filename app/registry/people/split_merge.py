"""Life events that reshape households, with the collective's approval: split (分户) and
merger (合户). Each is one transaction: all of it, or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.errors import DomainError
from app.extensions import db
from app.registry import history, inputs
from app.registry.documents import citable_document
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import (
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Plot,
    ShareHolding,
    SourceDocument,
)
from app.registry.people._common import (
    HEAD,
    _collective,
    _household,
    _kept_rows,
    _live_in,
    _member_row,
    _person,
    _relation,
    _require_not_head,
    _residents,
    _same_collective_household,
    _writing,
)
from app.registry.people.households import (
    _new_household_code,
)
from app.registry.people.succession import (
    _cancel_certificates,
    _carry_plots,
    _current_contract,
    _move_holding,
    contract_plots,
)

# Kinds of source document that carry the collective's approval of a split or merger.
APPROVAL_KINDS = ("resolution", "approval")


def _approval(source_document_id: Any, collective_id: int) -> SourceDocument:
    """The collective's approval of a split or merger: a resolution or approval document."""
    doc = citable_document(source_document_id, collective_id)
    if doc is None or doc.kind not in APPROVAL_KINDS:
        raise DomainError(
            "approval_required",
            _(
                "A household splits or merges with the collective's approval: cite its "
                "resolution or approval document."
            ),
            field="source_document_id",
            rule="R01",
        )
    return doc


def split_household(
    household_uid: int,
    person_uids: list[int],
    head_person_uid: int,
    reason: str,
    *,
    source_document_id: int,
    plot_uids: Iterable[int] = (),
    cbfbm: str | None = None,
    name: str | None = None,
    address: str | None = None,
    relations: dict[int, str] | None = None,
    today: date | None = None,
) -> Household:
    """分户: some members leave to form a new household, with the collective's approval (a
    resolution or approval document), taking their share of the rights along.

    The new household gets the next free CBFBM (as creating a household does) and ``head``
    as its head; the chosen plots go to a new contract of the new household with the old
    contract's term. The movers stop co-holding the old household's remaining rights and
    co-hold the new household's (R01). One transaction: all of it, or nothing.
    """
    reason = _reason(reason)
    household = _household(household_uid, lock=True)
    collective = _collective(household.collective_id)
    doc = _approval(source_document_id, collective.id)
    if not isinstance(person_uids, list | tuple | set) or not person_uids:
        raise DomainError(
            "members_required", _("Choose the members who form the new household."), field="members"
        )
    residents = {r.person_uid: r for r in _residents(household.uid)}
    movers = []
    for uid in dict.fromkeys(person_uids):
        row = residents.get(uid) if isinstance(uid, int) else None
        if row is None:
            raise DomainError(
                "not_in_household",
                _("Only people who live in this household can move to the new one."),
                field="members",
            )
        _require_not_head(row, "members")
        movers.append(row)
    if head_person_uid not in {r.person_uid for r in movers}:
        raise DomainError(
            "head_required",
            _("The head of the new household must be one of the members who move."),
            field="head_person_uid",
        )
    relations = dict(relations or {})
    for uid, relation in relations.items():
        if uid != head_person_uid:
            relations[uid] = _relation(relation)
    code = _new_household_code(collective, cbfbm)
    contract = _current_contract(household.uid)
    plots: list[Plot] = []
    wanted = list(dict.fromkeys(plot_uids or ()))
    if wanted:
        own = {p.uid: p for p in contract_plots(contract.uid)} if contract is not None else {}
        for uid in wanted:
            if uid not in own:
                raise DomainError(
                    "plot_unknown",
                    _("Only plots of this household's contract can go to the new household."),
                    field="plots",
                )
            plots.append(own[uid])
    head = _person(head_person_uid)
    name = inputs.text(name if isinstance(name, str) else None, "name", "name") or head.name
    address = inputs.text(address if isinstance(address, str) else None, "address", "address")
    with _writing("household.split", reason=reason, source_sha256=doc.sha256):
        new = history.create(
            Household,
            reason=reason,
            source_document_id=doc.id,
            cbfbm=code,
            collective_id=collective.id,
            name=name,
            address=address or household.address,
        )
        for row in movers:
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="split")
            history.create(
                HouseholdMember,
                reason=reason,
                source_document_id=doc.id,
                household_uid=new.uid,
                person_uid=row.person_uid,
                collective_id=collective.id,
                relation=HEAD
                if row.person_uid == head_person_uid
                else relations.get(row.person_uid, row.relation),
                is_co_holder=row.is_co_holder or row.person_uid == head_person_uid,
            )
        if plots and contract is not None:
            _carry_plots(plots, contract, new, reason=reason, doc_id=doc.id)
    return new


def merge_households(
    from_household_uid: int,
    into_household_uid: int,
    reason: str,
    *,
    source_document_id: int,
    relations: dict[int, str] | None = None,
    today: date | None = None,
) -> Household:
    """合户: one household joins another with the collective's approval (a resolution or
    approval document), bringing its members and rights: its plots into the other's contract,
    its homestead and its shares (conserved, R10); it then ends. Members who had moved out and
    kept co-holding (Art. 31) keep it in the merged household. R07: a merger may not give one
    household two homesteads. Returns the household that goes on.
    """
    reason = _reason(reason)
    source = _household(from_household_uid, lock=True)
    target = _same_collective_household(
        into_household_uid, source.collective_id, "into_household_uid"
    )
    if target.uid == source.uid:
        raise DomainError(
            "same_household",
            _("Choose another household to merge with."),
            field="into_household_uid",
        )
    doc = _approval(source_document_id, source.collective_id)
    relations = {k: _relation(v) for k, v in (relations or {}).items()}
    if any(v == HEAD for v in relations.values()):
        raise DomainError("head_exists", _("This household has a head already."), field="relation")

    def homestead_of(uid: int) -> Homestead | None:
        return db.session.scalar(
            select(Homestead).where(
                Homestead.household_uid == uid,
                Homestead.end_lifespan.is_(None),
                Homestead.disposal.is_(None),
            )
        )

    moving_homestead = homestead_of(source.uid)
    if moving_homestead is not None and homestead_of(target.uid) is not None:
        raise DomainError(
            "two_homesteads",
            _(
                "Both households hold a homestead, and one household holds one homestead: "
                "settle one of them first."
            ),
            field="into_household_uid",
            rule="R07",
        )
    with _writing("household.merge", reason=reason, source_sha256=doc.sha256):
        for row in _residents(source.uid):
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="merged")
            relation = relations.get(row.person_uid) or (
                "97" if row.relation == HEAD else row.relation
            )
            _live_in(
                target,
                row.person_uid,
                relation,
                row.is_co_holder,
                kept=_member_row(target.uid, row.person_uid),  # co-holding kept from a move
                reason=reason,
                source_document_id=doc.id,
            )
        for row in _kept_rows(source.uid):
            # Moved out but co-holding (Art. 31): they co-hold the rights where the rights go.
            history.end(row, reason=reason, source_document_id=doc.id, end_reason="merged")
            if _member_row(target.uid, row.person_uid) is not None:
                continue
            history.create(
                HouseholdMember,
                reason=reason,
                source_document_id=doc.id,
                household_uid=target.uid,
                person_uid=row.person_uid,
                collective_id=target.collective_id,
                relation=row.relation,
                is_co_holder=row.is_co_holder,
                moved_out_on=row.moved_out_on,
            )
        contract = _current_contract(source.uid)
        if contract is not None:
            _carry_plots(
                contract_plots(contract.uid), contract, target, reason=reason, doc_id=doc.id
            )
            history.end(
                history.require_current(LandContract, contract.uid),
                reason=reason,
                source_document_id=doc.id,
            )
            _cancel_certificates(contract.uid, _today(today), reason, doc.id)
        if moving_homestead is not None:
            history.revise(
                moving_homestead,
                reason=reason,
                source_document_id=doc.id,
                household_uid=target.uid,
            )
        for holding in db.session.scalars(
            select(ShareHolding).where(
                ShareHolding.household_uid == source.uid, ShareHolding.end_lifespan.is_(None)
            )
        ).all():
            _move_holding(holding, target.uid, reason=reason, doc_id=doc.id)
        history.end(source, reason=reason, source_document_id=doc.id, end_reason="merged")
    return history.current_of(Household, target.uid) or target
