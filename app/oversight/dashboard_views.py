"""The dashboards' pages (/dashboard): a collective's for its administrator (and the bureau and
auditors), the county's or one township's for the bureau and auditors. Everyone else gets a 404,
as for any page they may not read; another collective's dashboard is a 404 too."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.models import Role
from app.auth.scope import load_or_404, roles_required
from app.core.calendar import county_today
from app.core.errors import NotFound
from app.divisions.models import Collective
from app.divisions.services import visible_collectives
from app.oversight import dashboard, report

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

COUNTY = (Role.BUREAU_REVIEWER, Role.AUDITOR)


@bp.route("/")
@roles_required(Role.COLLECTIVE_ADMIN, *COUNTY)
def index():
    """The dashboard the reader starts from: the county's, or their collective's (a choice when
    they work for several)."""
    if Role(current_user.role) in COUNTY:
        return redirect(url_for("dashboard.county_dashboard"))
    mine = visible_collectives(current_user)
    if len(mine) == 1:
        return redirect(url_for("dashboard.collective_dashboard", collective_id=mine[0].id))
    return render_template("oversight/dashboard_choice.html", collectives=mine)


@bp.route("/collectives/<int:collective_id>")
@roles_required(Role.COLLECTIVE_ADMIN, *COUNTY)
def collective_dashboard(collective_id: int):
    collective = load_or_404(Collective, collective_id)
    board = dashboard.collective_dashboard(collective, county_today())
    return render_template("oversight/dashboard.html", board=board, collective=collective)


@bp.route("/county")
@roles_required(*COUNTY)
def county_dashboard():
    towns = report.township_choices()
    township = request.args.get("township") or None
    if township is not None and township not in dict(towns):
        raise NotFound("township_unknown", _("There is no such township in the county."))
    board = dashboard.county_dashboard(county_today(), township_code=township)
    return render_template("oversight/dashboard.html", board=board, towns=towns, township=township)
