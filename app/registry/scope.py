"""What a farmer's account reaches: the households the person belongs to now."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.registry.models import HouseholdMember


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
