from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import services
from app.auth.forms import LoginForm
from app.core.errors import DomainError
from app.core.urls import safe_next
from app.extensions import db

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data)
        except DomainError as exc:
            error = exc.message
        else:
            # A fresh session at login: nothing a visitor carried in survives (no fixation).
            next_url = safe_next(request.args.get("next"), url_for("main.index"))
            session.clear()
            login_user(user)
            session.permanent = True
            db.session.commit()
            return redirect(next_url)
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
