"""The demo county: built through the services, audited; every demo login lands somewhere useful."""

from __future__ import annotations

import pytest

from app.audit import services as audit_services
from app.demo.seed import PASSWORD, USERS
from app.extensions import db
from tests.conftest import app_for, make_database

LANDING_TEXT = {
    "farmer": "李建华",
    "village_admin": "东湖坪村第二村民小组",
    "yaocun_admin": "瑶村村股份经济合作社",
    "bureau": "太平镇",
    "hukou": "落户登记",
    "auditor": "审计日志",
    "itadmin": "village_admin",
}


@pytest.fixture(scope="module")
def fresh_demo(tmp_path_factory):
    """A new database seeded the way `./dev.sh serve` seeds it on first start."""
    from flask_migrate import upgrade

    url, drop = make_database(tmp_path_factory)
    application = app_for(url)
    with application.app_context():
        upgrade()
    result = application.test_cli_runner().invoke(args=["demo", "seed"])
    yield application, result
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_demo_seed_builds_the_county_and_prints_the_logins(fresh_demo):
    application, result = fresh_demo
    assert result.exit_code == 0, result.output
    assert "Demo county built" in result.output
    for username, *_ in USERS:
        assert username in result.output
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
        assert hit is not None and hit.contract_area_m2 == contract.contract_area_m2 > 0
        homestead = db.session.scalar(select(Homestead).limit(1))
        assert homestead.valid_from == homestead.approved_on < date(2020, 1, 1)
        member = db.session.scalar(select(Membership).where(Membership.basis == "birth").limit(1))
        assert member.valid_from == member.since
        db.session.remove()
