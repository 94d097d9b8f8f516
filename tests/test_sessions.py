"""Server-side sessions, accounts, login throttling and rate limits (issue 9, item 4)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.audit.models import AuditEntry
from app.auth import services
from app.auth.models import ApiToken, LoginEvent, LoginThrottle, User, UserSession
from app.core.models import utcnow
from app.extensions import db
from tests.conftest import PASSWORD, Auth, app_for, token_for

NEW_PASSWORD = "fresh-pass-2027"


def user_named(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def sessions_of(username: str) -> list[UserSession]:
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .join(User, User.id == UserSession.user_id)
            .where(User.username == username)
            .order_by(UserSession.id)
        )
    )


def logged_in(app, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    r = Auth(client).login(username, password)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def session_cookie(client: FlaskClient) -> str:
    return client.get_cookie("session").value


def copy_of(app, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of the first one's session cookie."""
    other = app.test_client()
    other.set_cookie("session", session_cookie(client))
    return other


def is_in(client: FlaskClient, path: str = "/collectives") -> bool:
    r = client.get(path)
    if r.status_code == 302:
        assert "/login" in r.headers["Location"]
        return False
    assert r.status_code == 200, r.status_code
    return True


def api_me(client: FlaskClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def move_clock(row, **fields) -> None:
    """Pretend time passed: rewrite a row's times instead of sleeping.

    (Rows loaded before a request are detached by its end, so this writes by id.)
    """
    model, (ident,) = type(row), sa.inspect(row).identity
    db.session.execute(sa.update(model).where(model.id == ident).values(**fields))
    db.session.commit()  # in the harness: releases a savepoint; rolled back after the test
    # The app never rewrites these times (time passes instead, which a kept identity is checked
    # against on every request): identities kept from before the rewrite go with it.
    services._identities.clear()


# --- sessions -------------------------------------------------------------------------------


@pytest.mark.hostile
def test_a_copied_cookie_is_refused_after_logout(app):
    first = logged_in(app, "admin_a")
    second = copy_of(app, first)
    assert is_in(second)  # the copy works while the session lives
    first.post("/logout")
    assert not is_in(second)
    assert not is_in(first)
    ended = sessions_of("admin_a")[-1]
    assert ended.ended_at is not None and ended.end_reason == "logout"


def test_the_cookie_names_a_session_not_the_user(app):
    client = logged_in(app, "admin_a")
    with client.session_transaction() as sess:
        key = sess["_user_id"]
    user = user_named("admin_a")
    assert key != str(user.id) and len(key) >= 40
    row = sessions_of("admin_a")[-1]
    assert row.key_sha256 == hashlib.sha256(key.encode()).hexdigest()  # only its hash is kept
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)  # a cookie forged with a user id opens nothing
    assert not is_in(client)


@pytest.mark.hostile
def test_a_session_ends_at_its_absolute_lifetime_however_busy(app):
    client = logged_in(app, "admin_a")
    row = sessions_of("admin_a")[-1]
    assert row.expires_at - row.created_at == app.config["PERMANENT_SESSION_LIFETIME"]
    expires = row.expires_at
    for _ in range(3):
        assert is_in(client)
    assert sessions_of("admin_a")[-1].expires_at == expires  # activity never moves the end
    # Logged in 7 h 59 min ago (of 8 h) and busy all along: still in.
    start = utcnow() - app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(minutes=1)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    move_clock(row, created_at=start, expires_at=start + lifetime)
    assert is_in(client)
    # One minute past the lifetime: out, although the session was used a moment ago.
    move_clock(row, expires_at=utcnow() - timedelta(minutes=1), last_seen_at=utcnow())
    assert not is_in(client)


def test_an_idle_session_ends(app):
    client = logged_in(app, "admin_a")
    row = sessions_of("admin_a")[-1]
    idle = app.config["SESSION_IDLE_MINUTES"]
    move_clock(row, last_seen_at=utcnow() - timedelta(minutes=idle - 2))
    assert is_in(client)  # and the visit is noted
    assert sessions_of("admin_a")[-1].last_seen_at > utcnow() - timedelta(minutes=1)
    move_clock(row, last_seen_at=utcnow() - timedelta(minutes=idle + 1))
    assert not is_in(client)


def test_log_out_everywhere_ends_every_session(app):
    office = logged_in(app, "admin_a")
    home = logged_in(app, "admin_a")
    stolen = copy_of(app, home)
    other_user = logged_in(app, "admin_b")
    r = office.post("/account/logout-everywhere")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert not is_in(office) and not is_in(home) and not is_in(stolen)
    assert is_in(other_user)  # only the user's own sessions
    assert all(s.end_reason == "logout_everywhere" for s in sessions_of("admin_a"))


def test_ending_all_sessions_invalidates_an_old_cookie(app):
    from app.audit import trail
    from app.auth.services import end_all_sessions

    client = logged_in(app, "admin_a")
    assert is_in(client)
    with trail.acting(trail.AuditContext(actor="admin_a", role="collective_admin")):
        assert end_all_sessions(user_named("admin_a")) == 1
    assert not is_in(client)


def test_the_account_page_lists_sessions_tokens_and_logins(app):
    token_for(app, "farmer_a")
    client = logged_in(app, "farmer_a")
    logged_in(app, "farmer_a")
    Auth(app.test_client()).login("farmer_a", "wrong-guess-123")
    html = client.get("/account").get_data(as_text=True)
    assert "我的账户" in html
    assert html.count("退出此会话") == 1  # the other session; this one is marked
    assert "当前会话" in html
    assert "撤销" in html  # the token
    assert "密码错误" in html and "登录成功" in html  # own history, failures included
    assert "<script" not in html


@pytest.mark.hostile
def test_every_account_form_needs_its_csrf_token(app):
    client = logged_in(app, "sysadmin")
    farmer_b = user_named("farmer_b").id
    own_session = sessions_of("sysadmin")[-1].id
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for path in [
            "/logout",
            "/account/password",
            "/account/logout-everywhere",
            f"/account/sessions/{own_session}/end",
            "/account/tokens/1/revoke",
            f"/admin/users/{farmer_b}/deactivate",
            f"/admin/users/{farmer_b}/activate",
            f"/admin/users/{farmer_b}/unlock",
            f"/admin/users/{farmer_b}/logout-everywhere",
            f"/admin/users/{farmer_b}/revoke-tokens",
        ]:
            r = client.post(path, data={"current": PASSWORD})
            assert r.status_code == 400, path
            assert "表单已过期" in r.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert is_in(client, "/admin/users")  # nothing happened
    assert user_named("farmer_b").is_active


# --- passwords ------------------------------------------------------------------------------


def test_password_change_ends_the_other_sessions(app):
    here = logged_in(app, "farmer_a")
    elsewhere = logged_in(app, "farmer_a")
    r = here.post(
        "/account/password",
        data={"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert r.status_code == 302
    assert "密码已修改" in here.get("/account").get_data(as_text=True)
    assert is_in(here, "/my") and not is_in(elsewhere, "/my")
    assert Auth(app.test_client()).login("farmer_a").status_code == 401
    assert Auth(app.test_client()).login("farmer_a", NEW_PASSWORD).status_code == 302


@pytest.mark.hostile
@pytest.mark.parametrize(
    "current,new,repeat,message",
    [
        ("not-my-pass-1", NEW_PASSWORD, NEW_PASSWORD, "当前密码不正确"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "两次输入的新密码不一致"),
        (PASSWORD, "short1", "short1", "至少 10 位"),
        (PASSWORD, PASSWORD, PASSWORD, "新密码不能与当前密码相同"),
        (PASSWORD, "", "", "必填"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(app, current, new, repeat, message):
    client = logged_in(app, "farmer_a")
    other = logged_in(app, "farmer_a")
    before = user_named("farmer_a").password_hash
    r = client.post("/account/password", data={"current": current, "new": new, "repeat": repeat})
    assert r.status_code in (401, 422)
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    assert user_named("farmer_a").password_hash == before
    assert is_in(other, "/my")


# --- deactivation, tokens -------------------------------------------------------------------


@pytest.mark.authz
def test_a_deactivated_user_is_refused_everywhere_until_reactivated(app):
    token = token_for(app, "farmer_a")
    farmer = logged_in(app, "farmer_a")
    admin = logged_in(app, "sysadmin")
    farmer_id = user_named("farmer_a").id
    assert api_me(farmer, token) == 200
    r = admin.post(f"/admin/users/{farmer_id}/deactivate")
    assert r.status_code == 302
    assert "已停用" in admin.get("/admin/users").get_data(as_text=True)
    assert not is_in(farmer, "/my")
    assert api_me(farmer, token) == 401
    refused = Auth(app.test_client()).login("farmer_a")
    assert refused.status_code == 401 and "用户名或密码错误" in refused.get_data(as_text=True)
    admin.post(f"/admin/users/{farmer_id}/activate")
    assert Auth(app.test_client()).login("farmer_a").status_code == 302
    assert api_me(farmer, token) == 401  # tokens revoked at deactivation stay revoked


def test_the_admin_cannot_deactivate_themselves(app):
    admin = logged_in(app, "sysadmin")
    r = admin.post(f"/admin/users/{user_named('sysadmin').id}/deactivate")
    assert r.status_code == 422 and "不能停用自己的账户" in r.get_data(as_text=True)
    assert is_in(admin, "/admin/users")


@pytest.mark.authz
def test_admin_logs_a_user_out_everywhere_and_revokes_their_tokens(app):
    token = token_for(app, "bureau")
    bureau = logged_in(app, "bureau")
    admin = logged_in(app, "sysadmin")
    bureau_id = user_named("bureau").id
    admin.post(f"/admin/users/{bureau_id}/logout-everywhere")
    assert not is_in(bureau, "/county")
    assert api_me(bureau, token) == 200
    admin.post(f"/admin/users/{bureau_id}/revoke-tokens")
    assert api_me(bureau, token) == 401


@pytest.mark.authz
def test_revoked_and_expired_tokens_are_refused(app):
    client = logged_in(app, "bureau")
    first, second = token_for(app, "bureau"), token_for(app, "bureau")
    assert api_me(client, first) == 200 and api_me(client, second) == 200
    rows = list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user_named("bureau").id)
            .order_by(ApiToken.id)
        )
    )
    assert rows[0].last_used_at is not None  # listed as "last used"
    r = client.post(f"/account/tokens/{rows[0].id}/revoke")
    assert r.status_code == 302
    assert api_me(client, first) == 401 and api_me(client, second) == 200
    move_clock(rows[1], expires_at=utcnow() - timedelta(seconds=1))
    assert api_me(client, second) == 401
    html = client.get("/account").get_data(as_text=True)
    assert "已撤销" in html and "已过期" in html


@pytest.mark.authz
def test_a_farmer_cannot_revoke_another_users_token_or_end_their_session(app):
    token = token_for(app, "farmer_b")
    victim = logged_in(app, "farmer_b")
    token_id = db.session.scalar(
        sa.select(ApiToken.id).where(ApiToken.user_id == user_named("farmer_b").id)
    )
    session_id = sessions_of("farmer_b")[-1].id
    farmer = logged_in(app, "farmer_a")
    r = farmer.post(f"/account/tokens/{token_id}/revoke")
    assert r.status_code == 404 and "未找到" in r.get_data(as_text=True)
    assert farmer.post(f"/account/sessions/{session_id}/end").status_code == 404
    assert farmer.post(f"/admin/users/{user_named('farmer_b').id}/deactivate").status_code == 404
    assert api_me(victim, token) == 200 and is_in(victim, "/my")


@pytest.mark.authz
def test_the_api_lists_and_revokes_only_the_callers_tokens(app):
    client = app.test_client()
    mine, spare = token_for(app, "farmer_a"), token_for(app, "farmer_a")
    theirs = token_for(app, "farmer_b")
    as_me = {"Authorization": f"Bearer {mine}"}
    listed = client.get("/api/v1/auth/tokens", headers=as_me).get_json()["tokens"]
    assert len(listed) == 2 and {t["state"] for t in listed} == {"active"}
    assert all("sha" not in json.dumps(t) and mine not in json.dumps(t) for t in listed)
    their_id = db.session.scalar(
        sa.select(ApiToken.id).where(ApiToken.user_id == user_named("farmer_b").id)
    )
    r = client.post(f"/api/v1/auth/tokens/{their_id}/revoke", headers=as_me)
    assert r.status_code == 404 and api_me(client, theirs) == 200
    spare_id = next(t["id"] for t in listed if t["id"] != their_id and t["last_used_at"] is None)
    r = client.post(f"/api/v1/auth/tokens/{spare_id}/revoke", headers=as_me)
    assert r.status_code == 200 and r.get_json()["state"] == "revoked"
    assert api_me(client, spare) == 401 and api_me(client, mine) == 200


def test_a_user_ends_one_of_their_own_sessions(app):
    here = logged_in(app, "farmer_a")
    there = logged_in(app, "farmer_a")
    there_id = sessions_of("farmer_a")[-1].id
    assert here.post(f"/account/sessions/{there_id}/end").status_code == 302
    assert not is_in(there, "/my") and is_in(here, "/my")


# --- throttling -----------------------------------------------------------------------------


def throttle(scope: str, key: str) -> LoginThrottle | None:
    return db.session.scalar(
        sa.select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    )


def wait_out(row: LoginThrottle) -> None:
    move_clock(row, blocked_until=utcnow() - timedelta(seconds=1))


@pytest.mark.hostile
def test_failures_bring_a_growing_delay_then_a_lock_an_admin_lifts(app):
    cfg = app.config
    auth = Auth(app.test_client())
    for _ in range(cfg["LOGIN_FREE_FAILURES"]):
        assert auth.login("admin_b", "guess-guess-123").status_code == 401
    delays = []
    for _ in range(cfg["LOGIN_MAX_FAILURES"] - cfg["LOGIN_FREE_FAILURES"] - 1):
        assert auth.login("admin_b", "guess-guess-123").status_code == 401
        row = throttle("username", "admin_b")
        delays.append((row.blocked_until - row.last_failed_at).total_seconds())
        refused = auth.login("admin_b")  # even the right password waits, and nothing is counted
        assert refused.status_code == 429
        assert "失败次数过多" in refused.get_data(as_text=True) and "秒后再试" in (
            refused.get_data(as_text=True)
        )
        assert int(refused.headers["Retry-After"]) >= 1
        wait_out(row)
    assert delays == [2, 4, 8, 16, 32, 64]
    # The last failure locks the username: minutes, not seconds, and the delay is not enough.
    assert auth.login("admin_b", "guess-guess-123").status_code == 401
    row = throttle("username", "admin_b")
    assert row.locked_until > utcnow() + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"] - 1)
    locked = auth.login("admin_b")
    assert locked.status_code == 429 and "分钟后再试" in locked.get_data(as_text=True)
    admin = logged_in(app, "sysadmin")
    assert "已锁定" in admin.get("/admin/users").get_data(as_text=True)
    r = admin.post(f"/admin/users/{user_named('admin_b').id}/unlock")
    assert r.status_code == 302
    assert auth.login("admin_b").status_code == 302


@pytest.mark.hostile
def test_the_lock_lifts_by_itself_after_its_time(app):
    cfg = app.config
    auth = Auth(app.test_client())
    for _ in range(cfg["LOGIN_MAX_FAILURES"]):
        auth.login("admin_b", "guess-guess-123")
        row = throttle("username", "admin_b")
        if row.blocked_until:
            wait_out(row)
    row = throttle("username", "admin_b")
    assert row.locked_until is not None
    assert auth.login("admin_b").status_code == 429
    move_clock(row, locked_until=utcnow() - timedelta(seconds=1))
    assert auth.login("admin_b").status_code == 302
    assert throttle("username", "admin_b") is None  # a success clears the username's count


def _comparable(response) -> tuple[int, str, str | None]:
    body = response.get_data(as_text=True)
    body = re.sub(r'name="username"[^>]*value="[^"]*"', 'name="username"', body)
    body = re.sub(r"\d+ 秒", "N 秒", body)
    return response.status_code, body, response.headers.get("Retry-After") and "set"


@pytest.mark.hostile
def test_an_unknown_username_and_a_real_one_get_identical_answers(app):
    real, unknown = Auth(app.test_client()), Auth(app.test_client())
    answers = []
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 2):  # wrong, ..., delayed, refused
        answers.append(
            (
                _comparable(real.login("admin_a", "guess-guess-123")),
                _comparable(unknown.login("nobody_here", "guess-guess-123")),
            )
        )
    for mine, theirs in answers:
        assert mine == theirs
    assert {a[0][0] for a in answers} == {401, 429}
    for key in ("admin_a", "nobody_here"):
        assert throttle("username", key).failures == app.config["LOGIN_FREE_FAILURES"] + 1
    api = app.test_client()
    one = api.post("/api/v1/auth/token", json={"username": "admin_b", "password": "guess-1234a"})
    two = api.post("/api/v1/auth/token", json={"username": "ghost_b", "password": "guess-1234a"})
    assert one.status_code == two.status_code == 422 and one.get_json() == two.get_json()


@pytest.mark.hostile
@pytest.mark.parametrize(
    "username", ["nul\x00name", "x" * 100_000, "名字\u202e", "\t\n", "ａｄｍｉｎ＿ａ"]
)
def test_odd_usernames_get_the_plain_answer(app, username):
    """Odd input at the login gets a plain answer and never a 500. A control character is
    refused at the request's edge before any account is looked up, so that answer cannot tell
    a real username from an unknown one either."""
    from app.core.inputs import has_control

    refused_at_edge = has_control(username)
    page = Auth(app.test_client()).login(username, "guess-guess-123")
    body = page.get_data(as_text=True)
    if refused_at_edge:
        assert page.status_code == 422 and "控制字符" in body
    elif page.status_code == 200:  # refused by the form itself (too long, blank)
        assert 'class="field-error"' in body
    else:
        assert page.status_code == 401 and "用户名或密码错误" in body
    api = app.test_client().post(
        "/api/v1/auth/token",
        json={"username": username, "password": "guess-guess-123"},
        headers={"User-Agent": "evil\x00agent"},
    )
    assert api.status_code == 422
    assert api.get_json()["error"]["code"] == ("control_characters" if refused_at_edge else "login")


@pytest.mark.hostile
def test_a_control_character_in_a_password_is_refused_before_the_account_is_touched(app):
    for name in ("admin_a", "nobody_here"):
        api = app.test_client().post(
            "/api/v1/auth/token", json={"username": name, "password": "guess\x00-1234"}
        )
        assert api.status_code == 422
        assert api.get_json()["error"]["code"] == "control_characters"
        assert throttle("username", name) is None


@pytest.mark.hostile
def test_usernames_are_counted_case_and_space_blind(app):
    auth = Auth(app.test_client())
    for name in ("Admin_B", " admin_b", "ADMIN_B ", "admin_b"):
        auth.login(name, "guess-guess-123")
    assert throttle("username", "admin_b").failures == 4


@pytest.mark.hostile
def test_one_address_guessing_many_usernames_is_slowed(app):
    auth = Auth(app.test_client())
    free = app.config["LOGIN_ADDRESS_FREE_FAILURES"]
    for i in range(free + 1):
        assert auth.login(f"spray{i:03d}", "guess-guess-123").status_code == 401
    refused = auth.login("spray_new", "guess-guess-123")
    assert refused.status_code == 429 and "秒后再试" in refused.get_data(as_text=True)
    # ... but nobody's account is locked by it: the admin of that address can still log in
    # once the short delay has passed.
    wait_out(throttle("address", "127.0.0.1"))
    assert auth.login("admin_a").status_code == 302


@pytest.mark.hostile
def test_failed_logins_are_audited_as_anonymous_attempts(app):
    target_id = user_named("admin_a").id
    Auth(app.test_client()).login("admin_a", "guess-guess-123")
    Auth(app.test_client()).login("nobody_here", "guess-guess-123")
    entries = list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.event == "auth.login_failed")
            .order_by(AuditEntry.seq.desc())
            .limit(2)
        )
    )
    assert [json.loads(e.after)["username"] for e in entries] == ["nobody_here", "admin_a"]
    for e in entries:
        assert e.actor == "anonymous" and e.actor_id is None and e.role == "anonymous"
        assert json.loads(e.after)["address"] == "127.0.0.1"
    # Nothing was written in the name of the targeted user.
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor_id == target_id, AuditEntry.event.like("auth.login%"))
        )
        == 0
    )


def test_login_history_is_read_by_the_user_and_the_admin_only(app):
    Auth(app.test_client()).login("farmer_a", "guess-guess-123")
    Auth(app.test_client()).login("ghost_x", "guess-guess-123")
    logged_in(app, "farmer_a")
    mine = [
        (e.outcome, e.username)
        for e in db.session.scalars(
            sa.select(LoginEvent).where(LoginEvent.user_id == user_named("farmer_a").id)
        )
    ]
    assert ("failed", "farmer_a") in mine and ("ok", "farmer_a") in mine
    admin = logged_in(app, "sysadmin")
    html = admin.get("/admin/logins").get_data(as_text=True)
    assert "ghost_x" in html and "farmer_a" in html
    for username in ("farmer_a", "auditor", "admin_a"):
        assert logged_in(app, username).get("/admin/logins").status_code == 404


# --- command line ---------------------------------------------------------------------------


def test_cli_deactivate_activate_logout_everywhere_and_password(app):
    cli = app.test_cli_runner()
    farmer = logged_in(app, "farmer_a")
    token = token_for(app, "farmer_a")
    r = cli.invoke(args=["users", "logout-everywhere", "farmer_a"])
    assert r.exit_code == 0 and "1 sessions of farmer_a ended" in r.output
    assert not is_in(farmer, "/my")
    assert cli.invoke(args=["users", "deactivate", "farmer_a"]).exit_code == 0
    assert api_me(farmer, token) == 401
    assert Auth(app.test_client()).login("farmer_a").status_code == 401
    assert cli.invoke(args=["users", "activate", "farmer_a"]).exit_code == 0
    again = logged_in(app, "farmer_a")
    r = cli.invoke(
        args=["users", "password", "farmer_a"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert r.exit_code == 0, r.output
    assert not is_in(again, "/my")
    assert Auth(app.test_client()).login("farmer_a", NEW_PASSWORD).status_code == 302
    events = set(db.session.scalars(sa.select(AuditEntry.event).where(AuditEntry.actor == "cli")))
    assert {"user.deactivate", "user.activate", "auth.password_set"} <= events, events


def test_cli_tokens_revoke_token_and_unlock(app):
    cli = app.test_cli_runner()
    token = token_for(app, "auditor")
    lines = cli.invoke(args=["users", "tokens", "auditor"]).output.splitlines()
    token_id = lines[0].split("\t")[0]
    assert lines[0].split("\t")[1] == "active"
    r = cli.invoke(args=["users", "revoke-token", "auditor", token_id])
    assert r.exit_code == 0
    assert api_me(app.test_client(), token) == 401
    assert cli.invoke(args=["users", "tokens", "auditor"]).output.split("\t")[1] == "revoked"
    r = cli.invoke(args=["users", "revoke-token", "bureau", token_id])  # not bureau's token
    assert r.exit_code == 2 and "has no token" in r.output
    auth = Auth(app.test_client())
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("auditor", "guess-guess-123")
        row = throttle("username", "auditor")
        if row.blocked_until:
            wait_out(row)
    assert auth.login("auditor").status_code == 429
    r = cli.invoke(args=["users", "unlock", "auditor"])
    assert r.exit_code == 0 and "unlocked" in r.output
    assert auth.login("auditor").status_code == 302


@pytest.mark.hostile
@pytest.mark.parametrize(
    "args,message",
    [
        (["users", "deactivate", "ghost"], "no user ghost"),
        (["users", "tokens", "ghost"], "no user ghost"),
        (["users", "password", "auditor", "--password", "short1"], "至少 10 位"),
        (["users", "revoke-token", "auditor", "x"], "Invalid value"),
    ],
)
def test_cli_account_commands_answer_bad_arguments_plainly(app, args, message):
    r = app.test_cli_runner().invoke(args=args)
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


# --- rate limits ----------------------------------------------------------------------------


@pytest.fixture
def limited_app(database_url):
    """An app of its own with rate limits on (the shared test app has them off)."""
    return app_for(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_LOGIN="3 per minute",
        RATELIMIT_API="3 per minute",
        RATELIMIT_VERIFY="3 per minute",
    )


@pytest.mark.hostile
def test_the_public_code_check_is_limited_per_address(limited_app):
    """Codes cannot be tried by the thousand: the form and the answer page share one count."""
    client = limited_app.test_client()
    assert client.get("/verify").status_code == 200
    assert client.get("/verify/ABCD-EFGH-JKLM").status_code == 200  # "not found", in words
    assert client.get("/verify?code=0000-0000-0000-0000").status_code == 302
    refused = client.get("/verify/0000-0000-0000-0000")
    assert refused.status_code == 429 and "请求过于频繁" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0


@pytest.mark.hostile
@pytest.mark.parametrize("lang,message", [("zh_CN", "请求过于频繁"), ("en", "Too many requests")])
def test_login_rate_limit_answers_429_in_the_users_language(limited_app, lang, message):
    client = limited_app.test_client()
    client.set_cookie("lang", lang)
    for _ in range(3):
        r = client.post("/login", data={"username": "nobody", "password": "guess-guess-123"})
        assert r.status_code == 401
    r = client.post("/login", data={"username": "admin_a", "password": PASSWORD})
    assert r.status_code == 429 and message in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) > 0
    assert client.get("/login").status_code == 200  # only attempts are limited


@pytest.mark.hostile
def test_api_rate_limits_answer_json_with_retry_after(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        r = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
        assert r.status_code == 422
    r = client.post(
        "/api/v1/auth/token",
        json={"username": "bureau", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["error"]["message"] == "Too many requests. Please wait a moment."
    # The API: per user, so one busy user does not stop another.
    busy, calm = token_for(limited_app, "bureau"), token_for(limited_app, "auditor")
    for _ in range(3):
        assert api_me(client, busy) == 200
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {busy}"})
    assert r.status_code == 429 and "请求过于频繁" in r.get_json()["error"]["message"]
    assert api_me(client, calm) == 200


@pytest.mark.hostile
def test_with_redis_the_workers_share_one_count(database_url):
    import redis

    prefix = f"sanquan-test-{uuid.uuid4().hex}"
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_LOGIN": "2 per minute",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    workers = [app_for(database_url, **settings), app_for(database_url, **settings)]
    assert workers[0].config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    try:
        for worker in workers:
            r = worker.test_client().post("/login", data={"username": "x", "password": "y"})
            assert r.status_code == 401
        r = workers[0].test_client().post("/login", data={"username": "x", "password": "y"})
        assert r.status_code == 429  # the third attempt, counted across both workers
    finally:
        conn = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in conn.scan_iter(f"*{prefix}*"):
            conn.delete(key)


# --- real commits, several connections ------------------------------------------------------


@pytest.mark.concurrency
def test_first_failures_for_a_new_username_at_once_are_all_counted(fresh_app):
    from app.auth.services import authenticate
    from tests.concurrency import race

    results = race(fresh_app, [lambda: authenticate("brand_new", "guess-guess-123")] * 2)
    assert results == ["login", "login"]
    with fresh_app.app_context():
        row = db.session.scalar(sa.select(LoginThrottle).where(LoginThrottle.key == "brand_new"))
        assert row.failures == 2
        db.session.remove()


@pytest.mark.concurrency
def test_a_page_view_is_not_held_up_by_a_long_writer(fresh_app):
    """Noting a session's use needs a write; while another connection holds a long write
    transaction (an import on SQLite), the page still answers at once and the note waits."""
    import time

    client = fresh_app.test_client()
    assert Auth(client).login("admin_a").status_code == 302
    with fresh_app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            conn.execute(
                sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=5))
            )
        db.session.remove()
    writer = engine.connect()
    try:
        writer.begin()  # on SQLite: BEGIN IMMEDIATE, the write lock (app.core.database)
        writer.execute(sa.update(LoginThrottle).values(failures=0))  # and a write, held open
        started = time.monotonic()
        r = client.get("/collectives")
        assert r.status_code == 200
        assert time.monotonic() - started < 10  # not the 30 s of the lock's usual wait
    finally:
        writer.rollback()
        writer.close()
    assert client.get("/collectives").status_code == 200  # the connection works as before
