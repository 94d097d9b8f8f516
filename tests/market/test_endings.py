"""How a listing ends without a sale: withdrawn, rejected by staff, or published too late for
its bidding; what becomes of the offers on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.errors import DomainError
from app.market import listings, offers
from app.registry.history import county_today
from tests.market import walk


def test_r13_a_withdrawal_declines_every_open_offer(family, buyers):
    """The holder withdraws a published listing with a member's offer on it: the offer is
    declined (its household is told), and the right can be listed again at once."""
    lid = walk.published(family)
    offer = offers.make_offer(
        lid, walk.user("admin_a"), amount_fen=2_000_000, household_uid=buyers["member"]
    )
    listings.withdraw(lid, walk.user("farmer_a"))
    assert offer.state == "declined"
    assert walk.draft(family) != lid


def test_staff_reject_with_a_reason_and_the_right_is_free(family, buyers):
    lid = walk.published(family)
    offer = offers.make_offer(
        lid, walk.user("admin_a"), amount_fen=2_000_000, household_uid=buyers["member"]
    )
    with pytest.raises(DomainError) as refused:
        listings.reject(lid, walk.user("admin_a"), reason="  ")
    assert refused.value.code == "reason_required"
    with pytest.raises(DomainError) as refused:
        listings.reject(lid, walk.user("admin_b"), reason="不符合条件")
    assert refused.value.status == 404
    listing = listings.reject(lid, walk.user("admin_a"), reason="地块四至与实地不符，需先更正")
    assert listing.state == "rejected" and offer.state == "declined"
    assert listings.steps_of(lid)[-1].reason == "地块四至与实地不符，需先更正"
    assert walk.draft(family) != lid


def test_a_bidding_listing_published_too_late_for_its_deadline_is_refused(family):
    """Members must have the whole notice period to bid: publishing so late that the bidding
    would close before the notice ends is refused in plain words, and the listing waits."""
    deadline = datetime.now(UTC) + timedelta(days=20)
    lid = walk.ready(
        family, method="bidding", bid_deadline=deadline, bid_step_fen=10_000, deposit_fen=None
    )
    with pytest.raises(DomainError) as refused:
        listings.publish(lid, walk.user("admin_a"), today=county_today() + timedelta(days=15))
    assert refused.value.code == "bid_deadline"
    assert listings._listing(lid).state == "ready"
    assert listings.publish(lid, walk.user("admin_a")).state == "published"
