"""R14: a declaration within 180 days of a holder's settlement is flagged, and the bureau cannot
approve the flagged deal without its reasoned decision."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.errors import DomainError
from app.market import approvals, listings
from app.registry.history import county_today
from app.settlement import services
from tests.market import walk
from tests.market.walk import user


def _settle(family, person: str, days_ago: int):
    return services.record_settlement(
        user("officer"),
        family[person],
        settled_on=county_today() - timedelta(days=days_ago),
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=family["doc"],
    )


def _flags(lid: int) -> list[str]:
    listing = listings._listing(lid)
    return approvals.flags_of(listing, approvals._deal(listing))


def test_r14_a_declaration_within_180_days_of_settlement_is_flagged(family, buyers):
    _settle(family, "wife", 180)  # a co-holder, not the one who declared
    lid = walk.accepted(family, buyers)
    reasons = _flags(lid)
    assert len(reasons) == 1
    settled = (county_today() - timedelta(days=180)).isoformat()
    assert settled in reasons[0]
    assert county_today().isoformat() in reasons[0]


def test_r14_a_settlement_longer_ago_is_not_flagged(family, buyers):
    _settle(family, "head", 181)
    lid = walk.accepted(family, buyers)
    assert _flags(lid) == []


def test_r14_a_corrected_settlement_counts_as_corrected(family, buyers):
    record = _settle(family, "head", 30)
    services.correct_settlement(
        user("officer"),
        record.id,
        reason="派出所更正了日期",
        settled_on=county_today() - timedelta(days=400),
        city="韶关市",
        district="浈江区",
        channel="housing",
        source_document_id=family["doc"],
    )
    lid = walk.accepted(family, buyers)
    assert _flags(lid) == []


def test_r14_a_flagged_deal_cannot_be_approved_without_the_reviewers_decision(family, buyers):
    _settle(family, "head", 10)
    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, user("admin_a"), approve=True)
    with pytest.raises(DomainError) as refused:
        approvals.bureau_review(lid, user("bureau"), approve=True, reason="材料齐全")
    assert refused.value.code == "flag_decision_required"
    assert listings._listing(lid).state != "contracting"
    approvals.bureau_review(
        lid,
        user("bureau"),
        approve=True,
        reason="材料齐全",
        flag_decision="本人当面确认自愿转让，与落户无关",
        interviewed=True,
    )
    assert listings._listing(lid).state == "contracting"
