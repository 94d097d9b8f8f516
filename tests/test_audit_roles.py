"""R16 on PostgreSQL: the app's role cannot change or remove audit entries, in replica mode too.

The whole PostgreSQL run already connects as a role that owns no table (tests/conftest.py); these
tests try what an attacker holding that role, or the tables' owner, would try. Roles, grants and
``session_replication_role`` exist on PostgreSQL only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.roles import CHECK_SQL, app_role_problems
from app.extensions import db
from tests.conftest import APP_ROLE, OWNER_ROLE, PG_ADMIN_URL, _admin_engine

# Roles and replica mode are PostgreSQL's: tests/conftest.py collects this module only there.
pytestmark = [pytest.mark.hostile]

DEPLOYMENT = Path(__file__).resolve().parent.parent / "docs" / "DEPLOYMENT.md"

REWRITES = {
    "update": "UPDATE audit_entry SET actor = 'mallory' WHERE seq = 7",
    "delete": "DELETE FROM audit_entry WHERE seq > 100",
    "truncate": "TRUNCATE audit_entry",
}


@pytest.fixture
def replica_allowed() -> Iterator[None]:
    """Both roles may set session_replication_role (PostgreSQL 15+), as the README once asked
    operators to grant for faster imports; taken back after the test (it is cluster-wide)."""
    admin = _admin_engine()
    grantees = f"{APP_ROLE}, {OWNER_ROLE}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"GRANT SET ON PARAMETER session_replication_role TO {grantees}")
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f"REVOKE SET ON PARAMETER session_replication_role FROM {grantees}"
            )
        admin.dispose()


@pytest.mark.parametrize("mode", ["origin", "replica"])
@pytest.mark.parametrize("action", sorted(REWRITES))
def test_r16_app_role_cannot_change_the_log(app, replica_allowed, mode, action):
    with app.app_context():
        conn = db.session.connection()
        assert conn.exec_driver_sql("SELECT current_user").scalar() == APP_ROLE
        conn.exec_driver_sql(f"SET LOCAL session_replication_role = {mode}")  # allowed...
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql(REWRITES[action])  # ...and of no help
        db.session.rollback()


@pytest.mark.parametrize("action", sorted(REWRITES))
def test_r16_owner_in_replica_mode_cannot_change_the_log(app, replica_allowed, action):
    """The triggers fire always: replica mode, which skips ordinary triggers, skips not these."""
    owner = sa.create_engine(app.config["MIGRATION_DATABASE_URL"])
    try:
        with owner.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == OWNER_ROLE
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                conn.exec_driver_sql(REWRITES[action])
            conn.rollback()
            count = conn.exec_driver_sql("SELECT count(*) FROM audit_entry").scalar()
        assert count > 100  # the baseline's entries are all there
    finally:
        owner.dispose()


def test_r16_the_app_role_passes_the_deployment_check(app):
    """What docs/DEPLOYMENT.md asks operators to run as the app, run as the app: nothing wrong."""
    with app.app_context():
        conn = db.session.connection()
        assert app_role_problems(conn) == []
        row = conn.execute(sa.text(CHECK_SQL)).mappings().one()
    assert dict(row) == {
        "superuser": False,
        "tables_owned": 0,
        "may_rewrite_log": False,
        "may_append_log": True,
        "triggers_always": True,
        "may_set_replica": False,
    }
    assert CHECK_SQL.strip() in DEPLOYMENT.read_text(encoding="utf-8")


def test_r16_the_owner_fails_the_deployment_check(app):
    owner = sa.create_engine(app.config["MIGRATION_DATABASE_URL"])
    try:
        with owner.connect() as conn:
            problems = app_role_problems(conn)
    finally:
        owner.dispose()
    assert any("owns" in p for p in problems)
    assert any("UPDATE, DELETE or TRUNCATE" in p for p in problems)


def test_r16_grant_app_is_idempotent_and_keeps_the_log_append_only(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["db", "grant-app", APP_ROLE])
        assert result.exit_code == 0, result.output
        assert (
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.audit_entry "
            f"FROM {APP_ROLE};" in result.output
        )
    with app.app_context():
        assert app_role_problems(db.session.connection()) == []


@pytest.mark.parametrize(
    "role, message",
    [
        (OWNER_ROLE, "the owner or a member of it"),
        (sa.engine.make_url(PG_ADMIN_URL).username, "a superuser"),
        ("no_such_role_x", "there is no role"),
    ],
    # stable ids: the owner role's name differs in each parallel worker
    ids=["owner", "superuser", "unknown"],
)
def test_r16_grant_app_refuses_a_role_that_could_rewrite_the_log(app, role, message):
    result = app.test_cli_runner().invoke(args=["db", "grant-app", role])
    assert result.exit_code == 2
    assert message in result.output


def test_r16_migration_revokes_rewrites_granted_to_anyone(fresh_app):
    """Granted by mistake, a rewrite still meets the triggers; migration 0004 takes the grant
    back from every role but the owner (PUBLIC included)."""
    from flask_migrate import downgrade, upgrade

    owner = sa.create_engine(
        fresh_app.config["MIGRATION_DATABASE_URL"], isolation_level="AUTOCOMMIT"
    )
    try:
        with owner.connect() as conn:
            conn.exec_driver_sql(f"GRANT ALL ON audit_entry TO {APP_ROLE}, PUBLIC")
        with fresh_app.app_context():
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                db.session.execute(sa.text(REWRITES["delete"]))
            db.session.rollback()
            assert "may UPDATE, DELETE or TRUNCATE" in " ".join(
                app_role_problems(db.session.connection())
            )
            db.session.rollback()
            downgrade(revision="0003")
            upgrade()
            assert app_role_problems(db.session.connection()) == []
            db.session.rollback()
    finally:
        owner.dispose()


def test_r16_verify_warns_when_the_app_could_rewrite_the_log(fresh_app):
    """An app run as the owner by mistake: the check still passes, and says what is wrong.
    (On a database of its own: the harness's per-test session is the app role's.)"""
    from tests.conftest import app_for

    as_owner = app_for(fresh_app.config["MIGRATION_DATABASE_URL"])
    try:
        result = as_owner.test_cli_runner().invoke(args=["audit", "verify"])
    finally:
        with as_owner.app_context():
            db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "warning: the app's role owns" in result.output
    assert "warning: the app's role may UPDATE, DELETE or TRUNCATE the audit log" in result.output
    plain = fresh_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert plain.exit_code == 0 and "warning" not in plain.output
