"""The registry's part of a collective's page (divisions.collective): counts and areas, a map of
the current plots, the households. The divisions package sits below the registry and does not
import it: create_app hands this function to it (``divisions.views.set_registry_part``)."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from app.divisions.models import Collective
from app.extensions import db
from app.geo.geometry import svg_path
from app.registry import map_features, people
from app.registry.models import Plot
from app.registry.views.people_views import fmt_m2, fmt_mu

MAP_PLOT_LIMIT = 2000  # beyond this the overview map draws a sample (paged maps come later)


def collective_overview(collective: Collective, page: int) -> dict[str, Any]:
    """The page's registry values for ``collective`` (already loaded through its scope)."""
    stats = people.collective_overview(collective.id)
    households, more = people.collective_households_page(collective.id, page=page)
    current = (
        (Plot.collective_id == collective.id) & Plot.end_lifespan.is_(None) & Plot.geom.is_not(None)
    )
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
    return {
        "stats": stats,
        "households": households,
        "more": more,
        "plot_map": plot_map,
        "map_settings": map_features.map_settings(geoms, collective_id=collective.id),
        "map_total": drawable,
        "map_sampled": step > 1,
        "fmt_m2": fmt_m2,
        "fmt_mu": fmt_mu,
    }
