"""Sanquan (三权): the county registry of rural households' three rights.

create_app(): config -> extensions -> blueprints -> CLI. Nothing runs at import time.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask

from app import config as config_module


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # SANQUAN_INSTANCE moves the instance folder (database, secret, documents), e.g. to a volume.
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("SANQUAN_INSTANCE") or None,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    # 1. defaults -> instance/config.py -> environment -> test overrides
    app.config.from_object(config_module.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config_module.from_environment())
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = config_module.default_sqlite_url(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    from app.core import calendar

    calendar.check_settings(app.config)  # a malformed holiday list stops the start
    config_module.check_settings(app.config)  # so do R14's village thresholds
    if app.config["SESSION_COOKIE_SECURE"]:
        # Served over HTTPS: every cookie Secure, links https (HSTS is sent in core/web.py).
        app.config.setdefault("REMEMBER_COOKIE_SECURE", True)
        app.config["PREFERRED_URL_SCHEME"] = "https"
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    # 2. extensions
    from app import models as _models  # noqa: F401  (complete the metadata first)
    from app.core import database
    from app.extensions import babel, csrf, db, login_manager, migrate

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(app)
    db.init_app(app)
    with app.app_context():
        database.configure_engine(app, db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)

    from app.core import i18n, spatial, web

    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.install(app)  # |local_time: times on pages in the county's zone, labelled
    spatial.apply_registry_srid(app.config["REGISTRY_SRID"])

    from app.audit import trail

    trail.install()

    from app.auth.scope import set_household_resolver
    from app.registry.scope import farmer_households

    set_household_resolver(farmer_households)

    # R14: the one flagger (a holder's settlement date, the village's exit share), the market's
    # only link to settlement and oversight (R12: the market never imports either; the wiring is
    # here, on top of all of them).
    from app.market.approvals import register_flagger
    from app.oversight.flags import r14_flags

    register_flagger(r14_flags)

    # The police station's settlement list is an import kind of the settlement package, run by
    # the imports machinery, which never imports app.settlement (the wiring is here).
    from app.imports.kinds import register_kind
    from app.settlement import police

    register_kind(police.KIND, validate=police.validate_list_job, promote=police.promote_list_job)

    # The auditor's log puts each change in words; the words of each feature's stored values
    # are the feature's, registered here (app.audit imports no feature).
    from app.audit import labels as audit_labels
    from app.auth import audit_words as auth_words
    from app.market import audit_words as market_words
    from app.registry import audit_words as registry_words
    from app.settlement import audit_words as settlement_words

    for words in (
        auth_words.words,
        registry_words.words,
        market_words.words,
        settlement_words.words,
    ):
        audit_labels.register_value_words(words)

    from app.divisions.views import set_registry_part
    from app.registry.views.collective_overview import collective_overview

    set_registry_part(collective_overview)

    # The leases' layer on the registry's contract, plot and household pages (the registry
    # never imports app.leases).
    from app.leases.views import lease_layer
    from app.registry.views.encumbrance_views import set_lease_layer

    set_lease_layer(lease_layer)

    from app.registry import move_kinds

    move_kinds.install()  # what each kind of move of a right reads, checks and applies

    from app.notify import views as notify_views
    from app.registry.scope import account_phone

    notify_views.install(app, phone_of=account_phone)  # /inbox, the nav's count, phone numbers

    # 3. blueprints. Ids in URLs fit the database's INTEGER: a larger one is a 404, not a 500.
    # ASCII digits only: werkzeug's \d (and int()) also take Arabic-Indic or full-width digits,
    # so "/plots/１２" would otherwise show plot 12.
    from werkzeug.routing import IntegerConverter

    from app.core import inputs

    class DatabaseId(IntegerConverter):
        regex = r"[0-9]+"

        def __init__(self, url_map, *args, **kwargs):
            kwargs.setdefault("max", inputs.MAX_ID)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseId
    from app.api import bp as api_bp
    from app.audit.views import bp as audit_bp
    from app.auth.admin import bp as auth_admin_bp
    from app.auth.views import bp as auth_bp
    from app.divisions.views import bp as divisions_bp
    from app.imports.views import bp as imports_bp
    from app.leases.ledger_views import bp as lease_ledger_bp
    from app.main.views import bp as main_bp
    from app.market.views import bp as market_bp
    from app.oversight.dashboard_views import bp as dashboard_bp
    from app.oversight.views import bp as oversight_bp
    from app.registry.views import bp as registry_bp

    for bp in (main_bp, auth_bp, auth_admin_bp, divisions_bp, audit_bp, registry_bp, imports_bp):
        app.register_blueprint(bp)
    app.register_blueprint(market_bp)  # the marketplace's pages, /market
    app.register_blueprint(oversight_bp)  # the county report for the bureau and auditors
    app.register_blueprint(dashboard_bp)  # dashboards: a collective's, a township's, the county's
    from app.leases.views import bp as leases_bp

    app.register_blueprint(leases_bp)  # leases of the land-management right, /leases
    app.register_blueprint(lease_ledger_bp)  # the ledger of leases and entrusted leases
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # the API accepts Bearer tokens only, never the session cookie

    web.install(app)
    # Who is asking (app.auth) and what it means for the audit trail (app.audit): plugged into
    # the core's request lifecycle here, since the core imports no feature package.
    from app.audit import requests as audit_requests
    from app.auth import identity

    identity.install(app)
    audit_requests.install(app)

    # Pages reused per session while nothing they show has changed: the data's version is the
    # audit trail's head (every write moves it), the session is the server-side one.
    from app.auth.services import data_version
    from app.core import page_cache
    from app.core.calendar import county_today

    page_cache.install(
        app,
        version=data_version,
        session_id=identity.session_id,
        today=county_today,
        language=i18n.current_language,
    )

    inputs.install(app)  # malformed input is a clear 4xx, checked before anything else runs

    from app.auth import limits

    limits.install(app)  # after web: the API is limited per user, known by then

    # 4. CLI
    from app.cli import register_cli

    register_cli(app)
    return app


def _instance_secret(instance_path: str) -> str:
    """A per-installation secret kept in instance/, made on first start."""
    path = Path(instance_path) / "secret_key"
    try:
        # O_EXCL: when several workers start at once, exactly one writes and all read the same.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)  # another worker is between creating and writing the file
    raise RuntimeError(f"{path} is empty")
