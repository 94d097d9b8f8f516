"""Leases of the land-management right (土地经营权流转): the rules of R02 and R05, once.

Every lease is written here (``record_lease``) and every check a lease must pass is asked here
(``check_lease_terms``: the marketplace asks it when a lease listing is made, published and
registered). The views, the API, the marketplace and the collective's leasing on households'
behalf all call these functions. They flush and never commit.

The rules, one function each:

* R02 ``check_term``: a lease starts no earlier than the contract's term and ends no later than
  its end (the remaining term); a re-lease (转租, channel ``sublease``) stays within its parent's
  dates and plots.
* R05 ``check_use``: the use is agricultural (``USES``).
* R05 ``check_written_contract``: a written contract (a source document) beyond one year.
* R05 ``check_registration``: leases of five years or more may be registered, shorter ones not.
* R05 ``check_holder_consent``: a re-lease by the lessee needs the holder's written consent.
* R05 ``check_members_priority``: an outsider (anyone but a member of the collective on the roll
  on the day) takes a lease only after members had their priority on equal terms: the market's
  record of who was offered what, or a notice to members that ran ``LEASE_PRIORITY_DAYS``.
* R05 ``needs_qualification``: a company or other business whose leased area in the county
  (its leases awaiting review or in force, by USCC, plus this one) exceeds
  ``LEASE_QUALIFICATION_MU`` 亩 waits for the bureau's review before the lease takes effect.
* ``check_plots``: plots current, of the contract, not reserve land, not blocked by what weighs
  on them (a freeze, a dispute, an open objection), and not in another lease over the same days.

Filing (备案) with the 发包方 is the recording itself: the collective's administrator records the
lease, and ``filed_on`` / ``filed_by`` say when and who. A lease in force has one registry
encumbrance of kind "lease" per plot (``registry.encumbrances.record_lease_encumbrance``), so the
registry's pages see it; its ending releases them.

Money is exact: whole fen, computed with ``Decimal`` and rounded half up once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from app.audit import trail
from app.core import codes
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.leases.models import (
    CHANNELS,
    LESSEE_KINDS,
    METHODS,
    Lease,
    LeaseEnding,
    LeaseInstalment,
    LeasePayment,
    LeasePlot,
    LeaseQualification,
)
from app.registry import encumbrances, history
from app.registry import homesteads as homestead_rules
from app.registry.documents import source_document
from app.registry.inputs import is_id, require_date, text, today_or
from app.registry.land import add_years
from app.registry.models import RESERVE_LAND_CLASS, Household, LandContract, Person, Plot

#: Agricultural uses (R05): the only uses a lease may have.
USES = {
    "grain": _l("Grain crops"),
    "cash_crops": _l("Cash crops"),
    "vegetables": _l("Vegetables"),
    "fruit_tea": _l("Fruit and tea"),
    "seedlings": _l("Forestry seedlings"),
    "aquaculture": _l("Aquaculture"),
    "livestock": _l("Livestock and poultry on farmland facilities"),
    "other_farming": _l("Other farming"),
}
METHOD_LABELS = {
    "lease": _l("Lease (出租)"),
    "subcontract": _l("Subcontract (转包)"),
    "shares": _l("Contribution as shares (入股)"),
    "other": _l("Other transfer of the management right"),
}
LESSEE_KIND_LABELS = {
    "member_household": _l("Member household of this collective"),
    "member_person": _l("Member of this collective"),
    "outside_person": _l("Person from outside the collective"),
    "outside_household": _l("Farming household of another collective"),
    "cooperative": _l("Farmers' cooperative"),
    "company": _l("Company or other business"),
    "other_org": _l("Other organisation"),
}
CHANNEL_LABELS = {
    "direct": _l("Directly between the parties"),
    "market": _l("Through the marketplace"),
    "entrusted": _l("By the collective on the households' behalf"),
    "sublease": _l("Re-lease by the lessee"),
}
SCHEDULES = {
    "annual": _l("Once a year"),
    "semiannual": _l("Twice a year"),
    "once": _l("All at the start"),
}
STATE_LABELS = {
    "awaiting_qualification": _l("Waiting for the bureau's qualification review"),
    "in_force": _l("In force"),
    "refused": _l("Refused by the qualification review"),
    "ended": _l("Ended"),
}
ENDING_KINDS = {
    "expiry": _l("Term expired"),
    "agreement": _l("Ended early by agreement"),
    "breach": _l("Ended for breach"),
}
MEMBER_KINDS = ("member_household", "member_person")
#: Kinds named by a USCC; those of BUSINESS_KINDS may need the qualification review.
ORG_KINDS = ("cooperative", "company", "other_org")
BUSINESS_KINDS = ("company", "other_org")
#: Leases that hold land (another lease of the same plots over the same days is refused).
HOLDING_STATES = ("awaiting_qualification", "in_force")
#: One 亩 is 10000/15 m².
M2_PER_MU = Decimal(10000) / Decimal(15)
#: Rent per 亩 per year at most (fen): ten million yuan. Beyond it a number is a typing error.
MAX_RENT_FEN_PER_MU = 10**9
#: A payment at most (fen), either way.
MAX_PAYMENT_FEN = 10**13
RECORDERS = frozenset({"collective_admin", "system"})
REVIEWERS = frozenset({"bureau_reviewer", "system"})


@dataclass(frozen=True)
class Lessee:
    """Who takes the land (受让方). Members are named by uid; anyone else by name and number."""

    kind: str  # LESSEE_KINDS
    name: str
    household_uid: int | None = None  # member_household
    person_uid: int | None = None  # member_person
    id_number: str | None = None  # outside_person / outside_household head (GB 11643)
    uscc: str | None = None  # cooperative / company / other_org (GB 32100)
    contact: str | None = None


def label(table: dict, key: str | None) -> str:
    value = table.get(key) if key is not None else None
    return str(value) if value is not None else (key or "")


def _refuse(code: str, message: str, *, field: str | None = None, rule: str | None = "R05"):
    return DomainError(code, message, field=field, rule=rule)


def _actor(roles: frozenset[str]) -> trail.AuditContext:
    ctx = trail.current()
    if ctx is None:
        raise trail.AuditContextMissing("no actor: set an audit context before writing")
    if ctx.role not in roles:
        if roles is REVIEWERS:
            message = _("The qualification review is decided by the county bureau.")
        else:
            message = _("Leases are recorded by the collective's administrator.")
        raise DomainError("lease_recorder", message)
    return ctx


# --------------------------------------------------------------------------------------------
# Terms and money
# --------------------------------------------------------------------------------------------


def longer_than_one_year(starts_on: date, ends_on: date) -> bool:
    """A term of more than one full year (the last day included)."""
    return ends_on >= add_years(starts_on, 1)


def at_least_years(starts_on: date, ends_on: date, years: int) -> bool:
    """A term of at least ``years`` full years (the last day included)."""
    return ends_on >= add_years(starts_on, years) - timedelta(days=1)


def area_mu(area_m2: float | Decimal) -> Decimal:
    return Decimal(str(area_m2)) / M2_PER_MU


def yearly_rent_fen(rent_fen_per_mu_year: int, area_m2: float) -> int:
    """The year's rent for the whole area: rent per 亩 × area in 亩, rounded half up once."""
    exact = Decimal(rent_fen_per_mu_year) * Decimal(str(area_m2)) * 15 / Decimal(10000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, the month's last day when it has no such day."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def instalments(
    starts_on: date, ends_on: date, year_fen: int, schedule: str
) -> list[tuple[date, int]]:
    """The rent schedule: (due day, fen). ``annual``: each lease year's first day, the last year
    pro rata by days; ``semiannual``: each half of a lease year, a half year's share by days;
    ``once``: everything on the first day."""
    years: list[tuple[date, date, int]] = []  # (first day, last day, fen)
    k = 0
    while True:
        first = add_years(starts_on, k)
        if first > ends_on:
            break
        full_last = add_years(starts_on, k + 1) - timedelta(days=1)
        last = min(full_last, ends_on)
        days_full = (full_last - first).days + 1
        covered = (last - first).days + 1
        amount = (
            year_fen
            if covered == days_full
            else _half_up(Decimal(year_fen) * covered / Decimal(days_full))
        )
        years.append((first, last, amount))
        k += 1
    if schedule == "once":
        return [(starts_on, sum(a for _f, _l, a in years))]
    if schedule == "annual":
        return [(f, a) for f, _l, a in years]
    out: list[tuple[date, int]] = []
    for first, last, amount in years:
        middle = add_months(first, 6)
        if middle > last:
            out.append((first, amount))
            continue
        d1 = (middle - first).days
        d2 = (last - middle).days + 1
        full_last = add_years(first, 1) - timedelta(days=1)
        if last == full_last:
            one = _half_up(Decimal(amount) / 2)
        else:
            one = _half_up(Decimal(amount) * d1 / (d1 + d2))
        out.append((first, one))
        out.append((middle, amount - one))
    return out


# --------------------------------------------------------------------------------------------
# The rules (read only)
# --------------------------------------------------------------------------------------------


def check_use(use: Any) -> str:
    """R05: the land stays in agricultural use."""
    if use not in USES:
        raise _refuse(
            "use_not_agricultural",
            _(
                "Leased land stays in agricultural use: choose a farming use from the list "
                "(building, mining, storage or any other non-farming use is not allowed)."
            ),
            field="use",
        )
    return str(use)


def check_term(
    contract: LandContract, starts_on: date, ends_on: date, day: date, parent: Lease | None
) -> None:
    """R02: within the contract's term (and, for a re-lease, within its parent's dates)."""
    if ends_on <= starts_on:
        raise DomainError("date_order", _("The lease must end after it starts."), field="ends_on")
    if ends_on < day:
        raise DomainError(
            "already_ended",
            _("This lease would already be over: nothing to record."),
            field="ends_on",
        )
    if starts_on < contract.term_start:
        raise _refuse(
            "before_contract_term",
            _(
                "The lease would start on %(start)s, before the contract's term begins (%(term)s).",
                start=starts_on.isoformat(),
                term=contract.term_start.isoformat(),
            ),
            field="starts_on",
            rule="R02",
        )
    if contract.term_end < day:
        raise _refuse(
            "contract_term_over",
            _(
                "The land contract's term ended on %(end)s; nothing of it remains.",
                end=contract.term_end.isoformat(),
            ),
            field="contract_uid",
            rule="R02",
        )
    if ends_on > contract.term_end:
        raise _refuse(
            "beyond_contract_term",
            _(
                "The lease would run until %(end)s, past the end of the land contract's term "
                "(%(term)s): no lease may run past the remaining contract term.",
                end=ends_on.isoformat(),
                term=contract.term_end.isoformat(),
            ),
            field="ends_on",
            rule="R02",
        )
    if parent is not None and (starts_on < parent.starts_on or ends_on > parent.ends_on):
        raise _refuse(
            "beyond_parent_lease",
            _(
                "A re-lease stays within the lease it comes from (%(start)s to %(end)s).",
                start=parent.starts_on.isoformat(),
                end=parent.ends_on.isoformat(),
            ),
            field="ends_on",
            rule="R02",
        )


def check_written_contract(
    starts_on: date, ends_on: date, contract_document_id: Any, collective_id: int
) -> int | None:
    """R05: a written lease contract (a source document) for a term over one year."""
    if contract_document_id in (None, ""):
        if longer_than_one_year(starts_on, ends_on):
            raise _refuse(
                "written_contract_required",
                _(
                    "A lease of more than one year needs a written contract: attach the signed "
                    "lease contract."
                ),
                field="contract_document_id",
            )
        return None
    return _document(contract_document_id, collective_id, "contract_document_id")


def check_registration(starts_on: date, ends_on: date, register: Any) -> bool:
    """R05: a lease of five years or more may be registered (登记); a shorter one may not."""
    if not isinstance(register, bool):
        raise DomainError("register", _("Say yes or no."), field="register")
    if register and not at_least_years(starts_on, ends_on, 5):
        raise _refuse(
            "register_too_short",
            _("Only a lease of five years or more can be registered."),
            field="register",
        )
    return register


def check_holder_consent(
    channel: str, holder_consent_document_id: Any, collective_id: int
) -> int | None:
    """R05: a re-lease by the lessee needs the holder's written consent."""
    if channel != "sublease":
        if holder_consent_document_id not in (None, ""):
            return _document(
                holder_consent_document_id, collective_id, "holder_consent_document_id"
            )
        return None
    if holder_consent_document_id in (None, ""):
        raise _refuse(
            "holder_consent_required",
            _("A re-lease by the lessee needs the contract holder's written consent: attach it."),
            field="holder_consent_document_id",
        )
    return _document(holder_consent_document_id, collective_id, "holder_consent_document_id")


def _document(value: Any, collective_id: int, field: str) -> int:
    try:
        return source_document(value, collective_id).id
    except DomainError as exc:
        raise DomainError(exc.code, exc.message, field=field) from None


def priority_days() -> int:
    return int(current_app.config.get("LEASE_PRIORITY_DAYS", 10))


def qualification_mu() -> Decimal:
    return Decimal(str(current_app.config.get("LEASE_QUALIFICATION_MU", Decimal(100))))


def check_members_priority(
    lessee: Lessee, channel: str, evidence: Any, collective_id: int, day: date
) -> dict | None:
    """R05: members have priority on equal terms. A member needs no evidence. For an outsider:

    * channel ``market``: the marketplace's record of the priority period, with at least
      ``priority_from`` and ``priority_until`` (ISO days, the period at least
      ``LEASE_PRIORITY_DAYS`` long and over by ``day``) and ``member_matched`` false; anything
      else it holds (who was offered what, their decisions) is kept as given;
    * channels ``direct`` and ``entrusted``: the notice to members, ``notice_document_id`` (a
      source document of the collective) and ``notice_from`` (its first day), which must have
      run ``LEASE_PRIORITY_DAYS`` days by ``day``, with no member matching.

    A re-lease by the lessee (``sublease``) comes out of a lease already made: no new notice.
    Returns the evidence to store."""
    if lessee.kind in MEMBER_KINDS or channel == "sublease":
        return None
    days = priority_days()
    missing = _refuse(
        "priority_notice_required",
        _(
            "The lessee is not a member of the collective: members have priority on equal "
            "terms, so the lease needs the notice to members (the document and its first day), "
            "which must have run at least %(days)s days with no member taking the terms.",
            days=days,
        ),
        field="priority_evidence",
    )
    if not isinstance(evidence, dict):
        raise missing
    if channel == "market":
        try:
            start = require_date(evidence.get("priority_from"), "priority_evidence")
            until = require_date(evidence.get("priority_until"), "priority_evidence")
        except DomainError:
            raise missing from None
        if evidence.get("member_matched") is not False:
            raise _refuse(
                "member_matched",
                _("A member matched the terms in the priority period: the member takes the lease."),
                field="priority_evidence",
            )
        if until > day:
            raise _priority_running(until + timedelta(days=1) if until < date.max else until)
        if (until - start).days + 1 < days:
            raise missing
        return dict(evidence)
    notice = evidence.get("notice_document_id")
    try:
        start = require_date(evidence.get("notice_from"), "priority_evidence")
    except DomainError:
        raise missing from None
    if not is_id(notice):
        raise missing
    doc_id = _document(notice, collective_id, "priority_evidence")
    if evidence.get("member_matched") not in (None, False):
        raise _refuse(
            "member_matched",
            _("A member matched the terms in the priority period: the member takes the lease."),
            field="priority_evidence",
        )
    if start > day:
        raise missing  # a notice that has not begun
    free_from = start + timedelta(days=days)
    if free_from > day:
        raise _priority_running(free_from)
    return {
        "notice_document_id": doc_id,
        "notice_from": start.isoformat(),
        "days": days,
        "member_matched": False,
        "checked_on": day.isoformat(),
    }


def _priority_running(free_from: date) -> DomainError:
    return _refuse(
        "priority_period_running",
        _(
            "The members' priority period is still running: an outsider can take the lease "
            "from %(day)s if no member takes the terms by then.",
            day=free_from.isoformat(),
        ),
        field="priority_evidence",
    )


def check_lessee(lessee: Any, collective_id: int, holder_uid: int | None, day: date) -> Lessee:
    """The lessee's kind and identity: a member on the roll on the day, or an outsider's valid
    ID number or USCC. Returns the lessee as it will be stored (a member's name from the
    registry). ``holder_uid``: the household leasing out (it cannot lease to itself); None
    when the lease has many holders (the collective's leasing on households' behalf)."""
    if not isinstance(lessee, Lessee):
        raise DomainError("lessee", _("Say who takes the land."), field="lessee")
    if lessee.kind not in LESSEE_KINDS:
        raise DomainError(
            "lessee_kind", _("Choose who takes the land from the list."), field="lessee_kind"
        )
    contact = text(lessee.contact, "lessee_contact", "label")
    if lessee.kind == "member_household":
        hh = (
            history.current_of(Household, int(lessee.household_uid or 0))
            if is_id(lessee.household_uid)
            else None
        )
        if hh is None or hh.collective_id != collective_id:
            raise NotFound(
                "household_not_found",
                _("No such household in this collective."),
                field="lessee_household_uid",
            )
        if holder_uid is not None and hh.uid == holder_uid:
            raise DomainError(
                "lessee_is_holder",
                _("The household cannot lease its own land to itself."),
                field="lessee_household_uid",
            )
        people = [uid for uid, _hukou in homestead_rules.household_people(hh.uid)]
        if not homestead_rules.members_on_roll(collective_id, people, day):
            raise _refuse(
                "not_a_member",
                _(
                    "Nobody in this household is on the collective's membership roll on this "
                    "day: record it as a household from outside the collective."
                ),
                field="lessee_household_uid",
            )
        return Lessee(kind=lessee.kind, name=hh.name, household_uid=hh.uid, contact=contact)
    if lessee.kind == "member_person":
        person = (
            history.current_of(Person, int(lessee.person_uid or 0))
            if is_id(lessee.person_uid)
            else None
        )
        if person is None or not homestead_rules.members_on_roll(collective_id, [person.uid], day):
            raise _refuse(
                "not_a_member",
                _(
                    "This person is not on the collective's membership roll on this day: "
                    "record them as a person from outside the collective."
                ),
                field="lessee_person_uid",
            )
        return Lessee(kind=lessee.kind, name=person.name, person_uid=person.uid, contact=contact)
    name = text(lessee.name, "lessee_name", "title", required=True)
    if len(name) > 120:
        raise DomainError(
            "too_long", _("The name may have at most 120 characters."), field="lessee_name"
        )
    if lessee.kind in ORG_KINDS:
        if not isinstance(lessee.uscc, str) or not lessee.uscc.strip():
            raise DomainError(
                "uscc_required",
                _("Give the lessee's unified social credit code."),
                field="lessee_uscc",
            )
        try:
            uscc = codes.validate_uscc(lessee.uscc)
        except codes.CodeError as exc:
            raise DomainError.from_check(exc, field="lessee_uscc") from exc
        return Lessee(kind=lessee.kind, name=name, uscc=uscc, contact=contact)
    if not isinstance(lessee.id_number, str) or not lessee.id_number.strip():
        raise DomainError(
            "id_number_required",
            _("Give the lessee's ID number."),
            field="lessee_id_number",
        )
    try:
        id_number = codes.validate_id_number(lessee.id_number, today=day)
    except codes.CodeError as exc:
        raise DomainError.from_check(exc, field="lessee_id_number") from exc
    return Lessee(kind=lessee.kind, name=name, id_number=id_number, contact=contact)


def _plot_ids(value: Any) -> list[int]:
    if not isinstance(value, list | tuple) or not value:
        raise DomainError("plots_required", _("Choose at least one plot."), field="plot_uids")
    if not all(is_id(v) for v in value) or len(value) > 200:
        raise DomainError("plots_required", _("Choose the plots from the list."), field="plot_uids")
    return sorted(set(value))


def holding_leases(
    plot_uids: list[int], starts_on: date, ends_on: date, *, exclude: int | None = None
) -> list[Lease]:
    """Leases holding any of the plots on any day from ``starts_on`` to ``ends_on``: awaiting
    review or in force over overlapping dates, or ended on or after ``starts_on`` (an ended
    lease holds its plots until its ending day)."""
    ended = select(LeaseEnding.ended_on).where(LeaseEnding.lease_id == Lease.id).scalar_subquery()
    q = (
        select(Lease)
        .join(LeasePlot, LeasePlot.lease_id == Lease.id)
        .where(
            LeasePlot.plot_uid.in_(plot_uids),
            Lease.starts_on <= ends_on,
            Lease.ends_on >= starts_on,
            or_(
                Lease.state.in_(HOLDING_STATES),
                and_(Lease.state == "ended", ended >= starts_on, Lease.starts_on <= ended),
            ),
        )
        .distinct()
        .order_by(Lease.id)
    )
    if exclude is not None:
        q = q.where(Lease.id != exclude)
    return list(db.session.scalars(q))


def check_plots(
    collective_id: int,
    contract: LandContract,
    plot_uids: list[int],
    starts_on: date,
    ends_on: date,
    day: date,
    parent: Lease | None,
    *,
    lock: bool = False,
) -> list[Plot]:
    """The plots: current, of the contract, not reserve land, not blocked (a freeze, a dispute,
    an open objection), not in another lease over the same days (a re-lease inside its parent
    excepted), and for a re-lease among its parent's plots."""
    plots = []
    parent_plots = set(plot_uids_of(parent.id)) if parent is not None else set()
    for uid in plot_uids:
        plot = history.current_of(Plot, uid, lock=lock)
        if plot is None or plot.collective_id != collective_id or plot.contract_uid != contract.uid:
            raise DomainError(
                "plot_not_in_contract",
                _("A chosen plot is not a current plot of this contract."),
                field="plot_uids",
            )
        name = plot.name or plot.dkbm
        if plot.land_class == RESERVE_LAND_CLASS:
            raise DomainError(
                "reserve_land",
                _("Reserve land belongs to the collective and is not leased by a household."),
                field="plot_uids",
                rule="R01",
            )
        if parent is not None and uid not in parent_plots:
            raise _refuse(
                "plot_not_in_parent",
                _(
                    "The plot %(name)s is not in the lease being re-leased.",
                    name=name,
                ),
                field="plot_uids",
            )
        problem = encumbrances.blocking_encumbrance("plot", uid, action="lease", on=day)
        if problem is not None:
            raise DomainError(
                problem.code,
                _("The plot %(name)s cannot be leased: %(why)s", name=name, why=problem.message),
                field="plot_uids",
                rule="R05",
            )
        plots.append(plot)
    for other in holding_leases(
        plot_uids, starts_on, ends_on, exclude=parent.id if parent is not None else None
    ):
        raise _refuse(
            "plot_already_leased",
            _(
                "Some of the plots are already leased to %(lessee)s from %(start)s to %(end)s "
                "(lease %(number)s): the land is free again the day after that lease ends.",
                lessee=other.lessee_name,
                start=other.starts_on.isoformat(),
                end=other.ends_on.isoformat(),
                number=other.number,
            ),
            field="plot_uids",
        )
    return plots


def leased_area_mu(uscc: str, *, exclude: int | None = None) -> Decimal:
    """A business's leased area in the county (its leases awaiting review or in force), 亩."""
    q = select(func.coalesce(func.sum(Lease.area_m2), 0.0)).where(
        Lease.lessee_uscc == uscc, Lease.state.in_(HOLDING_STATES)
    )
    if exclude is not None:
        q = q.where(Lease.id != exclude)
    return area_mu(db.session.scalar(q) or 0.0)


def needs_qualification(lessee: Lessee, area_m2: float) -> bool:
    """R05 (流转管理办法 Art. 29): a company or other business whose leased area in the county,
    this lease included, exceeds ``LEASE_QUALIFICATION_MU`` 亩 needs the bureau's review."""
    if lessee.kind not in BUSINESS_KINDS or lessee.uscc is None:
        return False
    return leased_area_mu(lessee.uscc) + area_mu(area_m2) > qualification_mu()


@dataclass
class CheckedTerms:
    contract: LandContract
    plots: list[Plot]
    lessee: Lessee
    method: str
    use: str
    channel: str
    starts_on: date
    ends_on: date
    day: date
    parent: Lease | None
    contract_document_id: int | None
    holder_consent_document_id: int | None
    priority_evidence: dict | None
    register: bool
    area_m2: float


def _checked(
    collective_id: Any,
    contract_uid: Any,
    plot_uids: Any,
    *,
    lessee: Any,
    method: Any,
    use: Any,
    starts_on: Any,
    ends_on: Any,
    channel: Any,
    parent_lease_id: Any,
    contract_document_id: Any,
    holder_consent_document_id: Any,
    priority_evidence: Any,
    register: Any,
    on: date | None,
    lock: bool,
) -> CheckedTerms:
    day = today_or(on)
    if channel not in CHANNELS:
        raise DomainError("channel", _("Choose how the lease came about."), field="channel")
    if method not in METHODS:
        raise DomainError("method", _("Choose the kind of transfer from the list."), field="method")
    contract = (
        history.current_of(LandContract, contract_uid, lock=lock) if is_id(contract_uid) else None
    )
    if contract is None or contract.collective_id != collective_id:
        raise NotFound(
            "contract_not_found",
            _("No current land contract with this number in this collective."),
            field="contract_uid",
        )
    if contract.status != "confirmed":
        raise DomainError(
            "contract_not_confirmed",
            _("The land contract is not confirmed yet: its land cannot be leased."),
            field="contract_uid",
        )
    plots_wanted = _plot_ids(plot_uids)
    begins = require_date(starts_on, "starts_on")
    ends = require_date(ends_on, "ends_on")
    parent = None
    if channel == "sublease":
        parent = (
            db.session.get(Lease, parent_lease_id, with_for_update=lock)
            if is_id(parent_lease_id)
            else None
        )
        if parent is None or parent.collective_id != collective_id:
            raise NotFound(
                "lease_not_found", _("No such lease in this collective."), field="parent_lease_id"
            )
        if parent.state != "in_force" or parent.contract_uid != contract.uid:
            raise _refuse(
                "parent_not_in_force",
                _("Only a lease in force can be re-leased, on the same contract."),
                field="parent_lease_id",
            )
    elif parent_lease_id not in (None, ""):
        raise DomainError(
            "parent_lease",
            _("Only a re-lease by the lessee names the lease it comes from."),
            field="parent_lease_id",
        )
    check_term(contract, begins, ends, day, parent)
    chosen_use = check_use(use)
    checked_lessee = check_lessee(lessee, collective_id, contract.household_uid, day)
    if (
        parent is not None
        and checked_lessee.name == parent.lessee_name
        and (checked_lessee.kind == parent.lessee_kind)
    ):
        raise DomainError(
            "lessee_is_lessor",
            _("A re-lease goes to someone other than the lessee."),
            field="lessee_name",
        )
    contract_doc = check_written_contract(begins, ends, contract_document_id, collective_id)
    consent_doc = check_holder_consent(channel, holder_consent_document_id, collective_id)
    registered = check_registration(begins, ends, register)
    evidence = check_members_priority(
        checked_lessee, channel, priority_evidence, collective_id, day
    )
    plots = check_plots(collective_id, contract, plots_wanted, begins, ends, day, parent, lock=lock)
    area = float(sum((p.contract_area_m2 or p.measured_area_m2 or 0.0) for p in plots))
    return CheckedTerms(
        contract=contract,
        plots=plots,
        lessee=checked_lessee,
        method=str(method),
        use=chosen_use,
        channel=str(channel),
        starts_on=begins,
        ends_on=ends,
        day=day,
        parent=parent,
        contract_document_id=contract_doc,
        holder_consent_document_id=consent_doc,
        priority_evidence=evidence,
        register=registered,
        area_m2=area,
    )


def check_lease_terms(
    collective_id: Any,
    contract_uid: Any,
    plot_uids: Any,
    *,
    lessee: Any,
    method: Any,
    use: Any,
    starts_on: Any,
    ends_on: Any,
    channel: Any = "direct",
    parent_lease_id: Any = None,
    contract_document_id: Any = None,
    holder_consent_document_id: Any = None,
    priority_evidence: Any = None,
    register: Any = False,
    on: date | None = None,
) -> None:
    """R02 and R05: raise a ``DomainError`` in the user's words on the first rule the lease would
    break (module docstring); reads only. The marketplace asks it when a lease listing is made
    and published and again at registration; ``record_lease`` asks it first."""
    _checked(
        collective_id,
        contract_uid,
        plot_uids,
        lessee=lessee,
        method=method,
        use=use,
        starts_on=starts_on,
        ends_on=ends_on,
        channel=channel,
        parent_lease_id=parent_lease_id,
        contract_document_id=contract_document_id,
        holder_consent_document_id=holder_consent_document_id,
        priority_evidence=priority_evidence,
        register=register,
        on=on,
        lock=False,
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _rent(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DomainError(
            "rent", _("Give the rent per mu per year in yuan."), field="rent_fen_per_mu_year"
        )
    if value < 0 or value > MAX_RENT_FEN_PER_MU:
        raise DomainError(
            "rent_range",
            _("The rent per mu per year must be from 0 to 10,000,000 yuan."),
            field="rent_fen_per_mu_year",
        )
    return value


def _next_number(contract: LandContract) -> str:
    """流转合同编码: the contract's code and the lease's sequence on it (under the contract's
    lock, so two leases of one contract cannot take the same number)."""
    n = db.session.scalar(
        select(func.count(Lease.id)).where(Lease.number.like(f"{contract.cbhtbm}-%"))
    )
    return f"{contract.cbhtbm}-L{(n or 0) + 1:03d}"


def _lease_document(lease: Lease) -> int | None:
    """The document a lease's registry records cite: its contract, the holder's consent, or
    the notice to members."""
    if lease.contract_document_id is not None:
        return lease.contract_document_id
    if lease.holder_consent_document_id is not None:
        return lease.holder_consent_document_id
    if lease.priority_evidence:
        notice = json.loads(lease.priority_evidence).get("notice_document_id")
        if is_id(notice):
            return int(notice)
    return None


def _into_force(lease: Lease, day: date) -> None:
    """The lease takes effect: one registry record of kind "lease" per plot, from the lease's
    start (or the review's day, if later) to its end. A lease on no paper at all (one year or
    less, between members) has no document to cite: its records cite the lease itself."""
    doc = _lease_document(lease)
    starts = min(max(lease.starts_on, day), lease.ends_on)
    for lp in db.session.scalars(select(LeasePlot).where(LeasePlot.lease_id == lease.id)):
        plot = history.current_of(Plot, lp.plot_uid)
        if plot is None:
            continue
        encumbrances.record_lease_encumbrance(
            plot,
            lease_id=lease.id,
            lease_number=lease.number,
            party_name=lease.lessee_name,
            party_uscc=lease.lessee_uscc,
            starts_on=starts,
            ends_on=lease.ends_on,
            source_document_id=doc,
        )


def record_lease(
    collective_id: Any,
    contract_uid: Any,
    plot_uids: Any,
    *,
    lessee: Any,
    method: Any,
    use: Any,
    starts_on: Any,
    ends_on: Any,
    rent_fen_per_mu_year: Any,
    payment_schedule: Any,
    contract_document_id: Any = None,
    channel: Any = "direct",
    parent_lease_id: Any = None,
    holder_consent_document_id: Any = None,
    priority_evidence: Any = None,
    register: Any = False,
    entrusted_lease_id: Any = None,
    note: Any = None,
    on: date | None = None,
) -> Lease:
    """Record (and so file with the 发包方) a lease of some plots of one contract: R02 and R05
    (``check_lease_terms``), the rent schedule, and, when the lease takes effect at once, its
    registry records. A company or other business above the county's threshold waits for the
    bureau's qualification review (state ``awaiting_qualification``). The only writer of
    ``Lease`` rows; flushes, never commits. The contract is locked, so two leases of one plot
    cannot both be recorded."""
    ctx = _actor(RECORDERS)
    if not is_id(collective_id):
        raise NotFound("contract_not_found", _("Not found."), field="contract_uid")
    rent = _rent(rent_fen_per_mu_year)
    if payment_schedule not in SCHEDULES:
        raise DomainError(
            "payment_schedule",
            _("Choose how the rent is paid from the list."),
            field="payment_schedule",
        )
    remark = text(note, "note", "note")
    if entrusted_lease_id is not None and not is_id(entrusted_lease_id):
        raise DomainError("entrusted_lease", _("Not found."), field="entrusted_lease_id")
    terms = _checked(
        collective_id,
        contract_uid,
        plot_uids,
        lessee=lessee,
        method=method,
        use=use,
        starts_on=starts_on,
        ends_on=ends_on,
        channel=channel,
        parent_lease_id=parent_lease_id,
        contract_document_id=contract_document_id,
        holder_consent_document_id=holder_consent_document_id,
        priority_evidence=priority_evidence,
        register=register,
        on=on,
        lock=True,
    )
    year_fen = yearly_rent_fen(rent, terms.area_m2)
    if year_fen > MAX_PAYMENT_FEN:
        raise DomainError(
            "rent_range",
            _("The rent per mu per year must be from 0 to 10,000,000 yuan."),
            field="rent_fen_per_mu_year",
        )
    waits = needs_qualification(terms.lessee, terms.area_m2)
    lessee_ = terms.lessee
    lease = Lease(
        collective_id=collective_id,
        number=_next_number(terms.contract),
        contract_uid=terms.contract.uid,
        household_uid=terms.contract.household_uid,
        parent_lease_id=terms.parent.id if terms.parent is not None else None,
        entrusted_lease_id=entrusted_lease_id,
        method=terms.method,
        channel=terms.channel,
        lessee_kind=lessee_.kind,
        lessee_name=lessee_.name,
        lessee_household_uid=lessee_.household_uid,
        lessee_person_uid=lessee_.person_uid,
        lessee_id_number=lessee_.id_number,
        lessee_uscc=lessee_.uscc,
        lessee_contact=lessee_.contact,
        use=terms.use,
        starts_on=terms.starts_on,
        ends_on=terms.ends_on,
        area_m2=terms.area_m2,
        rent_fen_per_mu_year=rent,
        rent_fen_per_year=year_fen,
        payment_schedule=str(payment_schedule),
        contract_document_id=terms.contract_document_id,
        filed_on=terms.day,
        filed_by=ctx.actor,
        registered_on=terms.day if terms.register else None,
        holder_consent_document_id=terms.holder_consent_document_id,
        priority_evidence=(
            trail.canonical_json(terms.priority_evidence)
            if terms.priority_evidence is not None
            else None
        ),
        needs_qualification=waits,
        state="awaiting_qualification" if waits else "in_force",
        note=remark,
        recorded_by=ctx.actor,
        recorded_by_id=ctx.actor_id,
    )
    reason = _("Lease of %(n)s plot(s) to %(lessee)s", n=len(terms.plots), lessee=lessee_.name)
    with trail.because("lease.record", reason=reason):
        db.session.add(lease)
        db.session.flush()
        for plot in terms.plots:
            db.session.add(
                LeasePlot(
                    lease_id=lease.id,
                    collective_id=collective_id,
                    plot_uid=plot.uid,
                    area_m2=float(plot.contract_area_m2 or plot.measured_area_m2 or 0.0),
                )
            )
        for due_on, amount in instalments(
            terms.starts_on, terms.ends_on, year_fen, lease.payment_schedule
        ):
            db.session.add(
                LeaseInstalment(
                    lease_id=lease.id, collective_id=collective_id, due_on=due_on, amount_fen=amount
                )
            )
        db.session.flush()
        if lease.state == "in_force":
            _into_force(lease, terms.day)
    return lease


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def plot_uids_of(lease_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(LeasePlot.plot_uid).where(LeasePlot.lease_id == lease_id).order_by(LeasePlot.id)
        )
    )


def lease_plots(lease_id: int) -> list[LeasePlot]:
    return list(
        db.session.scalars(
            select(LeasePlot).where(LeasePlot.lease_id == lease_id).order_by(LeasePlot.id)
        )
    )


def schedule_of(lease_id: int) -> list[LeaseInstalment]:
    return list(
        db.session.scalars(
            select(LeaseInstalment)
            .where(LeaseInstalment.lease_id == lease_id)
            .order_by(LeaseInstalment.due_on, LeaseInstalment.id)
        )
    )


def payments_of(lease_id: int) -> list[LeasePayment]:
    return list(
        db.session.scalars(
            select(LeasePayment)
            .where(LeasePayment.lease_id == lease_id)
            .order_by(LeasePayment.paid_on, LeasePayment.id)
        )
    )


def ending_of(lease_id: int) -> LeaseEnding | None:
    return db.session.scalar(select(LeaseEnding).where(LeaseEnding.lease_id == lease_id))


def qualification_of(lease_id: int) -> LeaseQualification | None:
    return db.session.scalar(
        select(LeaseQualification).where(LeaseQualification.lease_id == lease_id)
    )


def in_force_on(day: date) -> Any:
    """SQL: the lease holds its land on ``day`` (in force, begun, not past its end)."""
    return (Lease.state == "in_force") & (Lease.starts_on <= day) & (Lease.ends_on >= day)


def leases_of_plots(plot_uids: list[int], on: date | None = None) -> list[Lease]:
    """Leases awaiting review or in force on the plots that have not ended by ``on``."""
    if not plot_uids:
        return []
    day = today_or(on)
    return list(
        db.session.scalars(
            select(Lease)
            .join(LeasePlot, LeasePlot.lease_id == Lease.id)
            .where(
                LeasePlot.plot_uid.in_(list(plot_uids)),
                Lease.state.in_(HOLDING_STATES),
                Lease.ends_on >= day,
            )
            .distinct()
            .order_by(Lease.starts_on, Lease.id)
        )
    )


def leases_of_contract(contract_uid: int, on: date | None = None) -> list[Lease]:
    day = today_or(on)
    return list(
        db.session.scalars(
            select(Lease)
            .where(
                Lease.contract_uid == contract_uid,
                Lease.state.in_(HOLDING_STATES),
                Lease.ends_on >= day,
            )
            .order_by(Lease.starts_on, Lease.id)
        )
    )


def leases_of_household(household_uid: int) -> list[Lease]:
    """The leases of a household's land (leased out), newest first."""
    return list(
        db.session.scalars(
            select(Lease)
            .where(Lease.household_uid == household_uid)
            .order_by(Lease.starts_on.desc(), Lease.id.desc())
            .limit(200)
        )
    )


def leases_in_force(collective_id: int | None = None, on: date | None = None) -> list[Lease]:
    day = today_or(on)
    q = select(Lease).where(in_force_on(day)).order_by(Lease.collective_id, Lease.id)
    if collective_id is not None:
        q = q.where(Lease.collective_id == collective_id)
    return list(db.session.scalars(q))


def due_fen(lease: Lease, on: date | None = None) -> int:
    """Rent due so far: instalments due by ``on`` (by the ending day for an ended lease); none
    while the lease waits for review or after it was refused."""
    if lease.state in ("awaiting_qualification", "refused"):
        return 0
    day = today_or(on)
    if lease.state == "ended":
        ending = ending_of(lease.id)
        if ending is not None:
            day = min(day, ending.ended_on)
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LeaseInstalment.amount_fen), 0)).where(
                LeaseInstalment.lease_id == lease.id, LeaseInstalment.due_on <= day
            )
        )
        or 0
    )


def paid_fen(lease: Lease, on: date | None = None) -> int:
    day = today_or(on)
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LeasePayment.amount_fen), 0)).where(
                LeasePayment.lease_id == lease.id, LeasePayment.paid_on <= day
            )
        )
        or 0
    )


def arrears(lease: Lease, on: date | None = None) -> int:
    """Rent in arrears on ``on`` (fen): due so far − paid so far, never below zero."""
    return max(0, due_fen(lease, on) - paid_fen(lease, on))


# --------------------------------------------------------------------------------------------
# What happens to a lease: the review, payments, the ending
# --------------------------------------------------------------------------------------------


def _lease(lease_id: Any, collective_id: int | None, *, lock: bool = True) -> Lease:
    lease = db.session.get(Lease, lease_id, with_for_update=lock) if is_id(lease_id) else None
    if lease is None or (collective_id is not None and lease.collective_id != collective_id):
        raise NotFound("lease_not_found", _("No such lease."), field="lease_id")
    return lease


def decide_qualification(
    lease_id: Any,
    *,
    decision: Any,
    reason: Any,
    document_id: Any = None,
    on: date | None = None,
) -> LeaseQualification:
    """R05 (流转管理办法 Art. 29): the bureau's qualification review of a business taking land
    above the county's threshold, written once. Approved, the lease takes effect (from its start,
    or today if the start has passed); rejected, it is refused and the plots are free."""
    ctx = _actor(REVIEWERS)
    lease = _lease(lease_id, None)
    if decision not in ("approve", "reject"):
        raise DomainError("decision", _("Approve or reject."), field="decision")
    why = text(reason, "reason", "reason", required=True)
    if lease.state != "awaiting_qualification":
        raise DomainError(
            "not_awaiting_qualification",
            _("This lease is not waiting for a qualification review."),
        )
    day = today_or(on)
    doc_id = (
        _document(document_id, lease.collective_id, "document_id")
        if document_id not in (None, "")
        else None
    )
    row = LeaseQualification(
        lease_id=lease.id,
        collective_id=lease.collective_id,
        decision=decision,
        reason=why,
        document_id=doc_id,
        decided_by=ctx.actor,
        decided_on=day,
    )
    with trail.because("lease.qualification", reason=why):
        db.session.add(row)
        lease.state = "in_force" if decision == "approve" else "refused"
        db.session.flush()
        if lease.state == "in_force":
            _into_force(lease, day)
    return row


def _amount(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DomainError("amount", _("Give the amount in yuan."), field="amount_fen")
    if value == 0 or abs(value) > MAX_PAYMENT_FEN:
        raise DomainError(
            "amount_range",
            _("Give an amount other than zero, at most 100,000,000,000 yuan."),
            field="amount_fen",
        )
    return value


def record_payment(
    lease_id: Any,
    *,
    paid_on: Any,
    amount_fen: Any,
    reference: Any = None,
    note: Any = None,
    collective_id: int | None = None,
    on: date | None = None,
) -> LeasePayment:
    """Rent received for a lease (written once). A negative amount corrects an earlier payment
    and needs a note saying why; a payment is never dated in the future nor before the lease was
    recorded."""
    ctx = _actor(RECORDERS)
    lease = _lease(lease_id, collective_id)
    amount = _amount(amount_fen)
    day = require_date(paid_on, "paid_on")
    ref = text(reference, "reference", "code")
    remark = text(note, "note", "note")
    if lease.state in ("awaiting_qualification", "refused"):
        raise DomainError(
            "lease_not_in_force",
            _("Rent is paid on a lease that has taken effect."),
        )
    if day > today_or(on):
        raise DomainError(
            "future_date", _("A payment cannot be dated in the future."), field="paid_on"
        )
    if day < min(lease.filed_on, lease.starts_on) - timedelta(days=366):
        raise DomainError(
            "date_order",
            _("A payment cannot be dated long before the lease."),
            field="paid_on",
        )
    if amount < 0:
        if remark is None:
            raise DomainError(
                "note_required",
                _("Say why the earlier payment is corrected."),
                field="note",
            )
        if paid_fen(lease, on=date.max) + amount < 0:
            raise DomainError(
                "amount_range",
                _("A correction cannot take back more than was paid."),
                field="amount_fen",
            )
    row = LeasePayment(
        lease_id=lease.id,
        collective_id=lease.collective_id,
        paid_on=day,
        amount_fen=amount,
        reference=ref,
        note=remark,
        recorded_by=ctx.actor,
    )
    with trail.because("lease.payment", reason=remark or _("Rent received")):
        db.session.add(row)
        db.session.flush()
    return row


def end_lease(
    lease_id: Any,
    *,
    kind: Any,
    ended_on: Any,
    reason: Any,
    document_id: Any = None,
    collective_id: int | None = None,
    on: date | None = None,
) -> LeaseEnding:
    """End a lease (written once): at expiry (on or after its last day), early by agreement
    (with the agreement), or for breach such as non-agricultural use (with the reason and the
    document). The lessee's layer ends that day: the registry's records are released, its
    re-leases end the same day, and the land can be leased again from the next day."""
    ctx = _actor(RECORDERS)
    lease = _lease(lease_id, collective_id)
    if kind not in ENDING_KINDS:
        raise DomainError("ending_kind", _("Choose how the lease ends."), field="kind")
    why = text(reason, "reason", "reason", required=True)
    day = require_date(ended_on, "ended_on")
    if lease.state not in HOLDING_STATES:
        raise DomainError("lease_over", _("This lease has already ended or was refused."))
    if kind == "expiry" and day < lease.ends_on:
        raise DomainError(
            "not_expired",
            _(
                "The lease runs until %(end)s: before then it ends by agreement or for breach.",
                end=lease.ends_on.isoformat(),
            ),
            field="ended_on",
        )
    if kind != "expiry":
        if day > lease.ends_on:
            raise DomainError(
                "after_end",
                _(
                    "The lease ran until %(end)s: it ended at expiry.",
                    end=lease.ends_on.isoformat(),
                ),
                field="ended_on",
            )
        if day > today_or(on):
            raise DomainError(
                "future_date", _("An ending cannot be dated in the future."), field="ended_on"
            )
        if document_id in (None, ""):
            raise DomainError(
                "document_required",
                _("Attach the agreement or the document that ends the lease."),
                field="document_id",
            )
    if day < min(lease.starts_on, lease.filed_on):
        raise DomainError(
            "date_order",
            _(
                "The ending cannot come before the lease (%(day)s).",
                day=lease.starts_on.isoformat(),
            ),
            field="ended_on",
        )
    doc_id = (
        _document(document_id, lease.collective_id, "document_id")
        if document_id not in (None, "")
        else None
    )
    return _end(lease, kind=str(kind), day=day, reason=why, doc_id=doc_id, actor=ctx.actor)


def _end(
    lease: Lease, *, kind: str, day: date, reason: str, doc_id: int | None, actor: str
) -> LeaseEnding:
    row = LeaseEnding(
        lease_id=lease.id,
        collective_id=lease.collective_id,
        kind=kind,
        ended_on=day,
        reason=reason,
        document_id=doc_id,
        recorded_by=actor,
    )
    with trail.because("lease.end", reason=reason):
        db.session.add(row)
        lease.state = "ended"
        db.session.flush()
        encumbrances.release_lease_encumbrances(
            lease.number,
            released_on=day,
            reason=reason,
            source_document_id=doc_id,
            lease_ending_id=row.id,
        )
    for sub in db.session.scalars(
        select(Lease)
        .where(Lease.parent_lease_id == lease.id, Lease.state.in_(HOLDING_STATES))
        .with_for_update()
    ):
        _end(
            sub,
            kind=kind if kind != "expiry" or day >= sub.ends_on else "agreement",
            day=min(day, sub.ends_on),
            reason=_(
                "The lease it was re-leased from (%(number)s) ended: %(reason)s",
                number=lease.number,
                reason=reason,
            )[:1000],
            doc_id=doc_id,
            actor=actor,
        )
    return row


def expire_leases(on: date | None = None) -> list[Lease]:
    """End at expiry every lease in force past its last day (``flask leases expire``);
    running it again ends nothing more."""
    day = today_or(on)
    ctx = trail.current()
    actor = ctx.actor if ctx is not None else "system"
    done = []
    for lease in db.session.scalars(
        select(Lease)
        .where(Lease.state.in_(HOLDING_STATES), Lease.ends_on < day)
        .order_by(Lease.id)
        .with_for_update()
    ):
        if lease.state != "in_force" and lease.state != "awaiting_qualification":
            continue  # ended meanwhile as a re-lease of one ended here
        _end(
            lease,
            kind="expiry",
            day=lease.ends_on,
            reason=_("The lease's term ended."),
            doc_id=None,
            actor=actor,
        )
        done.append(lease)
    return done


def holder_households(collective_id: int, limit: int = 2000) -> list[tuple[int, str, str]]:
    """(uid, name, CBFBM) of the collective's households holding a current contract, by code:
    those who may lease out land."""
    return [
        (uid, name, code)
        for uid, name, code in db.session.execute(
            select(Household.uid, Household.name, Household.cbfbm)
            .join(
                LandContract,
                and_(
                    LandContract.household_uid == Household.uid,
                    LandContract.end_lifespan.is_(None),
                ),
            )
            .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
            .order_by(Household.cbfbm)
            .limit(limit)
        ).all()
    ]


def member_households(collective_id: int, limit: int = 2000) -> list[tuple[int, str, str]]:
    """(uid, name, CBFBM) of the collective's current households, by code."""
    return [
        (uid, name, code)
        for uid, name, code in db.session.execute(
            select(Household.uid, Household.name, Household.cbfbm)
            .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
            .order_by(Household.cbfbm)
            .limit(limit)
        ).all()
    ]
