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
    SESSION_COOKIE_SECURE = False  # set true behind HTTPS
    REMEMBER_COOKIE_DURATION = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Login throttling: this many failures lock the account for LOGIN_LOCK_MINUTES.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15

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

    REDIS_URL: str | None = None  # set to use RQ for background jobs; otherwise in-process

    # Bulk import (flask import parcels, the import page).
    IMPORT_STORE: str | None = None  # where imported files are kept (None = instance/imports)
    IMPORT_BATCH = 8_000  # features read, checked and staged at a time: memory follows it
    IMPORT_EAGER = True  # PostgreSQL: write the registry beside validation (app/imports/eager.py)
    # ... and check its foreign keys once per window instead of once per row, where the database
    # role may set session_replication_role (superuser, or GRANT SET ON PARAMETER on 15+)
    IMPORT_SET_BASED_REFERENCES = True
    IMPORT_AREA_MISMATCH_PERCENT = 10.0  # contract vs measured area: a warning beyond this

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
    "OVERLAP_TOLERANCE_M2": float,
    "SHARE_CAP_PERCENT": float,
    "PUBLIC_NOTICE_DAYS": int,
    "DOCUMENT_MAX_BYTES": int,
    "DOCUMENT_STORE": str,
    "COOLING_OFF_DAYS": int,
    "SETTLEMENT_FLAG_DAYS": int,
    "LOGIN_MAX_FAILURES": int,
    "LOGIN_LOCK_MINUTES": int,
    "REDIS_URL": str,
    "IMPORT_STORE": str,
    "IMPORT_BATCH": int,
    "IMPORT_EAGER": bool,
    "IMPORT_SET_BASED_REFERENCES": bool,
    "IMPORT_AREA_MISMATCH_PERCENT": float,
    "IMPORT_REPORT_MAX_PER_KIND": int,
    "IMPORT_HEARTBEAT_STALE_SECONDS": int,
    "OVERLAP_MAX_HITS": int,
    "BABEL_DEFAULT_LOCALE": str,
}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings named in the environment; DATABASE_URL maps to SQLALCHEMY_DATABASE_URI."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    if env.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
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
