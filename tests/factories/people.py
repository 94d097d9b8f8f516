"""People-area objects for tests: a member with a household in a given collective."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import func, select

from app.core.codes import id_number_check_char
from app.divisions.models import Collective
from app.extensions import db
from app.registry import people
from app.registry.models import Household, Person

_serial = itertools.count(1)


def id_number(birth: date = date(1980, 1, 1), *, female: bool = False) -> str:
    """A valid, not yet registered ID number (region 440222, Shixing) for that birth date."""
    for _ in range(500):
        n = next(_serial) % 500
        sex_digit = 2 * (n % 5) + (0 if female else 1)  # the 17th digit: odd = male
        first17 = f"440222{birth:%Y%m%d}{n // 5:02d}{sex_digit}"
        number = first17 + id_number_check_char(first17)
        taken = db.session.scalar(
            select(Person.uid).where(Person.id_number == number, Person.end_lifespan.is_(None))
        )
        if taken is None:
            return number
    raise RuntimeError("no free test ID number for this birth date")


def next_cbfbm(collective_id: int) -> str:
    """The code after the collective's highest; once a committed test took the last sequence
    (9999, e.g. a random free code), the lowest code no household ever had."""
    collective = db.session.get(Collective, collective_id)
    top = db.session.scalar(
        select(func.max(Household.cbfbm)).where(Household.collective_id == collective_id)
    )
    seq = int(top[14:]) + 1 if top else 1
    if seq > 9999:
        used = set(
            db.session.scalars(
                select(Household.cbfbm).where(Household.collective_id == collective_id)
            )
        )
        seq = next(n for n in range(1, 10000) if f"{collective.fbfbm}{n:04d}" not in used)
    return f"{collective.fbfbm}{seq:04d}"


def member(
    collective_id: int,
    name: str = "张三",
    *,
    birth: date = date(1980, 1, 1),
    female: bool = False,
    since: date = date(2000, 1, 1),
) -> Person:
    """A registered person admitted as a member of the collective (no household yet)."""
    person = people.register_person(
        name, id_number(birth, female=female), reason="test registration"
    )
    people.admit_member(person.uid, collective_id, max(since, birth), "birth", "test admission")
    return person


def household(collective_id: int, head_name: str = "张三", **kw) -> tuple[Person, Household]:
    """A member who heads a new household of the collective."""
    head = member(collective_id, head_name, **kw)
    hh = people.create_household(
        collective_id, next_cbfbm(collective_id), None, "村口 1 号", head.uid, "test household"
    )
    return head, hh


def link_farmer(username: str, person_uid: int) -> None:
    """Link a farmer account to a person (their household becomes theirs to read)."""
    from app.audit import trail
    from app.auth.models import User

    user = db.session.scalar(select(User).where(User.username == username))
    with trail.because("user.link_person", reason="test"):
        user.person_uid = person_uid
        db.session.flush()


def make(collective_id: int, ctx: dict) -> dict:
    """Create in the collective a person (valid ID number), membership and a household with the
    person as head and co-holder; return (and put into ctx) their uids."""
    head, hh = household(collective_id)
    made = {"person_uid": head.uid, "household_uid": hh.uid}
    ctx.update(made)
    return made
