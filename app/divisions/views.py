from flask import Blueprint, render_template
from flask_login import current_user
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.inputs import page_arg
from app.divisions.models import Collective, Division
from app.divisions.services import visible_collectives
from app.extensions import db
from app.geo.geometry import svg_path

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
    # A township-level collective's FBFBM starts with the township's own code.
    for town_code, n in db.session.execute(
        select(Division.code, func.count(Collective.id))
        .join(Collective, Collective.village_code == Division.code)
        .where(Division.level == "town")
        .group_by(Division.code)
    ).all():
        per_town[town_code] = per_town.get(town_code, 0) + n
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


MAP_PLOT_LIMIT = 2000  # beyond this the overview map draws a sample (paged maps come later)


@bp.route("/collectives/<int:collective_id>")
@roles_required(*REGISTRY_READERS)
def collective(collective_id: int):
    """The collective overview: counts and areas, a map of current plots, the households."""
    from app.registry import people
    from app.registry.models import Plot
    from app.registry.views.people_views import fmt_m2, fmt_mu

    obj = load_or_404(Collective, collective_id)
    stats = people.collective_overview(obj.id)
    page = page_arg()
    households, more = people.collective_households_page(obj.id, page=page)
    current = (Plot.collective_id == obj.id) & Plot.end_lifespan.is_(None) & Plot.geom.is_not(None)
    drawable = db.session.scalar(select(func.count(Plot.id)).where(current)) or 0
    step = -(-drawable // MAP_PLOT_LIMIT) if drawable > MAP_PLOT_LIMIT else 1
    # Every step-th plot in code order: an even sample whatever the uids look like.
    numbered = (
        select(Plot.geom, func.row_number().over(order_by=Plot.dkbm).label("n"))
        .where(current)
        .subquery()
    )
    q = select(numbered.c.geom).order_by(numbered.c.n).limit(MAP_PLOT_LIMIT)
    if step > 1:
        q = q.where(numbered.c.n % step == 0)
    geoms = [to_shape(g) for g in db.session.scalars(q)]
    plot_map = None
    if geoms:
        view_box, ds = svg_path(geoms, 640, 420)
        plot_map = {"view_box": view_box, "paths": [d for d in ds if d]}
    return render_template(
        "divisions/collective.html",
        collective=obj,
        stats=stats,
        households=households,
        page=page,
        more=more,
        plot_map=plot_map,
        map_total=drawable,
        map_sampled=step > 1,
        can_edit=can_edit(current_user, obj),
        fmt_m2=fmt_m2,
        fmt_mu=fmt_mu,
    )
