"""JSON API for maps: the plots and homesteads of a bounding box, as GeoJSON in the map's CRS.

The same service (app.registry.map_features) and scoping as the pages' maps; a box holding more
than MAP_MAX_FEATURES of them is refused (zoom in): a county never comes in one answer.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import jsonify
from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.land import QueryText
from app.api.schema import Answer, Query, operation
from app.auth.models import Role
from app.auth.scope import roles_required
from app.registry import map_features

READERS = (Role.COLLECTIVE_ADMIN, Role.BUREAU_REVIEWER, Role.AUDITOR, Role.FARMER)


class MapQuery(Query):
    bbox: str = Field(
        description="west,south,east,north in the CRS of `crs` (x = easting or longitude)",
        max_length=200,
    )
    crs: QueryText = Field(
        None,
        description="The CRS of the box and of the answer: EPSG:4490, 4326, 3857, 4546, 4547 "
        "or 4548 (default: the registry's)",
    )
    kinds: QueryText = Field(None, description="plot, homestead or plot,homestead (default)")


class MapFeatureProperties(Answer):
    kind: Literal["plot", "homestead"]
    uid: int
    code: str = Field(description="The plot's DKBM or the homestead's unit number")
    name: str | None
    collective_id: int
    household_uid: int | None


class MapFeature(Answer):
    type: Literal["Feature"]
    id: str = Field(description="kind.uid, e.g. plot.12")
    geometry: dict[str, Any] = Field(description="GeoJSON geometry in the answer's CRS")
    properties: MapFeatureProperties


class NamedCrsProperties(Answer):
    name: str = Field(description="e.g. EPSG:4547")


class NamedCrs(Answer):
    type: Literal["name"]
    properties: NamedCrsProperties


class MapFeatureCollection(Answer):
    """A GeoJSON FeatureCollection naming its CRS"""

    type: Literal["FeatureCollection"]
    crs: NamedCrs
    features: list[MapFeature]


@bp.get("/map/features")
@roles_required(*READERS)
@operation(
    "Current plots and homesteads within your reach whose boxes meet a bounding box",
    query=MapQuery,
    answer=MapFeatureCollection,
    refusals={
        422: "The box or the CRS is not valid, or the box holds more features than one answer "
        "may (MAP_MAX_FEATURES): zoom in"
    },
)
def map_feature_collection(query: MapQuery):
    srid = map_features.parse_srid(query.crs)
    box = map_features.parse_bbox(query.bbox, srid)
    kinds = (query.kinds or ",".join(map_features.KINDS)).split(",")
    found = map_features.features_in_bbox(current_user, box, kinds=kinds)
    return jsonify(map_features.as_geojson(found))
