"""Open bidding, ending without a buyer and staff rejection on the marketplace's pages (issue 12).

A farmer lists a right for bidding (deadline in the county's time, the least step, the deposit);
members bid through the pages and see the highest amount, never who bid; after the deadline
staff close the bidding and the highest bid's household is the buyer; a listing nobody bought
ends through its page; staff reject with a written reason and the right is free again; another
collective's administrator gets a 404 on every new page.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.audit import trail
from app.auth.services import create_user
from app.core.calendar import county_timezone
from app.core.models import utcnow
from app.extensions import db
from app.market.models import Deal, Listing, Offer
from app.registry.history import county_today
from tests.conftest import PASSWORD
from tests.factories import people as pf
from tests.factories.people import link_farmer
from tests.market import walk
from tests.market.test_pages import _field_error_after, text

ASKING = 3_000_000  # 30 000 yuan: the reserve
STEP = 10_000  # 100 yuan
DEPOSIT = 50_000  # 500 yuan


def _listing(lid: int) -> Listing:
    db.session.expire_all()
    return db.session.get(Listing, lid)


def _between(page: str, start: str, end: str) -> str:
    """The part of the page after ``start`` up to ``end`` (empty if ``start`` is not there)."""
    at = page.find(start)
    return "" if at < 0 else page[at:].split(end)[0]


def _states(part: str) -> list[tuple[str, str]]:
    """(state, deposit) of each bid shown, as the page marks them beside their words."""
    return re.findall(r'data-state="([^"]*)" data-deposit="([^"]*)"', part)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _local(days: int) -> datetime:
    """A moment ``days`` from now on the county's clock (naive, as typed), whole minutes."""
    return (datetime.now(county_timezone()) + timedelta(days=days)).replace(
        second=0, microsecond=0, tzinfo=None
    )


def _typed(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _bidding(family: dict, **kw) -> int:
    args = {
        "method": "bidding",
        "bid_deadline": utcnow() + timedelta(days=16),  # after the cooling-off and the notice
        "bid_step_fen": STEP,
        "deposit_fen": DEPOSIT,
    }
    args.update(kw)
    return walk.published(family, **args)


def _deadline_passed(lid: int) -> None:
    """The county's clock cannot be moved for the page, so the test moves the listing instead:
    its stored deadline and the end of its cooling-off into the past, through the ORM."""
    listing = _listing(lid)
    with _test_setup():
        listing.bid_deadline = utcnow() - timedelta(minutes=1)
        listing.cooling_off_ends_on = county_today()
        db.session.flush()


def _test_setup():
    """The test's own ORM writes are audited as the test's setup."""
    return trail.acting(trail.AuditContext(actor="test-setup", role="system"))


@pytest.fixture
def bidders(ctx, baseline, buyers):
    """buyer_a bids for 赵大's household; buyer_b, a second member account, for 钱二's."""
    head, qian = pf.household(baseline.collective_a, "钱二")
    create_user("buyer_b", PASSWORD, "farmer", collective_ids=[baseline.collective_a])
    link_farmer("buyer_b", head.uid)
    return {"zhao": buyers["member"], "qian": qian.uid}


def _new(client, family: dict, **fields) -> object:
    data = {
        "right": f"land_contract:{family['contract']}",
        "deal_kind": "transfer",
        "method": "bidding",
        "price": "30000",
        "bid_deadline": _typed(_local(17)),
        "bid_step": "100",
        "deposit": "500",
    }
    data.update(fields)
    return client.post("/market/new", data=data)


# --- listing for bidding


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bid_deadline", "tomorrow"),  # not a day and time
        ("bid_deadline", "0001-01-01T00:00"),  # no real deadline (before UTC's year 1)
        ("bid_deadline", None),  # too soon: the notice period must run first (typed below)
        ("bid_deadline", ""),  # none given
        ("bid_step", "abc"),
        ("bid_step", "0"),
        ("bid_step", ""),
        ("deposit", "-5"),
    ],
)
def test_a_bad_bidding_deadline_or_step_is_refused_beside_the_field(
    client, auth, family, field, value
):
    auth.login("farmer_a")
    if value is None:
        value = _typed(_local(1))
    r = _new(client, family, **{field: value})
    assert r.status_code == 422
    assert _field_error_after(text(r), field)
    assert _count(Listing) == 0


def test_a_farmer_lists_a_right_for_bidding_with_the_deadline_in_county_time(client, auth, family):
    auth.login("farmer_a")
    page = text(client.get("/market/new"))
    for name in ("bid_deadline", "bid_step", "deposit"):
        assert f'name="{name}"' in page
    typed = _local(17)
    r = _new(client, family, bid_deadline=_typed(typed), bid_step="150.50", deposit="800")
    assert r.status_code == 302
    listing = db.session.scalar(select(Listing))
    assert (listing.method, listing.asking_price_fen) == ("bidding", ASKING)
    assert (listing.bid_step_fen, listing.deposit_fen) == (15_050, 80_000)
    # Typed on the county's clock (Beijing, UTC+8), kept as naive UTC.
    assert listing.bid_deadline == typed - timedelta(hours=8)
    page = text(client.get(f"/market/{listing.id}"))
    assert typed.strftime("%Y-%m-%d %H:%M") in page  # shown again on the county's clock
    assert "150.50" in page and "800.00" in page and "30,000.00" in page


def test_a_bidding_without_a_deposit_leaves_it_empty(client, auth, family):
    auth.login("farmer_a")
    r = _new(client, family, deposit="")
    assert r.status_code == 302
    assert db.session.scalar(select(Listing.deposit_fen)) is None


# --- bidding through the pages


def test_r15_two_members_bid_and_after_the_deadline_the_highest_bid_buys(
    client, auth, family, bidders
):
    lid = _bidding(family)
    auth.login("buyer_a")
    page = text(client.get(f"/market/{lid}"))
    assert "30,000.00" in page and "100.00" in page and "500.00" in page  # reserve, step, deposit
    assert f"/market/{lid}/offer" in page
    bid_page = text(client.get(f"/market/{lid}/offer"))
    assert 'name="deposit_reference"' in bid_page

    # Below the reserve: refused beside the amount, nothing written.
    r = client.post(
        f"/market/{lid}/offer",
        data={"household": str(bidders["zhao"]), "amount": "29000", "deposit_reference": "B-Z"},
    )
    assert r.status_code == 422
    assert _field_error_after(text(r), "amount")
    # The deposit's payment reference is required.
    r = client.post(
        f"/market/{lid}/offer", data={"household": str(bidders["zhao"]), "amount": "30000"}
    )
    assert r.status_code == 422
    assert _field_error_after(text(r), "deposit_reference")
    assert _count(Offer) == 0
    r = client.post(
        f"/market/{lid}/offer",
        data={"household": str(bidders["zhao"]), "amount": "30000", "deposit_reference": "B-Z"},
    )
    assert r.status_code == 302

    # The second member sees the highest amount and the number of bids, never who bid.
    auth.logout()
    auth.login("buyer_b")
    page = text(client.get(f"/market/{lid}"))
    assert "30,000.00" in _between(page, 'id="highest-bid"', "</dd>")
    assert 'id="bid-count">1</dd>' in page
    assert "赵大" not in page and "B-Z" not in page
    r = client.post(
        f"/market/{lid}/offer",
        data={"household": str(bidders["qian"]), "amount": "30050", "deposit_reference": "B-Q"},
    )
    assert r.status_code == 422  # less than the highest plus the step
    assert _field_error_after(text(r), "amount")
    r = client.post(
        f"/market/{lid}/offer",
        data={"household": str(bidders["qian"]), "amount": "30100", "deposit_reference": "B-Q"},
    )
    assert r.status_code == 302

    # 赵大's household raises its bid: the deposit already paid moves to the new bid.
    auth.logout()
    auth.login("buyer_a")
    r = client.post(
        f"/market/{lid}/offer", data={"household": str(bidders["zhao"]), "amount": "30200"}
    )
    assert r.status_code == 302
    page = text(client.get(f"/market/{lid}"))
    mine = _between(page, 'id="offers"', "</section>")
    assert "30,000.00" in mine and "30,200.00" in mine and "30,100.00" not in mine
    assert _states(mine) == [("superseded", "moved"), ("active", "held")]

    # Staff cannot close before the deadline.
    auth.logout()
    auth.login("admin_a")
    assert f"/market/{lid}/close" not in text(client.get(f"/market/{lid}"))
    r = client.post(f"/market/{lid}/close", data={})
    assert r.status_code == 422
    assert _listing(lid).state == "published"

    _deadline_passed(lid)
    page = text(client.get(f"/market/{lid}"))
    assert f"/market/{lid}/close" in page
    assert client.get(f"/market/{lid}/close").status_code == 200
    r = client.post(f"/market/{lid}/close", data={})
    assert r.status_code == 302
    assert _listing(lid).state == "collective_consent"
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    assert (deal.buyer_household_uid, deal.price_fen) == (bidders["zhao"], 3_020_000)
    page = text(client.get(f"/market/{lid}"))
    buyer = _between(page, 'id="deal"', "</dl>")
    assert "赵大" in buyer and "30,200.00" in buyer

    # The holder reads the buyer; the outbid member reads that their deposit is to be refunded.
    auth.logout()
    auth.login("farmer_a")
    assert "赵大" in _between(text(client.get(f"/market/{lid}")), 'id="deal"', "</dl>")
    auth.logout()
    auth.login("buyer_b")
    mine = _between(text(client.get(f"/market/{lid}")), 'id="offers"', "</section>")
    assert _states(mine) == [("lost", "refund")]
    assert "赵大" not in mine


def test_a_member_cannot_bid_after_the_deadline(client, auth, family, bidders):
    lid = _bidding(family, deposit_fen=None)
    _deadline_passed(lid)
    auth.login("buyer_a")
    assert f"/market/{lid}/offer" not in text(client.get(f"/market/{lid}"))
    r = client.post(
        f"/market/{lid}/offer", data={"household": str(bidders["zhao"]), "amount": "40000"}
    )
    assert r.status_code == 422
    assert _count(Offer) == 0


# --- ending without a buyer


def test_a_bidding_without_a_bid_ends_without_a_buyer_when_staff_close_it(client, auth, family):
    lid = _bidding(family)
    _deadline_passed(lid)
    auth.login("admin_a")
    r = client.post(f"/market/{lid}/close", data={})
    assert r.status_code == 302
    assert _listing(lid).state == "lapsed"
    assert _count(Deal) == 0


def test_a_listing_nobody_bought_ends_through_its_page_and_the_right_is_free(client, auth, family):
    lid = walk.published(family)
    auth.login("admin_a")
    assert f"/market/{lid}/lapse" not in text(client.get(f"/market/{lid}"))
    r = client.post(f"/market/{lid}/lapse", data={})
    assert r.status_code == 422  # offers may still be made
    assert _listing(lid).state == "published"

    # The notice period cannot be waited out in a test: its end is moved into the past (ORM).
    listing = _listing(lid)
    with _test_setup():
        listing.notice_ends_on = county_today() - timedelta(days=1)
        db.session.flush()
    assert f"/market/{lid}/lapse" in text(client.get(f"/market/{lid}"))
    assert client.get(f"/market/{lid}/lapse").status_code == 200
    r = client.post(f"/market/{lid}/lapse", data={})
    assert r.status_code == 302
    assert _listing(lid).state == "lapsed"

    auth.logout()
    auth.login("farmer_a")
    r = client.post(
        "/market/new",
        data={
            "right": f"land_contract:{family['contract']}",
            "deal_kind": "transfer",
            "method": "negotiated",
            "price": "28000",
        },
    )
    assert r.status_code == 302  # the right is free: a new listing of it is accepted


# --- staff reject with a written reason


@pytest.mark.parametrize("step", ["ready", "published", "contracting"])
def test_staff_reject_with_a_written_reason_and_the_right_is_free(
    client, auth, family, buyers, step
):
    lid = walk.approved(family, buyers) if step == "contracting" else getattr(walk, step)(family)
    assert _listing(lid).state == step
    auth.login("admin_a")
    assert f"/market/{lid}/reject" in text(client.get(f"/market/{lid}"))
    assert client.get(f"/market/{lid}/reject").status_code == 200
    r = client.post(f"/market/{lid}/reject", data={"reason": ""})
    assert r.status_code == 422
    assert _field_error_after(text(r), "reason")
    assert _listing(lid).state == step

    r = client.post(f"/market/{lid}/reject", data={"reason": "承包地权属有争议，待调解"})
    assert r.status_code == 302
    assert _listing(lid).state == "rejected"

    auth.logout()
    auth.login("farmer_a")
    page = text(client.get(f"/market/{lid}"))
    assert "承包地权属有争议，待调解" in page  # the holder reads why
    r = client.post(
        "/market/new",
        data={
            "right": f"land_contract:{family['contract']}",
            "deal_kind": "transfer",
            "method": "negotiated",
            "price": "28000",
        },
    )
    assert r.status_code == 302


def test_a_draft_cannot_be_rejected_by_staff(client, auth, family):
    lid = walk.draft(family)
    auth.login("admin_a")
    assert f"/market/{lid}/reject" not in text(client.get(f"/market/{lid}"))
    r = client.post(f"/market/{lid}/reject", data={"reason": "不合规"})
    assert r.status_code == 422
    assert _listing(lid).state == "draft"


# --- who may


NEW_PAGES = ["/reject", "/close", "/lapse"]


@pytest.mark.authz
def test_another_collectives_admin_gets_404_on_the_bidding_and_rejection_pages(
    client, auth, family, bidders
):
    lid = _bidding(family)
    _deadline_passed(lid)
    auth.login("admin_b")
    for suffix in [*NEW_PAGES, "/offer", ""]:
        assert client.get(f"/market/{lid}{suffix}").status_code == 404, suffix
    for suffix in [*NEW_PAGES, "/offer"]:
        r = client.post(f"/market/{lid}{suffix}", data={"reason": "x", "amount": "50000"})
        assert r.status_code == 404, suffix
    assert _listing(lid).state == "published"


@pytest.mark.authz
def test_members_and_the_holder_take_no_staff_step(client, auth, family, bidders):
    lid = _bidding(family)
    _deadline_passed(lid)
    for username in ("buyer_a", "farmer_a"):
        auth.login(username)
        for suffix in NEW_PAGES:
            assert client.get(f"/market/{lid}{suffix}").status_code in (403, 404), suffix
            r = client.post(f"/market/{lid}{suffix}", data={"reason": "x"})
            assert r.status_code in (403, 404), suffix
        auth.logout()
    assert _listing(lid).state == "published"
