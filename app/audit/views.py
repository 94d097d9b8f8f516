from flask import Blueprint, render_template, request

from app.audit import services
from app.auth.models import Role
from app.auth.scope import roles_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@roles_required(Role.AUDITOR)
def log():
    result = None
    if request.args.get("verify") == "1":
        count, problem = services.verify_database()
        result = {"count": count, "problem": problem}
    return render_template("audit/log.html", entries=services.recent(), result=result)
