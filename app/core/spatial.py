"""The deployment's projected CRS, applied to every geometry column."""

from __future__ import annotations

from geoalchemy2 import Geometry

_registry_types: list[Geometry] = []
_srid = 4547


def registry_geometry(geometry_type: str = "MULTIPOLYGON") -> Geometry:
    """A geometry column in the registry CRS (REGISTRY_SRID), spatially indexed."""
    col = Geometry(geometry_type=geometry_type, srid=_srid, spatial_index=True)
    _registry_types.append(col)
    return col


def apply_registry_srid(srid: int) -> None:
    global _srid
    _srid = int(srid)
    for col in _registry_types:
        col.srid = _srid


def registry_srid() -> int:
    return _srid


def database_srid(connection) -> int | None:
    """The SRID the plot geometry column was created with (None before migrations)."""
    from sqlalchemy import text

    # Both PostGIS and SpatiaLite keep a geometry_columns catalogue with these column names.
    sql = (
        "SELECT srid FROM geometry_columns "
        "WHERE lower(f_table_name) = 'plot' AND lower(f_geometry_column) = 'geom'"
    )
    return connection.execute(text(sql)).scalar()
