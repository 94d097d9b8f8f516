"""What a farmer's account reaches: the households the person belongs to now."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.registry.models import HouseholdMember, Person


def farmer_households(user: User) -> set[int]:
    if user.person_uid is None:
        return set()
    return set(
        db.session.scalars(
            select(HouseholdMember.household_uid).where(
                HouseholdMember.person_uid == user.person_uid,
                HouseholdMember.end_lifespan.is_(None),
            )
        )
    )


def account_phone(user: User) -> str | None:
    """The phone number short messages to an account go to: a farmer's account is the person's
    own, so the person's current 联系电话 (NY/T 2539); staff accounts have none."""
    if getattr(user, "person_uid", None) is None:
        return None
    return db.session.scalar(
        select(Person.phone).where(Person.uid == user.person_uid, Person.end_lifespan.is_(None))
    )
