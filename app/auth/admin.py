"""System administration: the list of accounts (no registry data) and what may be done to one.

Only the system administrator reaches these pages; for everybody else they do not exist (404).
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import services
from app.auth.forms import UserEditForm, UserForm
from app.auth.models import ROLE_LABELS, Role, User
from app.auth.scope import load_or_404, roles_required
from app.core.errors import DomainError
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


# Which field of the form a refusal of the service belongs to.
_FIELD_OF = {
    "username": "username",
    "username_taken": "username",
    "display_name": "display_name",
    "role": "role",
    "self_role": "role",
    "collective": "collectives",
    "scope": "collectives",
    "scope_county": "collectives",
}


def _choices(form: UserForm) -> None:
    form.role.choices = [("", _("— choose —"))] + [
        (r.value, str(label)) for r, label in ROLE_LABELS.items()
    ]
    form.collectives.choices = services.collective_choices()


def _refused(form: UserForm, exc: DomainError) -> None:
    db.session.rollback()
    field = getattr(form, _FIELD_OF.get(exc.code, "role"), None) or form.role
    field.errors = [*field.errors, exc.message]


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.SYSTEM_ADMIN)
def new_user():
    """Create an account with a generated password, shown once; it must be changed at login."""
    form = UserForm()
    _choices(form)
    if request.method == "GET":
        return render_template("admin/user_form.html", form=form, user=None)
    if not form.validate_on_submit():
        return render_template("admin/user_form.html", form=form, user=None), 422
    password = services.generate_password()
    try:
        user = services.create_user(
            form.username.data.strip(),
            password,
            form.role.data,
            display_name=form.display_name.data,
            collective_ids=form.collectives.data,
            must_change_password=True,
        )
    except DomainError as exc:
        _refused(form, exc)
        return render_template("admin/user_form.html", form=form, user=None), 422
    db.session.commit()
    return render_template("admin/user_password.html", user=user, password=password, created=True)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SYSTEM_ADMIN)
def edit_user(user_id: int):
    """Change an account's name, role and collectives."""
    user = _target(user_id)
    form = UserEditForm(obj=None if request.method == "POST" else user)
    _choices(form)
    if request.method == "GET":
        form.collectives.data = sorted(user.collective_ids)
        return render_template("admin/user_form.html", form=form, user=user)
    if not form.validate_on_submit():
        return render_template("admin/user_form.html", form=form, user=user), 422
    try:
        services.update_user(
            user,
            form.role.data,
            form.collectives.data,
            display_name=form.display_name.data,
            by=current_user,
        )
    except DomainError as exc:
        _refused(form, exc)
        return render_template("admin/user_form.html", form=form, user=user), 422
    return _done(_("The account of %(name)s was changed.", name=user.username))


@bp.post("/users/<int:user_id>/reset-password")
@roles_required(Role.SYSTEM_ADMIN)
def reset_password(user_id: int):
    """A new generated password, shown once; the user's sessions and tokens end."""
    user = _target(user_id)
    password = services.reset_password(user)
    db.session.commit()
    if user.id == current_user.id:  # one's own sessions ended too
        return redirect(url_for("auth.login"))
    return render_template("admin/user_password.html", user=user, password=password, created=False)
