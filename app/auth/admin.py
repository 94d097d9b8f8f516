"""System administration: the list of accounts (no registry data)."""

from flask import Blueprint, render_template
from sqlalchemy import select

from app.auth.models import Role, User
from app.auth.scope import roles_required
from app.extensions import db

bp = Blueprint("auth_admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(Role.SYSTEM_ADMIN)
def users():
    rows = list(db.session.scalars(select(User).order_by(User.username)))
    return render_template("admin/users.html", users=rows)
