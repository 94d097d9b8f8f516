"""Logging in and out, and "My account": sessions, tokens, password, login history."""

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from app.auth import services
from app.auth.forms import LoginForm, PasswordChangeForm
from app.core.errors import DomainError
from app.core.models import utcnow
from app.core.urls import safe_next
from app.extensions import db

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    error = None
    status = 200
    headers = {}
    if form.validate_on_submit():
        client = services.Client.of(request)
        try:
            user = services.authenticate(form.username.data, form.password.data, client)
        except services.LoginThrottled as exc:
            error, status = exc.message, exc.status
            headers["Retry-After"] = str(exc.retry_after)
        except DomainError as exc:
            error, status = exc.message, 401
        else:
            # A fresh session at login: nothing a visitor carried in survives (no fixation),
            # and the cookie names a new server-side session, not the user.
            next_url = safe_next(request.args.get("next"), url_for("main.index"))
            session.clear()
            services.start_session(user, client)
            login_user(user)
            session.permanent = True
            db.session.commit()
            return redirect(next_url)
    return render_template("auth/login.html", form=form, error=error), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated and current_user.session_key:
        services.end_session(current_user.session_key)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _account_page(form: PasswordChangeForm | None = None, status: int = 200):
    now = utcnow()
    return (
        render_template(
            "auth/account.html",
            sessions=services.open_sessions(current_user),
            current_session_id=getattr(g.get("user_session"), "id", None),
            tokens=[(t, t.state(now)) for t in services.tokens_of(current_user)],
            history=services.login_history(user=current_user, limit=20),
            form=form or PasswordChangeForm(),
        ),
        status,
    )


@bp.get("/account")
def account():
    return _account_page()


@bp.post("/account/password")
def change_password():
    form = PasswordChangeForm()
    forced = current_user.must_change_password
    if not form.validate_on_submit():
        return _account_page(form, 422)
    try:
        ended = services.change_password(
            current_user,
            form.current.data,
            form.new.data,
            form.repeat.data,
            services.Client.of(request),
        )
    except DomainError as exc:
        db.session.rollback()
        field = form.current if exc.code in {"password_current", "locked", "delayed"} else form.new
        field.errors = [exc.message]
        return _account_page(form, exc.status)
    db.session.commit()
    flash(
        _("Your password was changed.")
        + " "
        + ngettext("%(num)d other session was ended.", "%(num)d other sessions were ended.", ended),
        "ok",
    )
    # A first password of one's own: on to one's own page, now open.
    return redirect(url_for("main.index" if forced else "auth.account"))


@bp.post("/account/logout-everywhere")
def logout_everywhere():
    services.end_all_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You were logged out on every device."), "ok")
    return redirect(url_for("auth.login"))


@bp.post("/account/sessions/<int:session_id>/end")
def end_session(session_id: int):
    services.end_own_session(current_user, session_id)
    db.session.commit()
    flash(_("The session was ended."), "ok")
    return redirect(url_for("auth.account"))


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    db.session.commit()
    flash(_("The token was revoked."), "ok")
    return redirect(url_for("auth.account"))
