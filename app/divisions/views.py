from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.scope import can_edit, load_or_404, roles_required
from app.core.inputs import page_arg
from app.core.page_cache import cached_page
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


# The registry's part of a collective's page (counts, areas, map, households), handed over by
# create_app: the registry depends on divisions (every right names its collective), never the
# reverse, so this package does not import it.
_registry_part: Callable[[Collective, int], dict[str, Any]] | None = None


def set_registry_part(fn: Callable[[Collective, int], dict[str, Any]]) -> None:
    global _registry_part
    _registry_part = fn


@bp.route("/collectives/<int:collective_id>")
@roles_required(*REGISTRY_READERS)
@cached_page
def collective(collective_id: int):
    """The collective overview: counts and areas, a map of current plots, the households."""
    obj = load_or_404(Collective, collective_id)
    page = page_arg()
    part = _registry_part(obj, page) if _registry_part else {}
    return render_template(
        "divisions/collective.html",
        collective=obj,
        page=page,
        can_edit=can_edit(current_user, obj),
        **part,
    )
