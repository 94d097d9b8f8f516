from flask import Blueprint, current_app, jsonify, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from app.auth.models import Role
from app.core import database, spatial
from app.core.urls import safe_next
from app.extensions import db

bp = Blueprint("main", __name__)

# Roles that may read what the instance runs on (backend, revision, CRS) from /healthz.
HEALTH_DETAIL_ROLES = {Role.SYSTEM_ADMIN, Role.AUDITOR}

# Where each role starts: the page its work begins on.
LANDING = {
    Role.FARMER: "registry.my_household",
    Role.COLLECTIVE_ADMIN: "divisions.collectives",
    Role.BUREAU_REVIEWER: "divisions.county",
    Role.SETTLEMENT_OFFICER: "main.settlement_desk",
    Role.AUDITOR: "audit.log",
    Role.SYSTEM_ADMIN: "auth_admin.users",
}


@bp.route("/")
def index():
    endpoint = LANDING.get(Role(current_user.role), "divisions.county")
    if endpoint not in current_app.view_functions:
        endpoint = "divisions.county"
    return redirect(url_for(endpoint))


@bp.route("/lang/<code>")
def set_language(code: str):
    target = safe_next(request.args.get("next"), url_for("main.index"))
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang",
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.route("/healthz")
def healthz():
    """Liveness: 200 ``{"status": "ok"}`` or 503 ``{"status": "error"}``.

    An anonymous caller (a load balancer, a container health check, anyone on the network) learns
    only that. The system administrator and the auditor also see what the instance runs on:
    backend, schema revision, CRS, and the reason when it is not ok.
    """
    body: dict[str, object] = {"status": "ok"}
    status = 200
    try:
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        stored = spatial.database_srid(db.session.connection())
    except Exception:  # noqa: BLE001 - an unmigrated or unreachable database is what we report
        db.session.rollback()
        revision, stored = None, None
        body.update(status="error", problem="database unreachable or not migrated")
        status = 503
    else:
        if stored is not None and stored != spatial.registry_srid():
            # The schema was built for another CRS: geometries would be mislabelled.
            body.update(
                status="error",
                problem=f"database built for EPSG:{stored}, "
                f"configured EPSG:{spatial.registry_srid()}",
            )
            status = 503
    if current_user.is_authenticated and Role(current_user.role) in HEALTH_DETAIL_ROLES:
        body.update(
            database=database.describe(db.engine),
            srid=spatial.registry_srid(),
            schema_revision=revision,
        )
    else:
        body.pop("problem", None)
    return jsonify(body), status


@bp.route("/settlement")
def settlement_desk():
    from flask import abort, render_template

    if Role(current_user.role) != Role.SETTLEMENT_OFFICER:
        abort(404)
    return render_template("main/settlement_desk.html")
