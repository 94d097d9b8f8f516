"""R14's village exit share, figure by figure, on a small built world."""

from __future__ import annotations

from decimal import Decimal

from app.divisions.models import Collective
from app.extensions import db
from app.oversight.village import exit_shares
from app.registry.history import county_today
from tests.oversight import world


def test_exit_shares_smoke(ctx, baseline):
    a = baseline.collective_a
    village = db.session.get(Collective, a).village_code
    doc = world.document(a)
    world.sold(a, doc, "一户", settled_on=world.long_ago())
    world.household(a, doc, "二户", settled_on=world.long_ago())
    shares = exit_shares(county_today())
    print(shares)
    got = shares[village]
    assert got.settled_households == 2
    assert got.exited_households == 1
    assert got.share == Decimal("0.5")
