"""Members' priority on equal terms (R05): two member households matching an outsider's chosen
terms at the same moment yield exactly one lessee, on real commits, round after round."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.calendar import county_today
from app.extensions import db
from app.market import leasing, listings, offers, states
from app.market.lease_terms import Outsider, Terms
from app.market.models import Deal, Listing, MembersPriority, Offer
from tests.concurrency import race_outcomes
from tests.market import walk
from tests.market.test_races import assert_chain_whole, build_world, committed, withdraw

pytestmark = pytest.mark.concurrency

ROUNDS = 40
COMPANY = Outsider("company", "始兴绿源农业有限公司", uscc="91440222MA4W8PT07N")


def _terms() -> Terms:
    start = county_today() + timedelta(days=60)
    return Terms(start, start.replace(year=start.year + 6), "grain")


def in_priority(app: Flask, family: dict) -> tuple[int, date]:
    """A lease listing of the whole contract, a company's offer chosen by the holder: the
    members' priority period runs (committed). Returns (listing id, a day inside the period)."""
    t = _terms()
    with committed(app):
        lid = walk.published(
            family,
            deal_kind="lease",
            asking_price_fen=None,
            lease_method="lease",
            lease_use=t.use,
            lease_starts_on=t.starts_on,
            lease_ends_on=t.ends_on,
            rent_fen_per_mu_year=80_000,
            payment_schedule="annual",
        )
        chosen = offers.make_offer(
            lid, walk.user("admin_a"), amount_fen=90_000, terms=t, outsider=COMPANY
        )
        day = listings._listing(lid).cooling_off_ends_on
        offers.accept_offer(lid, chosen.id, walk.user("farmer_a"), today=day)
    return lid, day


def test_r05_two_members_matching_at_once_make_exactly_one_lessee(fresh_app):
    app = fresh_app
    world = build_world(app)
    with app.test_request_context():
        plain = {
            _(
                "This cannot be done now: the listing is at the step “%(state)s”.",
                state=states.state_label("collective_consent"),
            ),
            _("An offer on this listing was already accepted."),
        }
    seen = Counter()
    for round_no in range(ROUNDS):
        lid, day = in_priority(app, world.family)

        def match(household: int, lid: int = lid, day: date = day):
            return lambda: leasing.match(
                lid,
                walk.user("admin_a"),
                household_uid=household,
                amount_fen=90_000,
                terms=_terms(),
                today=day,
            )

        jobs = [match(world.buyers[0]), match(world.buyers[1])]
        outcomes = race_outcomes(app, jobs if round_no % 2 else jobs[::-1])
        if not round_no % 2:
            outcomes.reverse()
        results = [o.result for o in outcomes]
        assert results.count("ok") == 1, (round_no, outcomes)
        winner = world.buyers[results.index("ok")]
        seen[f"household {results.index('ok') + 1} won"] += 1
        loser = outcomes[1 - results.index("ok")]
        assert loser.message in plain, (round_no, loser)
        with app.app_context():
            deals = list(db.session.scalars(select(Deal).where(Deal.listing_id == lid)))
            assert [d.buyer_household_uid for d in deals] == [winner], round_no
            matched = db.session.scalars(
                select(Offer).where(Offer.listing_id == lid, Offer.matches_offer_id.is_not(None))
            ).all()
            assert [o.household_uid for o in matched] == [winner], round_no
            record = db.session.scalar(
                select(MembersPriority).where(MembersPriority.listing_id == lid)
            )
            assert record.decision == "member_matched", round_no
            assert db.session.get(Listing, lid).state == "collective_consent", round_no
            db.session.remove()
        withdraw(app, lid)
    print(f"\ntwo members matching, {ROUNDS} rounds: {dict(seen)}")
    assert len(seen) == 2
    assert_chain_whole(app)
