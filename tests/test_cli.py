"""The command line: users, divisions, audit — clear messages on bad arguments."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.models import User
from app.extensions import db


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def test_users_create_then_list_shows_username_first(cli):
    r = cli.invoke(
        args=[
            "users",
            "create",
            "clerk2",
            "--role",
            "bureau_reviewer",
            "--password",
            "clerk-pass-99",
        ]
    )
    assert r.exit_code == 0, r.output
    lines = cli.invoke(args=["users", "list"]).output.splitlines()
    assert any(line.split("\t")[0] == "clerk2" for line in lines)
    assert all(line.split("\t")[0] for line in lines)


def test_scoped_user_needs_a_real_collective(cli):
    r = cli.invoke(
        args=[
            "users",
            "create",
            "clerk3",
            "--role",
            "collective_admin",
            "--password",
            "clerk-pass-99",
            "--collective",
            "44022299999999",
        ]
    )
    assert r.exit_code == 2
    assert "no collective" in r.output
    r = cli.invoke(
        args=[
            "users",
            "create",
            "clerk3",
            "--role",
            "collective_admin",
            "--password",
            "clerk-pass-99",
        ]
    )
    assert r.exit_code == 2
    assert "至少关联一个集体经济组织" in r.output


@pytest.mark.hostile
@pytest.mark.parametrize(
    "args,message",
    [
        (["users", "create", "x", "--role", "farmer", "--password", "abcdefghij1"], "用户名"),
        (
            ["users", "create", "okname", "--role", "bureau_reviewer", "--password", "short1"],
            "至少 10 位",
        ),
        (
            [
                "users",
                "create",
                "admin_a",
                "--role",
                "bureau_reviewer",
                "--password",
                "abcdefghij1",
            ],
            "已被占用",
        ),
        (["users", "token", "ghost"], "no user ghost"),
        (["divisions", "load", "/no/such/file.csv"], "no such file"),
    ],
)
def test_bad_arguments_get_a_message_not_a_traceback(cli, args, message):
    r = cli.invoke(args=args)
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output


def test_users_create_rejects_an_unknown_role(cli):
    r = cli.invoke(
        args=["users", "create", "someone", "--role", "king", "--password", "abcdefghij1"]
    )
    assert r.exit_code == 2 and "king" in r.output


def test_token_printed_on_last_line_opens_the_api(app, cli):
    r = cli.invoke(args=["users", "token", "auditor"])
    assert r.exit_code == 0
    token = r.output.strip().splitlines()[-1]
    db.session.commit()
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["username"] == "auditor"


def test_divisions_load_is_idempotent_and_reports_quirks(cli):
    r = cli.invoke(args=["divisions", "load", "440222"])
    assert r.exit_code == 0
    assert "0 new" in r.output and "140 unchanged" in r.output
    assert "隘了镇居委会" in r.output and "新村委会村委会" in r.output
    assert "瑶民村委会" in r.output and "missing_coordinates" in r.output


def test_users_created_on_the_cli_are_audited(cli):
    from app.audit.models import AuditEntry

    cli.invoke(
        args=["users", "create", "clerk9", "--role", "auditor", "--password", "clerk-pass-99"]
    )
    user = db.session.scalar(sa.select(User).where(User.username == "clerk9"))
    entry = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.object_type == "app_user", AuditEntry.object_id == str(user.id)
        )
    ).one()
    assert entry.actor == "cli" and entry.event == "user.create"


def test_a_password_typed_on_the_cli_must_be_changed_at_the_first_login(cli, client, auth):
    r = cli.invoke(
        args=["users", "create", "clerk7", "--role", "auditor", "--password", "clerk-pass-77"]
    )
    assert r.exit_code == 0, r.output
    assert "changed at the first login" in r.output
    auth.login("clerk7", "clerk-pass-77")
    # Every page sends the new user to choose their own password first.
    r = client.get("/audit/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account")


def test_keep_password_is_for_the_account_holders_own_password(cli, client, auth):
    r = cli.invoke(
        args=[
            "users",
            "create",
            "clerk8",
            "--role",
            "auditor",
            "--password",
            "clerk-pass-88",
            "--keep-password",
        ]
    )
    assert r.exit_code == 0, r.output
    auth.login("clerk8", "clerk-pass-88")
    assert client.get("/audit/").status_code == 200
    # A password set later by the operator for them must be replaced again.
    r = cli.invoke(args=["users", "password", "clerk8", "--password", "clerk-pass-89"])
    assert r.exit_code == 0, r.output
    assert db.session.scalar(sa.select(User).where(User.username == "clerk8")).must_change_password
    auth.login("clerk8", "clerk-pass-89")
    assert client.get("/audit/").headers["Location"].endswith("/account")
