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
