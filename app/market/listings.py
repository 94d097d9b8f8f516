"""Listings: a holder offers a right (or part of it), declares it voluntary, co-holders consent.

The rules that live here, each in one function:

* what can be listed and by whom (``create_listing``): a current right of the holder's household
  (or the holder's own shares); one open listing per right, the database's index having the last
  word;
* R13 voluntariness (``declare``, ``decide_consent``): the holder's own declaration, made logged
  in as the farmer or witnessed in person by staff with the signed paper form; the written consent
  of every adult co-holder (a minor's through the guardian); the cooling-off period starts;
* withdrawal without a reason until the contract is signed (``withdraw``), which frees the right.

Every change of state goes through ``_advance``: the state machine's table (states.step) says
whether it may happen and who takes it; the step is written beside the listing and audited.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import trail
from app.auth.models import Role
from app.core import calendar
from app.core.errors import DomainError, NotFound
from app.core.models import utcnow
from app.extensions import db
from app.market import alerts, lease_terms, states
from app.market.models import Consent, Deal, Listing, Offer, Step
from app.registry import certificates, encumbrances, history, people
from app.registry.documents import source_document
from app.registry.models import Plot, PublicNotice, RightMove

RIGHT_KINDS = {"land_contract", "homestead", "share_holding"}
DEAL_KINDS = {"transfer", "paid_exit", "lease"}
METHODS = {"negotiated", "bidding", "resolution"}


def _today(today: date | None) -> date:
    return today or history.county_today()


def _listing(listing_id: Any, *, lock: bool = False) -> Listing:
    q = select(Listing).where(Listing.id == listing_id)
    if lock:  # and read it afresh: a retry must see what a concurrent request committed
        q = q.with_for_update().execution_options(populate_existing=True)
    found = db.session.scalar(q) if isinstance(listing_id, int) else None
    if found is None:
        raise NotFound("listing_unknown", _("No such listing."), field="listing_id")
    return found


def end_offers(
    listing_id: int, state: str, *, keep: int | None = None, accepted_too: bool = False
) -> list[Offer]:
    """Every active offer of the listing but ``keep`` (and, with ``accepted_too``, the accepted
    one, whose deal fell through) ends in ``state``; a deposit held for one is to be refunded.
    ORM writes: each one audited. Returns the offers ended."""
    ending = {"active", "accepted"} if accepted_too else {"active"}
    ended = []
    for other in db.session.scalars(
        select(Offer).where(Offer.listing_id == listing_id).order_by(Offer.id)
    ):
        if other.id != keep and other.state in ending:
            other.state = state
            if other.deposit_state == "held":
                other.deposit_state = "refund"
            ended.append(other)
    db.session.flush()
    return ended


#: The ends of a listing without a sale: every offer still open is declined (deposits refunded).
_ENDS_WITHOUT_SALE = frozenset({"withdrawn", "rejected", "lapsed"})


def _advance(
    listing: Listing,
    action: str,
    actor_kind: str,
    *,
    actor: str,
    reason: str | None = None,
    document_id: int | None = None,
) -> Step:
    """Take one step of the state machine, written beside the listing and audited."""
    found = states.step(listing.state, action, actor_kind, reason=reason)
    step = Step(
        listing_id=listing.id,
        collective_id=listing.collective_id,
        action=action,
        from_state=listing.state,
        to_state=found.target,
        actor=actor,
        actor_role=actor_kind,
        reason=(reason or "").strip() or None,
        document_id=document_id,
    )
    with trail.because(f"market.{action}", reason=step.reason):
        listing.state = found.target
        db.session.add(step)
        db.session.flush()
    alerts.step_taken(listing, step)  # (told first: those who offered hear of the end)
    if found.target in _ENDS_WITHOUT_SALE:
        with trail.because(f"market.{action}", reason=step.reason):
            end_offers(listing.id, "declined", accepted_too=True)
    return step


def _holders(right_kind: str, right: Any) -> tuple[int | None, int | None]:
    """(household_uid, person_uid) of who holds ``right``."""
    if right_kind == "share_holding":
        return right.household_uid, right.person_uid
    return right.household_uid, None


def create_listing(
    user: Any,
    right_kind: str,
    right_uid: Any,
    *,
    deal_kind: str,
    method: str,
    plot_uids: list[int] | None = None,
    shares: Decimal | str | None = None,
    asking_price_fen: int | None = None,
    description: str | None = None,
    bid_deadline: datetime | None = None,
    bid_step_fen: int | None = None,
    deposit_fen: int | None = None,
    lease_method: str | None = None,
    lease_use: str | None = None,
    lease_starts_on: date | None = None,
    lease_ends_on: date | None = None,
    rent_fen_per_mu_year: int | None = None,
    payment_schedule: str | None = None,
) -> Listing:
    """A draft listing of a current right of the user's household (a farmer), or of a household
    of the user's collective (an administrator preparing a witnessed listing).

    A bidding listing (``method="bidding"``) names its deadline (an aware time, or naive UTC as
    stored), the least step by which a bid beats the highest (fen) and the deposit each bidder
    pays (fen, zero or None for none); its asking price is the reserve. The other methods take
    none of these (they are not stored).

    A lease of the land-management right (``deal_kind="lease"``, R05) lists some plots of a
    contract (or all of them), negotiated; it asks its terms: the way of leasing
    (``lease_method``), the use, the first and last day (within the contract's remaining term,
    R02), the rent per 亩 per year in fen and how it is paid. The contract stays the holder's."""
    if right_kind not in RIGHT_KINDS:
        raise DomainError("right_kind", _("Choose which right to list."), field="right_kind")
    if deal_kind not in DEAL_KINDS:
        raise DomainError("deal_kind", _("Choose transfer, paid exit or lease."), field="deal_kind")
    if deal_kind == "lease" and (right_kind != "land_contract" or method != "negotiated"):
        raise DomainError(
            "lease_kind",
            _("Only contracted land is leased, and the holder chooses among the offers."),
            field="right_kind" if right_kind != "land_contract" else "method",
        )
    if method not in METHODS or (method == "resolution") != (deal_kind == "paid_exit"):
        raise DomainError(
            "method",
            _("A transfer finds its buyer by negotiation or bidding; a paid exit by resolution."),
            field="method",
        )
    right = certificates.current_right(right_kind, right_uid)
    household_uid, person_uid = _holders(right_kind, right)
    role = Role(user.role)
    if role == Role.FARMER:
        if household_uid is None or not people.farmer_can_act_for(user, household_uid):
            raise NotFound("right_unknown", _("No such right."), field="right_uid")
    elif not (role == Role.COLLECTIVE_ADMIN and right.collective_id in user.collective_ids):
        raise NotFound("right_unknown", _("No such right."), field="right_uid")
    plots = _check_part(right_kind, right, plot_uids, shares)
    lease: dict[str, Any] = {}
    if deal_kind == "lease":
        terms = lease_terms.Terms(lease_starts_on, lease_ends_on, lease_use)  # type: ignore[arg-type]
        lease_terms.check_listing_terms(
            right.uid,
            method=lease_method,
            terms=terms,
            rent_fen=rent_fen_per_mu_year,
            schedule=payment_schedule,
            today=history.county_today(),
        )
        lease = {
            "lease_method": lease_method,
            "lease_use": lease_use,
            "lease_starts_on": lease_starts_on,
            "lease_ends_on": lease_ends_on,
            "rent_fen_per_mu_year": rent_fen_per_mu_year,
            "payment_schedule": payment_schedule,
        }
        asking_price_fen = None  # the rent is the price
        wanted = plots if plots is not None else _current_plots(right.uid)
        problem = lease_terms.plots_problem(
            right.uid, wanted, lease_starts_on, lease_ends_on, today=history.county_today()
        )
        if problem is not None:
            raise problem
    if asking_price_fen is not None and (
        isinstance(asking_price_fen, bool) or not 0 < asking_price_fen < 10**15
    ):
        raise DomainError("price", _("Give the price in yuan, more than zero."), field="price")
    bidding = (
        _check_bidding(asking_price_fen, bid_deadline, bid_step_fen, deposit_fen)
        if method == "bidding"
        else (None, None, None)
    )
    listing = Listing(
        collective_id=right.collective_id,
        right_kind=right_kind,
        right_uid=right.uid,
        deal_kind=deal_kind,
        method=method,
        household_uid=household_uid,
        person_uid=person_uid,
        plot_uids=json.dumps(plots) if plots is not None else None,
        shares=Decimal(shares) if shares not in (None, "") else None,
        asking_price_fen=asking_price_fen,
        description=(description or "").strip() or None,
        bid_deadline=bidding[0],
        bid_step_fen=bidding[1],
        deposit_fen=bidding[2],
        state="draft",
        created_by=user.username,
        **lease,
    )
    try:
        with trail.because("market.create"), db.session.begin_nested():
            db.session.add(listing)
            db.session.flush()
    except IntegrityError:
        raise DomainError(
            "listing_open",
            _("This right is already in an open listing: finish or withdraw that one first."),
            field="right_uid",
        ) from None
    return listing


def _fen(value: Any) -> bool:
    """Whole fen within range (not a bool, not a float)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15


def _check_bidding(
    reserve: int | None, deadline: Any, step: Any, deposit: Any
) -> tuple[datetime, int, int | None]:
    """(deadline as naive UTC, step, deposit) of a bidding listing, or a DomainError per field.

    The deadline lies in the future and no earlier than the cooling-off period (R13) and the
    notice period could end if the listing were declared and published today: members get the
    whole notice period to bid, and no bid can win during the cooling-off.
    """
    if reserve is None:
        raise DomainError(
            "reserve_required",
            _("Give the asking price: bidding starts from it."),
            field="price",
        )
    if not isinstance(deadline, datetime):
        raise DomainError(
            "bid_deadline", _("Give the day and time the bidding ends."), field="bid_deadline"
        )
    if deadline.tzinfo is not None:
        deadline = deadline.astimezone(UTC).replace(tzinfo=None)
    days = max(current_app.config["COOLING_OFF_DAYS"], current_app.config["MARKET_NOTICE_DAYS"])
    earliest = history.county_today() + timedelta(days=days)
    county_day = deadline.replace(tzinfo=UTC).astimezone(history.county_timezone()).date()
    if deadline <= utcnow() or county_day < earliest:
        raise DomainError(
            "bid_deadline",
            _(
                "End the bidding on %(day)s or later: members have the whole notice period to "
                "bid, and no bid can win during the cooling-off period.",
                day=earliest.isoformat(),
            ),
            field="bid_deadline",
        )
    if not _fen(step) or step == 0:
        raise DomainError(
            "bid_step",
            _("Give the least raise of a bid in yuan, more than zero."),
            field="bid_step",
        )
    if deposit is not None and not _fen(deposit):
        raise DomainError("deposit", _("Give the deposit in yuan, zero or more."), field="deposit")
    return deadline, step, deposit or None


def _check_part(
    right_kind: str, right: Any, plot_uids: list[int] | None, shares: Any
) -> list[int] | None:
    """Part of a right: some plots of the contract, or some of the holding's shares."""
    if plot_uids:
        if right_kind != "land_contract":
            raise DomainError("part", _("Only a land contract is listed by plots."), field="plots")
        own = set(
            db.session.scalars(
                select(Plot.uid).where(Plot.contract_uid == right.uid, Plot.end_lifespan.is_(None))
            )
        )
        wanted = sorted(set(plot_uids))
        if not wanted or not set(wanted) <= own:
            raise DomainError("part", _("Choose plots of this contract only."), field="plots")
        return None if set(wanted) == own else wanted
    if shares not in (None, ""):
        if right_kind != "share_holding":
            raise DomainError("part", _("Only shares are listed by number."), field="shares")
        try:
            amount = Decimal(str(shares))
        except ArithmeticError:
            amount = Decimal(0)
        if not amount.is_finite() or not 0 < amount <= right.shares:
            raise DomainError(
                "part",
                _("List between zero and the %(n)s shares held.", n=right.shares),
                field="shares",
            )
    return None


# --- R13: declaration and consents


def statement(listing: Listing) -> str:
    """What the holder and co-holders read before deciding: in plain words, what they give up
    and what they keep. Its hash is stored with each decision."""
    what = {
        "land_contract": _("the contracted land listed"),
        "homestead": _("the homestead and the house on it"),
        "share_holding": _("the collective income shares listed"),
    }[listing.right_kind]
    if listing.deal_kind == "lease":
        gives = _(
            "You lease the right to farm the land listed (its management right) for the term and "
            "rent agreed. The land contract stays your household's: the land comes back to you "
            "when the lease ends."
        )
    elif listing.deal_kind == "paid_exit":
        gives = _("You give %(what)s back to the collective for compensation.", what=what)
    else:
        gives = _(
            "You transfer %(what)s to a member household of the same collective for payment.",
            what=what,
        )
    keeps = _(
        "You keep your membership of the collective and every right not listed here. "
        "Settling in town never requires giving up any right."
    )
    free = _(
        "This is your own free choice. You may withdraw without giving a reason at any time "
        "before the contract is signed; no offer can be accepted during %(days)s days of "
        "cooling-off.",
        days=current_app.config["COOLING_OFF_DAYS"],
    )
    if listing.right_kind == "land_contract" and listing.deal_kind == "paid_exit":
        keeps += " " + _(
            "After a paid exit the household gets no new contracted land in this contract term."
        )
    return "\n".join([gives, keeps, free])


def _people_who_consent(listing: Listing) -> list[tuple[int, str]]:
    """(person uid, role) of everyone whose will the listing needs: the holder's household's
    co-holders (or the person holding own shares)."""
    if listing.household_uid is None:
        return [(listing.person_uid, states.HOLDER)]  # type: ignore[list-item]
    return [(p.uid, states.CO_HOLDER) for p in people.co_holders(listing.household_uid)]


def declare(
    listing_id: int,
    user: Any,
    *,
    person_uid: int | None = None,
    witnessed_paper_id: int | None = None,
    today: date | None = None,
) -> Listing:
    """R13: the holder declares the listing voluntary and unrelated to settlement.

    A farmer declares for themself (``person_uid`` is their own); staff record it only as
    witnessed in person, naming the person and attaching the signed paper form. Every other
    co-holder's consent is then awaited (a minor's by the guardian); with none to wait for, the
    listing is ready for the collective's title check. The cooling-off period starts today.
    """
    today = _today(today)
    listing = _listing(listing_id, lock=True)
    declarant, mode = _who_decides(listing, user, person_uid, witnessed_paper_id, today)
    text = statement(listing)
    wanted = _people_who_consent(listing)
    if declarant not in {uid for uid, _role in wanted}:
        raise DomainError(
            "not_a_holder",
            _("Only a co-holder of the right declares the listing."),
            field="person_uid",
        )
    _advance(listing, "declare", states.HOLDER, actor=user.username)
    with trail.because("market.declare"):
        listing.declared_at = utcnow()
        listing.cooling_off_ends_on = today + timedelta(days=current_app.config["COOLING_OFF_DAYS"])
        for uid, _role in wanted:
            consent = Consent(
                listing_id=listing.id,
                collective_id=listing.collective_id,
                person_uid=uid,
                role=states.HOLDER if uid == declarant else states.CO_HOLDER,
            )
            if uid == declarant:
                _decide(consent, "given", mode, user, witnessed_paper_id, text, declarant)
            db.session.add(consent)
        db.session.flush()
    _complete_if_all_consented(listing, user)
    return listing


def _who_decides(
    listing: Listing,
    user: Any,
    person_uid: int | None,
    paper_id: int | None,
    today: date,
) -> tuple[int, str]:
    """(person uid, mode): a farmer decides for themself ("self"); staff only record a decision
    witnessed in person, with the signed paper form ("witnessed")."""
    role = Role(user.role)
    if role == Role.FARMER:
        if user.person_uid is None or (person_uid not in (None, user.person_uid)):
            raise DomainError(
                "not_yourself",
                _("Declare and consent only for yourself, logged in as yourself."),
                field="person_uid",
            )
        return user.person_uid, "self"
    if role == Role.COLLECTIVE_ADMIN and listing.collective_id in user.collective_ids:
        if person_uid is None:
            raise DomainError("required", _("Name the person who decided."), field="person_uid")
        if paper_id is None:
            raise DomainError(
                "paper_required",
                _(
                    "A decision recorded by staff must be witnessed in person: attach the "
                    "signed paper form."
                ),
                field="paper_document_id",
            )
        source_document(paper_id, listing.collective_id)
        return person_uid, "witnessed"
    raise NotFound("listing_unknown", _("No such listing."), field="listing_id")


def _decide(
    consent: Consent,
    decision: str,
    mode: str,
    user: Any,
    paper_id: int | None,
    text: str,
    decided_by: int,
) -> None:
    consent.decision = decision
    consent.mode = mode
    consent.witnessed_by = user.username if mode == "witnessed" else None
    consent.paper_document_id = paper_id if mode == "witnessed" else None
    consent.statement = text
    consent.statement_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    consent.decided_by_person_uid = decided_by
    consent.decided_at = utcnow()


def decide_consent(
    listing_id: int,
    person_uid: int,
    user: Any,
    *,
    give: bool,
    reason: str | None = None,
    witnessed_paper_id: int | None = None,
    today: date | None = None,
) -> Listing:
    """R13: a co-holder gives or refuses consent; for a minor, the guardian decides
    (``people.consenting_person``). A refusal ends the listing (with the reason given)."""
    today = _today(today)
    listing = _listing(listing_id, lock=True)
    if listing.state != "awaiting_consent":
        states.step(listing.state, "consent_complete", states.SYSTEM)  # refuses in plain words
    consent = db.session.scalar(
        select(Consent).where(Consent.listing_id == listing.id, Consent.person_uid == person_uid)
    )
    if consent is None or consent.decision != "pending":
        raise DomainError(
            "consent_unknown",
            _("This person's consent is not awaited for this listing."),
            field="person_uid",
        )
    decider = people.consenting_person(person_uid, today)
    acting_uid, mode = _who_decides(listing, user, decider.uid, witnessed_paper_id, today)
    if acting_uid != decider.uid:
        raise DomainError(
            "not_yourself",
            _("%(name)s decides for this person.", name=decider.name),
            field="person_uid",
        )
    text = statement(listing)
    with trail.because("market.consent" if give else "market.refuse_consent"):
        _decide(
            consent,
            "given" if give else "refused",
            mode,
            user,
            witnessed_paper_id,
            text,
            decider.uid,
        )
        db.session.flush()
    if not give:
        _advance(
            listing,
            "refuse_consent",
            states.CO_HOLDER,
            actor=user.username,
            reason=reason or _("A co-holder did not consent."),
        )
        return listing
    _complete_if_all_consented(listing, user)
    return listing


def _complete_if_all_consented(listing: Listing, user: Any) -> None:
    pending = db.session.scalar(
        select(Consent.id).where(Consent.listing_id == listing.id, Consent.decision != "given")
    )
    if pending is None:
        _advance(listing, "consent_complete", states.SYSTEM, actor=user.username)


def withdraw(listing_id: int, user: Any) -> Listing:
    """R13: the holder withdraws, without a reason, until the contract is signed; the right is
    free for another listing at once."""
    listing = _listing(listing_id, lock=True)
    _check_holder(listing, user)
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    if deal is not None and deal.contract_signed_on is not None:
        raise DomainError(
            "contract_signed",
            _("The contract is signed: the listing can no longer be withdrawn."),
        )
    _advance(listing, "withdraw", states.HOLDER, actor=user.username)
    return listing


def _check_holder(listing: Listing, user: Any) -> None:
    """The holder acts as a farmer of the household, or staff for them (witnessed later)."""
    role = Role(user.role)
    if role == Role.FARMER:
        mine = (
            people.farmer_can_act_for(user, listing.household_uid)
            if listing.household_uid is not None
            else listing.person_uid == user.person_uid
        )
        if mine:
            return
    if role == Role.COLLECTIVE_ADMIN and listing.collective_id in user.collective_ids:
        return
    raise NotFound("listing_unknown", _("No such listing."), field="listing_id")


# --- 审核 + 信息发布: the collective checks title and publishes


def title_problem(listing: Listing) -> DomainError | None:
    """Why the right cannot be offered now, or None (issue 12 §4): it is still current and held
    by the listing's holder; not on public notice or under an objection; no open overlap finding
    on its plots; not in a pending move; a land contract is confirmed; nothing weighs on it that
    blocks the deal (``registry.encumbrances``: a freeze, a pledge, a dispute)."""
    try:
        right = certificates.current_right(listing.right_kind, listing.right_uid)
    except DomainError:
        right = None
    if right is None or _holders(listing.right_kind, right) != (
        listing.household_uid,
        listing.person_uid,
    ):
        return DomainError(
            "title_changed", _("The right is no longer held as it was when it was listed.")
        )
    on_notice = db.session.scalar(
        select(PublicNotice.id).where(
            PublicNotice.right_uid == right.uid, PublicNotice.status == "open"
        )
    )
    if on_notice is not None:
        return DomainError(
            "title_disputed",
            _("The right is on public notice or under an objection: it cannot be offered."),
        )
    if listing.right_kind == "land_contract" and right.status != "confirmed":
        return DomainError(
            "title_unconfirmed", _("The contract is not confirmed yet: it cannot be offered.")
        )
    moving = db.session.scalar(
        select(RightMove.id).where(RightMove.subject_uid == right.uid, RightMove.state == "pending")
    )
    if moving is not None:
        return DomainError(
            "title_moving", _("A move of this right waits for the county's countersign.")
        )
    try:
        certificates.check_no_open_overlap(listing.right_kind, right.uid)
    except DomainError as exc:
        return exc
    # What weighs on the right (issue 14 §6): a freeze, a pledge (transfer, exit), a dispute.
    if listing.deal_kind == "lease":  # the plots leased, each with its contract's weights
        return lease_terms.plots_problem(
            right.uid,
            listing_plots(listing),
            listing.lease_starts_on,
            listing.lease_ends_on,
            today=history.county_today(),
        )
    action = "exit" if listing.deal_kind == "paid_exit" else "transfer"
    return encumbrances.blocking_encumbrance(listing.right_kind, right.uid, action=action)


def listing_plots(listing: Listing) -> list[int]:
    """The plots a land listing names (all the contract's current plots when it names none)."""
    if listing.plot_uids:
        return list(json.loads(listing.plot_uids))
    return _current_plots(listing.right_uid)


def _current_plots(contract_uid: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Plot.uid)
            .where(Plot.contract_uid == contract_uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.uid)
        )
    )


def publish(listing_id: int, user: Any, *, today: date | None = None) -> Listing:
    """The collective's administrator checks title and publishes the listing to its members for
    the notice period (MARKET_NOTICE_DAYS)."""
    today = _today(today)
    listing = _listing(listing_id, lock=True)
    if Role(user.role) != Role.COLLECTIVE_ADMIN or listing.collective_id not in (
        user.collective_ids
    ):
        raise NotFound("listing_unknown", _("No such listing."), field="listing_id")
    states.step(listing.state, "publish", states.ADMIN)  # the right step, before the checks
    problem = title_problem(listing)
    if problem is not None:
        raise problem
    notice_ends = calendar.period_end(
        today,
        current_app.config["MARKET_NOTICE_DAYS"],
        working=current_app.config["MARKET_NOTICE_WORKING_DAYS"],
    )
    if listing.method == "bidding" and listing.bid_deadline is not None:
        deadline = county_day(listing.bid_deadline)
        if deadline < notice_ends:
            raise DomainError(
                "bid_deadline",
                _(
                    "The bidding closes on %(deadline)s, before the notice period ends on "
                    "%(end)s: members must have the whole notice period. Withdraw the listing "
                    "and list it again with a later deadline.",
                    deadline=deadline.isoformat(),
                    end=notice_ends.isoformat(),
                ),
            )
    _advance(listing, "publish", states.ADMIN, actor=user.username)
    with trail.because("market.publish"):
        listing.published_on = today
        listing.notice_ends_on = notice_ends
        db.session.flush()
    return listing


def county_day(moment: datetime) -> date:
    """The county's calendar day of a stored (naive UTC) moment, such as a bidding deadline."""
    return moment.replace(tzinfo=UTC).astimezone(calendar.county_timezone()).date()


def reject(listing_id: int, user: Any, *, reason: str) -> Listing:
    """The collective's administrator rejects the listing, with a written reason, at a step staff
    take (the title check, while published, at the contract); the right is free again. The
    consent, township and bureau decisions reject through ``approvals``."""
    listing = _listing(listing_id, lock=True)
    if Role(user.role) != Role.COLLECTIVE_ADMIN or listing.collective_id not in (
        user.collective_ids
    ):
        raise NotFound("listing_unknown", _("No such listing."), field="listing_id")
    _advance(listing, "reject", states.ADMIN, actor=user.username, reason=reason)
    return listing


def steps_of(listing_id: int) -> list[Step]:
    return list(
        db.session.scalars(select(Step).where(Step.listing_id == listing_id).order_by(Step.id))
    )


def consents_of(listing_id: int) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent).where(Consent.listing_id == listing_id).order_by(Consent.id)
        )
    )
