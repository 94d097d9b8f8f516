"""System administration: the list of accounts (no registry data) and what may be done to one.

Only the system administrator reaches these pages; for everybody else they do not exist (404).
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import services
from app.auth.models import Role, User
from app.auth.scope import load_or_404, roles_required
from app.extensions import db

bp = Blueprint("auth_admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(Role.SYSTEM_ADMIN)
def users():
    rows = list(db.session.scalars(select(User).order_by(User.username)))
    locked = services.locked_usernames()
    return render_template(
        "admin/users.html",
        users=rows,
        locked={u.id for u in rows if services.normalise_username(u.username) in locked},
    )


@bp.get("/logins")
@roles_required(Role.SYSTEM_ADMIN)
def logins():
    """Every login attempt, newest first, including those under unknown usernames."""
    return render_template(
        "admin/logins.html", history=services.login_history(limit=200), show_username=True
    )


def _done(message: str):
    db.session.commit()
    flash(message, "ok")
    return redirect(url_for("auth_admin.users"))


def _target(user_id: int) -> User:
    return load_or_404(User, user_id, edit=True)


@bp.post("/users/<int:user_id>/deactivate")
@roles_required(Role.SYSTEM_ADMIN)
def deactivate(user_id: int):
    user = _target(user_id)
    services.deactivate_user(user, by=current_user)
    return _done(_("%(name)s was deactivated and logged out everywhere.", name=user.username))


@bp.post("/users/<int:user_id>/activate")
@roles_required(Role.SYSTEM_ADMIN)
def activate(user_id: int):
    user = _target(user_id)
    services.activate_user(user)
    return _done(_("%(name)s can log in again.", name=user.username))


@bp.post("/users/<int:user_id>/unlock")
@roles_required(Role.SYSTEM_ADMIN)
def unlock(user_id: int):
    user = _target(user_id)
    services.unlock(user.username)
    return _done(_("%(name)s can try to log in again now.", name=user.username))


@bp.post("/users/<int:user_id>/logout-everywhere")
@roles_required(Role.SYSTEM_ADMIN)
def logout_everywhere(user_id: int):
    user = _target(user_id)
    count = services.end_all_sessions(user)
    if user.id == current_user.id:
        db.session.commit()
        return redirect(url_for("auth.login"))
    return _done(_("%(name)s was logged out of %(n)d sessions.", name=user.username, n=count))


@bp.post("/users/<int:user_id>/revoke-tokens")
@roles_required(Role.SYSTEM_ADMIN)
def revoke_tokens(user_id: int):
    user = _target(user_id)
    count = services.revoke_all_tokens(user)
    return _done(_("%(n)d API tokens of %(name)s were revoked.", name=user.username, n=count))
