"""What Alembic compares: our tables, not the spatial extensions' own."""

from __future__ import annotations

from geoalchemy2 import alembic_helpers

SPATIAL_SYSTEM_PREFIXES = (
    "spatial_ref_sys",
    "geometry_columns",
    "geom_cols_ref_sys",
    "spatialite_history",
    "sql_statements_log",
    "views_geometry_columns",
    "virts_geometry_columns",
    "vector_layers",
    "spatial_",
    "sqlite_",
    "idx_",
    "data_licenses",
    "raster_coverages",
    "rl2map_configurations",
    "SE_",
    "se_",
    "topologies",
    "networks",
    "wms_",
    "ISO_metadata",
    "KNN",
    "knn",
    "SpatialIndex",
    "ElementaryGeometries",
    "geography_columns",
    "raster_columns",
    "raster_overviews",
)


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name and name.startswith(SPATIAL_SYSTEM_PREFIXES):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
