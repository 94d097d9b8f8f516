"""R14: a declaration made in a village where the share of settled households that exited in the
last 12 months stands out is flagged; the bureau's reasoned decision on a flagged deal is stored
and shown in the transaction's history."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.audit.models import AuditEntry
from app.core.errors import DomainError
from app.divisions.models import Collective, Division
from app.extensions import db
from app.market import approvals, listings
from app.market.models import FlagReview
from app.oversight.village import exit_shares
from app.registry.history import county_today
from tests.market import walk
from tests.market.walk import user
from tests.oversight import world


def _village(collective_id: int) -> Division:
    return db.session.get(Division, db.session.get(Collective, collective_id).village_code)


def _flags(lid: int) -> list[str]:
    listing = listings._listing(lid)
    return approvals.flags_of(listing, approvals._deal(listing))


def _settled_village(collective_id: int, *, settled: int, sold: int) -> None:
    """``settled`` households of the collective settled in town long ago, ``sold`` of which
    transferred their contract (registered today)."""
    doc = world.document(collective_id)
    for i in range(settled):
        if i < sold:
            world.sold(collective_id, doc, f"进城{i}户", settled_on=world.long_ago())
        else:
            world.household(collective_id, doc, f"进城{i}户", settled_on=world.long_ago())


def test_r14_a_declaration_in_a_village_where_most_settled_households_exited_is_flagged(
    family, buyers, baseline
):
    """3 of 5 settled households exited: every declaration made there is flagged, the family's
    too, though none of its holders settled in town."""
    _settled_village(baseline.collective_a, settled=5, sold=3)
    lid = walk.accepted(family, buyers)
    reasons = _flags(lid)
    assert len(reasons) == 1
    village = _village(baseline.collective_a)
    assert village.name in reasons[0]
    assert county_today().isoformat() in reasons[0]
    assert re.search(r"\b3\b", reasons[0]) and re.search(r"\b5\b", reasons[0])
    assert "440222" not in reasons[0]  # the village by its name, no code
    share = exit_shares(county_today(), village_codes=[village.code])[village.code]
    assert (share.settled_households, share.exited_households) == (5, 3)
    assert share.stands_out
    # flagged, not blocked: approved once the reviewer records a reasoned decision
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    with pytest.raises(DomainError) as refused:
        approvals.bureau_review(lid, user("bureau"), approve=True, reason="材料齐全")
    assert refused.value.code == "flag_decision_required"


def test_r14_a_village_below_the_threshold_is_not_flagged(family, buyers, baseline):
    _settled_village(baseline.collective_a, settled=5, sold=2)  # 2 of 5: 0.4 < 0.5
    code = _village(baseline.collective_a).code
    share = exit_shares(county_today(), village_codes=[code])[code]
    assert share.share == Decimal("0.4") and not share.stands_out
    lid = walk.accepted(family, buyers)
    assert _flags(lid) == []


def test_r14_small_villages_are_not_flagged(family, buyers, baseline):
    _settled_village(baseline.collective_a, settled=4, sold=2)  # half, but only 4 households
    code = _village(baseline.collective_a).code
    share = exit_shares(county_today(), village_codes=[code])[code]
    assert share.share == Decimal("0.5") and not share.stands_out
    lid = walk.accepted(family, buyers)
    assert _flags(lid) == []


def test_r14_the_village_threshold_is_the_countys(app, family, buyers, baseline, monkeypatch):
    monkeypatch.setitem(app.config, "SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS", 2)
    monkeypatch.setitem(app.config, "SETTLEMENT_VILLAGE_EXIT_SHARE", Decimal("0.5"))
    _settled_village(baseline.collective_a, settled=2, sold=1)
    lid = walk.accepted(family, buyers)
    assert len(_flags(lid)) == 1


def _settle_head(family, days_ago: int) -> None:
    world.settle(family["head"], family["doc"], county_today() - timedelta(days=days_ago))


def test_r14_the_flag_review_is_stored_with_reason_and_interview(family, buyers):
    _settle_head(family, 10)
    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    shown = _flags(lid)
    assert len(shown) == 1
    with pytest.raises(DomainError):
        approvals.bureau_review(lid, user("bureau"), approve=True, reason="材料齐全")
    assert db.session.scalars(select(FlagReview)).all() == []
    approvals.bureau_review(
        lid,
        user("bureau"),
        approve=True,
        reason="材料齐全",
        flag_decision="电话联系本人，确认自愿转让",
        interviewed=False,
    )
    (review,) = db.session.scalars(select(FlagReview).where(FlagReview.listing_id == lid))
    assert json.loads(review.flags) == shown
    assert review.decision == "电话联系本人，确认自愿转让"
    assert review.interviewed is False
    assert review.approved is True
    assert review.reviewer == "bureau"
    assert review.deal_id == approvals._deal(listings._listing(lid)).id
    assert listings._listing(lid).state == "contracting"
    audited = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.event == "market.flag_review", AuditEntry.action == "insert"
        )
    )
    assert audited is not None and audited.reason == "电话联系本人，确认自愿转让"
    # The decision is evidence: the database refuses to change or remove it (migration 0023).
    for statement in (
        "UPDATE market_flag_review SET decision = '同意' WHERE id = :id",
        "DELETE FROM market_flag_review WHERE id = :id",
    ):
        with pytest.raises(DBAPIError), db.session.begin_nested():
            db.session.execute(text(statement), {"id": review.id})
    assert db.session.get(FlagReview, review.id).decision == "电话联系本人，确认自愿转让"


def test_r14_a_rejected_flagged_deal_keeps_its_review_too(family, buyers):
    _settle_head(family, 10)
    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    approvals.bureau_review(
        lid,
        user("bureau"),
        approve=False,
        reason="权利人未到场",
        flag_decision="本人未能到场说明，不予通过",
        interviewed=False,
    )
    (review,) = db.session.scalars(select(FlagReview).where(FlagReview.listing_id == lid))
    assert review.approved is False
    assert review.decision == "本人未能到场说明，不予通过"
    assert listings._listing(lid).state == "rejected"


def test_a_deal_without_flags_stores_no_review(family, buyers):
    walk.approved(family, buyers)
    assert db.session.scalars(select(FlagReview)).all() == []


def test_r14_the_decision_shows_on_the_transactions_history_page(client, auth, family, buyers):
    _settle_head(family, 10)
    settled_on = (county_today() - timedelta(days=10)).isoformat()
    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, user("admin_a"), approve=True)

    auth.login("bureau")
    review = client.get(f"/market/{lid}/review").get_data(as_text=True)
    # before deciding, the bureau reads the flag with both dates
    assert settled_on in review and county_today().isoformat() in review
    r = client.post(
        f"/market/{lid}/review",
        data={
            "decision": "approve",
            "reason": "材料齐全",
            "flag_decision": "当面询问本人，系自愿转让",
            "interviewed": "yes",
        },
    )
    assert r.status_code in (302, 303), r.get_data(as_text=True)
    page = client.get(f"/market/{lid}").get_data(as_text=True)
    assert "当面询问本人，系自愿转让" in page
    assert "是，已当面询问" in page or "Yes, interviewed in person" in page
    assert settled_on in page  # the flag the reviewer was shown

    auth.logout()
    auth.login("farmer_a")  # the holder reads the step and its reasons
    mine = client.get(f"/market/{lid}").get_data(as_text=True)
    assert "当面询问本人，系自愿转让" in mine
    assert "已当面询问" in mine
