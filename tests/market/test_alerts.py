"""Market events → notifications (app/market/alerts.py): who is told what, in their inbox, and
who also gets a short message."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.market import alerts, approvals, listings, offers
from app.notify import services
from app.notify.models import Notification, OutboxMessage
from app.registry import history
from app.registry.models import Person
from tests.factories.people import link_farmer
from tests.market import walk


def _user(name: str) -> User:
    return walk.user(name)


def _kinds(username: str) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == _user(username).id)
            .order_by(Notification.id)
        )
    )


def _texts(username: str) -> list[str]:
    """The user's notifications as an English reader reads them, newest first."""
    page = services.inbox(_user(username), 100)
    with force_locale("en"):
        return [services.text_of(n) for n in page.items]


def _give_phone(person_uid: int, phone: str) -> None:
    person = db.session.scalar(
        select(Person).where(Person.uid == person_uid, Person.end_lifespan.is_(None))
    )
    history.revise(person, reason="测试: 联系电话", phone=phone)
    db.session.flush()


def test_publishing_tells_the_other_farmers_of_the_collective_and_not_collective_bs(family, buyers):
    lid = walk.published(family)
    assert _kinds("buyer_a") == ["market.published"]
    note = db.session.scalars(
        select(Notification).where(Notification.user_id == _user("buyer_a").id)
    ).one()
    assert note.link == f"/market/{lid}"
    assert f"(No. {lid}) was published in your collective" in _texts("buyer_a")[0]
    assert "market.published" not in _kinds("farmer_b")  # collective B's farmer
    assert "market.published" not in _kinds("farmer_a")  # the seller's own household
    # Nobody is texted about a publication: it goes to every farmer of the collective.
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_an_offer_tells_the_seller_with_a_short_message(family, buyers):
    _give_phone(family["head"], "13900139000")
    lid = walk.published(family)
    offers.make_offer(lid, _user("buyer_a"), amount_fen=2_850_050, household_uid=buyers["member"])
    assert _kinds("farmer_a")[-1] == "market.offer"
    assert "An offer of 28,500.50 yuan was made on your listing" in _texts("farmer_a")[0]
    assert "market.offer" not in _kinds("buyer_a")  # not told of their own offer
    sms = db.session.scalars(select(OutboxMessage)).one()
    assert (sms.user_id, sms.phone, sms.state) == (_user("farmer_a").id, "13900139000", "pending")
    assert "28,500.50" in sms.text


def test_each_step_is_announced_to_whoever_takes_it_next(family, buyers):
    """The wife's account is asked for her consent (not the declaring husband); the admin is
    told the title check waits; after acceptance and the collective's consent, the bureau's
    reviewer is told, and seller and buyer learn of the approval."""
    from app.auth.services import create_user
    from tests.conftest import PASSWORD

    create_user(
        "wife_a", PASSWORD, "farmer", collective_ids=[walk.user("admin_a").collectives[0].id]
    )
    link_farmer("wife_a", family["wife"])

    lid = walk.draft(family)
    listings.declare(lid, _user("farmer_a"))
    assert _kinds("wife_a") == ["market.consent_asked"]
    assert "market.consent_asked" not in _kinds("farmer_a")

    listings.decide_consent(lid, family["wife"], _user("wife_a"), give=True)
    assert _kinds("admin_a") == ["market.waiting"]
    assert "waits for you: the collective's title check and publication" in _texts("admin_a")[0]
    assert "market.waiting" not in _kinds("admin_b")

    listings.publish(lid, _user("admin_a"))
    offer = offers.make_offer(
        lid, _user("buyer_a"), amount_fen=2_900_000, household_uid=buyers["member"]
    )
    day = listings._listing(lid).cooling_off_ends_on
    offers.accept_offer(lid, offer.id, _user("farmer_a"), today=day)
    assert _kinds("admin_a")[-1] == "market.waiting"  # the collective's consent
    approvals.collective_consent(lid, _user("admin_a"), approve=True)
    assert _kinds("bureau") == ["market.waiting"]
    assert "the county bureau's review" in _texts("bureau")[0]
    for party in ("farmer_a", "buyer_a", "wife_a"):
        assert _kinds(party)[-1] == "market.approved"
    assert "Next: the county bureau's review." in _texts("buyer_a")[0]


def test_a_rejection_tells_seller_and_buyer_with_the_reason(family, buyers):
    _give_phone(buyers["member_head"], "13700137000")
    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, _user("admin_a"), approve=False, reason="价格不合理")
    assert _kinds("farmer_a")[-1] == "market.rejected"
    assert _kinds("buyer_a")[-1] == "market.rejected"
    assert _texts("buyer_a")[0].endswith("was rejected: 价格不合理")
    assert "13700137000" in [m.phone for m in db.session.scalars(select(OutboxMessage))]


def test_a_withdrawal_tells_those_who_offered(family, buyers):
    lid = walk.published(family)
    offers.make_offer(lid, _user("buyer_a"), amount_fen=2_900_000, household_uid=buyers["member"])
    listings.withdraw(lid, _user("farmer_a"))
    assert _kinds("buyer_a")[-1] == "market.withdrawn"
    assert "market.withdrawn" not in _kinds("farmer_a")  # nobody is told of their own step


def test_remind_deadlines_twice_sends_one_reminder(family, buyers):
    lid = walk.published(family)
    offers.make_offer(lid, _user("buyer_a"), amount_fen=2_900_000, household_uid=buyers["member"])
    listing = listings._listing(lid)
    day = listing.notice_ends_on - timedelta(days=1)
    assert alerts.remind_deadlines(day, days=2) == 1
    assert alerts.remind_deadlines(day, days=2) == 0
    assert alerts.remind_deadlines(day + timedelta(days=1), days=2) == 0
    assert _kinds("farmer_a").count("market.notice_ends") == 1
    text = _texts("farmer_a")[0]
    assert f"close on {listing.notice_ends_on.isoformat()}" in text

    # The end of the cooling-off period is a deadline of its own, reminded once too.
    cooling = listing.cooling_off_ends_on
    assert alerts.remind_deadlines(cooling, days=0) == 1
    assert alerts.remind_deadlines(cooling, days=0) == 0
    assert _kinds("farmer_a").count("market.cooling_off_ends") == 1
