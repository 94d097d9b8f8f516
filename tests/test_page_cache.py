"""Kept pages (app/core/page_cache.py): the main pages are reused within a session while the data,
the day and the language are unchanged, and never shown stale, to another session, or with a
message that belonged to an earlier page."""

from __future__ import annotations

import pytest

from app.audit import trail
from app.extensions import db
from app.registry import history
from app.registry.models import Household
from tests.conftest import PASSWORD
from tests.factories import documents as fx
from tests.test_query_counts import counting

pytestmark = pytest.mark.load


def household_url(family) -> str:
    return f"/households/{family['household']}"


def test_a_kept_page_is_served_again_asking_the_database_only_for_the_datas_version(
    app, client, auth, family
):
    auth.login("admin_a")
    url = household_url(family)
    # the first view after logging in, which gives the session its CSRF token, is kept too
    with client.session_transaction() as s:
        assert "csrf_token" not in s
    first = client.get(url)
    with client.session_transaction() as s:
        assert s.get("csrf_token")
    assert first.status_code == 200 and "李大山" in first.get_data(as_text=True)
    with counting(app) as statements:
        again = client.get(url)
    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    asked = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # the trail's head only: the session's identity is kept for that version of the data too
    assert len(asked) == 1 and "audit_entry" in asked[0], "\n\n".join(asked)
    # the response still carries the strict headers and is not kept by the browser
    assert "default-src" in again.headers["Content-Security-Policy"]
    assert again.headers["Cache-Control"] == "no-store"


def test_a_write_shows_on_the_next_view_of_a_kept_page(app, client, auth, family):
    auth.login("admin_a")
    url = household_url(family)
    assert "周小红" not in client.get(url).get_data(as_text=True)
    household = history.current_of(Household, family["household"])
    with trail.acting(trail.AuditContext(actor="tester", role="collective_admin")):
        fx.make_holder(household, "周小红", relation="20")
    db.session.commit()
    assert "周小红" in client.get(url).get_data(as_text=True)


@pytest.mark.authz
def test_a_page_kept_for_one_session_is_never_served_to_another(app, client, auth, family):
    auth.login("admin_a")
    url = household_url(family)
    assert client.get(url).status_code == 200
    other = app.test_client()
    other.post("/login", data={"username": "admin_b", "password": PASSWORD})
    assert other.get(url).status_code == 404  # another collective's household
    # the household's own farmer reads it with their own masking, not the admin's page
    farmer = app.test_client()
    farmer.post("/login", data={"username": "farmer_a", "password": PASSWORD})
    mine = farmer.get(url)
    assert mine.status_code == 200
    assert mine.get_data() != client.get(url).get_data()


def test_a_flashed_message_shows_once_and_is_not_kept(app, client, auth, family):
    auth.login("admin_a")
    url = household_url(family)
    client.get(url)
    with client.session_transaction() as s:
        s["_flashes"] = [("success", "已保存。测试消息")]
    assert "测试消息" in client.get(url).get_data(as_text=True)
    assert "测试消息" not in client.get(url).get_data(as_text=True)


def test_the_language_chosen_is_the_language_of_a_kept_page(app, client, auth, family):
    auth.login("admin_a")
    url = household_url(family)
    chinese = client.get(url).get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get(url).get_data(as_text=True)
    assert english != chinese
    assert 'lang="en"' in english and 'lang="zh' in chinese


def test_with_no_time_to_keep_pages_every_view_is_rendered(app, client, auth, family):
    auth.login("admin_a")
    url = household_url(family)
    seconds = app.config["PAGE_CACHE_SECONDS"]
    app.config["PAGE_CACHE_SECONDS"] = 0
    try:
        client.get(url)
        with counting(app) as statements:
            assert client.get(url).status_code == 200
    finally:
        app.config["PAGE_CACHE_SECONDS"] = seconds
    asked = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(asked) > 5


def _user(username: str):
    from sqlalchemy import select

    from app.auth.models import User

    return db.session.scalar(select(User).where(User.username == username))


@pytest.mark.authz
def test_a_kept_identity_goes_with_the_collective_taken_from_its_administrator(
    app, client, auth, family, baseline
):
    from app.auth import services

    auth.login("admin_a")
    url = household_url(family)
    for _ in range(3):  # the identity and the page are both kept by now
        assert client.get(url).status_code == 200
    with trail.acting(trail.AuditContext(actor="itadmin", role="system_admin")):
        services.update_user(_user("admin_a"), "collective_admin", [baseline.collective_b])
    db.session.commit()
    assert client.get(url).status_code == 404


@pytest.mark.authz
def test_a_kept_identity_goes_with_a_deactivated_account(app, client, auth, family):
    from app.auth import services

    auth.login("admin_a")
    url = household_url(family)
    for _ in range(3):
        assert client.get(url).status_code == 200
    with trail.acting(trail.AuditContext(actor="itadmin", role="system_admin")):
        services.deactivate_user(_user("admin_a"))
    db.session.commit()
    out = client.get(url)
    assert out.status_code == 302 and "/login" in out.headers["Location"]
