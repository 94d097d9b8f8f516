"""Transfers and exits agreed in the marketplace, applied to the registry (R03, R06, R09–R11).

The marketplace's registration step calls one function here per deal, inside its one
transaction; the registry never imports the marketplace. Each function applies the right's own
rules again on the day (the services they call check them), changes the registry only through
``history`` (the seller's versions end and the buyer's begin on the registration day, nothing is
overwritten), lets the certificates follow (``certificates.after_conveyance``) and returns what
it did, for the deal's record:

* ``transfer_land`` (转让, Art. 34): some or all plots of a contract go to a member household of
  the same collective: into its current contract, or a new one for the rest of the seller's
  term (R02); the seller's contract ends when no plot is left;
* ``return_land`` (交回, Art. 30): plots go back to the collective; the return is recorded so
  that the household gets no new contracted land in the term (R06);
* ``transfer_homestead`` / ``exit_homestead``: the homestead with its house to a qualifying
  member household (R09), or back to the collective for compensation (有偿退出);
* ``transfer_shares`` / ``buy_back_shares``: shares to a member within the cap (R10, R11), or
  back to the collective's pool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core.errors import DomainError
from app.extensions import db
from app.registry import certificates, encumbrances, history, land, move_kinds
from app.registry import shares as share_service
from app.registry.documents import source_document
from app.registry.models import (
    Homestead,
    Household,
    LandContract,
    LandReturn,
    Plot,
    ShareHolding,
)


@dataclass
class Conveyed:
    """What one registration did: the versions that ended and began, the certificates."""

    ended: list[dict[str, Any]] = field(default_factory=list)
    begun: list[dict[str, Any]] = field(default_factory=list)
    ended_certificates: list[str] = field(default_factory=list)
    issued_certificates: list[str] = field(default_factory=list)

    def version(self, which: str, kind: str, obj: Any) -> None:
        getattr(self, which).append({"kind": kind, "uid": obj.uid, "version": obj.version})

    def certificates(self, pair: tuple[Any, Any]) -> None:
        old, new = pair
        if old is not None:
            self.ended_certificates.append(old.number)
        if new is not None:
            self.issued_certificates.append(new.number)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ended": self.ended,
            "begun": self.begun,
            "ended_certificates": self.ended_certificates,
            "issued_certificates": self.issued_certificates,
        }


def _contract_plots(contract_uid: int) -> list[int]:
    return sorted(
        db.session.scalars(
            select(Plot.uid).where(Plot.contract_uid == contract_uid, Plot.end_lifespan.is_(None))
        )
    )


def _plots_of_deal(contract: LandContract, plot_uids: list[int] | None) -> list[int]:
    own = _contract_plots(contract.uid)
    wanted = own if not plot_uids else sorted(set(plot_uids))
    if not wanted or not set(wanted) <= set(own):
        raise DomainError(
            "plots_changed",
            _("The plots of the deal are no longer all in the seller's contract."),
            field="plots",
        )
    return wanted


def check_land_transfer(contract_uid: int, to_household_uid: int, day: date) -> LandContract:
    """R02, R03: the buyer household takes the plots into its own contract only if that
    contract's term does not run past the seller's (no transfer runs past the remaining term);
    the seller's term must not be over. Returns the seller's contract."""
    contract = history.current_of(LandContract, contract_uid)
    if contract is None:
        raise DomainError(
            "contract_not_current", _("The land contract is no longer in force."), rule="R02"
        )
    land.check_within_term(contract, day, today=day)
    target = land.contract_of_household(to_household_uid)
    if target is not None and target.term_end > contract.term_end:
        raise DomainError(
            "beyond_contract_term",
            _(
                "The buyer's contract runs until %(end)s, past the seller's term (%(own)s): the "
                "plots cannot join it, as no transfer may run past the remaining term.",
                end=target.term_end.isoformat(),
                own=contract.term_end.isoformat(),
            ),
            rule="R02",
        )
    return contract


def transfer_land(
    contract_uid: int,
    plot_uids: list[int] | None,
    to_household_uid: int,
    *,
    on: date,
    reason: str,
    source_document_id: int,
) -> Conveyed:
    """R03 (Art. 34): the plots go to the buyer household's contract (or a new one, confirmed by
    the deal, for the rest of the seller's term); the seller's contract ends when it has no plot
    left. Certificates follow."""
    done = Conveyed()
    contract = history.current_of(LandContract, contract_uid, lock=True)
    buyer = history.current_of(Household, to_household_uid)
    if contract is None or buyer is None or buyer.collective_id != contract.collective_id:
        raise DomainError(
            "not_a_member",
            _("Only a member household of the same collective may take this right."),
            rule="R03",
        )
    check_land_transfer(contract.uid, buyer.uid, on)
    encumbrances.check_not_blocked("land_contract", contract.uid, action="transfer", on=on)
    doc = source_document(source_document_id, contract.collective_id)
    plots = _plots_of_deal(contract, plot_uids)
    target = land.contract_of_household(buyer.uid)
    if target is None:
        target = land.create_contract(
            buyer.uid,
            on,
            contract.term_end,
            source_document_id=doc.id,
            reason=reason,
            today=on,
            confirmed=True,
            land_type=contract.land_type,
            method=contract.method,
            by_transfer=True,
        )
        done.version("begun", "land_contract", target)
    for uid in plots:
        moved = land._move_plot(uid, target.uid, source_document_id=doc.id, reason=reason)
        done.version("begun", "plot", moved)
    seller = history.current_of(LandContract, contract.uid)
    if seller is not None and not _contract_plots(contract.uid):
        with trail.because("land_contract.end", reason=reason, source_sha256=doc.sha256):
            ended = history.end(seller, reason=reason, source_document_id=doc.id)
        done.version("ended", "land_contract", ended)
    for uid in (contract.uid, target.uid):
        done.certificates(
            certificates.after_conveyance(
                "land_contract",
                uid,
                on=on,
                reason=reason,
                source_document_id=doc.id,
                new_holder=False,
            )
        )
    return done


def return_land(
    contract_uid: int,
    plot_uids: list[int] | None,
    *,
    notice_given_on: date,
    on: date,
    reason: str,
    source_document_id: int,
) -> Conveyed:
    """R06 (Art. 30): the plots go back to the collective after six months' written notice; the
    return is recorded, so the household gets no new contracted land in this term."""
    done = Conveyed()
    contract = history.current_of(LandContract, contract_uid, lock=True)
    if contract is None:
        raise DomainError("contract_not_current", _("The land contract is no longer in force."))
    check_return_notice(notice_given_on, on)
    encumbrances.check_not_blocked("land_contract", contract.uid, action="exit", on=on)
    doc = source_document(source_document_id, contract.collective_id)
    plots = _plots_of_deal(contract, plot_uids)
    for uid in plots:
        moved = land._move_plot(uid, None, source_document_id=doc.id, reason=reason)
        done.version("begun", "plot", moved)
    with trail.because("land_contract.return", reason=reason, source_sha256=doc.sha256):
        db.session.add(
            LandReturn(
                collective_id=contract.collective_id,
                household_uid=contract.household_uid,
                contract_uid=contract.uid,
                plot_uids=json.dumps(plots),
                notice_given_on=notice_given_on,
                returned_on=on,
                term_end=contract.term_end,
                source_document_id=doc.id,
            )
        )
        db.session.flush()
        seller = history.current_of(LandContract, contract.uid)
        if seller is not None and not _contract_plots(contract.uid):
            done.version(
                "ended",
                "land_contract",
                history.end(seller, reason=reason, source_document_id=doc.id),
            )
    done.certificates(
        certificates.after_conveyance(
            "land_contract",
            contract.uid,
            on=on,
            reason=reason,
            source_document_id=doc.id,
            new_holder=False,
        )
    )
    return done


#: R06 (Art. 30): the written notice comes at least this many months before the return.
RETURN_NOTICE_MONTHS = 6


def return_possible_on(notice_given_on: date) -> date:
    """The first day land may be returned after written notice given on ``notice_given_on``."""
    month = notice_given_on.month - 1 + RETURN_NOTICE_MONTHS
    year, month = notice_given_on.year + month // 12, month % 12 + 1
    for day in range(notice_given_on.day, 0, -1):  # 31 August + 6 months → 28/29 February
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check_return_notice(notice_given_on: date, on: date) -> None:
    """R06: contracted land is returned only six months after the written notice."""
    first = return_possible_on(notice_given_on)
    if on < first:
        raise DomainError(
            "notice_too_short",
            _(
                "Land is returned to the collective six months after the written notice: "
                "notice given on %(given)s allows the return from %(first)s.",
                given=notice_given_on.isoformat(),
                first=first.isoformat(),
            ),
            field="notice_given_on",
            rule="R06",
        )


def transfer_homestead(
    homestead_uid: int, to_household_uid: int, *, on: date, reason: str, source_document_id: int
) -> Conveyed:
    """R09: the homestead with its house to a qualifying member household (the registry's own
    transfer, which checks R09 on the day); the seller's real-estate certificate is cancelled."""
    done = Conveyed()
    encumbrances.check_not_blocked("homestead", homestead_uid, action="transfer", on=on)
    before = history.current_of(Homestead, homestead_uid)
    new = move_kinds.transfer_homestead(
        homestead_uid,
        to_household_uid,
        basis="marketplace",
        reason=reason,
        source_document_id=source_document_id,
        today=on,
    )
    if before is not None:
        done.version("ended", "homestead", before)
    done.version("begun", "homestead", new)
    done.certificates(
        certificates.after_conveyance(
            "homestead",
            homestead_uid,
            on=on,
            reason=reason,
            source_document_id=source_document_id,
            new_holder=True,
        )
    )
    return done


def exit_homestead(
    homestead_uid: int, *, on: date, reason: str, source_document_id: int
) -> Conveyed:
    """有偿退出: the homestead goes back to the collective for compensation; the ended version
    records "paid_exit", which R08 reads (a county setting says whether it bars a new one)."""
    done = Conveyed()
    homestead = history.require_current(Homestead, homestead_uid, lock=True)
    encumbrances.check_not_blocked("homestead", homestead.uid, action="exit", on=on)
    doc = source_document(source_document_id, homestead.collective_id)
    with trail.because("homestead.dispose", reason=reason, source_sha256=doc.sha256):
        ended = history.end(
            homestead, reason=reason, source_document_id=doc.id, disposal="paid_exit"
        )
    done.version("ended", "homestead", ended)
    done.certificates(
        certificates.after_conveyance(
            "homestead",
            homestead_uid,
            on=on,
            reason=reason,
            source_document_id=doc.id,
            new_holder=True,
        )
    )
    return done


def transfer_shares(
    holding_uid: int,
    amount: Decimal,
    *,
    to_household_uid: int | None,
    to_person_uid: int | None,
    on: date,
    reason: str,
    source_document_id: int,
    certificate_number: str,
) -> Conveyed:
    """R10, R11: shares to a member (or member household) within the cap after the deal; a new
    holding of the buyer takes ``certificate_number``."""
    done = Conveyed()
    encumbrances.check_not_blocked("share_holding", holding_uid, action="transfer", on=on)
    before = history.current_of(ShareHolding, holding_uid)
    target = share_service._transfer_shares(
        holding_uid,
        to_household_uid=to_household_uid,
        to_person_uid=to_person_uid,
        shares=amount,
        reason=reason,
        source_document_id=source_document_id,
        certificate_number=certificate_number,
        today=on,
    )
    if before is not None:
        done.version("ended", "share_holding", before)
    done.version("begun", "share_holding", target)
    for uid in (holding_uid, target.uid):
        done.certificates(
            certificates.after_conveyance(
                "share_holding",
                uid,
                on=on,
                reason=reason,
                source_document_id=source_document_id,
                new_holder=False,
            )
        )
    return done


def buy_back_shares(
    holding_uid: int, amount: Decimal, *, on: date, reason: str, source_document_id: int
) -> Conveyed:
    """R10: the collective buys the shares back into its pool (the total is conserved)."""
    done = Conveyed()
    encumbrances.check_not_blocked("share_holding", holding_uid, action="exit", on=on)
    before = history.current_of(ShareHolding, holding_uid)
    share_service._buy_back(
        holding_uid, amount, reason=reason, source_document_id=source_document_id, today=on
    )
    if before is not None:
        done.version("ended", "share_holding", before)
    done.certificates(
        certificates.after_conveyance(
            "share_holding",
            holding_uid,
            on=on,
            reason=reason,
            source_document_id=source_document_id,
            new_holder=False,
        )
    )
    return done
