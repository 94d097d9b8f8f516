from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.scope import load_or_404, roles_required
from app.divisions.models import Collective, Division
from app.divisions.services import visible_collectives
from app.extensions import db

bp = Blueprint("divisions", __name__)

REGISTRY_READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR)


@bp.route("/county")
@roles_required(Role.BUREAU_REVIEWER, Role.AUDITOR, Role.COLLECTIVE_ADMIN)
def county():
    towns = list(
        db.session.scalars(select(Division).where(Division.level == "town").order_by(Division.code))
    )
    villages = dict(
        db.session.execute(
            select(Division.parent_code, func.count())
            .where(Division.level == "village")
            .group_by(Division.parent_code)
        ).all()
    )
    per_town = dict(
        db.session.execute(
            select(Division.parent_code, func.count(Collective.id))
            .join(Collective, Collective.village_code == Division.code)
            .group_by(Division.parent_code)
        ).all()
    )
    county_row = db.session.scalar(select(Division).where(Division.level == "county"))
    return render_template(
        "divisions/county.html",
        county=county_row,
        towns=towns,
        villages=villages,
        per_town=per_town,
    )


@bp.route("/collectives")
@roles_required(*REGISTRY_READERS)
def collectives():
    return render_template(
        "divisions/collectives.html", collectives=visible_collectives(current_user)
    )


@bp.route("/collectives/<int:collective_id>")
@roles_required(*REGISTRY_READERS)
def collective(collective_id: int):
    obj = load_or_404(Collective, collective_id)
    return render_template("divisions/collective.html", collective=obj)
