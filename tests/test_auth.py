"""Accounts, sessions, deny-by-default, CSRF, headers and API tokens."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.models import ApiToken, LoginThrottle
from app.extensions import db
from tests.conftest import PASSWORD, token_for

ROLE_LANDING = {
    "farmer_a": "/my",
    "admin_a": "/collectives",
    "bureau": "/county",
    "officer": "/settlement",
    "auditor": "/audit/",
    "sysadmin": "/admin/users",
}


@pytest.mark.parametrize("username,landing", sorted(ROLE_LANDING.items()))
def test_each_role_lands_on_its_own_page(auth, client, username, landing):
    assert auth.login(username).status_code == 302
    first = client.get("/")
    assert first.status_code == 302 and first.headers["Location"].endswith(landing)
    page = client.get(landing)
    assert page.status_code == 200
    assert "退出" in page.get_data(as_text=True)  # logged in, in Chinese


def test_wrong_password_and_unknown_user_get_the_same_answer(auth):
    wrong = auth.login("admin_a", "not-the-password1")
    unknown = auth.login("nobody_here", "not-the-password1")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


@pytest.mark.hostile
def test_login_is_throttled_after_repeated_failures(app, auth):
    # Past the free attempts a failure makes the username wait (tests/test_sessions.py has the
    # growing delay and the lock); the wait is counted under the username, not on the user row.
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        auth.login("admin_b", "guess-guess-123")
    locked = auth.login("admin_b")  # even the right password waits now
    assert locked.status_code == 429
    assert "失败次数过多" in locked.get_data(as_text=True)
    row = db.session.scalar(sa.select(LoginThrottle).where(LoginThrottle.key == "admin_b"))
    assert row is not None and row.blocked_until is not None


def test_session_is_fresh_after_login(client, auth):
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    auth.login("admin_a")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.permanent


def test_logout_needs_post_and_ends_the_session(client, auth):
    auth.login("admin_a")
    assert client.get("/logout").status_code == 405
    auth.logout()
    assert client.get("/collectives").status_code == 302


@pytest.mark.authz
@pytest.mark.parametrize("path", ["/", "/collectives", "/county", "/audit/", "/admin/users", "/my"])
def test_anonymous_is_sent_to_login(client, path):
    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.authz
@pytest.mark.parametrize(
    "username,path",
    [
        ("farmer_a", "/audit/"),
        ("officer", "/collectives"),
        ("sysadmin", "/county"),
        ("admin_a", "/admin/users"),
        ("bureau", "/audit/"),
        ("auditor", "/admin/users"),
    ],
)
def test_roles_outside_their_work_get_404(auth, client, username, path):
    auth.login(username)
    assert client.get(path).status_code == 404


@pytest.mark.hostile
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_never_redirects_off_site(client, target):
    r = client.post(f"/login?next={target}", data={"username": "admin_a", "password": PASSWORD})
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", "http://localhost/")


@pytest.mark.hostile
def test_csrf_is_enforced_on_forms(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.post("/login", data={"username": "admin_a", "password": PASSWORD})
        assert r.status_code == 400
        assert "表单已过期" in r.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_security_headers_on_every_response(client):
    for path in ["/login", "/healthz", "/nowhere"]:
        h = client.get(path).headers
        assert "script-src 'self'" in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert "unsafe-inline" not in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "same-origin"


def test_pages_carry_no_inline_script(auth, client):
    auth.login("auditor")
    html = client.get("/audit/").get_data(as_text=True)
    assert "<script" not in html and " style=" not in html and "onclick" not in html


def test_language_switch_to_english_and_back(client):
    client.get("/lang/en")
    assert "Log in" in client.get("/login").get_data(as_text=True)
    client.get("/lang/zh_CN")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_unknown_page_is_a_chinese_404(client, auth):
    auth.login("admin_a")
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "未找到" in r.get_data(as_text=True)


class TestApiTokens:
    def test_password_exchange_gives_a_working_token(self, client):
        r = client.post("/api/v1/auth/token", json={"username": "bureau", "password": PASSWORD})
        assert r.status_code == 201
        token = r.get_json()["token"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.get_json()["role"] == "bureau_reviewer"

    @pytest.mark.hostile
    def test_bad_bodies_get_clear_errors(self, client):
        for body in [None, [], {"username": 1, "password": 2}, {"username": "bureau"}]:
            r = client.post("/api/v1/auth/token", json=body)
            assert r.status_code == 422
            assert r.get_json()["error"]["message"]
        r = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
        assert r.status_code == 422
        r = client.post(
            "/api/v1/auth/token", json={"username": "bureau", "password": "wrong-pw-123"}
        )
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "login"

    @pytest.mark.authz
    def test_session_cookie_does_not_open_the_api(self, client, auth):
        auth.login("bureau")
        assert client.get("/api/v1/me").status_code == 401

    @pytest.mark.authz
    def test_revoked_and_expired_tokens_are_refused(self, app, client):
        from app.core.models import utcnow

        token = token_for(app, "bureau")
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        row = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())).first()
        from app.audit import trail

        with trail.acting(trail.AuditContext(actor="sysadmin", role="system_admin")):
            row.revoked_at = utcnow()
            db.session.flush()
        assert client.get("/api/v1/me", headers=headers).status_code == 401
        assert (
            client.get("/api/v1/me", headers={"Authorization": "Bearer sq_forged"}).status_code
            == 401
        )
