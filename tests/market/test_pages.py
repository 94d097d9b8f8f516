"""The marketplace's pages for every role, through the test client (issue 12 §10).

A farmer lists, declares and withdraws on the pages; another member offers; the holder accepts
after the cooling-off; staff and the bureau take their steps; another collective's administrator
gets a 404 on every page of the listing; prices are typed in yuan and kept in exact fen.
Assertions read what a user notices: the page's status, the data it shows, what was written.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.market import approvals, listings
from app.market.forms import fen_to_yuan, yuan_to_fen
from app.market.models import Deal, Listing, Offer
from app.registry import history
from app.registry.history import county_today
from tests.market import walk

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates" / "market"


def text(r) -> str:
    return r.get_data(as_text=True)


def _listing(lid: int) -> Listing:
    db.session.expire_all()
    return db.session.get(Listing, lid)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _field_error_after(page: str, name: str) -> bool:
    """Whether a field error is shown after the input named ``name``, before the next field."""
    at = page.find(f'name="{name}"')
    if at < 0:
        return False
    rest = page[at:]
    window = rest
    for other in re.finditer(r'name="([^"]+)"', rest):
        if other.group(1) != name:
            window = rest[: other.start()]
            break
    return 'class="field-error"' in window


# --- the farmer's own path: list, declare, withdraw


def test_r13_a_farmer_lists_declares_and_withdraws_through_the_pages(client, auth, family):
    auth.login("farmer_a")
    r = client.get("/market/new")
    assert r.status_code == 200
    assert f'value="land_contract:{family["contract"]}"' in text(r)

    r = client.post(
        "/market/new",
        data={
            "right": f"land_contract:{family['contract']}",
            "deal_kind": "transfer",
            "method": "negotiated",
            "price": "30000.50",
            "description": "水田两亩",
        },
    )
    assert r.status_code == 302
    lid = db.session.scalar(select(Listing.id).where(Listing.right_uid == family["contract"]))
    assert r.headers["Location"].endswith(f"/market/{lid}/declare")
    listing = _listing(lid)
    assert (listing.state, listing.asking_price_fen) == ("draft", 3_000_050)
    assert listing.created_by == "farmer_a"

    # The declaration page shows the statement; without the tick nothing is declared.
    page = text(client.get(f"/market/{lid}/declare"))
    for line in listings.statement(listing).split("\n"):
        assert line in page
    r = client.post(f"/market/{lid}/declare", data={})
    assert r.status_code == 422
    assert _field_error_after(text(r), "free")
    assert _listing(lid).state == "draft"

    r = client.post(f"/market/{lid}/declare", data={"free": "y"})
    assert r.status_code == 302
    listing = _listing(lid)
    assert listing.state == "awaiting_consent"
    page = text(client.get(f"/market/{lid}"))
    assert listing.cooling_off_ends_on.isoformat() in page  # until when no offer is accepted
    assert "李大山" in page and "王秀英" in page  # who declared, whose consent is awaited

    # My listings shows it; the withdrawal asks for no reason and frees the right at once.
    assert f"/market/{lid}" in text(client.get("/market/mine"))
    page = text(client.get(f"/market/{lid}/withdraw"))
    assert 'name="reason"' not in page
    r = client.post(f"/market/{lid}/withdraw", data={})
    assert r.status_code == 302 and r.headers["Location"].endswith("/market/mine")
    assert _listing(lid).state == "withdrawn"
    steps = text(client.get(f"/market/{lid}")).split('class="mk-steps"')[1].split("</ol>")[0]
    assert steps.count("<li>") == 2  # declared, then withdrawn: each step with who and when
    r = client.post(
        "/market/new",
        data={
            "right": f"land_contract:{family['contract']}",
            "deal_kind": "transfer",
            "method": "negotiated",
            "price": "28000",
        },
    )
    assert r.status_code == 302  # the right is free again: a new listing of it is accepted


def test_r13_a_co_holder_gives_consent_on_her_own_page(client, auth, family, baseline):
    """The wife, with her own farmer account, consents logged in as herself."""
    from app.auth.services import create_user
    from tests.conftest import PASSWORD
    from tests.factories.people import link_farmer

    lid = walk.draft(family)
    listings.declare(lid, walk.user("farmer_a"))
    create_user("wife_a", PASSWORD, "farmer", collective_ids=[baseline.collective_a])
    link_farmer("wife_a", family["wife"])
    db.session.flush()
    auth.login("wife_a")
    page = text(client.get("/market/mine"))
    assert f"/market/{lid}" in page  # waiting for her
    page = text(client.get(f"/market/{lid}"))
    assert f"/market/{lid}/consent" in page
    r = client.post(
        f"/market/{lid}/consent", data={"person": str(family["wife"]), "decision": "give"}
    )
    assert r.status_code == 302
    assert _listing(lid).state == "ready"
    wife = {c.person_uid: c for c in listings.consents_of(lid)}[family["wife"]]
    assert (wife.decision, wife.mode) == ("given", "self")


# --- members offer, the holder accepts after the cooling-off


def test_r15_a_member_offers_and_the_holder_accepts_after_the_cooling_off(
    client, auth, family, buyers, monkeypatch
):
    lid = walk.published(family)
    auth.login("buyer_a")
    page = text(client.get("/market/"))
    assert f"/market/{lid}" in page  # the collective's published listing, for its members
    assert f"/market/{lid}/offer" in text(client.get(f"/market/{lid}"))
    r = client.post(
        f"/market/{lid}/offer",
        data={"household": str(buyers["member"]), "amount": "29,000.00"},
    )
    assert r.status_code == 302
    offer = db.session.scalar(select(Offer).where(Offer.listing_id == lid))
    assert (offer.amount_fen, offer.household_uid) == (2_900_000, buyers["member"])
    page = text(client.get(f"/market/{lid}"))
    assert "29,000.00" in page  # their own offer and its state

    # The holder sees the offer; during the cooling-off there is no accept button, only the date.
    auth.logout()
    auth.login("farmer_a")
    listing = _listing(lid)
    page = text(client.get(f"/market/{lid}"))
    assert "29,000.00" in page and "赵大" in page
    assert listing.cooling_off_ends_on.isoformat() in page
    assert f"/market/{lid}/accept" not in page
    r = client.post(f"/market/{lid}/accept", data={"offer_id": str(offer.id)})
    assert r.status_code == 303  # refused: the cooling-off runs
    assert _listing(lid).state == "published"
    assert _count(Deal) == 0

    # After the cooling-off (the county's clock moved on), the holder accepts.
    monkeypatch.setattr(history, "county_today", lambda: listing.cooling_off_ends_on)
    page = text(client.get(f"/market/{lid}"))
    assert f"/market/{lid}/accept" in page
    r = client.post(f"/market/{lid}/accept", data={"offer_id": str(offer.id)})
    assert r.status_code == 302
    assert _listing(lid).state == "collective_consent"
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    assert deal.price_fen == 2_900_000


def test_a_member_sees_only_their_own_offer(client, auth, family, buyers, baseline):
    from app.market import offers
    from tests.factories import people as pf

    lid = walk.published(family)
    _head, other = pf.household(baseline.collective_a, "孙家")
    offers.make_offer(lid, walk.user("admin_a"), amount_fen=3_333_300, household_uid=other.uid)
    offers.make_offer(
        lid, walk.user("admin_a"), amount_fen=2_100_000, household_uid=buyers["member"]
    )
    db.session.flush()
    auth.login("buyer_a")
    page = text(client.get(f"/market/{lid}"))
    assert "21,000.00" in page
    assert "33,333.00" not in page and "孙家" not in page
    page = text(client.get("/market/"))
    assert "33,333.00" not in page


def test_r03_an_outsiders_offer_recorded_at_the_office_is_refused_beside_the_field(
    client, auth, family, buyers
):
    """Staff cannot even choose another collective's household; the offer is not written."""
    lid = walk.published(family)
    auth.login("admin_a")
    r = client.post(
        f"/market/{lid}/offer", data={"household": str(buyers["outsider"]), "amount": "100"}
    )
    assert r.status_code == 422
    assert _field_error_after(text(r), "household")
    assert _count(Offer) == 0


# --- prices in yuan, exact


def test_prices_are_typed_in_yuan_and_kept_in_exact_fen():
    assert yuan_to_fen("1234.5") == 123_450
    assert yuan_to_fen("0.01") == 1
    assert yuan_to_fen(" ¥25,000.00 ") == 2_500_000
    assert yuan_to_fen("19.99") == 1999  # a float would give 1998.9999…
    assert fen_to_yuan(123_450) == "1,234.50"
    assert fen_to_yuan(5) == "0.05"


@pytest.mark.hostile
@pytest.mark.parametrize("price", ["abc", "-1", "1.234", "1" + "0" * 20, "0", "1e5", "NaN"])
def test_a_bad_price_is_refused_beside_the_field_and_nothing_is_written(
    client, auth, family, price
):
    auth.login("farmer_a")
    before = _count(Listing)
    r = client.post(
        "/market/new",
        data={
            "right": f"land_contract:{family['contract']}",
            "deal_kind": "transfer",
            "method": "negotiated",
            "price": price,
        },
    )
    assert r.status_code == 422
    assert _field_error_after(text(r), "price")
    assert f'value="{price}"' in text(r)  # what was typed stays, to be corrected
    assert _count(Listing) == before


@pytest.mark.hostile
@pytest.mark.parametrize("amount", ["abc", "-1", "1.234", "9" * 30])
def test_a_bad_offer_amount_is_refused_beside_the_field(client, auth, family, buyers, amount):
    lid = walk.published(family)
    auth.login("buyer_a")
    r = client.post(
        f"/market/{lid}/offer", data={"household": str(buyers["member"]), "amount": amount}
    )
    assert r.status_code == 422
    assert _field_error_after(text(r), "amount")
    assert _count(Offer) == 0


# --- staff and the bureau


def test_staff_witness_publish_and_consent_then_the_bureau_reviews(
    client, auth, family, buyers, monkeypatch, baseline
):
    lid = walk.draft(family)
    auth.login("admin_a")
    # A paper staff must choose is among the source documents: the page says so and links there.
    documents = f'href="/collectives/{baseline.collective_a}/documents"'
    page = text(client.get(f"/market/{lid}/witness"))
    assert documents in page and "本人签字的纸质表格从本集体的来源材料中选择" in page
    # The holder's declaration, witnessed, with the signed paper form.
    r = client.post(f"/market/{lid}/witness", data={"person": str(family["head"]), "paper": "0"})
    assert r.status_code == 422 and _field_error_after(text(r), "paper")
    assert _listing(lid).state == "draft"
    r = client.post(
        f"/market/{lid}/witness",
        data={"person": str(family["head"]), "paper": str(family["paper"])},
    )
    assert r.status_code == 302
    r = client.post(
        f"/market/{lid}/witness",
        data={"person": str(family["wife"]), "paper": str(family["paper"]), "decision": "give"},
    )
    assert r.status_code == 302
    assert _listing(lid).state == "ready"
    assert f"/market/{lid}" in text(client.get("/market/queue"))

    page = text(client.get(f"/market/{lid}/publish"))
    assert 'type="submit"' in page
    assert client.post(f"/market/{lid}/publish", data={}).status_code == 302
    assert _listing(lid).state == "published"

    r = client.post(
        f"/market/{lid}/offer", data={"household": str(buyers["member"]), "amount": "29000"}
    )
    assert r.status_code == 302
    offer = db.session.scalar(select(Offer).where(Offer.listing_id == lid))
    auth.logout()
    auth.login("farmer_a")
    monkeypatch.setattr(history, "county_today", lambda: _listing(lid).cooling_off_ends_on)
    r = client.post(f"/market/{lid}/accept", data={"offer_id": str(offer.id)})
    assert r.status_code == 302
    monkeypatch.undo()
    auth.logout()
    auth.login("admin_a")

    # Collective consent: a rejection needs a reason (beside the field).
    r = client.post(f"/market/{lid}/collective-consent", data={"decision": "reject"})
    assert r.status_code == 422 and _field_error_after(text(r), "reason")
    assert _listing(lid).state == "collective_consent"
    r = client.post(f"/market/{lid}/collective-consent", data={"decision": "approve"})
    assert r.status_code == 302
    assert _listing(lid).state == "bureau_review"

    auth.logout()
    auth.login("bureau")
    page = text(client.get("/market/queue"))
    assert f"/market/{lid}" in page
    page = text(client.get(f"/market/{lid}/review"))
    assert "赵大" in page  # the day-of-deal evidence, readable: who was on the roll
    assert "{" not in page.split("<main>")[1].split("</main>")[0]  # no JSON shown
    r = client.post(f"/market/{lid}/review", data={"decision": "approve", "reason": "材料齐全"})
    assert r.status_code == 302
    assert _listing(lid).state == "contracting"

    auth.logout()
    auth.login("admin_a")
    page = text(client.get(f"/market/{lid}/contract"))
    assert documents in page and "已签订的合同从本集体的来源材料中选择" in page
    today = county_today().isoformat()
    r = client.post(
        f"/market/{lid}/contract",
        data={"signed_on": today, "document": str(family["paper"]), "payment_terms": "一次付清"},
    )
    assert r.status_code == 302
    r = client.post(
        f"/market/{lid}/payment",
        data={"how": "escrow", "reference": "BANK-9", "paid_on": today},
    )
    assert r.status_code == 302
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    db.session.refresh(deal)
    assert (deal.payment, deal.payment_reference) == ("escrow", "BANK-9")
    assert f"/market/{lid}/register" in text(client.get(f"/market/{lid}"))

    # Signed: the holder can no longer withdraw (no link, and the service refuses).
    auth.logout()
    auth.login("farmer_a")
    assert f"/market/{lid}/withdraw" not in text(client.get(f"/market/{lid}"))


def test_a_flagged_deal_needs_the_reviewers_decision_and_interview(client, auth, family, buyers):
    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, walk.user("admin_a"), approve=True)
    db.session.flush()

    def flagger(listing, deal):
        return ["声明日期距安置日期不足180天"] if listing.id == lid else []

    approvals.register_flagger(flagger)
    try:
        auth.login("bureau")
        page = text(client.get(f"/market/{lid}/review"))
        assert "声明日期距安置日期不足180天" in page
        assert 'name="interviewed"' in page
        r = client.post(f"/market/{lid}/review", data={"decision": "approve", "reason": "可"})
        assert r.status_code == 422
        assert _field_error_after(text(r), "flag_decision")
        assert _listing(lid).state == "bureau_review"
        r = client.post(
            f"/market/{lid}/review",
            data={
                "decision": "approve",
                "reason": "可",
                "flag_decision": "本人到场确认自愿",
                "interviewed": "yes",
            },
        )
        assert r.status_code == 302
        assert _listing(lid).state == "contracting"
    finally:
        approvals.FLAGGERS.remove(flagger)


def test_the_queue_filters_by_step_and_right(client, auth, family, buyers):
    ready = walk.ready(family)
    auth.login("admin_a")
    assert f"/market/{ready}" in text(client.get("/market/queue?state=ready"))
    assert f"/market/{ready}" not in text(client.get("/market/queue?state=published"))
    assert f"/market/{ready}" not in text(client.get("/market/queue?right_kind=homestead"))
    assert f"/market/{ready}" in text(client.get("/market/queue?state=nonsense"))  # ignored


def test_the_bureau_queue_filters_by_township_and_village(client, auth, family, buyers, baseline):
    from app.divisions.models import Collective, Division

    lid = walk.accepted(family, buyers)
    approvals.collective_consent(lid, walk.user("admin_a"), approve=True)
    db.session.flush()
    village = db.session.get(Collective, baseline.collective_a).village_code
    town = db.session.get(Division, village).parent_code
    other_town = db.session.scalar(
        select(Division.code).where(Division.level == "town", Division.code != town).limit(1)
    )
    auth.login("bureau")
    assert f"/market/{lid}" in text(client.get("/market/queue"))
    assert f"/market/{lid}" in text(client.get(f"/market/queue?township={town}"))
    assert f"/market/{lid}" in text(client.get(f"/market/queue?township={town}&village={village}"))
    assert f"/market/{lid}" not in text(client.get(f"/market/queue?township={other_town}"))
    assert f"/market/{lid}" not in text(client.get("/market/queue?right_kind=share_holding"))


def test_staff_register_the_deal_and_everyone_of_the_collective_reads_the_attestation(
    client, auth, family, buyers
):
    lid = walk.contracted(family, buyers)
    auth.login("admin_a")
    page = text(client.get(f"/market/{lid}/register"))
    assert "29,000.00" in page  # the price, as yuan
    r = client.post(f"/market/{lid}/register", data={})
    assert r.status_code == 302
    assert _listing(lid).state == "completed"
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    db.session.refresh(deal)
    assert deal.registered_on is not None and deal.attestation_number
    assert f"/market/{lid}/attestation" in text(client.get(f"/market/{lid}"))

    # The published result: a member of the collective reads the attestation too.
    auth.logout()
    auth.login("buyer_a")
    page = text(client.get(f"/market/{lid}/attestation"))
    assert deal.attestation_number in page
    assert "29,000.00" in page and "李家" in page and "赵大" in page


def test_the_attestation_of_an_unregistered_deal_is_not_shown(client, auth, family, buyers):
    lid = walk.approved(family, buyers)
    auth.login("admin_a")
    r = client.get(f"/market/{lid}/attestation")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/market/{lid}")


def test_r06_staff_record_a_paid_exits_resolution_in_yuan(client, auth, family, monkeypatch):
    lid = walk.ready(family, deal_kind="paid_exit", method="resolution", asking_price_fen=None)
    monkeypatch.setattr(history, "county_today", lambda: _listing(lid).cooling_off_ends_on)
    auth.login("admin_a")
    assert f"/market/{lid}/exit" in text(client.get(f"/market/{lid}"))
    form = {
        "price": "25000",
        "improvements": "30000",
        "document": str(family["paper"]),
        "votes_for": "30",
        "votes_cast": "40",
        "notice_given_on": "2026-01-05",
    }
    r = client.post(f"/market/{lid}/exit", data=form)
    assert r.status_code == 422  # improvements are part of the price
    assert _field_error_after(text(r), "improvements")
    assert _count(Deal) == 0
    r = client.post(f"/market/{lid}/exit", data={**form, "improvements": "5000.50"})
    assert r.status_code == 302
    assert _listing(lid).state == "collective_consent"
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == lid))
    assert (deal.price_fen, deal.improvements_fen, deal.votes_for) == (2_500_000, 500_050, 30)
    page = text(client.get(f"/market/{lid}"))
    assert "25,000.00" in page and "5,000.50" in page


# --- who sees what


PAGES = [
    "",
    "/declare",
    "/consent",
    "/withdraw",
    "/offer",
    "/witness",
    "/publish",
    "/collective-consent",
    "/township",
    "/contract",
    "/payment",
    "/register",
    "/exit",
    "/review",
    "/attestation",
    "/reject",
    "/close",
    "/lapse",
]
#: The pages that only show (no form to post).
READ_ONLY = {"", "/attestation"}


@pytest.mark.authz
def test_another_collectives_admin_gets_404_on_every_page_of_the_listing(
    client, auth, family, buyers
):
    lid = walk.accepted(family, buyers)
    auth.login("admin_b")
    for suffix in PAGES:
        assert client.get(f"/market/{lid}{suffix}").status_code == 404, suffix
        if suffix not in READ_ONLY:
            assert client.post(f"/market/{lid}{suffix}", data={}).status_code == 404, suffix
    assert client.post(f"/market/{lid}/accept", data={"offer_id": "1"}).status_code == 404
    assert f"/market/{lid}" not in text(client.get("/market/"))
    assert f"/market/{lid}" not in text(client.get("/market/queue"))
    assert _listing(lid).state == "collective_consent"


@pytest.mark.authz
def test_a_neighbours_draft_is_a_404_to_another_farmer(client, auth, family, buyers):
    lid = walk.draft(family)
    auth.login("buyer_a")
    for suffix in PAGES:
        assert client.get(f"/market/{lid}{suffix}").status_code == 404, suffix
    assert f"/market/{lid}" not in text(client.get("/market/"))


@pytest.mark.authz
@pytest.mark.parametrize("username", ["officer", "sysadmin"])
def test_hukou_officers_and_it_admins_do_not_see_the_market(client, auth, family, username):
    lid = walk.published(family)
    auth.login(username)
    for url in ["/market/", "/market/mine", "/market/queue", "/market/new", f"/market/{lid}"]:
        assert client.get(url).status_code == 404, url
    assert "/market/" not in text(client.get("/"))


@pytest.mark.authz
def test_auditors_read_listings_but_take_no_step(client, auth, family, buyers):
    lid = walk.accepted(family, buyers)
    auth.login("auditor")
    page = text(client.get(f"/market/{lid}"))
    assert "29,000.00" in page
    assert 'method="post" action="/market' not in page
    for suffix in sorted(set(PAGES) - READ_ONLY):
        assert client.post(f"/market/{lid}{suffix}", data={}).status_code == 404, suffix
    assert f"/market/{lid}" in text(client.get("/market/"))


@pytest.mark.hostile
def test_csrf_is_enforced_on_the_market_forms(app, client, auth, family):
    lid = walk.draft(family)
    auth.login("farmer_a")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.post(f"/market/{lid}/declare", data={"free": "y"})
        assert r.status_code == 400
        r = client.post(f"/market/{lid}/withdraw", data={})
        assert r.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _listing(lid).state == "draft"


# --- a phone of 390 px


def test_the_farmer_pages_fit_a_390_px_phone(client, auth, family, buyers):
    """Cards, never tables; no fixed widths wider than a phone; touch-sized buttons."""
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        assert "<table" not in source, template.name
        assert "style=" not in source, template.name  # strict CSP: no inline styles
        assert not re.search(r"width\s*=\s*\"?\d{3,}", source), template.name
    css = (TEMPLATES.parents[1] / "static" / "css" / "app.css").read_text(encoding="utf-8")
    market_css = css[css.index("---- Marketplace") :]
    assert "min-height: 44px" in market_css
    widths = [int(w) for w in re.findall(r"(?<![-\w])width:\s*(\d+)px", market_css)]
    assert all(w <= 390 for w in widths), widths

    lid = walk.published(family)
    auth.login("farmer_a")
    for url in [
        "/market/",
        "/market/mine",
        "/market/new",
        f"/market/{lid}",
        f"/market/{lid}/withdraw",
    ]:
        page = text(client.get(url))
        assert "<table" not in page.split("<main>")[1], url
        assert 'name="viewport" content="width=device-width' in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Reports, from inside a 390 px frame, how wide the page is and the smallest button's height.
MEASURE = (
    "<script>var b=[].slice.call(document.querySelectorAll('main button, main a.mk-button'))"
    ".map(function(e){return e.getBoundingClientRect().height});"
    "parent.postMessage(document.documentElement.scrollWidth+':'+window.innerWidth+':'"
    "+(b.length?Math.min.apply(null,b):99),'*')</script>"
)


def _measure_at_390(client, url: str, workdir: Path) -> tuple[int, int, float]:
    """(page width, frame width, smallest button height) of ``url`` in a 390 px wide frame of
    headless Chromium (its window cannot be narrower than 500 px; a frame can)."""
    assert CHROMIUM, "the browser tests need Chromium (chromium on the PATH)"
    html = text(client.get(url))
    css = client.get("/static/css/app.css").get_data()
    (workdir / "app.css").write_bytes(css)
    html = re.sub(r'href="[^"]*/css/app\.css[^"]*"', 'href="app.css"', html)
    (workdir / "page.html").write_text(html.replace("</body>", MEASURE + "</body>"), "utf-8")
    (workdir / "phone.html").write_text(
        '<!doctype html><html><body><iframe src="page.html" width="390" height="844"></iframe>'
        "<script>addEventListener('message',function(e){"
        "document.body.setAttribute('data-m',e.data)})</script></body></html>",
        "utf-8",
    )
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
            f"--user-data-dir={workdir / 'profile'}",
            "--dump-dom",
            (workdir / "phone.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout.decode()
    found = re.search(r'data-m="(\d+):(\d+):([\d.]+)"', out)
    assert found, out[:500]
    return int(found.group(1)), int(found.group(2)), float(found.group(3))


@pytest.mark.browser
def test_the_farmer_pages_have_no_sideways_scrolling_on_a_390_px_phone(
    client, auth, family, buyers, tmp_path
):
    lid = walk.published(family)
    from app.market import offers

    offers.make_offer(
        lid, walk.user("admin_a"), amount_fen=2_900_000, household_uid=buyers["member"]
    )
    db.session.flush()
    pages = {
        "farmer_a": ["/market/mine", "/market/new", f"/market/{lid}", f"/market/{lid}/withdraw"],
        "buyer_a": ["/market/", f"/market/{lid}", f"/market/{lid}/offer"],
    }
    problems = []
    for username, urls in pages.items():
        auth.login(username)
        for url in urls:
            width, frame, button = _measure_at_390(client, url, tmp_path)
            if frame != 390 or width > frame:
                problems.append(f"{username} {url}: {width} px wide in a {frame} px frame")
            if button < 44:
                problems.append(f"{username} {url}: a button {button} px high")
        auth.logout()
    assert not problems, "\n".join(problems)
