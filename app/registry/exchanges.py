"""Exchanges of plots between two member households of one collective (互换, R04, Art. 33).

Two households of the same collective swap some plots of their contracts to tidy up scattered
land. Both contracts are revised in one transaction: each plot leaves one contract and joins the
other through the registry's own plot move (``land._move_plot``: a new plot version, the
contracts' areas follow), the certificates of both contracts follow as after a transfer
(``certificates.after_conveyance``: replaced, showing the contracts as they now are), and the
exchange is recorded with its agreement and its filing (备案) with the 发包方. Anything refused
leaves both contracts as they were.

Refused in plain words: a plot of another collective (R04) or one not in the contract named for
it; two households of different collectives, or the same household twice; a plot that is frozen,
pledged, under a dispute or an open objection (``encumbrances.blocking_encumbrance``), on public
notice, or waiting for a countersigned move. R02: a plot joining a contract takes that contract's
term, so a plot may not join a contract that runs past the term of the one it leaves (no
exchange runs past the remaining term); in practice both contracts end on the same day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.audit import trail
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.registry import certificates, encumbrances, history, land
from app.registry.documents import source_document
from app.registry.inputs import is_id, require_date, require_reason, today_or
from app.registry.models import (
    Household,
    LandContract,
    Plot,
    PlotExchange,
    PublicNotice,
    RightMove,
)


def _household(uid: Any, collective_id: int | None, field: str) -> Household:
    household = history.current_of(Household, uid) if is_id(uid) else None
    if household is None or (
        collective_id is not None and household.collective_id != collective_id
    ):
        raise NotFound(
            "household_not_found", _("No such household in this collective."), field=field
        )
    return household


def _contract(household: Household, field: str) -> LandContract:
    contract = land.contract_of_household(household.uid)
    if contract is None:
        raise DomainError(
            "no_contract",
            _(
                "%(name)s holds no land contract: there is nothing to exchange.",
                name=household.name,
            ),
            field=field,
        )
    return history.require_current(LandContract, contract.uid, lock=True)


def _plot_ids(value: Any, field: str) -> list[int]:
    if not isinstance(value, (list, tuple)) or not value:
        raise DomainError(
            "plots_required", _("Choose at least one plot on each side."), field=field
        )
    if not all(is_id(v) for v in value) or len(value) > 200:
        raise DomainError("plots_required", _("Choose the plots from the list."), field=field)
    return sorted(set(value))


def _check_plot(
    uid: int, contract: LandContract, collective_id: int, day: date, field: str
) -> Plot:
    """R04 and the plot's title: of the collective, in the named contract, free to move."""
    plot = history.current_of(Plot, uid, lock=True)
    if plot is None or plot.collective_id != collective_id:
        raise DomainError(
            "plot_other_collective",
            _(
                "A plot of the exchange is not a plot of this collective: an exchange is made "
                "only between plots of the same collective."
            ),
            field=field,
            rule="R04",
        )
    name = plot.name or plot.dkbm
    if plot.contract_uid != contract.uid:
        raise DomainError(
            "plot_not_in_contract",
            _("The plot %(name)s is not in the contract named for it.", name=name),
            field=field,
        )
    problem = encumbrances.blocking_encumbrance("plot", plot.uid, action="exchange", on=day)
    if problem is not None:
        raise DomainError(
            problem.code,
            _("The plot %(name)s cannot be exchanged: %(why)s", name=name, why=problem.message),
            field=field,
        )
    pending = db.session.scalar(
        select(RightMove.id).where(RightMove.subject_uid == plot.uid, RightMove.state == "pending")
    )
    if pending is not None:
        raise DomainError(
            "move_pending",
            _("A move of the plot %(name)s waits for the county's countersign.", name=name),
            field=field,
        )
    on_notice = db.session.scalar(
        select(PublicNotice.id).where(
            or_(PublicNotice.right_uid == plot.uid, PublicNotice.right_uid == contract.uid),
            PublicNotice.status == "open",
        )
    )
    if on_notice is not None:
        raise DomainError(
            "on_notice",
            _(
                "The plot %(name)s or its contract is on public notice: wait until the notice "
                "is confirmed.",
                name=name,
            ),
            field=field,
        )
    return plot


def _check_terms(giving: LandContract, taking: LandContract, day: date) -> None:
    """R02: a plot takes the term of the contract it joins, which may not run past the term of
    the contract it leaves; neither term may be over."""
    land.check_within_term(giving, day, today=day)
    if taking.term_end > giving.term_end:
        raise DomainError(
            "beyond_contract_term",
            _(
                "The contract the plots would join runs until %(end)s, past the term of the "
                "contract they leave (%(own)s): no exchange may run past the remaining term.",
                end=taking.term_end.isoformat(),
                own=giving.term_end.isoformat(),
            ),
            rule="R02",
        )


@dataclass
class Exchanged:
    exchange: PlotExchange
    plots: list[Plot]


def exchange_plots(
    household_a_uid: Any,
    plot_a_uids: Any,
    household_b_uid: Any,
    plot_b_uids: Any,
    *,
    agreement_document_id: Any,
    filing_document_id: Any,
    filed_on: Any,
    reason: Any,
    collective_id: int | None = None,
    today: date | None = None,
) -> Exchanged:
    """R04 (Art. 33): household A's plots go to B's contract and B's to A's, in one
    transaction, filed with the 发包方 (``filing_document_id``, ``filed_on``); the certificates of
    both contracts are replaced. ``collective_id``: the collective the caller acts in; another
    collective's household is "not found"."""
    day = today_or(today)
    reason = require_reason(reason)
    a = _household(household_a_uid, collective_id, "household_a_uid")
    b = _household(household_b_uid, collective_id, "household_b_uid")
    if a.uid == b.uid:
        raise DomainError(
            "same_household",
            _("An exchange is made between two different households."),
            field="household_b_uid",
        )
    if a.collective_id != b.collective_id:
        raise DomainError(
            "not_same_collective",
            _("An exchange is made only between member households of the same collective."),
            field="household_b_uid",
            rule="R04",
        )
    coll = a.collective_id
    plots_a = _plot_ids(plot_a_uids, "plot_a_uids")
    plots_b = _plot_ids(plot_b_uids, "plot_b_uids")
    contract_a = _contract(a, "household_a_uid")
    contract_b = _contract(b, "household_b_uid")
    for uid in plots_a:
        _check_plot(uid, contract_a, coll, day, "plot_a_uids")
    for uid in plots_b:
        _check_plot(uid, contract_b, coll, day, "plot_b_uids")
    _check_terms(contract_a, contract_b, day)
    _check_terms(contract_b, contract_a, day)
    for contract in (contract_a, contract_b):
        encumbrances.check_not_blocked("land_contract", contract.uid, action="exchange", on=day)
    agreement = source_document(agreement_document_id, coll)
    filing = source_document(filing_document_id, coll)
    filed = require_date(filed_on, "filed_on")
    if filed > day:
        raise DomainError(
            "future_date", _("The filing cannot be dated in the future."), field="filed_on"
        )
    ctx = trail.current()
    if ctx is None:
        raise trail.AuditContextMissing("no actor: set an audit context before writing")
    moved: list[Plot] = []
    # All or nothing: a refusal half-way (a certificate that cannot follow) undoes the moves.
    with db.session.begin_nested():
        for uids, target in ((plots_a, contract_b), (plots_b, contract_a)):
            for uid in uids:
                moved.append(
                    land._move_plot(uid, target.uid, source_document_id=agreement.id, reason=reason)
                )
        for contract in (contract_a, contract_b):
            certificates.after_conveyance(
                "land_contract",
                contract.uid,
                on=day,
                reason=reason,
                source_document_id=agreement.id,
                new_holder=False,
            )
        row = PlotExchange(
            collective_id=coll,
            household_a_uid=a.uid,
            contract_a_uid=contract_a.uid,
            household_b_uid=b.uid,
            contract_b_uid=contract_b.uid,
            plots_a=json.dumps(plots_a),
            plots_b=json.dumps(plots_b),
            exchanged_on=day,
            agreement_document_id=agreement.id,
            filing_document_id=filing.id,
            filed_on=filed,
            reason=reason,
            recorded_by=ctx.actor,
            recorded_by_id=ctx.actor_id,
            recorded_at=utcnow(),
        )
        with trail.because("exchange.record", reason=reason, source_sha256=agreement.sha256):
            db.session.add(row)
            db.session.flush()
    return Exchanged(row, moved)


def exchanges_of_contract(contract_uid: int, *, limit: int = 50) -> list[PlotExchange]:
    """The exchanges a contract took part in, newest first (for its page and history)."""
    return list(
        db.session.scalars(
            select(PlotExchange)
            .where(
                or_(
                    PlotExchange.contract_a_uid == contract_uid,
                    PlotExchange.contract_b_uid == contract_uid,
                )
            )
            .order_by(PlotExchange.id.desc())
            .limit(limit)
        )
    )


def plot_uids(row: PlotExchange) -> tuple[list[int], list[int]]:
    return json.loads(row.plots_a), json.loads(row.plots_b)


def plot_names(uids: list[int]) -> dict[int, str]:
    """Each plot's name and code as it was last recorded."""
    out: dict[int, str] = {}
    for uid in uids:
        plot = history.latest_version(Plot, uid)
        if plot is not None:
            out[uid] = f"{plot.name}（{plot.dkbm}）" if plot.name else plot.dkbm
    return out


def household_names(uids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for uid in uids:
        household = history.latest_version(Household, uid)
        if household is not None:
            out[uid] = household.name
    return out
