"""The two spatial databases: SpatiaLite (embedded default) and PostGIS (production).

Everything dialect-specific about connecting lives here. Services ask `backend()` when a
query must differ, never the URL.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Any

import sqlean
from flask import Flask
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

# Whether the transaction about to begin will write. On SQLite a transaction that reads first and
# writes later can fail with SQLITE_BUSY when another writer got in between; writers therefore
# begin with BEGIN IMMEDIATE (take the write lock up front, wait for it with busy_timeout) while
# plain page views begin deferred and never block each other. Default: write, because the
# command line, jobs and tests all write.
# How long a SQLite connection waits for the write lock before SQLITE_BUSY.
SQLITE_BUSY_TIMEOUT_MS = 30000

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


def set_write_intent(value: bool) -> None:
    _write_intent.set(value)


@contextmanager
def write_intent(value: bool = True):
    token = _write_intent.set(value)
    try:
        yield
    finally:
        _write_intent.reset(token)


def backend(engine: Engine) -> str:
    """'sqlite' or 'postgresql'."""
    return engine.dialect.name


def engine_options(app: Flask, uri: str | None = None) -> dict[str, Any]:
    uri = uri or app.config["SQLALCHEMY_DATABASE_URI"]
    opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        # The interpreter's own sqlite3 often lacks load_extension; sqlean's does not.
        opts.setdefault("module", sqlean.dbapi2)
        opts.setdefault("connect_args", {}).setdefault("timeout", 30)
    else:
        opts.setdefault("pool_pre_ping", True)
    return opts


def install_sqlite_hooks(engine: Engine, spatialite: str) -> None:
    """Load SpatiaLite on every connection and take over transaction control from pysqlite."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see "begin" below)
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(spatialite)
        dbapi_conn.enable_load_extension(False)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("SELECT count(*) FROM sqlite_master WHERE name = 'spatial_ref_sys'")
        if cur.fetchone()[0] == 0:
            # The argument 1 makes it one transaction: 0.3 s instead of many seconds.
            cur.execute("SELECT InitSpatialMetadata(1)")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def install_postgres_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.commit()


def configure_engine(app: Flask, engine: Engine) -> None:
    if backend(engine) == "sqlite":
        install_sqlite_hooks(engine, app.config["SPATIALITE_LIBRARY"])
    else:
        install_postgres_hooks(engine)


def describe(engine: Engine) -> str:
    return "sqlite+spatialite" if backend(engine) == "sqlite" else "postgresql+postgis"


def migration_engine(app: Flask) -> Engine | None:
    """An engine on ``MIGRATION_DATABASE_URL`` (the tables' owner), or None when unset.

    Migrations and grants run as the owner; the app itself connects as a role that owns no table,
    so it can neither switch the audit log's triggers off nor rewrite the log. The caller
    disposes of the engine.
    """
    from app.config import normalise_database_url

    url = app.config.get("MIGRATION_DATABASE_URL")
    if not url:
        return None
    url = normalise_database_url(url)
    opts = {k: v for k, v in engine_options(app, url).items() if k != "pool_pre_ping"}
    engine = create_engine(url, poolclass=NullPool, **opts)
    configure_engine(app, engine)
    return engine
