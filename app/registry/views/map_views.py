"""The pages' maps: the features of a box, as JSON for map.js (the cookie session's counterpart of
``/api/v1/map/features``; the same service and scoping)."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_login import current_user

from app.auth.models import Role
from app.auth.scope import roles_required
from app.core.errors import DomainError
from app.registry import map_features
from app.registry.views import bp

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)


def _href(f: map_features.MapFeature) -> str:
    if f.kind == "plot":
        return url_for("registry.plot", plot_uid=f.uid)
    return url_for("registry.homestead", homestead_uid=f.uid)


@bp.get("/map/features")
@roles_required(*READERS)
def map_feature_collection():
    """GeoJSON of the plots and homesteads in ``bbox`` (``crs``: the map's), within reach."""
    try:
        srid = map_features.parse_srid(request.args.get("crs"))
        box = map_features.parse_bbox(request.args.get("bbox"), srid)
        kinds = request.args.get("kinds") or ",".join(map_features.KINDS)
        found = map_features.features_in_bbox(current_user, box, kinds=kinds.split(","))
    except DomainError as err:
        return jsonify(error=err.as_dict()), err.status
    response = jsonify(map_features.as_geojson(found, href=_href))
    response.mimetype = "application/geo+json"
    return response
