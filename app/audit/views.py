from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from app.audit import browse, checkpoint, labels, services
from app.audit.head import HeadFileUnreadable
from app.auth.models import Role
from app.auth.scope import roles_required
from app.extensions import db

#: The most entries one download from the page holds, unless AUDIT_EXPORT_MAX says otherwise: a
#: larger run is exported on the server (``flask audit export``), which has no such limit.
EXPORT_MAX = 200_000

bp = Blueprint("audit", __name__, url_prefix="/audit")


class LogFilter(FlaskForm):
    """The auditor's filters (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    actor = StringField(_l("Account"), validators=[Optional()])
    role = SelectField(_l("Role"), validators=[Optional()])
    object_type = SelectField(_l("Record"), validators=[Optional()])
    object_id = StringField(_l("Record number"), validators=[Optional()])
    event = SelectField(_l("What was done"), validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(1, 2**62)])


def _filter_form() -> LogFilter:
    form = LogFilter(request.args)
    everything = [("", _l("All"))]
    form.role.choices = everything + [(r.value, r.label) for r in Role]
    form.object_type.choices = everything + [(k, str(v)) for k, v in labels.RECORDS.items()]
    form.event.choices = (
        everything
        + [(k, str(v)) for k, v in labels.ACTIONS.items()]
        + sorted(((k, str(v)) for k, v in labels.EVENTS.items()), key=lambda c: c[1])
    )
    return form


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


def _filters(form: LogFilter) -> browse.Filters:
    d = form.data
    return browse.Filters(
        since=d["since"],
        until=d["until"],
        actor=(d["actor"] or "").strip()[:80] or None,
        role=d["role"] or None,
        object_type=d["object_type"] or None,
        object_id=(d["object_id"] or "").strip()[:64] or None,
        event=d["event"] or None,
    )


def _query() -> dict:
    """The filters of this request, to carry to the next page or to the download."""
    return {k: v for k, v in request.args.items() if k not in ("before", "verify") and v}


@bp.route("/export")
@roles_required(Role.AUDITOR)
def export():
    """The entries the filters select, as a file the stand-alone verifier checks: every entry
    from the first match to the last (so the chain verifies), each marked whether it matched.
    A download changes nothing but the log itself, which records who exported what."""
    form = _filter_form()
    back = url_for("audit.log", **_query())
    if not form.validate():
        return redirect(back)  # the log page shows what is wrong beside each filter
    filters = _filters(form)
    run = services.find_range(filters)
    if run is None:
        flash(_("No entries match these filters: there is nothing to download."), "warn")
        return redirect(back)
    most = int(current_app.config.get("AUDIT_EXPORT_MAX") or EXPORT_MAX)
    if run.count > most:
        flash(
            _(
                "From the first to the last matching entry there are %(n)d entries, more than "
                "the %(most)d one download may hold. Narrow the dates, or ask the system "
                "administrator to export them on the server.",
                n=run.count,
                most=most,
            ),
            "warn",
        )
        return redirect(back)
    services.record_range_export(filters, run)
    db.session.commit()
    name = f"sanquan-audit-{run.first}-{run.last}.jsonl"
    return Response(
        stream_with_context(services.range_lines(filters, run)),
        mimetype="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
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
    form = _filter_form()
    entries, after = [], None
    if form.validate():
        entries, after = browse.page(_filters(form), before=form.data["before"])
    query = _query()
    return render_template(
        "audit/log.html",
        form=form,
        entries=entries,
        next_before=after,
        query=query,
        result=result,
        event_label=lambda code: labels.label(labels.EVENTS, code),
        action_label=lambda code: labels.label(labels.ACTIONS, code),
        record_label=lambda code: labels.label(labels.RECORDS, code),
        changes=browse.changes_in_words,
    )
