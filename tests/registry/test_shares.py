"""Collective share rules R10 and R11 through the service functions (real database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry.models import ShareHolding, ShareRegister
from app.registry.shares import (
    Holder,
    allocate_shares,
    check_share_cap,
    conservation_check,
    fix_share_register,
)
from app.registry.shares import (
    _buy_back as buy_back,
)
from app.registry.shares import (
    _transfer_shares as transfer_shares,
)
from tests.factories import homesteads as b

TOTAL = Decimal(1000)


@pytest.fixture
def coll(ctx, baseline):
    """Collective A with a fixed register of 1000 shares; the default cap is 5 % = 50."""
    fix_share_register(baseline.collective_a, TOTAL, date(2019, 12, 31), "股权固化决议")
    return baseline.collective_a


def alloc(collective_id, shares, *, household_uid=None, person_uid=None, share_type="population"):
    if household_uid is None and person_uid is None:
        household_uid = b.household(collective_id)
    return allocate_shares(
        collective_id,
        household_uid=household_uid,
        person_uid=person_uid,
        shares=shares,
        share_type=share_type,
        certificate_number="GQ-0001",
        source_document_id=b.document(collective_id),
        reason="配股",
    )


def move(holding_uid, collective_id, shares, **to):
    return transfer_shares(
        holding_uid,
        shares=shares,
        reason="成员间转让",
        source_document_id=b.document(collective_id),
        **to,
    )


def conserved(collective_id):
    allocated, pool, total = conservation_check(collective_id)
    assert all(isinstance(n, Decimal) for n in (allocated, pool, total))
    assert allocated + pool == total  # exact: no tolerance
    assert pool >= 0
    assert total == TOTAL
    return allocated, pool


def current_shares(holding_uid):
    h = history.current_of(ShareHolding, holding_uid)
    return None if h is None else h.shares


# --- register -------------------------------------------------------------------------------


def test_r10_register_total_cannot_change(coll):
    with pytest.raises(DomainError) as e:
        fix_share_register(coll, 2000, date(2024, 1, 1), "再次固化")
    assert e.value.rule == "R10" and e.value.code == "register_fixed"
    assert db.session.get(ShareRegister, coll).total_shares == TOTAL


def test_register_must_be_fixed_before_allocation(ctx, baseline):
    with pytest.raises(DomainError) as e:
        alloc(baseline.collective_b, 10)
    assert e.value.code == "no_register"


@pytest.mark.parametrize(
    "total", [0, -5, float("inf"), "abc", "NaN", None, "0.00001", 10**14, 0.1 + 0.2]
)
def test_register_total_must_be_positive(ctx, baseline, total):
    with pytest.raises(DomainError) as e:
        fix_share_register(baseline.collective_b, total, date(2020, 1, 1), "x")
    assert e.value.field == "total_shares"


# --- R10 holders ----------------------------------------------------------------------------


def test_r10_allocation_to_a_member_person_and_household(coll):
    p = b.person(coll)
    by_person = alloc(coll, 10, person_uid=p)
    by_household = alloc(coll, 20)
    assert by_person.person_uid == p and by_person.household_uid is None
    assert by_household.household_uid is not None
    assert conserved(coll) == (30, 970)


def test_r10_holders_must_be_members(coll, baseline):
    outsider = b.person(None)
    with pytest.raises(DomainError) as e:
        alloc(coll, 10, person_uid=outsider)
    assert e.value.rule == "R10" and e.value.field == "person_uid"
    former = b.person(coll, until=date(2020, 1, 1))
    with pytest.raises(DomainError) as e:
        alloc(coll, 10, person_uid=former)
    assert e.value.rule == "R10"
    other_household = b.household(baseline.collective_b)
    with pytest.raises(DomainError) as e:
        alloc(coll, 10, household_uid=other_household)
    assert e.value.rule == "R10" and e.value.field == "household_uid"
    member_of_b = b.person(baseline.collective_b)
    with pytest.raises(DomainError):
        alloc(coll, 10, person_uid=member_of_b)
    assert conserved(coll) == (0, TOTAL)


def test_r10_settled_member_keeps_eligibility(coll):
    """R12: settling in town (urban hukou) does not take a member off the roll."""
    settled = b.person(coll, hukou="urban")
    assert alloc(coll, 10, person_uid=settled).shares == 10


def test_r10_allocations_never_exceed_the_total(ctx, baseline):
    c = baseline.collective_a
    db.session.get(Collective, c).share_cap_percent = 100
    fix_share_register(c, 100, date(2019, 12, 31), "固化")
    alloc(c, 60)
    with pytest.raises(DomainError) as e:
        alloc(c, 41)
    assert e.value.rule == "R10" and e.value.code == "pool_exhausted"
    alloc(c, 40)
    allocated, pool, total = conservation_check(c)
    assert (allocated, pool, total) == (100, 0, 100)


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"shares": 0}, "shares"),
        ({"shares": -3}, "shares"),
        ({"shares": True}, "shares"),
        ({"share_type": "golden"}, "share_type"),
        ({"reason": " "}, "reason"),
        ({"source_document_id": None}, "source_document_id"),
        ({"household_uid": None}, "household_uid"),
        ({"person_uid": 5}, "household_uid"),
        ({"certificate_number": "X" * 41}, "certificate_number"),
    ],
)
def test_allocation_input_errors(coll, kw, field):
    args = dict(
        household_uid=b.household(coll),
        shares=10,
        share_type="population",
        certificate_number="GQ1",
        source_document_id=b.document(coll),
        reason="配股",
    )
    args.update(kw)
    with pytest.raises(DomainError) as e:
        allocate_shares(coll, **args)
    assert e.value.field == field


# --- R10 transfers and conservation -----------------------------------------------------


def test_r10_transfer_within_collective_conserves_total(coll):
    seller = alloc(coll, 40)
    buyer_hh = b.household(coll)
    received = move(seller.uid, coll, 15, to_household_uid=buyer_hh)
    assert received.household_uid == buyer_hh and received.shares == 15
    assert current_shares(seller.uid) == 25
    assert [v.shares for v in history.versions(ShareHolding, seller.uid)] == [40, 25]
    assert conserved(coll) == (40, 960)
    # the rest of the balance: the seller's holding ends, the buyer's grows (same type merges)
    again = move(seller.uid, coll, 25, to_household_uid=buyer_hh)
    assert again.uid == received.uid and again.shares == 40 and again.version == 2
    assert current_shares(seller.uid) is None
    assert conserved(coll) == (40, 960)


def test_r10_transfer_to_another_collectives_member_refused(coll, baseline):
    seller = alloc(coll, 40)
    with pytest.raises(DomainError) as e:
        move(seller.uid, coll, 10, to_household_uid=b.household(baseline.collective_b))
    assert e.value.rule == "R10" and e.value.field == "to_household_uid"
    with pytest.raises(DomainError) as e:
        move(seller.uid, coll, 10, to_person_uid=b.person(baseline.collective_b))
    assert e.value.rule == "R10" and e.value.field == "to_person_uid"
    assert current_shares(seller.uid) == 40
    assert conserved(coll) == (40, 960)


def test_r10_transfer_checks_the_roll_on_the_day(coll):
    seller = alloc(coll, 40)
    leaving = b.person(coll, until=date(2025, 7, 1))
    with pytest.raises(DomainError) as e:
        move(seller.uid, coll, 5, to_person_uid=leaving, today=date(2025, 7, 1))
    assert e.value.rule == "R10"
    got = transfer_shares(
        seller.uid,
        to_person_uid=leaving,
        shares=5,
        reason="转让",
        source_document_id=b.document(coll),
        today=date(2025, 6, 30),
    )
    assert got.shares == 5


def test_r10_transfer_more_than_held_or_to_self_refused(coll):
    seller = alloc(coll, 40)
    with pytest.raises(DomainError) as e:
        move(seller.uid, coll, 40.5, to_household_uid=b.household(coll))
    assert e.value.code == "insufficient_shares"
    with pytest.raises(DomainError) as e:
        move(seller.uid, coll, 1, to_household_uid=seller.household_uid)
    assert e.value.code == "same_holder"
    with pytest.raises(DomainError) as e:
        move(987654, coll, 1, to_household_uid=seller.household_uid)
    assert e.value.code == "holding_unknown"
    assert conserved(coll) == (40, 960)


def test_r10_buy_back_returns_shares_to_the_pool(coll):
    holding = alloc(coll, 40)
    left = buy_back(holding.uid, 15, reason="集体回购", source_document_id=b.document(coll))
    assert left.shares == 25 and left.is_current
    assert conserved(coll) == (25, 975)
    last = buy_back(holding.uid, 25, reason="集体回购", source_document_id=b.document(coll))
    assert not last.is_current
    assert conserved(coll) == (0, TOTAL)
    # the pool's shares can be allocated again
    alloc(coll, 50)
    assert conserved(coll) == (50, 950)
    with pytest.raises(DomainError) as e:
        buy_back(holding.uid, 1, reason="again", source_document_id=b.document(coll))
    assert e.value.code == "holding_ended"


def test_r10_conservation_over_a_sequence_of_moves(coll):
    holdings = [alloc(coll, n) for n in (40, 30, 20)]
    people = [b.person(coll) for _ in range(3)]
    move(holdings[0].uid, coll, 12.5, to_person_uid=people[0])
    move(holdings[1].uid, coll, 30, to_person_uid=people[1])
    buy_back(holdings[2].uid, 7, reason="回购", source_document_id=b.document(coll))
    move(holdings[0].uid, coll, 27.5, to_person_uid=people[2])
    allocated, pool = conserved(coll)
    assert (allocated, pool) == (83, 917)


# --- R11 ------------------------------------------------------------------------------------


def test_r11_cap_default_five_percent_of_total(coll):
    hh = b.household(coll)
    alloc(coll, 50, household_uid=hh)  # exactly 5 % is allowed
    with pytest.raises(DomainError) as e:
        alloc(coll, 0.5, household_uid=hh)
    assert e.value.rule == "R11" and e.value.code == "share_cap"
    assert "5" in e.value.message and "50" in e.value.message
    with pytest.raises(DomainError) as e:
        alloc(coll, 51)
    assert e.value.rule == "R11"


def test_r11_charter_cap_overrides(coll):
    db.session.get(Collective, coll).share_cap_percent = 2.5
    assert alloc(coll, 25).shares == 25
    with pytest.raises(DomainError) as e:
        alloc(coll, 26)
    assert e.value.rule == "R11"


def test_r11_config_default_is_used_without_a_charter_cap(app, coll):
    app.config["SHARE_CAP_PERCENT"] = 10.0
    try:
        assert alloc(coll, 100).shares == 100
    finally:
        app.config["SHARE_CAP_PERCENT"] = 5.0


def test_r11_transfer_pushing_recipient_over_cap_refused(coll):
    seller = alloc(coll, 40)
    buyer = b.household(coll)
    alloc(coll, 30, household_uid=buyer, share_type="seniority")
    with pytest.raises(DomainError) as e:
        move(seller.uid, coll, 21, to_household_uid=buyer)  # 30 + 21 > 50
    assert e.value.rule == "R11"
    assert current_shares(seller.uid) == 40
    got = move(seller.uid, coll, 20, to_household_uid=buyer)  # 30 + 20 = 50, at the cap
    assert got.shares == 20 and got.share_type == "population"
    assert conserved(coll) == (70, 930)


def test_r11_check_share_cap_is_one_function(coll):
    collective = db.session.get(Collective, coll)
    check_share_cap(collective, Holder(household_uid=1), 50)
    with pytest.raises(DomainError) as e:
        check_share_cap(collective, Holder(person_uid=1), 50.01)
    assert e.value.rule == "R11"
