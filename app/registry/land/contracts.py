"""Contracts (R01, R02): create, renew (and when a contract may be), term checks, the
contract of a household, the contracts a plot may go into, and the contract's total area.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit import trail
from app.core import codes
from app.core.errors import DomainError
from app.extensions import db
from app.registry import encumbrances, history
from app.registry.inputs import require_date as _date
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.land.common import _current_contract, _source, _uid, add_years
from app.registry.models import (
    CONTRACT_LAND_TYPES,
    CONTRACT_METHODS,
    RESERVE_LAND_CLASS,
    Household,
    HouseholdMember,
    LandContract,
    LandReturn,
    Membership,
    Plot,
)

#: R02: arable land is contracted for 30 years and renewed for 30 (Art. 21).
ARABLE_TERM_YEARS = 30
#: R02: the longest term by land type (Art. 21): arable 30 years, grassland 30-50, forest 30-70.
TERM_CAP_YEARS = {"arable": ARABLE_TERM_YEARS, "grassland": 50, "forest": 70}
#: A contract may be renewed only in the last years of its term, so renewals cannot be stacked
#: into a 60- or 90-year right. *(policy choice; config CONTRACT_RENEWAL_WINDOW_YEARS)*
RENEWAL_WINDOW_YEARS = 5


def _check_land_type(land_type: Any) -> str:
    value = str(land_type or "arable").strip()
    if value not in CONTRACT_LAND_TYPES:
        raise DomainError(
            "land_type",
            _("Choose the land type: arable land, grassland or forest land."),
            field="land_type",
        )
    return value


def _check_method(method: Any) -> str:
    value = str(method or "household").strip()
    if value not in CONTRACT_METHODS:
        raise DomainError(
            "contract_method",
            _("Choose the contracting method: household contracting or other contracting."),
            field="method",
        )
    return value


def _check_term(term_start: date, term_end: date, land_type: str = "arable") -> None:
    """R02: a contract term ends after it starts and lasts at most the cap of its land type
    (Art. 21): 30 years for arable land, 50 for grassland, 70 for forest land."""
    if term_end <= term_start:
        raise DomainError(
            "term_order",
            _("The contract term must end after it starts."),
            field="term_end",
            rule="R02",
        )
    years = TERM_CAP_YEARS[land_type]
    limit = add_years(term_start, years)
    if term_end > limit:
        messages = {
            "arable": _(
                "An arable land contract runs at most %(years)s years: from %(start)s the term "
                "may end on %(limit)s at the latest.",
                years=years,
                start=term_start.isoformat(),
                limit=limit.isoformat(),
            ),
            "grassland": _(
                "A grassland contract runs at most %(years)s years: from %(start)s the term "
                "may end on %(limit)s at the latest.",
                years=years,
                start=term_start.isoformat(),
                limit=limit.isoformat(),
            ),
            "forest": _(
                "A forest land contract runs at most %(years)s years: from %(start)s the term "
                "may end on %(limit)s at the latest.",
                years=years,
                start=term_start.isoformat(),
                limit=limit.isoformat(),
            ),
        }
        raise DomainError("term_too_long", messages[land_type], field="term_end", rule="R02")


def _check_holder(household: Household) -> None:
    """R01: the household has a co-holder who is a current member of the household's collective."""
    member = db.session.scalar(
        select(HouseholdMember.id)
        .join(
            Membership,
            (Membership.person_uid == HouseholdMember.person_uid)
            & (Membership.collective_id == household.collective_id)
            & Membership.end_lifespan.is_(None),
        )
        .where(
            HouseholdMember.household_uid == household.uid,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.is_co_holder.is_(True),
        )
        .limit(1)
    )
    if member is None:
        raise DomainError(
            "holder_not_member",
            _(
                "The household has no co-holder who is a member of the collective; record the "
                "household's members first."
            ),
            field="household_uid",
            rule="R01",
        )


def create_contract(
    household_uid: int,
    term_start: date,
    term_end: date,
    *,
    source_document_id: int,
    reason: str,
    today: date | None = None,
    confirmed: bool = False,
    collective_id: int | None = None,
    land_type: str = "arable",
    method: str = "household",
    by_transfer: bool = False,
) -> LandContract:
    """R01, R02: a household's land contract (承包合同), code CBHTBM = CBFBM + "J" (household
    contracting) or + "Q" (``method="other"``, 其他方式承包).

    R01: the holder is a current household of the 发包方's collective with a co-holder on the
    collective's roll; one current contract per household (its code is fixed by the household's
    code). R02: the term is at most the cap of its land type (arable 30 years, grassland 50,
    forest 70; Art. 21) and has not already ended.

    A new registration is "pending" until its public notice (公示) confirms it (DOMAIN §6);
    ``confirmed=True`` is for recording contracts that were noticed and certified before the
    registry existed (data migration), never for new registrations from forms or the API.
    ``collective_id``, the collective the caller acts in: a household of another one gets the
    answer of a household that does not exist.

    R06: a household that returned its land to the collective gets no new contract from it in
    the same term (``check_no_return_in_term``). ``by_transfer`` is the registry's own call when
    a household takes over land by a transfer from another member household (Art. 34, the
    marketplace's registration): that is not asking the collective for land, so R06 does not
    apply.
    """
    reason = _reason(reason)
    term_start = _date(term_start, "term_start")
    term_end = _date(term_end, "term_end")
    land_type = _check_land_type(land_type)
    method = _check_method(method)
    household = history.current_of(Household, _uid(household_uid, "household_uid"), lock=True)
    if household is None or collective_id not in (None, household.collective_id):
        raise DomainError(
            "household_not_found",
            _("No current household with this number."),
            field="household_uid",
            rule="R01",
        )
    doc_id, sha = _source(source_document_id, household.collective_id)
    if not by_transfer:
        check_no_return_in_term(household.uid, _today(today))
    _check_holder(household)
    _check_term(term_start, term_end, land_type)
    if term_end < _today(today):
        raise DomainError(
            "term_ended",
            _("This term has already ended on %(end)s.", end=term_end.isoformat()),
            field="term_end",
            rule="R02",
        )
    existing = db.session.scalar(
        select(LandContract.cbhtbm).where(
            LandContract.household_uid == household.uid, LandContract.end_lifespan.is_(None)
        )
    )
    if existing is not None:
        raise DomainError(
            "contract_exists",
            _("The household already holds contract %(code)s.", code=existing),
            field="household_uid",
            rule="R01",
        )
    try:
        cbhtbm = codes.cbhtbm_for(household.cbfbm, method)
    except codes.CodeError as exc:
        raise DomainError.from_check(exc, field="household_uid") from exc
    with trail.because("land_contract.create", reason=reason, source_sha256=sha):
        return history.create(
            LandContract,
            reason=reason,
            source_document_id=doc_id,
            # legal time: the contract holds from the start of its term (signed by then)
            effective_on=history.natural_date(term_start),
            cbhtbm=cbhtbm,
            household_uid=household.uid,
            collective_id=household.collective_id,
            term_start=term_start,
            term_end=term_end,
            contract_area_m2=0.0,
            status="confirmed" if confirmed else "pending",
            land_type=land_type,
            method=method,
        )


def check_no_return_in_term(household_uid: int, day: date) -> None:
    """R06 (Art. 30): a household that returned contracted land to the collective during a term
    gets no new contracted land from it until that term ends."""
    found = db.session.execute(
        select(LandReturn.returned_on, LandReturn.term_end)
        .where(LandReturn.household_uid == household_uid, LandReturn.term_end >= day)
        .order_by(LandReturn.returned_on)
        .limit(1)
    ).first()
    if found is not None:
        raise DomainError(
            "returned_in_term",
            _(
                "This household returned contracted land to the collective on %(returned)s: it "
                "gets no new contracted land until that contract term ends on %(end)s.",
                returned=found.returned_on.isoformat(),
                end=found.term_end.isoformat(),
            ),
            field="household_uid",
            rule="R06",
        )


def renewal_window_years() -> int:
    return int(current_app.config.get("CONTRACT_RENEWAL_WINDOW_YEARS", RENEWAL_WINDOW_YEARS))


@dataclass(frozen=True)
class RenewalWindow:
    """When a contract may be renewed (R02): from ``opens``, the start of the last
    ``window_years`` of its term; ``open`` says whether that day has come; ``max_years`` is the
    longest term its land type allows (Art. 21)."""

    opens: date
    window_years: int
    max_years: int
    open: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "opens": self.opens.isoformat(),
            "window_years": self.window_years,
            "max_years": self.max_years,
            "open": self.open,
        }


def renewal_window(contract: LandContract, *, today: date | None = None) -> RenewalWindow:
    """R02: the one place that says when ``contract`` may be renewed; ``renew_contract``, the
    contract page and the API all ask it."""
    window = renewal_window_years()
    opens = add_years(contract.term_end, -window)
    return RenewalWindow(
        opens=opens,
        window_years=window,
        max_years=TERM_CAP_YEARS.get(contract.land_type, ARABLE_TERM_YEARS),
        open=_today(today) >= opens,
    )


def renew_contract(
    contract_uid: int,
    *,
    source_document_id: int,
    reason: str,
    today: date | None = None,
    years: int | str | None = None,
) -> LandContract:
    """R02: renew a contract from the end of its term (延包) for ``years``, within its land
    type's cap (Art. 21: arable land another 30 years; grassland up to 50, forest land up to
    70). Without ``years``: 30 for arable land, the old term's length (whole years) otherwise.

    The new term starts the day after the old one ends. Renewal is only possible in the last
    years of a term (config CONTRACT_RENEWAL_WINDOW_YEARS, default 5), so a 30-year right can
    not be stretched by renewing it again and again.
    """
    reason = _reason(reason)
    contract = _current_contract(contract_uid, lock=True)
    encumbrances.check_not_blocked("land_contract", contract.uid, action="renew", on=today)
    doc_id, sha = _source(source_document_id, contract.collective_id)
    when = renewal_window(contract, today=today)
    if not when.open:
        raise DomainError(
            "renewal_too_early",
            _(
                "The contract can be renewed from %(opens)s, in the last %(years)s years of its "
                "term (it ends on %(end)s).",
                opens=when.opens.isoformat(),
                years=when.window_years,
                end=contract.term_end.isoformat(),
            ),
            field="term_end",
            rule="R02",
        )
    new_start = contract.term_end + timedelta(days=1)
    land_type = _check_land_type(contract.land_type)
    if years in (None, ""):
        years = ARABLE_TERM_YEARS
        if land_type != "arable":
            after, start = contract.term_end + timedelta(days=1), contract.term_start
            old = after.year - start.year - ((after.month, after.day) < (start.month, start.day))
            years = max(ARABLE_TERM_YEARS, min(old, TERM_CAP_YEARS[land_type]))
    elif isinstance(years, bool) or not str(years).isdigit() or not 0 < int(years) <= 999:
        raise DomainError(
            "renewal_years", _("Give the renewal as a number of years."), field="years"
        )
    new_end = add_years(contract.term_end, int(years))
    _check_term(new_start, new_end, land_type)
    with trail.because("land_contract.renew", reason=reason, source_sha256=sha):
        return history.revise(
            contract,
            reason=reason,
            source_document_id=doc_id,
            term_start=new_start,
            term_end=new_end,
        )


def check_within_term(
    contract: LandContract | int, end_date: date, *, today: date | None = None
) -> date:
    """R02: no term, lease or transfer may run past the remaining contract term (Arts. 21, 38).

    The one check the marketplace and every other caller use. ``contract`` is a LandContract
    version or a contract uid; the check is made against the *current* version. Returns the
    last day of the contract term.
    """
    uid = contract.uid if isinstance(contract, LandContract) else contract
    current = history.current_of(LandContract, _uid(uid, "contract_uid"))
    if current is None:
        raise DomainError(
            "contract_not_current",
            _("The land contract is no longer in force."),
            field="contract_uid",
            rule="R02",
        )
    end_date = _date(end_date, "end_date")
    if current.term_end < _today(today):
        raise DomainError(
            "contract_term_over",
            _(
                "The land contract's term ended on %(end)s; nothing of it remains.",
                end=current.term_end.isoformat(),
            ),
            field="end_date",
            rule="R02",
        )
    if end_date > current.term_end:
        raise DomainError(
            "beyond_contract_term",
            _(
                "%(date)s is past the end of the land contract's term (%(end)s): no term, lease "
                "or transfer may run past the remaining contract term.",
                date=end_date.isoformat(),
                end=current.term_end.isoformat(),
            ),
            field="end_date",
            rule="R02",
        )
    return current.term_end


def contract_of_household(household_uid: int) -> LandContract | None:
    """The household's current contract, if any."""
    return db.session.scalar(
        select(LandContract).where(
            LandContract.household_uid == household_uid, LandContract.end_lifespan.is_(None)
        )
    )


@dataclass(frozen=True)
class ContractCandidate:
    """A contract a plot may be put into: its uid, code and the holder household's name."""

    contract_uid: int
    cbhtbm: str
    household_name: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "contract_uid": self.contract_uid,
            "cbhtbm": self.cbhtbm,
            "household_name": self.household_name,
        }


#: How many candidates a form or the API offers at most.
CANDIDATES_LIMIT = 2000


def contract_candidates(collective_id: int) -> list[ContractCandidate]:
    """R01: the contracts a plot of the collective may be put into (a new plot, or one assigned
    to a contract): the collective's current contracts held by a current household, by code.
    The plot forms and the API offer exactly these."""
    rows = db.session.execute(
        select(LandContract.uid, LandContract.cbhtbm, Household.name)
        .join(
            Household,
            (Household.uid == LandContract.household_uid) & Household.end_lifespan.is_(None),
        )
        .where(LandContract.collective_id == collective_id, LandContract.end_lifespan.is_(None))
        .order_by(LandContract.cbhtbm)
        .limit(CANDIDATES_LIMIT)
    ).all()
    return [ContractCandidate(uid, code, name) for uid, code, name in rows]


def household_candidates(collective_id: int) -> list[tuple[int, str, str | None]]:
    """R01: the households a new contract may be made for: the collective's current households
    that hold no current contract (one per household), as (uid, CBFBM, name) by code."""
    with_contract = select(LandContract.household_uid).where(LandContract.end_lifespan.is_(None))
    return [
        (uid, code, name)
        for uid, code, name in db.session.execute(
            select(Household.uid, Household.cbfbm, Household.name)
            .where(
                Household.collective_id == collective_id,
                Household.end_lifespan.is_(None),
                Household.uid.not_in(with_contract),
            )
            .order_by(Household.cbfbm)
            .limit(CANDIDATES_LIMIT)
        ).all()
    ]


def _sync_contract_area(
    contract_uid: int, *, source_document_id: int, reason: str, effective_on: date | None = None
) -> None:
    """HTZMJ, the contract's total area, is the sum of its current plots' contract areas;
    reserve land (机动地) is the collective's and never counts (R01). The sum changes in law
    when the plot change does (``effective_on``)."""
    contract = history.current_of(LandContract, contract_uid)
    if contract is None:
        return
    total = db.session.scalar(
        select(func.coalesce(func.sum(Plot.contract_area_m2), 0.0)).where(
            Plot.contract_uid == contract_uid,
            Plot.end_lifespan.is_(None),
            Plot.land_class != RESERVE_LAND_CLASS,
        )
    )
    total = round(float(total or 0.0), 2)
    if abs((contract.contract_area_m2 or 0.0) - total) > 0.005:
        history.revise(
            contract,
            reason=reason,
            source_document_id=source_document_id,
            effective_on=history.natural_date(effective_on, contract),
            contract_area_m2=total,
        )
