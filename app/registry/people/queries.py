"""Reading: what the pages and the API show of people and households, within a user's reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, true

from app.auth.models import COUNTY_READERS, Role
from app.auth.scope import farmer_household_ids, readable
from app.extensions import db
from app.registry.models import (
    Homestead,
    Household,
    HouseholdMember,
    LandContract,
    Membership,
    Person,
    Plot,
    ShareHolding,
)


@dataclass
class MemberRow:
    member: HouseholdMember
    person: Person


@dataclass
class HouseholdRights:
    contract: LandContract | None = None
    plots: list[Plot] = field(default_factory=list)
    homestead: Homestead | None = None
    shares: list[ShareHolding] = field(default_factory=list)
    # All current homesteads: a second one that came by inheritance is kept (R08).
    homesteads: list[Homestead] = field(default_factory=list)

    @property
    def contract_area_m2(self) -> float:
        # Reserve land (机动地, class 22) is the collective's, never a household's (R01).
        return sum(p.contract_area_m2 or 0.0 for p in self.plots if p.land_class != "22")

    @property
    def measured_area_m2(self) -> float:
        return sum(p.measured_area_m2 or 0.0 for p in self.plots)


def household_members(household_uid: int) -> list[MemberRow]:
    """Current members (residents first, head first), with their current person versions."""
    rows = db.session.execute(
        select(HouseholdMember, Person)
        .join(Person, and_(Person.uid == HouseholdMember.person_uid, Person.end_lifespan.is_(None)))
        .where(
            HouseholdMember.household_uid == household_uid,
            HouseholdMember.end_lifespan.is_(None),
        )
        .order_by(HouseholdMember.moved_out_on.is_not(None), HouseholdMember.relation, Person.uid)
    ).all()
    return [MemberRow(member=m, person=p) for m, p in rows]


def household_rights(household_uid: int, person_uids: list[int] | None = None) -> HouseholdRights:
    """The household's current rights: land contract with plots, homestead, share holdings
    (of the household and of its members personally)."""
    contract = db.session.scalar(
        select(LandContract)
        .where(LandContract.household_uid == household_uid, LandContract.end_lifespan.is_(None))
        .order_by(LandContract.uid)
        .limit(1)
    )
    plots = list(
        db.session.scalars(
            select(Plot)
            .where(Plot.household_uid == household_uid, Plot.end_lifespan.is_(None))
            .order_by(Plot.dkbm)
        )
    )
    homesteads = list(
        db.session.scalars(
            select(Homestead)
            .where(Homestead.household_uid == household_uid, Homestead.end_lifespan.is_(None))
            .order_by(Homestead.uid)
        )
    )
    homestead = homesteads[0] if homesteads else None
    holder = ShareHolding.household_uid == household_uid
    if person_uids:
        holder = or_(holder, ShareHolding.person_uid.in_(person_uids))
    shares = list(
        db.session.scalars(
            select(ShareHolding)
            .where(holder, ShareHolding.end_lifespan.is_(None))
            .order_by(ShareHolding.uid)
        )
    )
    return HouseholdRights(
        contract=contract, plots=plots, homestead=homestead, shares=shares, homesteads=homesteads
    )


def person_memberships(person_uid: int) -> list[Membership]:
    """All memberships of a person, open ones first (ended ones are their last version)."""
    last = (
        select(Membership.uid, func.max(Membership.version).label("v"))
        .where(Membership.person_uid == person_uid)
        .group_by(Membership.uid)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(Membership)
            .join(last, and_(Membership.uid == last.c.uid, Membership.version == last.c.v))
            .order_by(Membership.end_lifespan.is_not(None), Membership.since)
        )
    )


def person_households(person_uid: int) -> list[tuple[HouseholdMember, Household]]:
    """The households a person is in now (where they live, and where they kept co-holding)."""
    return list(
        db.session.execute(
            select(HouseholdMember, Household)
            .join(
                Household,
                and_(
                    Household.uid == HouseholdMember.household_uid,
                    Household.end_lifespan.is_(None),
                ),
            )
            .where(
                HouseholdMember.person_uid == person_uid,
                HouseholdMember.end_lifespan.is_(None),
            )
            .order_by(HouseholdMember.moved_out_on.is_not(None))
        ).all()
    )


def _person_scope(user: Any) -> Any:
    role = Role(user.role)
    if role in COUNTY_READERS:
        return true()
    # An open membership in reach, or (a person whose death is recorded) the one they died in.
    return exists().where(
        Membership.person_uid == Person.uid,
        or_(Membership.end_lifespan.is_(None), Membership.end_reason == "death"),
        readable(user, Membership.collective_id),
    )


def visible_persons(
    user: Any, *, collective_id: int | None = None, after: int | None = None, limit: int = 50
) -> list[Person]:
    """Current persons in the user's reach, keyset-paged by uid (farmers: their households)."""
    q = select(Person).where(Person.end_lifespan.is_(None))
    if Role(user.role) == Role.FARMER:
        ids = sorted(farmer_household_ids(user)) or [-1]
        q = q.where(
            exists().where(
                HouseholdMember.person_uid == Person.uid,
                HouseholdMember.end_lifespan.is_(None),
                HouseholdMember.household_uid.in_(ids),
            )
        )
    else:
        q = q.where(_person_scope(user))
    if collective_id is not None:
        q = q.where(
            exists().where(
                Membership.person_uid == Person.uid,
                Membership.end_lifespan.is_(None),
                Membership.collective_id == collective_id,
            )
        )
    if after is not None:
        q = q.where(Person.uid > after)
    return list(db.session.scalars(q.order_by(Person.uid).limit(limit)))


def visible_households(
    user: Any, *, collective_id: int | None = None, after: int | None = None, limit: int = 50
) -> list[Household]:
    """Current households in the user's reach, keyset-paged by uid."""
    q = select(Household).where(Household.end_lifespan.is_(None))
    if Role(user.role) == Role.FARMER:
        q = q.where(Household.uid.in_(sorted(farmer_household_ids(user)) or [-1]))
    else:
        q = q.where(readable(user, Household.collective_id))
    if collective_id is not None:
        q = q.where(Household.collective_id == collective_id)
    if after is not None:
        q = q.where(Household.uid > after)
    return list(db.session.scalars(q.order_by(Household.uid).limit(limit)))


@dataclass
class CollectiveOverview:
    households: int
    persons: int
    plots: int
    contract_area_m2: float
    measured_area_m2: float
    homesteads: int
    share_holdings: int
    shares: Decimal


def collective_overview(collective_id: int) -> CollectiveOverview:
    """Counts and totals of a collective's current registry (a handful of aggregate queries)."""

    def scalar(q: Any) -> Any:
        return db.session.scalar(q) or 0

    plot_row = db.session.execute(
        select(
            func.count(Plot.id),
            func.coalesce(func.sum(Plot.contract_area_m2), 0.0),
            func.coalesce(func.sum(Plot.measured_area_m2), 0.0),
        ).where(Plot.collective_id == collective_id, Plot.end_lifespan.is_(None))
    ).one()
    share_row = db.session.execute(
        select(func.count(ShareHolding.id), func.sum(ShareHolding.shares)).where(
            ShareHolding.collective_id == collective_id, ShareHolding.end_lifespan.is_(None)
        )
    ).one()
    return CollectiveOverview(
        households=scalar(
            select(func.count(Household.id)).where(
                Household.collective_id == collective_id, Household.end_lifespan.is_(None)
            )
        ),
        persons=scalar(
            select(func.count(func.distinct(Membership.person_uid))).where(
                Membership.collective_id == collective_id, Membership.end_lifespan.is_(None)
            )
        ),
        plots=plot_row[0] or 0,
        contract_area_m2=float(plot_row[1] or 0.0),
        measured_area_m2=float(plot_row[2] or 0.0),
        homesteads=scalar(
            select(func.count(Homestead.id)).where(
                Homestead.collective_id == collective_id, Homestead.end_lifespan.is_(None)
            )
        ),
        share_holdings=share_row[0] or 0,
        shares=share_row[1] or Decimal(0),
    )


def collective_households_page(
    collective_id: int, *, page: int = 1, per_page: int = 50
) -> tuple[list[tuple[Household, int]], bool]:
    """One page of a collective's current households with their resident member counts."""
    counts = (
        select(HouseholdMember.household_uid, func.count(HouseholdMember.id).label("n"))
        .where(
            HouseholdMember.collective_id == collective_id,
            HouseholdMember.end_lifespan.is_(None),
            HouseholdMember.moved_out_on.is_(None),
        )
        .group_by(HouseholdMember.household_uid)
        .subquery()
    )
    rows = db.session.execute(
        select(Household, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.household_uid == Household.uid)
        .where(Household.collective_id == collective_id, Household.end_lifespan.is_(None))
        .order_by(Household.cbfbm)
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return [(h, n) for h, n in rows[:per_page]], len(rows) > per_page


def eligible_people(collective_id: int, limit: int = 2000) -> list[Person]:
    """Members of the collective who live in no household yet (candidates for head or member)."""
    return list(
        db.session.scalars(
            select(Person)
            .join(
                Membership,
                and_(
                    Membership.person_uid == Person.uid,
                    Membership.collective_id == collective_id,
                    Membership.end_lifespan.is_(None),
                ),
            )
            .where(
                Person.end_lifespan.is_(None),
                ~exists().where(
                    HouseholdMember.person_uid == Person.uid,
                    HouseholdMember.end_lifespan.is_(None),
                    HouseholdMember.moved_out_on.is_(None),
                ),
            )
            .order_by(Person.name, Person.uid)
            .limit(limit)
        )
    )
