"""Racing share transfers and homestead grants on real commits (R10 conservation, R07).

Each thread has its own app context, so its own session and connection; the database decides who
wins (SQLite: BEGIN IMMEDIATE serialises writers; PostgreSQL: the register's row lock).
"""

from __future__ import annotations

from datetime import date

import pytest

from app.audit import trail
from app.extensions import db
from app.registry import history
from app.registry.homesteads import grant_homestead
from app.registry.models import Homestead, ShareHolding
from app.registry.shares import (
    _transfer_shares as transfer_shares,
)
from app.registry.shares import (
    allocate_shares,
    conservation_check,
    fix_share_register,
)
from tests.concurrency import ACTOR, race
from tests.factories import homesteads as b

pytestmark = pytest.mark.concurrency


def test_concurrent_full_balance_transfers_exactly_one_wins(fresh_app):
    app = fresh_app
    c = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        fix_share_register(c, 1000, date(2019, 12, 31), "股权固化")
        seller = allocate_shares(
            c,
            household_uid=b.household(c),
            shares=40,
            share_type="population",
            certificate_number="GQ1",
            source_document_id=b.document(c),
            reason="配股",
        )
        buyers = [b.household(c), b.household(c)]
        docs = [b.document(c), b.document(c)]
        holding_uid = seller.uid
        db.session.commit()
        db.session.remove()

    def transfer_to(i):
        return lambda: transfer_shares(
            holding_uid,
            to_household_uid=buyers[i],
            shares=40,
            reason="转让全部股份",
            source_document_id=docs[i],
        )

    results = race(app, [transfer_to(0), transfer_to(1)])
    assert sorted(results) == ["holding_ended", "ok"], results

    with app.app_context(), app.test_request_context():
        assert history.current_of(ShareHolding, holding_uid) is None
        allocated, pool, total = conservation_check(c)
        assert (allocated, pool, total) == (40, 960, 1000)
        winner = buyers[results.index("ok")]
        held = db.session.scalars(
            ShareHolding.current().where(ShareHolding.collective_id == c)
        ).all()
        assert [(h.household_uid, h.shares) for h in held] == [(winner, 40)]
        db.session.remove()


def test_concurrent_homestead_grants_to_one_household_exactly_one_wins(fresh_app):
    """R07 under a race: the household lock / partial unique index let only one through."""
    app = fresh_app
    c = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        hh = b.household(c)
        docs = [b.document(c), b.document(c)]
        units = [b.unit_number(c), b.unit_number(c)]
        db.session.commit()
        db.session.remove()

    def grant(i):
        return lambda: grant_homestead(
            hh,
            units[i],
            "plain",
            70.0,
            approval_number=f"宅批{i}",
            approved_on=date(2024, 1, 1),
            source_document_id=docs[i],
            reason="新批",
        )

    results = race(app, [grant(0), grant(1)])
    assert sorted(results) == ["has_homestead", "ok"], results
    with app.app_context(), app.test_request_context():
        current = db.session.scalars(Homestead.current().where(Homestead.household_uid == hh)).all()
        assert len(current) == 1
        db.session.remove()
