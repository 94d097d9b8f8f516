"""The system administrator creates accounts, changes their role and collectives, resets passwords
(issue 15, item 5); a generated password is shown once and must be changed at the first login."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.audit.models import AuditEntry
from app.auth.models import ApiToken, User, UserSession
from app.extensions import db
from tests.conftest import PASSWORD, Auth, token_for

OWN_PASSWORD = "my-own-pass-2027"


def user_named(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def count_users() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def as_sysadmin(auth: Auth) -> None:
    assert auth.login("sysadmin").status_code == 302


def shown_password(page: str) -> str:
    found = re.search(r'<strong class="code">([^<]+)</strong>', page)
    assert found, page
    return found.group(1)


def create(client: FlaskClient, **fields):
    data = {"username": "", "display_name": "", "role": "", **fields}
    return client.post("/admin/users/new", data=data)


def test_itadmin_creates_a_collective_admin_who_must_change_the_password_first(
    app, auth, client, baseline
):
    as_sysadmin(auth)
    form = client.get("/admin/users/new")
    assert form.status_code == 200
    text = form.get_data(as_text=True)
    assert "村委管理员" in text or "集体" in text  # roles and collectives by name, in Chinese
    assert "东湖坪村第一村民小组" in text
    r = create(
        client,
        username="clerk_a",
        display_name="王会计",
        role="collective_admin",
        collectives=[str(baseline.collective_a)],
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    password = shown_password(r.get_data(as_text=True))
    user = user_named("clerk_a")
    assert user.display_name == "王会计" and user.collective_ids == {baseline.collective_a}
    assert user.must_change_password
    # The password is in no audit entry, and the creation is on record.
    entries = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.actor == "sysadmin")))
    assert any(e.event == "user.create" for e in entries)
    assert not any(password in (e.after or "") + (e.before or "") for e in entries)
    # Shown once: the user list does not show it again.
    assert password not in client.get("/admin/users").get_data(as_text=True)

    auth.logout()
    assert auth.login("clerk_a", password).status_code == 302
    # Anywhere but the password change leads to it.
    for path in ("/", "/collectives", f"/collectives/{baseline.collective_a}"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account"), path
    page = client.get("/account").get_data(as_text=True)
    assert "系统管理员" in page  # the notice: the administrator chose this password
    r = client.post(
        "/account/password",
        data={"current": password, "new": OWN_PASSWORD, "repeat": OWN_PASSWORD},
    )
    assert r.status_code == 302
    landing = client.get(r.headers["Location"])
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/collectives")
    assert client.get("/collectives").status_code == 200
    assert not user_named("clerk_a").must_change_password


def test_a_forced_user_can_still_log_out(auth, client, baseline):
    as_sysadmin(auth)
    r = create(client, username="clerk_out", role="auditor")
    password = shown_password(r.get_data(as_text=True))
    auth.logout()
    auth.login("clerk_out", password)
    r = auth.logout()
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/account").status_code == 302  # logged out for real


def test_a_county_role_is_created_without_collectives(auth, client):
    as_sysadmin(auth)
    r = create(client, username="reviewer_2", role="bureau_reviewer")
    assert r.status_code == 200
    user = user_named("reviewer_2")
    assert user.role == "bureau_reviewer" and user.collective_ids == set()
    assert user.display_name == "reviewer_2"


@pytest.mark.hostile
@pytest.mark.parametrize(
    "fields,field_text",
    [
        ({"username": "admin_a", "role": "auditor"}, "已被占用"),
        ({"username": "ok_name", "role": "bureau_reviewer", "collectives": ["A"]}, None),
        ({"username": "ok_name", "role": "collective_admin"}, None),
        ({"username": "ok_name", "role": "farmer"}, None),
        ({"username": "x" * 65, "role": "auditor"}, None),
        ({"username": "bad name!", "role": "auditor"}, None),
        ({"username": "ok_name", "role": "auditor", "display_name": "名" * 81}, None),
        ({"username": "ok_name", "role": "emperor"}, None),
        ({"username": "ok_name", "role": ""}, None),
        ({"username": "ok_name", "role": "farmer", "collectives": ["999999"]}, None),
        ({"username": "ok_name", "role": "farmer", "collectives": ["abc"]}, None),
    ],
)
def test_bad_input_is_refused_at_the_field_and_writes_nothing(
    auth, client, baseline, fields, field_text
):
    as_sysadmin(auth)
    if fields.get("collectives") == ["A"]:
        fields = {**fields, "collectives": [str(baseline.collective_a)]}
    before = count_users()
    r = create(client, **fields)
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert 'class="field-error"' in text
    if field_text:
        assert field_text in text
    assert count_users() == before
    assert user_named("ok_name") is None


def test_county_role_with_collectives_says_why(auth, client, baseline):
    as_sysadmin(auth)
    r = create(client, username="ok_name", role="auditor", collectives=[str(baseline.collective_a)])
    assert r.status_code == 422
    assert "全县" in r.get_data(as_text=True)


def test_itadmin_changes_role_and_collectives_on_record(auth, client, baseline):
    as_sysadmin(auth)
    uid = baseline.users["admin_a"]
    page = client.get(f"/admin/users/{uid}/edit")
    assert page.status_code == 200
    r = client.post(
        f"/admin/users/{uid}/edit",
        data={
            "display_name": "甲管理员",
            "role": "collective_admin",
            "collectives": [str(baseline.collective_a), str(baseline.collective_b)],
        },
    )
    assert r.status_code == 302
    user = db.session.get(User, uid)
    db.session.refresh(user)
    assert user.collective_ids == {baseline.collective_a, baseline.collective_b}
    assert user.display_name == "甲管理员"
    assert db.session.scalar(
        sa.select(AuditEntry.seq).where(
            AuditEntry.event == "user.update", AuditEntry.actor == "sysadmin"
        )
    )
    # A county role with collectives is refused and changes nothing.
    r = client.post(
        f"/admin/users/{uid}/edit",
        data={"role": "auditor", "collectives": [str(baseline.collective_a)]},
    )
    assert r.status_code == 422 and 'class="field-error"' in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, uid).role == "collective_admin"


def test_itadmin_cannot_change_own_role(auth, client, baseline):
    as_sysadmin(auth)
    uid = baseline.users["sysadmin"]
    r = client.post(f"/admin/users/{uid}/edit", data={"role": "auditor"})
    assert r.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, uid).role == "system_admin"


def test_reset_ends_the_old_password_sessions_and_tokens(app, auth, client, baseline):
    victim = app.test_client()
    assert Auth(victim).login("admin_b").status_code == 302
    assert victim.get("/collectives").status_code == 200
    token = token_for(app, "admin_b")
    as_sysadmin(auth)
    uid = baseline.users["admin_b"]
    r = client.post(f"/admin/users/{uid}/reset-password")
    assert r.status_code == 200
    password = shown_password(r.get_data(as_text=True))
    assert password != PASSWORD
    # The open session is over, the token revoked, the old password refused.
    assert victim.get("/collectives").status_code == 302
    assert victim.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == uid, UserSession.ended_at.is_(None))
        )
        == 0
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ApiToken)
            .where(ApiToken.user_id == uid, ApiToken.revoked_at.is_(None))
        )
        == 0
    )
    other = app.test_client()
    assert Auth(other).login("admin_b", PASSWORD).status_code == 401
    assert Auth(other).login("admin_b", password).status_code == 302
    r = other.get("/collectives")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account")
    # Nor does the API serve them until the password is theirs.
    fresh = token_for(app, "admin_b")
    r = other.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"})
    assert r.status_code == 403
    # The reset is on record; the password is not.
    resets = list(
        db.session.scalars(sa.select(AuditEntry).where(AuditEntry.event == "auth.password_reset"))
    )
    assert resets
    everything = db.session.scalars(sa.select(AuditEntry.after)).all()
    assert not any(password in (a or "") for a in everything)


@pytest.mark.authz
@pytest.mark.parametrize("username", ["admin_a", "farmer_a", "bureau", "officer", "auditor"])
def test_admin_pages_do_not_exist_for_anyone_else(auth, client, baseline, username):
    uid = baseline.users["admin_b"]
    auth.login(username)
    before = count_users()
    for method, path in [
        ("get", "/admin/users"),
        ("get", "/admin/logins"),
        ("get", "/admin/users/new"),
        ("post", "/admin/users/new"),
        ("get", f"/admin/users/{uid}/edit"),
        ("post", f"/admin/users/{uid}/edit"),
        ("post", f"/admin/users/{uid}/reset-password"),
        ("post", f"/admin/users/{uid}/deactivate"),
        ("post", f"/admin/users/{uid}/activate"),
        ("post", f"/admin/users/{uid}/unlock"),
        ("post", f"/admin/users/{uid}/logout-everywhere"),
        ("post", f"/admin/users/{uid}/revoke-tokens"),
    ]:
        data = {"username": "sneaky", "role": "system_admin"} if method == "post" else None
        r = getattr(client, method)(path, data=data)
        assert r.status_code == 404, (method, path)
    assert count_users() == before
    db.session.expire_all()
    assert db.session.get(User, uid).role == "collective_admin"


@pytest.mark.authz
def test_unknown_user_is_a_404_for_the_admin(auth, client):
    as_sysadmin(auth)
    assert client.get("/admin/users/999999/edit").status_code == 404
    assert client.post("/admin/users/999999/reset-password").status_code == 404
