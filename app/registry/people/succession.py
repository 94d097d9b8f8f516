"""What becomes of rights when a holder dies or a household dies out or changes (继承, R01, R10):
the helpers the life events share, the charter's rule on shares, and the record of successions.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry.inputs import require_reason as _reason
from app.registry.models import (
    Certificate,
    Homestead,
    Household,
    LandContract,
    Person,
    Plot,
    ShareHolding,
    Succession,
)
from app.registry.people._common import (
    _collective,
    _is_uid,
    _kept_rows,
    _same_collective_household,
    _writing,
    resident_row,
)

# What becomes of a dead member's shares, as the collective's charter says (生不增、死不减).
SHARE_INHERITANCE = {
    "heir": _l("They pass to the heir household"),
    "collective": _l("They return to the collective"),
}


# What became of a right when its holder died or its household died out (``Succession``).
SUCCESSION_OUTCOMES = {
    ("land_contract", "income_inherited"): _l("The contract's income is inherited"),
    ("land_contract", "returned"): _l("The contract ended; its land returned to the collective"),
    ("land_contract", "continued"): _l("The contract goes on in a co-holder's household"),
    ("share_holding", "to_heir"): _l("The shares passed to the heir household"),
    ("share_holding", "returned"): _l("The shares returned to the collective"),
    ("homestead", "pending"): _l(
        "The house is inherited with its homestead: record the heir on the homestead's page"
    ),
}


def _current_contract(household_uid: int) -> LandContract | None:
    return db.session.scalar(
        select(LandContract).where(
            LandContract.household_uid == household_uid, LandContract.end_lifespan.is_(None)
        )
    )


def contract_plots(contract_uid: int) -> list[Plot]:
    """The contract's current plots, by code."""
    return list(
        db.session.scalars(
            select(Plot)
            .where(Plot.contract_uid == contract_uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
        )
    )


def _carry_plots(
    plots: list[Plot],
    source: LandContract,
    to_household: Household,
    *,
    reason: str,
    doc_id: int,
) -> LandContract:
    """Move plots of ``source`` into the contract of ``to_household`` (made with the same term
    and status when it has none), and bring both contracts' total areas (HTZMJ) up to date."""
    from app.registry.land import _sync_contract_area

    target = _current_contract(to_household.uid)
    if target is None:
        target = history.create(
            LandContract,
            reason=reason,
            source_document_id=doc_id,
            cbhtbm=to_household.cbfbm + "J",
            household_uid=to_household.uid,
            collective_id=to_household.collective_id,
            term_start=source.term_start,
            term_end=source.term_end,
            contract_area_m2=0.0,
            status=source.status,
        )
    for plot in plots:
        history.revise(
            plot,
            reason=reason,
            source_document_id=doc_id,
            contract_uid=target.uid,
            household_uid=to_household.uid,
        )
    _sync_contract_area(target.uid, source_document_id=doc_id, reason=reason)
    _sync_contract_area(source.uid, source_document_id=doc_id, reason=reason)
    return target


def _move_holding(holding: ShareHolding, household_uid: int, *, reason: str, doc_id: int) -> None:
    """Shares pass whole to a household: joined to its holding of the same type, or re-held.
    Nothing is created or destroyed, so the collective's total is conserved (R10)."""
    target = db.session.scalar(
        select(ShareHolding).where(
            ShareHolding.collective_id == holding.collective_id,
            ShareHolding.household_uid == household_uid,
            ShareHolding.share_type == holding.share_type,
            ShareHolding.end_lifespan.is_(None),
            ShareHolding.uid != holding.uid,
        )
    )
    if target is None:
        history.revise(
            holding,
            reason=reason,
            source_document_id=doc_id,
            household_uid=household_uid,
            person_uid=None,
        )
        return
    amount = holding.shares
    history.end(holding, reason=reason, source_document_id=doc_id)
    history.revise(target, reason=reason, source_document_id=doc_id, shares=target.shares + amount)


def _cancel_certificates(right_uid: int, day: date, reason: str, doc_id: int) -> None:
    """注销: the valid certificate of a right that ended stops being valid on that day."""
    for cert in db.session.scalars(
        select(Certificate).where(Certificate.right_uid == right_uid, Certificate.status == "valid")
    ).all():
        cert.status = "cancelled"
        cert.ended_on = max(day, cert.issued_on)
        cert.reason = f"{cert.reason or ''}\n[cancelled] {reason}".strip()
        if cert.source_document_id is None:
            cert.source_document_id = doc_id
    db.session.flush()


def _note(
    collective_id: int,
    day: date,
    right_kind: str,
    outcome: str,
    *,
    right_uid: int | None = None,
    deceased_uid: int | None = None,
    household_uid: int | None = None,
    heir_person_uid: int | None = None,
    heir_household_uid: int | None = None,
    note: str | None = None,
    doc_id: int | None = None,
) -> Succession:
    row = Succession(
        collective_id=collective_id,
        happened_on=day,
        right_kind=right_kind,
        right_uid=right_uid,
        outcome=outcome,
        deceased_uid=deceased_uid,
        household_uid=household_uid,
        heir_person_uid=heir_person_uid,
        heir_household_uid=heir_household_uid,
        note=note,
        source_document_id=doc_id,
    )
    db.session.add(row)
    db.session.flush()
    return row


def set_share_inheritance(collective_id: int, value: str, reason: str) -> Collective:
    """Record the charter's rule for a dead member's shares (生不增、死不减, R10): ``heir`` (they
    pass to the heir household) or ``collective`` (they return to the collective)."""
    reason = _reason(reason)
    collective = _collective(collective_id)
    if value not in SHARE_INHERITANCE:
        raise DomainError(
            "share_inheritance",
            _("Choose what the charter says becomes of a dead member's shares."),
            field="share_inheritance",
        )
    with _writing("collective.charter", reason=reason, source_sha256=None):
        collective.share_inheritance = value
        db.session.flush()
    return collective


def share_inheritance(collective: Collective) -> str:
    """The charter's answer to what becomes of a dead member's shares (default: the heir)."""
    return collective.share_inheritance or "heir"


def _pass_shares(
    holdings: list[ShareHolding],
    collective: Collective,
    heir_household_uid: int | None,
    *,
    day: date,
    reason: str,
    doc_id: int,
    deceased_uid: int | None = None,
    household_uid: int | None = None,
) -> None:
    """Shares of a dead member or a household that died out, as the charter says: passed whole
    to the heir household, or returned to the collective (生不增、死不减: the total stays)."""
    if not holdings:
        return
    if share_inheritance(collective) == "collective":
        for holding in holdings:
            history.end(holding, reason=reason, source_document_id=doc_id)
            _note(
                collective.id,
                day,
                "share_holding",
                "returned",
                right_uid=holding.uid,
                deceased_uid=deceased_uid,
                household_uid=household_uid,
                doc_id=doc_id,
            )
        return
    if heir_household_uid is None:
        raise DomainError(
            "heir_required",
            _(
                "The collective's charter passes the shares to the heir: choose the household "
                "that inherits them."
            ),
            field="heir_household_uid",
            rule="R10",
        )
    for holding in holdings:
        _move_holding(holding, heir_household_uid, reason=reason, doc_id=doc_id)
        _note(
            collective.id,
            day,
            "share_holding",
            "to_heir",
            right_uid=holding.uid,
            deceased_uid=deceased_uid,
            household_uid=household_uid,
            heir_household_uid=heir_household_uid,
            doc_id=doc_id,
        )


def _die_out(
    household: Household,
    day: date,
    *,
    reason: str,
    doc_id: int,
    deceased_uid: int | None,
    income_heir_person_uid: int | None,
    continuing_household: Household | None,
    heir_household: Household | None,
) -> Household:
    """The household's rights when it dies out (户消亡), then its end (``dissolve_household``)."""
    collective = _collective(household.collective_id)
    contract = _current_contract(household.uid)
    if contract is not None:
        if income_heir_person_uid is not None:
            _note(
                collective.id,
                day,
                "land_contract",
                "income_inherited",
                right_uid=contract.uid,
                deceased_uid=deceased_uid,
                household_uid=household.uid,
                heir_person_uid=income_heir_person_uid,
                doc_id=doc_id,
            )
        plots = contract_plots(contract.uid)
        if continuing_household is not None:
            target = _carry_plots(
                plots, contract, continuing_household, reason=reason, doc_id=doc_id
            )
            _note(
                collective.id,
                day,
                "land_contract",
                "continued",
                right_uid=target.uid,
                deceased_uid=deceased_uid,
                household_uid=household.uid,
                heir_household_uid=continuing_household.uid,
                doc_id=doc_id,
            )
        else:
            for plot in plots:  # back to the collective, held by no household
                history.revise(
                    plot,
                    reason=reason,
                    source_document_id=doc_id,
                    contract_uid=None,
                    household_uid=None,
                )
            _note(
                collective.id,
                day,
                "land_contract",
                "returned",
                right_uid=contract.uid,
                deceased_uid=deceased_uid,
                household_uid=household.uid,
                doc_id=doc_id,
            )
        contract = history.current_of(LandContract, contract.uid)
        if contract is not None:
            history.end(contract, reason=reason, source_document_id=doc_id)
            _cancel_certificates(contract.uid, day, reason, doc_id)
    homestead = db.session.scalar(
        select(Homestead).where(
            Homestead.household_uid == household.uid,
            Homestead.end_lifespan.is_(None),
            Homestead.disposal.is_(None),
        )
    )
    if homestead is not None:
        # The house is inherited and its homestead use with it (继承): who holds it is for the
        # homestead's own page, with the note the law asks for an heir from outside.
        _note(
            collective.id,
            day,
            "homestead",
            "pending",
            right_uid=homestead.uid,
            deceased_uid=deceased_uid,
            household_uid=household.uid,
            doc_id=doc_id,
        )
    holdings = list(
        db.session.scalars(
            select(ShareHolding).where(
                ShareHolding.household_uid == household.uid, ShareHolding.end_lifespan.is_(None)
            )
        )
    )
    heir = heir_household or continuing_household
    _pass_shares(
        holdings,
        collective,
        heir.uid if heir is not None else None,
        day=day,
        reason=reason,
        doc_id=doc_id,
        deceased_uid=deceased_uid,
        household_uid=household.uid,
    )
    for row in _kept_rows(household.uid):
        history.end(row, reason=reason, source_document_id=doc_id, end_reason="died_out")
    return history.end(household, reason=reason, source_document_id=doc_id, end_reason="died_out")


def _continuing(household: Household, continuing_household_uid: Any) -> Household | None:
    """承包法 Art. 32 with Art. 31: the contract of a household that died out goes on only in the
    household of one of its co-holders (e.g. a daughter who married out and kept co-holding)."""
    if continuing_household_uid in (None, "", 0):
        return None
    target = _same_collective_household(
        continuing_household_uid, household.collective_id, "continuing_household_uid"
    )
    allowed = set()
    for row in _kept_rows(household.uid):
        if row.is_co_holder:
            home = resident_row(row.person_uid)
            if home is not None:
                allowed.add(home.household_uid)
    if target.uid not in allowed:
        raise DomainError(
            "not_continuing",
            _(
                "Only the household of one of its co-holders can continue the contract; "
                "otherwise the land returns to the collective."
            ),
            field="continuing_household_uid",
            rule="R01",
        )
    return target


def _heir_household(value: Any, collective_id: int) -> Household | None:
    if value in (None, "", 0):
        return None
    return _same_collective_household(value, collective_id, "heir_household_uid")


def _heir_person(value: Any) -> int | None:
    if value in (None, "", 0):
        return None
    if not _is_uid(value) or history.current_of(Person, value) is None:
        raise DomainError(
            "person_unknown", _("There is no such person."), field="income_heir_person_uid"
        )
    return value


def succession_of(
    *, person_uid: int | None = None, household_uid: int | None = None
) -> list[Succession]:
    """What became of the rights of a dead person or a household that died out."""
    q = select(Succession)
    if person_uid is not None:
        q = q.where(Succession.deceased_uid == person_uid)
    if household_uid is not None:
        q = q.where(
            or_(
                Succession.household_uid == household_uid,
                Succession.heir_household_uid == household_uid,
            )
        )
    return list(db.session.scalars(q.order_by(Succession.id)))
