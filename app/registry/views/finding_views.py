"""HTML pages for geometry findings: a collective's findings and deciding one."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import land, present
from app.registry.models import GeometryFinding
from app.registry.views import bp
from app.registry.views.common import length
from app.registry.views.land_helpers import PAGE, STAFF, _page


class DecisionForm(FlaskForm):
    state = SelectField(
        _l("Decision"),
        choices=[
            SelectChoice("accepted", _l("Accept as an exception")),
            SelectChoice("resolved", _l("Resolved")),
        ],
    )
    reason = StringField(_l("Reason"), validators=[length("reason")])


FINDING_STATES: dict[str, Callable[[], str]] = {
    "open": lambda: _("Open, to decide"),
    "accepted": lambda: _("Accepted exception"),
    "resolved": lambda: _("Resolved"),
}


@bp.route("/collectives/<int:collective_id>/findings")
@roles_required(*STAFF)
def collective_findings(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    return _findings_page(collective)


def _findings_page(
    collective: Collective, *, error: str | None = None, error_id: int | None = None, status=200
):
    state = request.args.get("state") or None
    if state not in (None, *land.FINDING_STATES):
        state = None
    page = _page()
    rows = land.collective_findings(
        collective.id, state=state, limit=PAGE + 1, offset=(page - 1) * PAGE
    )
    # The other plot of an overlap may be another collective's: named only to those who may
    # read it.
    readable = present.readable_plot_codes(current_user, {f.other_plot_uid for f, _p, _o in rows})
    rows = [
        (f, mine, readable.get(f.other_plot_uid) if f.other_plot_uid is not None else None)
        for f, mine, _other in rows
    ]
    editable = can_edit(current_user, collective)
    return render_template(
        "registry/findings.html",
        collective=collective,
        rows=rows[:PAGE],
        page=page,
        has_next=len(rows) > PAGE,
        state=state,
        states={k: v() for k, v in FINDING_STATES.items()},
        can_edit=editable,
        decision_form=DecisionForm(formdata=None) if editable else None,
        error=error,
        error_id=error_id,
    ), status


@bp.post("/findings/<int:finding_id>/decision")
@roles_required(Role.COLLECTIVE_ADMIN)
def finding_decide(finding_id: int):
    finding = load_or_404(GeometryFinding, finding_id)
    if not can_edit(current_user, finding):
        abort(404)
    form = DecisionForm()
    form.validate_on_submit()
    try:
        land.decide_finding(finding.id, form.state.data or "", form.reason.data or "")
    except DomainError as err:
        db.session.rollback()
        collective = db.session.get_one(Collective, finding.collective_id)
        return _findings_page(collective, error=err.message, error_id=finding_id, status=422)
    db.session.commit()
    flash(_("The finding was decided."))
    return redirect(url_for("registry.collective_findings", collective_id=finding.collective_id))
