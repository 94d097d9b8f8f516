"""Test set-up: a real spatial database (SpatiaLite or PostGIS), migrated once per session.

    SANQUAN_TEST_DB=sqlite      (default) a SpatiaLite file in a temporary folder
    SANQUAN_TEST_DB=postgresql  a throwaway database on SANQUAN_TEST_PG_URL (default: local server)

The schema comes from the migrations (so they are tested by every run), a baseline of divisions,
two collectives and one user per role is committed once, and each test then runs inside a
transaction that is rolled back, so tests do not see each other's writes.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.audit import trail
from app.extensions import db

PASSWORD = "test-pass-2026"
COLLECTIVE_A = "44022210020501"  # 东湖坪村 group 01, 太平镇
COLLECTIVE_B = "44022210021100"  # 瑶村村 (village level), 太平镇

BACKEND = os.environ.get("SANQUAN_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "SANQUAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header(config):
    return f"sanquan test database: {BACKEND}"


def _admin_engine() -> sa.Engine:
    from app.config import normalise_database_url

    return sa.create_engine(normalise_database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


def make_database(tmp_path_factory) -> tuple[str, callable]:
    """A new empty spatial database; returns (url, drop)."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        return f"sqlite:///{path}", lambda: None
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"SANQUAN_TEST_DB must be sqlite or postgresql, not {BACKEND}")
    name = f"sanquan_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name)
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    eng.dispose()

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


_DOCUMENTS = tempfile.mkdtemp(prefix="sanquan-test-documents-")


def app_for(url: str, **extra) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DOCUMENT_STORE": _DOCUMENTS,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            **extra,
        }
    )


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


def token_for(app: Flask, username: str) -> str:
    from app.auth.models import User
    from app.auth.services import issue_token

    with app.app_context(), trail.acting(trail.AuditContext(actor="test-setup", role="system")):
        user = db.session.scalar(sa.select(User).where(User.username == username))
        token = issue_token(user)
        db.session.commit()  # in the harness: releases a savepoint; rolled back after the test
        return token
