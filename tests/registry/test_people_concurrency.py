"""Racing registrations on real commits: the database lets exactly one through, the other gets a
clear refusal (never a server error)."""

from __future__ import annotations

import pytest

from app.audit import trail
from app.core.codes import id_number_check_char
from app.extensions import db
from app.registry import people
from app.registry.models import HouseholdMember, Person
from tests.concurrency import ACTOR, race
from tests.factories import people as fx

pytestmark = pytest.mark.concurrency


def test_same_id_number_registered_twice_at_once(fresh_app):
    first17 = "44022219850607123"
    number = first17 + id_number_check_char(first17)
    results = race(
        fresh_app,
        [lambda: people.register_person("周一", number, reason="登记")] * 2,
    )
    assert sorted(results)[-1] == "ok" and sorted(results)[0] in {"id_number_taken", "conflict"}
    with fresh_app.app_context():
        count = db.session.query(Person).filter(Person.id_number == number).count()
        assert count == 1
        db.session.remove()


def test_one_person_added_to_two_households_at_once(fresh_app):
    c = fresh_app.extensions["sanquan_baseline"].collective_a
    with fresh_app.app_context(), fresh_app.test_request_context(), trail.acting(ACTOR):
        _h1, one = fx.household(c, "甲")
        _h2, two = fx.household(c, "乙")
        person = fx.member(c, "丙")
        uids = (one.uid, two.uid, person.uid)
        db.session.commit()
        db.session.remove()
    one_uid, two_uid, person_uid = uids
    results = race(
        fresh_app,
        [
            lambda: people.add_household_member(one_uid, person_uid, "70", True, "入户"),
            lambda: people.add_household_member(two_uid, person_uid, "70", True, "入户"),
        ],
    )
    assert sorted(results)[-1] == "ok" and sorted(results)[0] in {"in_household", "conflict"}
    with fresh_app.app_context():
        rows = (
            db.session.query(HouseholdMember)
            .filter(
                HouseholdMember.person_uid == person_uid, HouseholdMember.end_lifespan.is_(None)
            )
            .count()
        )
        assert rows == 1
        db.session.remove()
