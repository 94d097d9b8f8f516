"""Test set-up: a real spatial database (SpatiaLite or PostGIS), migrated once per session.

    SANQUAN_TEST_DB=sqlite      (default) a SpatiaLite file in a temporary folder
    SANQUAN_TEST_DB=postgresql  a throwaway database on SANQUAN_TEST_PG_URL (default: local server)

The schema comes from the migrations (so they are tested by every run), a baseline of divisions,
two collectives and one user per role is committed once, and each test then runs inside a
transaction that is rolled back, so tests do not see each other's writes.

On PostgreSQL the run is deployed as docs/DEPLOYMENT.md says: two roles made for this session
(roles are cluster-wide, so their names are unique; both dropped at the end), an owner that
owns each test database and runs the migrations (MIGRATION_DATABASE_URL), and the app's role,
which owns nothing and may only add to the audit log. Every test's app connects as the latter.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.audit import trail
from app.extensions import db
from tests.api_contract import ContractClient

PASSWORD = "test-pass-2026"
COLLECTIVE_A = "44022210020501"  # 东湖坪村 group 01, 太平镇
COLLECTIVE_B = "44022210021100"  # 瑶村村 (village level), 太平镇

#: Shared worlds: the market's selling family and buyers (settlement and oversight tests too).
pytest_plugins = ["tests.market_world"]

BACKEND = os.environ.get("SANQUAN_TEST_DB", "sqlite")
# Modules about one backend's own features (roles, replica mode) are collected only on it, so
# the other backend's run neither skips nor pretends to test them.
POSTGRESQL_ONLY = ["test_audit_roles.py"]
collect_ignore = [] if BACKEND == "postgresql" else POSTGRESQL_ONLY
PG_ADMIN_URL = os.environ.get(
    "SANQUAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header(config):
    return f"sanquan test database: {BACKEND}"


def _admin_engine() -> sa.Engine:
    from app.config import normalise_database_url

    return sa.create_engine(normalise_database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


_SESSION = uuid.uuid4().hex[:8]
OWNER_ROLE = f"sanquan_test_owner_{_SESSION}"
APP_ROLE = f"sanquan_test_app_{_SESSION}"
_roles_made = False
# the app role's URL of each test database -> the owner's (for migrations and grants)
MIGRATION_URLS: dict[str, str] = {}


def _make_roles(admin: sa.Engine) -> None:
    global _roles_made
    if not _roles_made:
        with admin.connect() as conn:
            for role in (OWNER_ROLE, APP_ROLE):
                conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB")
        _roles_made = True


def pytest_sessionfinish(session, exitstatus):
    """Drop this session's roles (their databases are gone by now)."""
    if not _roles_made:
        return
    admin = _admin_engine()
    with admin.connect() as conn:
        # privileges on cluster-wide objects (e.g. SET on a parameter a test granted) go too
        conn.exec_driver_sql(f"DROP OWNED BY {OWNER_ROLE}, {APP_ROLE}")
        for role in (APP_ROLE, OWNER_ROLE):
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
    admin.dispose()


def superuser_engine(app: Flask) -> sa.Engine | None:
    """PostgreSQL: a superuser's engine on ``app``'s database, for tests that must tamper with
    what the app cannot (the caller disposes of it). None on SQLite, which has no roles."""
    if BACKEND != "postgresql":
        return None
    name = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    return sa.create_engine(_admin_engine().url.set(database=name), isolation_level="AUTOCOMMIT")


def make_database(tmp_path_factory) -> tuple[str, callable]:
    """A new empty spatial database; returns (the app's url, drop).

    On PostgreSQL it is owned by this session's owner role, and the app's url is the app role's;
    ``app_for`` passes the owner's to the app as MIGRATION_DATABASE_URL."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        return f"sqlite:///{path}", lambda: None
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"SANQUAN_TEST_DB must be sqlite or postgresql, not {BACKEND}")
    from app.audit.roles import grant_app

    name = f"sanquan_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    _make_roles(admin)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
    eng = sa.create_engine(admin.url.set(database=name))
    with eng.begin() as conn:  # PostGIS is not a trusted extension: the superuser adds it
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    eng.dispose()
    owner_url = admin.url.set(database=name, username=OWNER_ROLE, password=None)
    url = owner_url.set(username=APP_ROLE)
    eng = sa.create_engine(owner_url)
    with eng.begin() as conn:  # before any table: default privileges, as DEPLOYMENT.md says
        grant_app(conn, APP_ROLE)
    eng.dispose()
    return _registered(admin, url, owner_url)


def _registered(admin: sa.Engine, url: sa.URL, owner_url: sa.URL) -> tuple[str, callable]:
    """A new PostgreSQL database's (app's url, drop), its owner's url kept for ``app_for``."""
    MIGRATION_URLS[url.render_as_string(hide_password=False)] = owner_url.render_as_string(
        hide_password=False
    )

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


_DOCUMENTS = tempfile.mkdtemp(prefix="sanquan-test-documents-")
_AUDIT_HEADS = tempfile.mkdtemp(prefix="sanquan-test-audit-heads-")


def app_for(url: str, **extra) -> Flask:
    application = create_app(
        {
            "TESTING": True,
            "DOCUMENT_STORE": _DOCUMENTS,
            "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATION_DATABASE_URL": MIGRATION_URLS.get(url),
            # one per app: the head `flask audit verify` saw belongs to that app's database
            "AUDIT_HEAD_FILE": os.path.join(_AUDIT_HEADS, f"{uuid.uuid4().hex}.json"),
            # …and so do the checkpoints `flask audit verify` compares it with
            "AUDIT_CHECKPOINT_DIR": os.path.join(_AUDIT_HEADS, f"checkpoints-{uuid.uuid4().hex}"),
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            # a real hash, cheaply: the suite creates and logs in thousands of users
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **extra,
        }
    )
    # Every API answer in the suite is validated against the OpenAPI document.
    application.test_client_class = ContractClient
    return application


@dataclass
class Baseline:
    collective_a: int
    collective_b: int
    users: dict[str, int]


def build_baseline() -> Baseline:
    from app.auth.services import create_user
    from app.divisions.loader import bundled_file, load_divisions
    from app.divisions.services import create_collective

    with trail.acting(trail.AuditContext(actor="test-setup", role="system")):
        load_divisions(bundled_file("440222"))
        a = create_collective(COLLECTIVE_A, "东湖坪村第一村民小组")
        b = create_collective(COLLECTIVE_B, "瑶村村股份经济合作社")
        users = {}
        for username, role, coll in [
            ("admin_a", "collective_admin", [a.id]),
            ("admin_b", "collective_admin", [b.id]),
            ("farmer_a", "farmer", [a.id]),
            ("farmer_b", "farmer", [b.id]),
            ("bureau", "bureau_reviewer", None),
            ("officer", "settlement_officer", None),
            ("auditor", "auditor", None),
            ("sysadmin", "system_admin", None),
        ]:
            users[username] = create_user(username, PASSWORD, role, collective_ids=coll).id
        db.session.commit()
    return Baseline(collective_a=a.id, collective_b=b.id, users=users)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    url, drop = make_database(tmp_path_factory)
    yield url
    drop()


@pytest.fixture(scope="session")
def app(database_url) -> Iterator[Flask]:
    from flask_migrate import upgrade

    application = app_for(database_url)
    with application.app_context():
        upgrade()
        application.extensions["sanquan_baseline"] = build_baseline()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def baseline(app) -> Baseline:
    return app.extensions["sanquan_baseline"]


@pytest.fixture(autouse=True)
def _transaction(request, app) -> Iterator[None]:
    """Each test inside one outer transaction, rolled back at the end.

    No application context stays pushed during the test, so every test-client request gets its
    own (and its own g, login and locale), as in production.
    """
    if any(name.startswith("fresh_") for name in request.fixturenames):
        yield  # tests on their own database commit for real
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = original
        with app.app_context():
            outer.rollback()
            connection.close()
        trail.set_context(None)


@pytest.fixture
def ctx(app) -> Iterator[None]:
    """An app context acting as a named test actor (for calling services directly)."""
    with (
        app.app_context(),
        app.test_request_context(),
        trail.acting(trail.AuditContext(actor="tester", role="collective_admin")),
    ):
        yield


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD):
        return self.client.post(
            "/login", data={"username": username, "password": password}, follow_redirects=False
        )

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


@pytest.fixture
def fresh_app(tmp_path_factory) -> Iterator[Flask]:
    """A separately migrated database with real commits, for concurrency and crash tests."""
    from flask_migrate import upgrade

    url, drop = make_database(tmp_path_factory)
    application = app_for(url)
    with application.app_context():
        upgrade()
        application.extensions["sanquan_baseline"] = build_baseline()
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@dataclass(frozen=True)
class DemoTemplate:
    """The demo county seeded once in this test process: its database and what the seed printed."""

    url: str
    output: str


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Iterator[DemoTemplate]:
    """The demo county, seeded once per test process by the real `flask demo seed` on a newly
    migrated database, as `./dev.sh serve` seeds it on first start. Tests never use it directly:
    ``demo_county_app`` gives each user its own copy (seeding costs 10-30 seconds, a copy under
    one)."""
    from flask_migrate import upgrade

    url, drop = make_database(tmp_path_factory)
    application = app_for(url)
    with application.app_context():
        upgrade()
    result = application.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with application.app_context():
        db.session.remove()
        db.engine.dispose()  # a PostgreSQL template must have no connection when it is copied
    yield DemoTemplate(url, result.output)
    drop()


def copy_database(tmp_path_factory, url: str) -> tuple[str, callable]:
    """A new database holding what the database at ``url`` holds; returns (the app's url, drop)."""
    if BACKEND == "sqlite":
        import sqlite3

        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        source = sqlite3.connect(sa.engine.make_url(url).database)
        target = sqlite3.connect(path)
        try:
            source.backup(target)  # consistent whatever the journal mode
        finally:
            target.close()
            source.close()
        return f"sqlite:///{path}", lambda: None
    template = sa.engine.make_url(url).database
    name = f"sanquan_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER {OWNER_ROLE}')
    new = sa.engine.make_url(url).set(database=name)
    return _registered(admin, new, sa.engine.make_url(MIGRATION_URLS[url]).set(database=name))


@contextmanager
def demo_county_app(template: DemoTemplate, tmp_path_factory, **extra) -> Iterator[Flask]:
    """An app on its own copy of the seeded demo county (``extra`` is its configuration, e.g.
    WTF_CSRF_ENABLED=True as in production); the copy is dropped on leaving. Use it from a
    fixture whose name starts with fresh_, so no test transaction wraps it: it commits for real."""
    url, drop = copy_database(tmp_path_factory, template.url)
    application = app_for(url, **extra)
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


def token_for(app: Flask, username: str) -> str:
    from app.auth.models import User
    from app.auth.services import issue_token

    with app.app_context(), trail.acting(trail.AuditContext(actor="test-setup", role="system")):
        user = db.session.scalar(sa.select(User).where(User.username == username))
        token = issue_token(user)
        db.session.commit()  # in the harness: releases a savepoint; rolled back after the test
        return token
