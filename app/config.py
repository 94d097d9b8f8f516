"""Configuration, layered: defaults here -> instance/config.py -> environment -> test overrides.

Every setting a deployment may change is read from the environment under the same name, so a
container needs no file of its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """A setting a deployment may change: read from the environment under its own name."""

    name: str
    kind: type  # str, int, float, bool, Decimal, or timedelta (given in hours in the environment)
    default: Any
    doc: str = ""

    def parse(self, raw: str) -> Any:
        if self.kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if self.kind is timedelta:
            return timedelta(hours=float(raw))
        if self.kind is Decimal:
            return _decimal(self.name, raw)
        return self.kind(raw)


def _decimal(name: str, raw: Any) -> Decimal:
    """An exact decimal setting; anything else stops the start with the setting's name."""
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int | str) and not isinstance(raw, bool):
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            value = Decimal("NaN")
    else:  # a float (inexact) or anything else
        raise RuntimeError(f"{name}: give an exact decimal number such as 0.5, not {raw!r}")
    if not value.is_finite():
        raise RuntimeError(f"{name}: give an exact decimal number such as 0.5, not {raw!r}")
    return value


# Every setting a deployment may change, once, with its type and default. The README's
# configuration table lists exactly these (tests/test_config.py checks it), plus DATABASE_URL,
# MIGRATION_DATABASE_URL (normalised URLs, below) and SANQUAN_INSTANCE (read by create_app).
SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", str, None, "generated into instance/ on first start when not given"),
    # Projected CRS of every stored geometry. CGCS2000 / 3-degree Gauss-Kruger CM 114E suits
    # Shixing; Guangdong also spans 4546 (CM 111E) and 4548 (CM 117E). Fixed when the database
    # is created: the schema is built with it, and the app refuses to start on a mismatch.
    Setting("REGISTRY_SRID", int, 4547),
    Setting("SPATIALITE_LIBRARY", str, "mod_spatialite"),
    Setting("BABEL_DEFAULT_LOCALE", str, "zh_CN"),
    Setting("SESSION_COOKIE_SECURE", bool, False, "served over HTTPS: Secure cookies and HSTS"),
    # Only then are X-Forwarded-For/-Proto believed, so the client address (login throttling,
    # audit) and https come from the proxy.
    Setting("TRUSTED_PROXIES", int, 0, "reverse proxies in front of the app (nginx: 1)"),
    # A login is a server-side session (table user_session); the cookie carries only its random
    # key. It ends at logout, and this long after login at the latest, however busy it is.
    Setting("PERMANENT_SESSION_LIFETIME", timedelta, timedelta(hours=8), "hours"),
    Setting("SESSION_IDLE_MINUTES", int, 120, "a session unused this long ends; 0: no limit"),
    # Login throttling, counted per attempted username (existing or not) and per client
    # address: past LOGIN_FREE_FAILURES a username waits 2, 4, 8 ... seconds (at most
    # LOGIN_MAX_DELAY_SECONDS) between attempts; LOGIN_MAX_FAILURES lock it for
    # LOGIN_LOCK_MINUTES (or until an administrator unlocks it). An address gets the growing
    # delay past LOGIN_ADDRESS_FREE_FAILURES, never a lock. Failures older than
    # LOGIN_FAILURE_MEMORY_MINUTES are forgotten.
    Setting("LOGIN_FREE_FAILURES", int, 3),
    Setting("LOGIN_MAX_DELAY_SECONDS", int, 300),
    Setting("LOGIN_MAX_FAILURES", int, 10),
    Setting("LOGIN_LOCK_MINUTES", int, 15),
    Setting("LOGIN_ADDRESS_FREE_FAILURES", int, 20),
    Setting("LOGIN_FAILURE_MEMORY_MINUTES", int, 60),
    # Rate limits (Flask-Limiter), "N per second|minute|hour|day". Counted in Redis when
    # REDIS_URL is set (shared by every worker), otherwise in each process's memory.
    Setting("RATELIMIT_ENABLED", bool, True),
    Setting("RATELIMIT_STORAGE_URI", str, None, "REDIS_URL else memory://"),
    Setting("RATELIMIT_LOGIN", str, "10 per minute", "login attempts per client address"),
    Setting("RATELIMIT_LOGIN_ALL", str, "300 per minute", "login attempts of all clients"),
    Setting("RATELIMIT_TOKEN", str, "20 per hour", "API tokens issued per client address"),
    Setting("RATELIMIT_API", str, "600 per minute", "API requests per user"),
    Setting("RATELIMIT_VERIFY", str, "30 per minute", "public checks of a code per address"),
    # Source documents (来源材料): largest accepted file, and where the files are kept
    # (None = instance/documents). Files are content-addressed by their SHA-256.
    Setting("DOCUMENT_MAX_BYTES", int, 20 * 1024 * 1024),
    Setting("DOCUMENT_STORE", str, None),
    # Policy choices of DOMAIN.md, kept configurable.
    Setting("OVERLAP_TOLERANCE_M2", float, 1.0, "an overlap counts above this interior area"),
    Setting("SHARE_CAP_PERCENT", float, 5.0, "R11 default when a charter sets none"),
    Setting("PUBLIC_NOTICE_DAYS", int, 7),
    Setting("CONTRACT_RENEWAL_WINDOW_YEARS", int, 5, "renewal in the last N years of a term"),
    Setting("COOLING_OFF_DAYS", int, 15, "R13"),
    Setting("MARKET_NOTICE_DAYS", int, 10, "a published listing is open for offers this long"),
    Setting("MARKET_NOTICE_WORKING_DAYS", bool, False, "count the notice in working days"),
    Setting("COUNTY_HOLIDAYS", str, "", "public holidays (YYYY-MM-DD, comma-separated)"),
    Setting("COUNTY_WORKDAYS", str, "", "weekend days worked instead (调休)"),
    Setting("SETTLEMENT_FLAG_DAYS", int, 180, "R14"),
    # R05, leases of the land-management right (app/leases): the members' priority notice runs
    # at least this many days before an outsider may take a lease; a company or other business
    # whose leased area in the county would exceed this many 亩 waits for the bureau's review.
    Setting("LEASE_PRIORITY_DAYS", int, 10, "R05: members' priority period, days"),
    Setting("LEASE_QUALIFICATION_MU", Decimal, Decimal("100"), "R05: review above this area, 亩"),
    # R14's village flag: a village stands out when at least this many of its households are
    # settled in town and at least this share of them exited or transferred a right in the last
    # 12 months (app/oversight/village.py); every declaration made there is then flagged.
    Setting("SETTLEMENT_VILLAGE_EXIT_SHARE", Decimal, Decimal("0.5"), "R14: share, 0 to 1"),
    Setting("SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS", int, 5, "R14: settled households, at least 1"),
    # Notifications (app/notify): short messages to phones go through this sender,
    # "module:function" called as send(phone, text); the default writes them to the app's log.
    Setting("NOTIFY_SENDER", str, "app.notify.outbox:log_sender", "who sends short messages"),
    Setting("NOTIFY_MAX_ATTEMPTS", int, 5, "a failing short message is tried this many times"),
    Setting("MARKET_REMIND_DAYS", int, 2, "remind of a marketplace deadline this many days ahead"),
    # R08: does a paid exit (有偿退出) of a homestead bar the household from a new one?
    Setting("HOMESTEAD_PAID_EXIT_BARS", bool, True),
    # R07: a declared homestead area may differ from its outline's measured area by this much.
    Setting("HOMESTEAD_AREA_TOLERANCE_M2", float, 2.0),
    # Background jobs: RQ on this Redis when set, otherwise threads of the web process.
    Setting("REDIS_URL", str, None),
    Setting("IMPORT_RUNNER", str, "auto", "auto (rq with REDIS_URL, else thread), rq, thread"),
    Setting("IMPORT_QUEUE", str, "sanquan-imports", "the RQ queue imports run on"),
    # Bulk import (flask import parcels, the import page).
    Setting("IMPORT_STORE", str, None, "where imported files are kept (instance/imports)"),
    Setting("IMPORT_BATCH", int, 8_000, "features read, checked and staged at a time"),
    Setting("IMPORT_EAGER", bool, True, "PostgreSQL: write the registry beside validation"),
    Setting("IMPORT_AREA_MISMATCH_PERCENT", float, 10.0, "contract vs measured area warning"),
    # Reading uploads (app/imports/sandbox.py): each read runs in a process of its own with
    # these limits; a file beyond them fails its import with a plain reason.
    Setting("IMPORT_READER_MEMORY_MB", int, 2048, "address space of the reading process"),
    Setting("IMPORT_READER_SECONDS", int, 900, "its CPU seconds, and how long to wait for it"),
    Setting("IMPORT_MAX_FEATURES", int, 2_000_000, "features (or table rows) of one file"),
    Setting("IMPORT_MAX_VERTICES", int, 100_000, "vertices of one feature"),
    Setting("IMPORT_MAX_UNZIPPED_BYTES", int, 2 * 1024**3, "a zip's members unpacked, in all"),
    Setting("IMPORT_MAX_ZIP_MEMBERS", int, 1_000, "files inside one zip or XLSX"),
    Setting("IMPORT_REPORT_MAX_PER_KIND", int, 1000, "problems of one kind a report keeps"),
    # A running job writes a heartbeat every few seconds; one silent for longer than this is
    # shown and returned as failed (its process stopped) and may be discarded.
    Setting("IMPORT_HEARTBEAT_STALE_SECONDS", int, 120),
    Setting("OVERLAP_MAX_HITS", int, 200, "overlapping plots one registry check returns"),
    # Pages kept per session for a moment and reused while the data, the day and the session are
    # unchanged (app/core/page_cache.py: exact, keyed on the audit trail's head); 0 turns it off.
    Setting("PAGE_CACHE_SECONDS", int, 60, "how long a kept page may be reused, at most"),
    Setting("PAGE_CACHE_SIZE", int, 512, "pages one worker process keeps, at most"),
    Setting("MAP_MAX_FEATURES", int, 1000, "plots and homesteads one map answer holds at most"),
    Setting("MAP_TILE_URL", str, None, "Web Mercator tiles, {z}/{x}/{y}; none: no tiles"),
    Setting("MAP_TILE_KEY", str, None, "the tile service's browser key, put in {key} of the URL"),
    # Where `flask audit verify` keeps the chain head it last saw, outside the database, so a
    # cut or rewritten tail is noticed (None = instance/audit_head.json).
    Setting("AUDIT_HEAD_FILE", str, None),
    # The Ed25519 key `flask audit checkpoint` signs with (PEM, or the 32-byte seed in base64);
    # None = a key file made on first use at instance/audit_signing_key.pem (mode 0600).
    Setting("AUDIT_SIGNING_KEY", str, None),
    # Where signed checkpoints and the published public keys are written (None =
    # instance/checkpoints/).
    Setting("AUDIT_CHECKPOINT_DIR", str, None),
    # The most entries one download of the auditor's log page holds (a range export runs from
    # the first matching entry to the last); `flask audit export` on the server has no limit.
    Setting("AUDIT_EXPORT_MAX", int, 200_000, "entries in one download of the audit log"),
)


class Defaults:
    """Flask's and the extensions' fixed settings; SETTINGS' defaults are added below."""

    # Embedded default database: a SpatiaLite file under instance/ (path filled in by create_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # PostgreSQL: the app connects as a role that owns no table (DATABASE_URL); `flask db ...`
    # (migrations, grant-app) connects as the tables' owner: MIGRATION_DATABASE_URL, or
    # DATABASE_URL when unset (embedded SQLite). docs/DEPLOYMENT.md.
    MIGRATION_DATABASE_URL: str | None = None

    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    # Sessions: not readable from script, not sent cross-site, expiry does not slide.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_REFRESH_EACH_REQUEST = False
    REMEMBER_COOKIE_DURATION = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    RATELIMIT_HEADERS_ENABLED = True  # X-RateLimit-* and Retry-After on limited routes

    # werkzeug's password hash method; the test settings use a cheap one (they hash thousands).
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a method name, not a password)
    API_TOKEN_DAYS = 90
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024


for _setting in SETTINGS:
    setattr(Defaults, _setting.name, _setting.default)


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings named in the environment; DATABASE_URL maps to SQLALCHEMY_DATABASE_URI."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    if env.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
    if env.get("MIGRATION_DATABASE_URL"):
        out["MIGRATION_DATABASE_URL"] = normalise_database_url(env["MIGRATION_DATABASE_URL"])
    for setting in SETTINGS:
        raw = env.get(setting.name)
        if raw is None or raw == "":
            continue
        try:
            out[setting.name] = setting.parse(raw)
        except (ValueError, ArithmeticError):
            kind = setting.kind.__name__
            raise RuntimeError(f"{setting.name}: cannot read {raw!r} as {kind}") from None
    return out


def check_settings(config: MutableMapping[str, Any]) -> None:
    """Read R14's village thresholds at start (from any layer: instance file, environment, test
    overrides): a malformed or out-of-range value stops the app with the setting's name, rather
    than flagging every village (or none) later. Valid values are stored in their exact type."""
    share = _decimal("SETTLEMENT_VILLAGE_EXIT_SHARE", config.get("SETTLEMENT_VILLAGE_EXIT_SHARE"))
    if not Decimal(0) <= share <= Decimal(1):
        raise RuntimeError(
            f"SETTLEMENT_VILLAGE_EXIT_SHARE: give a share from 0 to 1 (such as 0.5), not {share}"
        )
    minimum = config.get("SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS")
    if isinstance(minimum, str) and minimum.strip().isdigit():
        minimum = int(minimum)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
        raise RuntimeError(
            "SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS: give a whole number of households, at least 1, "
            f"not {minimum!r}"
        )
    config["SETTLEMENT_VILLAGE_EXIT_SHARE"] = share
    config["SETTLEMENT_VILLAGE_MIN_HOUSEHOLDS"] = minimum
    # R05's lease settings: a whole number of days, at least 1; an area in 亩, not negative.
    days = config.get("LEASE_PRIORITY_DAYS", 10)
    if isinstance(days, str) and days.strip().isdigit():
        days = int(days)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise RuntimeError(
            f"LEASE_PRIORITY_DAYS: give a whole number of days, at least 1, not {days!r}"
        )
    mu = _decimal("LEASE_QUALIFICATION_MU", config.get("LEASE_QUALIFICATION_MU", Decimal("100")))
    if mu < 0:
        raise RuntimeError(f"LEASE_QUALIFICATION_MU: give an area in mu, not negative, not {mu}")
    config["LEASE_PRIORITY_DAYS"] = days
    config["LEASE_QUALIFICATION_MU"] = mu


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pick the drivers the app is built for."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def default_sqlite_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "sanquan.sqlite")
