from flask import Blueprint, current_app, jsonify, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from app.auth.models import Role
from app.core import database, spatial
from app.core.urls import safe_next
from app.extensions import db

bp = Blueprint("main", __name__)

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
    """Liveness and what this instance runs on: backend, schema revision, CRS."""
    body = {
        "status": "ok",
        "database": database.describe(db.engine),
        "srid": spatial.registry_srid(),
    }
    try:
        body["schema_revision"] = db.session.execute(
            text("SELECT version_num FROM alembic_version")
        ).scalar()
        stored = spatial.database_srid(db.session.connection())
        if stored is not None and stored != spatial.registry_srid():
            # The schema was built for another CRS: geometries would be mislabelled.
            body["status"] = "error"
            body["problem"] = (
                f"database built for EPSG:{stored}, configured EPSG:{spatial.registry_srid()}"
            )
            return jsonify(body), 503
    except Exception:  # noqa: BLE001 - an unmigrated or unreachable database is what we report
        db.session.rollback()
        body["status"] = "error"
        body["schema_revision"] = None
        return jsonify(body), 503
    return jsonify(body)


@bp.route("/settlement")
def settlement_desk():
    from flask import abort, render_template

    if Role(current_user.role) != Role.SETTLEMENT_OFFICER:
        abort(404)
    return render_template("main/settlement_desk.html")
