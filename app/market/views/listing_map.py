"""The map of a listing's land (issue 15 item 1): a land listing's plots, a homestead listing's
homestead, highlighted on the live map with the neighbours shaded, as the lease and plot pages
draw it (``map_panel``, ``map_features``). Shares have no map.

Who sees what: whoever may see the listing (``queries.load_listing_or_404``; another collective's
listing is a 404) sees the listed rights' outlines, even a member browsing another household's
listing, whose plots the registry's scope would not show them. Only the listed rights are added
to what the registry's scope already shows: never their neighbours or the household's other
plots.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import current_user
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.extensions import db
from app.market import listings
from app.market.models import Listing
from app.market.views import bp
from app.market.views.common import READERS, _load
from app.registry import history, map_features
from app.registry.links import link_to
from app.registry.models import Homestead, Plot


def listed_rights(listing: Listing) -> dict[str, set[int]]:
    """The plots (or the homestead) a listing names, by map kind; nothing for shares."""
    if listing.right_kind == "land_contract":
        return {"plot": set(listings.listing_plots(listing))}
    if listing.right_kind == "homestead":
        return {"homestead": {listing.right_uid}}
    return {}


def map_settings(listing: Listing) -> dict[str, str] | None:
    """What the listing page's map reads (None: no map, as for shares or land never drawn)."""
    listed = listed_rights(listing)
    geoms: list[Any] = []
    if listed.get("plot"):
        geoms = [
            to_shape(g)
            for g in db.session.scalars(
                select(Plot.geom).where(
                    Plot.uid.in_(sorted(listed["plot"])),
                    Plot.end_lifespan.is_(None),
                    Plot.geom.is_not(None),
                )
            )
        ]
    elif listed.get("homestead"):
        home = history.current_of(Homestead, listing.right_uid)
        geoms = [to_shape(home.geom)] if home is not None and home.geom is not None else []
    selected = ",".join(f"{kind}.{uid}" for kind, uids in listed.items() for uid in sorted(uids))
    return map_features.map_settings(
        geoms,
        selected=selected,
        household_uid=listing.household_uid,
        collective_id=listing.collective_id,
        features=url_for("market.listing_map_features", listing_id=listing.id),
    )


def _href(listed: dict[str, set[int]]):
    """A feature's page: the registry's scope let every feature in but the listed ones, which
    link only for a viewer who may open them (a few, checked one by one)."""
    endpoints = {
        "plot": ("registry.plot", "plot_uid"),
        "homestead": ("registry.homestead", "homestead_uid"),
    }

    def href(f: map_features.MapFeature) -> str | None:
        endpoint, arg = endpoints[f.kind]
        if f.uid in listed.get(f.kind, ()):
            return link_to(endpoint, **{arg: f.uid})
        return url_for(endpoint, **{arg: f.uid})

    return href


@bp.get("/<int:listing_id>/map/features")
@roles_required(*READERS)
def listing_map_features(listing_id: int):
    """GeoJSON of the plots and homesteads in ``bbox`` that the viewer may read, and the
    listing's own rights (the registry's ``/map/features``, with the listing's land added)."""
    listing = _load(listing_id)
    listed = listed_rights(listing)
    try:
        srid = map_features.parse_srid(request.args.get("crs"))
        box = map_features.parse_bbox(request.args.get("bbox"), srid)
        kinds = request.args.get("kinds") or ",".join(map_features.KINDS)
        found = map_features.features_in_bbox(
            current_user, box, kinds=kinds.split(","), also=listed
        )
    except DomainError as err:
        return jsonify(error=err.as_dict()), err.status
    response = jsonify(map_features.as_geojson(found, href=_href(listed)))
    response.mimetype = "application/geo+json"
    return response
