"""Collective income shares (集体收益分配权 / 股权): the fixed register, allocation, transfer,
buy-back.

The rules of DOMAIN §5 that live here, each in one function:

* 股权固化 (生不增、死不减): a collective fixes its total once (``fix_share_register``) and it never
  changes afterwards.
* R10 holders are members on the roll (``check_holder_eligible``); shares move only inside the
  collective (``transfer_shares``) or back to it (``buy_back``), and the total of current holdings
  plus the collective's unallocated pool always equals the fixed total (``conservation_check``).
* R11 no holder above the charter's per-holder cap (``check_share_cap``); a household and its
  own members count together (``cap_group``).

Shares are exact decimals (``app.core.numbers``): input is parsed to a ``Decimal`` with at most
four places (``parse_shares``), and every sum and comparison is exact, with no tolerance.

Every share write locks the collective's register row first (FOR UPDATE on PostgreSQL; on SQLite
writers are serialised by BEGIN IMMEDIATE), so two concurrent writes in one collective cannot both
pass the total and cap checks on stale sums; then the holdings it changes.

Services flush and never commit; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.core.errors import DomainError
from app.core.numbers import plain, to_decimal
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history, moves
from app.registry.documents import source_document
from app.registry.homesteads import members_on_roll
from app.registry.inputs import is_id
from app.registry.inputs import require_reason as _reason
from app.registry.inputs import today_or as _today
from app.registry.models import Household, HouseholdMember, Person, ShareHolding, ShareRegister

#: Share types (股份类型) a collective may allocate.
SHARE_TYPES = {
    "population": _l("Population share (人口股)"),
    "seniority": _l("Farming-seniority share (农龄股)"),
    "contribution": _l("Contribution share (贡献股)"),
    "other": _l("Other share"),
}

#: Decimal places of a share (the scale of the share columns, NUMERIC(18, 4)).
SHARE_PLACES = 4
#: Shares are below 10**14 (14 whole digits of NUMERIC(18, 4)).
SHARE_LIMIT = Decimal(10) ** 14
ZERO = Decimal("0.0000")


@dataclass(frozen=True)
class Holder:
    """Who holds shares: a household or a person of the collective (exactly one of the two)."""

    household_uid: int | None = None
    person_uid: int | None = None

    @property
    def household(self) -> int:
        """The household's uid, for a holder that is no person."""
        if self.household_uid is None:
            raise ValueError("this holder is a person")
        return self.household_uid

    @property
    def person(self) -> int:
        """The person's uid, for a holder that is no household."""
        if self.person_uid is None:
            raise ValueError("this holder is a household")
        return self.person_uid

    @classmethod
    def of(cls, holding: ShareHolding) -> Holder:
        return cls(household_uid=holding.household_uid, person_uid=holding.person_uid)

    def where(self) -> Any:
        if self.household_uid is not None:
            return ShareHolding.household_uid == self.household_uid
        return ShareHolding.person_uid == self.person_uid


def _holder(household_uid: Any, person_uid: Any, *, prefix: str = "") -> Holder:
    def given(v: Any) -> bool:
        return v is not None and v != ""

    if given(household_uid) == given(person_uid):
        raise DomainError(
            "holder",
            _("Name exactly one holder: a household or a person."),
            field=f"{prefix}household_uid",
        )
    for name, value in (
        (f"{prefix}household_uid", household_uid),
        (f"{prefix}person_uid", person_uid),
    ):
        if given(value) and not is_id(value):
            raise DomainError("holder", _("No such holder."), field=name)
    return Holder(household_uid=household_uid or None, person_uid=person_uid or None)


def parse_shares(value: Any, field: str = "shares") -> Decimal:
    """A number of shares as an exact Decimal with four places, or a DomainError for the field.

    Text ("12.5"), whole numbers and Decimals are taken as written; a float by its shortest
    form. More decimal places than a share has are refused, never rounded.
    """
    exact = to_decimal(value)
    if exact is None and isinstance(value, float) and value == value and abs(value) < 2**53:
        raise DomainError(
            "shares",
            _("Give a number with this many digits as text, so that no digit is lost."),
            field=field,
        )
    if exact is None or exact <= 0:
        raise DomainError(
            "shares", _("Give the number of shares as a positive number."), field=field
        )
    if exact != exact.quantize(ZERO):
        raise DomainError(
            "shares_places",
            _(
                "A number of shares has at most %(places)s decimal places.",
                places=SHARE_PLACES,
            ),
            field=field,
        )
    if exact >= SHARE_LIMIT:
        raise DomainError("shares", _("This number of shares is far too large."), field=field)
    return exact.quantize(ZERO)


_shares = parse_shares


# --------------------------------------------------------------------------------------------
# Reading the register
# --------------------------------------------------------------------------------------------


def share_register(collective_id: int, *, lock: bool = False) -> ShareRegister | None:
    q = select(ShareRegister).where(ShareRegister.collective_id == collective_id)
    if lock:
        q = q.with_for_update()
    return db.session.scalar(q)


def _locked_register(collective_id: int) -> ShareRegister:
    register = share_register(collective_id, lock=True)
    if register is None:
        raise DomainError(
            "no_register",
            _("The collective's share register is not fixed yet."),
            field="collective_id",
            rule="R10",
        )
    return register


def _sum(*where: Any) -> Decimal:
    """Exact sum of current holdings (SQL SUM of NUMERIC, or of integer units on SQLite)."""
    total = db.session.scalar(
        select(func.sum(ShareHolding.shares)).where(ShareHolding.end_lifespan.is_(None), *where)
    )
    return ZERO if total is None else total


def allocated_total(collective_id: int) -> Decimal:
    """Sum of the collective's current holdings."""
    return _sum(ShareHolding.collective_id == collective_id)


def holder_total(collective_id: int, holder: Holder) -> Decimal:
    """Sum of one holder's current holdings in the collective."""
    return _sum(ShareHolding.collective_id == collective_id, holder.where())


def cap_group(holder: Holder) -> tuple[set[int], set[int]]:
    """R11: the holders counted together with ``holder``: (household uids, person uids).

    A household counts with its own members; a member counts with the household they live in
    and its other members. Members who moved out (``moved_out_on``) live elsewhere and count
    with their new household.
    """
    households: set[int] = set()
    persons: set[int] = set()
    if holder.household_uid is not None:
        households.add(holder.household_uid)
    else:
        persons.add(holder.person)
        households |= set(
            db.session.scalars(
                select(HouseholdMember.household_uid).where(
                    HouseholdMember.person_uid == holder.person_uid,
                    HouseholdMember.end_lifespan.is_(None),
                    HouseholdMember.moved_out_on.is_(None),
                )
            )
        )
    if households:
        persons |= set(
            db.session.scalars(
                select(HouseholdMember.person_uid).where(
                    HouseholdMember.household_uid.in_(households),
                    HouseholdMember.end_lifespan.is_(None),
                    HouseholdMember.moved_out_on.is_(None),
                )
            )
        )
    return households, persons


def cap_group_total(
    collective_id: int, holder: Holder, group: tuple[set[int], set[int]] | None = None
) -> Decimal:
    """R11: what ``holder`` and the holders counted with it hold together in the collective."""
    households, persons = cap_group(holder) if group is None else group
    return _sum(
        ShareHolding.collective_id == collective_id,
        ShareHolding.household_uid.in_(households) | ShareHolding.person_uid.in_(persons),
    )


def cap_percent(collective: Collective) -> Decimal:
    """R11: the charter's per-holder cap, else the county default SHARE_CAP_PERCENT."""
    if collective.share_cap_percent is not None:
        return to_decimal(collective.share_cap_percent) or Decimal(0)
    return to_decimal(current_app.config.get("SHARE_CAP_PERCENT", 5)) or Decimal(5)


def cap_shares(total: Decimal, percent: Decimal) -> Decimal:
    """R11: the most shares a holder (with those counted with it) may hold.

    ``total × percent / 100`` is exact (at most eight places); holdings have four, so the cap is
    that rounded down to four places: holding it is allowed, a ten-thousandth more is not.
    """
    return (total * percent / 100).quantize(ZERO, rounding=ROUND_FLOOR)


def conservation_check(collective_id: int) -> tuple[Decimal, Decimal, Decimal]:
    """R10 conservation: (allocated, unallocated pool, fixed total), allocated + pool == total.

    The pool is what the collective holds back or bought back. It can never be negative: a
    negative pool means more shares are held than exist, which the write paths refuse, so
    finding one raises.
    """
    register = share_register(collective_id)
    if register is None:
        return ZERO, ZERO, ZERO
    allocated = allocated_total(collective_id)
    pool = register.total_shares - allocated
    if pool < 0:
        raise DomainError(
            "conservation",
            _(
                "Current holdings (%(allocated)s) exceed the fixed total of %(total)s shares.",
                allocated=plain(allocated),
                total=plain(register.total_shares),
            ),
            rule="R10",
        )
    return allocated, pool, register.total_shares


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


def check_holder_eligible(collective_id: int, holder: Holder, day: date, *, field: str) -> None:
    """R10 / R15: a holder is on the collective's membership roll on ``day``.

    A person needs a membership of this collective in force that day; a household must be a
    current household of this collective with at least one member on the roll that day.
    Settlement in town plays no part (R12): it does not end membership.
    """
    if holder.person_uid is not None:
        if not members_on_roll(collective_id, {holder.person_uid}, day):
            raise DomainError(
                "not_member",
                _("This person is not on the collective's membership roll."),
                field=field,
                rule="R10",
            )
        return
    household = history.current_of(Household, holder.household)
    if household is None or household.collective_id != collective_id:
        raise DomainError(
            "not_member_household",
            _("This household is not a household of the collective."),
            field=field,
            rule="R10",
        )
    people = set(
        db.session.scalars(
            select(HouseholdMember.person_uid).where(
                HouseholdMember.household_uid == household.uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.moved_out_on.is_(None),
            )
        )
    )
    if not members_on_roll(collective_id, people, day):
        raise DomainError(
            "not_member_household",
            _("No member of this household is on the collective's membership roll."),
            field=field,
            rule="R10",
        )


def check_share_cap(
    collective: Collective, holder: Holder, adding: Decimal, *, giver: Holder | None = None
) -> None:
    """R11: no holder may exceed the charter's per-holder cap (default 5 % of the fixed total).

    A household and its own members count together (``cap_group``): ``adding`` shares to
    ``holder`` is refused when the group would then hold more than the cap. Shares that come
    from ``giver`` inside the same group do not change what the group holds, so such a move is
    not refused. Exact: holding the cap itself is allowed, a ten-thousandth more is not.
    """
    register = share_register(collective.id)
    if register is None:
        return
    households, persons = cap_group(holder)
    if giver is not None and (giver.household_uid in households or giver.person_uid in persons):
        return
    percent = cap_percent(collective)
    limit = cap_shares(register.total_shares, percent)
    new_total = cap_group_total(collective.id, holder, (households, persons)) + parse_shares(adding)
    if new_total > limit:
        together = len(households) + len(persons) > 1
        raise DomainError(
            "share_cap",
            _(
                "A holder, counted together with their household and its members, may hold at "
                "most %(percent)s %% of the shares (%(limit)s); this would make %(total)s.",
                percent=plain(percent),
                limit=plain(limit),
                total=plain(new_total),
            )
            if together
            else _(
                "A holder may hold at most %(percent)s %% of the shares (%(limit)s); this would "
                "make %(total)s.",
                percent=plain(percent),
                limit=plain(limit),
                total=plain(new_total),
            ),
            field="shares",
            rule="R11",
        )


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------


def fix_share_register(
    collective_id: int,
    total_shares: Decimal | int | str,
    fixed_on: date,
    reason: str,
    *,
    source_document_id: int | None = None,
) -> ShareRegister:
    """股权固化: fix the collective's total once; it never changes afterwards (R10)."""
    collective = db.session.get(Collective, collective_id) if is_id(collective_id) else None
    if collective is None:
        raise DomainError("collective_unknown", _("No such collective."), field="collective_id")
    total = _shares(total_shares, "total_shares")
    if not isinstance(fixed_on, date):
        raise DomainError("fixed_on", _("Give the date the shares were fixed."), field="fixed_on")
    reason = _reason(reason)
    sha = None
    if source_document_id is not None:
        sha = source_document(source_document_id, collective_id).sha256
    if share_register(collective_id, lock=True) is not None:
        raise DomainError(
            "register_fixed",
            _("The share register is fixed already; its total never changes."),
            field="total_shares",
            rule="R10",
        )
    register = ShareRegister(collective_id=collective_id, total_shares=total, fixed_on=fixed_on)
    with trail.because("shares.fix_register", reason=reason, source_sha256=sha):
        try:
            with db.session.begin_nested():
                db.session.add(register)
                db.session.flush()
        except IntegrityError:
            raise DomainError(
                "register_fixed",
                _("The share register is fixed already; its total never changes."),
                field="total_shares",
                rule="R10",
            ) from None
    return register


def allocate_shares(
    collective_id: int,
    *,
    household_uid: int | None = None,
    person_uid: int | None = None,
    shares: Decimal | int | str,
    share_type: str,
    certificate_number: str | None,
    source_document_id: int,
    reason: str,
    today: date | None = None,
    effective_on: date | None = None,
) -> ShareHolding:
    """Allocate shares from the collective's pool to a member holder.

    R10: the holder is on the membership roll, and current holdings never exceed the fixed
    total. R11: the holder stays within the per-holder cap.
    """
    collective = db.session.get(Collective, collective_id) if is_id(collective_id) else None
    if collective is None:
        raise DomainError("collective_unknown", _("No such collective."), field="collective_id")
    holder = _holder(household_uid, person_uid)
    amount = _shares(shares)
    if share_type not in SHARE_TYPES:
        raise DomainError("share_type", _("Choose a share type."), field="share_type")
    if certificate_number is not None and not isinstance(certificate_number, str):
        raise DomainError(
            "certificate_number", _("No such certificate."), field="certificate_number"
        )
    certificate_number = (certificate_number or "").strip() or None
    if certificate_number and len(certificate_number) > 40:
        raise DomainError(
            "certificate_number",
            _("The certificate number has at most 40 characters."),
            field="certificate_number",
        )
    reason = _reason(reason)
    doc = source_document(source_document_id, collective_id)
    register = _locked_register(collective_id)
    check_holder_eligible(
        collective_id,
        holder,
        _today(today),
        field="household_uid" if holder.household_uid else "person_uid",
    )
    allocated = allocated_total(collective_id)
    if allocated + amount > register.total_shares:
        raise DomainError(
            "pool_exhausted",
            _(
                "Only %(pool)s of the %(total)s shares are unallocated.",
                pool=plain(register.total_shares - allocated),
                total=plain(register.total_shares),
            ),
            field="shares",
            rule="R10",
        )
    check_share_cap(collective, holder, amount)
    with trail.because("shares.allocate", reason=reason, source_sha256=doc.sha256):
        return history.create(
            ShareHolding,
            reason=reason,
            source_document_id=doc.id,
            effective_on=effective_on,
            collective_id=collective_id,
            household_uid=holder.household_uid,
            person_uid=holder.person_uid,
            shares=amount,
            share_type=share_type,
            certificate_number=certificate_number,
        )


def _locked_holding(holding_uid: Any) -> ShareHolding:
    if not is_id(holding_uid):
        raise DomainError("holding_unknown", _("No such share holding."), field="holding_uid")
    holding = history.current_of(ShareHolding, holding_uid, lock=True)
    if holding is None:
        raise DomainError(
            "holding_ended",
            _("This share holding has no shares any more (it was transferred or bought back)."),
            field="holding_uid",
        )
    return holding


def _collective_of(holding_uid: Any) -> int:
    """The collective of a holding, read without locking (it never changes between versions)."""
    collective_id = None
    if is_id(holding_uid):
        collective_id = db.session.scalar(
            select(ShareHolding.collective_id).where(ShareHolding.uid == holding_uid).limit(1)
        )
    if collective_id is None:
        raise DomainError("holding_unknown", _("No such share holding."), field="holding_uid")
    return collective_id


def _take(holding: ShareHolding, amount: Decimal, *, reason: str, doc_id: int) -> None:
    """Take ``amount`` shares off a locked holding: revise it, or end it when nothing is left."""
    if amount > holding.shares:
        raise DomainError(
            "insufficient_shares",
            _("The holding has only %(shares)s shares.", shares=plain(holding.shares)),
            field="shares",
        )
    remaining = holding.shares - amount
    if remaining == 0:
        history.end(holding, reason=reason, source_document_id=doc_id)
    else:
        history.revise(holding, reason=reason, source_document_id=doc_id, shares=remaining)


def transfer_shares(
    from_holding_uid: int,
    *,
    to_household_uid: int | None = None,
    to_person_uid: int | None = None,
    shares: Decimal | int | str,
    reason: str,
    source_document_id: int,
    certificate_number: str | None = None,
    basis: str | None = None,
    today: date | None = None,
) -> Any:
    """R10: shares move to another holder only inside the collective, and never straight away.

    A voluntary transfer goes through the marketplace: without a legal basis this is refused.
    With one (``moves.BASES``: inheritance, a court ruling, a correction) it becomes a move
    request, checked now by ``_transfer_shares``'s rules and applied when a bureau reviewer
    countersigns it; the pending request (``RightMove``) is returned.
    """
    if basis in (None, ""):
        raise moves.marketplace_refusal()
    return moves.request_move(
        "share_transfer",
        from_holding_uid,
        basis=basis,
        source_document_id=source_document_id,
        reason=reason,
        to_household_uid=to_household_uid,
        to_person_uid=to_person_uid,
        shares=shares,
        certificate_number=certificate_number,
    )


def buy_back(
    holding_uid: int,
    shares: Decimal | int | str,
    *,
    reason: str,
    source_document_id: int,
    basis: str | None = None,
    today: date | None = None,
) -> Any:
    """R10: the collective buys shares back only as a countersigned move with a legal basis.

    A buy-back is a paid exit: it goes through the marketplace, unless the collective decided
    the member's exit (basis ``member_exit``, citing its resolution) or a court ruled it. Then
    it becomes a move request applied by ``_buy_back`` when a bureau reviewer countersigns; the
    pending request (``RightMove``) is returned.
    """
    if basis in (None, ""):
        raise moves.marketplace_refusal()
    return moves.request_move(
        "share_buy_back",
        holding_uid,
        basis=basis,
        source_document_id=source_document_id,
        reason=reason,
        shares=shares,
    )


def _transfer_shares(
    from_holding_uid: int,
    *,
    to_household_uid: int | None = None,
    to_person_uid: int | None = None,
    shares: Decimal | int | str,
    reason: str,
    source_document_id: int,
    certificate_number: str | None = None,
    today: date | None = None,
) -> ShareHolding:
    """Transfer shares to another holder of the SAME collective (R10), within the cap (R11).

    Private to the registry: applied by a countersigned move (``moves.countersign_move``) or,
    later, the marketplace's registration step.

    The recipient is checked against the membership roll on the day of the transfer (R15). The
    source holding is revised (or ended when emptied) and the recipient's holding of the same
    type is revised (or created) in one transaction, so the collective's total is conserved.
    Returns the recipient's new holding version.
    """
    recipient = _holder(to_household_uid, to_person_uid, prefix="to_")
    amount = _shares(shares)
    reason = _reason(reason)
    day = _today(today)
    # Lock order, the same in every share write: the register, then the holdings.
    collective_id = _collective_of(from_holding_uid)
    _locked_register(collective_id)
    source = _locked_holding(from_holding_uid)
    if Holder.of(source) == recipient:
        raise DomainError(
            "same_holder",
            _("The shares already belong to this holder."),
            field="to_household_uid" if recipient.household_uid else "to_person_uid",
            rule="R10",
        )
    field = "to_household_uid" if recipient.household_uid else "to_person_uid"
    check_holder_eligible(collective_id, recipient, day, field=field)
    collective = db.session.get_one(Collective, collective_id)
    doc = source_document(source_document_id, collective_id)
    check_share_cap(collective, recipient, amount, giver=Holder.of(source))
    if certificate_number is not None and not isinstance(certificate_number, str):
        raise DomainError(
            "certificate_number", _("No such certificate."), field="certificate_number"
        )
    target_uid = db.session.scalar(
        select(func.min(ShareHolding.uid)).where(
            ShareHolding.collective_id == collective_id,
            ShareHolding.end_lifespan.is_(None),
            ShareHolding.share_type == source.share_type,
            recipient.where(),
        )
    )
    with trail.because("shares.transfer", reason=reason, source_sha256=doc.sha256):
        _take(source, amount, reason=reason, doc_id=doc.id)
        if target_uid is not None:
            target = history.require_current(ShareHolding, target_uid, lock=True)
            return history.revise(
                target, reason=reason, source_document_id=doc.id, shares=target.shares + amount
            )
        return history.create(
            ShareHolding,
            reason=reason,
            source_document_id=doc.id,
            collective_id=collective_id,
            household_uid=recipient.household_uid,
            person_uid=recipient.person_uid,
            shares=amount,
            share_type=source.share_type,
            certificate_number=(certificate_number or "").strip()[:40] or None,
        )


def _buy_back(
    holding_uid: int,
    shares: Decimal | int | str,
    *,
    reason: str,
    source_document_id: int,
    today: date | None = None,
) -> ShareHolding:
    """The collective buys shares back (R10): they return to its unallocated pool.

    Private to the registry: applied by a countersigned move (``moves.countersign_move``).

    Returns the holding's last version (ended when all its shares were bought back).
    """
    amount = _shares(shares)
    reason = _reason(reason)
    _locked_register(_collective_of(holding_uid))
    holding = _locked_holding(holding_uid)
    doc = source_document(source_document_id, holding.collective_id)
    with trail.because("shares.buy_back", reason=reason, source_sha256=doc.sha256):
        _take(holding, amount, reason=reason, doc_id=doc.id)
    latest = history.current_of(ShareHolding, holding.uid)
    return latest if latest is not None else holding


# --------------------------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------------------------


@dataclass
class HolderRow:
    holder: Holder
    name: str
    total: Decimal
    holdings: list[ShareHolding]
    #: R11: what the holder holds together with its household and the household's members.
    group_total: Decimal = ZERO
    #: R11: where ``group_total`` stands against the cap: "within", "at" or "above".
    cap_standing: str = "within"
    #: The holder's share of the fixed total in percent, four places (None before fixing).
    percent: Decimal | None = None


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``whole``, rounded half-up to four places (None if no whole)."""
    if not whole:
        return None
    return (100 * Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def cap_standing(group_total: Decimal, cap: Decimal) -> str:
    """R11, as the register shows it: a holder's group "above" the cap (only possible for
    holdings older than the charter's cap), "at" it (no more may come to it) or "within"."""
    if group_total > cap:
        return "above"
    return "at" if group_total >= cap else "within"


@dataclass(frozen=True)
class RegisterSummary:
    """The figures at the head of a collective's share register (R10, R11)."""

    fixed: bool
    fixed_on: date | None
    total: Decimal
    allocated: Decimal
    pool: Decimal
    cap_percent: Decimal
    cap_shares: Decimal


def register_summary(collective: Collective) -> RegisterSummary:
    """R10 conservation and the R11 cap of ``collective``'s register, in one place for the page
    and the API."""
    register = share_register(collective.id)
    allocated, pool, total = conservation_check(collective.id)
    percent = cap_percent(collective)
    return RegisterSummary(
        fixed=register is not None,
        fixed_on=register.fixed_on if register is not None else None,
        total=total,
        allocated=allocated,
        pool=pool,
        cap_percent=percent,
        cap_shares=cap_shares(total, percent),
    )


def cap_group_totals(collective_id: int, holders: list[Holder]) -> dict[Holder, Decimal]:
    """R11 for a page of holders at once: ``cap_group_total`` of each, in three queries.

    The groups are those of ``cap_group``: a household with its resident members, a member
    with the household they live in and its other members.
    """
    current = (HouseholdMember.end_lifespan.is_(None), HouseholdMember.moved_out_on.is_(None))
    pp = {h.person_uid for h in holders if h.person_uid is not None}
    homes: dict[int, set[int]] = {}
    for household_uid, person_uid in db.session.execute(
        select(HouseholdMember.household_uid, HouseholdMember.person_uid).where(
            HouseholdMember.person_uid.in_(pp), *current
        )
    ):
        homes.setdefault(person_uid, set()).add(household_uid)
    hh = {h.household_uid for h in holders if h.household_uid is not None}
    hh |= {uid for uids in homes.values() for uid in uids}
    members: dict[int, set[int]] = {}
    for household_uid, person_uid in db.session.execute(
        select(HouseholdMember.household_uid, HouseholdMember.person_uid).where(
            HouseholdMember.household_uid.in_(hh), *current
        )
    ):
        members.setdefault(household_uid, set()).add(person_uid)
    everyone = pp | {uid for uids in members.values() for uid in uids}
    held: dict[tuple[str, int], Decimal] = {}
    for holding_household, holding_person, total in db.session.execute(
        select(ShareHolding.household_uid, ShareHolding.person_uid, func.sum(ShareHolding.shares))
        .where(
            ShareHolding.collective_id == collective_id,
            ShareHolding.end_lifespan.is_(None),
            ShareHolding.household_uid.in_(hh) | ShareHolding.person_uid.in_(everyone),
        )
        .group_by(ShareHolding.household_uid, ShareHolding.person_uid)
    ):
        # A holding names exactly one holder (ck_share_holding_one_holder).
        if holding_household is not None:
            held[("h", holding_household)] = total
        elif holding_person is not None:
            held[("p", holding_person)] = total
    out = {}
    for holder in holders:
        if holder.household_uid is not None:
            households = {holder.household_uid}
            persons: set[int] = set()
        else:
            households = homes.get(holder.person, set())
            persons = {holder.person}
        for uid in households:
            persons |= members.get(uid, set())
        out[holder] = sum(
            [held.get(("h", uid), ZERO) for uid in households]
            + [held.get(("p", uid), ZERO) for uid in persons],
            ZERO,
        )
    return out


def holder_name(holding: ShareHolding) -> str:
    """Display name of a holding's holder (the household's name or the person's)."""
    if holding.household_uid is not None:
        return (
            db.session.scalar(
                select(Household.name).where(
                    Household.uid == holding.household_uid, Household.end_lifespan.is_(None)
                )
            )
            or f"#{holding.household_uid}"
        )
    return (
        db.session.scalar(
            select(Person.name).where(
                Person.uid == holding.person_uid, Person.end_lifespan.is_(None)
            )
        )
        or f"#{holding.person_uid}"
    )


def register_page(
    collective_id: int,
    *,
    limit: int = 50,
    offset: int = 0,
    summary: RegisterSummary | None = None,
) -> list[HolderRow]:
    """One page of holders, largest first, each with its current holdings (three queries) and,
    given the register's ``summary``, its percent of the total and where its group stands
    against the cap."""
    totals = db.session.execute(
        select(
            ShareHolding.household_uid,
            ShareHolding.person_uid,
            func.sum(ShareHolding.shares).label("total"),
        )
        .where(ShareHolding.collective_id == collective_id, ShareHolding.end_lifespan.is_(None))
        .group_by(ShareHolding.household_uid, ShareHolding.person_uid)
        .order_by(
            func.sum(ShareHolding.shares).desc(),
            ShareHolding.household_uid,
            ShareHolding.person_uid,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    if not totals:
        return []
    hh = {r.household_uid for r in totals if r.household_uid is not None}
    pp = {r.person_uid for r in totals if r.person_uid is not None}
    holdings = list(
        db.session.scalars(
            select(ShareHolding)
            .where(
                ShareHolding.collective_id == collective_id,
                ShareHolding.end_lifespan.is_(None),
                ShareHolding.household_uid.in_(hh) | ShareHolding.person_uid.in_(pp),
            )
            .order_by(ShareHolding.uid)
        )
    )
    names: dict[tuple[str, int], str] = {}
    if hh:
        for uid, name in db.session.execute(
            select(Household.uid, Household.name).where(
                Household.uid.in_(hh), Household.end_lifespan.is_(None)
            )
        ):
            names[("h", uid)] = name
    if pp:
        for uid, name in db.session.execute(
            select(Person.uid, Person.name).where(Person.uid.in_(pp), Person.end_lifespan.is_(None))
        ):
            names[("p", uid)] = name
    rows = []
    groups = cap_group_totals(
        collective_id,
        [Holder(household_uid=r.household_uid, person_uid=r.person_uid) for r in totals],
    )
    for r in totals:
        holder = Holder(household_uid=r.household_uid, person_uid=r.person_uid)
        key = ("h", r.household_uid) if r.household_uid is not None else ("p", r.person_uid)
        rows.append(
            HolderRow(
                holder=holder,
                name=names.get(key, f"#{key[1]}"),
                total=r.total,
                holdings=[h for h in holdings if Holder.of(h) == holder],
                group_total=groups[holder],
                cap_standing=(
                    cap_standing(groups[holder], summary.cap_shares) if summary else "within"
                ),
                percent=percent_of(r.total, summary.total) if summary else None,
            )
        )
    return rows
