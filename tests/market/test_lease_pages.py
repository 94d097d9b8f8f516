"""Leasing through the marketplace's pages (R05): the holder lists plots for lease with the
terms asked, staff record an outsider's offer, the holder chooses it, members see the chosen
terms and one matches them on a phone; another collective's staff get 404s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.calendar import county_today
from app.extensions import db
from app.market import listings, offers
from app.market.lease_terms import Outsider, Terms
from app.market.models import Deal, Listing, Offer
from tests.market import walk
from tests.market.test_pages import _measure_at_390, text

START = county_today() + timedelta(days=40)
END = START.replace(year=START.year + 6)


def _listing(lid: int) -> Listing:
    db.session.expire_all()
    return db.session.get(Listing, lid)


def in_priority(family: dict) -> int:
    lid = walk.published(
        family,
        deal_kind="lease",
        asking_price_fen=None,
        plot_uids=[family["plots"][0]],
        lease_method="lease",
        lease_use="grain",
        lease_starts_on=START,
        lease_ends_on=END,
        rent_fen_per_mu_year=80_000,
        payment_schedule="annual",
    )
    chosen = offers.make_offer(
        lid,
        walk.user("admin_a"),
        amount_fen=90_000,
        terms=Terms(START, END, "grain"),
        outsider=Outsider("company", "始兴绿源农业有限公司", uscc="91440222MA4W8PT07N"),
    )
    offers.accept_offer(
        lid, chosen.id, walk.user("farmer_a"), today=listings._listing(lid).cooling_off_ends_on
    )
    db.session.commit()
    return lid


def test_r05_a_farmer_lists_plots_for_lease_with_the_terms_asked(client, auth, family):
    auth.login("farmer_a")
    page = text(client.get("/market/new"))
    assert 'value="lease"' in page and 'name="rent"' in page
    r = client.post(
        "/market/new",
        data={
            "right": f"land_contract:{family['contract']}",
            "plots": [str(family["plots"][0])],
            "deal_kind": "lease",
            "lease_method": "lease",
            "lease_use": "grain",
            "lease_starts_on": START.isoformat(),
            "lease_ends_on": (END.replace(year=2050)).isoformat(),
            "rent": "800",
            "payment_schedule": "annual",
        },
    )
    assert r.status_code == 422  # past the contract's term (R02): shown, nothing written
    assert 'class="field-error"' in text(r)
    assert db.session.scalar(select(Listing.id)) is None
    r = client.post(
        "/market/new",
        data={
            "right": f"land_contract:{family['contract']}",
            "plots": [str(family["plots"][0])],
            "deal_kind": "lease",
            "lease_method": "lease",
            "lease_use": "grain",
            "lease_starts_on": START.isoformat(),
            "lease_ends_on": END.isoformat(),
            "rent": "800.50",
            "payment_schedule": "annual",
        },
    )
    assert r.status_code == 302, text(r)
    listing = db.session.scalar(select(Listing))
    assert (listing.deal_kind, listing.rent_fen_per_mu_year) == ("lease", 80_050)
    page = text(client.get(f"/market/{listing.id}"))
    assert "800.50" in page and START.isoformat() in page


def test_r05_staff_record_an_outsiders_offer_and_a_member_matches_it_on_the_pages(
    client, auth, family, buyers
):
    lid = walk.published(
        family,
        deal_kind="lease",
        asking_price_fen=None,
        lease_method="lease",
        lease_use="grain",
        lease_starts_on=START,
        lease_ends_on=END,
        rent_fen_per_mu_year=80_000,
        payment_schedule="annual",
    )
    db.session.commit()
    auth.login("admin_a")
    assert "outsider-offer" in text(client.get(f"/market/{lid}"))
    form = {
        "lessee_kind": "company",
        "lessee_name": "始兴绿源农业有限公司",
        "lessee_uscc": "91440222MA4W8PT070",
        "amount": "900",
        "starts_on": START.isoformat(),
        "ends_on": END.isoformat(),
        "use": "grain",
    }
    r = client.post(f"/market/{lid}/outsider-offer", data=form)
    assert r.status_code == 422 and 'class="field-error"' in text(r)  # a wrong check character
    r = client.post(
        f"/market/{lid}/outsider-offer", data={**form, "lessee_uscc": "91440222MA4W8PT07N"}
    )
    assert r.status_code == 302, text(r)
    offer = db.session.scalar(select(Offer).where(Offer.listing_id == lid))
    assert (offer.lessee_kind, offer.amount_fen) == ("company", 90_000)
    auth.logout()

    with_cooling_over = _listing(lid)
    from app.audit import trail

    with trail.acting(trail.AuditContext(actor="test-clock", role="system")):
        with_cooling_over.cooling_off_ends_on = county_today()
        db.session.commit()
    auth.login("farmer_a")
    page = text(client.get(f"/market/{lid}"))
    assert "始兴绿源农业有限公司" in page
    r = client.post(f"/market/{lid}/accept", data={"offer_id": str(offer.id)})
    assert r.status_code == 302
    assert _listing(lid).state == "members_priority"
    auth.logout()

    auth.login("buyer_a")
    page = text(client.get(f"/market/{lid}"))
    assert 'id="priority"' in page and f"/market/{lid}/match" in page
    assert "91440222MA4W8PT07N" not in page
    low = {
        "household": str(buyers["member"]),
        "amount": "899.99",
        "starts_on": START.isoformat(),
        "ends_on": END.isoformat(),
        "use": "grain",
    }
    r = client.post(f"/market/{lid}/match", data=low)
    assert r.status_code == 422 and "900.00" in text(r)
    assert _listing(lid).state == "members_priority"
    r = client.post(f"/market/{lid}/match", data={**low, "amount": "900"})
    assert r.status_code == 302, text(r)
    assert _listing(lid).state == "collective_consent"
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    assert deal.buyer_household_uid == buyers["member"]


def test_another_collectives_admin_gets_404_on_the_lease_pages(client, auth, family, buyers):
    lid = in_priority(family)
    auth.login("admin_b")
    for suffix in ("", "/outsider-offer", "/match", "/confirm-outsider"):
        assert client.get(f"/market/{lid}{suffix}").status_code == 404, suffix
        if suffix:
            assert client.post(f"/market/{lid}{suffix}", data={}).status_code == 404, suffix
    assert _listing(lid).state == "members_priority"


@pytest.mark.browser
def test_the_lease_pages_have_no_sideways_scrolling_on_a_390_px_phone(
    client, auth, family, buyers, tmp_path
):
    lid = in_priority(family)
    problems = []
    for username, urls in {
        "farmer_a": ["/market/new", f"/market/{lid}"],
        "buyer_a": [f"/market/{lid}", f"/market/{lid}/match"],
    }.items():
        auth.login(username)
        for url in urls:
            width, frame, button = _measure_at_390(client, url, tmp_path)
            if frame != 390 or width > frame:
                problems.append(f"{username} {url}: {width} px wide in a {frame} px frame")
            if button < 44:
                problems.append(f"{username} {url}: a button {button} px high")
        auth.logout()
    assert not problems, "\n".join(problems)
