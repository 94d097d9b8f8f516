"""Who may take a listed right (R03, R09, R10, R11, R15), judged on a given day, with evidence.

The registry's own rules decide: a transferee household of the same collective with a member on
the roll (R03, land), a qualifying household for a homestead (R09, ``homesteads``), a member or
member household for shares within the cap after the deal (R10, R11, ``shares``). This module only
asks them, on the day of the offer and again on the day of the deal (R15), and returns what was
read so the market can store it beside the offer and the deal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.market.models import Listing
from app.registry import conveyance, history
from app.registry import homesteads as homestead_rules
from app.registry import shares as share_rules
from app.registry.models import Household, Membership, Person, ShareHolding


def _roll(collective_id: int, person_uids: set[int], day: date) -> list[dict[str, Any]]:
    """The membership rows (uid, version, since) that put ``person_uids`` on the roll on ``day``."""
    on_roll = homestead_rules.members_on_roll(collective_id, person_uids, day)
    if not on_roll:
        return []
    rows = db.session.scalars(
        select(Membership).where(
            Membership.collective_id == collective_id,
            Membership.person_uid.in_(sorted(on_roll)),
            Membership.end_lifespan.is_(None) | Membership.until.is_not(None),
            Membership.since <= day,
        )
    )
    return [
        {
            "person_uid": m.person_uid,
            "membership_uid": m.uid,
            "version": m.version,
            "since": m.since.isoformat(),
        }
        for m in rows
    ]


def _outsider(field: str) -> DomainError:
    return DomainError(
        "not_a_member",
        _(
            "Only a member household of the same collective may take this right: the buyer "
            "is not on its membership roll on this day."
        ),
        field=field,
        rule="R15",
    )


def check_buyer(
    listing: Listing,
    *,
    household_uid: int | None,
    person_uid: int | None,
    day: date,
) -> dict[str, Any]:
    """The evidence that the buyer may take ``listing``'s right on ``day``; else a DomainError in
    the user's language (another collective's household is an outsider, whatever its number)."""
    base = {"checked_on": day.isoformat(), "collective_id": listing.collective_id}
    if listing.right_kind == "homestead":
        if household_uid is None:
            raise DomainError(
                "household_required", _("Choose the buying household."), field="household_uid"
            )
        evidence = homestead_rules.transfer_homestead_check(listing.right_uid, household_uid, day)
        roll = _roll(listing.collective_id, set(evidence["members_on_roll"]), day)
        return {**base, **evidence, "roll": roll, "rule": "R09"}
    if listing.deal_kind == "lease":
        return _lessee_member(listing, household_uid, day, base)
    if listing.right_kind == "land_contract":
        household = history.current_of(Household, household_uid) if household_uid else None
        if household is None or household.collective_id != listing.collective_id:
            raise _outsider("household_uid")
        if household.uid == listing.household_uid:
            raise DomainError(
                "same_household", _("A household cannot buy its own right."), field="household_uid"
            )
        residents = {uid for uid, _h in homestead_rules.household_people(household.uid)}
        roll = _roll(listing.collective_id, residents, day)
        if not roll:
            raise _outsider("household_uid")
        seller = conveyance.check_land_transfer(listing.right_uid, household.uid, day)
        return {
            **base,
            "household_uid": household.uid,
            "roll": roll,
            "term_end": seller.term_end.isoformat(),
            "rule": "R03",
        }
    return _share_buyer(listing, household_uid, person_uid, day, base)


def _lessee_member(
    listing: Listing, household_uid: int | None, day: date, base: dict[str, Any]
) -> dict[str, Any]:
    """R05 with R15: a member household of the same collective, with a member on the roll on
    the day, other than the holder's, leases on members' terms (and has the members' priority).
    The contract stays the holder's, so no transfer rule applies."""
    household = history.current_of(Household, household_uid) if household_uid else None
    if household is None or household.collective_id != listing.collective_id:
        raise DomainError(
            "not_a_member",
            _(
                "This household is not a member household of the collective: the "
                "collective's administrator records an outsider's offer with its ID number "
                "or credit code."
            ),
            field="household_uid",
            rule="R15",
        )
    if household.uid == listing.household_uid:
        raise DomainError(
            "same_household",
            _("A household cannot lease its own land."),
            field="household_uid",
        )
    residents = {uid for uid, _h in homestead_rules.household_people(household.uid)}
    roll = _roll(listing.collective_id, residents, day)
    if not roll:
        raise _outsider("household_uid")
    return {
        **base,
        "household_uid": household.uid,
        "lessee_kind": "member_household",
        "roll": roll,
        "rule": "R05",
    }


def outsider_evidence(listing: Listing, outsider: Any, day: date) -> dict[str, Any]:
    """What is stored of an outsider's offer on a lease listing: who they said they are (the
    ID number or USCC was checked for its form); no roll is read, they are not members."""
    return {
        "checked_on": day.isoformat(),
        "collective_id": listing.collective_id,
        "lessee_kind": outsider.kind,
        "outsider": True,
        "rule": "R05",
    }


def _share_buyer(
    listing: Listing,
    household_uid: int | None,
    person_uid: int | None,
    day: date,
    base: dict[str, Any],
) -> dict[str, Any]:
    """R10: a member on the roll, or a household with one; R11: within the cap after the deal."""
    if (household_uid is None) == (person_uid is None):
        raise DomainError(
            "holder_required", _("Choose the buying member or household."), field="household_uid"
        )
    if person_uid is not None:
        person = history.current_of(Person, person_uid)
        roll = _roll(listing.collective_id, {person.uid}, day) if person else []
        field = "person_uid"
    else:
        household = history.current_of(Household, household_uid)
        if household is None or household.collective_id != listing.collective_id:
            raise _outsider("household_uid")
        residents = {uid for uid, _h in homestead_rules.household_people(household.uid)}
        roll = _roll(listing.collective_id, residents, day)
        field = "household_uid"
    if not roll:
        raise _outsider(field)
    holding = history.current_of(ShareHolding, listing.right_uid)
    amount = listing.shares if listing.shares is not None else holding.shares
    buyer = share_rules.Holder(household_uid=household_uid, person_uid=person_uid)
    collective = db.session.get(Collective, listing.collective_id)
    share_rules.check_share_cap(
        collective, buyer, Decimal(amount), giver=share_rules.Holder.of(holding)
    )
    total = share_rules.cap_group_total(listing.collective_id, buyer)
    return {
        **base,
        "household_uid": household_uid,
        "person_uid": person_uid,
        "roll": roll,
        "shares_before": str(total),
        "shares_bought": str(amount),
        "rule": "R10/R11",
    }
