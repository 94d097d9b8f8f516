from flask import Blueprint, current_app, jsonify, render_template, request

from app.audit import checkpoint, labels, services
from app.audit.head import HeadFileUnreadable
from app.auth.models import Role
from app.auth.scope import roles_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


def public_key():
    """The audit checkpoints' public keys, current first (no login: anyone may check)."""
    response = jsonify(checkpoint.published_keys(current_app))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# Served at the site's root, outside /audit: registered on the app when the blueprint is.
bp.record_once(
    lambda state: state.app.add_url_rule(
        "/.well-known/sanquan-audit-key", "audit.public_key", public_key
    )
)


@bp.route("/")
@roles_required(Role.AUDITOR)
def log():
    result = None
    if request.args.get("verify") == "1":
        # Compared with the head `flask audit verify` recorded; only that command records one.
        try:
            check = services.verify_against_head(services.head_path(current_app), record=False)
        except HeadFileUnreadable:
            result = {"head_unreadable": True}
        else:
            result = {"count": check.count, "problem": check.problem, "check": check}
    return render_template(
        "audit/log.html",
        entries=services.recent(),
        result=result,
        event_label=lambda code: labels.label(labels.EVENTS, code),
        action_label=lambda code: labels.label(labels.ACTIONS, code),
        record_label=lambda code: labels.label(labels.RECORDS, code),
    )
