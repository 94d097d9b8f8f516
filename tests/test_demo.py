"""The demo county: built through the services, audited; every demo login lands somewhere useful."""

from __future__ import annotations

import pytest

from app.audit import services as audit_services
from app.demo.seed import PASSWORD, USERS
from app.extensions import db
from tests.conftest import demo_county_app

LANDING_TEXT = {
    "farmer": "李建华",
    "member": "刘志明",
    "village_admin": "东湖坪村第二村民小组",
    "yaocun_admin": "瑶村村股份经济合作社",
    "bureau": "太平镇",
    "hukou": "落户登记",
    "auditor": "审计日志",
    "itadmin": "village_admin",
}


@pytest.fixture(scope="module")
def fresh_demo(demo_template, tmp_path_factory):
    """A copy of the database `flask demo seed` built on a new database, as `./dev.sh serve`
    seeds it on first start, and what the seed printed."""
    with demo_county_app(demo_template, tmp_path_factory) as application:
        yield application, demo_template.output


def test_demo_seed_builds_the_county_and_prints_the_logins(fresh_demo):
    application, output = fresh_demo  # the seed's exit code is checked where it ran
    assert "Demo county built" in output
    for username, *_ in USERS:
        assert username in output
    again = application.test_cli_runner().invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "already there" in again.output
    with application.app_context():
        count, problem = audit_services.verify_database()
    assert problem is None and count > 1000


@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_each_demo_login_lands_on_a_page_for_its_role(fresh_demo, username):
    application, _ = fresh_demo
    client = application.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert LANDING_TEXT[username] in page.get_data(as_text=True)


def test_r08_demo_has_an_inherited_second_homestead_registered_with_its_note(fresh_demo):
    import sqlalchemy as sa

    from app.registry.models import Homestead

    application, _ = fresh_demo
    with application.app_context():
        inherited = db.session.scalars(
            sa.select(Homestead).where(
                Homestead.acquired_by == "inheritance", Homestead.end_lifespan.is_(None)
            )
        ).all()
        assert len(inherited) == 1
        (h,) = inherited
        assert h.registration == "existing" and "继承" in h.note and "原权利人" in h.note
        held = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Homestead)
            .where(Homestead.household_uid == h.household_uid, Homestead.end_lifespan.is_(None))
        )
        assert held == 2  # beside the household's own
        db.session.remove()
    client = application.test_client()
    client.post("/login", data={"username": "farmer", "password": PASSWORD})
    page = client.get(f"/homesteads/{h.uid}")
    assert page.status_code == 200 and "附记" in page.get_data(as_text=True)


def test_demo_bureau_has_a_move_to_countersign(fresh_demo):
    """Issue 10: the demo's plot moves went through request (village admin) and countersign
    (bureau); one still waits on the bureau's 待会签 list."""
    application, _ = fresh_demo
    client = application.test_client()
    client.post("/login", data={"username": "bureau", "password": PASSWORD})
    page = client.get("/moves").get_data(as_text=True)
    assert "县人民法院民事判决书" not in page  # the list shows the right, not the free text
    assert "法院判决或仲裁裁决" in page and "等待会签" in page
    applied = client.get("/moves?state=applied").get_data(as_text=True)
    assert "登记错误更正" in applied and "已会签并生效" in applied


def test_the_demo_county_has_legal_dates(fresh_demo):
    """Contracts in effect from the second-round term (certified in 2019), homesteads from their
    approval, memberships from birth, although everything was entered today."""
    from datetime import date

    from sqlalchemy import select

    from app.registry import history
    from app.registry.models import Homestead, LandContract, Membership

    application, _ = fresh_demo
    with application.app_context():
        contract = db.session.scalar(
            select(LandContract)
            .where(LandContract.status == "confirmed", LandContract.end_lifespan.is_(None))
            .limit(1)
        )
        hit = history.as_of(LandContract, contract.uid, date(2020, 1, 1))
        # (its area then may differ from today's: the demo moved a plot between households)
        assert hit is not None and hit.valid_from <= date(2020, 1, 1) and hit.contract_area_m2 > 0
        homestead = db.session.scalar(select(Homestead).limit(1))
        assert homestead.valid_from == homestead.approved_on < date(2020, 1, 1)
        member = db.session.scalar(select(Membership).where(Membership.basis == "birth").limit(1))
        assert member.valid_from == member.since


def test_r12_demo_has_a_deceased_member_and_a_settled_farmer_with_all_three_rights(fresh_demo):
    from sqlalchemy import select

    from app.registry import people
    from app.registry.models import Person, SourceDocument

    application, _ = fresh_demo
    with application.app_context():
        dead = db.session.scalar(
            select(Person).where(Person.died_on.is_not(None), Person.end_lifespan.is_(None))
        )
        assert dead is not None and dead.died_on.isoformat() == "2023-11-02"
        assert db.session.get(SourceDocument, dead.source_document_id).kind == "death_record"
        settled = db.session.scalar(
            select(Person).where(Person.hukou_type == "urban", Person.hukou_origin.is_not(None))
        )
        row = people.resident_row(settled.uid)
        assert row.relation == people.HEAD
        rights = people.household_rights(row.household_uid)
        assert rights.contract is not None and rights.homestead is not None and rights.shares
        assert people.hukou_label(settled) == "居民户口（城镇）"
        db.session.remove()


def test_demo_marketplace_has_listings_at_the_steps_users_need(fresh_demo):
    """Open for offers, in the bureau's review, completed (registered, with its attestation
    number), withdrawn, and a paid exit decided by a resolution; the audit chain verifies."""
    from sqlalchemy import select

    from app.market.models import Deal, Listing

    application, _result = fresh_demo
    with application.app_context():
        states = set(db.session.scalars(select(Listing.state)))
        assert {"published", "bureau_review", "completed", "withdrawn"} <= states
        registered = db.session.scalar(select(Deal).where(Deal.registered_on.is_not(None)))
        assert registered.attestation_number.startswith("JZ440222")
        _count, problem = audit_services.verify_database()
        assert problem is None


def test_r14_demo_settlements_flag_the_deals_of_recently_settled_sellers(fresh_demo):
    """The hukou walk-through: settled persons are recorded, the first one's rights-retained
    statement is printed and checks as valid on the public page; the bureau's queue holds a
    flagged share transfer, and the registered plot transfer carries the reviewer's decision."""
    from sqlalchemy import select

    from app.market import approvals
    from app.market.models import Deal, Listing, Step
    from app.registry.models import RightsStatement
    from app.settlement.models import SettlementRecord

    application, _ = fresh_demo
    with application.app_context():
        assert db.session.query(SettlementRecord).count() == 7
        code = db.session.scalar(select(RightsStatement.code))
        in_review = db.session.scalar(select(Listing).where(Listing.state == "bureau_review"))
        deal = db.session.scalar(select(Deal).where(Deal.listing_id == in_review.id))
        flags = approvals.flags_of(in_review, deal)
        registered = db.session.scalar(select(Listing).where(Listing.state == "completed"))
        review = db.session.scalar(
            select(Step).where(
                Step.listing_id == registered.id, Step.actor_role == "bureau_reviewer"
            )
        )
        db.session.remove()
    assert len(flags) == 1 and "180" in flags[0]
    assert "已当面询问转让方本人" in review.reason
    page = application.test_client().get(f"/verify/{code}")
    assert page.status_code == 200 and "有效" in page.get_data(as_text=True)


def test_r05_demo_has_leases_to_a_member_an_outside_cooperative_and_a_company_under_review(
    fresh_demo,
):
    from sqlalchemy import select

    from app.core.calendar import county_today
    from app.leases import services as leases
    from app.leases.models import Lease
    from app.registry import encumbrances

    application, _ = fresh_demo
    with application.app_context():
        rows = list(db.session.scalars(select(Lease).order_by(Lease.id)))
        kinds = {row.lessee_kind for row in rows}
        assert {"member_household", "cooperative", "company"} <= kinds
        member = next(r for r in rows if r.lessee_kind == "member_household")
        assert member.state == "in_force" and member.registered_on is not None
        # the first year's rent paid, the second year's instalment in arrears
        assert len(leases.payments_of(member.id)) == 1
        assert leases.arrears(member, county_today()) == member.rent_fen_per_year
        coop = next(r for r in rows if r.lessee_kind == "cooperative")
        assert coop.state == "in_force" and coop.priority_evidence
        assert encumbrances.lease_encumbrances(coop.number)
        waiting = [r for r in rows if r.state == "awaiting_qualification"]
        assert len(waiting) == 1 and waiting[0].lessee_kind == "company"
        threshold = application.config["LEASE_QUALIFICATION_MU"]
        assert leases.leased_area_mu(waiting[0].lessee_uscc) > threshold
    client = application.test_client()
    client.post("/login", data={"username": "bureau", "password": PASSWORD})
    assert "韶关绿源农业发展有限公司" in client.get("/leases/reviews").get_data(as_text=True)
