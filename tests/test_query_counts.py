"""The main pages ask the database a fixed number of questions whatever the data size.

Each page is requested once with the small world of the market's tests (李家 with two plots, one
buyer household), its SQL statements counted on the engine (``before_cursor_execute``); then the
world grows several times over (more households with members, contracts, plots and listings at
every step, more members and plots in the page's own household) and the same page must take
exactly as many statements. A count that grows with the data is an N+1 a user would feel on a
real county's collective.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.audit import trail
from app.auth.services import create_user
from app.extensions import db
from app.market import approvals, listings, offers
from app.registry import documents, history, people
from app.registry.models import Household, HouseholdMember
from tests.conftest import PASSWORD
from tests.factories import documents as fx
from tests.factories import land as land_fx
from tests.factories.people import link_farmer
from tests.market import walk

pytestmark = pytest.mark.load


@contextmanager
def counting(app) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine inside the block."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


def statements_for(app, client, url: str) -> tuple[list[str], str]:
    """The statements of one rendering of the page (after a first one), and the page. The
    kept-page store is off here: it is the rendering's cost that must not grow
    (tests/test_page_cache.py counts a kept page's)."""
    client.get(url)  # once to warm whatever is cached per process (not per request)
    seconds = app.config["PAGE_CACHE_SECONDS"]
    app.config["PAGE_CACHE_SECONDS"] = 0
    try:
        with counting(app) as statements:
            r = client.get(url)
    finally:
        app.config["PAGE_CACHE_SECONDS"] = seconds
    assert r.status_code == 200, url
    return statements, r.get_data(as_text=True)


_families = iter(range(1, 10_000))


def grow(family: dict, buyers: dict, *, times: int) -> None:
    """Several times more of everything the main pages show: members and plots in 李家, and
    other households of the collective, each with a contract, plots and a listing."""
    with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
        _grow(family, buyers, times)


def _grow(family: dict, buyers: dict, times: int) -> None:
    household = history.current_of(Household, family["household"])
    collective = household.collective_id
    for i in range(times):
        person = fx.make_holder(household, f"李{i}", relation="20")
        people.admit_member(person.uid, collective, date(2001, 1, 1), "birth", "测试")
    x, y = land_fx.origin(collective)
    for i in range(times):
        land_fx.add(
            collective, land_fx.square(x + 50 * (i + 2), y), contract_uid=family["contract"]
        )
    for _ in range(times):
        _other_family(collective, buyers)
    db.session.commit()  # into the test's outer transaction, which is rolled back


def _other_family(collective: int, buyers: dict) -> None:
    """A household of three with a contract of two plots and two listings: one open for offers,
    one accepted and consented by the collective (waiting for the bureau)."""
    n = next(_families)
    doc = documents.store_document(
        collective, "survey", "测绘成果", f"s{n}.pdf", fx.minimal_pdf(str(n))
    )
    paper = documents.store_document(
        collective, "other", "同意书", f"c{n}.pdf", fx.minimal_pdf(str(n))
    )
    farmer = f"farmer_q{n}"
    create_user(farmer, PASSWORD, "farmer", collective_ids=[collective])
    seller = walk.user(farmer)
    admin = walk.user("admin_a")
    x, y = land_fx.origin(collective)
    listed = []
    for k in range(2):
        household = fx.make_household(collective, f"户{n}-{k}")
        head = fx.make_holder(household, f"甲{n}-{k}", relation="02")
        fx.make_holder(household, f"乙{n}-{k}", relation="10")
        contract = fx.make_contract(collective, doc.id, household=household)
        for p in range(2):
            land_fx.add(
                collective,
                land_fx.square(x + 50 * p, y + 100 * (2 * n + k) + 200),
                contract_uid=contract.uid,
            )
        link_farmer(farmer, head.uid)
        listing = listings.create_listing(
            seller,
            "land_contract",
            contract.uid,
            deal_kind="transfer",
            method="negotiated",
            asking_price_fen=1_000_000 + n,
        )
        listings.declare(listing.id, seller)
        for member in _co_holders(household.uid, head.uid):
            listings.decide_consent(
                listing.id, member, admin, give=True, witnessed_paper_id=paper.id
            )
        listings.publish(listing.id, admin)
        listed.append(listing.id)
    waiting = listed[1]
    offer = offers.make_offer(waiting, admin, amount_fen=900_000, household_uid=buyers["member"])
    day = listings._listing(waiting).cooling_off_ends_on
    offers.accept_offer(waiting, offer.id, seller, today=day)
    approvals.collective_consent(waiting, admin, approve=True)


def _co_holders(household_uid: int, head_uid: int) -> list[int]:
    return [
        uid
        for uid in db.session.scalars(
            select(HouseholdMember.person_uid).where(
                HouseholdMember.household_uid == household_uid,
                HouseholdMember.end_lifespan.is_(None),
            )
        )
        if uid != head_uid
    ]


PAGES = {
    "household": ("admin_a", lambda f: f"/households/{f['household']}"),
    "collective": ("admin_a", lambda f: f"/collectives/{f['collective']}"),
    "my household": ("farmer_a", lambda f: "/my"),
    "marketplace (farmer)": ("farmer_a", lambda f: "/market/"),
    "marketplace (staff)": ("admin_a", lambda f: "/market/"),
    "bureau queue": ("bureau", lambda f: "/market/queue"),
    "collective queue": ("admin_a", lambda f: "/market/queue"),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_main_page_takes_as_many_statements_with_five_times_the_data(
    app, client, auth, family, buyers, page
):
    username, url_of = PAGES[page]
    world = {
        **family,
        "collective": history.current_of(Household, family["household"]).collective_id,
    }
    walk.published(family)
    db.session.commit()
    grow(family, buyers, times=1)
    url = url_of(world)
    auth.login(username)
    small, before = statements_for(app, client, url)
    grow(family, buyers, times=5)
    large, after = statements_for(app, client, url)
    assert len(after) > len(before)  # the page shows more than it did
    assert len(large) == len(small), "\n\n".join(large)


def test_the_household_page_still_links_each_member_its_reader_may_open(
    app, client, auth, family, buyers, baseline
):
    """The links to members' pages, now decided for all members at once, are the ones
    ``link_to`` gives one by one: a member of the collective is linked for its administrator
    and the household's farmer, and for nobody of another collective."""
    from app.registry import links
    from tests.factories import people as pf

    grow(family, buyers, times=2)
    member = pf.member(baseline.collective_a, "陈新")
    with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
        household = history.current_of(Household, family["household"])
        history.create(
            HouseholdMember,
            reason="测试",
            household_uid=household.uid,
            person_uid=member.uid,
            collective_id=household.collective_id,
            relation="20",
            is_co_holder=True,
        )
    db.session.commit()
    uids = list(
        db.session.scalars(
            select(HouseholdMember.person_uid).where(
                HouseholdMember.household_uid == family["household"],
                HouseholdMember.end_lifespan.is_(None),
            )
        )
    )
    for username in ("admin_a", "farmer_a", "bureau", "auditor"):
        auth.login(username)
        url = "/my" if username == "farmer_a" else f"/households/{family['household']}"
        page = client.get(url).get_data(as_text=True)
        with app.test_request_context():
            from flask_login import login_user

            from tests.market.walk import user

            login_user(user(username))
            one_by_one = {uid: links.link_to("registry.person", person_uid=uid) for uid in uids}
            at_once = links.person_links(uids)
        assert at_once == one_by_one, username
        assert f'href="/persons/{member.uid}"' in page, username
        auth.logout()
