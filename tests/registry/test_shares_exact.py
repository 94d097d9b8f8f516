"""Shares are exact decimals (R10 conservation with no tolerance) and the R11 cap counts a
household together with its own members. Real database, both backends."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import history
from app.registry.models import HouseholdMember, ShareHolding
from app.registry.shares import (
    _buy_back as buy_back,
)
from app.registry.shares import (
    _transfer_shares as transfer_shares,
)
from app.registry.shares import (
    allocate_shares,
    conservation_check,
    fix_share_register,
)
from tests.factories import homesteads as b


def fix(collective_id, total, cap=None):
    if cap is not None:
        db.session.get(Collective, collective_id).share_cap_percent = Decimal(cap)
    fix_share_register(collective_id, total, date(2019, 12, 31), "股权固化决议")


def alloc(collective_id, shares, *, household_uid=None, person_uid=None):
    if household_uid is None and person_uid is None:
        person_uid = b.person(collective_id)
    return allocate_shares(
        collective_id,
        household_uid=household_uid,
        person_uid=person_uid,
        shares=shares,
        share_type="population",
        certificate_number=None,
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


def shares_of(holding_uid):
    h = history.current_of(ShareHolding, holding_uid)
    return None if h is None else h.shares


# --- R10: exact decimals ----------------------------------------------------------------


def test_r10_tenths_add_up_exactly_to_the_total(ctx, baseline):
    """0.1 + 0.2 is 0.3: with floats the pool would be -5.5e-17 and the last allocation refused
    or a tolerance needed."""
    coll = baseline.collective_a
    fix(coll, "0.3", cap=100)
    alloc(coll, "0.1")
    alloc(coll, "0.2")
    allocated, pool, total = conservation_check(coll)
    assert (allocated, pool, total) == (Decimal("0.3"), 0, Decimal("0.3"))
    assert allocated + pool == total
    with pytest.raises(DomainError) as e:
        alloc(coll, "0.0001")  # the pool is exactly empty: not a ten-thousandth is left
    assert e.value.code == "pool_exhausted" and e.value.rule == "R10"


def test_r10_shares_read_back_exactly_with_fourteen_whole_digits(ctx, baseline):
    """18 significant digits: a double keeps 15-17, so a float column could not hold these."""
    coll = baseline.collective_a
    fix(coll, "12345678901234.5678", cap=100)
    big = alloc(coll, "12345678901234.5677")
    small = alloc(coll, Decimal("0.0001"))
    db.session.expire_all()
    assert shares_of(big.uid) == Decimal("12345678901234.5677")
    assert shares_of(small.uid) == Decimal("0.0001")
    assert isinstance(shares_of(big.uid), Decimal)
    allocated, pool, total = conservation_check(coll)
    assert allocated == total == Decimal("12345678901234.5678") and pool == 0
    move(big.uid, coll, "0.0001", to_person_uid=b.person(coll))
    assert shares_of(big.uid) == Decimal("12345678901234.5676")
    allocated, pool, total = conservation_check(coll)
    assert allocated + pool == total and pool == 0


def test_r10_sql_sum_equals_the_sum_of_the_holdings(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, 100, cap=100)
    amounts = ["0.1", "0.2", "0.7", "33.3333", "0.0001", "12.05"]
    for amount in amounts:
        alloc(coll, amount)
    in_python = sum(
        db.session.scalars(
            select(ShareHolding.shares).where(
                ShareHolding.collective_id == coll, ShareHolding.end_lifespan.is_(None)
            )
        ),
        Decimal(0),
    )
    in_sql = db.session.scalar(
        select(func.sum(ShareHolding.shares)).where(
            ShareHolding.collective_id == coll, ShareHolding.end_lifespan.is_(None)
        )
    )
    assert in_python == in_sql == sum(map(Decimal, amounts)) == Decimal("46.3834")
    assert conservation_check(coll) == (Decimal("46.3834"), Decimal("53.6166"), Decimal(100))


@pytest.mark.parametrize(
    "amount,code",
    [
        ("0.00001", "shares_places"),
        (Decimal("1.23456"), "shares_places"),
        ("1e-5", "shares_places"),
        (0.1 + 0.2, "shares"),  # 0.30000000000000004: a float that lost its digits
        ("10" + "0" * 14, "shares"),  # beyond NUMERIC(18, 4)
        ("abc", "shares"),
        ("Infinity", "shares"),
    ],
)
def test_r10_more_places_than_a_share_has_are_refused_not_rounded(ctx, baseline, amount, code):
    coll = baseline.collective_a
    fix(coll, 1000)
    holding = alloc(coll, 10)
    with pytest.raises(DomainError) as e:
        alloc(coll, amount)
    assert e.value.code == code and e.value.field == "shares"
    with pytest.raises(DomainError) as e:
        move(holding.uid, coll, amount, to_person_uid=b.person(coll))
    assert e.value.code == code
    with pytest.raises(DomainError) as e:
        buy_back(holding.uid, amount, reason="回购", source_document_id=b.document(coll))
    assert e.value.code == code
    assert shares_of(holding.uid) == 10
    assert conservation_check(coll) == (10, 990, 1000)


def test_r10_a_holding_emptied_to_the_last_ten_thousandth_ends(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, 1000)
    holding = alloc(coll, "0.3")
    buy_back(holding.uid, "0.1", reason="回购", source_document_id=b.document(coll))
    buy_back(holding.uid, "0.1", reason="回购", source_document_id=b.document(coll))
    assert shares_of(holding.uid) == Decimal("0.1")
    last = buy_back(holding.uid, "0.1", reason="回购", source_document_id=b.document(coll))
    assert not last.is_current  # ended, not left with 2.8e-17 shares
    assert conservation_check(coll) == (0, 1000, 1000)


def test_r10_versions_keep_the_exact_amounts(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, 1000)
    holding = alloc(coll, "40.0001")
    move(holding.uid, coll, "0.0001", to_person_uid=b.person(coll))
    versions = [v.shares for v in history.versions(ShareHolding, holding.uid)]
    assert versions == [Decimal("40.0001"), Decimal("40")]
    assert all(isinstance(v, Decimal) for v in versions)


# --- R11: the cap -------------------------------------------------------------------------


def test_r11_cap_is_exact_to_the_ten_thousandth(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, "1000.0001")  # 5 % = 50.000005: holdings have four places, so 50.0000 is the most
    person = b.person(coll)
    alloc(coll, "50", person_uid=person)
    with pytest.raises(DomainError) as e:
        alloc(coll, "0.0001", person_uid=person)
    assert e.value.rule == "R11"


def test_r11_charter_cap_with_two_places_is_exact(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, 1000, cap="2.55")  # 25.5 shares
    person = b.person(coll)
    assert alloc(coll, "25.5", person_uid=person).shares == Decimal("25.5")
    with pytest.raises(DomainError) as e:
        alloc(coll, "0.0001", person_uid=person)
    assert e.value.rule == "R11" and "2.55" in e.value.message


def test_r11_household_and_its_members_count_together(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, 1000)  # cap 5 % = 50
    p1, p2 = b.person(coll), b.person(coll)
    hh = b.household(coll, members=[p1, p2])
    alloc(coll, 30, household_uid=hh)
    alloc(coll, 15, person_uid=p1)
    # the household 30 + p1 15 + p2 6 = 51 > 50: refused for the member ...
    with pytest.raises(DomainError) as e:
        alloc(coll, 6, person_uid=p2)
    assert e.value.rule == "R11" and e.value.code == "share_cap"
    assert "农户" in e.value.message or "household" in e.value.message  # says why: counted together
    # ... and for the household itself (vice versa)
    with pytest.raises(DomainError) as e:
        alloc(coll, 6, household_uid=hh)
    assert e.value.rule == "R11"
    # exactly at the cap together is allowed
    alloc(coll, 5, person_uid=p2)
    # a person outside the household is counted alone
    outsider = b.person(coll)
    assert alloc(coll, 50, person_uid=outsider).shares == 50


def test_r11_transfer_into_a_household_counts_its_members(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, 1000)
    p1 = b.person(coll)
    hh = b.household(coll, members=[p1])
    alloc(coll, 40, person_uid=p1)
    seller = alloc(coll, 20)
    with pytest.raises(DomainError) as e:
        move(seller.uid, coll, 11, to_household_uid=hh)  # 40 + 11 > 50
    assert e.value.rule == "R11"
    assert shares_of(seller.uid) == 20
    move(seller.uid, coll, 10, to_household_uid=hh)  # 40 + 10 = 50
    allocated, pool, total = conservation_check(coll)
    assert (allocated, pool) == (60, 940)


def test_r11_moving_shares_inside_the_household_is_not_refused(ctx, baseline):
    """At the cap together, a member may still pass shares to their own household: what the
    household and its members hold together does not change."""
    coll = baseline.collective_a
    fix(coll, 1000)
    p1 = b.person(coll)
    hh = b.household(coll, members=[p1])
    own = alloc(coll, 30, person_uid=p1)
    alloc(coll, 20, household_uid=hh)
    got = move(own.uid, coll, 30, to_household_uid=hh)
    assert got.household_uid == hh and got.shares == 50
    assert shares_of(own.uid) is None


def test_r11_a_member_who_moved_out_counts_alone(ctx, baseline):
    coll = baseline.collective_a
    fix(coll, 1000)
    p1, p2 = b.person(coll), b.person(coll)
    hh = b.household(coll, members=[p1, p2])
    link = db.session.scalar(
        select(HouseholdMember).where(
            HouseholdMember.person_uid == p2, HouseholdMember.end_lifespan.is_(None)
        )
    )
    history.revise(link, reason="出嫁", moved_out_on=date(2024, 5, 1))
    alloc(coll, 50, household_uid=hh)
    assert alloc(coll, 50, person_uid=p2).shares == 50
    with pytest.raises(DomainError):
        alloc(coll, 1, person_uid=p1)


# --- the migration ------------------------------------------------------------------------


def test_r10_migration_turns_float_shares_into_exact_decimals_and_back(fresh_app):
    """0012 on a database in use: float shares come back as exact decimals, and going down
    gives the same floats again (SQLite: the tables are copied; nothing else is touched)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app.audit import trail
    from tests.concurrency import ACTOR

    app = fresh_app
    coll = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        fix(coll, 1000)
        half = alloc(coll, "12.5").uid
        tiny = alloc(coll, "0.0001").uid
        db.session.commit()
        db.session.remove()
    raw = "SELECT shares FROM share_holding WHERE uid = :uid AND end_lifespan IS NULL"
    with app.app_context():
        downgrade(revision="0006")
        with db.engine.connect() as conn:
            assert conn.scalar(text(raw), {"uid": half}) == 12.5
            assert conn.scalar(text(raw), {"uid": tiny}) == 0.0001
            assert conn.scalar(text("SELECT total_shares FROM share_register")) == 1000.0
        upgrade()
        db.session.remove()
    with app.app_context():
        assert shares_of(half) == Decimal("12.5") and isinstance(shares_of(half), Decimal)
        assert shares_of(tiny) == Decimal("0.0001")
        assert conservation_check(coll) == (Decimal("12.5001"), Decimal("987.4999"), 1000)
        db.session.remove()
