"""Configuration, layered: defaults here -> instance/config.py -> environment -> test overrides.

Every setting a deployment may change is read from the environment under the same name, so a
container needs no file of its own.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any


class Defaults:
    # Embedded default database: a SpatiaLite file under instance/ (path filled in by create_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SECRET_KEY: str | None = None  # generated into instance/ on first start when not given

    # Projected CRS of every stored geometry. CGCS2000 / 3-degree Gauss-Kruger CM 114E suits
    # Shixing; Guangdong also spans 4546 (CM 111E) and 4548 (CM 117E). Fixed when the database is
    # created: the schema is built with it, and the app refuses to start on a mismatch.
    REGISTRY_SRID = 4547
    SPATIALITE_LIBRARY = "mod_spatialite"

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    # Sessions: bounded, not readable from script, not sent cross-site.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set true behind HTTPS: Secure cookies and HSTS
    # Reverse proxies in front of the app (nginx: 1). Only then are X-Forwarded-For/-Proto
    # believed, so the client address (login throttling, audit) and https come from the proxy.
    TRUSTED_PROXIES = 0
    REMEMBER_COOKIE_DURATION = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Sessions and accounts (issue 9). A login is a server-side session (table user_session); the
    # cookie carries only its random key. It ends at logout, and PERMANENT_SESSION_LIFETIME after
    # login at the latest, however busy it is (the cookie's expiry does not slide either).
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_IDLE_MINUTES = 120  # a session unused this long ends too; 0 = no idle limit
    # Login throttling, counted per attempted username (existing or not) and per client address:
    # past LOGIN_FREE_FAILURES a username must wait 2, 4, 8 ... seconds (at most
    # LOGIN_MAX_DELAY_SECONDS) between attempts; LOGIN_MAX_FAILURES lock it for
    # LOGIN_LOCK_MINUTES (or until an administrator unlocks it). An address gets the growing
    # delay past LOGIN_ADDRESS_FREE_FAILURES, never a lock. Failures older than
    # LOGIN_FAILURE_MEMORY_MINUTES are forgotten.
    LOGIN_FREE_FAILURES = 3
    LOGIN_MAX_DELAY_SECONDS = 300
    LOGIN_MAX_FAILURES = 10
    LOGIN_LOCK_MINUTES = 15
    LOGIN_ADDRESS_FREE_FAILURES = 20
    LOGIN_FAILURE_MEMORY_MINUTES = 60
    # Rate limits (Flask-Limiter), "N per second|minute|hour|day". Counted in Redis when
    # REDIS_URL is set (shared by every worker), otherwise in each process's memory.
    RATELIMIT_ENABLED = True
    RATELIMIT_LOGIN = "10 per minute"  # login attempts per client address (page and API)
    RATELIMIT_LOGIN_ALL = "300 per minute"  # login attempts of all clients together
    RATELIMIT_TOKEN = "20 per hour"  # noqa: S105  (API tokens issued per client address)
    RATELIMIT_API = "600 per minute"  # API requests per user (per address before login)
    RATELIMIT_HEADERS_ENABLED = True  # X-RateLimit-* and Retry-After on limited routes

    API_TOKEN_DAYS = 90
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    # Source documents (来源材料): largest accepted file, and where the files are kept
    # (None = instance/documents). Files are content-addressed by their SHA-256.
    DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
    DOCUMENT_STORE: str | None = None

    # Policy choices of DOMAIN.md, kept configurable.
    OVERLAP_TOLERANCE_M2 = 1.0
    SHARE_CAP_PERCENT = 5.0  # R11 default when a charter sets none
    PUBLIC_NOTICE_DAYS = 7
    CONTRACT_RENEWAL_WINDOW_YEARS = 5  # a contract may be renewed in the last N years of its term
    COOLING_OFF_DAYS = 15  # R13
    SETTLEMENT_FLAG_DAYS = 180  # R14
    # R8: does a paid exit (有偿退出) of a homestead bar the household from a new one?
    HOMESTEAD_PAID_EXIT_BARS: bool = True
    # R7: a declared homestead area may differ from its outline's measured area by this much.
    HOMESTEAD_AREA_TOLERANCE_M2: float = 2.0

    REDIS_URL: str | None = None  # set to use RQ for background jobs; otherwise in-process

    # Bulk import (flask import parcels, the import page).
    IMPORT_STORE: str | None = None  # where imported files are kept (None = instance/imports)
    IMPORT_BATCH = 8_000  # features read, checked and staged at a time: memory follows it
    IMPORT_EAGER = True  # PostgreSQL: write the registry beside validation (app/imports/eager.py)
    IMPORT_AREA_MISMATCH_PERCENT = 10.0  # contract vs measured area: a warning beyond this
    # Reading uploads (app/imports/sandbox.py): each read runs in a process of its own with
    # these limits; a file beyond them fails its import with a plain reason.
    IMPORT_READER_MEMORY_MB = 2048  # address space of the reading process
    IMPORT_READER_SECONDS = 900  # its CPU seconds, and how long the import waits for it
    IMPORT_MAX_FEATURES = 2_000_000  # features (or table rows) of one file
    IMPORT_MAX_VERTICES = 100_000  # vertices of one feature
    IMPORT_MAX_UNZIPPED_BYTES = 2 * 1024**3  # a zip's (or XLSX's) members unpacked, in all
    IMPORT_MAX_ZIP_MEMBERS = 1_000  # files inside one zip or XLSX

    # The audit log nobody can rewrite (docs/DEPLOYMENT.md). On PostgreSQL the app connects as a
    # role that owns no table (DATABASE_URL); `flask db ...` (migrations, grant-app) connects as
    # the tables' owner: MIGRATION_DATABASE_URL, or DATABASE_URL when unset (embedded SQLite).
    MIGRATION_DATABASE_URL: str | None = None
    # Where `flask audit verify` keeps the chain head it last saw, outside the database, so a cut
    # or rewritten tail is noticed (None = instance/audit_head.json).
    AUDIT_HEAD_FILE: str | None = None

    # Bounded work (issue 9, item 2).
    # A report keeps at most this many problems of each kind (all are counted: "and N more").
    IMPORT_REPORT_MAX_PER_KIND = 1000
    # A running job writes a heartbeat every few seconds; one silent for longer than this is
    # shown and returned as failed (its process stopped) and may be discarded.
    IMPORT_HEARTBEAT_STALE_SECONDS = 120
    # The registry's overlap check of one plot returns at most this many overlapping plots.
    OVERLAP_MAX_HITS = 200


# Environment variables read over the file config, with their types.
_ENV: dict[str, type] = {
    "SECRET_KEY": str,
    "REGISTRY_SRID": int,
    "SPATIALITE_LIBRARY": str,
    "SESSION_COOKIE_SECURE": bool,
    "TRUSTED_PROXIES": int,
    "OVERLAP_TOLERANCE_M2": float,
    "SHARE_CAP_PERCENT": float,
    "PUBLIC_NOTICE_DAYS": int,
    "DOCUMENT_MAX_BYTES": int,
    "DOCUMENT_STORE": str,
    "COOLING_OFF_DAYS": int,
    "SETTLEMENT_FLAG_DAYS": int,
    "HOMESTEAD_PAID_EXIT_BARS": bool,
    "HOMESTEAD_AREA_TOLERANCE_M2": float,
    "LOGIN_MAX_FAILURES": int,
    "LOGIN_LOCK_MINUTES": int,
    "SESSION_IDLE_MINUTES": int,
    "LOGIN_FREE_FAILURES": int,
    "LOGIN_MAX_DELAY_SECONDS": int,
    "LOGIN_ADDRESS_FREE_FAILURES": int,
    "LOGIN_FAILURE_MEMORY_MINUTES": int,
    "RATELIMIT_ENABLED": bool,
    "RATELIMIT_STORAGE_URI": str,
    "RATELIMIT_LOGIN": str,
    "RATELIMIT_LOGIN_ALL": str,
    "RATELIMIT_TOKEN": str,
    "RATELIMIT_API": str,
    "REDIS_URL": str,
    "IMPORT_STORE": str,
    "IMPORT_BATCH": int,
    "IMPORT_EAGER": bool,
    "IMPORT_AREA_MISMATCH_PERCENT": float,
    "IMPORT_READER_MEMORY_MB": int,
    "IMPORT_READER_SECONDS": int,
    "IMPORT_MAX_FEATURES": int,
    "IMPORT_MAX_VERTICES": int,
    "IMPORT_MAX_UNZIPPED_BYTES": int,
    "IMPORT_MAX_ZIP_MEMBERS": int,
    "IMPORT_REPORT_MAX_PER_KIND": int,
    "IMPORT_HEARTBEAT_STALE_SECONDS": int,
    "OVERLAP_MAX_HITS": int,
    "BABEL_DEFAULT_LOCALE": str,
    "AUDIT_HEAD_FILE": str,
}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings named in the environment; DATABASE_URL maps to SQLALCHEMY_DATABASE_URI."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    if env.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
    if env.get("MIGRATION_DATABASE_URL"):
        out["MIGRATION_DATABASE_URL"] = normalise_database_url(env["MIGRATION_DATABASE_URL"])
    for name, kind in _ENV.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        if kind is bool:
            out[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
        else:
            out[name] = kind(raw)
    return out


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pick the drivers the app is built for."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def default_sqlite_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "sanquan.sqlite")
